"""mixai's helper threads, behind one switch.

A single ``mixai master`` overlaps independent work on a few helper threads (the input's own
measurement beside the render, a block's true peak beside its loudness, one channel's peaks beside
the other's, the ONNX session opening while the excerpt is read): numpy, pedalboard and the
compiled loops release the GIL, so a user waits less. A ``mixai batch`` worker should be one core,
so that ``--jobs N`` keeps N cores busy and never more: there ``MIXAI_HELPER_THREADS=0`` makes every
helper an :class:`InlineExecutor`, which runs the task at once in the caller's thread. Results are
the same either way; only where the work runs changes.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from functools import lru_cache

HELPER_THREADS_ENV = "MIXAI_HELPER_THREADS"  # "0": every helper task runs in the caller's thread


class InlineExecutor(Executor):
    """Runs each task at once in the calling thread and hands back its finished future: the helper
    threads switched off, for a process that is to use one core (a batch worker)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - delivered by result(), as a thread pool would
            future.set_exception(exc)
        return future


def helper_threads_enabled() -> bool:
    """Whether mixai overlaps work on helper threads (read from ``MIXAI_HELPER_THREADS``; on unless
    it is "0"). A single ``mixai master`` uses them to finish sooner; ``mixai batch`` turns them
    off in its workers so that ``--jobs N`` is N cores, not N processes of two threads each."""
    return os.environ.get(HELPER_THREADS_ENV, "1") != "0"


@lru_cache(maxsize=None)
def helper_pool(name: str, workers: int = 1) -> Executor:
    """The process's helper threads called ``name`` (or an :class:`InlineExecutor` when helper
    threads are off, decided on first use)."""
    if not helper_threads_enabled():
        return InlineExecutor()
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"mixai-{name}")


__all__ = ["HELPER_THREADS_ENV", "InlineExecutor", "helper_threads_enabled", "helper_pool"]
