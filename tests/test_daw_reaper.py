"""The Reaper material in examples/reaper/ without Reaper (there is none for Linux):

* ``mixai.ReaperOSC`` parses by the grammar Reaper's own loader applies, and uses only patterns that
  Reaper's shipped default configuration has for the same keys. Source of truth: ``csurf_osc.cpp``
  in Cockos' reaper-sdk (github.com/justinfrankel/reaper-sdk, ``reaper-plugins/reaper_csurf/``,
  commit b5da337e, "sdk updates for 7.78"): ``LoadCfgFile`` is the grammar, ``defcfg`` is
  Default.ReaperOSC with its comments stripped (the keys and patterns below are transcribed from it).
* ``mixai_master_selected.lua`` is valid Lua 5.4 (``luac5.4 -p``), its OSC addresses are the
  bridge's, and it runs for real under ``lua5.4`` + LuaSocket against a real bridge with a stand-in
  for Reaper's API: the master is written, measured at its target loudness, and imported as a new
  take; a silent bridge makes it cancel the job and say so.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from osc_bridge import REPO, BridgeProcess, free_udp_port

EXAMPLES = REPO / "examples" / "reaper"
LUA_SCRIPT = EXAMPLES / "mixai_master_selected.lua"
PATTERN_FILE = EXAMPLES / "mixai.ReaperOSC"

# Default.ReaperOSC (csurf_osc.cpp ``defcfg``): the patterns of the keys mixai's file uses.
DEFAULT_PATTERNS = {
    "FX_PARAM_VALUE": {"n/fxparam/@/value", "n/fx/@/fxparam/@/value", "n/track/@/fx/@/fxparam/@/value",
                       "s/fxparam/@/value/str", "s/fx/@/fxparam/@/value/str"},
    "FX_NAME": {"s/fx/name", "s/fx/@/name", "s/track/@/fx/@/name"},
    "FX_BYPASS": {"b/fx/bypass", "b/fx/@/bypass", "b/track/@/fx/@/bypass"},
    "FX_EQ_BYPASS": {"b/fxeq/bypass", "b/track/@/fxeq/bypass"},
    "FX_EQ_MASTER_GAIN": {"n/fxeq/gain", "n/track/@/fxeq/gain", "f/fxeq/gain/db", "f/track/@/fxeq/gain/db",
                          "s/fxeq/gain/str"},
    "TRACK_NAME": {"s/track/name", "s/track/@/name"},
    "TRACK_SELECT": {"b/track/select", "b/track/@/select"},
}
for _part in ("HIPASS_FREQ", "HIPASS_Q", "LOSHELF_FREQ", "LOSHELF_GAIN", "LOSHELF_Q", "HISHELF_FREQ",
              "HISHELF_GAIN", "HISHELF_Q", "BAND_FREQ", "BAND_GAIN", "BAND_Q"):
    _band, _kind = _part.rsplit("_", 1)
    _path = {"HIPASS": "hipass", "LOSHELF": "loshelf", "HISHELF": "hishelf", "BAND": "band/@"}[_band]
    _leaf = {"FREQ": ("freq", "freq/hz"), "GAIN": ("gain", "gain/db"), "Q": ("q", "q/oct")}[_kind]
    DEFAULT_PATTERNS[f"FX_EQ_{_part}"] = {
        f"n/fxeq/{_path}/{_leaf[0]}", f"n/track/@/fxeq/{_path}/{_leaf[0]}",
        f"f/fxeq/{_path}/{_leaf[1]}", f"f/track/@/fxeq/{_path}/{_leaf[1]}",
        f"s/fxeq/{_path}/{_leaf[0]}/str", f"s/track/@/fxeq/{_path}/{_leaf[0]}/str"}
# Reaper's own default misspells one of them ("gain/sb"); mixai's file uses the track form, which is right.
DEFAULT_PATTERNS["FX_EQ_HISHELF_GAIN"] = (DEFAULT_PATTERNS["FX_EQ_HISHELF_GAIN"] - {"f/fxeq/hishelf/gain/db"}) \
    | {"f/fxeq/hishelf/gain/sb"}
DEVICE_KEYS = {"DEVICE_TRACK_COUNT", "DEVICE_SEND_COUNT", "DEVICE_RECEIVE_COUNT", "DEVICE_FX_COUNT",
               "DEVICE_FX_PARAM_COUNT", "DEVICE_FX_INST_PARAM_COUNT", "REAPER_TRACK_FOLLOWS",
               "DEVICE_TRACK_FOLLOWS", "DEVICE_TRACK_BANK_FOLLOWS", "DEVICE_FX_FOLLOWS", "DEVICE_EQ",
               "DEVICE_ROTARY_CENTER"}


def reaper_osc_errors(text: str) -> list[str]:
    """What Reaper's ``LoadCfgFile`` would refuse in a pattern config, plus patterns that are not
    Default.ReaperOSC's own for their key (empty list: the file is fine)."""
    errors = []
    for number, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.split()
        if len(tokens) < 2 or tokens[0].startswith("#"):
            continue  # Reaper skips these lines (a lone key is ignored too)
        key, values = tokens[0], tokens[1:]
        if any(v.startswith(("#", ";")) for v in values):
            errors.append(f"line {number}: no comments after a pattern")
        if key in DEVICE_KEYS:
            value = values[0]
            ok = ((key.endswith("_COUNT") and value.isdigit())
                  or (key.endswith("_FOLLOWS") and value in ("REAPER", "DEVICE", "LAST_TOUCHED", "FOCUSED", "MIXER"))
                  or (key.endswith("_EQ") and value == "INSERT")
                  or (key.endswith("_ROTARY_CENTER") and re.fullmatch(r"-?\d*\.?\d+", value) is not None))
            if not ok or len(values) != 1:
                errors.append(f"line {number}: bad value for {key}: {' '.join(values)}")
            continue
        if key not in DEFAULT_PATTERNS:
            errors.append(f"line {number}: key {key} is not checked here (not in the transcribed defaults)")
            continue
        for pattern in values:
            if pattern[0] not in "nfbtrsi" or pattern[1:2] != "/" or len(pattern) > 512:
                errors.append(f"line {number}: malformed pattern {pattern}")
            elif pattern not in DEFAULT_PATTERNS[key]:
                errors.append(f"line {number}: {key} {pattern} is not a pattern of Reaper's default")
    return errors


def test_pattern_file_follows_reapers_grammar():
    text = PATTERN_FILE.read_text(encoding="utf-8")
    assert reaper_osc_errors(text) == []
    keys = {line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#")}
    assert {"FX_PARAM_VALUE", "FX_EQ_BAND_FREQ", "FX_EQ_BAND_GAIN", "FX_EQ_BAND_Q", "DEVICE_EQ"} <= keys


def test_grammar_check_catches_mistakes():
    """The checker refuses what Reaper refuses (and the guesses the old file could have made)."""
    assert reaper_osc_errors("FX_PARAM_VALUE x/track/@/fx/@/fxparam/@/value")  # unknown type flag
    assert reaper_osc_errors("FX_PARAM_VALUE n/track/@/fx/@/param/@/value")    # not Reaper's pattern
    assert reaper_osc_errors("FX_PARAM_VALUE t/fx/@/fxparam/@/value")          # the wrong flag for it
    assert reaper_osc_errors("DEVICE_EQ YES") and reaper_osc_errors("DEVICE_FX_COUNT eight")
    assert reaper_osc_errors("FX_EQ_BAND_GAIN f/track/@/fxeq/band/@/gain/db # note")
    assert reaper_osc_errors("# a comment\nDEVICE_TRACK_COUNT 8\nTRACK_NAME") == []


# --- the Lua action ------------------------------------------------------------------------------
def lua_addresses(text: str) -> tuple[set[str], set[str]]:
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    sent = set(re.findall(r'osc_message\(\s*"(/[^"]+)"', code))
    awaited = set(re.findall(r'address\s*==\s*"(/[^"]+)"', code))
    return sent, awaited


def documented_replies() -> set[str]:
    """The reply addresses of docs/osc.md's address table (its third column)."""
    text = (REPO / "docs" / "osc.md").read_text(encoding="utf-8")
    table = text.split("## Addresses", 1)[1].split("\n\n", 2)[1]
    replies = set()
    for row in table.splitlines()[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        replies |= set(re.findall(r"`(/mixai/[a-z/<>]+)", cells[2]))
    return replies


def test_lua_addresses_are_the_bridges():
    from plugin_bridge.handlers.router import ROUTES

    sent, awaited = lua_addresses(LUA_SCRIPT.read_text(encoding="utf-8"))
    assert sent == {"/mixai/master", "/mixai/cancel"}
    assert sent <= set(ROUTES)
    assert awaited == {"/mixai/progress", "/mixai/done", "/mixai/error", "/mixai/cancelled"}
    assert awaited <= documented_replies()


def test_lua_compiles():
    luac = shutil.which("luac5.4") or shutil.which("luac")
    if luac is None:
        pytest.skip("luac5.4 not found (Debian lua5.4; scripts/install-system-deps.sh installs it)")
    done = subprocess.run([luac, "-p", str(LUA_SCRIPT)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


# A stand-in for the parts of Reaper's API the action uses; reaper.defer runs the deferred function
# again every 20 ms until nothing is deferred, then the atexit functions run. Everything the script
# does to the project is printed as "CALL name args" lines.
FAKE_REAPER = r'''
local socket = require("socket")
local script, source = arg[1], arg[2]
local deferred, at_exit, props = {}, {}, {}
local function log(name, ...)
  local parts = {}
  for _, v in ipairs({...}) do parts[#parts + 1] = tostring(v) end
  print("CALL " .. name .. (#parts > 0 and (" " .. table.concat(parts, " | ")) or ""))
end
reaper = {
  GetResourcePath = function() return "/nonexistent-reaper-resources" end,
  GetSelectedMediaItem = function(proj, i) return "item1" end,
  GetActiveTake = function(item) return "take1" end,
  TakeIsMIDI = function(take) return false end,
  GetMediaItemTake_Source = function(take) return "source1" end,
  GetMediaSourceFileName = function(src, buf) return src == "source1" and source or "" end,
  GetMediaSourceParent = function(src) return nil end,
  file_exists = function(path) local f = io.open(path, "rb"); if f then f:close() return true end return false end,
  time_precise = function() return socket.gettime() end,
  ShowConsoleMsg = function(s) io.write("CONSOLE " .. s) end,
  ShowMessageBox = function(msg, title, kind) log("ShowMessageBox", msg) return 1 end,
  defer = function(f) deferred[#deferred + 1] = f end,
  atexit = function(f) at_exit[#at_exit + 1] = f end,
  Undo_BeginBlock = function() log("Undo_BeginBlock") end,
  Undo_EndBlock = function(name, flags) log("Undo_EndBlock", name) end,
  AddTakeToMediaItem = function(item) log("AddTakeToMediaItem", item) return "take2" end,
  PCM_Source_CreateFromFile = function(path) log("PCM_Source_CreateFromFile", path) return "source2" end,
  SetMediaItemTake_Source = function(take, src) log("SetMediaItemTake_Source", take, src) return true end,
  GetMediaItemTakeInfo_Value = function(take, key)
    return props[take .. key] or ({D_STARTOFFS = 1.25, D_PLAYRATE = 1.0})[key] end,
  SetMediaItemTakeInfo_Value = function(take, key, v) props[take .. key] = v log("SetMediaItemTakeInfo_Value", take, key, v) return true end,
  GetSetMediaItemTakeInfo_String = function(take, key, v, set) log("GetSetMediaItemTakeInfo_String", take, key, v, set) return true, v end,
  SetActiveTake = function(take) log("SetActiveTake", take) end,
  UpdateArrange = function() log("UpdateArrange") end,
}
dofile(script)
local deadline = socket.gettime() + 120
while #deferred > 0 and socket.gettime() < deadline do
  local f = table.remove(deferred, 1)
  f()
  socket.sleep(0.02)
end
for _, f in ipairs(at_exit) do f() end
print("END")
'''


def need_lua() -> str:
    lua = shutil.which("lua5.4")
    if lua is None:
        pytest.skip("lua5.4 not found (Debian lua5.4; scripts/install-system-deps.sh installs it)")
    if subprocess.run([lua, "-e", 'require("socket")'], capture_output=True, timeout=30).returncode != 0:
        pytest.skip("LuaSocket not found for Lua 5.4 (Debian lua-socket; scripts/install-system-deps.sh)")
    return lua


def run_action(tmp: Path, source: Path, *, bridge_port: int, reply_port: int, timeout_s: int = 120) -> list[str]:
    lua = need_lua()
    code = LUA_SCRIPT.read_text(encoding="utf-8")
    for name, value in (("BRIDGE_PORT", bridge_port), ("REPLY_PORT", reply_port), ("REPLY_TIMEOUT_S", timeout_s)):
        code, n = re.subn(rf"^local {name} = \d+", f"local {name} = {value}", code, flags=re.M)
        assert n == 1, name
    script, harness = tmp / "action.lua", tmp / "fake_reaper.lua"
    script.write_text(code, encoding="utf-8")
    harness.write_text(FAKE_REAPER, encoding="utf-8")
    done = subprocess.run([lua, str(harness), str(script), str(source)], capture_output=True, text=True,
                          timeout=timeout_s + 60)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "END", done.stdout
    return lines


def song(path: Path, seconds: float = 6.0, sr: int = 44100) -> Path:
    rng = np.random.default_rng(5)
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.05 * (np.sin(2 * np.pi * 110 * t) + 0.5 * np.sin(2 * np.pi * 660 * t)) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    stereo = np.stack([tone + 0.01 * rng.standard_normal(t.size), tone + 0.01 * rng.standard_normal(t.size)])
    sf.write(path, stereo.T.astype(np.float32), sr, subtype="PCM_24")
    return path


def test_lua_action_masters_and_imports_a_take(tmp_path):
    need_lua()
    root = tmp_path / "project"
    root.mkdir()
    source = song(root / "song.wav")
    (root / "song.mixai.wav").write_bytes(b"an older master: not to be overwritten")
    bridge = BridgeProcess([root], workers=1, queue=2, extra=["--no-warm"], log=tmp_path / "bridge.log")
    try:
        bridge.wait_ready()
        bridge.release_reply_port()
        lines = run_action(tmp_path, source, bridge_port=bridge.port, reply_port=bridge.reply_port)
    finally:
        assert bridge.stop() == 0, bridge.log.read_text()[-3000:]
    output = root / "song.mixai-2.wav"
    calls = [line[5:] for line in lines if line.startswith("CALL ")]
    console = [line[8:] for line in lines if line.startswith("CONSOLE ")]
    assert not [c for c in calls if c.startswith("ShowMessageBox")], lines
    percents = [int(m.group(1)) for c in console if (m := re.fullmatch(r"mixai:\s+(\d+) %", c))]
    assert percents and percents == sorted(percents) and percents[-1] == 100, console
    assert any(c.startswith("mixai: done: ") and "LUFS" in c for c in console), console
    assert f"PCM_Source_CreateFromFile {output}" in calls
    assert calls.index("Undo_BeginBlock") < calls.index("AddTakeToMediaItem item1") \
        < calls.index("SetMediaItemTake_Source take2 | source2") < calls.index("SetActiveTake take2") \
        < calls.index("Undo_EndBlock mixai: import master as a new take")
    assert "SetMediaItemTakeInfo_Value take2 | D_STARTOFFS | 1.25" in calls
    audio, sr = sf.read(output)
    assert audio.shape[0] == sf.info(source).frames  # sample-aligned with the source, like the take
    assert pyloudnorm.Meter(sr).integrated_loudness(audio) == pytest.approx(-14.0, abs=0.5)  # spotify preset


def test_lua_action_cancels_when_the_bridge_is_silent(tmp_path):
    """A bridge that never answers: after REPLY_TIMEOUT_S the action cancels its job and says so."""
    need_lua()
    got: list[bytes] = []
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():
            try:
                got.append(listener.recv(65535))
            except socket.timeout:
                pass

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    try:
        source = song(tmp_path / "song.wav", seconds=1.0)
        lines = run_action(tmp_path, source, bridge_port=listener.getsockname()[1], reply_port=free_udp_port(),
                           timeout_s=1)
    finally:
        stop.set()
        thread.join()
        listener.close()
    from pythonosc.osc_message import OscMessage

    messages = [OscMessage(d) for d in got]
    assert [m.address for m in messages] == ["/mixai/master", "/mixai/cancel"]
    job, src, out = messages[0].params
    assert src == str(source) and out == str(tmp_path / "song.mixai.wav")
    assert messages[1].params == [job]
    assert any(c.startswith("CALL ShowMessageBox No reply from mixai-bridge") for c in lines), lines
    assert not any("AddTakeToMediaItem" in c for c in lines)


def test_documented_options_json_is_valid():
    """The OPTIONS_JSON examples in the action's comment are JSON the bridge accepts."""
    text = LUA_SCRIPT.read_text(encoding="utf-8")
    line = next(l for l in text.splitlines() if l.startswith("local OPTIONS_JSON"))
    for example in re.findall(r"'(\{[^']*\})'", line):
        options = json.loads(example)
        assert set(options) <= {"preset", "target_lufs", "ceiling_dbtp", "amount", "target"}
