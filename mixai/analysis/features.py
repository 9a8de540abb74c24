"""The versioned feature vector that predictors consume, and the excerpt sampler behind it.

Features describe *balance*, not level: band energies are relative to the total, dynamics are
ratios and spreads, so the same song at -30 or -10 LUFS gives (nearly) the same vector. Absolute
loudness lives in :class:`mixai.analysis.measure.Analysis` instead. Bump :data:`FEATURE_VERSION` whenever a
name, order or formula changes: models record the version they were trained on and refuse others.

The spectral features are librosa's (mel spectrogram, flatness, onset strength), computed by the
numpy formulas of :mod:`mixai.analysis.spectral` and :mod:`mixai.analysis.bandcrest`, which the
tests check against librosa and scipy.signal themselves: importing those costs a second, and
librosa's numba ufuncs some 20 s of compilation on a new machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixai.analysis import bandcrest, spectral
from mixai.dsp import sosloop
from mixai.dsp.streaming import compiled

FEATURE_VERSION = 1

# Band edges for the spectral-balance profile, in Hz (roughly third-octave pairs, 30 Hz - 16 kHz).
BAND_EDGES_HZ = (30.0, 60.0, 120.0, 250.0, 500.0, 1000.0, 2000.0, 3000.0, 4500.0, 6500.0, 9000.0,
                 12000.0, 16000.0)
BAND_FLOOR_DB = -80.0
FRAME_SECONDS = 0.05
EXCERPT_MAX_SECONDS = 60.0

FEATURE_NAMES: tuple[str, ...] = (
    *(f"band_db_{int(lo)}_{int(hi)}" for lo, hi in zip(BAND_EDGES_HZ[:-1], BAND_EDGES_HZ[1:])),
    "spectral_centroid_oct",   # log2(centroid / 1 kHz), median over frames
    "spectral_rolloff_oct",    # log2(85 % roll-off / 1 kHz)
    "spectral_flatness_db",    # mean over frames, 10*log10
    "crest_factor_db",         # sample peak over RMS of the mid signal
    "frame_rms_spread_db",     # 95th minus 10th percentile of 50 ms RMS: macro dynamics
    "frame_rms_floor_db",      # 10th percentile of 50 ms RMS relative to the 90th: fill between notes
    "envelope_motion_db",      # mean |change| of 50 ms RMS: transients vs. smeared (reverb, compression)
    "onset_strength",          # mean spectral flux relative to its median: punch
    "low_band_crest_db",       # crest factor below 150 Hz: kick and bass dynamics
    "high_band_crest_db",      # crest factor above 4 kHz: transients, cymbals
    "side_to_mid_db",          # stereo width (side energy over mid energy)
    "lr_correlation",          # 1 for mono, 0 for unrelated channels
)
FEATURE_COUNT = len(FEATURE_NAMES)


@dataclass(frozen=True)
class Features:
    """A feature vector with its version, in :data:`FEATURE_NAMES` order."""

    values: np.ndarray
    version: int = FEATURE_VERSION

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float32).reshape(-1)
        if values.shape[0] != FEATURE_COUNT:
            raise ValueError(f"expected {FEATURE_COUNT} feature values, got {values.shape[0]}")
        object.__setattr__(self, "values", values)

    def __getitem__(self, name: str) -> float:
        return float(self.values[FEATURE_NAMES.index(name)])

    def bands_db(self) -> np.ndarray:
        return self.values[: len(BAND_EDGES_HZ) - 1].astype(np.float64)

    def to_dict(self) -> dict:
        return {"version": self.version, "names": list(FEATURE_NAMES),
                "values": [round(float(v), 5) for v in self.values]}

    @classmethod
    def from_dict(cls, data: dict) -> "Features":
        from mixai.errors import ParameterError

        if data.get("version") != FEATURE_VERSION or list(data.get("names", [])) != list(FEATURE_NAMES):
            raise ParameterError(f"features are version {data.get('version')!r}; "
                                 f"this mixai uses version {FEATURE_VERSION}")
        return cls(np.asarray(data["values"], dtype=np.float32))


def preload() -> None:
    """Load what :func:`extract` uses now rather than in its first call (the compiled band-crest
    loop, or numba's where it was not built): for long-running processes and for timing the work."""
    if not sosloop.available():
        compiled(_peak_energy)


def _n_fft(sample_rate: int) -> int:
    return int(2 ** round(np.log2(0.093 * sample_rate)))  # ~93 ms: 4096 at 44.1 kHz


def _power_spectrogram(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|^2 with a periodic Hann window on uncentred frames, shaped (bins, frames), float32."""
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    window = spectral.hann(n_fft)
    power = np.empty((n_fft // 2 + 1, frames.shape[0]), np.float32)
    for start in range(0, frames.shape[0], 256):  # a few MB at a time, not 60 s worth of temporaries
        spectrum = np.fft.rfft(frames[start:start + 256] * window, axis=1)
        power[:, start:start + 256] = (spectrum.real ** 2 + spectrum.imag ** 2).T
    return power


def _sum_products(a: np.ndarray, b: np.ndarray) -> float:
    """sum(a * b) accumulated in float64 (einsum casts through a small buffer: no signal-sized
    temporaries)."""
    return float(np.einsum("i,i->", a, b, dtype=np.float64))


def _crest_db(x: np.ndarray) -> float:
    rms = float(np.sqrt(_sum_products(x, x) / max(x.size, 1)))
    peak = max(float(x.max()), -float(x.min())) if x.size else 0.0
    return 20.0 * np.log10(max(peak, 1e-9) / max(rms, 1e-9))


def _band_crest_db(mid: np.ndarray, sample_rate: int, low_hz: float | None, high_hz: float | None) -> float:
    """Crest factor of ``mid`` through a 4th-order Butterworth low- or high-pass
    (``scipy.signal.butter(4, ...)`` then ``sosfilt``, from rest)."""
    nyquist = sample_rate / 2
    if low_hz is not None and low_hz >= nyquist * 0.95:
        return 0.0
    design = (bandcrest.butterworth(4, high_hz, "lowpass", sample_rate) if low_hz is None
              else bandcrest.butterworth(4, low_hz, "highpass", sample_rate))
    if sosloop.available():  # the loop built with the package
        peak, energy = sosloop.peak_energy(bandcrest.to_sos(design), mid)
    elif (kernel := compiled(_peak_energy)) is not None:  # numba, compiling on first use
        peak, energy = kernel(bandcrest.to_sos(design), np.ascontiguousarray(mid, dtype=np.float32))
    else:  # pragma: no cover - numba comes with librosa
        peak, energy = bandcrest.filtered_peak_energy(mid, [design])[0]
    rms = float(np.sqrt(energy / max(mid.size, 1)))
    return 20.0 * np.log10(max(peak, 1e-9) / max(rms, 1e-9))


def _peak_energy(sos, x):  # pragma: no cover - compiled by numba
    """Largest |y| and sum of y^2 of x through two second-order sections (as sosfilt computes y)."""
    b00, b01, b02, a01, a02 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
    b10, b11, b12, a11, a12 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
    p = q = r = t = 0.0
    peak = 0.0
    energy = 0.0
    for i in range(x.size):
        v = np.float64(x[i])
        y = b00 * v + p
        p = b01 * v - a01 * y + q
        q = b02 * v - a02 * y
        w = b10 * y + r
        r = b11 * y - a11 * w + t
        t = b12 * y - a12 * w
        energy += w * w
        if abs(w) > peak:
            peak = abs(w)
    return peak, energy


DC_OFFSET_LIMIT = 10 ** (-60 / 20)  # a constant offset above -60 dBFS is not part of the music


def offset_above_limit(mean: np.ndarray) -> np.ndarray | None:
    """``mean`` (per channel) as float32 when any channel's exceeds :data:`DC_OFFSET_LIMIT`, else None."""
    mean = np.asarray(mean, dtype=np.float64)
    return mean.astype(np.float32) if np.abs(mean).max(initial=0.0) > DC_OFFSET_LIMIT else None


def dc_offset(audio: np.ndarray) -> np.ndarray | None:
    """Per-channel mean of (channels, samples) audio when it exceeds :data:`DC_OFFSET_LIMIT`.

    A constant offset is inaudible but wastes headroom and pushes speakers off centre: the
    features leave it out and every master has it subtracted before the chain. Below the limit
    nothing is touched, so a neutral master stays bit-transparent.
    """
    return offset_above_limit(np.asarray(audio).mean(axis=-1, dtype=np.float64))  # no float64 copy


def extract(audio: np.ndarray, sample_rate: int) -> Features:
    """Features of a (channels, samples) float array, without its DC offset (:func:`dc_offset`).
    Silent input gives the floor values.

    Long inputs should be passed through :class:`ExcerptSampler` first; this function uses
    every sample it is given.
    """
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    offset = dc_offset(audio)
    if offset is not None:
        audio = audio - offset[:, None]
    mid = audio.mean(axis=0)
    n_fft = _n_fft(sample_rate)
    hop = n_fft // 2
    if mid.size < n_fft:
        mid = np.pad(mid, (0, n_fft - mid.size))
    power = _power_spectrogram(mid, n_fft, hop)
    freqs = spectral.fft_frequencies(sample_rate, n_fft)
    frame_energy = power.sum(axis=0)
    active = frame_energy > frame_energy.max() * 1e-6 if frame_energy.max() > 0 else np.ones_like(frame_energy, bool)
    if not active.all():
        power = power[:, active]
    spectrum = power.mean(axis=1)

    in_range = (freqs >= BAND_EDGES_HZ[0]) & (freqs < BAND_EDGES_HZ[-1])
    total = max(float(spectrum[in_range].sum()), 1e-20)
    bands = []
    for lo, hi in zip(BAND_EDGES_HZ[:-1], BAND_EDGES_HZ[1:]):
        sel = (freqs >= lo) & (freqs < hi)
        energy = float(spectrum[sel].sum()) if sel.any() else 0.0
        bands.append(max(BAND_FLOOR_DB, 10.0 * np.log10(max(energy, 1e-20) / total)))

    S = np.sqrt(power)
    # Centroid and roll-off by their definitions (librosa's spectral_rolloff compiles for ~17 s).
    centroid = float(np.median((freqs.astype(np.float32) @ S) / np.maximum(S.sum(axis=0), 1e-12)))
    # The 85 % point of each frame's cumulative magnitude.
    cumulative = np.cumsum(S, axis=0)
    rolloff_bin = np.argmax(cumulative >= 0.85 * cumulative[-1:], axis=0)
    rolloff = float(np.median(freqs[rolloff_bin]))
    flatness = float(np.mean(spectral.spectral_flatness(S)))
    mel = spectral.melspectrogram(power, sample_rate, n_mels=64)
    onset = spectral.onset_strength(spectral.power_to_db(mel))
    onset_rel = float(np.mean(onset) / max(float(np.median(onset)), 1e-3)) if onset.size else 0.0

    frame = max(1, int(FRAME_SECONDS * sample_rate))
    usable = (mid.size // frame) * frame
    rows = mid[:usable].reshape(-1, frame)
    rms_db = 10.0 * np.log10(np.einsum("ij,ij->i", rows, rows, dtype=np.float64) / frame + 1e-12)
    loud = rms_db[rms_db > rms_db.max() - 60.0] if rms_db.size else np.zeros(1)
    p10, p90, p95 = np.percentile(loud, [10, 90, 95])
    motion = float(np.mean(np.abs(np.diff(loud)))) if loud.size > 1 else 0.0

    if audio.shape[0] == 2:
        left, right = audio[0], audio[1]
        ll, rr, lr = _sum_products(left, left), _sum_products(right, right), _sum_products(left, right)
        n = max(left.size, 1)
        # mid = (l + r) / 2 and side = (l - r) / 2, so their energies follow from ll, rr and lr.
        mid_energy, side_energy = 0.25 * (ll + rr + 2 * lr) / n, 0.25 * (ll + rr - 2 * lr) / n
        side_to_mid = 10.0 * np.log10((max(side_energy, 0.0) + 1e-12) / (mid_energy + 1e-12))
        denom = np.sqrt(ll * rr)
        corr = float(lr / denom) if denom > 0 else 1.0
    else:
        side_to_mid, corr = -40.0, 1.0

    values = [
        *bands,
        np.log2(max(centroid, 20.0) / 1000.0),
        np.log2(max(rolloff, 20.0) / 1000.0),
        10.0 * np.log10(max(flatness, 1e-10)),
        _crest_db(mid),
        float(p95 - p10),
        float(p10 - p90),
        motion,
        onset_rel,
        _band_crest_db(mid, sample_rate, None, 150.0),
        _band_crest_db(mid, sample_rate, 4000.0, None),
        float(np.clip(side_to_mid, -40.0, 10.0)),
        corr,
    ]
    return Features(np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0))


class ExcerptSampler:
    """Keeps evenly spaced blocks of a stream, at most ``EXCERPT_MAX_SECONDS`` in all.

    Spectral features of a 60-minute file are taken from excerpts spread over its whole length, so
    analysis memory stays bounded while every part of the track has a say.
    """

    def __init__(self, total_frames: int, block_frames: int, sample_rate: int,
                 max_seconds: float = EXCERPT_MAX_SECONDS) -> None:
        n_blocks = max(1, -(-total_frames // block_frames))
        keep = max(1, int(max_seconds * sample_rate // block_frames))
        self._keep = set(np.linspace(0, n_blocks - 1, min(keep, n_blocks)).round().astype(int).tolist())
        self._block_frames = block_frames
        self._index = 0
        self.blocks: list[np.ndarray] = []

    @property
    def starts(self) -> list[int]:
        """The first frame of each block kept, in order: where to seek to read the excerpt."""
        return [i * self._block_frames for i in sorted(self._keep)]

    def add(self, block: np.ndarray) -> None:
        if self._index in self._keep:
            self.blocks.append(block)
        self._index += 1

    def audio(self) -> np.ndarray:
        return np.concatenate(self.blocks, axis=1)


__all__ = ["FEATURE_VERSION", "BAND_EDGES_HZ", "BAND_FLOOR_DB", "FRAME_SECONDS", "EXCERPT_MAX_SECONDS",
           "FEATURE_NAMES", "FEATURE_COUNT", "Features", "preload", "DC_OFFSET_LIMIT", "offset_above_limit",
           "dc_offset", "extract", "ExcerptSampler"]
