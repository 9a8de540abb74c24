"""Benchmark of the OSC bridge: ping round trips idle and during a render, and suggest latency.

    python benchmarks/bench_bridge.py [--pings 1000] [--seconds 180] [--workers 2]

Starts ``python -m plugin_bridge`` as a subprocess on free loopback ports, with a temporary root
holding a generated (numpy) stereo file of --seconds length. Prints a small table. Target: ping p99
under 5 ms while a 3-minute render runs in the worker pool.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_song(path: Path, seconds: float, sr: int = 44100) -> None:
    rng = np.random.default_rng(1)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    beat = (np.sin(2 * np.pi * 2.0 * t) > 0.6).astype(np.float32)
    tone = 0.08 * np.sin(2 * np.pi * 110 * t) + 0.04 * np.sin(2 * np.pi * 660 * t) * beat
    left = tone + 0.01 * rng.standard_normal(n)
    right = tone + 0.01 * rng.standard_normal(n)
    sf.write(path, np.stack([left, right]).T.astype(np.float32), sr, subtype="PCM_24")


def msg(address: str, *args) -> bytes:
    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


class Client:
    def __init__(self, port: int, reply_port: int) -> None:
        self.dest = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", reply_port))
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.backlog: list[tuple[str, list]] = []

    def send(self, address: str, *args) -> None:
        self.out.sendto(msg(address, *args), self.dest)

    def recv(self, timeout: float) -> tuple[str, list] | None:
        self.sock.settimeout(timeout)
        try:
            data, _ = self.sock.recvfrom(65535)
        except socket.timeout:
            return None
        m = OscMessage(data)
        return m.address, list(m.params)

    def wait(self, address: str, ident: str | None = None, timeout: float = 120.0) -> tuple[str, list]:
        for i, (a, p) in enumerate(self.backlog):
            if a == address and (ident is None or p[0] == ident):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.recv(max(0.001, deadline - time.monotonic()))
            if got is None:
                break
            a, p = got
            if a == address and (ident is None or p[0] == ident):
                return got
            if a == "/mixai/error":
                raise RuntimeError(f"bridge error: {p}")
            self.backlog.append(got)
        raise TimeoutError(f"no {address} reply")

    def ping_rtts(self, count: int, stop_when=None) -> list[float]:
        rtts = []
        for _ in range(count):
            t = time.perf_counter()
            self.send("/mixai/ping")
            self.wait("/mixai/pong", timeout=5)
            rtts.append((time.perf_counter() - t) * 1000.0)
            if stop_when is not None and stop_when():
                break
        return rtts


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pings", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--suggest-runs", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="mixai-bench-bridge-") as tmp:
        root = Path(tmp)
        song = root / "song.wav"
        make_song(song, args.seconds)
        port, reply = free_port(), free_port()
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        log = open(root / "bridge.log", "w")
        t_start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "plugin_bridge", "--port", str(port), "--reply-port",
                                 str(reply), "--root", str(root), "--workers", str(args.workers)],
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        c = Client(port, reply)
        rows: list[tuple[str, str]] = []
        try:
            while True:
                c.send("/mixai/status")
                try:
                    st = json.loads(c.wait("/mixai/status", timeout=0.5)[1][0])
                    if st["workers_ready"] == args.workers:
                        break
                except TimeoutError:
                    pass
                if proc.poll() is not None or time.perf_counter() - t_start > 120:
                    raise RuntimeError("bridge did not start:\n" + (root / "bridge.log").read_text())
                time.sleep(0.1)
            rows.append(("start-up until workers warm", f"{time.perf_counter() - t_start:.2f} s"))

            c.ping_rtts(100)  # warm-up
            idle = c.ping_rtts(args.pings)
            rows.append((f"ping RTT idle (n={len(idle)})",
                         f"p50 {pct(idle, 50):.3f} ms   p99 {pct(idle, 99):.3f} ms   max {max(idle):.3f} ms"))

            t0 = time.perf_counter()
            c.send("/mixai/master", "bench", "song.wav", "song.master.wav")
            c.wait("/mixai/progress", "bench", timeout=60)  # the job is running in a worker
            done = {"flag": False}

            def finished() -> bool:
                if any(a == "/mixai/done" for a, _ in c.backlog):
                    done["flag"] = True
                return done["flag"]

            busy = c.ping_rtts(args.pings, stop_when=finished)
            still_running = not finished()
            _, result = c.wait("/mixai/done", "bench", timeout=300)
            render_s = time.perf_counter() - t0
            report = json.loads(result[2])
            rows.append((f"ping RTT during render (n={len(busy)}{'' if still_running else ', render ended first'})",
                         f"p50 {pct(busy, 50):.3f} ms   p99 {pct(busy, 99):.3f} ms   max {max(busy):.3f} ms"))
            rows.append((f"master {args.seconds:.0f} s file (wall, via bridge)",
                         f"{render_s:.2f} s  -> {report['after']['integrated_lufs']:.2f} LUFS"))

            times = []
            for i in range(args.suggest_runs):
                t = time.perf_counter()
                c.send("/mixai/suggest", f"s{i}", "song.wav")
                c.wait("/mixai/settings", f"s{i}", timeout=120)
                times.append(time.perf_counter() - t)
            rows.append((f"suggest {args.seconds:.0f} s file (n={len(times)})",
                         f"median {statistics.median(times):.3f} s   min {min(times):.3f} s"))
        finally:
            proc.send_signal(2)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()

    width = max(len(r[0]) for r in rows)
    print(f"mixai-bridge benchmark ({args.workers} workers, {os.cpu_count()} CPUs, python {sys.version.split()[0]})")
    print("-" * (width + 50))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    p99 = pct(busy, 99)
    print("-" * (width + 50))
    print(f"target: ping p99 during render < 5 ms: {'met' if p99 < 5.0 else 'NOT met'} ({p99:.3f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
