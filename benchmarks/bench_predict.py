"""Prediction latency of the ONNX model against the DSP predictor, in the same run.

    python benchmarks/bench_predict.py [--calls 1000] [--model models/mixai-master.onnx]

Figures: model load time (``mixai.predict.onnx.Model(path)``: onnxruntime session + metadata
check; median of 20 loads, the first one reported apart), and per-call ``predict(features, target)``
latency (p50 / p99 over ``--calls`` calls, after 20 warm-up calls) for both predictors, with the
features of the default profile as input. Feature extraction is not included (it is the same for
both predictors); onnxruntime runs on one thread, as mixai configures it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _latency(predictor, features, target, calls: int) -> dict[str, float]:
    for _ in range(20):
        predictor.predict(features, target)
    times = np.empty(calls)
    for i in range(calls):
        t = time.perf_counter()
        predictor.predict(features, target)
        times[i] = time.perf_counter() - t
    return {"p50_ms": float(np.percentile(times, 50) * 1e3), "p99_ms": float(np.percentile(times, 99) * 1e3),
            "mean_ms": float(times.mean() * 1e3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--model", default=str(ROOT / "models" / "mixai-master.onnx"))
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    t = time.perf_counter()
    from mixai.predict import load_profile
    from mixai.predict.dsp import DspPredictor
    from mixai.predict.onnx import Model
    import_s = time.perf_counter() - t

    target = load_profile()
    # A "damaged" input: the profile with a tilted spectrum and a narrower image.
    values = target.features.values.copy()
    values[:12] += np.linspace(4.0, -4.0, 12)
    from mixai.analysis.features import Features
    features = Features(values)

    loads = []
    for _ in range(21):
        t = time.perf_counter()
        model = Model(args.model)
        loads.append(time.perf_counter() - t)
    result = {
        "import_s": import_s,
        "onnx_first_load_ms": loads[0] * 1e3,
        "onnx_load_ms": statistics.median(loads[1:]) * 1e3,
        "model_bytes": Path(args.model).stat().st_size,
        "onnx": _latency(model, features, target, args.calls),
        "dsp": _latency(DspPredictor(), features, target, args.calls),
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"model {args.model} ({result['model_bytes'] / 1024:.0f} KiB); imports {import_s:.2f} s")
    print(f"load: first {result['onnx_first_load_ms']:.1f} ms, then median {result['onnx_load_ms']:.1f} ms")
    print(f"{'predictor':<10} {'p50 (ms)':>9} {'p99 (ms)':>9} {'mean (ms)':>10}   ({args.calls} calls)")
    for name in ("onnx", "dsp"):
        r = result[name]
        print(f"{name:<10} {r['p50_ms']:9.3f} {r['p99_ms']:9.3f} {r['mean_ms']:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
