"""Loudness and peak measurement that streams: ITU-R BS.1770-4 loudness, EBU Tech 3342 loudness
range, and 4x oversampled true peak.

pyloudnorm is the reference implementation of BS.1770 and mixai uses its K-weighting filter
coefficients; what pyloudnorm does not do is take audio a block at a time, which a 60-minute file
needs for bounded memory. :class:`LoudnessMeter` keeps only one mean-square value per 100 ms, so it
can meter any length, and agrees with ``pyloudnorm.Meter.integrated_loudness`` (tests check it).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy import signal

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
SILENCE_LUFS = -70.0
OVERSAMPLING = 4


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def gain_to_db(gain: float) -> float:
    return 20.0 * math.log10(gain) if gain > 0 else -math.inf


@lru_cache(maxsize=16)
def _k_weighting_sos(sample_rate: int) -> np.ndarray:
    """The two BS.1770 pre-filters (high shelf, then RLB high-pass) as second-order sections."""
    import pyloudnorm

    filters = pyloudnorm.Meter(sample_rate)._filters
    sections = [signal.tf2sos(filters[name].b, filters[name].a) for name in ("high_shelf", "high_pass")]
    return np.vstack(sections)


def _k_weighted_power(sos: np.ndarray, block: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Sum over channels of the squared K-weighted signal, per sample; ``zi`` (sections, channels,
    2) carries the filter state and is updated in place.

    A compiled loop for mono and stereo (numba, which librosa brings: about four times faster than
    ``scipy.signal.sosfilt`` and the same numbers, see the tests), sosfilt otherwise.
    """
    kernels = _compiled_kernels()
    if kernels is not None and block.shape[0] in (1, 2) and sos.shape[0] == 2:
        return kernels[block.shape[0] - 1](sos, np.ascontiguousarray(block, dtype=np.float32), zi)
    total = np.zeros(block.shape[1])
    for c in range(block.shape[0]):
        weighted, zi[:, c] = signal.sosfilt(sos, block[c].astype(np.float64), zi=zi[:, c])
        total += np.square(weighted)
    return total


def _power_mono(sos, x, zi):  # pragma: no cover - compiled by numba
    out = np.empty(x.shape[1], np.float64)
    b00, b01, b02, a01, a02 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
    b10, b11, b12, a11, a12 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
    p, q, r, t = zi[0, 0, 0], zi[0, 0, 1], zi[1, 0, 0], zi[1, 0, 1]
    for i in range(x.shape[1]):
        v = np.float64(x[0, i])
        y = b00 * v + p  # transposed direct form II, as sosfilt
        p = b01 * v - a01 * y + q
        q = b02 * v - a02 * y
        w = b10 * y + r
        r = b11 * y - a11 * w + t
        t = b12 * y - a12 * w
        out[i] = w * w
    zi[0, 0, 0], zi[0, 0, 1], zi[1, 0, 0], zi[1, 0, 1] = p, q, r, t
    return out


def _power_stereo(sos, x, zi):  # pragma: no cover - compiled by numba
    # Both channels in one loop: two independent recurrences keep the CPU's pipelines full.
    out = np.empty(x.shape[1], np.float64)
    b00, b01, b02, a01, a02 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
    b10, b11, b12, a11, a12 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
    p0, q0, r0, t0 = zi[0, 0, 0], zi[0, 0, 1], zi[1, 0, 0], zi[1, 0, 1]
    p1, q1, r1, t1 = zi[0, 1, 0], zi[0, 1, 1], zi[1, 1, 0], zi[1, 1, 1]
    for i in range(x.shape[1]):
        v0 = np.float64(x[0, i])
        v1 = np.float64(x[1, i])
        y0 = b00 * v0 + p0
        y1 = b00 * v1 + p1
        p0 = b01 * v0 - a01 * y0 + q0
        p1 = b01 * v1 - a01 * y1 + q1
        q0 = b02 * v0 - a02 * y0
        q1 = b02 * v1 - a02 * y1
        w0 = b10 * y0 + r0
        w1 = b10 * y1 + r1
        r0 = b11 * y0 - a11 * w0 + t0
        r1 = b11 * y1 - a11 * w1 + t1
        t0 = b12 * y0 - a12 * w0
        t1 = b12 * y1 - a12 * w1
        out[i] = w0 * w0 + w1 * w1
    zi[0, 0, 0], zi[0, 0, 1], zi[1, 0, 0], zi[1, 0, 1] = p0, q0, r0, t0
    zi[0, 1, 0], zi[0, 1, 1], zi[1, 1, 0], zi[1, 1, 1] = p1, q1, r1, t1
    return out


@lru_cache(maxsize=None)
def compiled(function: Callable) -> Callable | None:
    """``function`` compiled by numba (which librosa brings; cached on disk after the first run,
    GIL released while it runs), or None where numba is missing."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba comes with librosa
        return None
    return numba.njit(cache=True, nogil=True)(function)


def _compiled_kernels():
    """(mono, stereo) K-weighting loops, compiled; None without numba."""
    mono, stereo = compiled(_power_mono), compiled(_power_stereo)
    return None if mono is None or stereo is None else (mono, stereo)


class GroupReducer:
    """Reduce a stream of per-sample values over consecutive groups of ``size`` samples (e.g. the
    mean square of each 100 ms step, the largest peak of each 64-sample sub-block), carrying the
    values short of a whole group over to the next call."""

    def __init__(self, size: int, reduce: Callable[..., np.ndarray]) -> None:
        self.size = size
        self._reduce = reduce
        self._pending: np.ndarray | None = None

    def add(self, values: np.ndarray) -> np.ndarray:
        """The reductions of the groups these values complete (possibly none)."""
        data = np.concatenate([self._pending, values]) if self._pending is not None and self._pending.size else values
        whole = (data.size // self.size) * self.size
        self._pending = data[whole:]
        return self._reduce(data[:whole].reshape(-1, self.size), axis=1)

    def remainder(self) -> np.ndarray:
        """The values of the last, incomplete group."""
        return self._pending if self._pending is not None else np.zeros(0)


def _energy_to_lufs(energy: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(energy)


class LoudnessMeter:
    """Streaming BS.1770-4 meter: feed (channels, samples) blocks with :meth:`add`, then read.

    Channel weights are 1.0 for the left and right (and mono) channels, as BS.1770 specifies.
    """

    STEP_SECONDS = 0.1

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self._sos = _k_weighting_sos(self.sample_rate)
        self._zi = np.zeros((self._sos.shape[0], self.channels, 2))
        self._step = max(1, int(round(self.STEP_SECONDS * self.sample_rate)))
        self._steps_of = GroupReducer(self._step, np.mean)  # channel-summed K-weighted squares -> steps
        self._energies: list[np.ndarray] = []  # channel-summed mean square per 100 ms step

    def add(self, block: np.ndarray, *, power: bool = False) -> np.ndarray | None:
        """Meter a (channels, samples) block.

        With ``power``, also return the channel-summed square of the K-weighted block, per sample
        (the mastering pipeline keeps it to predict loudness after gain and limiting).
        """
        block = np.atleast_2d(block)
        squares = _k_weighted_power(self._sos, block, self._zi)
        steps = self._steps_of.add(squares)
        if steps.size:
            self._energies.append(steps)
        return squares if power else None

    def _steps(self) -> np.ndarray:
        return np.concatenate(self._energies) if self._energies else np.zeros(0)

    def _window_energies(self, steps_per_window: int) -> np.ndarray:
        steps = self._steps()
        if steps.size < steps_per_window:
            return np.zeros(0)
        csum = np.concatenate([[0.0], np.cumsum(steps)])
        return (csum[steps_per_window:] - csum[:-steps_per_window]) / steps_per_window

    def integrated_lufs(self) -> float:
        """Gated integrated loudness (LUFS); -inf when everything is below the -70 LUFS gate."""
        blocks = self._window_energies(4)  # 400 ms blocks, 75 % overlap
        blocks = blocks[_energy_to_lufs(blocks) > ABSOLUTE_GATE_LUFS]
        if blocks.size == 0:
            return -math.inf
        relative_gate = float(_energy_to_lufs(blocks.mean())) + RELATIVE_GATE_LU
        gated = blocks[_energy_to_lufs(blocks) > relative_gate]
        return float(_energy_to_lufs(gated.mean()))

    def loudness_range_lu(self) -> float:
        """EBU Tech 3342 loudness range: 10th to 95th percentile of gated 3 s short-term loudness."""
        short_term = self._window_energies(30)
        short_term = short_term[_energy_to_lufs(short_term) > ABSOLUTE_GATE_LUFS]
        if short_term.size == 0:
            return 0.0
        gate = float(_energy_to_lufs(short_term.mean())) + LRA_RELATIVE_GATE_LU
        levels = _energy_to_lufs(short_term)
        levels = levels[levels > gate]
        if levels.size == 0:
            return 0.0
        low, high = np.percentile(levels, [10, 95])
        return float(high - low)

    def max_short_term_lufs(self) -> float:
        windows = self._window_energies(30)
        if windows.size == 0:
            windows = self._window_energies(max(1, self._steps().size))
        return float(_energy_to_lufs(windows.max())) if windows.size else -math.inf

    def max_momentary_lufs(self) -> float:
        windows = self._window_energies(4)
        return float(_energy_to_lufs(windows.max())) if windows.size else -math.inf


@lru_cache(maxsize=4)
def _interpolation_phases(factor: int = OVERSAMPLING, taps_per_phase: int = 32) -> np.ndarray:
    """Polyphase FIR for factor-times oversampling, shaped (taps_per_phase, factor).

    A windowed-sinc low-pass at the original Nyquist frequency. BS.1770-4 Annex 2 sketches 48 taps;
    128 taps (Kaiser, beta 5) track an ideal reconstruction to within ~0.03 dB even for white noise,
    where the 48-tap filter reads up to 0.4 dB low and would let inter-sample overs through.
    """
    # Odd length: one phase then lands exactly on the original samples (a whole-sample delay).
    taps = signal.firwin(factor * taps_per_phase + 1, 1.0 / factor, window=("kaiser", 5.0)) * factor
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


SUB_BLOCK = 64
FFT_FRAME = 4096  # overlap-save frame of the whole-block true-peak filter
FFT_SHARE = 6     # whole-block filtering wins once a sixth of the sub-blocks need exact peaks


@lru_cache(maxsize=1)
def stage_pool():
    """One helper thread to overlap independent measurements of a block (numpy and scipy
    release the GIL), e.g. the true peak alongside the K-weighted loudness."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="mixai-stage")


@lru_cache(maxsize=1)
def _pool():
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="mixai-peak")


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

        Overlap-save FFT convolution: one forward transform per frame serves all three
        between-sample phases; the on-sample phase is the (delayed) input itself.
        """
        from scipy import fft

        rows = self._rows
        n = data.shape[1] - (rows - 1)
        if n <= 0:
            return np.zeros(0, np.float32)
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


def integrated_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness of a whole (channels, samples) array."""
    meter = LoudnessMeter(sample_rate, np.atleast_2d(audio).shape[0])
    meter.add(audio)
    return meter.integrated_lufs()


def true_peak_dbtp(audio: np.ndarray) -> float:
    """True peak of a whole (channels, samples) array, 4x oversampled, in dBTP."""
    audio = np.atleast_2d(audio)
    meter = TruePeakMeter(audio.shape[0])
    meter.add(audio)
    meter.flush()
    return meter.true_peak_dbtp
