"""The helper-thread switch that makes a batch worker one core: with ``MIXAI_HELPER_THREADS=0`` a
master starts no mixai thread at all and writes the very same file as with its helper threads;
``mixai batch`` sets it for its worker processes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import material
from mixai.threads import HELPER_THREADS_ENV, InlineExecutor

REPO = Path(__file__).resolve().parents[1]

# Masters the file given, then prints the names of the threads mixai started.
MASTER_AND_LIST_THREADS = r"""
import json, sys, threading
from mixai.master.pipeline import master_file
master_file(sys.argv[1], sys.argv[2], predictor="onnx")
print(json.dumps(sorted({t.name.rsplit("_", 1)[0] for t in threading.enumerate() if t.name.startswith("mixai")})))
"""


def master_in_child(src: Path, dst: Path, helper_threads: str) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), **{HELPER_THREADS_ENV: helper_threads})
    r = subprocess.run([sys.executable, "-c", MASTER_AND_LIST_THREADS, str(src), str(dst)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_inline_executor_delivers_results_and_errors_like_a_pool():
    pool = InlineExecutor()
    assert list(pool.map(lambda v: v * 2, [1, 2, 3])) == [2, 4, 6]
    failed = pool.submit(lambda: 1 / 0)
    assert failed.done()
    with pytest.raises(ZeroDivisionError):
        failed.result()


def test_master_without_helper_threads_starts_none_and_writes_the_same_file(tmp_path):
    src = tmp_path / "song.wav"
    # 70 s: longer than the 60-s excerpt, so the whole-input pass and the channel-parallel true
    # peak both run (they are the helpers that matter).
    material.write(src, material.band_loop(70.0, seed=7) * 2.0, subtype="PCM_24")
    threaded = master_in_child(src, tmp_path / "threaded.wav", "1")
    inline = master_in_child(src, tmp_path / "inline.wav", "0")
    assert {"mixai-stage", "mixai-input"} <= set(threaded), threaded
    assert inline == []
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(tmp_path / "threaded.wav") == digest(tmp_path / "inline.wav")


def test_batch_workers_run_without_helper_threads(tmp_path, monkeypatch):
    """The coordinator hands its workers the one-core environment, and puts its own back after."""
    import mixai.batch as batch

    seen: list[dict] = []

    def fake_run_local(items, config, jobs, record):
        seen.append({k: os.environ.get(k) for k in (HELPER_THREADS_ENV, "OMP_NUM_THREADS")})
        for item in items:  # not processed here: this process keeps its own helper threads
            record({"key": item.key, "mode": item.mode, "status": "ok"})

    (tmp_path / "in").mkdir()
    material.write(tmp_path / "in" / "a.wav", (0.1 * np.sin(np.arange(44100 * 3) / 7.0)).astype(np.float32)[None]
                   .repeat(2, axis=0), subtype="PCM_16")
    monkeypatch.delenv(HELPER_THREADS_ENV, raising=False)
    monkeypatch.setattr(batch, "_run_local", fake_run_local)
    result = batch.run_batch(tmp_path / "in", tmp_path / "out", config=batch.BatchConfig(predictor="dsp"), jobs=2)
    assert result.done == 1
    assert seen == [{HELPER_THREADS_ENV: "0", "OMP_NUM_THREADS": "1"}]
    assert HELPER_THREADS_ENV not in os.environ
