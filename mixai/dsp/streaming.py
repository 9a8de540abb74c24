"""The machinery the streaming meters share: the 64-sample sub-block grid, a reducer over
fixed-size groups of a stream, the helper thread for overlapping measurements, and numba.

Every meter in mixai takes audio a block at a time (a 60-minute file never sits in memory twice),
so these pieces are used by loudness, true peak, the limiter's planning and the mastering render.
"""

from __future__ import annotations

from concurrent.futures import Executor
from functools import lru_cache
from typing import Callable

import numpy as np

from mixai.threads import helper_pool

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



def stage_pool() -> Executor:
    """One helper thread to overlap independent measurements of a block (numpy and scipy
    release the GIL), e.g. the true peak alongside the K-weighted loudness."""
    return helper_pool("stage")


__all__ = ["SUB_BLOCK", "compiled", "GroupReducer", "stage_pool"]
