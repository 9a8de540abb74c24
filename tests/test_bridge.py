"""The OSC bridge end to end: a real ``python -m plugin_bridge`` subprocess, real UDP on loopback.

One bridge (2 workers) serves most tests; the busy-queue and flood tests start their own. Audio is
generated with numpy into the tmp roots. The liblo test uses ``oscsend``/``oscdump`` as an
independent client (skipped only if the binaries are missing; ``.ci/run`` installs liblo-tools).
"""

from __future__ import annotations

import glob
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message import OscMessage
from pythonosc.osc_server import BlockingOSCUDPServer

from osc_bridge import REPO, START_TIMEOUT, BridgeProcess, Client, encode, free_udp_port


# --- helpers ------------------------------------------------------------------------------------
def make_wav(path: Path, seconds: float, *, sr: int = 44100, level: float = 0.1, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    tone = np.sin(2 * np.pi * 110 * t) + 0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 2500 * t)
    left = level * tone + 0.02 * rng.standard_normal(t.size)
    right = level * tone + 0.02 * rng.standard_normal(t.size)
    sf.write(path, np.stack([left, right]).T.astype(np.float32), sr, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    r = tmp_path_factory.mktemp("root")
    make_wav(r / "short.wav", 3.0, level=0.05)
    make_wav(r / "ref.wav", 3.0, level=0.2, seed=3)
    make_wav(r / "long.wav", 60.0, level=0.05, seed=1)
    (r / "out").mkdir()
    return r


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    o = tmp_path_factory.mktemp("outside")
    make_wav(o / "secret.wav", 1.0)
    return o


@pytest.fixture(scope="module")
def bridge(root, tmp_path_factory):
    b = BridgeProcess([root], workers=2, queue=4, log=tmp_path_factory.mktemp("logs") / "bridge.log")
    try:
        b.wait_ready()
        yield b
    finally:
        code = b.stop()
    assert code == 0, f"bridge did not stop cleanly (exit {code}):\n{b.log.read_text()[-3000:]}"
    assert "Traceback" not in b.log.read_text(), b.log.read_text()[-3000:]


@pytest.fixture
def client(bridge) -> Client:
    c = bridge.client
    c.take(lambda a, p: True)
    return c


def lufs(path: Path) -> float:
    data, sr = sf.read(path)
    return pyloudnorm.Meter(sr).integrated_loudness(data)


# --- basics ---------------------------------------------------------------------------------------
def test_help_is_fast():
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "plugin_bridge", "--help"], cwd=REPO, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0 and "--reply-port" in out.stdout
    assert time.perf_counter() - t < 3.0


def test_ping_pong(client):
    client.send("/mixai/ping")
    addr, args = client.reply("/mixai/pong")
    import plugin_bridge
    assert args == [plugin_bridge.__version__]


def test_status_is_json(client):
    st = client.status()
    assert st["state"] == "running" and st["workers"] == 2 and st["workers_ready"] == 2
    assert isinstance(st["jobs"], list) and set(st["defaults"]) == {
        "target_lufs", "ceiling_dbtp", "preset", "amount", "predictor"}


def test_analyze(client, root):
    client.send("/mixai/analyze", "an1", "short.wav")
    addr, args = client.job_result("an1")
    assert addr == "/mixai/analysis", args
    data = json.loads(args[1])
    assert data["path"] == str(root / "short.wav")
    assert data["loudness"]["integrated_lufs"] == pytest.approx(lufs(root / "short.wav"), abs=0.2)


def test_suggest_profile_preset_and_reference(client, root):
    from mixai.settings import Settings

    client.send("/mixai/suggest", "sg1", str(root / "short.wav"))
    addr, args = client.job_result("sg1")
    assert addr == "/mixai/settings", args
    s = Settings.from_json(args[1])
    assert s.output.target_lufs == -14.0  # the session's default preset (spotify)
    client.send("/mixai/suggest", "sg2", "short.wav", "apple")
    addr, args = client.job_result("sg2")
    assert addr == "/mixai/settings" and Settings.from_json(args[1]).output.target_lufs == -16.0
    client.send("/mixai/suggest", "sg3", "short.wav", "ref.wav")
    addr, args = client.job_result("sg3")
    assert addr == "/mixai/settings", args
    client.send("/mixai/suggest", "sg4", "short.wav", "no-such-profile")
    addr, args = client.job_result("sg4")
    assert addr == "/mixai/error" and "unknown target" in args[2]


def test_master_end_to_end_with_progress(client, root):
    out = root / "out" / "short.master.wav"
    client.send("/mixai/master", "m1", "short.wav", "out/short.master.wav",
                json.dumps({"target_lufs": -16.0, "ceiling_dbtp": -1.0}))
    addr, args = client.job_result("m1")
    assert addr == "/mixai/done", args
    assert args[1] == str(out)
    report = json.loads(args[2])
    assert report["after"]["integrated_lufs"] == pytest.approx(-16.0, abs=0.1)
    assert "summary" in report and "after" in report["summary"]
    progress = [p[1] for a, p in client.take(lambda a, p: a == "/mixai/progress" and p[0] == "m1")]
    assert progress and progress == sorted(progress) and progress[-1] == pytest.approx(1.0)
    assert all(0.0 <= f <= 1.0 for f in progress)
    assert out.is_file()
    assert lufs(out) == pytest.approx(-16.0, abs=0.2)
    # the same output again: exists -> refused by mixai, the file is untouched
    mtime = out.stat().st_mtime_ns
    client.send("/mixai/master", "m1b", "short.wav", "out/short.master.wav")
    addr, args = client.job_result("m1b")
    assert addr == "/mixai/error" and "exists" in args[2]
    assert out.stat().st_mtime_ns == mtime


def test_cancel_mid_render_leaves_no_output(client, root):
    out = root / "out" / "long.master.wav"
    client.send("/mixai/master", "c1", "long.wav", "out/long.master.wav")
    # wait until the chain has rendered (0.7) and the atomic writer's temporary file exists
    client.wait_for(lambda a, p: a == "/mixai/progress" and p[0] == "c1" and p[1] >= 0.69, timeout=30)
    deadline = time.monotonic() + 15
    while not glob.glob(str(root / "out" / ".long.master.wav.*.part*")):
        assert time.monotonic() < deadline, "the temporary output never appeared"
        time.sleep(0.002)
    client.send("/mixai/cancel", "c1")
    addr, args = client.job_result("c1", timeout=15)
    assert addr == "/mixai/cancelled", args
    assert not out.exists()
    assert glob.glob(str(root / "out" / ".long.master.wav.*")) == []
    client.send("/mixai/cancel", "c1")  # no longer active
    addr, args = client.reply("/mixai/error", "c1")
    assert "no active job" in args[2]
    assert client.ping()


def test_cancel_during_analysis(client, root):
    client.send("/mixai/master", "c2", "long.wav", "out/long2.master.wav")
    client.wait_for(lambda a, p: a == "/mixai/progress" and p[0] == "c2", timeout=30)
    client.send("/mixai/cancel", "c2")
    addr, args = client.job_result("c2", timeout=15)
    assert addr == "/mixai/cancelled", args
    assert not (root / "out" / "long2.master.wav").exists()
    assert glob.glob(str(root / "out" / ".long2.master.wav.*")) == []


def test_duplicate_active_id_is_an_error(client, root):
    client.send("/mixai/master", "dup", "long.wav", "out/dup.wav")
    client.send("/mixai/analyze", "dup", "short.wav")
    addr, args = client.reply("/mixai/error", "dup")
    assert "already active" in args[2]
    client.send("/mixai/cancel", "dup")
    addr, args = client.job_result("dup", timeout=20)
    assert addr == "/mixai/cancelled"
    assert not (root / "out" / "dup.wav").exists()


def test_path_escapes_are_refused(client, root, outside):
    link = root / "escape.wav"
    if not link.exists():
        link.symlink_to(outside / "secret.wav")
    dirlink = root / "outlink"
    if not dirlink.exists():
        dirlink.symlink_to(outside, target_is_directory=True)
    cases = [
        ("/mixai/analyze", ["p1", "../" + outside.name + "/secret.wav"]),
        ("/mixai/analyze", ["p2", str(outside / "secret.wav")]),
        ("/mixai/analyze", ["p3", "escape.wav"]),
        ("/mixai/suggest", ["p4", "short.wav", str(outside / "secret.wav")]),
        ("/mixai/master", ["p5", "short.wav", str(outside / "x.wav")]),
        ("/mixai/master", ["p6", "short.wav", "outlink/x.wav"]),
        ("/mixai/master", ["p7", "short.wav", "out/../../x.wav"]),
        ("/mixai/master", ["p8", "short.wav", "short.wav", '{"overwrite": true}']),
        ("/mixai/master", ["p9", "short.wav", "escape.wav", '{"overwrite": true}']),
        ("/mixai/master", ["p10", "short.wav", "out/x.mp3"]),
        ("/mixai/apply", ["p11", str(outside / "secret.wav"), "generic", 1]),
    ]
    for address, args in cases:
        client.send(address, *args)
        addr, reply = client.job_result(args[0])
        assert addr == "/mixai/error", (address, args, reply)
        assert reply[1] == address
    assert not list(outside.glob("x.*"))
    assert (outside / "secret.wav").stat().st_size > 0 and (root / "short.wav").is_file()
    assert client.ping()


def test_set_and_get_session_defaults(client, root):
    try:
        client.send("/mixai/get/target_lufs")
        assert client.reply("/mixai/get/target_lufs")[1] == [pytest.approx(-14.0)]
        client.send("/mixai/set/target_lufs", -18.0)
        assert client.reply("/mixai/set/target_lufs")[1] == [pytest.approx(-18.0)]
        client.send("/mixai/get/target_lufs")
        assert client.reply("/mixai/get/target_lufs")[1] == [pytest.approx(-18.0)]
        client.send("/mixai/set/preset", "ebu-r128")
        client.reply("/mixai/set/preset")
        client.send("/mixai/get/ceiling_dbtp")
        assert client.reply("/mixai/get/ceiling_dbtp")[1] == [pytest.approx(-1.0)]
        client.send("/mixai/set/amount", 0.5)
        client.reply("/mixai/set/amount")
        client.send("/mixai/set/predictor", "dsp")
        client.reply("/mixai/set/predictor")
        for address, value in (("/mixai/set/target_lufs", -100.0), ("/mixai/set/target_lufs", "loud"),
                               ("/mixai/set/amount", 2.0), ("/mixai/set/preset", "nope"),
                               ("/mixai/set/predictor", "magic"), ("/mixai/set/bogus", 1.0)):
            client.send(address, value)
            addr, args = client.reply("/mixai/error")
            assert args[1] == address
        client.send("/mixai/set/ceiling_dbtp")  # missing value
        assert client.reply("/mixai/error")[1][1] == "/mixai/set/ceiling_dbtp"
        # the session default reaches the jobs
        client.send("/mixai/suggest", "sd1", "short.wav")
        from mixai.settings import Settings
        s = Settings.from_json(client.job_result("sd1")[1][1])
        assert s.output.target_lufs == -18.0
        client.send("/mixai/status")
        st = json.loads(client.reply("/mixai/status")[1][0])
        assert st["defaults"] == {"target_lufs": -18.0, "ceiling_dbtp": -1.0, "preset": "ebu-r128",
                                  "amount": 0.5, "predictor": "dsp"}
    finally:
        for name, value in (("target_lufs", "preset"), ("preset", "spotify"), ("amount", 1.0),
                            ("predictor", "auto")):
            client.send(f"/mixai/set/{name}", value)
            client.reply(f"/mixai/set/{name}")
    client.send("/mixai/get/target_lufs")
    assert client.reply("/mixai/get/target_lufs")[1] == [pytest.approx(-14.0)]


def test_options_json_is_validated(client):
    for opts in ('{"target_lufs": "loud"}', '{"bogus": 1}', '{"bit_depth": 12}', "[1, 2]", "not json",
                 '{"overwrite": "yes"}', '{"target_lufs": -200}'):
        client.send("/mixai/master", "o1", "short.wav", "out/o1.wav", opts)
        addr, args = client.reply("/mixai/error", "o1")
        assert args[1] == "/mixai/master"


def test_malformed_requests_get_errors_and_server_survives(client):
    good = encode("/mixai/analyze", "t1", "short.wav")
    bad = [
        encode("/mixai/nope", 1),                      # unknown address
        encode("/elsewhere"),                          # unknown address
        encode("/mixai/analyze", "t2"),                # too few arguments
        encode("/mixai/analyze", "t3", 5),             # wrong type
        encode("/mixai/analyze", "t4", "short.wav", "extra"),  # too many
        encode("/mixai/analyze", "t5", "x" * 5000),    # over-long string
        encode("/mixai/cancel", 1.5),                  # bad id
        good[:-3],                                     # truncated
        good[:9],                                      # truncated inside the type tags
        b"/mixai/ping\x00,s\x00\x00\xc3\x28\x00\x00",  # non-UTF-8 string
        b"\x00\x01\x02garbage",                        # not OSC
        b"#bundle\x00" + b"\x00" * 8 + b"\x00\x00\x00\x40abc",  # bundle with a lying size
        os.urandom(64),
    ]
    for data in bad:
        client.send_raw(data)
        addr, args = client.reply("/mixai/error", timeout=5)
        assert len(args) == 3 and all(isinstance(a, str) for a in args)
    assert client.ping()


def test_bundle_is_unpacked(client):
    from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
    from pythonosc.osc_message_builder import OscMessageBuilder as MB

    bb = OscBundleBuilder(IMMEDIATELY)
    bb.add_content(MB(address="/mixai/ping").build())
    bb.add_content(MB(address="/mixai/get/amount").build())
    client.send_raw(bb.build().dgram)
    client.reply("/mixai/pong")
    assert client.reply("/mixai/get/amount")[1] == [pytest.approx(1.0)]


def test_mix_is_lazy(client, root):
    stems = root / "stems"
    stems.mkdir(exist_ok=True)
    make_wav(stems / "a.wav", 2.0, seed=5)
    make_wav(stems / "b.wav", 2.0, seed=6)
    client.send("/mixai/mix", "mx1", "stems", "out/mix.wav")
    addr, args = client.job_result("mx1", timeout=60)
    import importlib.util
    if importlib.util.find_spec("mixai.mix") is None:
        assert addr == "/mixai/error" and args[2] == "mix is not available"
    else:
        assert addr in ("/mixai/done", "/mixai/error")
        if addr == "/mixai/done":
            assert (root / "out" / "mix.wav").is_file()
    client.send("/mixai/mix", "mx2", "stems", "stems/a.wav", '{"overwrite": true}')  # output = a stem
    addr, args = client.job_result("mx2")
    assert addr == "/mixai/error"


def test_mix_refuses_a_stem_linking_outside(client, root, outside):
    import importlib.util
    if importlib.util.find_spec("mixai.mix") is None:
        pytest.skip("mixai.mix is not in this checkout")
    stems = root / "stems-escape"
    stems.mkdir(exist_ok=True)
    make_wav(stems / "a.wav", 2.0, seed=7)
    if not (stems / "b.wav").exists():
        (stems / "b.wav").symlink_to(outside / "secret.wav")
    client.send("/mixai/mix", "mx3", "stems-escape", "out/mix3.wav")
    addr, args = client.job_result("mx3", timeout=60)
    assert addr == "/mixai/error" and "outside the allowed roots" in args[2], args
    assert not (root / "out" / "mix3.wav").exists()


# --- the independent client: liblo's oscsend / oscdump -------------------------------------------------
def test_liblo_oscsend_and_oscdump(bridge, root):
    if not (shutil.which("oscsend") and shutil.which("oscdump")):
        pytest.skip("liblo-tools (oscsend, oscdump) not installed; .ci/run installs them")
    bridge.client.pause()
    dump = subprocess.Popen(["oscdump", "-L", str(bridge.reply_port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(dump.stdout.readline, "")), daemon=True)
        reader.start()
        send = ["oscsend", "127.0.0.1", str(bridge.port)]
        subprocess.run(send + ["/mixai/ping"], check=True, timeout=10)
        subprocess.run(send + ["/mixai/suggest", "ss", "liblo1", str(root / "short.wav")], check=True, timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("/mixai/settings" in ln for ln in lines):
            time.sleep(0.1)
    finally:
        dump.terminate()
        dump.wait(5)
        bridge.client.resume()
    pong = [ln for ln in lines if "/mixai/pong" in ln]
    settings = [ln for ln in lines if "/mixai/settings" in ln]
    assert pong and '"0.1.0"' in pong[0], lines
    assert settings and '"liblo1"' in settings[0] and "schema_version" in settings[0], lines


# --- DAW adapters over UDP -----------------------------------------------------------------------
class FakeDaw:
    """A python-osc server on loopback that records every message it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list]] = []
        d = Dispatcher()
        d.set_default_handler(lambda address, *args: self.received.append((address, list(args))))
        self.server = BlockingOSCUDPServer(("127.0.0.1", 0), d)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def wait(self, count: int, timeout: float = 10.0) -> list[tuple[str, list]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)  # nothing extra may follow
        return self.received

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_daw():
    d = FakeDaw()
    yield d
    d.close()


KNOWN_SETTINGS = {
    "schema_version": 1,
    "eq": {"highpass_hz": 40.0, "low_shelf": {"freq_hz": 100.0, "gain_db": 3.0},
           "low_mid": {"freq_hz": 250.0, "gain_db": -2.0, "q": 1.0},
           "mid": {"freq_hz": 1000.0, "gain_db": 1.5, "q": 2.0},
           "high_mid": {"freq_hz": 4000.0, "gain_db": -1.0, "q": 0.5},
           "high_shelf": {"freq_hz": 8000.0, "gain_db": 2.0}},
    "compressor": {"threshold_db": -18.0, "ratio": 2.0, "attack_ms": 10.0, "release_ms": 200.0},
    "stereo": {"width": 1.2}, "reverb": {"wet": 0.1, "room_size": 0.4, "damping": 0.5},
    "output": {"target_lufs": -14.0, "ceiling_dbtp": -1.0, "limiter_release_ms": 80.0},
}


def _octaves(q: float) -> float:
    return 2 / math.log(2) * math.asinh(1 / (2 * q))


def _assert_messages(got, expected):
    assert [a for a, _ in got] == [a for a, _ in expected]
    for (ga, gv), (ea, ev) in zip(got, expected):
        assert len(gv) == len(ev), ga
        for g, e in zip(gv, ev):
            if isinstance(e, int):
                assert g == e and isinstance(g, int), (ga, gv, ev)
            else:
                assert g == pytest.approx(e, rel=1e-5, abs=1e-6), (ga, gv, ev)


def _apply(client, root, fake_daw, ident, daw, track, options=None, path="known.json"):
    (root / "known.json").write_text(json.dumps(KNOWN_SETTINGS))
    args = [ident, path, daw, track, "127.0.0.1", fake_daw.port]
    if options is not None:
        args.append(json.dumps(options))
    client.send("/mixai/apply", *args)
    addr, reply = client.job_result(ident)
    assert addr == "/mixai/applied", reply
    info = json.loads(reply[1])
    return info, fake_daw.wait(info["messages"])


def test_apply_generic_exact_messages(client, root, fake_daw):
    info, got = _apply(client, root, fake_daw, "ap-g", "generic", 1)
    s = KNOWN_SETTINGS
    expected = [("/mixai/param/eq/highpass_hz", [40.0]),
                ("/mixai/param/eq/low_shelf/freq_hz", [100.0]), ("/mixai/param/eq/low_shelf/gain_db", [3.0])]
    for band in ("low_mid", "mid", "high_mid"):
        expected += [(f"/mixai/param/eq/{band}/{k}", [s["eq"][band][k]]) for k in ("freq_hz", "gain_db", "q")]
    expected += [("/mixai/param/eq/high_shelf/freq_hz", [8000.0]), ("/mixai/param/eq/high_shelf/gain_db", [2.0])]
    for section in ("compressor", "stereo", "reverb", "output"):
        expected += [(f"/mixai/param/{section}/{k}", [v]) for k, v in s[section].items()]
    assert info["messages"] == len(expected) == 25
    _assert_messages(got, expected)


def test_apply_reaper_fxparam_exact_messages(client, root, fake_daw):
    info, got = _apply(client, root, fake_daw, "ap-r", "reaper", 3, {"input_lufs": -14.0, "mode": "fxparam"})
    f = lambda hz: math.log(hz / 20) / math.log(1200)  # noqa: E731
    g = lambda db: (db + 24) / 48  # noqa: E731
    bw = lambda q: _octaves(q) / 4  # noqa: E731
    eq = KNOWN_SETTINGS["eq"]
    p = "/track/3/fx/1/fxparam"
    expected = [(f"{p}/1/value", [f(40)]), (f"{p}/3/value", [bw(0.7071067690849304)]),
                (f"{p}/4/value", [f(100)]), (f"{p}/5/value", [g(3)]), (f"{p}/6/value", [bw(0.7071067690849304)])]
    for k, band in zip((7, 10, 13), ("low_mid", "mid", "high_mid")):
        b = eq[band]
        expected += [(f"{p}/{k}/value", [f(b["freq_hz"])]), (f"{p}/{k + 1}/value", [g(b["gain_db"])]),
                     (f"{p}/{k + 2}/value", [bw(b["q"])])]
    expected += [(f"{p}/16/value", [f(8000)]), (f"{p}/17/value", [g(2)]), (f"{p}/18/value", [bw(0.7071067690849304)])]
    c = "/track/3/fx/2/fxparam"
    # threshold -18 dB in the -20 LUFS chain; the track sits at -14 LUFS -> -12 dBFS on the track
    expected += [(f"{c}/1/value", [10 ** (-12 / 20)]), (f"{c}/2/value", [0.5]),
                 (f"{c}/3/value", [10 / 500]), (f"{c}/4/value", [200 / 5000])]
    _assert_messages(got, expected)


def test_apply_reaper_fxeq_physical_units(client, root, fake_daw):
    info, got = _apply(client, root, fake_daw, "ap-rq", "reaper", 2, {"mode": "fxeq", "comp_fx": 4})
    eq = KNOWN_SETTINGS["eq"]
    c = "/track/2/fx/4/fxparam"
    expected = [(f"{c}/1/value", [10 ** (-18 / 20)]), (f"{c}/2/value", [0.5]),
                (f"{c}/3/value", [0.02]), (f"{c}/4/value", [0.04]),
                ("/track/2/fxeq/hipass/freq/hz", [40.0]),
                ("/track/2/fxeq/loshelf/freq/hz", [100.0]), ("/track/2/fxeq/loshelf/gain/db", [3.0])]
    for i, band in enumerate(("low_mid", "mid", "high_mid")):
        b = eq[band]
        expected += [(f"/track/2/fxeq/band/{i}/freq/hz", [b["freq_hz"]]),
                     (f"/track/2/fxeq/band/{i}/gain/db", [b["gain_db"]]),
                     (f"/track/2/fxeq/band/{i}/q/oct", [_octaves(b["q"])])]
    expected += [("/track/2/fxeq/hishelf/freq/hz", [8000.0]), ("/track/2/fxeq/hishelf/gain/db", [2.0])]
    _assert_messages(got, expected)


def test_apply_ardour_exact_messages(client, root, fake_daw):
    info, got = _apply(client, root, fake_daw, "ap-a", "ardour", 5,
                       {"eq_plugin": 2, "comp_plugin": 3, "session_rate_hz": 44100})
    eq = KNOWN_SETTINGS["eq"]
    a = "/strip/plugin/parameter"

    def shelf(hz, db, high):  # a-EQ's shelf frequency for a cookbook shelf (see tests/test_daw_ardour.py)
        w = math.tan(math.pi * hz / 44100) * 10 ** ((db if high else -db) / 80)
        return 44100 / math.pi * math.atan(w)

    expected = [(a, [5, 2, 1, shelf(100.0, 3.0, False)]), (a, [5, 2, 2, 3.0])]
    for i, band in enumerate(("low_mid", "mid", "high_mid")):
        b = eq[band]
        expected += [(a, [5, 2, 3 + 3 * i, b["freq_hz"]]), (a, [5, 2, 4 + 3 * i, b["gain_db"]]),
                     (a, [5, 2, 5 + 3 * i, _octaves(b["q"])])]
    expected += [(a, [5, 2, 13, 0.0]), (a, [5, 2, 15, shelf(8000.0, 2.0, True)]), (a, [5, 2, 16, 2.0]),
                 (a, [5, 2, 17, 0.0])]
    expected += [(a, [5, 2, n, v]) for n, v in ((18, 1.0), (19, 1.0), (20, 1.0), (21, 1.0), (22, 0.0), (23, 1.0))]
    # a-Comp: times divided by 2 pi (mixai's compressor's time constants), knee 0, ratio, threshold,
    # makeup 0, sidechain off (parameter 10: Ardour numbers the three meter outputs 7-9 too)
    expected += [(a, [5, 3, 1, 10.0 / (2 * math.pi)]), (a, [5, 3, 2, 200.0 / (2 * math.pi)]), (a, [5, 3, 3, 0.0]),
                 (a, [5, 3, 4, 2.0]), (a, [5, 3, 5, -18.0]), (a, [5, 3, 6, 0.0]), (a, [5, 3, 10, 0.0])]
    _assert_messages(got, expected)


def test_apply_suggested_settings(client, root, fake_daw):
    from mixai.settings import Settings
    from plugin_bridge.daw import generic

    client.send("/mixai/apply", "ap-s", "short.wav", "generic", 1, "127.0.0.1", fake_daw.port)
    addr, reply = client.job_result("ap-s")
    assert addr == "/mixai/applied", reply
    info = json.loads(reply[1])
    assert 0.0 < info["model_trust"] <= 1.0  # the default predictor is the ONNX model
    got = fake_daw.wait(info["messages"])
    expected = generic.messages(Settings.from_dict(info["settings"]), input_lufs=info["input_lufs"])
    _assert_messages(got, expected)
    assert got[-1][0] == "/mixai/param/input_lufs"


def test_apply_refuses_remote_daw_and_bad_arguments(client, root):
    (root / "known.json").write_text(json.dumps(KNOWN_SETTINGS))
    for args in (["ar1", "known.json", "reaper", 1, "10.1.2.3", 8000],
                 ["ar2", "known.json", "cubase", 1],
                 ["ar3", "known.json", "reaper", "one"],
                 ["ar4", "known.json", "reaper", 1, "127.0.0.1", 70000],
                 ["ar5", "known.json", "reaper", 1, '{"eq_fx": "x"}'],
                 ["ar6", "known.json", "ardour", 1, '{"mode": "fxeq"}'],
                 ["ar7", "known.json", "reaper", 1, "example.com", 8000]):
        client.send("/mixai/apply", *args)
        addr, reply = client.job_result(args[0])
        assert addr == "/mixai/error", (args, reply)


# --- a bridge of its own: queue limits -----------------------------------------------------------
def test_busy_when_queue_is_full(root, tmp_path):
    b = BridgeProcess([root], workers=1, queue=1, extra=["--no-warm"], log=tmp_path / "busy.log")
    try:
        b.wait_ready()
        c = b.client
        c.send("/mixai/master", "b1", "long.wav", "out/b1.wav")   # runs
        c.send("/mixai/master", "b2", "long.wav", "out/b2.wav")   # waits
        c.send("/mixai/master", "b3", "long.wav", "out/b3.wav")   # no room
        addr, args = c.job_result("b3")
        assert addr == "/mixai/error" and args[2].startswith("busy")
        st = c.status()
        assert st["running"] == 1 and st["queued"] == 1
        c.send("/mixai/cancel", "b2")  # queued: cancelled at once
        assert c.job_result("b2")[0] == "/mixai/cancelled"
        assert c.ping()
        # SIGTERM while b1 runs: a clean exit, and no output or temporary file left behind
        c.wait_for(lambda a, p: a == "/mixai/progress" and p[0] == "b1", timeout=30)
        b.proc.terminate()
        assert b.proc.wait(20) == 0
        assert not list((root / "out").glob("b[123].wav"))
        assert not list((root / "out").glob(".b1.wav.*"))
    finally:
        assert b.stop() == 0


# --- flood ---------------------------------------------------------------------------------------------
def test_flood_of_mixed_packets(tmp_path):
    root = tmp_path / "flood"
    root.mkdir()
    for i in range(4):
        make_wav(root / f"tiny{i}.wav", 1.0, sr=22050, seed=i)
    b = BridgeProcess([root], workers=2, queue=64, log=tmp_path / "flood.log", extra=["--log-level", "info"])
    rng = random.Random(1234)
    try:
        b.wait_ready()
        c = b.client
        job_ids: list[str] = []
        good = encode("/mixai/suggest", "x", "tiny0.wav")
        for i in range(3000):
            r = rng.random()
            if r < 0.03:
                ident = f"J:{i}"
                job_ids.append(ident)
                kind = rng.choice(["/mixai/analyze", "/mixai/suggest"])
                c.send(kind, ident, f"tiny{rng.randrange(4)}.wav")
            elif r < 0.25:
                c.send("/mixai/ping")
            elif r < 0.45:
                c.send_raw(os.urandom(rng.randrange(1, 200)))
            elif r < 0.6:
                c.send_raw(good[: rng.randrange(1, len(good))])
            elif r < 0.75:
                c.send(rng.choice(["/mixai/analyze", "/mixai/master", "/mixai/cancel", "/mixai/set/amount",
                                   "/mixai/get/preset", "/mixai/nope"]),
                       *rng.choice([[1.5], ["a", 2], [b"blob"], [], ["x" * 5000], [True, None]]))
            elif r < 0.9:
                data = bytearray(good)
                for _ in range(3):
                    data[rng.randrange(len(data))] = rng.randrange(256)
                c.send_raw(bytes(data))
            else:
                c.send("/mixai/status")
            if i % 20 == 19:
                time.sleep(0.005)
        assert c.ping(timeout=10), "bridge stopped answering after the flood"
        # every accepted job finishes: each id gets exactly one final reply
        finals = {}
        deadline = time.monotonic() + 30
        while len(finals) < len(job_ids) and time.monotonic() < deadline:
            for addr, args in c.take(lambda a, p: a in ("/mixai/analysis", "/mixai/settings", "/mixai/error")
                                     and p and isinstance(p[0], str) and p[0].startswith("J:")):
                assert args[0] not in finals, f"two final replies for {args[0]}"
                finals[args[0]] = addr
            time.sleep(0.1)
        assert set(finals) == set(job_ids)
        accepted = [j for j in job_ids if finals[j] != "/mixai/error"]
        assert accepted
        st = c.status()
        assert st["running"] == 0 and st["queued"] == 0 and st["jobs"] == []
        assert st["completed"] >= len(accepted)  # mutated copies of a valid request may run too
    finally:
        code = b.stop()
    assert code == 0
    assert "Traceback" not in b.log.read_text()


# --- the examples ------------------------------------------------------------------------------------
def test_example_python_client(bridge, root):
    bridge.client.pause()
    try:
        out = subprocess.run([sys.executable, str(REPO / "examples" / "osc_client.py"), "short.wav",
                              "out/example-client.wav", "--port", str(bridge.port), "--reply-port",
                              str(bridge.reply_port), "--target-lufs", "-15", "--timeout", "60"],
                             capture_output=True, text=True, timeout=90, cwd=REPO)
    finally:
        bridge.client.resume()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "mixai-bridge 0.1.0" in out.stdout and "suggested:" in out.stdout and "100.0 %" in out.stdout
    assert (root / "out" / "example-client.wav").is_file()


def test_example_reascript_with_fake_reaper(bridge, root, fake_daw):
    """Run the ReaScript with stand-ins for Reaper's API; the fake DAW plays Reaper's OSC port."""
    console: list[str] = []
    api = {
        "RPR_CountSelectedTracks": lambda proj: 1,
        "RPR_GetSelectedTrack": lambda proj, i: "track",
        "RPR_GetMediaTrackInfo_Value": lambda tr, key: 4.0,
        "RPR_CountTrackMediaItems": lambda tr: 1,
        "RPR_GetTrackMediaItem": lambda tr, i: "item",
        "RPR_GetActiveTake": lambda item: "take",
        "RPR_GetMediaItemTake_Source": lambda take: "source",
        "RPR_GetMediaSourceFileName": lambda src, buf, size: (src, str(root / "short.wav"), size),
        "RPR_ShowConsoleMsg": console.append,
        "RPR_ShowMessageBox": lambda msg, title, kind: console.append("BOX " + msg),
    }
    code = (REPO / "examples" / "reaper" / "mixai_suggest_selected.py").read_text()
    code = code.replace("BRIDGE = (\"127.0.0.1\", 9000)", f"BRIDGE = (\"127.0.0.1\", {bridge.port})")
    code = code.replace("REPLY_PORT = 9001", f"REPLY_PORT = {bridge.reply_port}")
    code = code.replace("REAPER_OSC_PORT = 8000", f"REAPER_OSC_PORT = {fake_daw.port}")
    bridge.client.pause()
    try:
        exec(compile(code, "mixai_suggest_selected.py", "exec"), dict(api, __name__="reascript"))
    finally:
        bridge.client.resume()
    assert any("applied 21 parameters" in line for line in console), console
    got = fake_daw.wait(21)
    assert len(got) == 21 and all(a.startswith("/track/4/fx/") for a, _ in got)


def test_reply_port_zero_answers_the_source_port(root, tmp_path):
    port = free_udp_port()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    log = tmp_path / "bridge.log"
    with open(log, "w") as log_fh:  # a file, not a pipe nobody reads while the bridge runs
        proc = subprocess.Popen([sys.executable, "-m", "plugin_bridge", "--port", str(port), "--reply-port", "0",
                                 "--root", str(root), "--workers", "1", "--no-warm"], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=log_fh)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                s.sendto(encode("/mixai/ping"), ("127.0.0.1", port))
                try:
                    data, _ = s.recvfrom(65535)
                    break
                except socket.timeout:
                    assert time.monotonic() < deadline and proc.poll() is None
            assert OscMessage(data).address == "/mixai/pong"
    finally:
        proc.terminate()
        try:
            code = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()  # no bridge left behind, whatever the outcome
            proc.wait()
            raise AssertionError(f"bridge did not exit within 15 s of SIGTERM:\n{log.read_text()}")
    assert code == 0, log.read_text()
