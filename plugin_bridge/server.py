"""The UDP side: one receive thread, reply encoding and sending, start-up and clean shutdown.

Datagrams are handled one at a time by python-osc's :class:`BlockingOSCUDPServer` machinery, but
with our own request handler: the raw bytes go to :meth:`Bridge.handle_datagram` inside a
try/except, so a malformed packet gets an error reply instead of killing the loop (python-osc's
dispatcher can raise on such datagrams); replies are encoded by :func:`plugin_bridge.protocol.encode`.
Nothing in this thread waits on audio work: jobs are queued to the worker processes and their
results are sent from the pool's event thread.
"""

from __future__ import annotations

import logging
import signal
import socket
import socketserver
import threading
import time
from typing import Any

from pythonosc.osc_server import BlockingOSCUDPServer

from plugin_bridge.handlers.router import Bridge
from plugin_bridge.paths import Roots
from plugin_bridge.pool import WorkerPool
from plugin_bridge.protocol import MAX_REPLY_BYTES, PREFIX, encode

log = logging.getLogger("plugin_bridge.server")


class StopRequest:
    """A stop flag a signal handler may set while the main thread waits for it.

    Not a :class:`threading.Event`: a handler runs in the main thread between two bytecodes, and
    when the signal was delivered to another thread that moment is often inside the main thread's
    own ``Event.wait``, holding the event's lock; ``Event.set`` in the handler then waits for that
    lock forever and the process never exits. Here the handler only assigns an attribute.
    """

    def __init__(self, poll_s: float = 0.1) -> None:
        self.signum: int | None = None
        self.poll_s = poll_s

    def request(self, signum: int) -> None:
        self.signum = signum

    def wait(self) -> int:
        """Block until :meth:`request` was called; return its signal number."""
        while self.signum is None:
            time.sleep(self.poll_s)  # a signal to this thread cuts the sleep short
        return self.signum


class _Handler(socketserver.BaseRequestHandler):
    server: "_UDPServer"

    def handle(self) -> None:
        data, _sock = self.request
        try:
            self.server.bridge_server.datagram(data, self.client_address)
        except Exception:  # never let one datagram stop the loop
            log.exception("unexpected error handling a datagram")


class _UDPServer(BlockingOSCUDPServer):
    def __init__(self, address: tuple[str, int], bridge_server: "BridgeServer") -> None:
        self.bridge_server = bridge_server
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        socketserver.UDPServer.__init__(self, address, _Handler)
        self.max_packet_size = 65535
        try:  # room for bursts (the kernel caps this at net.core.rmem_max)
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        except OSError:
            pass

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return True  # python-osc drops non-OSC datagrams silently; we answer them with an error

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("error handling a datagram from %s", client_address)


class BridgeServer:
    """Owns the socket, the :class:`Bridge` (request logic) and the :class:`WorkerPool`."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 9000, reply_port: int = 9001,
                 roots: list[str], workers: int = 2, queue: int = 8, allow_remote_daw: bool = False,
                 start_method: str = "forkserver", warm: bool = True, cancel_grace_s: float = 3.0) -> None:
        self.roots = Roots(roots)
        self._out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._out6: socket.socket | None = None
        self.bridge = Bridge(self.roots, None, reply_port=reply_port, send=self.send,
                             allow_remote_daw=allow_remote_daw)
        self.pool = WorkerPool(workers, queue, self.roots.paths, self.bridge.on_job_event,
                               start_method=start_method, warm=warm, cancel_grace_s=cancel_grace_s)
        self.bridge.pool = self.pool
        self.udp = _UDPServer((host, port), self)
        self.address = self.udp.server_address
        self._thread: threading.Thread | None = None
        self._stop = StopRequest()

    # --- I/O -------------------------------------------------------------------------------------
    def datagram(self, data: bytes, sender: tuple[str, int]) -> None:
        replies = self.bridge.handle_datagram(data, sender)
        dest = self.bridge.reply_address(sender)
        for address, args in replies:
            self.send(dest, address, args)

    def send(self, dest: tuple[str, int], address: str, args: tuple[Any, ...]) -> None:
        try:
            data = encode(address, args)
        except Exception as exc:
            log.error("cannot encode reply %s: %s", address, exc)
            return
        if len(data) > MAX_REPLY_BYTES:
            ident = args[0] if args and isinstance(args[0], str) else ""
            data = encode(f"{PREFIX}/error", (ident, address, f"reply too large ({len(data)} bytes)"))
        try:
            if ":" in dest[0]:  # an IPv6 client or DAW
                if self._out6 is None:
                    self._out6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                self._out6.sendto(data, dest)
            else:
                self._out.sendto(data, dest)
        except OSError as exc:  # unreachable client, buffer full: drop, like UDP does
            log.debug("cannot send %s to %s: %s", address, dest, exc)

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self.pool.start()
        self._thread = threading.Thread(target=self.udp.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="bridge-udp", daemon=True)
        self._thread.start()
        replies = (f"port {self.bridge.reply_port}" if self.bridge.reply_port
                   else "the port each request came from")
        log.info("listening on %s:%d (replies to %s of the sender's host), roots: %s", self.address[0],
                 self.address[1], replies, ", ".join(self.roots.paths))

    def stop(self) -> None:
        log.info("shutting down")
        self.pool.begin_shutdown()
        self.udp.shutdown()
        self.udp.server_close()
        self.pool.shutdown()
        self.bridge.meters.close()
        self._out.close()
        if self._out6 is not None:
            self._out6.close()
        log.info("stopped")

    def run_until_signal(self) -> None:
        """Serve until SIGINT or SIGTERM, then stop cleanly."""
        def _stop(signum: int, frame: Any) -> None:
            self.pool.begin_shutdown()  # sets a flag and writes to a pipe: safe in a handler
            self._stop.request(signum)

        previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            self._stop.wait()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            self.stop()


__all__ = ["BridgeServer", "StopRequest", "encode"]
