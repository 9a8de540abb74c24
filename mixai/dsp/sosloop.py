"""The meters' filter loops, compiled ahead of time: ``mixai/dsp/_sos.c``, built with the package.

A compiled loop is what makes BS.1770 K-weighting and the band crest factors cheap (a Python loop
is a hundred times slower; ``scipy.signal.sosfilt`` costs a second of import). numba compiled them
on first use, which a new machine paid on its first master (its import alone is a third of a
second). The package build compiles ``_sos.c`` (setup.py; plain C, loaded with ctypes); where it
was not built (no C compiler at install) :func:`available` is False and the callers use numba.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.ctypeslib import ndpointer

from mixai.io.native import load_library

_F64 = ndpointer(dtype=np.float64, flags="C_CONTIGUOUS")
_F32 = ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL | None:
    lib = load_library(Path(__file__).resolve().parent, "_sos")
    if lib is not None:
        lib.sos2_power.argtypes = [_F64, _F32, ctypes.c_long, ctypes.c_long, _F64, _F64]
        lib.sos2_power.restype = None
        lib.sos2_peak_energy.argtypes = [_F64, _F32, ctypes.c_long, _F64]
        lib.sos2_peak_energy.restype = None
    return lib


def available() -> bool:
    """Whether the compiled loops were built and load."""
    return _library() is not None


def _sections(sos: np.ndarray) -> np.ndarray:
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    if sos.shape != (2, 6):
        raise ValueError(f"expected two second-order sections, shaped (2, 6), not {sos.shape}")
    return sos


def power(sos: np.ndarray, block: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Per-sample sum over channels of the squared output of ``block`` (channels, n) through the
    two sections; ``zi`` (2, channels, 2), float64 and C-contiguous, carries the state (updated)."""
    block = np.ascontiguousarray(np.atleast_2d(block), dtype=np.float32)
    if zi.dtype != np.float64 or not zi.flags.c_contiguous or zi.shape != (2, block.shape[0], 2):
        raise ValueError("zi must be a C-contiguous float64 array shaped (2, channels, 2)")
    out = np.empty(block.shape[1], np.float64)
    _library().sos2_power(_sections(sos), block, block.shape[0], block.shape[1], zi, out)
    return out


def peak_energy(sos: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """(largest |y|, sum of y^2) of mono ``x`` through the two sections from rest."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    result = np.zeros(2)
    _library().sos2_peak_energy(_sections(sos), x, x.size, result)
    return float(result[0]), float(result[1])


__all__ = ["available", "power", "peak_energy"]
