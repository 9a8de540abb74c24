"""True peak (ITU-R BS.1770-4 Annex 2): the largest value of the signal 4x oversampled, streamed.

:class:`TruePeakDetector` gives per-sample or per-block peaks and does the filtering only where it
can matter; :class:`TruePeakMeter` keeps the running maximum (and the sample peak) over a stream.
The detector reads the higher of an accurate 129-tap interpolator and the short one common meters
(libebur128) use, so masters stay under a ceiling by either reading.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from mixai.dsp import polyphase
from mixai.dsp.design import kaiser_lowpass
from mixai.dsp.loudness import gain_to_db
from mixai.dsp.streaming import SUB_BLOCK
from mixai.threads import helper_pool

OVERSAMPLING = 4
FFT_FRAME = 4096  # overlap-save frame of the whole-block true-peak filter
FFT_SHARE = 6     # whole-block filtering wins once a sixth of the sub-blocks need exact peaks


@lru_cache(maxsize=4)
def _interpolation_phases(factor: int = OVERSAMPLING, taps_per_phase: int = 32) -> np.ndarray:
    """Polyphase FIR for factor-times oversampling, shaped (taps_per_phase, factor).

    A windowed-sinc low-pass at the original Nyquist frequency. BS.1770-4 Annex 2 sketches 48 taps;
    128 taps (Kaiser, beta 5) track an ideal reconstruction to within ~0.03 dB even for white noise,
    where the 48-tap filter reads up to 0.4 dB low and would let inter-sample overs through.
    """
    # Odd length: one phase then lands exactly on the original samples (a whole-sample delay).
    taps = kaiser_lowpass(factor * taps_per_phase + 1, 1.0 / factor, beta=5.0) * factor  # scipy.signal.firwin
    taps = np.concatenate([taps, np.zeros(factor - 1)])
    phases = taps.reshape(taps_per_phase + 1, factor)  # row m, column k = taps[m * factor + k]
    return phases[::-1].astype(np.float32)  # reversed rows: a sliding window times this = convolution


@lru_cache(maxsize=4)
def _meter_phases(factor: int = OVERSAMPLING, taps: int = 49, rows: int = 33) -> np.ndarray:
    """A short interpolator like the one common loudness meters use (libebur128 runs a 49-tap
    windowed sinc for 4x; this is a Hann-windowed one of that length), laid out like
    :func:`_interpolation_phases` and centred on the same sample, zero-padded to ``rows`` rows.

    Short filters pass part of the images near Nyquist and read limited, bright material up to
    ~0.4 dB above the band-limited truth. Users check masters with such meters, so the detector
    reads the higher of the two filters. On every material of ``benchmarks/check_true_peak.py``
    this one reads at least as high as libebur128 itself (equal on music, higher on bright noise).
    """
    m = np.arange(taps) - (taps - 1) / 2
    short = np.sinc(m / factor) * np.hanning(taps)
    full = np.zeros(rows * factor)
    start = (rows * factor - factor) // 2 - (taps - 1) // 2  # centre tap on the other filter's centre
    full[start:start + taps] = short
    return full.reshape(rows, factor)[::-1].astype(np.float32)



def _pool():
    return helper_pool("peak", 2)  # one thread a channel



class TruePeakDetector:
    """Streaming 4x oversampled peak, per sample (max over channels and phases) or per block.

    Values lag the input by :attr:`delay` samples (the interpolation filter's group delay).

    The FIR is the expensive part, so it only runs where it can matter: an inter-sample value can
    exceed the local sample peak by at most the L1 norm of a phase's taps (:attr:`overshoot`), so a
    stretch whose samples times that bound stay below the level of interest is settled without it.
    """

    def __init__(self, channels: int) -> None:
        accurate, meter = _interpolation_phases(), _meter_phases()
        self._phases = np.concatenate([accurate, meter], axis=1)
        # Between-sample phases of both filters (their on-sample phases are the sample itself).
        self._between = np.ascontiguousarray(np.concatenate([accurate[:, 1:], meter[:, 1:]], axis=1))
        self._rows = self._phases.shape[0]
        self.channels = channels
        self._context = np.zeros((channels, self._rows - 1), dtype=np.float32)
        self.delay = (self._rows - 1) // 2
        self.overshoot = float(np.abs(self._phases).sum(axis=0).max())
        self._offsets = np.arange(self._rows)

    def _advance(self, block: np.ndarray) -> np.ndarray:
        block = np.atleast_2d(block).astype(np.float32, copy=False)
        data = np.concatenate([self._context, block], axis=1)
        self._context = data[:, data.shape[1] - self._context.shape[1]:]
        return data

    def _bounds(self, data: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Per sub-block: the largest |sample| any of its outputs can see; and that bound per sample.

        A sub-block's outputs read its own 64 input samples plus the filter's reach (32 more), so
        the largest |sample| of that input sub-block and the next one bounds them all.
        """
        blocks = -(-n // SUB_BLOCK)
        magnitude = np.abs(data).max(axis=0)
        padded = np.zeros((blocks + 1) * SUB_BLOCK, np.float32)
        padded[:min(magnitude.size, padded.size)] = magnitude[:padded.size]
        block_max = padded.reshape(-1, SUB_BLOCK).max(axis=1)
        bound = np.maximum(block_max[:-1], block_max[1:])
        return bound, np.repeat(bound, SUB_BLOCK)[:n]

    def _exact(self, data: np.ndarray, blocks: np.ndarray) -> np.ndarray:
        """Oversampled peaks of whole sub-blocks, shaped (len(blocks), SUB_BLOCK).

        Few sub-blocks: each one's samples plus the filter's reach are gathered, then every output
        is a window of them times the polyphase matrix. Many: the whole block is filtered at once by
        :meth:`_all_peaks` (FFT convolution, several times cheaper per sample) and the rows picked.
        """
        n = data.shape[1] - (self._rows - 1)
        starts = blocks * SUB_BLOCK
        valid = (starts[:, None] + np.arange(SUB_BLOCK)) < n
        if blocks.size * SUB_BLOCK * FFT_SHARE >= n:
            peak = self._all_peaks(data)
            padded = np.zeros(-(-n // SUB_BLOCK) * SUB_BLOCK, np.float32)
            padded[:n] = peak
            return padded.reshape(-1, SUB_BLOCK)[blocks]
        reach = np.arange(SUB_BLOCK + self._rows - 1)
        gather = np.minimum(starts[:, None] + reach, data.shape[1] - 1)

        def channel_peaks(channel: np.ndarray) -> np.ndarray:
            spans = channel[gather]  # (blocks, SUB_BLOCK + rows - 1)
            windows = np.lib.stride_tricks.sliding_window_view(spans, self._rows, axis=1)
            peak = np.abs(windows @ self._between).max(axis=2)
            return np.maximum(peak, np.abs(spans[:, self.delay:self.delay + SUB_BLOCK]))

        if data.shape[0] > 1 and blocks.size >= 256:  # numpy releases the GIL: one core a channel
            peak = np.maximum.reduce(list(_pool().map(channel_peaks, data)))
        else:
            peak = np.maximum.reduce([channel_peaks(channel) for channel in data])
        return np.where(valid, peak, 0.0)

    def _all_peaks(self, data: np.ndarray) -> np.ndarray:
        """Oversampled peak of every output sample of ``data`` (max over channels and phases).

        Compiled direct convolution (:mod:`mixai.dsp.polyphase`) where it was built; else
        overlap-save FFT convolution: one forward transform per frame serves all the
        between-sample phases; the on-sample phase is the (delayed) input itself. (numpy's FFT:
        scipy.fft would bring scipy.special, a seventh of a second of start-up.)
        """
        rows = self._rows
        n = data.shape[1] - (rows - 1)
        if n <= 0:
            return np.zeros(0, np.float32)
        if polyphase.available():  # the same filter done directly in C, several times cheaper
            return polyphase.peaks(data, self._between, self.delay)
        fft = np.fft
        size = FFT_FRAME if n > FFT_FRAME else int(2 ** math.ceil(math.log2(n + rows - 1)))
        hop = size - rows + 1
        frames = -(-n // hop)
        # Correlation with the reversed-row phases == convolution with them reversed back.
        kernels = fft.rfft(self._between[::-1].T, n=size, axis=1)  # (3, size // 2 + 1)

        def channel_peaks(channel: np.ndarray) -> np.ndarray:
            padded = np.zeros(frames * hop + rows - 1, np.float32)
            padded[:channel.size] = channel[:padded.size]
            windows = np.lib.stride_tricks.sliding_window_view(padded, size)[::hop][:frames]
            spectra = fft.rfft(windows, axis=1)
            peak = np.abs(padded[self.delay:self.delay + frames * hop]).reshape(frames, hop)  # on-sample
            product = np.empty_like(spectra)
            for kernel in kernels:
                np.multiply(spectra, kernel, out=product)
                phase = fft.irfft(product, n=size, axis=1)[:, rows - 1:]
                np.maximum(peak, np.abs(phase, out=phase), out=peak)
            return peak.reshape(-1)[:n]

        if data.shape[0] > 1 and n >= 4 * FFT_FRAME:
            return np.maximum.reduce(list(_pool().map(channel_peaks, data)))
        return np.maximum.reduce([channel_peaks(channel) for channel in data])

    def envelope(self, block: np.ndarray, *, floor: float = 0.0) -> np.ndarray:
        """Per-sample peaks. Where even the bound stays under ``floor`` the bound is returned
        instead of the exact value: never lower than the truth, and cheap."""
        data = self._advance(block)
        n = data.shape[1] - (self._rows - 1)
        block_bound, window_max = self._bounds(data, n)
        out = window_max * np.float32(self.overshoot)
        blocks = np.flatnonzero(block_bound * self.overshoot >= floor)
        if blocks.size:
            exact = self._exact(data, blocks)
            full = np.zeros(block_bound.size * SUB_BLOCK, np.float32)
            full.reshape(-1, SUB_BLOCK)[blocks] = exact
            mask = np.zeros(block_bound.size, bool)
            mask[blocks] = True
            take = np.repeat(mask, SUB_BLOCK)[:n]
            out[take] = full[:n][take]
        return out

    def max_peak(self, block: np.ndarray, *, at_least: float = 0.0, known_bound: np.ndarray | None = None) -> float:
        """The block's true peak, or ``at_least`` when nothing in it can beat that.

        Sub-blocks are settled loudest first; the search stops once no remaining bound can win.
        ``known_bound`` optionally gives, per sub-block of this call's output, an upper bound
        already known from elsewhere (see :class:`TruePeakMeter`); the tighter bound prunes.
        """
        data = self._advance(block)
        n = data.shape[1] - (self._rows - 1)
        block_bound, _ = self._bounds(data, n)
        bound = block_bound * self.overshoot
        if known_bound is not None:
            bound = np.minimum(bound, known_bound[:bound.size])
        best = max(at_least, float(np.abs(data[:, self.delay:self.delay + n]).max()) if n else 0.0)
        order = np.argsort(bound)[::-1]
        order = order[bound[order] > best]
        if order.size * SUB_BLOCK * FFT_SHARE >= n:  # most of it is in play: filter it all at once
            return max(best, float(self._all_peaks(data).max(initial=0.0)))
        start, size = 0, 16
        while start < order.size:
            batch = order[start:start + size]
            batch = batch[bound[batch] > best]
            if batch.size == 0:
                break
            best = max(best, float(self._exact(data, batch).max()))
            start, size = start + size, size * 4
        return best



class TruePeakMeter:
    """Running maximum of the 4x oversampled true peak and of the sample peak.

    ``sub_block_bound``, when given, holds for every 64-sample sub-block of the whole signal
    (samples ``64 j`` to ``64 j + 63``) an upper bound of its oversampled peak, known from elsewhere:
    the mastering pipeline derives one from the render's peak envelope and the limiter's gains.
    Sub-blocks whose bound cannot beat the running maximum are then never filtered. The result is
    the same exact maximum; only the work changes.
    """

    def __init__(self, channels: int, *, sub_block_bound: np.ndarray | None = None) -> None:
        self._detector = TruePeakDetector(channels)
        # One spare slot past the end reads as "nothing known" (infinity) for the filter's tail.
        self._known = None if sub_block_bound is None else np.append(
            np.asarray(sub_block_bound, np.float32), np.float32(np.inf))
        self._position = 0  # index of the next input sample
        self.true_peak = 0.0
        self.sample_peak = 0.0

    def add(self, block: np.ndarray) -> None:
        if block.size == 0:
            return
        self.sample_peak = max(self.sample_peak, float(np.abs(block).max()))
        self.true_peak = self._detector.max_peak(block, at_least=self.true_peak,
                                                 known_bound=self._known_bound(block.shape[-1]))
        self._position += block.shape[-1]

    def _known_bound(self, frames: int) -> np.ndarray | None:
        """Per sub-block of the detector's next output, the bound from ``sub_block_bound``.

        The detector's output ``t`` of this call sits at signal sample ``position - delay + t``; a
        64-sample run of outputs straddles at most two of the signal's sub-blocks. Outside the
        signal (the filter's run-in and tail) nothing is known: infinity.
        """
        if self._known is None:
            return None
        first = self._position - self._detector.delay + np.arange(-(-frames // SUB_BLOCK)) * SUB_BLOCK
        last_known = self._known.size - 1  # the spare infinity

        def lookup(sample: np.ndarray) -> np.ndarray:
            index = np.floor_divide(sample, SUB_BLOCK)
            return self._known[np.where((sample < 0) | (index >= last_known), last_known, index)]

        return np.maximum(lookup(first), lookup(first + SUB_BLOCK - 1))

    def flush(self) -> None:
        """Push the filter's tail through so the last samples' inter-sample peaks count."""
        tail = np.zeros_like(self._detector._context)
        self.true_peak = self._detector.max_peak(tail, at_least=self.true_peak)

    @property
    def true_peak_dbtp(self) -> float:
        return gain_to_db(max(self.true_peak, self.sample_peak))

    @property
    def sample_peak_dbfs(self) -> float:
        return gain_to_db(self.sample_peak)



def true_peak_dbtp(audio: np.ndarray) -> float:
    """True peak of a whole (channels, samples) array, 4x oversampled, in dBTP."""
    audio = np.atleast_2d(audio)
    meter = TruePeakMeter(audio.shape[0])
    meter.add(audio)
    meter.flush()
    return meter.true_peak_dbtp


__all__ = ["OVERSAMPLING", "SUB_BLOCK", "TruePeakDetector", "TruePeakMeter", "true_peak_dbtp"]
