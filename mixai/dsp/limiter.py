"""A look-ahead true-peak limiter that holds its ceiling.

pedalboard's ``Limiter`` adds make-up gain and lets peaks through, so the ceiling gets its own
stage. The gain reduction is planned on 64-sample sub-blocks (1.5 ms at 44.1 kHz), from the largest
4x oversampled peak in each, and can never be less than any sample needs:

1. ``required`` reduction per sub-block: its oversampled peak times the make-up gain, over the ceiling;
2. a centred maximum over neighbouring sub-blocks (look-ahead: reduction starts before the peak);
3. an exponential release in dB, which only ever deepens the reduction;
4. a centred moving average (the attack), narrower than step 2, so every value it averages
   already covers the centre sub-block and its neighbours;
5. per sample, linear interpolation between sub-block centres: a blend of two gains that each
   satisfy the sub-block the sample lies in.

Planning on sub-blocks keeps the envelope of a 60-minute file at 10 MB and makes each try of the
loudness solver (which gain lands on target after limiting?) cheap.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from mixai.dsp.loudness import db_to_gain
from mixai.dsp.running import running_max, running_mean
from mixai.dsp.streaming import SUB_BLOCK, GroupReducer
from mixai.dsp.truepeak import TruePeakDetector
from mixai.io.framestore import FrameStore

# The limiter aims this far under the ceiling. The peak detector already reads the higher of an
# accurate interpolator and libebur128's short one (see mixai.dsp.truepeak), but ffmpeg's
# loudnorm reads limited music up to 0.19 dB higher still (benchmarks/check_true_peak.py); 0.3 dB
# keeps the meters people check masters with under the ceiling.
SAFETY_MARGIN_DB = 0.3
MAX_MARGIN_DB = 1.0  # the pipeline widens the margin on a retry; envelopes stay exact up to this
RELEASE_SEGMENT = 4096  # sub-blocks per step of the log-domain release (keeps exponents small)


class PeakEnvelope:
    """Largest 4x oversampled peak (dB) of each 64-sample sub-block of a render.

    Exact wherever ``gain * peak`` could reach the ceiling for any gain up to ``max_gain_db``;
    elsewhere an upper bound that is still below the ceiling (see ``TruePeakDetector.envelope``),
    so the limiter treats those sub-blocks exactly as it would with exact values: it leaves them alone.

    Built a block at a time with :meth:`add` (the pipeline does it while the chain renders the next
    block) and :meth:`finish`, or in one go from a stored render with :meth:`from_store`.
    """

    def __init__(self, channels: int, *, ceiling_dbtp: float, max_gain_db: float) -> None:
        self.max_gain_db = max_gain_db
        self.frames = 0
        self._detector = TruePeakDetector(channels)
        self._floor = db_to_gain(ceiling_dbtp - MAX_MARGIN_DB - max_gain_db)
        self._lag = self._detector.delay
        self._sub_blocks = GroupReducer(SUB_BLOCK, np.max)
        self._maxima: list[np.ndarray] = []
        self.peak_db = np.zeros(0)

    @classmethod
    def from_store(cls, audio: FrameStore, *, ceiling_dbtp: float, max_gain_db: float,
                   chunk_frames: int) -> "PeakEnvelope":
        envelope = cls(audio.channels, ceiling_dbtp=ceiling_dbtp, max_gain_db=max_gain_db)
        for start in range(0, audio.frames, chunk_frames):
            envelope.add(audio.read(start, start + chunk_frames))
        return envelope.finish()

    def add(self, block: np.ndarray) -> None:
        self.frames += block.shape[-1]
        self._collect(self._detector.envelope(block, floor=self._floor))

    def _collect(self, env: np.ndarray) -> None:
        if self._lag:  # the detector lags by ``delay`` samples: drop its first values
            drop = min(self._lag, env.size)
            env, self._lag = env[drop:], self._lag - drop
        maxima = self._sub_blocks.add(env)
        if maxima.size:
            self._maxima.append(maxima)

    def finish(self) -> "PeakEnvelope":
        """Push the detector's delay through and convert to dB; returns self."""
        tail = np.zeros((self._detector.channels, self._detector.delay), np.float32)
        self._collect(self._detector.envelope(tail, floor=self._floor))
        tail = self._sub_blocks.remainder()
        if tail.size:
            self._maxima.append(tail.max(keepdims=True))
        blocks = -(-self.frames // SUB_BLOCK)
        peak = np.concatenate(self._maxima)[:blocks] if self._maxima else np.zeros(0, np.float32)
        self._maxima = []
        # float32 dB (a millionth of a dB): an hour's sub-blocks are 10 MB, not 20.
        peak = np.maximum(peak.astype(np.float32), np.float32(1e-9))
        np.log10(peak, out=peak)
        peak *= np.float32(20.0)
        self.peak_db = peak
        return self

    def close(self) -> None:
        self.peak_db = np.zeros(0)


class TruePeakLimiter:
    """Gain curves that keep ``gain * audio`` under ``ceiling_dbtp`` after 4x oversampling."""

    def __init__(self, sample_rate: int, *, ceiling_dbtp: float, release_ms: float,
                 attack_ms: float = 2.0, margin_db: float = SAFETY_MARGIN_DB) -> None:
        self.sample_rate = sample_rate
        self.ceiling_dbtp = ceiling_dbtp
        self.ceiling_db = ceiling_dbtp - margin_db
        self.attack_blocks = max(1, int(round(attack_ms * 1e-3 * sample_rate / SUB_BLOCK)))
        self.log_decay = -SUB_BLOCK / max(1.0, release_ms * 1e-3 * sample_rate)

    def block_gains(self, envelope: PeakEnvelope, *, gain_db: float) -> np.ndarray:
        """Linear gain (make-up gain times limiting) at the centre of every sub-block, float32.

        One sub-block-long array alive at a time (an hour is 2.5 million sub-blocks): the gain
        solver calls this a few times over the whole render."""
        smooth = self.attack_blocks
        required = envelope.peak_db.astype(np.float32)  # a copy: the envelope's own values stay
        required += np.float32(gain_db - self.ceiling_db)
        np.maximum(required, np.float32(0.0), out=required)
        held = running_max(required, 2 * (smooth + 1) + 1)
        del required
        released = _release(held, self.log_decay)
        del held
        gains = running_mean(released, 2 * smooth + 1).astype(np.float32, copy=False)
        del released
        np.subtract(np.float32(gain_db), gains, out=gains)
        gains /= np.float32(20.0)
        return np.power(np.float32(10.0), gains, out=gains)

    def gain_curves(self, envelope: PeakEnvelope, frames: int, *, gain_db: float,
                    chunk_frames: int) -> Iterator[np.ndarray]:
        """Yield, chunk by chunk, the linear gain for each sample (interpolated between sub-block
        centres, held flat before the first centre and after the last)."""
        return self.curves(self.block_gains(envelope, gain_db=gain_db), frames, chunk_frames=chunk_frames)

    @staticmethod
    def curves(block_gains: np.ndarray, frames: int, *, chunk_frames: int) -> Iterator[np.ndarray]:
        """:meth:`gain_curves` from gains already planned with :meth:`block_gains`."""
        gains = np.asarray(block_gains, np.float32)
        if gains.size == 0:
            return
        after = np.append(np.diff(gains), np.float32(0.0)) / np.float32(SUB_BLOCK)  # per sample, to the next centre
        before = np.insert(np.diff(gains), 0, np.float32(0.0)) / np.float32(SUB_BLOCK)  # from the previous one
        offset = np.arange(SUB_BLOCK, dtype=np.float32) - np.float32((SUB_BLOCK - 1) / 2.0)  # from the centre
        rising = offset >= 0
        for start in range(0, frames, chunk_frames):
            stop = min(start + chunk_frames, frames)
            first, last = start // SUB_BLOCK, -(-stop // SUB_BLOCK)
            slope = np.where(rising, after[first:last, None], before[first:last, None])
            curve = gains[first:last, None] + slope * offset
            yield curve.reshape(-1)[start - first * SUB_BLOCK:stop - first * SUB_BLOCK]


def _release(required_db: np.ndarray, log_decay: float) -> np.ndarray:
    """Instant attack, exponential release: r[k] = max(req[k], r[k-1] * exp(log_decay)).

    Solved without a Python loop: in the log domain r[k] = max_j(log req[j] + (k - j) * log_decay),
    a running maximum, taken a segment at a time so the exponents stay small.
    """
    out = np.empty_like(required_db)
    state = 0.0
    with np.errstate(divide="ignore"):
        for start in range(0, required_db.size, RELEASE_SEGMENT):
            segment = required_db[start:start + RELEASE_SEGMENT]
            k = np.arange(segment.size, dtype=np.float64)
            carried = math.log(state) + log_decay if state > 0 else -math.inf
            running = np.maximum.accumulate(np.concatenate([[carried], np.log(segment) - k * log_decay]))[1:]
            out[start:start + segment.size] = curve = np.exp(running + k * log_decay)
            state = float(curve[-1])
    return out


__all__ = ["PeakEnvelope", "TruePeakLimiter", "db_to_gain"]
