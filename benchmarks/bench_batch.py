"""Batch mastering throughput: tracks per minute with 1 and 2 local worker processes and a
2-worker Dask LocalCluster (processes, 1 thread each), on the same generated tracks.

Times are wall-clock for the whole :func:`mixai.batch.run_batch` call (worker start-up, analysis,
prediction, rendering, loudness, writing, measuring the output, manifest), each into a fresh
output folder. The Dask cluster is started, and mixai imported on its workers, before the clock
starts (a cluster is long-lived); the local pools start their processes inside the timed call.

Usage::

    python benchmarks/bench_batch.py --tracks 20 --seconds 30 [--predictor auto|dsp]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_tracks(folder: Path, n: int, seconds: float, sr: int = 44100) -> None:
    """Seeded synthetic songs: a chord pad, a bass line, noise-burst drums, varied levels."""
    from mixai.io.audio import save

    t = np.arange(int(seconds * sr)) / sr
    for i in range(n):
        rng = np.random.default_rng(i)
        root = 55.0 * 2 ** (rng.integers(0, 12) / 12)
        pad = sum(np.sin(2 * np.pi * root * 4 * r * t + rng.uniform(0, 6)) for r in (1, 1.26, 1.5)) * 0.05
        bass = 0.2 * np.sin(2 * np.pi * root * t) * (0.6 + 0.4 * np.sign(np.sin(2 * np.pi * 2 * t)))
        hits = np.zeros_like(t)
        step = int(sr * 60 / rng.uniform(80, 140))
        for s in range(0, t.size - 3000, step):
            hits[s:s + 3000] += rng.standard_normal(3000) * np.exp(-np.arange(3000) / 400.0) * 0.3
        x = (pad + bass + hits) * 10 ** (rng.uniform(-12, 0) / 20)
        side = 0.1 * rng.standard_normal(t.size) * 0.02
        save(folder / f"track{i:02d}.wav", np.stack([x + side, x - side]).astype(np.float32), sr)


def _item_seconds(result) -> float:
    return float(np.median([r["seconds"] for r in result.records if "seconds" in r] or [float("nan")]))


def _warm() -> None:
    import mixai.batch  # noqa: F401
    import mixai.master.pipeline  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    from mixai.batch import BatchConfig, run_batch
    from mixai.master.options import MasterOptions

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tracks", type=int, default=20)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--predictor", default="auto")
    a = p.parse_args(argv)
    config = BatchConfig(mode="master", options=MasterOptions(), predictor=a.predictor)
    root = Path(tempfile.mkdtemp(prefix="mixai-bench-"))
    try:
        src = root / "in"
        src.mkdir()
        make_tracks(src, a.tracks, a.seconds)
        rows = []
        for label, jobs in (("local, 1 worker", 1), ("local, 2 workers", 2)):
            t = time.perf_counter()
            r = run_batch(src, root / f"out{jobs}", config=config, jobs=jobs)
            rows.append((label, time.perf_counter() - t, r.done, r.failed, _item_seconds(r)))
        from distributed import Client, LocalCluster

        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[k] = "1"  # as the local pool's workers get them
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            client.run(_warm)  # a cluster is long-lived: its workers have mixai imported already
            t = time.perf_counter()
            r = run_batch(src, root / "outdask", config=config, dask_address=client)
            rows.append(("Dask LocalCluster, 2 workers", time.perf_counter() - t, r.done, r.failed,
                         _item_seconds(r)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{a.tracks} tracks x {a.seconds:g} s, stereo 44.1 kHz, predictor {a.predictor}, "
          f"{os.cpu_count()} CPU cores\n")
    print("| runner | wall (s) | tracks/min | median s per track in a worker | done | failed |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, secs, done, failed, item in rows:
        print(f"| {label} | {secs:.1f} | {done / secs * 60:.1f} | {item:.2f} | {done} | {failed} |")
    load = os.getloadavg()
    print(f"\nload average after the runs: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
