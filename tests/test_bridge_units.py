"""Unit tests of the bridge's pieces: root confinement, option lists, DAW adapters (no UDP)."""

from __future__ import annotations

import dataclasses
import math
import os

import pytest

from plugin_bridge.paths import PathRefused, Roots


@pytest.fixture
def tree(tmp_path):
    root, other = tmp_path / "root", tmp_path / "other"
    (root / "sub").mkdir(parents=True)
    other.mkdir()
    (root / "a.wav").write_bytes(b"RIFF")
    (other / "secret.wav").write_bytes(b"RIFF")
    (root / "link.wav").symlink_to(other / "secret.wav")
    (root / "inlink.wav").symlink_to(root / "a.wav")
    (root / "dirlink").symlink_to(other, target_is_directory=True)
    return root, other


def test_inputs_are_confined(tree):
    root, other = tree
    roots = Roots([root])
    assert roots.input_file("a.wav") == str(root / "a.wav")
    assert roots.input_file(str(root / "sub" / ".." / "a.wav")) == str(root / "a.wav")
    assert roots.input_file("inlink.wav") == str(root / "a.wav")  # a link that stays inside is fine
    for bad in ("../other/secret.wav", str(other / "secret.wav"), "link.wav", "dirlink/secret.wav",
                "sub/../../other/secret.wav", "/etc/passwd", "", "a\x00.wav", "x" * 5000):
        with pytest.raises(PathRefused):
            roots.input_file(bad)
    with pytest.raises(PathRefused, match="no such file"):
        roots.input_file("missing.wav")
    assert roots.input_dir("sub") == str(root / "sub")
    with pytest.raises(PathRefused):
        roots.input_dir("dirlink")


def test_outputs_are_confined(tree):
    root, other = tree
    roots = Roots([root])
    assert roots.output_file("sub/out.wav") == str(root / "sub" / "out.wav")
    a = roots.input_file("a.wav")
    for bad in ("../other/x.wav", str(other / "x.wav"), "dirlink/x.wav", "link.wav", "sub",
                "missing/x.wav", "x.mp3", "sub/.."):
        with pytest.raises(PathRefused):
            roots.output_file(bad, inputs=[a])
    with pytest.raises(PathRefused, match="input"):
        roots.output_file("a.wav", inputs=[a])
    with pytest.raises(PathRefused, match="symbolic link"):
        roots.output_file("inlink.wav", inputs=[a])


def test_several_roots(tree, tmp_path):
    root, other = tree
    roots = Roots([root, other])
    assert roots.input_file(str(other / "secret.wav")) == str(other / "secret.wav")
    assert roots.input_file("link.wav") == str(other / "secret.wav")
    with pytest.raises(ValueError):
        Roots([tmp_path / "missing"])


def test_master_option_fields_match_mixai():
    from mixai.master.options import MasterOptions

    from plugin_bridge.handlers import MASTER_OPTION_FIELDS

    assert tuple(f.name for f in dataclasses.fields(MasterOptions)) == MASTER_OPTION_FIELDS


def test_server_process_stays_light():
    """Importing the server side must not pull in librosa, pedalboard or the mastering pipeline."""
    import subprocess
    import sys

    code = ("import sys, plugin_bridge.server, plugin_bridge.handlers, plugin_bridge.__main__;"
            "bad=[m for m in ('librosa','pedalboard','mixai.pipeline','mixai.master.pipeline','numba','scipy')"
            " if m in sys.modules];"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_stop_request_survives_signals_at_any_moment():
    """Ctrl-C or SIGTERM must stop the bridge whatever its main thread is doing.

    The bridge once set a ``threading.Event`` from its signal handler while the main thread waited
    on that event; a signal handled while the main thread held the event's lock deadlocked it (seen
    as a bridge that never exited after SIGTERM). Here a handler requests the stop while the main
    thread busy-polls (``poll_s=0``: it spends its time in ``wait``, where a lock-based flag would be
    held) and another thread delivers the signal at random moments, 200 times, in a subprocess
    so that a hang fails by timeout. An Event-based flag in the same harness hangs within seconds.
    """
    import subprocess
    import sys

    code = """
import random, signal, threading
from plugin_bridge.server import StopRequest
rng = random.Random(0)
for trial in range(200):
    stop = StopRequest(poll_s=0)
    signal.signal(signal.SIGINT, lambda signum, frame: stop.request(signum))
    threading.Timer(rng.uniform(0, 0.005),
                    lambda: signal.pthread_kill(threading.get_ident(), signal.SIGINT)).start()
    assert stop.wait() == signal.SIGINT
print(trial + 1)
"""
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    except subprocess.TimeoutExpired:
        pytest.fail("a stop requested from a signal handler did not end the wait (deadlock)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "200"


def test_adapters_neutral_settings():
    from mixai.settings import Settings

    from plugin_bridge.daw import ardour, check_options, generic, get_adapter, reaper

    s = Settings()
    g = generic.messages(s)
    assert len(g) == 25 and g[0] == ("/mixai/param/eq/highpass_hz", [10.0])
    r = reaper.messages(s, track=1, options={"mode": "fxparam"})
    assert all(0.0 <= v[0] <= 1.0 for _, v in r)
    assert ("/track/1/fx/2/fxparam/2/value", [0.0]) in r  # ratio 1:1
    a = ardour.messages(s, track=1, input_lufs=-30.0)
    thr = [v for _, v in a if v[1] == 2 and v[2] == 5]
    assert thr == [[1, 2, 5, -10.0]]  # 0 dB in the chain, track 10 dB below the reference
    assert get_adapter("reaper") is reaper
    with pytest.raises(ValueError):
        get_adapter("protools")
    with pytest.raises(ValueError):
        check_options(reaper, {"mode": "bogus"})
    with pytest.raises(ValueError):
        check_options(ardour, {"eq_fx": 1})
    assert check_options(reaper, {"eq_fx": 3.0})["eq_fx"] == 3


def test_q_to_octaves_round_trip():
    from plugin_bridge.daw import q_to_octaves

    assert q_to_octaves(math.sqrt(2)) == pytest.approx(1.0, rel=1e-6)  # Q 1.414 = 1 octave
    assert q_to_octaves(0.7071067811865476) == pytest.approx(1.8999, abs=1e-3)


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_puredata_patch_is_consistent():
    """The Pd example: well-formed object/connection records, and every address it builds exists."""

    text = open(os.path.join(REPO, "examples", "puredata", "mixai.pd"), encoding="utf-8").read()
    records = [r.strip() for r in text.split(";\n") if r.strip()]
    assert records[0].startswith("#N canvas")
    boxes = [r for r in records[1:] if not r.startswith("#X connect")]
    for r in records[1:]:
        if r.startswith("#X connect"):
            src, _, dst, _ = map(int, r.split()[2:6])
            assert src < len(boxes) and dst < len(boxes), r
    objects = [b.split()[4:] for b in boxes if b.startswith("#X obj")]
    assert ["netsend", "-u", "-b"] in objects and ["oscparse"] in objects
    assert ["netreceive", "-u", "-b", "9001"] in objects
    routes = {"/mixai/ping", "/mixai/status", "/mixai/analyze", "/mixai/suggest", "/mixai/master",
              "/mixai/mix", "/mixai/apply", "/mixai/cancel"}
    built = ["/" + "/".join(o[1:]) for o in objects if o[0] == "oscformat"]
    assert built
    for address in built:
        assert address in routes or address.startswith(("/mixai/set/", "/mixai/get/")), address


def test_reaper_pattern_file_covers_the_adapter():
    """Every address the Reaper adapter sends matches a pattern in examples/reaper/mixai.ReaperOSC."""
    import re

    from mixai.settings import Settings

    from plugin_bridge.daw import reaper

    patterns = []
    for line in open(os.path.join(REPO, "examples", "reaper", "mixai.ReaperOSC"), encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if not line or not line.startswith(("FX_", "TRACK_")):
            continue
        for token in line.split()[1:]:
            kind, _, address = token.partition("/")
            patterns.append((kind, re.compile("^/" + re.escape(address).replace("@", r"\d+") + "$")))
    for mode in ("fxparam", "fxeq", "both"):
        for address, _ in reaper.messages(Settings(), track=2, options={"mode": mode}):
            kinds = {k for k, rx in patterns if rx.match(address)}
            assert kinds, address
            assert ("n" in kinds) if "/fxparam/" in address else ("f" in kinds), (address, kinds)
