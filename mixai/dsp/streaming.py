"""The machinery the streaming meters share: the 64-sample sub-block grid, a reducer over
fixed-size groups of a stream, helper threads for overlapping measurements (or none, in a batch
worker), and numba.

Every meter in mixai takes audio a block at a time (a 60-minute file never sits in memory twice),
so these pieces are used by loudness, true peak, the limiter's planning and the mastering render.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Callable

import numpy as np

SUB_BLOCK = 64  # samples: the planning grid of the true-peak limiter and its meters


@lru_cache(maxsize=None)
def compiled(function: Callable) -> Callable | None:
    """``function`` compiled by numba (which librosa brings; cached on disk after the first run,
    GIL released while it runs), or None where numba is missing."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba comes with librosa
        return None
    return numba.njit(cache=True, nogil=True)(function)



class GroupReducer:
    """Reduce a stream of per-sample values over consecutive groups of ``size`` samples (e.g. the
    mean square of each 100 ms step, the largest peak of each 64-sample sub-block), carrying the
    values short of a whole group over to the next call."""

    def __init__(self, size: int, reduce: Callable[..., np.ndarray]) -> None:
        self.size = size
        self._reduce = reduce
        self._pending: np.ndarray | None = None

    def add(self, values: np.ndarray) -> np.ndarray:
        """The reductions of the groups these values complete (possibly none)."""
        data = np.concatenate([self._pending, values]) if self._pending is not None and self._pending.size else values
        whole = (data.size // self.size) * self.size
        self._pending = data[whole:]
        return self._reduce(data[:whole].reshape(-1, self.size), axis=1)

    def remainder(self) -> np.ndarray:
        """The values of the last, incomplete group."""
        return self._pending if self._pending is not None else np.zeros(0)



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


def stage_pool() -> Executor:
    """One helper thread to overlap independent measurements of a block (numpy and scipy
    release the GIL), e.g. the true peak alongside the K-weighted loudness."""
    return helper_pool("stage")


__all__ = ["SUB_BLOCK", "compiled", "GroupReducer", "stage_pool", "helper_pool", "helper_threads_enabled",
           "InlineExecutor", "HELPER_THREADS_ENV"]
