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
    cumulative = np.square(gains[:size], dtype=np.float64)
    del gains
    cumulative *= render.energy[:size]
    np.cumsum(cumulative, out=cumulative)  # energy up to the end of each sub-block, in place
    # The energy up to each step boundary: whole sub-blocks, plus the share of the one it cuts.
    steps = np.arange(render.frames // step + 1) * step
    if size:
        index = np.minimum(steps // SUB_BLOCK, size - 1)
        start = index * SUB_BLOCK
        length = np.minimum(start + SUB_BLOCK, render.frames) - start
        before = np.where(index > 0, cumulative[np.maximum(index - 1, 0)], 0.0)
        share = np.clip((steps - start) / np.maximum(length, 1), 0.0, 1.0)
        at_steps = before + (cumulative[index] - before) * share
    else:  # nothing rendered: no energy anywhere
        at_steps = np.zeros(steps.size)
    meter = LoudnessMeter(render.sample_rate, 1)
    meter.add_step_energies(np.diff(at_steps) / step)
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
