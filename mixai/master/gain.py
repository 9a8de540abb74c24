"""The make-up gain: the gain whose *limited* output lands on the loudness target, predicted from
the render's stored sub-block energies and the limiter's gain plan (no pass over the audio)."""

from __future__ import annotations

import numpy as np

from mixai.dsp.limiter import TruePeakLimiter
from mixai.dsp.loudness import LoudnessMeter
from mixai.dsp.streaming import SUB_BLOCK
from mixai.master.render import Render, step_frames

MAX_MAKEUP_GAIN_DB = 40.0


def estimate_limited_lufs(render: Render, limiter: TruePeakLimiter, gain_db: float, chunk: int) -> float:
    """Loudness after gain + limiting, from the stored sub-block energies (no audio pass needed).

    Each sub-block's energy is scaled by the square of the limiter's gain at its centre, and spread
    evenly over its samples to form the meter's 100 ms steps. The gain moves slowly against a
    sub-block and the K-weighting filters; the final pass measures the real output anyway.
    """
    step = step_frames(render.sample_rate)
    gains = limiter.block_gains(render.peak_envelope(gain_db, chunk), gain_db=gain_db)
    size = min(gains.size, render.energy.size)
    energy = render.energy[:size] * np.square(gains[:size])
    edges = np.minimum(np.arange(energy.size + 1) * SUB_BLOCK, render.frames)
    cumulative = np.concatenate([[0.0], np.cumsum(energy)])
    steps = np.arange(render.frames // step + 1) * step
    meter = LoudnessMeter(render.sample_rate, 1)
    meter.add_step_energies(np.diff(np.interp(steps, edges, cumulative)) / step)
    return meter.integrated_lufs()


def solve_gain(render: Render, limiter: TruePeakLimiter, target_lufs: float, chunk: int) -> float:
    """Make-up gain whose limited output lands on ``target_lufs`` (secant iterations)."""
    processed = render.meter.integrated_lufs()
    g0 = float(np.clip(target_lufs - processed, -MAX_MAKEUP_GAIN_DB, MAX_MAKEUP_GAIN_DB))
    l0 = estimate_limited_lufs(render, limiter, g0, chunk)
    if abs(l0 - target_lufs) < 0.01:
        return g0
    g1 = float(np.clip(g0 + (target_lufs - l0), -MAX_MAKEUP_GAIN_DB, MAX_MAKEUP_GAIN_DB))
    for _ in range(8):
        l1 = estimate_limited_lufs(render, limiter, g1, chunk)
        if abs(l1 - target_lufs) < 0.01 or l1 == l0:
            break
        slope = (l1 - l0) / (g1 - g0) if g1 != g0 else 1.0
        slope = min(1.0, max(slope, 0.05))  # limiting can only slow loudness growth, never reverse it
        g0, l0 = g1, l1
        g1 = float(np.clip(g1 + (target_lufs - l1) / slope, -MAX_MAKEUP_GAIN_DB, MAX_MAKEUP_GAIN_DB))
    return g1



__all__ = ["MAX_MAKEUP_GAIN_DB", "estimate_limited_lufs", "solve_gain"]
