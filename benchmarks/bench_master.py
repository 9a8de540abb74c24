"""Mastering speed and memory, against the floor measured in the same run.

    python benchmarks/bench_master.py [--minutes 3] [--long-minutes 60] [--runs 3] [--predictor dsp]

Every measurement runs in a fresh child process, whose peak RSS (VmHWM) belongs to that job alone.
Figures:
- floor: read + the same pedalboard chain (settings predicted beforehand) + write, nothing else;
- master (in-process): mixai.master_file() from the first read to the renamed output (modules,
  librosa's feature modules included, are imported before the clock starts, as for the floor);
- master (whole CLI process): `python -m mixai master ...` wall time, imports included;
- long: a --long-minutes file mastered with the same code, for peak memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FLOOR_CHILD = r"""
import json, sys, time
import numpy as np
def peak_rss_mb():  # VmHWM: this process image's own peak (ru_maxrss would include the forking parent's)
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
from pedalboard.io import AudioFile
from mixai.dsp.chain import ChainRenderer
from mixai.settings import Settings
src, dst, settings_path = sys.argv[1:4]
settings = Settings.from_json(open(settings_path).read())
t0 = time.perf_counter()
with AudioFile(src) as f, AudioFile(dst, "w", samplerate=f.samplerate, num_channels=f.num_channels, bit_depth=24) as out:
    chain = ChainRenderer(settings, int(f.samplerate))
    while f.tell() < f.frames:
        out.write(chain.process(f.read(int(10 * f.samplerate))))
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "rss_mb": peak_rss_mb()}))
"""

MASTER_CHILD = r"""
import json, sys, time
def peak_rss_mb():
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
from mixai.master.options import MasterOptions
from mixai.master.pipeline import master_file
import mixai.analysis.features
mixai.analysis.features.preload()  # one-off imports stay out of the timing, as pedalboard's do for the floor
src, dst, predictor = sys.argv[1:4]
t0 = time.perf_counter()
report = master_file(src, dst, predictor=predictor, options=MasterOptions(overwrite=True))
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "rss_mb": peak_rss_mb(),
                  "stages": report.seconds, "after": report.after}))
"""


def child(code: str, *args: str) -> dict:
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def make_track(path: Path, minutes: float) -> None:
    """A band loop (the bundled example's synthesiser), written in 3-minute pieces to bound memory."""
    sys.path.insert(0, str(ROOT / "examples"))
    from make_example import SR, make_song
    from pedalboard.io import AudioFile

    piece = make_song(min(minutes, 3.0) * 60.0, seed=11) * 2.5
    remaining = int(minutes * 60 * SR)
    with AudioFile(str(path), "w", samplerate=SR, num_channels=2, bit_depth=24) as out:
        while remaining > 0:
            chunk = piece[:, :remaining]
            out.write(chunk)
            remaining -= chunk.shape[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--long-minutes", type=float, default=60.0, help="0 skips the long file")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--predictor", default="auto")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mixai-bench-") as tmp:
        tmp_path = Path(tmp)
        track = tmp_path / "track.wav"
        make_track(track, args.minutes)
        duration = args.minutes * 60.0
        settings_path = tmp_path / "settings.json"
        subprocess.run([sys.executable, "-m", "mixai", "master", str(track), "--dry-run", "--json",
                        "--predictor", args.predictor], check=True, capture_output=True)  # warm caches
        r = subprocess.run([sys.executable, "-m", "mixai", "suggest", str(track), "--predictor", args.predictor],
                           check=True, capture_output=True, text=True)
        settings_path.write_text(r.stdout)

        floors, masters, cli = [], [], []
        for i in range(args.runs):
            floors.append(child(FLOOR_CHILD, str(track), str(tmp_path / f"floor{i}.wav"), str(settings_path)))
            masters.append(child(MASTER_CHILD, str(track), str(tmp_path / f"master{i}.wav"), args.predictor))
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "mixai", "master", str(track), "-o", str(tmp_path / f"cli{i}.wav"),
                            "-y", "-q", "--predictor", args.predictor], check=True)
            cli.append(time.perf_counter() - t0)

        floor_s = statistics.median(f["seconds"] for f in floors)
        master_s = statistics.median(m["seconds"] for m in masters)
        cli_s = statistics.median(cli)
        best = min(masters, key=lambda m: m["seconds"])
        print(f"mixai master benchmark: {args.minutes:g}-minute stereo 44.1 kHz track, "
              f"predictor {args.predictor}, median of {args.runs} runs")
        print(f"{'':32}{'wall s':>8}{'x real time':>13}{'peak RSS MB':>13}")
        print(f"{'floor (read+chain+write)':32}{floor_s:8.2f}{duration / floor_s:13.1f}"
              f"{max(f['rss_mb'] for f in floors):13.0f}")
        print(f"{'master (in-process)':32}{master_s:8.2f}{duration / master_s:13.1f}"
              f"{max(m['rss_mb'] for m in masters):13.0f}")
        print(f"{'master (whole CLI process)':32}{cli_s:8.2f}{duration / cli_s:13.1f}{'':>13}")
        print(f"ratio master/floor: {master_s / floor_s:.2f}x  (target <= 2x)")
        print("stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in best["stages"].items()))
        print(f"output: {best['after']['integrated_lufs']:.2f} LUFS, {best['after']['true_peak_dbtp']:.2f} dBTP")

        if args.long_minutes > 0:
            for f in tmp_path.glob("*.wav"):
                if f != track:
                    f.unlink()
            long_track = tmp_path / "long.wav"
            make_track(long_track, args.long_minutes)
            long = child(MASTER_CHILD, str(long_track), str(tmp_path / "long.master.wav"), args.predictor)
            print(f"long file: {args.long_minutes:g} minutes mastered in {long['seconds']:.1f} s "
                  f"({args.long_minutes * 60 / long['seconds']:.0f}x real time), peak RSS {long['rss_mb']:.0f} MB "
                  f"(target < 600 MB); output {long['after']['integrated_lufs']:.2f} LUFS, "
                  f"{long['after']['true_peak_dbtp']:.2f} dBTP")


if __name__ == "__main__":
    main()
