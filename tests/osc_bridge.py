"""A real ``python -m plugin_bridge`` subprocess and a UDP client for it, shared by the OSC tests.

:class:`BridgeProcess` starts the bridge on free loopback ports and stops it with SIGINT, like
Ctrl-C; its :class:`Client` receives every reply on the reply port in a thread. Tests that need
another program on the reply port (Pd) call :meth:`BridgeProcess.release_reply_port` once the
bridge is ready.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def encode(address: str, *args) -> bytes:
    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


class Client:
    """Sends to the bridge; a thread receives everything on the reply port into a list."""

    def __init__(self, bridge_port: int, reply_port: int) -> None:
        self.bridge = ("127.0.0.1", bridge_port)
        self.reply_port = reply_port
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.messages: list[tuple[str, list]] = []
        self.cond = threading.Condition()
        self._open()

    def _open(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind(("127.0.0.1", self.reply_port))
        self.sock.settimeout(0.2)
        self._running = True
        self.thread = threading.Thread(target=self._recv, daemon=True)
        self.thread.start()

    def _recv(self) -> None:
        sock = self.sock
        while self._running:
            try:
                data, _ = sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                m = OscMessage(data)
                item = (m.address, list(m.params))
            except Exception:
                item = ("<unparseable>", [data])
            with self.cond:
                self.received(item)
                self.cond.notify_all()

    def received(self, item: tuple[str, list]) -> None:
        """Keep one arrived message (called with ``cond`` held); subclasses may keep more."""
        self.messages.append(item)

    def pause(self) -> None:
        """Release the reply port (for oscdump)."""
        self._running = False
        self.thread.join()
        self.sock.close()

    def resume(self) -> None:
        self._open()

    def close(self) -> None:
        self.pause()
        self.out.close()

    def send(self, address: str, *args) -> None:
        self.out.sendto(encode(address, *args), self.bridge)

    def send_raw(self, data: bytes) -> None:
        self.out.sendto(data, self.bridge)

    def wait_for(self, pred, timeout: float = 20.0):
        """Remove and return the first message matching ``pred`` (waiting for it)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, (addr, args) in enumerate(self.messages):
                    if pred(addr, args):
                        return self.messages.pop(i)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching reply within {timeout} s; got {self.messages[-10:]}")
                self.cond.wait(left)

    def take(self, pred) -> list[tuple[str, list]]:
        with self.cond:
            hit = [m for m in self.messages if pred(*m)]
            self.messages = [m for m in self.messages if not pred(*m)]
            return hit

    def reply(self, address: str, ident: str | None = None, timeout: float = 20.0):
        return self.wait_for(lambda a, p: a == address and (ident is None or (p and p[0] == ident)), timeout)

    def job_result(self, ident: str, timeout: float = 30.0):
        """The final reply for a job: a result, an error or cancelled (progress is left alone)."""
        return self.wait_for(lambda a, p: a != "/mixai/progress" and p and p[0] == ident, timeout)

    def ping(self, timeout: float = 5.0) -> bool:
        self.take(lambda a, p: a == "/mixai/pong")
        self.send("/mixai/ping")
        try:
            self.reply("/mixai/pong", timeout=timeout)
            return True
        except AssertionError:
            return False

    def status(self) -> dict:
        self.ping()  # replies to anything sent earlier have arrived (one receive thread, in order)
        self.take(lambda a, p: a == "/mixai/status")
        self.send("/mixai/status")
        return json.loads(self.reply("/mixai/status")[1][0])


class BridgeProcess:
    def __init__(self, roots: list[Path], *, workers: int = 2, queue: int = 4, extra: list[str] = (),
                 log: Path) -> None:
        self.port, self.reply_port = free_udp_port(), free_udp_port()
        while self.reply_port == self.port:
            self.reply_port = free_udp_port()
        cmd = [sys.executable, "-m", "plugin_bridge", "--host", "127.0.0.1", "--port", str(self.port),
               "--reply-port", str(self.reply_port), "--workers", str(workers), "--queue", str(queue),
               "--log-level", "debug", *extra]
        for r in roots:
            cmd += ["--root", str(r)]
        self.log = log
        self._log_fh = open(log, "w")
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=self._log_fh, stderr=subprocess.STDOUT, env=env)
        self.client = Client(self.port, self.reply_port)
        self.workers = workers

    def wait_ready(self, workers_ready: bool = True) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"bridge exited early:\n{self.log.read_text()}"
            if self.client.ping(timeout=0.5):
                break
        else:
            raise AssertionError(f"bridge did not answer ping:\n{self.log.read_text()}")
        while workers_ready and time.monotonic() < deadline:
            if self.client.status()["workers_ready"] == self.workers:
                return
            time.sleep(0.2)
        if workers_ready:
            raise AssertionError("workers did not become ready")

    def release_reply_port(self) -> None:
        """Close the test client, so another program (Pd, oscdump) can bind the reply port."""
        self.client.close()

    def stop(self) -> int:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT, like Ctrl-C
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_fh.close()
        return self.proc.returncode
