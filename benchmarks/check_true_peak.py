"""Do mixai's masters stay under the true-peak ceiling by the meters people check them with?

    python benchmarks/check_true_peak.py [--target-lufs -9] [--files a.wav b.wav ...]

Masters a set of materials hot (default -9 LUFS, -1 dBTP ceiling) and reads every output's true
peak with mixai's own meter, libebur128 (pyebur128, the BS.1770-4 meter many tools embed), ffmpeg's
loudnorm filter (when ffmpeg is installed) and scipy's 8x resampler. The built-in materials need no
data: the demo's clean mix and its rough bounce, the synthesised band loop, and full-band and
bright (high-passed) noise, the hardest cases for short interpolators.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import signal

ROOT = Path(__file__).resolve().parents[1]
SR = 44100


def _example_module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def builtin_materials() -> dict[str, np.ndarray]:
    from mixai.io.audio import load

    demo = _example_module("make_demo")
    clean, _ = load(demo.CLEAN)
    rough, _ = demo.ROUGH_BOUNCE.apply(clean, SR)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((2, SR * 10)).astype(np.float32) * 0.1
    bright = signal.sosfilt(signal.butter(4, 6000, "highpass", fs=SR, output="sos"), noise).astype(np.float32)
    return {"reel (clean)": clean, "reel (rough bounce)": rough,
            "synth loop": _example_module("make_example").make_song(10.0).astype(np.float32),
            "white noise": noise, "bright noise": bright}


def libebur128_dbtp(path: Path) -> float | None:
    try:
        import pyebur128
    except ImportError:
        return None
    import soundfile as sf

    x, rate = sf.read(path, always_2d=True)
    state = pyebur128.R128State(x.shape[1], rate, pyebur128.MeasurementMode.MODE_TRUE_PEAK)
    for start in range(0, len(x), 65536):
        block = np.ascontiguousarray(x[start:start + 65536])
        state.add_frames(block.reshape(-1), len(block))
    return float(20 * np.log10(max(pyebur128.get_true_peak(state, c) for c in range(x.shape[1]))))


def ffmpeg_dbtp(path: Path) -> float | None:
    if shutil.which("ffmpeg") is None:
        return None
    err = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af",
                          "loudnorm=print_format=json", "-f", "null", "-"], capture_output=True, text=True).stderr
    found = re.search(r'"input_tp" : "([-0-9.]+)"', err)
    return float(found.group(1)) if found else None


def scipy_8x_dbtp(path: Path) -> float:
    import soundfile as sf

    x, _ = sf.read(path, always_2d=True)
    up = signal.resample_poly(x, 8, 1, axis=0)
    return float(20 * np.log10(max(np.abs(up).max(), np.abs(x).max())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target-lufs", type=float, default=-9.0)
    parser.add_argument("--ceiling-dbtp", type=float, default=-1.0)
    parser.add_argument("--files", nargs="*", type=Path, default=[], help="more inputs to master")
    args = parser.parse_args()
    from mixai.io.audio import load, save
    from mixai.errors import MixaiError
    from mixai.master.options import MasterOptions
    from mixai.master.pipeline import master_array

    materials = builtin_materials()
    for path in args.files:
        materials[path.name] = load(path, sample_rate=SR)[0]
    options = MasterOptions(target_lufs=args.target_lufs, ceiling_dbtp=args.ceiling_dbtp)
    meters = ("mixai", "libebur128", "ffmpeg", "scipy 8x")
    readings: dict[str, list[float]] = {m: [] for m in meters}
    print(f"{'material':28s} " + " ".join(f"{m:>11s}" for m in meters) + "   (dBTP)")
    with tempfile.TemporaryDirectory() as tmp:
        for name, audio in materials.items():
            try:
                out, report = master_array(audio, SR, options=options)
            except MixaiError as exc:
                print(f"{name:28s} not mastered: {exc}")
                continue
            path = save(Path(tmp) / "master.wav", out, SR, bit_depth=24, overwrite=True)
            row = {"mixai": report.after["true_peak_dbtp"], "libebur128": libebur128_dbtp(path),
                   "ffmpeg": ffmpeg_dbtp(path), "scipy 8x": scipy_8x_dbtp(path)}
            for m, v in row.items():
                if v is not None:
                    readings[m].append(v)
            print(f"{name[:28]:28s} " + " ".join("        n/a" if row[m] is None else f"{row[m]:11.3f}"
                                                 for m in meters))
    print(f"ceiling {args.ceiling_dbtp:g} dBTP; highest reading and masters over it, per meter:")
    for m, values in readings.items():
        if values:
            over = sum(v > args.ceiling_dbtp for v in values)
            print(f"  {m:11s} max {max(values):7.3f}   over: {over} of {len(values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
