"""Live metering over OSC, end to end: a real bridge subprocess, real UDP on loopback.

A subscriber gets one /mixai/meter reading per 100 ms of the output while it is written, arriving
at well over 10 Hz; the readings agree with pyloudnorm on the written file, the integrated loudness
at the end within 0.1 LU; unsubscribing stops them; a client that vanished is dropped after a few
failed sends and the bridge keeps answering.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from osc_bridge import BridgeProcess, Client, encode, free_udp_port

SR = 44100


class SameSocketClient(Client):
    """Sends from the socket it receives on (the bridge runs with --reply-port 0: replies go back to
    the sender's port) and notes when each message arrived."""

    def __init__(self, bridge_port: int, reply_port: int) -> None:
        self.timed: list[tuple[float, str, list]] = []  # every message with its arrival (take() leaves these)
        super().__init__(bridge_port, reply_port)

    def send(self, address: str, *args) -> None:
        self.sock.sendto(encode(address, *args), self.bridge)

    def received(self, item: tuple[str, list]) -> None:  # with the arrival time kept beside each message
        super().received(item)
        self.timed.append((time.monotonic(), *item))


def programme(path: Path, seconds: float, seed: int = 0) -> Path:
    """Sections at different levels with drum-like hits: loudness that moves and peaks to limit."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    level = np.where((t // 5) % 2 == 0, 0.05, 0.2)
    tone = np.sin(2 * np.pi * 110 * t) + 0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 2500 * t)
    hits = np.zeros_like(t)
    for start in range(0, t.size, SR // 2):
        n = min(2000, t.size - start)
        hits[start:start + n] = rng.standard_normal(n) * np.exp(-np.arange(n) / 300.0)
    x = level * tone + 0.6 * hits + 0.01 * rng.standard_normal(t.size)
    sf.write(path, np.stack([x, 0.9 * x]).T.astype(np.float32), SR, subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    r = tmp_path_factory.mktemp("meter_root")
    programme(r / "song.wav", 40.0)
    programme(r / "short.wav", 6.0, seed=1)
    (r / "out").mkdir()
    return r


@pytest.fixture(scope="module")
def bridge(root, tmp_path_factory):
    bp = BridgeProcess([root], workers=1, extra=["--reply-port", "0"],
                       log=tmp_path_factory.mktemp("meter_log") / "bridge.log")
    bp.client.close()
    bp.client = SameSocketClient(bp.port, free_udp_port())
    try:
        bp.wait_ready()
        yield bp
    finally:
        bp.stop()


def meters(client: Client, ident: str) -> list[list]:
    return [p[1:] for a, p in client.take(lambda a, p: a == "/mixai/meter" and p[0] == ident)]


def master(client: Client, ident: str, name: str, out: str) -> dict:
    client.send("/mixai/master", ident, name, out, json.dumps({"target_lufs": -14.0, "overwrite": True}))
    addr, args = client.wait_for(lambda a, p: a in ("/mixai/done", "/mixai/error") and p[0] == ident, 120)
    assert addr == "/mixai/done", args
    return json.loads(args[2])


def test_meter_stream_rate_and_values(bridge, root):
    client = bridge.client
    client.send("/mixai/meter/subscribe")
    assert client.reply("/mixai/meter/subscribed")[1] == [100, 300.0]
    report = master(client, "s1", "song.wav", "out/song.master.wav")
    end = client.wait_for(lambda a, p: a == "/mixai/meter/integrated" and p[0] == "s1", 10)[1]
    with client.cond:
        got = [(t, p[1:]) for t, a, p in client.timed if a == "/mixai/meter" and p[0] == "s1"]
    meters(client, "s1")
    readings = np.array([p for _, p in got], dtype=float)
    audio, sr = sf.read(root / "out" / "song.master.wav", always_2d=True)
    steps = int(np.ceil(audio.shape[0] / (sr // 10)))
    # one reading per 100 ms of programme, in order (a redone final pass starts again at 0.1 s)
    kept = readings[readings[:, 5] == readings[-1, 5]]
    assert len(kept) == steps
    assert np.allclose(kept[:, 0], np.arange(1, steps + 1) / 10, atol=1e-3)
    arrivals = np.array([t for t, _ in got])
    rate_hz = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    assert rate_hz >= 10.0, rate_hz
    meter = pyloudnorm.Meter(sr)
    # the integrated loudness at the end: the written file's, within 0.1 LU of pyloudnorm
    assert abs(end[1] - meter.integrated_loudness(audio)) <= 0.1
    assert end[1] == pytest.approx(report["after"]["integrated_lufs"], abs=1e-3)
    # short-term (3 s) and momentary (400 ms) readings against pyloudnorm on those windows of the
    # file, at windows inside one 5 s section (where pyloudnorm's gating leaves a window whole)
    for position, momentary, short_term in kept[44::50, :3]:
        stop = int(round(position * sr))
        assert short_term == pytest.approx(meter.integrated_loudness(audio[stop - 3 * sr:stop]), abs=0.3)
        assert momentary == pytest.approx(meter.integrated_loudness(audio[stop - int(0.4 * sr):stop]), abs=0.5)
    # true peak: the highest so far, ending at the report's; gain reduction: the limiter's
    assert np.all(np.diff(kept[:, 3]) >= -1e-6)
    assert kept[-1, 3] == pytest.approx(report["after"]["true_peak_dbtp"], abs=0.01)
    assert np.all(kept[:, 4] >= 0) and kept[:, 4].max() == pytest.approx(report["max_limiting_db"], abs=0.01)
    assert kept[:, 4].max() > 0.5  # the hits were limited
    assert kept[:, 1].max() - kept[:, 1].min() > 5  # the meter moved with the sections


def test_every_ms_and_unsubscribe(bridge):
    client = bridge.client
    client.send("/mixai/meter/subscribe", 1000)
    assert client.reply("/mixai/meter/subscribed")[1][0] == 1000
    master(client, "s2", "short.wav", "out/short.master.wav")
    client.wait_for(lambda a, p: a == "/mixai/meter/integrated" and p[0] == "s2", 10)
    positions = [p[0] for p in meters(client, "s2")]
    assert positions == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], abs=1e-3)
    client.send("/mixai/meter/unsubscribe")
    assert client.reply("/mixai/meter/unsubscribed")[1] == ["unsubscribed"]
    master(client, "s3", "short.wav", "out/short2.master.wav")
    assert client.ping()  # everything the bridge sent before the pong has arrived
    time.sleep(0.2)
    assert meters(client, "s3") == []
    assert not client.take(lambda a, p: a == "/mixai/meter/integrated")
    assert client.status()["meter_subscribers"] == []


def test_vanished_subscriber_is_dropped(bridge):
    gone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    gone.bind(("127.0.0.1", 0))
    gone.settimeout(5)
    gone.sendto(encode("/mixai/meter/subscribe"), ("127.0.0.1", bridge.port))
    assert b"/mixai/meter/subscribed" in gone.recvfrom(65535)[0]
    port = gone.getsockname()[1]
    assert [s["port"] for s in bridge.client.status()["meter_subscribers"]] == [port]
    gone.close()  # the client vanishes without unsubscribing
    master(bridge.client, "s4", "short.wav", "out/short3.master.wav")
    assert bridge.client.ping()
    assert bridge.client.status()["meter_subscribers"] == []
    log = bridge.log.read_text()
    assert f"meter subscriber 127.0.0.1:{port} removed: gone (port unreachable)" in log


def test_bad_subscribe_arguments(bridge):
    client = bridge.client
    for args in ((5,), (100, 0.1), ("x",), (100, 10, 3)):
        client.send("/mixai/meter/subscribe", *args)
        addr, params = client.reply("/mixai/error")
        assert params[1] == "/mixai/meter/subscribe"
    assert client.status()["meter_subscribers"] == []


def test_live_readings_are_the_meters_series():
    """The live reading at each step is the windowed loudness a whole-programme meter gives there
    (LoudnessMeter.window_series_lufs), however the blocks fell."""
    from mixai.dsp.loudness import LoudnessMeter
    from mixai.dsp.metering import LiveMeter
    from mixai.dsp.truepeak import TruePeakMeter

    rng = np.random.default_rng(2)
    x = (rng.standard_normal((2, SR * 8)) * np.repeat(rng.uniform(0.01, 0.3, 80), SR // 10)).astype(np.float32)
    loudness, peaks = LoudnessMeter(SR, 2), TruePeakMeter(2)
    live = LiveMeter(loudness, peaks)
    readings, start = [], 0
    for size in (1000, 44100, 3, 70000, 130000, 4410 * 7, 10 ** 6):
        block = x[:, start:start + size]
        start += block.shape[1]
        loudness.add(block)
        peaks.add(block)
        readings += live.readings(np.zeros(block.shape[1] // 4410 + 1))
    assert [r.position_s for r in readings] == pytest.approx(np.arange(1, 81) / 10)
    whole = LoudnessMeter(SR, 2)
    whole.add(x)
    assert np.allclose([r.short_term_lufs for r in readings[29:]], whole.window_series_lufs(3.0), atol=1e-9)
    assert np.allclose([r.momentary_lufs for r in readings[3:]], whole.window_series_lufs(0.4), atol=1e-9)
    assert readings[-1].true_peak_dbtp == pytest.approx(peaks.true_peak_dbtp)


def test_fast_meter_encoding_is_the_generic_encoders():
    from plugin_bridge.meter import METER_ADDRESS, MeterEncoder
    from plugin_bridge.protocol import encode as osc_encode

    for ident in ("s1", "job-12345", "x" * 7, "é"):
        values = (12.3, -14.25, -13.5, -1.0001, 2.5, 1)
        assert MeterEncoder(ident)(values) == osc_encode(METER_ADDRESS, (ident, *values))
