"""Live metering subscribers: who gets ``/mixai/meter`` while a render runs, and when they stop.

Each subscriber gets its own *connected* UDP socket, so a client that went away is noticed: on a
connected socket the kernel reports the ICMP "port unreachable" its host answers with as a send
error (ECONNREFUSED) on a later send (every other send, as each error consumes the report). After
:data:`MAX_FAILURES` failed sends a subscriber is dropped; a subscription also ends when its lease runs out (a client renews it by subscribing
again), so a client that vanished without a trace costs at most one lease of sends. Sockets are
non-blocking: a full send buffer drops that message (UDP), it never holds the bridge up.

Readings come from the pool's event thread (:meth:`MeterHub.publish`), subscriptions from the
receive thread; one lock guards the table.
"""

from __future__ import annotations

import errno
import logging
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from plugin_bridge.protocol import PREFIX, encode

log = logging.getLogger("plugin_bridge.meter")

STEP_MS = 100  # one reading per 100 ms of programme (mixai.dsp.metering)
MAX_SUBSCRIBERS = 16
MAX_FAILURES = 3  # failed sends (since the subscription or its renewal) before a subscriber is dropped
DEFAULT_LEASE_S = 300.0
LEASE_RANGE_S = (1.0, 3600.0)
EVERY_MS_RANGE = (STEP_MS, 60000)
METER_ADDRESS = f"{PREFIX}/meter"
END_ADDRESS = f"{PREFIX}/meter/integrated"
STOPPED_ADDRESS = f"{PREFIX}/meter/unsubscribed"


METER_TYPES = ",sfffffi"  # id, position_s, momentary, short-term, true peak, gain reduction, final_pass


def _osc_string(value: str) -> bytes:
    data = value.replace("\x00", "\\x00").encode("utf-8") + b"\x00"
    return data + b"\x00" * (-len(data) % 4)


class MeterEncoder:
    """``/mixai/meter`` datagrams of one job, byte for byte what :func:`plugin_bridge.protocol.encode`
    makes of them, at a fraction of its cost (the address, type tags and id are encoded once; each
    reading is one ``struct.pack``): readings come in bursts, and the server thread that sends them
    shares the interpreter with the receive loop that answers pings."""

    def __init__(self, job_id: str) -> None:
        self._prefix = _osc_string(METER_ADDRESS) + _osc_string(METER_TYPES) + _osc_string(job_id)
        self._values = struct.Struct(">fffffi")

    def __call__(self, values: tuple) -> bytes:
        return self._prefix + self._values.pack(*values)


@dataclass
class Subscriber:
    address: tuple[str, int]
    every_steps: int  # send every n-th 100 ms reading
    expires: float  # time.monotonic() when the lease ends
    sock: socket.socket
    failures: int = 0  # failed sends since it subscribed (or renewed)
    sent: int = 0
    dropped: int = 0  # messages lost to a full send buffer
    jobs: set[str] = field(default_factory=set)  # jobs it got readings of (it gets their integrated too)

    def describe(self, now: float) -> dict[str, Any]:
        return {"host": self.address[0], "port": self.address[1], "every_ms": self.every_steps * STEP_MS,
                "lease_left_s": round(max(0.0, self.expires - now), 1), "sent": self.sent,
                "dropped": self.dropped, "failures": self.failures}


class MeterHub:
    """The subscriber table and the sending of readings to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[tuple[str, int], Subscriber] = {}
        self.removed: list[tuple[tuple[str, int], str]] = []  # (address, why), most recent last
        self._encoders: dict[str, MeterEncoder] = {}  # per job being metered

    def subscribe(self, address: tuple[str, int], every_ms: float, lease_s: float) -> Subscriber:
        """Add ``address`` (or renew it with these settings). Raises ValueError when full."""
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            sub = self._subscribers.get(address)
            if sub is None:
                if len(self._subscribers) >= MAX_SUBSCRIBERS:
                    raise ValueError(f"{MAX_SUBSCRIBERS} meter subscribers already; unsubscribe one first")
                sock = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET, socket.SOCK_DGRAM)
                sock.setblocking(False)
                sock.connect(address)
                sub = Subscriber(address, 1, now, sock)
                self._subscribers[address] = sub
            sub.every_steps = max(1, round(every_ms / STEP_MS))
            sub.expires = now + lease_s
            sub.failures = 0
            return sub

    def unsubscribe(self, address: tuple[str, int]) -> bool:
        with self._lock:
            return self._remove(address, "unsubscribed")

    def count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def status(self) -> list[dict[str, Any]]:
        with self._lock:
            now = time.monotonic()
            return [s.describe(now) for s in self._subscribers.values()]

    def publish(self, job_id: str, readings: Iterable[tuple]) -> None:
        """Send each subscriber its share of ``readings`` (:meth:`MeterReading.values` tuples:
        position_s first) as ``/mixai/meter job_id position_s momentary short_term true_peak
        gain_reduction final_pass``."""
        with self._lock:
            if not self._subscribers:
                return
            now = time.monotonic()
            self._expire(now)
            subs = list(self._subscribers.values())
            encoder = self._encoders.get(job_id)
            if encoder is None:
                encoder = self._encoders[job_id] = MeterEncoder(job_id)
            for sub in subs:
                sub.jobs.add(job_id)
            for values in readings:
                step = round(values[0] * 1000 / STEP_MS)
                data = None
                for sub in subs:
                    if step % sub.every_steps == 0 and sub.address in self._subscribers:
                        data = data or encoder(values)
                        self._send(sub, data)

    def finish(self, job_id: str, after: dict[str, Any]) -> None:
        """The end of a job's metering: ``/mixai/meter/integrated job_id integrated_lufs
        true_peak_dbtp loudness_range_lu`` (the written file's, as the report says) to every
        subscriber that had readings of it."""
        values = tuple(float(after.get(k, -200.0) if after.get(k) is not None else -200.0)
                       for k in ("integrated_lufs", "true_peak_dbtp", "loudness_range_lu"))
        data = encode(END_ADDRESS, (job_id, *values))
        with self._lock:
            self._encoders.pop(job_id, None)
            for sub in list(self._subscribers.values()):
                if job_id in sub.jobs:
                    sub.jobs.discard(job_id)
                    self._send(sub, data)

    def forget(self, job_id: str) -> None:
        """A job that ended without an output (cancelled, failed): no integrated loudness to send."""
        with self._lock:
            self._encoders.pop(job_id, None)
            for sub in self._subscribers.values():
                sub.jobs.discard(job_id)

    def close(self) -> None:
        with self._lock:
            for address in list(self._subscribers):
                self._remove(address, "bridge stopped")

    # --- internals (lock held) ------------------------------------------------------------------
    def _send(self, sub: Subscriber, data: bytes) -> None:
        try:
            sub.sock.send(data)
            sub.sent += 1
        except BlockingIOError:
            sub.dropped += 1
        except OSError as exc:  # ECONNREFUSED: nobody listens there any more
            sub.failures += 1
            if sub.failures >= MAX_FAILURES:
                why = "gone (port unreachable)" if exc.errno == errno.ECONNREFUSED else f"send failed ({exc.strerror})"
                self._remove(sub.address, why)

    def _expire(self, now: float) -> None:
        for address in [a for a, s in self._subscribers.items() if s.expires <= now]:
            self._remove(address, "lease ended")

    def _remove(self, address: tuple[str, int], why: str) -> bool:
        sub = self._subscribers.pop(address, None)
        if sub is None:
            return False
        if why != "unsubscribed":  # tell it, in case it is still there (an unsubscribe is answered by the handler)
            try:
                sub.sock.send(encode(STOPPED_ADDRESS, (why,)))
            except OSError:
                pass
        sub.sock.close()
        self.removed = (self.removed + [(address, why)])[-32:]
        log.info("meter subscriber %s:%d removed: %s", address[0], address[1], why)
        return True


__all__ = ["STEP_MS", "MAX_SUBSCRIBERS", "MAX_FAILURES", "DEFAULT_LEASE_S", "LEASE_RANGE_S", "EVERY_MS_RANGE",
           "METER_ADDRESS", "END_ADDRESS", "STOPPED_ADDRESS", "METER_TYPES", "MeterEncoder", "Subscriber", "MeterHub"]
