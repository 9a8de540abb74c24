"""ReaScript (Python): send the selected track's rendered file to mixai-bridge for suggestion.

Reaper: Actions > Show action list > New action > Load ReaScript... (needs Python enabled in
Preferences > Plug-ins > ReaScript). Select a track whose first item is the track's rendered audio
(e.g. after "Render/freeze tracks" or "Apply track FX to items as new take"), then run the action.

The script sends ``/mixai/apply <id> <file> reaper <track#> 127.0.0.1 <REAPER_OSC_PORT> <options>``:
the bridge suggests settings for the file and writes them into the track's ReaEQ (FX slot EQ_FX)
and ReaComp (slot COMP_FX) through Reaper's OSC surface (examples/reaper/mixai.ReaperOSC, listening
on REAPER_OSC_PORT). It then waits briefly for the bridge's reply on REPLY_PORT and shows it.
The file must lie under one of the bridge's --root folders.

Standard library only: the OSC packets are built by hand (Reaper's embedded Python has no python-osc).
"""

import json
import socket
import struct
import time

BRIDGE = ("127.0.0.1", 9000)
REPLY_PORT = 9001          # the bridge's --reply-port
REAPER_OSC_PORT = 8000     # the local listen port of the mixai.ReaperOSC surface
EQ_FX, COMP_FX = 1, 2      # FX slots of ReaEQ (6 bands) and ReaComp on the track
MODE = "fxparam"           # or "fxeq" (ReaEQ in Hz/dB/octaves through the FX_EQ_* patterns)
WAIT_SECONDS = 20.0


def _pad(b):
    return b + b"\0" * (4 - len(b) % 4)


def osc_message(address, *args):
    tags, payload = ",", b""
    for a in args:
        if isinstance(a, int):
            tags += "i"
            payload += struct.pack(">i", a)
        elif isinstance(a, float):
            tags += "f"
            payload += struct.pack(">f", a)
        else:
            tags += "s"
            payload += _pad(str(a).encode("utf-8"))
    return _pad(address.encode()) + _pad(tags.encode()) + payload


def osc_parse(data):
    """(address, [args]) for the s/i/f messages the bridge sends."""
    def string(pos):
        end = data.index(b"\0", pos)
        return data[pos:end].decode("utf-8"), (end + 4) & ~3
    address, pos = string(0)
    tags, pos = string(pos)
    args = []
    for t in tags[1:]:
        if t == "s":
            s, pos = string(pos)
            args.append(s)
        elif t in "if":
            args.append(struct.unpack(">" + t, data[pos:pos + 4])[0])
            pos += 4
    return address, args


def longest_string(values):
    strings = [v for v in values if isinstance(v, str)]
    return max(strings, key=len) if strings else ""


def selected_track_file():
    if RPR_CountSelectedTracks(0) < 1:  # noqa: F821 (ReaScript globals)
        return None, None, "Select a track first."
    track = RPR_GetSelectedTrack(0, 0)  # noqa: F821
    number = int(RPR_GetMediaTrackInfo_Value(track, "IP_TRACKNUMBER"))  # noqa: F821
    if RPR_CountTrackMediaItems(track) < 1:  # noqa: F821
        return number, None, "The selected track has no items (render or freeze it first)."
    item = RPR_GetTrackMediaItem(track, 0)  # noqa: F821
    take = RPR_GetActiveTake(item)  # noqa: F821
    source = RPR_GetMediaItemTake_Source(take)  # noqa: F821
    # Python ReaScript returns output buffers inside a tuple
    path = longest_string(RPR_GetMediaSourceFileName(source, "", 4096))  # noqa: F821
    if not path:
        return number, None, "Could not find the item's source file."
    return number, path, None


def main():
    number, path, problem = selected_track_file()
    if problem:
        RPR_ShowMessageBox(problem, "mixai", 0)  # noqa: F821
        return
    job = "reaper-%d-%d" % (number, int(time.time()))
    options = json.dumps({"eq_fx": EQ_FX, "comp_fx": COMP_FX, "mode": MODE})
    listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        listen.bind(("127.0.0.1", REPLY_PORT))
    except OSError:
        listen = None  # another client holds the reply port: send without waiting
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.sendto(osc_message("/mixai/apply", job, path, "reaper", number, "127.0.0.1", REAPER_OSC_PORT,
                           options), BRIDGE)
    RPR_ShowConsoleMsg("mixai: sent track %d (%s)\n" % (number, path))  # noqa: F821
    if listen is None:
        return
    listen.settimeout(0.5)
    deadline = time.time() + WAIT_SECONDS
    while time.time() < deadline:
        try:
            data, _ = listen.recvfrom(65535)
        except socket.timeout:
            continue
        address, args = osc_parse(data)
        if not args or args[0] != job:
            continue
        if address == "/mixai/applied":
            info = json.loads(args[1])
            eq = info["settings"]["eq"]
            RPR_ShowConsoleMsg("mixai: applied %d parameters; low shelf %+.1f dB, high shelf %+.1f dB\n" % (  # noqa: F821
                info["messages"], eq["low_shelf"]["gain_db"], eq["high_shelf"]["gain_db"]))
        elif address == "/mixai/error":
            RPR_ShowMessageBox("mixai-bridge: %s" % args[2], "mixai", 0)  # noqa: F821
        return
    RPR_ShowConsoleMsg("mixai: no reply from mixai-bridge within %d s\n" % WAIT_SECONDS)  # noqa: F821


main()
