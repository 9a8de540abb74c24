"""The final pass: make-up gain and the true-peak limiter applied to the render, the real output
measured (BS.1770 loudness, 4x true peak) while it is written, and the pass redone, before anything
is renamed into place, while the output touches the ceiling or misses the loudness target."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, ContextManager, Protocol

import numpy as np

from mixai.analysis.measure import Progress
from mixai.dsp.limiter import SAFETY_MARGIN_DB, PeakEnvelope, TruePeakLimiter
from mixai.dsp.loudness import LoudnessMeter
from mixai.dsp.metering import LiveMeter, MeterCallback, MeterReading
from mixai.dsp.streaming import stage_pool
from mixai.dsp.truepeak import TruePeakDetector, TruePeakMeter
from mixai.errors import OutputError
from mixai.master.gain import solve_gain
from mixai.master.render import Render, step_frames
from mixai.master.report import StageTimes
from mixai.settings.schema import Output

LOUDNESS_TOLERANCE_LU = 0.1
MAX_FINAL_PASSES = 4
CEILING_RETRY_EXTRA_DB = 0.02  # a pass over the ceiling aims this much lower than the overshoot


class Sink(Protocol):
    """Where the final pass writes: :class:`mixai.io.audio.AtomicWriter`, or an in-memory list.
    Used as a context manager per pass; :meth:`discard` drops a pass that missed."""

    def __enter__(self) -> "Sink": ...

    def __exit__(self, *exc: object) -> None: ...

    def write(self, block: np.ndarray) -> None: ...

    def discard(self) -> None: ...


@dataclass
class FinalPass:
    """One pass's result: the gain it applied and what the output measured."""

    gain_db: float
    meter: LoudnessMeter
    peaks: TruePeakMeter
    max_limiting_db: float  # the limiter's deepest reduction
    integrated_lufs: float
    true_peak_dbtp: float
    limiting_db: np.ndarray | None = None  # the limiter's deepest reduction in each 100 ms step (dB, >= 0)

    def after(self) -> dict[str, float]:
        """The report's ``after`` measurements."""
        return {"integrated_lufs": round(self.integrated_lufs, 3), "true_peak_dbtp": round(self.true_peak_dbtp, 3),
                "sample_peak_dbfs": round(self.peaks.sample_peak_dbfs, 3),
                "loudness_range_lu": round(self.meter.loudness_range_lu(), 3)}


def write_on_target(render: Render, output: Output, sink_factory: Callable[[], ContextManager[Sink]], *,
                    times: StageTimes, name: str, progress: Progress | None = None,
                    meter: MeterCallback | None = None) -> FinalPass:
    """Limit, measure and write ``render`` until the measured output is under the ceiling and on
    target, at most :data:`MAX_FINAL_PASSES` times; :class:`OutputError` when it cannot be met.

    A miss corrects what caused it: over the ceiling, the limiter aims lower by the overshoot; off
    target (by more than :data:`LOUDNESS_TOLERANCE_LU`), the make-up gain moves by the difference.
    Only a pass that meets both leaves its sink's output in place. ``meter`` gets the live
    readings of each pass (:mod:`mixai.dsp.metering`).
    """
    chunk = step_frames(render.sample_rate) * 25
    margin_db = SAFETY_MARGIN_DB
    gain_db: float | None = None
    for final_pass in range(MAX_FINAL_PASSES):
        with times.stage("loudness"):
            limiter = TruePeakLimiter(render.sample_rate, ceiling_dbtp=output.ceiling_dbtp,
                                      release_ms=output.limiter_release_ms, margin_db=margin_db)
            if gain_db is None:
                gain_db = solve_gain(render, limiter, output.target_lufs, chunk)
        with times.stage("write"), sink_factory() as sink:
            final = write_final(render, limiter, gain_db, chunk, sink.write, progress, meter=meter,
                                final_pass=final_pass)
            over_db = final.true_peak_dbtp - output.ceiling_dbtp
            off_lu = output.target_lufs - final.integrated_lufs
            if over_db <= 0.0 and abs(off_lu) <= LOUDNESS_TOLERANCE_LU:
                return final  # leaving the block puts the output in place
            sink.discard()
        if over_db > 0.0:
            margin_db += over_db + CEILING_RETRY_EXTRA_DB
        else:
            gain_db += off_lu
    raise OutputError(f"{name}: could not meet loudness target {output.target_lufs:g} LUFS under a "
                      f"{output.ceiling_dbtp:g} dBTP ceiling")


def write_final(render: Render, limiter: TruePeakLimiter, gain_db: float, chunk: int,
                sink: Callable[[np.ndarray], None], progress: Progress | None = None, *,
                meter: MeterCallback | None = None, final_pass: int = 0) -> FinalPass:
    """One pass over the render: make-up gain and limiter applied, each block handed to ``sink``
    and measured (BS.1770 loudness, true peak) on the helper thread; with ``meter``, the live
    readings of each measured block are handed to it on this thread."""
    envelope = render.peak_envelope(gain_db, chunk)
    loudness = LoudnessMeter(render.sample_rate, render.audio.channels)
    gains = limiter.block_gains(envelope, gain_db=gain_db)
    peaks = TruePeakMeter(render.audio.channels, sub_block_bound=output_peak_bound(envelope, gains))
    live = LiveMeter(loudness, peaks, final_pass) if meter is not None else None
    deepest = 0.0
    step = step_frames(render.sample_rate)
    limiting: list[np.ndarray] = []  # the limiter's reduction per 100 ms step (chunk is a whole number of steps)
    pending: list = []

    def settle(measured) -> None:
        readings = measured.result()
        if readings:
            meter(readings)  # type: ignore[misc]

    for i, g in enumerate(limiter.curves(gains, render.frames, chunk_frames=chunk)):
        block = render.audio.read(i * chunk, i * chunk + g.size) * g
        block_limiting = step_reduction_db(g, gain_db, step)
        limiting.append(block_limiting)
        # Measured on the helper thread, at most two blocks behind the writing.
        pending.append(stage_pool().submit(_measure_output, loudness, peaks, block, live, block_limiting))
        sink(block)
        while len(pending) > 2:
            settle(pending.pop(0))
        if progress:
            progress(0.75 + 0.25 * min(1.0, (i * chunk + g.size) / max(render.frames, 1)), "write")
        if g.size:  # the limiter's share of the gain curve: make-up gain minus what it applied
            deepest = max(deepest, gain_db - 20 * math.log10(max(float(g.min()), 1e-9)))
    for measured in pending:
        settle(measured)
    peaks.flush()
    steps = np.concatenate(limiting) if limiting else np.zeros(0)
    return FinalPass(gain_db, loudness, peaks, deepest, loudness.integrated_lufs(), peaks.true_peak_dbtp, steps)


def step_reduction_db(g: np.ndarray, gain_db: float, step: int) -> np.ndarray:
    """The limiter's deepest reduction (dB, >= 0) in each 100 ms step of a block's gain curve ``g``
    (make-up gain ``gain_db`` included in ``g``); a last partial step counts as one."""
    whole = g.size // step * step
    least = g[:whole].reshape(-1, step).min(axis=1)
    if whole < g.size:
        least = np.concatenate([least, g[whole:].min(keepdims=True)])
    return np.maximum(0.0, gain_db - 20 * np.log10(np.maximum(least.astype(np.float64), 1e-9)))


def output_peak_bound(envelope: PeakEnvelope, gains: np.ndarray) -> np.ndarray:
    """Upper bound of the output's oversampled peak in each 64-sample sub-block, from the render's
    peak envelope ``E`` and the limiter's gains, so the final true-peak check can skip sub-blocks
    that cannot hold the maximum.

    An oversampled output value is sum_m h_m x_m g_m over the filter's reach (two sub-blocks either
    side of the gain's interpolation). With G and g_min the largest and smallest gain there,
    |sum h x g| <= G |sum h x| + (G - g_min) sum |h| |x| <= G E + (G - g_min) * overshoot * max|x|,
    and max|x| <= the envelope of the sub-block and its neighbours. A hair of slack covers float32
    rounding in the exact filter.
    """
    from mixai.dsp.running import running_max, running_min

    peak = np.power(np.float32(10.0), (envelope.peak_db / 20.0).astype(np.float32))
    gains = np.asarray(gains, np.float32)[:peak.size]
    high = running_max(gains, 5)
    spread = high - running_min(gains, 5)
    spread *= np.float32(TruePeakDetector(1).overshoot)
    spread *= running_max(peak, 3)
    high *= peak
    high += spread
    high *= np.float32(1.0 + 1e-4)  # float32 rounding here and in the exact filter
    return high


def _measure_output(meter: LoudnessMeter, peaks: TruePeakMeter, block: np.ndarray, live: LiveMeter | None,
                    limiting_db: np.ndarray) -> list[MeterReading] | None:
    meter.add(block)
    peaks.add(block)
    return live.readings(limiting_db) if live is not None else None


__all__ = ["LOUDNESS_TOLERANCE_LU", "MAX_FINAL_PASSES", "Sink", "FinalPass", "write_on_target", "write_final",
           "step_reduction_db",
           "output_peak_bound"]
