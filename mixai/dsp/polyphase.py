"""The true-peak meter's interpolation filter, compiled ahead of time: ``mixai/dsp/_polyphase.c``.

Every 4x oversampled peak of a whole block goes through one FIR per between-sample phase; with
numpy that is an FFT convolution (three quarters of a second a 3-minute stereo track, the largest
single cost of a master, paid for the input, the render and the output). Done directly in C, a
tile of outputs at a time, it is several times cheaper. Built by setup.py beside the meters' other
loops (plain C, loaded with ctypes, the GIL released while it runs); where it was not built
:func:`available` is False and :mod:`mixai.dsp.truepeak` keeps its FFT.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.ctypeslib import ndpointer

from mixai.io.native import load_library

MAX_PHASES = 8  # as in _polyphase.c
_F32 = ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL | None:
    lib = load_library(Path(__file__).resolve().parent, "_polyphase")
    if lib is not None:
        lib.polyphase_peaks.argtypes = [_F32, ctypes.c_long, ctypes.c_long, _F32, ctypes.c_long, ctypes.c_long,
                                        ctypes.c_long, _F32]
        lib.polyphase_peaks.restype = ctypes.c_int
    return lib


def available() -> bool:
    """Whether the compiled filter was built and loads."""
    return _library() is not None


def peaks(data: np.ndarray, phases: np.ndarray, delay: int) -> np.ndarray:
    """Per output sample ``t`` of ``data`` (channels, n + rows - 1): the largest over channels of
    ``|data[c, t + delay]|`` and of every phase's ``|sum_k data[c, t + k] * phases[k, j]|``.

    ``phases`` is (rows, count), at most :data:`MAX_PHASES` columns."""
    data = np.ascontiguousarray(np.atleast_2d(data), dtype=np.float32)
    phases = np.ascontiguousarray(phases, dtype=np.float32)
    rows, count = phases.shape
    n = data.shape[1] - (rows - 1)
    if n <= 0:
        return np.zeros(0, np.float32)
    if not 0 <= delay < rows or not 1 <= count <= MAX_PHASES:
        raise ValueError(f"delay {delay} must lie in [0, {rows}) and phases have 1 to {MAX_PHASES} columns")
    out = np.empty(n, np.float32)
    _library().polyphase_peaks(data, data.shape[0], n, phases, rows, count, delay, out)
    return out


__all__ = ["available", "peaks", "MAX_PHASES"]
