"""Whole-process start-up and memory of ``mixai master``, against the floor and Matchering, in one run.

    python benchmarks/bench_startup.py [--runs 3] [--long-minutes 60] [--batch-minutes 1] [--batch-runs 5]
                                      [--predictor auto]

Every row is a fresh child process timed from spawn to exit (imports, model load, reading, writing:
what a user waits for), the median of ``--runs``; peak RSS is the child's own ``ru_maxrss`` from
``os.wait4`` (the parent imports nothing heavy and holds no audio, so a fork never reports the
parent's memory instead of the child's).

Rows:
- floor: a short script that reads the WAV with soundfile, runs the pedalboard chain mixai would
  apply to it (the same plugins and parameters, from ``mixai suggest``, with the gain into the
  chain's working level) and writes a 24-bit WAV: the least any master of this track can cost;
- ``mixai master`` warm: the installed command, its caches as a previous run left them;
- the same with ``MIXAI_ALLOCATOR=system``: glibc's default allocator settings instead of
  :mod:`mixai.allocator`'s (the baseline for what keeping freed buffers buys);
- ``mixai master`` cold: the first run after a fresh install, simulated as a copy of the mixai
  package with no ``__pycache__`` (every module byte-compiled again) and an empty
  ``NUMBA_CACHE_DIR`` for each run (so every numba function that runs, mixai's or librosa's, is
  compiled from scratch as on a new machine). Third-party byte code stays compiled, as pip leaves it;
- Matchering 2 (``matchering.process``, a 3-minute reference of other music, 24-bit output);
- ``mixai --help``;
- a 60-minute file mastered (peak RSS is the point);
- ``mixai batch`` of 8 files with 1 and with 2 worker processes (throughput ratio; a worker is one
  core, so "cores" shows how busy the machine was), and with 2 under glibc's default allocator;
  the median of ``--batch-runs``, the three kinds interleaved.

Each row also gives the CPU time (user + system, the child's and its workers') and the cores it
kept busy on average (CPU time over wall time).

The audio is real recorded music when ``data/recorded`` is present (its 20-second test windows, one
after another), else the bundled example synthesiser; everything lives in a temporary folder.
The load average is printed before and after: on a shared machine other jobs slow every row.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mixai.allocator import ALLOCATOR_ENV  # a name only: the parent imports nothing heavy

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
MIXAI = [PYTHON, "-m", "mixai"]

MAKE_AUDIO = r"""
import glob, sys
import numpy as np, soundfile as sf
root, out, minutes, offset = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
SR = 44100
files = sorted(glob.glob(root + "/data/recorded/test/*/mix.wav"))
parts, have, need = [], 0, int(min(minutes, 3.0) * 60 * SR)
for f in files[offset::3]:
    info = sf.info(f)
    if info.samplerate != SR:
        continue
    x = sf.read(f, dtype="float32", always_2d=True)[0]
    parts.append(np.repeat(x, 2, axis=1) if x.shape[1] == 1 else x[:, :2])
    have += len(x)
    if have >= need:
        break
if have < need:  # no recorded corpus here: the bundled example's band loop
    sys.path.insert(0, root + "/examples")
    from make_example import make_song
    piece = (make_song(min(minutes, 3.0) * 60.0, seed=11 + offset) * 2.5).T.astype(np.float32)
else:
    piece = np.concatenate(parts)[:need]
remaining = int(minutes * 60 * SR)
with sf.SoundFile(out, "w", samplerate=SR, channels=2, subtype="PCM_24") as f:
    while remaining > 0:  # a long file is the piece again and again, written a piece at a time
        f.write(piece[:remaining])
        remaining -= min(remaining, len(piece))
"""

# The chain description the floor rebuilds: mixai's boards for the suggested settings, as
# (pedalboard class, parameters) lists, and the stereo width between them.
DESCRIBE_CHAIN = r"""
import json, sys
from mixai.dsp.chain import REFERENCE_LUFS, build_boards
from mixai.settings.scaling import apply_amounts
from mixai.settings.schema import Settings
settings = apply_amounts(Settings.from_json(open(sys.argv[1]).read()))
input_lufs = float(sys.argv[2])
PARAMS = {"Gain": ["gain_db"], "HighpassFilter": ["cutoff_frequency_hz"],
          "LowShelfFilter": ["cutoff_frequency_hz", "gain_db", "q"],
          "HighShelfFilter": ["cutoff_frequency_hz", "gain_db", "q"],
          "PeakFilter": ["cutoff_frequency_hz", "gain_db", "q"],
          "Compressor": ["threshold_db", "ratio", "attack_ms", "release_ms"],
          "Reverb": ["room_size", "damping", "wet_level", "dry_level", "width", "freeze_mode"]}
pre, post = build_boards(settings, input_gain_db=REFERENCE_LUFS - input_lufs)
describe = lambda board: [[type(p).__name__, {k: float(getattr(p, k)) for k in PARAMS[type(p).__name__]}]
                          for p in board]
print(json.dumps({"pre": describe(pre), "width": settings.stereo.width, "post": describe(post)}))
"""

FLOOR = r"""
import json, sys
import numpy as np, pedalboard as pb, soundfile as sf
src, dst, chain = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
board = lambda plugins: pb.Pedalboard([getattr(pb, name)(**kw) for name, kw in plugins])
x, sr = sf.read(src, dtype="float32", always_2d=True)
y = board(chain["pre"])(x.T, sr)
if chain["width"] != 1.0:
    mid, side = 0.5 * (y[0] + y[1]), 0.5 * (y[0] - y[1]) * np.float32(chain["width"])
    y = np.stack([mid + side, mid - side])
y = board(chain["post"])(y, sr)
sf.write(dst, y.T, sr, subtype="PCM_24")
"""

MATCHERING = r"""
import sys
import matchering as mg
mg.log(lambda *a: None)
mg.process(target=sys.argv[1], reference=sys.argv[2], results=[mg.pcm24(sys.argv[3])])
"""


@dataclass
class Run:
    seconds: float
    rss_mb: float
    cpu_seconds: float = 0.0  # user + system time of the child and the workers it waited for


def measure(argv: list[str], *, env: dict | None = None, cwd: Path | None = None) -> Run:
    """Wall time from spawn to exit and the child's peak RSS (``ru_maxrss`` of that child alone)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed ({proc.returncode}): {' '.join(argv)}\n{err}")
    return Run(seconds, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime)


def median(runs: list[Run]) -> Run:
    return Run(statistics.median(r.seconds for r in runs), max(r.rss_mb for r in runs),
               statistics.median(r.cpu_seconds for r in runs))


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def fresh_install(tmp: Path, n: int) -> tuple[list[str], dict]:
    """The command line and environment of a first run after a fresh install (see the docstring)."""
    site = tmp / f"fresh{n}"
    shutil.copytree(ROOT / "mixai", site / "mixai", ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    (site / "models").symlink_to(ROOT / "models")  # found from the source tree, as in a checkout
    numba_cache = tmp / f"numba{n}"
    numba_cache.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "NUMBA_CACHE_DIR": str(numba_cache)}
    return [PYTHON, "-m", "mixai"], env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--long-minutes", type=float, default=60.0, help="0 skips the long file")
    parser.add_argument("--batch-minutes", type=float, default=1.0, help="length of each of the 8 batch files")
    parser.add_argument("--batch-runs", type=int, default=5, help="runs of each batch row (median)")
    parser.add_argument("--predictor", default="auto")
    parser.add_argument("--skip-matchering", action="store_true")
    args = parser.parse_args()
    load_before = load_average()

    with tempfile.TemporaryDirectory(prefix="mixai-startup-") as tmp_name:
        tmp = Path(tmp_name)
        track, reference = tmp / "track.wav", tmp / "reference.wav"
        subprocess.run([PYTHON, "-c", MAKE_AUDIO, str(ROOT), str(track), str(args.minutes), "0"], check=True)
        subprocess.run([PYTHON, "-c", MAKE_AUDIO, str(ROOT), str(reference), str(args.minutes), "1"], check=True)
        master = [*MIXAI, "master", str(track), "-o", str(tmp / "master.wav"), "-y", "-q", "--predictor", args.predictor]

        # The settings mixai would apply to this track, and the chain they build, for the floor.
        suggested = subprocess.run([*MIXAI, "suggest", str(track), "--predictor", args.predictor],
                                   check=True, capture_output=True, text=True).stdout
        (tmp / "settings.json").write_text(suggested)
        analysis = json.loads(subprocess.run([*MIXAI, "analyze", str(track)], check=True, capture_output=True,
                                             text=True).stdout)
        chain = subprocess.run([PYTHON, "-c", DESCRIBE_CHAIN, str(tmp / "settings.json"),
                                str(analysis["loudness"]["integrated_lufs"])],
                               check=True, capture_output=True, text=True).stdout.strip()
        floor_cmd = [PYTHON, "-c", FLOOR, str(track), str(tmp / "floor.wav"), chain]
        measure(master)  # warm every cache once
        measure(floor_cmd)

        rows: dict[str, Run] = {}
        floors, warms, warms_system, colds, helps, matches = [], [], [], [], [], []
        for i in range(args.runs):  # interleaved, so a burst of load hits every row alike
            floors.append(measure(floor_cmd))
            warms.append(measure(master))
            warms_system.append(measure(master, env={**os.environ, ALLOCATOR_ENV: "system"}))
            cmd, env = fresh_install(tmp, i)
            colds.append(measure([*cmd, *master[3:]], env=env, cwd=tmp))
            helps.append(measure([*MIXAI, "--help"]))
            if not args.skip_matchering:
                matches.append(measure([PYTHON, "-c", MATCHERING, str(track), str(reference),
                                        str(tmp / "matchering.wav")]))
        rows["floor: soundfile read + chain + write"] = median(floors)
        rows["mixai master (warm)"] = median(warms)
        rows["mixai master (warm, glibc's default allocator)"] = median(warms_system)
        rows["mixai master (cold: first run)"] = median(colds)
        if matches:
            rows["Matchering 2"] = median(matches)
        rows["mixai --help"] = median(helps)

        batch_in, batch_runs = tmp / "batch_in", {}
        if args.batch_minutes > 0:
            batch_in.mkdir()
            for k in range(8):
                subprocess.run([PYTHON, "-c", MAKE_AUDIO, str(ROOT), str(batch_in / f"t{k}.wav"),
                                str(args.batch_minutes), str(k % 3)], check=True)
            batch_cmd = [*MIXAI, "batch", str(batch_in), "-q", "--predictor", args.predictor]
            variants = {1: ({}, "1 worker"), 2: ({}, "2 workers"),
                        "2-system": ({ALLOCATOR_ENV: "system"}, "2 workers, glibc's default allocator")}
            batch_all: dict = {key: [] for key in variants}
            for i in range(args.batch_runs):  # interleaved like the rows above
                for key, (extra_env, _) in variants.items():
                    out = tmp / f"batch_out_{i}"
                    jobs = 1 if key == 1 else 2
                    batch_all[key].append(measure([*batch_cmd, "-o", str(out), "-j", str(jobs)],
                                                  env={**os.environ, **extra_env}))
                    shutil.rmtree(out)
            for key, (_, label) in variants.items():
                batch_runs[key] = rows[f"mixai batch, 8 x {args.batch_minutes:g} min, {label}"] = median(batch_all[key])
            shutil.rmtree(batch_in)

        if args.long_minutes > 0:
            for f in tmp.glob("*.wav"):
                if f not in (track,):
                    f.unlink()
            long_track = tmp / "long.wav"
            subprocess.run([PYTHON, "-c", MAKE_AUDIO, str(ROOT), str(long_track), str(args.long_minutes), "0"],
                           check=True)
            rows[f"mixai master, {args.long_minutes:g}-minute file"] = measure(
                [*MIXAI, "master", str(long_track), "-o", str(tmp / "long.master.wav"), "-y", "-q",
                 "--predictor", args.predictor])

    load_after = load_average()
    floor = rows["floor: soundfile read + chain + write"]
    match = rows.get("Matchering 2")
    print(f"mixai start-up benchmark: {args.minutes:g}-minute stereo 44.1 kHz track, predictor {args.predictor}, "
          f"whole process, median of {args.runs} runs; load average {load_before} before, {load_after} after")
    print(f"{'':44}{'wall s':>8}{'x floor':>9}{'Matchering/x':>14}{'peak RSS MB':>13}{'RSS x floor':>13}"
          f"{'CPU s':>8}{'cores':>7}")
    for name, run in rows.items():
        vs_match = f"{match.seconds / run.seconds:13.1f}x" if match else f"{'-':>14}"
        print(f"{name:44}{run.seconds:8.2f}{run.seconds / floor.seconds:9.2f}{vs_match}"
              f"{run.rss_mb:13.0f}{run.rss_mb / floor.rss_mb:13.2f}"
              f"{run.cpu_seconds:8.2f}{run.cpu_seconds / run.seconds:7.2f}")

    warm, cold, helped = rows["mixai master (warm)"], rows["mixai master (cold: first run)"], rows["mixai --help"]
    checks = [(f"warm master <= 2x floor ({warm.seconds / floor.seconds:.2f}x)", warm.seconds <= 2 * floor.seconds),
              (f"cold <= 1.5x warm ({cold.seconds / warm.seconds:.2f}x)", cold.seconds <= 1.5 * warm.seconds),
              (f"--help < 0.2 s ({helped.seconds:.3f} s)", helped.seconds < 0.2),
              (f"3-min peak RSS <= 1.3x floor's ({warm.rss_mb / floor.rss_mb:.2f}x)", warm.rss_mb <= 1.3 * floor.rss_mb)]
    if match:
        checks.insert(1, (f">= 4x faster than Matchering ({match.seconds / warm.seconds:.1f}x)",
                          match.seconds >= 4 * warm.seconds))
    long_rows = [r for n, r in rows.items() if n.endswith("-minute file")]
    if long_rows:
        checks.append((f"{args.long_minutes:g}-minute peak RSS < 300 MB ({long_rows[0].rss_mb:.0f} MB)",
                       long_rows[0].rss_mb < 300))
    if batch_runs:
        speedup = batch_runs[1].seconds / batch_runs[2].seconds
        checks.append((f"batch 2 workers >= 1.7x 1 worker ({speedup:.2f}x)", speedup >= 1.7))
    for text, ok in checks:
        print(f"  [{'ok' if ok else 'MISSED'}] {text}")


if __name__ == "__main__":
    main()
