"""The Pure Data example (examples/puredata/mixai.pd) in real Pd, against a real bridge.

``pd -nogui`` opens a temporary copy of the example patch and tests/pd/drive_mixai.pd, which bangs
the example's ``[r mixai-...]`` receivers, so the example's own message boxes, ``oscformat`` /
``netsend`` and ``netreceive`` / ``oscparse`` / ``route`` chains carry every request and reply.
The replies are read back from what the example's ``[print mixai-...]`` objects write to stderr.

Ports: the example hard-codes 9000 (requests), 9001 (replies) and 9002 (``/mixai/apply ... generic``
parameters), which a developer's own bridge or other tests could hold. The bridge
(``osc_bridge.BridgeProcess``, shared with the other OSC tests) takes two free loopback ports and
releases the reply port for Pd once it answers; the test picks a third free port and rewrites
exactly those four numbers in a temporary copy of the patch (asserting each rewrite happened
once), so the example stays a plain, clickable patch. The copy also gets two
``[print pdtest-...]`` objects on the outlets of the example's progress and low-shelf number boxes
(unconnected in the example), whose values are otherwise invisible without a GUI.

Skipped when Pure Data is not installed (``scripts/install-system-deps.sh`` installs puredata-core).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pyloudnorm
import pytest
import soundfile as sf

import material
from osc_bridge import REPO, BridgeProcess, free_udp_port

EXAMPLE = REPO / "examples" / "puredata" / "mixai.pd"
DRIVER = REPO / "tests" / "pd" / "drive_mixai.pd"
TARGET_LUFS = -16.0  # what the driver puts into the example's target number box (the preset says -14)
PD = shutil.which("pd") or shutil.which("puredata")

pytestmark = pytest.mark.skipif(PD is None, reason="Pure Data (pd) is not on PATH; "
                                "scripts/install-system-deps.sh installs puredata-core")


def patch_copy(dest: Path, port: int, reply_port: int, param_port: int) -> Path:
    """The example with its ports replaced, plus print taps on the two number boxes' inputs."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in ((" connect localhost 9000;", f" connect localhost {port};"),
                     (" netreceive -u -b 9001;", f" netreceive -u -b {reply_port};"),
                     (" netreceive -u -b 9002;", f" netreceive -u -b {param_port};"),
                     (" generic 0 127.0.0.1 9002;", f" generic 0 127.0.0.1 {param_port};")):
        assert text.count(old) == 1, f"the example patch no longer has exactly one {old.strip()!r}"
        text = text.replace(old, new)
    records = [r.strip() for r in text.split(";\n") if r.strip()]
    boxes = [r for r in records[1:] if r.startswith("#X ") and not r.startswith(("#X connect", "#X coords"))]
    index = {r.split(" ", 4)[-1]: i for i, r in enumerate(boxes) if r.startswith("#X obj")}
    wires = [tuple(map(int, r.split()[2:6])) for r in records if r.startswith("#X connect")]

    def number_box_fed_by(source: str) -> int:
        boxes_fed = {dst for src, _, dst, _ in wires
                     if src == index[source] and boxes[dst].startswith("#X floatatom")}
        assert len(boxes_fed) == 1, f"[{source}] should feed one number box, feeds {boxes_fed}"
        return boxes_fed.pop()

    progress, gain = number_box_fed_by("unpack s f"), number_box_fed_by("route gain_db")
    n = len(boxes)
    text = text.rstrip("\n") + "\n" + "".join([  # a number box outputs what it displays
        "#X obj 1000 800 print pdtest-progress;\n",
        "#X obj 1000 700 print pdtest-low-shelf-gain;\n",
        f"#X connect {progress} 0 {n} 0;\n",
        f"#X connect {gain} 0 {n + 1} 0;\n",
    ])
    dest.write_text(text, encoding="utf-8")
    return dest


def pd_unescape(s: str) -> str:
    r"""Pd's print escapes commas, semicolons, dollars and backslashes in symbols (``\,``)."""
    return re.sub(r"\\(.)", r"\1", s)


class Lines:
    """Collects a process's output lines in a thread; wait() for a predicate over all of them."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for line in iter(stream.readline, ""):
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait(self, pred, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self.lines):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    def prefixed(self, prefix: str) -> list[str]:
        with self.cond:
            return [ln[len(prefix):] for ln in self.lines if ln.startswith(prefix)]


def test_example_patch_in_real_pd(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    song = material.write(root / "song.wav", material.band_loop(4.0), subtype="PCM_16")
    out = root / "song.master.wav"
    driver_text = DRIVER.read_text(encoding="utf-8")
    assert f"mixai-target {TARGET_LUFS:g} " in driver_text

    bridge = BridgeProcess([root], workers=1, queue=4, log=tmp_path / "bridge.log")
    pd = lines = None
    try:
        bridge.wait_ready()
        bridge.release_reply_port()  # Pd's [netreceive] binds it
        port, reply_port = bridge.port, bridge.reply_port
        param_port = free_udp_port()
        while param_port in (port, reply_port):
            param_port = free_udp_port()
        patch = patch_copy(tmp_path / "mixai.pd", port, reply_port, param_port)
        pd = subprocess.Popen([PD, "-nogui", "-noaudio", "-nomidi", "-stderr", "-open", str(patch),
                               "-open", str(DRIVER)], cwd=tmp_path, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        lines = Lines(pd.stdout)

        def finished(ls: list[str]) -> bool:
            applied = [ln for ln in ls if ln.startswith("mixai-other: pd-apply-1 ")]
            if not applied or not any(ln.startswith("mixai-done: ") for ln in ls):
                return False
            m = re.search(r'"messages"\\?:(\d+)', applied[0])
            return m is not None and sum(ln.startswith("mixai-param: ") for ln in ls) >= int(m.group(1))

        complete = lines.wait(finished, timeout=30.0)
        time.sleep(0.3)  # anything that should not be there has a moment to arrive
    finally:
        if pd is not None:
            pd.terminate()
            try:
                pd.wait(5)
            except subprocess.TimeoutExpired:
                pd.kill()
                pd.wait()
        code = bridge.stop()
    output = "\n".join(lines.lines)
    assert complete, f"Pd did not print every expected reply within 30 s:\n{output}\n--- bridge:\n{bridge.log.read_text()}"

    # Pd itself: the patches loaded cleanly (no "couldn't create", no errors or warnings)
    pd_own = [ln for ln in lines.lines if not ln.startswith(("mixai-", "pdtest-"))]
    assert not [ln for ln in pd_own if re.search(r"error|couldn't|no such|warning|bad ", ln, re.I)], output

    # connect / ping / set
    assert lines.prefixed("mixai-connected: ")[:1] == ["1"], output
    import plugin_bridge
    assert lines.prefixed("mixai-pong: ") == [plugin_bridge.__version__], output
    assert lines.prefixed("mixai-other: target_lufs ") == [f"{TARGET_LUFS:g}"], output

    # the early cancel (no such job yet) came back through the error route, with its id and address
    errors = lines.prefixed("mixai-error: ")
    assert len(errors) == 1 and errors[0].startswith("pd-master-1 /mixai/cancel "), output

    # /mixai/status, sent after the set: the session target is the one the number box sent
    status = [s for s in lines.prefixed("mixai-other: ") if s.startswith('{"version":')]
    assert len(status) == 1 and '"state":"running"' in status[0], output
    assert f'"defaults":{{"target_lufs":{TARGET_LUFS}' in status[0], status

    # /mixai/suggest: a full settings file (well under Pd's 999-character string limit)
    settings_lines = lines.prefixed("mixai-settings: pd-suggest-1 ")
    assert len(settings_lines) == 1, output
    settings = json.loads(pd_unescape(settings_lines[0]))
    assert settings["schema_version"] == 1
    assert settings["output"]["target_lufs"] == TARGET_LUFS

    # /mixai/master: progress reached the number box, done names the file, the file is at the target
    progress = [float(v) for v in lines.prefixed("pdtest-progress: ")]
    assert progress and progress == sorted(progress) and progress[-1] == pytest.approx(1.0), progress
    assert all(0.0 <= p <= 1.0 for p in progress), progress
    done = lines.prefixed("mixai-done: pd-master-1 ")
    assert len(done) == 1, output
    path, _, summary = done[0].partition(" ")
    assert pd_unescape(path) == str(out)
    assert pd_unescape(summary).startswith('{"input":' + json.dumps(str(song)))
    assert out.is_file()
    data, sr = sf.read(out)
    assert pyloudnorm.Meter(sr).integrated_loudness(data) == pytest.approx(TARGET_LUFS, abs=0.3)

    # /mixai/apply ... generic: one /mixai/param message per setting arrived on the parameter port
    applied = lines.prefixed("mixai-other: pd-apply-1 ")
    assert len(applied) == 1, output
    count = int(re.search(r'"messages"\\?:(\d+)', applied[0]).group(1))
    params = lines.prefixed("mixai-param: ")
    assert count >= 25 and len(params) == count, params
    by_name = {" ".join(p.split()[:-1]): float(p.split()[-1]) for p in params}
    assert by_name["output target_lufs"] == TARGET_LUFS
    gain = lines.prefixed("pdtest-low-shelf-gain: ")
    assert len(gain) == 1, output
    assert float(gain[0]) == pytest.approx(settings["eq"]["low_shelf"]["gain_db"], abs=1e-3)
    assert by_name["eq low_shelf gain_db"] == pytest.approx(float(gain[0]), abs=1e-6)

    # nothing else came back unrouted, and the bridge stopped cleanly
    assert not lines.prefixed("mixai-cancelled: "), output
    assert code == 0 and "Traceback" not in bridge.log.read_text(), bridge.log.read_text()[-3000:]
