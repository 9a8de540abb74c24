"""A short mixai-bridge client: ping, suggest settings, then master with a progress bar.

    mixai-bridge --root ~/Music &
    python examples/osc_client.py ~/Music/song.wav ~/Music/song.master.wav --target-lufs -14

Needs only python-osc. Requests go to --port (9000); replies arrive on --reply-port (9001),
which this script listens on, so only one such client can run per bridge at a time.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
import uuid

from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", help="audio file (under one of the bridge's --root folders)")
    ap.add_argument("output", help="where the master goes (.wav or .flac, under a root)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9000)
    ap.add_argument("--reply-port", type=int, default=9001)
    ap.add_argument("--target-lufs", type=float, default=None)
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()

    replies = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    replies.bind(("0.0.0.0" if args.host not in ("127.0.0.1", "localhost") else "127.0.0.1", args.reply_port))
    bridge = SimpleUDPClient(args.host, args.port)

    def wait(accept, timeout: float):
        """Next reply that ``accept(address, params)`` wants; errors for our request raise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, _ = replies.recvfrom(65535)
            except socket.timeout:
                break
            msg = OscMessage(data)
            params = list(msg.params)
            if msg.address == "/mixai/error":
                raise SystemExit(f"bridge error for {params[0] or params[1]}: {params[2]}")
            if accept(msg.address, params):
                return msg.address, params
        raise SystemExit("no reply from the bridge (is mixai-bridge running?)")

    t = time.perf_counter()
    bridge.send_message("/mixai/ping", [])
    _, (version,) = wait(lambda a, p: a == "/mixai/pong", 5.0)
    print(f"mixai-bridge {version}, round trip {1000 * (time.perf_counter() - t):.2f} ms")

    job = f"suggest-{uuid.uuid4().hex[:8]}"
    bridge.send_message("/mixai/suggest", [job, args.input])
    _, (_, settings_json) = wait(lambda a, p: a == "/mixai/settings" and p[0] == job, args.timeout)
    settings = json.loads(settings_json)
    eq = settings["eq"]
    print("suggested: " + ", ".join(f"{band} {eq[band]['gain_db']:+.1f} dB" for band in
                                    ("low_shelf", "low_mid", "mid", "high_mid", "high_shelf")))

    job = f"master-{uuid.uuid4().hex[:8]}"
    options = {} if args.target_lufs is None else {"target_lufs": args.target_lufs}
    bridge.send_message("/mixai/master", [job, args.input, args.output, json.dumps(options)])
    while True:
        address, params = wait(lambda a, p: a in ("/mixai/progress", "/mixai/done") and p[0] == job,
                               args.timeout)
        if address == "/mixai/progress":
            bar = int(40 * params[1])
            print(f"\r[{'#' * bar}{'.' * (40 - bar)}] {100 * params[1]:5.1f} %", end="", flush=True)
            continue
        report = json.loads(params[2])
        print(f"\n{report.get('summary', '')}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
