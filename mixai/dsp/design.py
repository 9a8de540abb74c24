"""Filter designs the meters need, in numpy: RBJ cookbook biquads and a Kaiser-windowed sinc.

scipy.signal has both (and pyloudnorm's ``IIRfilter`` computes the biquads), but importing either
costs about a second, more than the rest of a master's start-up together; the formulas are short.
``tests/test_startup.py`` checks them against pyloudnorm and ``scipy.signal.firwin``.
"""

from __future__ import annotations

import math

import numpy as np


def rbj_biquad(kind: str, gain_db: float, q: float, freq_hz: float, sample_rate: float) -> np.ndarray:
    """One second-order section (b0, b1, b2, 1, a1, a2), normalised by a0, from R. Bristow-Johnson's
    Audio EQ Cookbook as pyloudnorm's ``IIRfilter(gain_db, q, freq_hz, rate, kind)`` computes it.
    ``kind`` is "high_shelf" or "high_pass" (what BS.1770's K-weighting uses)."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * freq_hz / sample_rate
    alpha = math.sin(w0) / (2.0 * q)
    cos_w0 = math.cos(w0)
    if kind == "high_shelf":
        root = 2.0 * math.sqrt(a) * alpha
        b = (a * ((a + 1) + (a - 1) * cos_w0 + root), -2 * a * ((a - 1) + (a + 1) * cos_w0),
             a * ((a + 1) + (a - 1) * cos_w0 - root))
        den = ((a + 1) - (a - 1) * cos_w0 + root, 2 * ((a - 1) - (a + 1) * cos_w0), (a + 1) - (a - 1) * cos_w0 - root)
    elif kind == "high_pass":
        b = ((1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2)
        den = (1 + alpha, -2 * cos_w0, 1 - alpha)
    else:
        raise ValueError(f"kind must be 'high_shelf' or 'high_pass', not {kind!r}")
    return np.array([*b, *den]) / den[0]


def kaiser_lowpass(taps: int, cutoff: float, beta: float) -> np.ndarray:
    """Windowed-sinc low-pass FIR of ``taps`` taps, ``cutoff`` relative to Nyquist, unit gain at DC:
    ``scipy.signal.firwin(taps, cutoff, window=("kaiser", beta))``."""
    m = np.arange(taps) - (taps - 1) / 2.0
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(taps, beta)
    return h / h.sum()


__all__ = ["rbj_biquad", "kaiser_lowpass"]
