"""mixai batch: parallel workers, manifest, resuming, killed workers and runs, bad files, Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mixai.io.audio import load, save
from mixai.batch import (MANIFEST_NAME, BatchConfig, find_items, read_manifest, run_batch)
from mixai.errors import OutputError
from mixai.master.options import MasterOptions

SR = 44100
ROOT = Path(__file__).resolve().parents[1]
CONFIG = BatchConfig(mode="master", options=MasterOptions(target_lufs=-16.0, ceiling_dbtp=-1.0), predictor="dsp")


def _track(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f = 110.0 * (1 + seed % 5)
    x = 0.2 * np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 1.5 * t) ** 2)
    x = x + 0.03 * rng.standard_normal(t.size)
    return np.stack([x, 0.9 * x]).astype(np.float32)


def _make_tracks(folder: Path, n: int, seconds: float = 2.0, sub: bool = True) -> list[Path]:
    paths = []
    for i in range(n):
        p = folder / (f"album{i % 2}" if sub else "") / f"track{i:02d}.wav"
        p.parent.mkdir(parents=True, exist_ok=True)
        save(p, _track(seconds, i), SR)
        paths.append(p)
    return paths


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _manifest_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines() if line.strip()]


def test_batch_bad_file_manifest_and_resume(tmp_path):
    import pyloudnorm

    src, out = tmp_path / "in", tmp_path / "out"
    _make_tracks(src, 4)
    (src / "album0" / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    (src / "notes.txt").write_text("not audio")
    before = _snapshot(src)

    result = run_batch(src, out, config=CONFIG, jobs=2)
    assert (result.total, result.done, result.failed) == (5, 4, 1)
    assert _snapshot(src) == before                       # inputs untouched
    records = read_manifest(out / MANIFEST_NAME)
    bad = records[("master", "album0/corrupt.wav")]
    assert bad["status"] == "error" and "corrupt.wav" in bad["error"]
    for (mode, key), rec in records.items():
        if rec["status"] != "ok":
            continue
        audio, rate = load(rec["output"])
        lufs = pyloudnorm.Meter(rate).integrated_loudness(audio.T.astype(np.float64))
        assert abs(rec["lufs"] - lufs) < 0.05
        assert abs(rec["lufs"] - (-16.0)) < 0.2 and rec["true_peak_dbtp"] <= -1.0 + 1e-3
        assert rec["frames"] == audio.shape[1] and rec["seconds"] > 0
        assert rec["settings"]["schema_version"] == 1
        assert Path(rec["output"]) == out / key

    again = run_batch(src, out, config=CONFIG, jobs=2)
    assert (again.skipped, again.done, again.failed) == (4, 0, 1)

    # a damaged output is noticed and redone; --force redoes everything
    victim = out / "album1" / "track01.wav"
    victim.write_bytes(victim.read_bytes()[:-100])
    third = run_batch(src, out, config=CONFIG, jobs=1)
    assert (third.skipped, third.done) == (3, 1)
    forced = run_batch(src, out, config=CONFIG, jobs=2, force=True)
    assert (forced.skipped, forced.done) == (0, 4)


def test_out_dir_checks(tmp_path):
    src = tmp_path / "in"
    _make_tracks(src, 1)
    with pytest.raises(OutputError, match="is the input folder"):
        run_batch(src, src, config=CONFIG)
    with pytest.raises(OutputError, match="contains the input"):
        run_batch(src, tmp_path, config=CONFIG)
    # an output folder inside the input folder is allowed and never searched
    items = find_items(src, src / "mastered")
    run_batch(src, src / "mastered", config=CONFIG, jobs=1)
    assert find_items(src, src / "mastered") == items


def test_killed_worker_is_retried_and_leaves_no_partial_file(tmp_path):
    import psutil

    src, out = tmp_path / "in", tmp_path / "out"
    _make_tracks(src, 6, seconds=3.0)
    killed = []

    def kill_a_worker(record):
        if not killed:
            workers = psutil.Process().children(recursive=True)
            # Pool workers only (spawned with multiprocessing.spawn), not the resource tracker.
            busy = [w for w in workers if "spawn_main" in " ".join(w.cmdline())
                    and "resource_tracker" not in " ".join(w.cmdline())]
            if busy:
                os.kill(busy[-1].pid, signal.SIGKILL)
                killed.append(busy[-1].pid)

    result = run_batch(src, out, config=CONFIG, jobs=2, on_record=kill_a_worker)
    assert killed
    assert (result.done, result.failed) == (6, 0)
    assert not [p for p in out.rglob("*") if ".part" in p.name]
    assert all(r["status"] == "ok" for r in read_manifest(out / MANIFEST_NAME).values())


def test_killed_batch_resumes(tmp_path):
    """SIGKILL the whole batch (coordinator and workers) mid-run: no partial output under a final
    name; a re-run removes the stale temporaries, skips what was done and finishes the rest."""
    src, out = tmp_path / "in", tmp_path / "out"
    _make_tracks(src, 8, seconds=4.0)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "mixai", "batch", str(src), "-o", str(out), "-j", "2",
                             "--predictor", "dsp", "--target-lufs", "-16", "-q"],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 90
    try:
        while time.time() < deadline:
            if (out / MANIFEST_NAME).exists() and sum(r.get("status") == "ok" for r in _manifest_lines(out)) >= 2:
                break
            if proc.poll() is not None:
                pytest.fail(f"batch ended before it could be killed: {proc.stderr.read().decode()}")
            time.sleep(0.05)
        else:
            pytest.fail("batch made no progress")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = {r["key"] for r in _manifest_lines(out) if r.get("status") == "ok"}
    assert 2 <= len(done_before) < 8
    finals = [p for p in out.rglob("*.wav") if not p.name.startswith(".")]
    for p in finals:                                    # whatever has a final name is complete
        audio, _ = load(p)
        assert audio.shape[1] == 4 * SR

    result = run_batch(src, out, config=CONFIG, jobs=2)
    assert result.skipped == len(done_before)
    assert result.done == 8 - len(done_before) and result.failed == 0
    assert not [p for p in out.rglob("*") if ".part" in p.name]
    records = read_manifest(out / MANIFEST_NAME)
    assert len(records) == 8 and all(r["status"] == "ok" for r in records.values())


def test_mix_mode(tmp_path):
    src, out = tmp_path / "songs", tmp_path / "out"
    for song in ("a", "b"):
        d = src / song
        d.mkdir(parents=True)
        save(d / "drums.wav", _track(2.0, 1), SR)
        save(d / "bass.wav", _track(2.0, 0)[:1] * 0.5, SR)
    config = BatchConfig(mode="mix", options=MasterOptions(target_lufs=-14.0), predictor="dsp",
                         master_predictor="dsp")
    result = run_batch(src, out, config=config, jobs=2)
    assert (result.done, result.failed) == (2, 0)
    records = read_manifest(out / MANIFEST_NAME)
    assert {k for _, k in records} == {"a", "b"}
    assert records[("mix", "a")]["settings"]["kind"] == "mixai-mix"
    assert (out / "a.wav").is_file() and (out / "b.wav").is_file()


def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    src, out = tmp_path / "in", tmp_path / "out"
    _make_tracks(src, 4)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        result = run_batch(src, out, config=CONFIG, dask_address=client)
        # the CLI with a scheduler address, into another folder
        from mixai import cli
        rc = cli.main(["batch", str(src / "album0"), "-o", str(tmp_path / "out2"), "--dask",
                       cluster.scheduler_address, "--predictor", "dsp", "-q"])
        assert rc == 0
        assert len(read_manifest(tmp_path / "out2" / MANIFEST_NAME)) == 2
    assert (result.done, result.failed) == (4, 0)
    records = read_manifest(out / MANIFEST_NAME)
    assert len(records) == 4 and len({r["pid"] for r in records.values()}) >= 1
    assert all(r["status"] == "ok" for r in records.values())


def test_cli_exit_code(tmp_path, capsys):
    from mixai import cli

    src, out = tmp_path / "in", tmp_path / "out"
    _make_tracks(src, 1, sub=False)
    (src / "bad.flac").write_bytes(b"fLaC nonsense")
    rc = cli.main(["batch", str(src), "-o", str(out), "-j", "1", "--predictor", "dsp", "-q"])
    assert rc == 1
    assert "bad.flac" in capsys.readouterr().err


def test_ctrl_c_leaves_no_partial_file(tmp_path):
    """SIGINT to the whole process group (what Ctrl-C in a terminal does): exit 130, no temporary
    or partial file left, and the manifest holds only complete items."""
    src, out = tmp_path / "in", tmp_path / "out"
    # Enough work that the batch is still running when the signal comes: workers that start warm
    # finish a 4-second item in a fraction of a second.
    _make_tracks(src, 24, seconds=6.0)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "mixai", "batch", str(src), "-o", str(out), "-j", "2",
                             "--predictor", "dsp", "-q"],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 90
    while time.time() < deadline and proc.poll() is None:
        if (out / MANIFEST_NAME).exists() and _manifest_lines(out):
            break
        time.sleep(0.05)
    time.sleep(0.1)
    assert proc.poll() is None, "batch finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    try:
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err = proc.stderr.read().decode()
    assert rc == 130, err
    assert "interrupted" in err
    assert not [p for p in out.rglob("*") if ".part" in p.name]
    ok = {r["key"] for r in _manifest_lines(out) if r["status"] == "ok"}
    finals = {p.relative_to(out).as_posix(): p for p in out.rglob("*.wav")}
    assert ok <= set(finals)
    for p in finals.values():   # an item can finish between the signal and its manifest line
        assert load(p)[0].shape[1] == 6 * SR


def test_items_and_output_names(tmp_path):
    src = tmp_path / "in"
    (src / "a").mkdir(parents=True)
    for name in ("song.wav", "song.aiff", "x.flac", "y.mp3", ".hidden.wav", "notes.txt"):
        (src / "a" / name).write_bytes(b"")
    items = {i.key: Path(i.output).relative_to(tmp_path / "out").as_posix() for i in find_items(src, tmp_path / "out")}
    assert items == {"a/song.wav": "a/song.wav", "a/song.aiff": "a/song.aiff.wav", "a/x.flac": "a/x.flac",
                     "a/y.mp3": "a/y.wav"}
    songs = find_items(src, tmp_path / "out", "mix")
    assert [(i.key, Path(i.output).name) for i in songs] == [("a", "a.wav")]
