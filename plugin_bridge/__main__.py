"""``mixai-bridge`` / ``python -m plugin_bridge``: start the OSC bridge.

Argument parsing happens before anything heavy is imported, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mixai-bridge",
        description="OSC bridge between DAWs / patchers and mixai (see docs/osc.md). Requests go "
                    "to --port; replies go to the sender's host on --reply-port.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=9000, help="UDP port to listen on (default: 9000)")
    p.add_argument("--reply-port", type=int, default=9001,
                   help="UDP port replies are sent to on the sender's host (default: 9001; "
                        "0 = reply to the port the request came from)")
    p.add_argument("--root", action="append", required=True, metavar="DIR",
                   help="folder clients may read from and write to (repeatable; required)")
    p.add_argument("--workers", type=int, default=max(1, min(4, (os.cpu_count() or 2) // 2)),
                   help="worker processes for audio jobs (default: half the CPUs, 1-4)")
    p.add_argument("--queue", type=int, default=8,
                   help="jobs that may wait for a worker before requests get a 'busy' error (default: 8)")
    p.add_argument("--allow-remote-daw", action="store_true",
                   help="allow /mixai/apply to send to a DAW on a non-loopback address")
    p.add_argument("--start-method", choices=("forkserver", "spawn"), default="forkserver",
                   help="how worker processes are started (default: forkserver)")
    p.add_argument("--no-warm", action="store_true",
                   help="do not warm the workers up (librosa, numba) at start-up")
    p.add_argument("--cancel-grace", type=float, default=3.0, metavar="SECONDS",
                   help="how long a cancelled job may take to stop before its worker is killed")
    p.add_argument("--log-level", default="info",
                   choices=("debug", "info", "warning", "error"), help="stderr log level (default: info)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), stream=sys.stderr,
                        format="%(asctime)s mixai-bridge %(levelname)s %(message)s")
    log = logging.getLogger("plugin_bridge")
    for name, value, low, high in (("--port", args.port, 0, 65535), ("--reply-port", args.reply_port, 0, 65535),
                                   ("--workers", args.workers, 1, 64), ("--queue", args.queue, 0, 10000)):
        if not low <= value <= high:
            log.error("%s must be from %d to %d", name, low, high)
            return 2
    from plugin_bridge.server import BridgeServer

    try:
        server = BridgeServer(host=args.host, port=args.port, reply_port=args.reply_port, roots=args.root,
                              workers=args.workers, queue=args.queue, allow_remote_daw=args.allow_remote_daw,
                              start_method=args.start_method, warm=not args.no_warm,
                              cancel_grace_s=args.cancel_grace)
    except (ValueError, OSError) as exc:
        log.error("cannot start: %s", exc)
        return 2
    server.run_until_signal()
    return 0


if __name__ == "__main__":
    sys.exit(main())
