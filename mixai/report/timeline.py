"""What a visual report plots, measured while a master runs: for the input and the output their
short-term loudness every 100 ms, their long-term spectrum, and for the output its true peak
every 100 ms; the limiter's gain reduction comes from the final pass.

Only collected when a report is asked for (it costs a K-weighting, FFTs and a 4x true-peak
filter over each signal): :class:`SignalTrace` is fed the same blocks as the render (the input)
and as the writer (the output, through :class:`TracingSink`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from mixai.dsp.loudness import LoudnessMeter
from mixai.dsp.truepeak import TruePeakDetector

SPECTRUM_FFT = 8192
STEP_S = LoudnessMeter.STEP_SECONDS
TRUE_PEAK_FLOOR = 10 ** (-30 / 20)  # below -30 dBTP the peak curve shows a bound (never under the truth)


@dataclass(frozen=True)
class Trace:
    """One signal, as plotted: short-term and momentary loudness (LUFS, the 3 s and 400 ms windows
    ending at each 100 ms step), the long-term average power spectrum (dB, at ``freqs_hz``) and,
    for an output, its true peak per 100 ms step (dBTP)."""

    short_term_lufs: np.ndarray
    freqs_hz: np.ndarray
    spectrum_db: np.ndarray
    true_peak_dbtp: np.ndarray | None = None
    momentary_lufs: np.ndarray | None = None  # the 400 ms window ending at each step


@dataclass
class Timeline:
    """The report's curves: the input and the output (and a reference's spectrum), the
    limiter's reduction per 100 ms step, and the lines to draw them against."""

    before: Trace
    after: Trace | None
    limiting_db: np.ndarray | None
    target_lufs: float
    ceiling_dbtp: float
    reference: Trace | None = None
    step_s: float = STEP_S


class SignalTrace:
    """Feed (channels, samples) blocks, then :meth:`finish`."""

    def __init__(self, sample_rate: int, channels: int, *, true_peak: bool = False) -> None:
        self.sample_rate = sample_rate
        self._meter = LoudnessMeter(sample_rate, channels)
        self._window = np.hanning(SPECTRUM_FFT).astype(np.float32)
        self._carry = np.zeros(0, np.float32)
        self._power = np.zeros(SPECTRUM_FFT // 2 + 1)
        self._frames = 0
        self._peaks = TruePeakDetector(channels) if true_peak else None
        self._step = self._meter.step_frames
        self._peak_carry = np.zeros(0, np.float32)
        self._peak_steps: list[np.ndarray] = []

    def add(self, block: np.ndarray) -> None:
        block = np.atleast_2d(np.asarray(block, np.float32))
        if block.shape[-1] == 0:
            return
        self._meter.add(block)
        mono = np.concatenate([self._carry, block.mean(axis=0)])
        whole = mono.size // SPECTRUM_FFT * SPECTRUM_FFT
        if whole:
            frames = mono[:whole].reshape(-1, SPECTRUM_FFT) * self._window
            self._power += np.square(np.abs(np.fft.rfft(frames, axis=1))).sum(axis=0)
            self._frames += frames.shape[0]
        self._carry = mono[whole:]
        if self._peaks is not None:
            self._add_peaks(self._peaks.envelope(block, floor=TRUE_PEAK_FLOOR))

    def _add_peaks(self, envelope: np.ndarray) -> None:
        data = np.concatenate([self._peak_carry, envelope])
        whole = data.size // self._step * self._step
        if whole:
            self._peak_steps.append(data[:whole].reshape(-1, self._step).max(axis=1))
        self._peak_carry = data[whole:]

    def finish(self) -> Trace:
        freqs = np.fft.rfftfreq(SPECTRUM_FFT, 1.0 / self.sample_rate)
        if self._frames == 0 and self._carry.size:  # shorter than one FFT frame: zero-padded
            padded = np.zeros(SPECTRUM_FFT, np.float32)
            padded[:self._carry.size] = self._carry * np.hanning(self._carry.size)
            self._power += np.square(np.abs(np.fft.rfft(padded)))
            self._frames = 1
        with np.errstate(divide="ignore"):
            spectrum = 10 * np.log10(np.maximum(self._power / max(self._frames, 1), 1e-20) /
                                     np.square(self._window.sum() / 2))
        peaks = None
        if self._peaks is not None:
            self._add_peaks(self._peaks.envelope(np.zeros((self._peaks.channels, self._peaks.delay), np.float32),
                                                 floor=TRUE_PEAK_FLOOR))
            if self._peak_carry.size:
                self._peak_steps.append(self._peak_carry.max(keepdims=True))
            steps = np.concatenate(self._peak_steps) if self._peak_steps else np.zeros(0)
            peaks = 20.0 * np.log10(np.maximum(steps.astype(np.float64), 1e-10))
        short_term = self._meter.window_series_lufs(3.0)
        if short_term.size == 0:  # under 3 s: the whole programme as one window
            short_term = np.array([self._meter.latest_lufs(3.0)])
        return Trace(short_term, freqs, spectrum, peaks, self._meter.window_series_lufs(0.4))


class TracingSink:
    """A sink (made by ``factory`` for each pass) that hands every block to an output trace
    before the real sink: a final pass that is redone starts a fresh trace, so the report shows
    the pass that was kept."""

    def __init__(self, factory: Callable[[], Any], sample_rate: int, channels: int) -> None:
        self._factory = factory
        self._inner: Any = None
        self._rate, self._channels = sample_rate, channels
        self.trace: SignalTrace | None = None

    def __enter__(self) -> "TracingSink":
        self.trace = SignalTrace(self._rate, self._channels, true_peak=True)
        self._inner = self._factory()
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        return self._inner.__exit__(*exc)

    def write(self, block: np.ndarray) -> None:
        assert self.trace is not None
        self.trace.add(block)
        self._inner.write(block)

    def discard(self) -> None:
        self._inner.discard()


def observed(blocks: Iterable[np.ndarray], trace: SignalTrace) -> Iterator[np.ndarray]:
    """The blocks, each also handed to ``trace`` (the input's trace, fed by the render's read)."""
    for block in blocks:
        trace.add(block)
        yield block


def trace_file(path: str, sample_rate: int | None = None) -> Trace:
    """The trace of a file (a reference track's spectrum for the report)."""
    from mixai.io import audio as audio_io

    info = audio_io.probe(path)
    trace = SignalTrace(sample_rate or info.sample_rate, info.channels)
    for block in audio_io.read_blocks(path, sample_rate=sample_rate):
        trace.add(block)
    return trace.finish()


__all__ = ["SPECTRUM_FFT", "STEP_S", "Trace", "Timeline", "SignalTrace", "TracingSink", "observed", "trace_file"]
