"""The worker side of the job pool: one process per worker, running one job at a time.

A worker warms up (librosa, numba, pedalboard) before it says it is ready, then takes
``("run", seq, kind, params)`` messages from its pipe and runs each through its kind's ``run``
(:data:`plugin_bridge.handlers.kinds.JOB_KINDS`), sending progress and the result back. Paths are
checked again here against the roots (a file may have been swapped for a symlink in between).

Cancel (SIGUSR1, for the job that is still running) and SIGTERM raise :class:`JobCancelled` inside
the job, so it unwinds and the atomic writer deletes its temporary file; outputs the job created
are removed too.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import traceback
from typing import Any

from mixai.allocator import keep_freed_memory
from plugin_bridge.job import JobCancelled

WORKER_NICENESS = 5

_current_seq = -1
_cancel_value: Any = None
_terminating = False


def _on_cancel_signal(signum: int, frame: Any) -> None:
    if _current_seq >= 0 and _cancel_value is not None and _cancel_value.value == _current_seq:
        raise JobCancelled()


def _on_term_signal(signum: int, frame: Any) -> None:
    """SIGTERM: abandon the running job like a cancel (so temporary files go), then exit."""
    global _terminating
    _terminating = True
    if _current_seq >= 0:
        raise JobCancelled()
    raise SystemExit(0)


def _mask(block: bool) -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK if block else signal.SIG_UNBLOCK,
                           {signal.SIGUSR1, signal.SIGTERM})


def warm_up() -> None:
    """Import and exercise the analysis and render paths once (librosa, numba, pedalboard)."""
    import numpy as np

    from mixai.master.pipeline import master_array

    rng = np.random.default_rng(0)
    t = np.arange(22050) / 22050.0
    x = (0.2 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    master_array(np.stack([x, x]), 22050)


def worker_main(conn: Any, cancel_value: Any, roots: tuple[str, ...], warm: bool, index: int) -> None:
    global _cancel_value
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the server, which stops us
    signal.signal(signal.SIGTERM, _on_term_signal)
    _cancel_value = cancel_value
    signal.signal(signal.SIGUSR1, _on_cancel_signal)
    logging.basicConfig(level=logging.WARNING, format=f"mixai-bridge worker {index}: %(message)s")
    try:  # audio work yields the CPU to the server's receive loop when cores are scarce
        os.nice(WORKER_NICENESS)
    except OSError:
        pass
    keep_freed_memory()
    if warm:
        try:
            warm_up()
        except Exception:
            logging.getLogger(__name__).exception("warm-up failed (continuing)")
    conn.send(("ready", index))
    while not _terminating:
        try:
            msg = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        except JobCancelled:
            continue
        if msg is None:
            return
        _, seq, kind, params = msg
        _run_one(conn, seq, kind, params, roots)


def _run_one(conn: Any, seq: int, kind: str, params: dict[str, Any], roots: tuple[str, ...]) -> None:
    global _current_seq
    last = [-1.0, 0.0]

    def progress(fraction: float, stage: str = "") -> None:
        if _cancel_value.value == seq:  # cooperative check, in case a signal was missed
            raise JobCancelled()
        now = time.monotonic()
        if fraction >= 1.0 or fraction - last[0] >= 0.01 and now - last[1] >= 0.02:
            last[0], last[1] = fraction, now
            _mask(True)
            try:
                conn.send(("progress", seq, float(fraction)))
            finally:
                _mask(False)

    def meter(readings: list) -> None:
        """Live readings of the output (mixai.dsp.metering), up the pipe as plain tuples."""
        if _cancel_value.value == seq:
            raise JobCancelled()
        _mask(True)
        try:
            conn.send(("meter", seq, [r.values() for r in readings]))
        finally:
            _mask(False)

    progress.meter = meter  # type: ignore[attr-defined] - render kinds hand it to the pipeline

    outputs = [p for p in (params.get("output"),) if p]
    existed = {p for p in outputs if os.path.lexists(p)}
    reply: tuple
    try:
        try:
            _current_seq = seq
            if _cancel_value.value == seq:  # cancelled before this worker picked the job up
                raise JobCancelled()
            result = run_job(kind, params, roots, progress)
        finally:
            _mask(True)
            _current_seq = -1
        reply = ("done", seq, result)
    except JobCancelled:
        _mask(True)
        for p in outputs:
            if p not in existed and os.path.lexists(p):
                try:
                    os.unlink(p)
                except OSError:
                    pass
        reply = ("cancelled", seq)
    except Exception as exc:
        _mask(True)
        reply = ("error", seq, describe_error(exc))
    try:
        conn.send(reply)
    except (OSError, ValueError):
        pass
    finally:
        _mask(False)



def describe_error(exc: BaseException) -> str:
    from mixai.errors import MixaiError

    from plugin_bridge.paths import PathRefused

    if isinstance(exc, (MixaiError, PathRefused)):
        return str(exc)
    if isinstance(exc, ImportError):
        return str(exc) if str(exc).endswith("is not available") else f"not available: {exc}"
    logging.getLogger(__name__).error("job failed:\n%s", traceback.format_exc())
    return f"internal error: {type(exc).__name__}: {exc}"



def run_job(kind: str, params: dict[str, Any], roots: tuple[str, ...],
            progress) -> dict[str, Any]:
    """Run one job in this process through its kind's ``run``. ``params`` were validated by the
    server; the kind re-checks every path against the roots."""
    from plugin_bridge.handlers.kinds import JOB_KINDS
    from plugin_bridge.paths import Roots

    job_kind = JOB_KINDS.get(kind)
    if job_kind is None:
        raise ValueError(f"unknown job kind {kind!r}")
    return job_kind.run(params, Roots(roots), progress)


__all__ = ["WORKER_NICENESS", "warm_up", "worker_main", "describe_error", "run_job"]
