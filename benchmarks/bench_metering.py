"""Benchmark of live metering over OSC: reading rate, accuracy against pyloudnorm, and the bridge's
ping latency with and without a meter subscriber.

    python benchmarks/bench_metering.py [--seconds 180] [--rounds 3]

Starts ``python -m plugin_bridge`` (one worker, ``--reply-port 0``: each socket gets its own
replies) on a temporary root holding a generated stereo song. Each round masters the song twice,
once with nobody subscribed and once with a subscriber on ``/mixai/meter/subscribe``, while a
second socket pings the bridge back to back. Prints the readings' rate (per second of programme and
per second of wall clock while they arrive), the integrated loudness at the end against pyloudnorm
on the written file, and ping p50/p99 over the whole job and over the write phase (when readings
flow), without and with metering.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf
from pythonosc.osc_message import OscMessage

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from osc_bridge import BridgeProcess, encode  # noqa: E402


def make_song(path: Path, seconds: float, sr: int = 44100) -> None:
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * sr)) / sr
    level = np.where((t // 8) % 2 == 0, 0.05, 0.15)
    x = level * (np.sin(2 * np.pi * 110 * t) + 0.5 * np.sin(2 * np.pi * 660 * t)) + 0.01 * rng.standard_normal(t.size)
    sf.write(path, np.stack([x, 0.95 * x]).T.astype(np.float32), sr, subtype="PCM_24")


class Socket:
    """One UDP socket that sends to the bridge and receives its own replies, with arrival times."""

    def __init__(self, bridge: tuple[str, int]) -> None:
        self.bridge = bridge
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str, list]] = []
        self.running = True
        self.thread = threading.Thread(target=self._recv, daemon=True)
        self.thread.start()

    def _recv(self) -> None:
        while self.running:
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            m = OscMessage(data)
            self.messages.append((time.monotonic(), m.address, list(m.params)))

    def send(self, address: str, *args) -> None:
        self.sock.sendto(encode(address, *args), self.bridge)

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


class Pinger:
    """Pings back to back on its own socket (a pong is waited for before the next ping)."""

    def __init__(self, bridge: tuple[str, int]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(1.0)
        self.bridge = bridge
        self.rtts: list[tuple[float, float]] = []  # (sent at, round trip s)
        self.running = False

    def run(self) -> None:
        ping = encode("/mixai/ping")
        while self.running:
            t0 = time.monotonic()
            self.sock.sendto(ping, self.bridge)
            try:
                while OscMessage(self.sock.recvfrom(65535)[0]).address != "/mixai/pong":
                    pass
            except socket.timeout:
                self.rtts.append((t0, 1.0))
                continue
            self.rtts.append((t0, time.monotonic() - t0))
            time.sleep(0.0005)

    def start(self) -> None:
        self.rtts, self.running = [], True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def stop(self) -> list[tuple[float, float]]:
        self.running = False
        self.thread.join()
        return self.rtts


def render(job: Socket, pinger: Pinger, ident: str, root: Path) -> tuple[list, float, float]:
    """One master with pings running; returns (ping samples, write-phase start, job end)."""
    time.sleep(0.5)
    pinger.start()
    time.sleep(0.3)
    job.messages.clear()
    job.send("/mixai/master", ident, "song.wav", "out/song.master.wav", json.dumps({"overwrite": True}))
    deadline = time.monotonic() + 600
    while not any(a in ("/mixai/done", "/mixai/error") and p and p[0] == ident for _, a, p in job.messages):
        if time.monotonic() > deadline:
            raise SystemExit("the render did not finish")
        time.sleep(0.01)
    time.sleep(0.3)
    rtts = pinger.stop()
    done = [(t, a, p) for t, a, p in job.messages if a in ("/mixai/done", "/mixai/error") and p[0] == ident][0]
    if done[1] != "/mixai/done":
        raise SystemExit(f"render failed: {done[2]}")
    write_start = min(t for t, a, p in job.messages if a == "/mixai/progress" and p[0] == ident and p[1] >= 0.75)
    return rtts, write_start, done[0]


def percentiles(rtts: list[tuple[float, float]], start: float, end: float) -> tuple[int, float, float]:
    values = np.array([r for t, r in rtts if start <= t <= end]) * 1000
    if values.size == 0:
        return 0, float("nan"), float("nan")
    return int(values.size), float(np.percentile(values, 50)), float(np.percentile(values, 99))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=180.0, help="length of the generated song")
    ap.add_argument("--rounds", type=int, default=3, help="renders without and with metering, each")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        (root / "out").mkdir(parents=True)
        make_song(root / "song.wav", args.seconds)
        bp = BridgeProcess([root], workers=1, extra=["--reply-port", "0"], log=Path(tmp) / "bridge.log")
        bp.client.close()
        bridge = ("127.0.0.1", bp.port)
        job, pinger = Socket(bridge), Pinger(bridge)
        try:
            deadline = time.monotonic() + 60
            job.send("/mixai/ping")
            while not any(a == "/mixai/pong" for _, a, _ in job.messages):
                if time.monotonic() > deadline:
                    raise SystemExit(f"bridge did not start:\n{bp.log.read_text()}")
                time.sleep(0.2)
                job.send("/mixai/ping")
            time.sleep(3.0)  # the worker warms up
            plain: list = [[], []]
            metered: list = [[], []]
            rates, wall_rates, errors = [], [], []
            for r in range(args.rounds):
                rtts, w0, end = render(job, pinger, f"plain{r}", root)
                plain[0] += [x for x in rtts if x[0] <= end]
                plain[1] += [x for x in rtts if w0 <= x[0] <= end]
                sub = Socket(bridge)
                sub.send("/mixai/meter/subscribe")
                rtts, w0, end = render(job, pinger, f"meter{r}", root)
                metered[0] += [x for x in rtts if x[0] <= end]
                metered[1] += [x for x in rtts if w0 <= x[0] <= end]
                time.sleep(0.3)
                readings = [(t, p) for t, a, p in sub.messages if a == "/mixai/meter" and p[0] == f"meter{r}"]
                final = [p for _, a, p in sub.messages if a == "/mixai/meter/integrated" and p[0] == f"meter{r}"]
                sub.send("/mixai/meter/unsubscribe")
                time.sleep(0.1)
                sub.close()
                audio, sr = sf.read(root / "out" / "song.master.wav", always_2d=True)
                truth = pyloudnorm.Meter(sr).integrated_loudness(audio)
                last_pass = readings[-1][1][6]
                kept = [(t, p) for t, p in readings if p[6] == last_pass]
                rates.append(len(kept) / (audio.shape[0] / sr))
                span = readings[-1][0] - readings[0][0]
                wall_rates.append((len(readings) - 1) / span if span > 0 else float("inf"))
                errors.append(abs(final[0][1] - truth) if final else float("nan"))
        finally:
            job.close()
            bp.stop()
    print(f"song {args.seconds:g} s, {args.rounds} rounds, 1 worker")
    print(f"readings per second of programme: {np.mean(rates):.2f} (one per 100 ms step)")
    print(f"readings per second of wall clock while they arrive: min {min(wall_rates):.0f} Hz, "
          f"median {np.median(wall_rates):.0f} Hz")
    print(f"integrated loudness at the end vs pyloudnorm on the written file: max error {max(errors):.4f} LU")
    print(f"{'ping (ms)':<34}{'n':>7}{'p50':>9}{'p99':>9}")
    for label, samples in (("whole job, no subscriber", plain[0]), ("whole job, metering", metered[0]),
                           ("write phase, no subscriber", plain[1]), ("write phase, metering", metered[1])):
        n, p50, p99 = percentiles(samples, -np.inf, np.inf)
        print(f"{label:<34}{n:>7}{p50:>9.3f}{p99:>9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
