"""Faults on the output side, with real ones: a folder without write permission (root's override
dropped: the command runs as ``nobody``), a read-only file system (a read-only bind mount), a full
disk (a tiny tmpfs), ``kill -9`` of a real ``mixai master`` mid-write, and a batch whose input
changed. Each is one clear line and exit 1, never a traceback or a half-written file; a killed
run's temporary is gone after the next mixai run into that folder; batch redoes changed inputs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import material
from mixai.io import atomic

REPO = Path(__file__).resolve().parents[1]
SR = 44100


def tone_mix(seconds: float, seed: int = 0) -> np.ndarray:
    """Quick to make at any length: tones and noise, stereo, about -20 LUFS."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.1 * np.sin(2 * np.pi * 110 * t) + 0.05 * np.sin(2 * np.pi * 1250 * t) * (1 + np.sin(2 * np.pi * 0.5 * t))
    return np.stack([x + 0.02 * rng.standard_normal(t.size), x + 0.02 * rng.standard_normal(t.size)]).astype(np.float32)


def mixai(*args, user: str | None = None, env_dir: Path | None = None, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if env_dir is not None:  # an unprivileged user cannot write root's caches
        env.update(HOME=str(env_dir), NUMBA_CACHE_DIR=str(env_dir / "numba"), MPLCONFIGDIR=str(env_dir / "mpl"))
    cmd = [sys.executable, "-m", "mixai", *map(str, args)]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user if user != 'nobody' else 'nogroup'}",
               "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, **kw)


def one_line(r: subprocess.CompletedProcess, *words: str) -> None:
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


@pytest.fixture
def shared(tmp_path):
    """A folder every user can traverse (pytest's own tmp folder is root's alone), with an input."""
    folder = Path(tempfile.mkdtemp(prefix="mixai-faults-", dir="/tmp"))
    os.chmod(folder, 0o755)
    material.write(folder / "song.wav", tone_mix(4.0), subtype="PCM_16")
    os.chmod(folder / "song.wav", 0o644)
    yield folder
    subprocess.run(["umount", "-l", str(folder / "mnt")], capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def _unprivileged_user() -> str | None:
    if os.geteuid() != 0:
        return None  # already unprivileged: the permissions apply as they are
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux): cannot drop root's permission override")
    probe = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            sys.executable, "-c", "import mixai.cli"],
                           capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(REPO)))
    if probe.returncode != 0:  # e.g. a checkout under a mode-700 folder (mktemp -d): nobody cannot read it
        last = (probe.stderr.strip().splitlines() or ["no message"])[-1]
        pytest.skip(f"user nobody cannot run mixai from {REPO} ({last}): the checkout or venv is not readable to it")
    return "nobody"


def test_unwritable_folder_is_one_line(shared):
    user = _unprivileged_user()
    env_dir = shared / "home"
    env_dir.mkdir(mode=0o777)
    os.chmod(env_dir, 0o777)
    locked = shared / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)  # nobody may write here (root owns it); as a user: read-only for us too
    if user is None and os.access(locked, os.W_OK):
        pytest.skip("this user can write to a mode 555 folder")
    cases = [
        (["master", shared / "song.wav", "-o", locked / "out.wav", "--predictor", "dsp"], "permission denied"),
        (["mix", shared / "song.wav", "-o", locked / "mix.wav", "--predictor", "dsp", "--master-predictor", "dsp"],
         "permission denied"),
        (["master", shared / "song.wav", "--dry-run", "--predictor", "dsp", "--save-settings", locked / "s.json"],
         "permission denied"),
        (["batch", shared, "-o", locked / "batch", "--predictor", "dsp", "-q"], "permission denied"),
    ]
    for argv, words in cases:
        one_line(mixai(*argv, user=user, env_dir=env_dir), words, str(locked))
    assert os.listdir(locked) == []


def _mount(args: list[str], target: Path) -> None:
    target.mkdir(exist_ok=True)
    r = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount here ({r.stderr.strip() or 'not permitted'})")


def test_read_only_file_system_is_one_line(shared):
    """A read-only bind mount: refused even for root (EROFS), in one line, nothing written."""
    if os.geteuid() != 0:
        pytest.skip("a bind mount needs root")
    source = shared / "ro-source"
    source.mkdir()
    target = shared / "mnt"
    _mount(["--bind", str(source)], target)
    r = subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot remount read-only ({r.stderr.strip()})")
    one_line(mixai("master", shared / "song.wav", "-o", target / "out.wav", "--predictor", "dsp"),
             "read-only file system")
    one_line(mixai("master", shared / "song.wav", "--dry-run", "--predictor", "dsp", "--save-settings",
                   target / "s.json"), "read-only file system")
    assert os.listdir(source) == []


def test_full_disk_is_one_line_and_leaves_nothing(shared):
    """A 256 kB tmpfs, a 4-second 24-bit master (1.4 MB): the disk fills while writing."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    target = shared / "mnt"
    _mount(["-t", "tmpfs", "-o", "size=256k", "tmpfs"], target)
    one_line(mixai("master", shared / "song.wav", "-o", target / "out.wav", "--predictor", "dsp"), "disk is full")
    one_line(mixai("master", shared / "song.wav", "-o", target / "out.flac", "--predictor", "dsp"), "disk is full")
    assert os.listdir(target) == []  # neither the output nor a temporary
    fd = os.open(target / "filler", os.O_WRONLY | os.O_CREAT)  # fill it up: not even a settings file fits
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    try:
        one_line(mixai("master", shared / "song.wav", "--dry-run", "--predictor", "dsp", "--save-settings",
                       target / "s.json"), "disk is full")
    finally:
        (target / "filler").unlink()
    assert not [p for p in os.listdir(target) if atomic.is_temporary(p)]


def test_kill_9_leaves_a_temporary_that_the_next_run_removes(tmp_path):
    """SIGKILL a real `mixai master` while its temporary exists; the temporary is there (no
    clean-up runs in a killed process); the next `mixai master` into that folder removes it, while
    a temporary that a live writer holds stays."""
    long_input = material.write(tmp_path / "long.wav", tone_mix(240.0), subtype="PCM_16")
    short_input = material.write(tmp_path / "short.wav", tone_mix(3.0, seed=1), subtype="PCM_16")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    strays: list[str] = []
    for _attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "mixai", "master", str(long_input), "-o",
                                 str(out_dir / "long.master.wav"), "--predictor", "dsp", "-q", "-y"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline:
            strays = [n for n in os.listdir(out_dir) if atomic.is_temporary(n)]
            if strays and os.path.getsize(out_dir / strays[0]) > 1 << 20:  # being written
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
        proc.wait()
        if proc.returncode == -signal.SIGKILL:
            break
        (out_dir / "long.master.wav").unlink(missing_ok=True)
    else:
        pytest.skip("the master finished before it could be killed mid-write (three times)")
    time.sleep(0.1)
    assert [n for n in os.listdir(out_dir) if atomic.is_temporary(n)] == strays
    assert not (out_dir / "long.master.wav").exists()
    held = atomic.temporary_path(out_dir / "other.wav", hold=True)  # a live writer's, this process's
    try:
        r = mixai("master", short_input, "-o", out_dir / "short.master.wav", "--predictor", "dsp", "-q")
        assert r.returncode == 0, r.stderr
        left = sorted(n for n in os.listdir(out_dir) if atomic.is_temporary(n))
        assert left == [held.name]  # the killed run's stray went; the held one stays
    finally:
        atomic.release_temporary(held)
    r = mixai("master", short_input, "-o", out_dir / "again.wav", "--predictor", "dsp", "-q")
    assert r.returncode == 0 and not [n for n in os.listdir(out_dir) if atomic.is_temporary(n)]


def test_batch_redoes_changed_inputs_and_says_why(tmp_path):
    from mixai.batch import BatchConfig, file_digest, read_manifest, run_batch

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i, name in enumerate(("a.wav", "b.wav", "c.wav")):
        material.write(src / name, tone_mix(2.0, seed=i), subtype="PCM_16")
    config = BatchConfig(predictor="dsp")
    first = run_batch(src, out, config=config)
    assert first.done == 3 and first.redone == {}
    records = read_manifest(out / "manifest.jsonl")
    for name in ("a.wav", "b.wav", "c.wav"):
        rec = records[("master", name)]
        assert rec["input_sha256"] == file_digest(src / name) and rec["input_bytes"] == (src / name).stat().st_size
    louder = tone_mix(2.0, seed=0) * 1.5  # same length and format: same size, other content
    material.write(src / "a.wav", louder, subtype="PCM_16")
    material.write(src / "b.wav", tone_mix(3.0, seed=1), subtype="PCM_16")  # longer
    second = run_batch(src, out, config=config)
    assert (second.done, second.skipped) == (2, 1)
    assert second.redone["a.wav"] == "the input changed since the last run (same size, different content)"
    assert "bytes" in second.redone["b.wav"] and "input changed" in second.redone["b.wav"]
    assert "redone: a.wav: the input changed" in second.summary()
    records = read_manifest(out / "manifest.jsonl")
    assert records[("master", "a.wav")]["redone_because"] == second.redone["a.wav"]
    assert records[("master", "a.wav")]["input_sha256"] == file_digest(src / "a.wav")
    mastered, _ = sf.read(out / "a.wav")
    assert abs(material.lufs(mastered.T) + 14.0) <= 0.2
    assert sf.info(out / "b.wav").duration == pytest.approx(3.0, abs=1e-3)  # the new input's master
    third = run_batch(src, out, config=config)
    assert (third.done, third.skipped, third.redone) == (0, 3, {})
