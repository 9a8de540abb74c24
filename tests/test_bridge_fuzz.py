"""Property test of the bridge's request handling, in-process (no UDP, no worker processes).

Random addresses and argument lists (and random / mutated datagrams) go through
:meth:`Bridge.handle_message` / :meth:`Bridge.handle_datagram`; every call must return replies that
are well formed and encodable as OSC, and never raise.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pythonosc.osc_message_builder import OscMessageBuilder

from plugin_bridge.handlers import Bridge
from plugin_bridge.job import Busy, JobConflict
from plugin_bridge.paths import Roots
from plugin_bridge.protocol import encode

KNOWN = ["/mixai/ping", "/mixai/status", "/mixai/analyze", "/mixai/suggest", "/mixai/master",
         "/mixai/mix", "/mixai/apply", "/mixai/cancel", "/mixai/get/target_lufs", "/mixai/get/preset",
         "/mixai/get/amount", "/mixai/set/target_lufs", "/mixai/set/ceiling_dbtp", "/mixai/set/preset",
         "/mixai/set/amount", "/mixai/set/predictor", "/mixai/get/nope", "/mixai/set/nope"]
REPLY_ADDRESSES = {"/mixai/pong", "/mixai/status", "/mixai/error", "/mixai/cancelled"}


class FakePool:
    """Accepts a few jobs, then says busy; remembers ids like the real pool."""

    def __init__(self) -> None:
        self.jobs: dict[str, object] = {}

    def submit(self, job) -> None:
        if job.id in self.jobs:
            raise JobConflict(f"job id {job.id!r} is already active")
        if len(self.jobs) >= 8:
            raise Busy("busy: queue full")
        self.jobs[job.id] = job

    def cancel(self, ident: str) -> bool:
        if ident not in self.jobs:
            raise JobConflict(f"no active job with id {ident!r}")
        del self.jobs[ident]
        return True

    def status(self) -> dict:
        return {"workers": 1, "workers_ready": 1, "running": 0, "queued": len(self.jobs), "jobs": []}


@pytest.fixture(scope="module")
def bridge(tmp_path_factory) -> Bridge:
    root = tmp_path_factory.mktemp("fuzzroot")
    sf.write(root / "a.wav", np.zeros((4410, 2), dtype=np.float32), 44100)
    (root / "s.json").write_text('{"schema_version": 1}')
    (root / "out").mkdir()
    return Bridge(Roots([root]), FakePool(), reply_port=9001)


def _check(replies) -> None:
    assert isinstance(replies, list)
    for address, args in replies:
        assert isinstance(address, str) and address.startswith("/mixai/")
        assert address in REPLY_ADDRESSES or address.startswith(("/mixai/get/", "/mixai/set/"))
        assert isinstance(args, tuple)
        for a in args:
            assert isinstance(a, (str, int, float)) and not isinstance(a, bool)
            if isinstance(a, float):
                assert math.isfinite(a)
        if address == "/mixai/error":
            assert len(args) == 3 and all(isinstance(a, str) for a in args)
        encode(address, args)  # must be sendable


def _clear(bridge: Bridge) -> None:
    bridge.pool.jobs.clear()
    bridge.defaults.update({"target_lufs": None, "ceiling_dbtp": None, "preset": "spotify",
                            "amount": 1.0, "predictor": "auto"})


paths = st.sampled_from(["a.wav", "s.json", "out/x.wav", "../x.wav", "/etc/passwd", "", "out",
                         "a.wav/..", "out/a.wav", "nope.wav"])
json_opts = st.dictionaries(
    st.sampled_from(["target_lufs", "ceiling_dbtp", "preset", "amount", "sample_rate", "bit_depth",
                     "overwrite", "predictor", "target", "mode", "eq_fx", "bogus", "input_lufs"]),
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
              st.text(max_size=10), st.sampled_from(["spotify", "dsp", "a.wav", "fxeq"])),
    max_size=4).map(json.dumps)
scalars = st.one_of(
    st.integers(-2**31, 2**31 - 1), st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.text(max_size=30), st.binary(max_size=20), st.booleans(), st.none(), paths, json_opts,
    st.sampled_from(["reaper", "ardour", "generic", "127.0.0.1", "10.0.0.1", "localhost", "preset",
                     "apple", "default", "x" * 5000]))
addresses = st.one_of(st.sampled_from(KNOWN), st.text(max_size=40), st.text(max_size=20).map(lambda s: "/mixai/" + s))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(address=addresses, args=st.lists(scalars, max_size=8))
def test_handle_message_never_raises(bridge, address, args):
    replies = bridge.handle_message(address, args, ("127.0.0.1", 5555))
    _check(replies)
    if len(bridge.pool.jobs) > 6:
        _clear(bridge)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_handle_datagram_random_bytes(bridge, data):
    _check(bridge.handle_datagram(data, ("127.0.0.1", 5555)))
    _clear(bridge)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(address=st.sampled_from(KNOWN), args=st.lists(scalars, max_size=5),
       cut=st.integers(0, 400), flips=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=4))
def test_handle_datagram_mutated_messages(bridge, address, args, cut, flips):
    b = OscMessageBuilder(address=address)
    for a in args:
        if isinstance(a, int) and not isinstance(a, bool):
            b.add_arg(a, "i")
        elif isinstance(a, float):
            b.add_arg(a, "f")
        else:
            b.add_arg(a)
    try:
        data = bytearray(b.build().dgram)
    except Exception:  # python-osc cannot build some values (e.g. an empty blob): nothing to test
        assume(False)
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    data = bytes(data[:cut] if cut < len(data) else data)
    _check(bridge.handle_datagram(data, ("127.0.0.1", 5555)))
    _clear(bridge)


def test_job_replies_for_every_event(bridge):
    """The pool's callbacks turn into well-formed replies, including odd payloads."""
    from plugin_bridge.job import Job

    for kind in ("analyze", "suggest", "master", "mix"):
        job = Job(id="j", kind=kind, params={}, reply_to=("127.0.0.1", 1))
        payload = {"analysis": {"x": float("nan")}, "settings": {"a": float("inf")},
                   "output": "/o.wav", "report": {"after": {"integrated_lufs": -14.0}}}
        for event, p in (("progress", 0.5), ("done", payload), ("error", "boom"), ("cancelled", None)):
            for dest, address, args in bridge.job_replies(job, event, p):
                assert address.startswith("/mixai/")
                encode(address, args)
                if address in ("/mixai/analysis", "/mixai/settings"):
                    json.loads(args[1])  # NaN/inf became null: still valid JSON
