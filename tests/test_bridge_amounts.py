"""Per-aspect amounts over OSC: ``/mixai/amount/<aspect>``, the ``eq_amount``... keys of
options-json, echoed in ``/mixai/settings``, ``/mixai/done`` and ``/mixai/applied``, and the DAW
receiving the scaled values. A real bridge subprocess, real UDP."""

from __future__ import annotations

import json
import socket
import threading

import numpy as np
import pytest
import soundfile as sf
from pythonosc.osc_message import OscMessage

from osc_bridge import BridgeProcess

SETTINGS = {"schema_version": 1,
            "eq": {"low_shelf": {"freq_hz": 100.0, "gain_db": 4.0}, "mid": {"freq_hz": 1000.0, "gain_db": -3.0, "q": 1.0},
                   "high_shelf": {"freq_hz": 8000.0, "gain_db": 2.0}},
            "compressor": {"threshold_db": -20.0, "ratio": 4.0, "attack_ms": 10.0, "release_ms": 100.0},
            "stereo": {"width": 1.5}, "reverb": {"wet": 0.2, "room_size": 0.5, "damping": 0.5}}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("root")
    t = np.arange(44100 * 3) / 44100
    tone = 0.1 * np.sin(2 * np.pi * 220 * t) + 0.02 * np.random.default_rng(0).standard_normal(t.size)
    sf.write(r / "song.wav", np.stack([tone, 0.9 * tone]).T.astype(np.float32), 44100, subtype="PCM_16")
    (r / "out").mkdir()
    return r


@pytest.fixture(scope="module")
def bridge(root, tmp_path_factory):
    b = BridgeProcess([root], workers=1, queue=4, log=tmp_path_factory.mktemp("logs") / "bridge.log")
    try:
        b.wait_ready()
        yield b
    finally:
        code = b.stop()
    assert code == 0 and "Traceback" not in b.log.read_text(), b.log.read_text()[-3000:]


class FakeDaw:
    """A UDP port that records what the bridge sends to the DAW."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(10.0)
        self.port = self.sock.getsockname()[1]

    def receive(self, count: int) -> dict[str, float]:
        got = {}
        for _ in range(count):
            m = OscMessage(self.sock.recvfrom(65535)[0])
            got[m.address] = m.params[0]
        return got


def test_amount_addresses_set_get_and_refuse(bridge):
    c = bridge.client
    c.send("/mixai/amount/eq", 0.5)
    assert c.reply("/mixai/amount/eq")[1] == [pytest.approx(0.5)]
    c.send("/mixai/amount/eq")
    assert c.reply("/mixai/amount/eq")[1] == [pytest.approx(0.5)]
    for address, args, words in (("/mixai/amount/eq", [1.5], "eq amount"), ("/mixai/amount/tone", [0.5], "unknown aspect"),
                                 ("/mixai/amount/width", ["x"], "width amount")):
        c.send(address, *args)
        err = c.reply("/mixai/error")[1]
        assert err[1] == address and words in err[2], err
    assert c.status()["amounts"] == {"eq": 0.5, "dynamics": 1.0, "reverb": 1.0, "width": 1.0}
    c.send("/mixai/amount/eq", 1.0)
    c.reply("/mixai/amount/eq")


def test_amounts_reach_the_job_and_are_echoed(bridge, root):
    c = bridge.client
    c.send("/mixai/amount/dynamics", 0.25)
    c.reply("/mixai/amount/dynamics")
    try:
        c.send("/mixai/suggest", "s1", "song.wav")
        addr, args = c.job_result("s1")
        assert addr == "/mixai/settings", args
        assert json.loads(args[1])["amounts"]["dynamics"] == 0.25
        c.send("/mixai/master", "m1", "song.wav", "out/m1.wav",
               json.dumps({"width_amount": 0.0, "eq_amount": 0.5, "predictor": "dsp"}))
        addr, args = c.job_result("m1", timeout=60)
        assert addr == "/mixai/done", args
        summary = json.loads(args[2])
        assert summary["settings"]["amounts"] == {"eq": 0.5, "dynamics": 0.25, "reverb": 1.0, "width": 0.0}
        assert "amounts eq 50 %, dynamics 25 %" in summary["summary"]
        c.send("/mixai/master", "m2", "song.wav", "out/m2.wav", json.dumps({"eq_amount": 2}))
        err = c.job_result("m2")[1]
        assert "eq_amount" in err[2]
    finally:
        c.send("/mixai/amount/dynamics", 1.0)
        c.reply("/mixai/amount/dynamics")


def test_applied_sends_the_scaled_values_and_echoes_the_amounts(bridge, root):
    """A saved file at EQ amount 0.5 and width amount 0: the DAW gets half the EQ gains and width 1;
    /mixai/applied echoes the amounts and the full settings."""
    c = bridge.client
    saved = dict(SETTINGS, amounts={"eq": 0.5, "dynamics": 1.0, "reverb": 1.0, "width": 0.0})
    (root / "half.json").write_text(json.dumps(saved))
    daw = FakeDaw()
    result: dict = {}
    listener = threading.Thread(target=lambda: result.update(daw.receive(25)))
    listener.start()
    c.send("/mixai/apply", "a1", "half.json", "generic", 1, "127.0.0.1", daw.port)
    addr, args = c.job_result("a1")
    listener.join(15)
    assert addr == "/mixai/applied", args
    info = json.loads(args[1])
    assert info["amounts"] == {"eq": 0.5, "dynamics": 1.0, "reverb": 1.0, "width": 0.0}
    assert info["settings"]["eq"]["low_shelf"]["gain_db"] == 4.0  # stored in full
    assert result["/mixai/param/eq/low_shelf/gain_db"] == pytest.approx(2.0)
    assert result["/mixai/param/eq/mid/gain_db"] == pytest.approx(-1.5)
    assert result["/mixai/param/stereo/width"] == pytest.approx(1.0)
    assert result["/mixai/param/compressor/ratio"] == pytest.approx(4.0)
