"""A look-ahead true-peak limiter that holds its ceiling.

pedalboard's ``Limiter`` adds make-up gain and lets peaks through, so the ceiling gets its own
stage. The gain curve is built so that it can never exceed the gain a sample needs:

1. ``required`` reduction per sample from the 4x oversampled peak (see :class:`TruePeakDetector`);
2. a centred maximum over the attack window (look-ahead: reduction starts before the peak);
3. an exponential release in dB, which only ever deepens the reduction;
4. a centred moving average over the attack window, which smooths the attack; every value it
   averages is at least the reduction the centre sample needs, so the average is too.

The limiter works from a stored peak envelope (:class:`PeakEnvelope`), so trying several gains to
hit a loudness target costs a few cheap passes instead of re-oversampling the audio each time. It
works in chunks with enough overlap that chunked output equals whole-file output.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
from scipy import ndimage

from mixai.framestore import FrameStore
from mixai.loudness import TruePeakDetector, db_to_gain

SAFETY_MARGIN_DB = 0.05
MAX_MARGIN_DB = 1.0  # the pipeline widens the margin on a retry; envelopes stay exact up to this


class PeakEnvelope:
    """The 4x oversampled peak of each sample (max over channels) of a stored render.

    Exact wherever ``gain * peak`` could reach the ceiling for any gain up to ``max_gain_db``;
    elsewhere an upper bound that is still below the ceiling (see ``TruePeakDetector.envelope``),
    so the limiter treats those samples exactly as it would with exact values: it leaves them alone.
    """

    def __init__(self, audio: FrameStore, *, ceiling_dbtp: float, max_gain_db: float,
                 chunk_frames: int, directory: str | None = None) -> None:
        self.max_gain_db = max_gain_db
        self.store = FrameStore(1, expected_frames=audio.frames, directory=directory)
        detector = TruePeakDetector(audio.channels)
        floor = db_to_gain(ceiling_dbtp - MAX_MARGIN_DB - max_gain_db)
        lag = detector.delay
        for start in range(0, audio.frames + detector.delay, chunk_frames):
            env = detector.envelope(audio.read(start, start + chunk_frames), floor=floor)
            if lag:  # the detector lags by ``delay`` samples: drop its first values
                drop = min(lag, env.size)
                env, lag = env[drop:], lag - drop
            self.store.append(env[None, :])

    def close(self) -> None:
        self.store.close()


class TruePeakLimiter:
    """Gain curves that keep ``gain * audio`` under ``ceiling_dbtp`` after 4x oversampling."""

    def __init__(self, sample_rate: int, *, ceiling_dbtp: float, release_ms: float,
                 attack_ms: float = 2.0, margin_db: float = SAFETY_MARGIN_DB) -> None:
        self.sample_rate = sample_rate
        self.ceiling_dbtp = ceiling_dbtp
        self.ceiling_db = ceiling_dbtp - margin_db
        self.half_window = max(1, int(round(attack_ms * 1e-3 * sample_rate)))
        self.log_decay = -1.0 / max(1.0, release_ms * 1e-3 * sample_rate)

    def gain_curves(self, envelope: PeakEnvelope, frames: int, *, gain_db: float,
                    chunk_frames: int) -> Iterator[np.ndarray]:
        """Yield, chunk by chunk, the linear gain (make-up gain times limiting) for each sample."""
        h = self.half_window
        reach = h + 2  # the max filter's half width
        pad = 2 * reach + 2
        state_db = 0.0  # release state carried from the previous chunk
        offset_db = gain_db - self.ceiling_db
        for start in range(0, frames, chunk_frames):
            stop = min(start + chunk_frames, frames)
            lo = start - pad
            peak = envelope.store.read(lo, stop + pad)[0]
            with np.errstate(divide="ignore"):
                required_db = np.maximum(0.0, 20.0 * np.log10(np.maximum(peak, 1e-9)) + offset_db)
            held = ndimage.maximum_filter1d(required_db, size=2 * reach + 1, mode="nearest")
            begin = pad - reach  # first index whose held value saw its whole window
            reduction = np.zeros_like(held)
            reduction[begin:], state_db = _release(held[begin:], state_db, self.log_decay,
                                                   save_at=(stop - reach) - (lo + begin) - 1)
            smooth_db = ndimage.uniform_filter1d(reduction, size=2 * h + 1, mode="nearest")
            yield np.power(10.0, (gain_db - smooth_db[pad:pad + stop - start]) / 20.0).astype(np.float32)


def _release(required_db: np.ndarray, state_db: float, log_decay: float,
             save_at: int) -> tuple[np.ndarray, float]:
    """Instant attack, exponential release: r[k] = max(req[k], r[k-1] * exp(log_decay)).

    Solved without a Python loop: in the log domain r[k] = max_j(log req[j] + (k - j) * log_decay),
    a running maximum. Returns the curve and its value at ``save_at`` (next chunk's start state).
    """
    n = required_db.size
    k = np.arange(n, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_req = np.log(required_db)
    carried = math.log(state_db) + log_decay if state_db > 0 else -math.inf
    running = np.maximum.accumulate(np.concatenate([[carried], log_req - k * log_decay]))[1:]
    curve = np.exp(running + k * log_decay)
    saved = float(curve[save_at]) if 0 <= save_at < n else 0.0
    return curve, saved


__all__ = ["PeakEnvelope", "TruePeakLimiter", "db_to_gain"]
