"""Audio-quality distances in the style of DeepAFx-ST (Steinmetz et al., 2022).

Every function takes two ``(channels, samples)`` float arrays (a 1-D array is treated as mono) and
a sample rate, and returns a float where 0 means identical and larger means further apart:

=============================== ======================================================================
``mel_spectral_distance``        MSD: mean absolute difference of natural-log mel magnitudes
                                 (128 mels, 2048-point FFT, hop 512, Hann). Symmetric.
``multi_resolution_stft_distance`` MR-STFT: for FFT sizes 512, 1024 and 2048 (hop = size / 4, Hann),
                                 spectral convergence ``||S_b - S_a||_F / ||S_b||_F`` plus the mean
                                 absolute difference of log magnitudes; averaged over the three sizes.
                                 ``b`` is the reference: spectral convergence is normalised by it, so
                                 the distance is *not* symmetric (the log term is).
``spectral_centroid_error_hz``   absolute difference of the mean spectral centroid (Hz) over frames
                                 that are not silent (2048-point FFT). Symmetric.
``rms_error_db``                 mean absolute difference of frame RMS levels in dB (2048-sample
                                 frames, hop 512, floored at -80 dBFS): level *and* dynamics. Symmetric.
``lufs_error``                   absolute difference of BS.1770-4 integrated loudness (pyloudnorm). Symmetric.
=============================== ======================================================================

Channels: spectral and RMS distances are computed per channel and averaged, so a stereo-width
change counts; if one signal is mono and the other stereo, the mono one is duplicated. Signals of
different lengths are compared over their common length (the start is the alignment point).

Log magnitudes use a floor of 1e-5 (-100 dB) so that digital silence does not dominate. The
spectra are computed with ``scipy.fft`` on strided frames rather than ``librosa.stft``, which spends
seconds compiling numba helpers on first use; ``librosa.filters.mel`` builds the mel matrix.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

LOG_FLOOR = 1e-5
MEL_BANDS = 128
MEL_FFT = 2048
MEL_HOP = 512
MR_FFT_SIZES = (512, 1024, 2048)
RMS_FRAME = 2048
RMS_HOP = 512
RMS_FLOOR_DB = -80.0

__all__ = ["mel_spectral_distance", "multi_resolution_stft_distance", "spectral_centroid_error_hz",
           "rms_error_db", "lufs_error", "all_metrics", "METRIC_NAMES"]


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both as float64 (channels, n) over their common length, with matching channel counts."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    b = np.atleast_2d(np.asarray(b, dtype=np.float64))
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError("expected (channels, samples) arrays")
    if a.shape[0] != b.shape[0]:
        if a.shape[0] == 1:
            a = np.repeat(a, b.shape[0], axis=0)
        elif b.shape[0] == 1:
            b = np.repeat(b, a.shape[0], axis=0)
        else:
            raise ValueError(f"channel counts differ: {a.shape[0]} vs {b.shape[0]}")
    n = min(a.shape[1], b.shape[1])
    if n == 0:
        raise ValueError("empty signal")
    return a[:, :n], b[:, :n]


@lru_cache(maxsize=8)
def _window(n_fft: int) -> np.ndarray:
    from scipy import signal

    return signal.get_window("hann", n_fft)


def _magnitude(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT| of each channel, shaped (channels, bins, frames); centre-padded like librosa."""
    from scipy import fft

    pad = n_fft // 2
    x = np.pad(x, ((0, 0), (pad, pad)))
    if x.shape[1] < n_fft:
        x = np.pad(x, ((0, 0), (0, n_fft - x.shape[1])))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft, axis=1)[:, ::hop]
    spectrum = fft.rfft(frames * _window(n_fft), axis=-1, workers=-1)
    return np.abs(spectrum).transpose(0, 2, 1)


@lru_cache(maxsize=8)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels).astype(np.float64)


def _log(x: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(x, LOG_FLOOR))


def mel_spectral_distance(a: np.ndarray, b: np.ndarray, sample_rate: int) -> float:
    """MSD: mean |log mel(a) - log mel(b)| (128 mel bands of the magnitude spectrum)."""
    a, b = _pair(a, b)
    basis = _mel_basis(int(sample_rate), MEL_FFT, MEL_BANDS)
    ma = np.einsum("mk,ckt->cmt", basis, _magnitude(a, MEL_FFT, MEL_HOP))
    mb = np.einsum("mk,ckt->cmt", basis, _magnitude(b, MEL_FFT, MEL_HOP))
    return float(np.mean(np.abs(_log(ma) - _log(mb))))


def multi_resolution_stft_distance(a: np.ndarray, b: np.ndarray, sample_rate: int,
                                   fft_sizes: tuple[int, ...] = MR_FFT_SIZES) -> float:
    """MR-STFT: mean over FFT sizes of spectral convergence (w.r.t. ``b``) + log-magnitude L1."""
    a, b = _pair(a, b)
    total = 0.0
    for n_fft in fft_sizes:
        sa, sb = _magnitude(a, n_fft, n_fft // 4), _magnitude(b, n_fft, n_fft // 4)
        convergence = np.linalg.norm(sb - sa) / max(float(np.linalg.norm(sb)), 1e-12)
        total += convergence + float(np.mean(np.abs(_log(sa) - _log(sb))))
    return float(total / len(fft_sizes))


def _mean_centroid(x: np.ndarray, sample_rate: int) -> float:
    mag = _magnitude(x, MEL_FFT, MEL_HOP).sum(axis=0)  # channels summed: (bins, frames)
    freqs = np.fft.rfftfreq(MEL_FFT, 1.0 / sample_rate)
    energy = mag.sum(axis=0)
    if energy.max() <= 0:
        return 0.0
    active = energy > energy.max() * 1e-4
    return float(np.mean((freqs[:, None] * mag[:, active]).sum(axis=0) / energy[active]))


def spectral_centroid_error_hz(a: np.ndarray, b: np.ndarray, sample_rate: int) -> float:
    """|mean spectral centroid of a - that of b| in Hz, over non-silent frames."""
    a, b = _pair(a, b)
    return abs(_mean_centroid(a, sample_rate) - _mean_centroid(b, sample_rate))


def _frame_rms_db(x: np.ndarray) -> np.ndarray:
    if x.shape[1] < RMS_FRAME:
        x = np.pad(x, ((0, 0), (0, RMS_FRAME - x.shape[1])))
    frames = np.lib.stride_tricks.sliding_window_view(x, RMS_FRAME, axis=1)[:, ::RMS_HOP]
    rms = np.sqrt(np.mean(np.square(frames), axis=-1))
    return np.maximum(20.0 * np.log10(np.maximum(rms, 1e-12)), RMS_FLOOR_DB)


def rms_error_db(a: np.ndarray, b: np.ndarray, sample_rate: int) -> float:
    """Mean |frame RMS of a - frame RMS of b| in dB, per channel (``sample_rate`` is unused)."""
    a, b = _pair(a, b)
    return float(np.mean(np.abs(_frame_rms_db(a) - _frame_rms_db(b))))


def _lufs(x: np.ndarray, sample_rate: int) -> float:
    import pyloudnorm

    meter = pyloudnorm.Meter(sample_rate)
    data = x.T if x.shape[0] > 1 else x[0]
    if x.shape[1] < int(0.4 * sample_rate):  # BS.1770 needs one 400 ms block
        data = np.pad(data, [(0, int(0.4 * sample_rate) - x.shape[1])] + [(0, 0)] * (data.ndim - 1))
    value = float(meter.integrated_loudness(data))
    return value if np.isfinite(value) else -120.0


def lufs_error(a: np.ndarray, b: np.ndarray, sample_rate: int) -> float:
    """|integrated loudness of a - that of b| in LU (BS.1770-4, pyloudnorm; silence reads -120)."""
    a, b = _pair(a, b)
    return abs(_lufs(a, sample_rate) - _lufs(b, sample_rate))


METRIC_NAMES = ("msd", "mrstft", "centroid_hz", "rms_db", "lufs")


def all_metrics(a: np.ndarray, b: np.ndarray, sample_rate: int) -> dict[str, float]:
    """All five distances of ``a`` (processed) against ``b`` (reference), keyed by :data:`METRIC_NAMES`."""
    return {
        "msd": mel_spectral_distance(a, b, sample_rate),
        "mrstft": multi_resolution_stft_distance(a, b, sample_rate),
        "centroid_hz": spectral_centroid_error_hz(a, b, sample_rate),
        "rms_db": rms_error_db(a, b, sample_rate),
        "lufs": lufs_error(a, b, sample_rate),
    }
