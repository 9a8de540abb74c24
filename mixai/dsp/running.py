"""Running maximum, minimum and mean over short centred windows, edges held (numpy only).

``scipy.ndimage.maximum_filter1d``/``minimum_filter1d``/``uniform_filter1d`` with ``mode="nearest"``
compute the same; importing scipy.ndimage costs a third of a second (it parses its docstrings at
import), more than the limiter's use of it. The windows here are a few sub-blocks long, so a
strided view is as fast. ``tests/test_startup.py`` checks these against scipy.ndimage.
"""

from __future__ import annotations

import numpy as np


def _windows(x: np.ndarray, size: int) -> np.ndarray:
    """(len(x), size) view of the window around each value, centred as scipy.ndimage centres it
    (``size // 2`` before), the edge values repeated beyond the ends."""
    if size < 1:
        raise ValueError(f"window size must be at least 1, not {size}")
    x = np.asarray(x)
    before = size // 2
    padded = np.pad(x, (before, size - 1 - before), mode="edge") if x.size else x
    return np.lib.stride_tricks.sliding_window_view(padded, size) if x.size else x.reshape(0, 1)


def running_max(x: np.ndarray, size: int) -> np.ndarray:
    return _windows(x, size).max(axis=1)


def running_min(x: np.ndarray, size: int) -> np.ndarray:
    return _windows(x, size).min(axis=1)


def running_mean(x: np.ndarray, size: int) -> np.ndarray:
    return _windows(x, size).mean(axis=1)


__all__ = ["running_max", "running_min", "running_mean"]
