"""The true-peak meter's interpolation filter, compiled ahead of time: ``mixai/dsp/_polyphase.c``.

Every 4x oversampled peak of a whole block goes through one FIR per between-sample phase; with
numpy that is an FFT convolution (three quarters of a second a 3-minute stereo track, the largest
single cost of a master, paid for the input, the render and the output). Done directly in C,
eight outputs a vector and only over each phase's nonzero taps, it is several times cheaper. Built by setup.py beside the meters' other
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

MAX_PHASES = 8  # phases in one call, as in _polyphase.c
_F32 = ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL | None:
    lib = load_library(Path(__file__).resolve().parent, "_polyphase")
    if lib is not None:
        lib.polyphase_peaks.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_long, _F32,
                                        ctypes.c_long, ctypes.c_long, ctypes.c_long, _F32]
        lib.polyphase_peaks.restype = ctypes.c_int
    return lib


def available() -> bool:
    """Whether the compiled filter was built and loads."""
    return _library() is not None


@lru_cache(maxsize=8)
def _groups(phases: bytes, rows: int, count: int) -> tuple[tuple[int, int, np.ndarray], ...]:
    """The phases grouped by the span of rows where their taps are nonzero: (first row, rows, taps)."""
    table = np.frombuffer(phases, np.float32).reshape(rows, count)
    spans: dict[tuple[int, int], list[int]] = {}
    for column in range(count):
        nonzero = np.flatnonzero(table[:, column])
        if nonzero.size:  # an all-zero phase gives 0, never above the on-sample value
            spans.setdefault((int(nonzero[0]), int(nonzero[-1]) + 1), []).append(column)
    groups = []
    for (first, stop), columns in spans.items():
        for start in range(0, len(columns), MAX_PHASES):
            chosen = columns[start:start + MAX_PHASES]
            groups.append((first, stop - first, np.ascontiguousarray(table[first:stop, chosen])))
    return tuple(groups)


def peaks(data: np.ndarray, phases: np.ndarray, delay: int) -> np.ndarray:
    """Per output sample ``t`` of ``data`` (channels, n + rows - 1): the largest over channels of
    ``|data[c, t + delay]|`` and of every phase's ``|sum_k data[c, t + k] * phases[k, j]|``.

    ``phases`` is (rows, count); phases are filtered a group at a time, over their nonzero taps only."""
    data = np.ascontiguousarray(np.atleast_2d(data), dtype=np.float32)
    phases = np.ascontiguousarray(phases, dtype=np.float32)
    rows, count = phases.shape
    channels, width = data.shape
    n = width - (rows - 1)
    if n <= 0:
        return np.zeros(0, np.float32)
    if not 0 <= delay < rows:
        raise ValueError(f"delay {delay} must lie in [0, {rows})")
    out = np.zeros(n, np.float32)
    on_sample_done = False
    lib = _library()
    for first, span, taps in _groups(phases.tobytes(), rows, count):
        # The on-sample value rides along with the first group whose taps reach over it.
        on_sample = delay - first if not on_sample_done and 0 <= delay - first < span else -1
        on_sample_done = on_sample_done or on_sample >= 0
        lib.polyphase_peaks(data.ctypes.data + first * data.itemsize, channels, width, n, taps, span,
                            taps.shape[1], on_sample, out)
    if not on_sample_done:
        np.maximum(out, np.abs(data[:, delay:delay + n]).max(axis=0), out=out)
    return out


__all__ = ["available", "peaks", "MAX_PHASES"]
