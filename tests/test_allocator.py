"""The allocator settings of :mod:`mixai.allocator` (issue 15): on glibc they keep freed audio
buffers in the process, so a loop that frees and re-makes block-sized arrays stops faulting pages
in; a user's own allocator settings, or ``MIXAI_ALLOCATOR=system``, leave glibc's defaults.

Each case runs in a fresh interpreter: the settings change the whole process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mixai.allocator import ALLOCATOR_ENV

GLIBC = (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc") if hasattr(os, "confstr") else False

# Free and re-make 8 MB arrays (about a stereo 2.5-second block at float64) 40 times, counting the
# page faults the loop takes after the first pass has sized the heap.
PROBE = """
import json, resource
import numpy as np
from mixai.allocator import keep_freed_memory
applied = keep_freed_memory()
def blocks(n):
    for _ in range(n):
        a = np.ones(1 << 20)
        b = a * 2.0
        del a, b
blocks(2)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
blocks(40)
print(json.dumps({"applied": applied, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


def _probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if k != ALLOCATOR_ENV and not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                       env={**clean, **env}, check=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="the settings exist only in glibc")
def test_freed_blocks_are_reused_instead_of_faulted_in_again():
    default = _probe(**{ALLOCATOR_ENV: "system"})
    kept = _probe()
    assert default["applied"] is False and kept["applied"] is True
    # With the defaults each pass maps its arrays afresh and faults them in (hundreds of faults a
    # pass; how many pages one fault brings in depends on the kernel); kept, almost none.
    assert default["faults"] > 40 * 200
    assert kept["faults"] < default["faults"] / 20


@pytest.mark.parametrize("env", [{ALLOCATOR_ENV: "system"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536"},
                                 {"MALLOC_ARENA_MAX": "2"}])
def test_a_users_own_allocator_settings_are_left_alone(env):
    assert _probe(**env)["applied"] is False


def test_the_command_line_applies_it_before_any_command(tmp_path):
    code = ("from mixai.allocator import keep_freed_memory\n"
            "from mixai.cli.app import main\n"
            "assert keep_freed_memory.cache_info().currsize == 0\n"
            f"main(['analyze', {str(tmp_path / 'missing.wav')!r}])\n"
            "print(keep_freed_memory.cache_info().currsize)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "1"


@pytest.mark.skipif(not GLIBC, reason="the settings exist only in glibc")
def test_workers_get_the_settings_as_tunables_and_the_parent_keeps_its_environment(monkeypatch):
    from mixai.allocator import WORKER_TUNABLES, worker_variables
    from mixai.environment import scoped_environment

    for k in [k for k in os.environ if k == ALLOCATOR_ENV or k.startswith("MALLOC_") or k == "GLIBC_TUNABLES"]:
        monkeypatch.delenv(k)
    assert worker_variables() == {"GLIBC_TUNABLES": WORKER_TUNABLES}
    with scoped_environment(worker_variables()):
        assert os.environ["GLIBC_TUNABLES"] == WORKER_TUNABLES
        r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False)
    assert "GLIBC_TUNABLES" not in os.environ
    assert r.returncode == 0, r.stderr
    worker = json.loads(r.stdout.strip().splitlines()[-1])
    default = _probe(**{ALLOCATOR_ENV: "system"})
    # In force from start-up (no mallopt needed), and freed blocks are reused as with mallopt.
    assert worker["applied"] is True
    assert worker["faults"] < default["faults"] / 20


@pytest.mark.parametrize("env", [{ALLOCATOR_ENV: "system"}, {"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}])
def test_worker_variables_leave_a_users_choice_alone(env, monkeypatch):
    from mixai.allocator import worker_variables

    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert worker_variables() == {}


def test_scoped_environment_puts_back_values_and_absences(monkeypatch):
    from mixai.environment import scoped_environment

    monkeypatch.setenv("MIXAI_TEST_KEPT", "before")
    monkeypatch.delenv("MIXAI_TEST_ABSENT", raising=False)
    with pytest.raises(RuntimeError):
        with scoped_environment({"MIXAI_TEST_KEPT": "inside", "MIXAI_TEST_ABSENT": "inside"}):
            assert os.environ["MIXAI_TEST_KEPT"] == os.environ["MIXAI_TEST_ABSENT"] == "inside"
            raise RuntimeError("a failed start")
    assert os.environ["MIXAI_TEST_KEPT"] == "before"
    assert "MIXAI_TEST_ABSENT" not in os.environ
