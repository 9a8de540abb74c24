"""Peak and energy of a signal through a Butterworth low- or high-pass, with numpy alone.

The crest-factor features were defined through ``scipy.signal.butter(order, f, fs=, output="sos")``
and ``sosfilt`` (zero initial state). Importing scipy.signal costs about a second and a compiled
loop costs numba's start-up and, on a new machine, its compilation; the analysis excerpt is at
most a minute long, so an FFT convolution with the filter's impulse response (cut where it has
decayed below 1e-13 of its start) gives the same output to ~1e-10 for a few FFTs.
``tests/test_startup.py`` checks the design and the output against scipy.signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DECAY = 30.0  # the impulse response is kept until it has fallen by e^-30 (about 1e-13)


@dataclass(frozen=True)
class DigitalFilter:
    """A digital filter as zeros, poles and gain (z-plane), ``scipy.signal.butter(output="zpk")``."""

    zeros: np.ndarray
    poles: np.ndarray
    gain: float

    def response(self, n_fft: int) -> np.ndarray:
        """Complex frequency response at the ``n_fft // 2 + 1`` rFFT bins."""
        z = np.exp(1j * np.pi * np.arange(n_fft // 2 + 1) / (n_fft // 2))  # e^{jw}, w = 0..pi
        h = np.full(z.shape, self.gain, dtype=np.complex128)
        for zero in self.zeros:
            h *= z - zero
        for pole in self.poles:
            h /= z - pole
        return h

    def impulse_response(self) -> np.ndarray:
        """The causal impulse response up to where it has decayed by :data:`DECAY` nepers."""
        radius = float(np.max(np.abs(self.poles)))
        length = int(np.ceil(DECAY / -np.log(radius))) + 4 * len(self.poles)
        n_fft = 1 << int(np.ceil(np.log2(8 * length)))  # long enough that time aliasing is nil
        return np.fft.irfft(self.response(n_fft), n_fft)[:length]


def butterworth(order: int, cutoff_hz: float, kind: str, sample_rate: float) -> DigitalFilter:
    """``scipy.signal.butter(order, cutoff_hz, kind, fs=sample_rate, output="zpk")``: the analogue
    prototype, pre-warped, through the bilinear transform. ``kind`` is "lowpass" or "highpass"."""
    if kind not in ("lowpass", "highpass"):
        raise ValueError(f"kind must be 'lowpass' or 'highpass', not {kind!r}")
    m = np.arange(-order + 1, order, 2)
    prototype = -np.exp(1j * np.pi * m / (2 * order))  # unit-cutoff analogue poles, left half-plane
    fs2 = 2.0 * sample_rate
    warped = fs2 * np.tan(np.pi * cutoff_hz / sample_rate)  # pre-warped cutoff, rad/s
    if kind == "lowpass":
        zeros_s, poles_s, gain_s = np.zeros(0), warped * prototype, warped ** order
    else:
        zeros_s, poles_s = np.zeros(order), warped / prototype
        gain_s = float(np.real(1.0 / np.prod(-prototype)))
    poles = (fs2 + poles_s) / (fs2 - poles_s)
    zeros = (fs2 + zeros_s) / (fs2 - zeros_s)
    zeros = np.concatenate([zeros, -np.ones(order - zeros_s.size)])  # zeros at infinity go to Nyquist
    gain = gain_s * float(np.real(np.prod(fs2 - zeros_s) / np.prod(fs2 - poles_s)))
    return DigitalFilter(zeros, poles, gain)


def to_sos(f: DigitalFilter) -> np.ndarray:
    """Second-order sections (b0, b1, b2, 1, a1, a2) of a filter with conjugate pole pairs and
    real zeros, shaped (n // 2, 6): the poles nearest the unit circle last and the gain in the
    first section, as ``scipy.signal.zpk2sos`` orders them."""
    if len(f.poles) % 2 or len(f.zeros) != len(f.poles):
        raise ValueError("to_sos takes an even order with as many zeros as poles")
    upper = sorted((p for p in f.poles if p.imag > 0), key=lambda p: -abs(1 - abs(p)))
    real = sorted((p for p in f.poles if p.imag == 0), key=lambda p: -abs(1 - abs(p)))
    pairs = [(p, np.conj(p)) for p in upper] + [tuple(real[i:i + 2]) for i in range(0, len(real), 2)]
    pairs.sort(key=lambda pair: -abs(1 - max(abs(pair[0]), abs(pair[1]))))
    zeros = np.sort(np.real(f.zeros))
    sections = []
    for i, pair in enumerate(pairs):
        b = np.real(np.poly(zeros[2 * i:2 * i + 2])) * (f.gain if i == 0 else 1.0)
        sections.append(np.concatenate([b, np.real(np.poly(pair))]))
    return np.array(sections)


FRAMES_AT_ONCE = 64  # overlap-save frames transformed together: a few MB of temporaries


def filtered_peak_energy(x: np.ndarray, filters: list[DigitalFilter]) -> list[tuple[float, float]]:
    """For each filter, (largest |y|, sum of y^2) of ``y``: ``x`` through it from rest, as
    ``scipy.signal.sosfilt`` computes it (float64).

    Overlap-save in frames of 8x the longest impulse response (short FFTs are the cheap ones); each
    frame's forward transform serves every filter.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    responses = [f.impulse_response() for f in filters]
    taps = max(h.size for h in responses)
    n_fft = 1 << int(np.ceil(np.log2(8 * taps)))
    hop = n_fft - taps + 1
    kernels = np.stack([np.fft.rfft(h, n_fft) for h in responses])  # (filters, bins)
    padded = np.concatenate([np.zeros(taps - 1), x, np.zeros(-(x.size) % hop + n_fft)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][: -(-x.size // hop)]
    peaks, energies = np.zeros(len(filters)), np.zeros(len(filters))
    for start in range(0, frames.shape[0], FRAMES_AT_ONCE):
        spectra = np.fft.rfft(frames[start:start + FRAMES_AT_ONCE], axis=1)
        first = start * hop
        valid = min(x.size - first, spectra.shape[0] * hop)
        for k in range(len(filters)):
            y = np.fft.irfft(spectra * kernels[k], n_fft, axis=1)[:, taps - 1:].reshape(-1)[:valid]
            peaks[k] = max(peaks[k], float(np.max(np.abs(y))))
            energies[k] += float(np.dot(y, y))
    return [(float(p), float(e)) for p, e in zip(peaks, energies)]


__all__ = ["DECAY", "DigitalFilter", "butterworth", "to_sos", "filtered_peak_energy"]
