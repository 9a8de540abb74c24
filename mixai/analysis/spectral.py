"""librosa's spectral features, in plain numpy: the formulas the feature vector is defined by.

The feature vector was designed on ``librosa.filters.mel``, ``librosa.feature.melspectrogram``,
``librosa.power_to_db``, ``librosa.feature.spectral_flatness`` and ``librosa.onset.onset_strength``
(librosa 0.10-0.11, default arguments unless named). Importing those modules costs about a second
(scipy.signal, scipy.stats) and, on a new machine, some 20 s of numba compilation (``librosa.util``
compiles its ufuncs at import), longer than the whole master. The functions here compute the same
numbers with numpy alone; ``tests/test_startup.py`` checks each against librosa itself.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

AMIN = 1e-10  # librosa's default floor for logarithms (power_to_db, spectral_flatness)
TOP_DB = 80.0  # librosa.power_to_db's default dynamic range


def hann(n: int) -> np.ndarray:
    """Periodic Hann window of ``n`` points (``scipy.signal.get_window("hann", n)``), float32."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)).astype(np.float32)


def fft_frequencies(sample_rate: float, n_fft: int) -> np.ndarray:
    """Centre frequency of each rFFT bin, Hz (``librosa.fft_frequencies``)."""
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)


# Slaney's Auditory Toolbox mel scale (librosa's default, htk=False): linear to 1 kHz, log above.
_MEL_F_SP = 200.0 / 3
_MEL_MIN_LOG_HZ = 1000.0
_MEL_MIN_LOG_MEL = _MEL_MIN_LOG_HZ / _MEL_F_SP
_MEL_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(freq_hz: np.ndarray) -> np.ndarray:
    freq_hz = np.asanyarray(freq_hz, dtype=np.float64)
    mels = freq_hz / _MEL_F_SP
    log_part = freq_hz >= _MEL_MIN_LOG_HZ
    mels[log_part] = _MEL_MIN_LOG_MEL + np.log(freq_hz[log_part] / _MEL_MIN_LOG_HZ) / _MEL_LOGSTEP
    return mels


def mel_to_hz(mels: np.ndarray) -> np.ndarray:
    mels = np.asanyarray(mels, dtype=np.float64)
    freq_hz = _MEL_F_SP * mels
    log_part = mels >= _MEL_MIN_LOG_MEL
    freq_hz[log_part] = _MEL_MIN_LOG_HZ * np.exp(_MEL_LOGSTEP * (mels[log_part] - _MEL_MIN_LOG_MEL))
    return freq_hz


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: float, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular Slaney-normalised mel filters from 0 Hz to Nyquist, shaped (n_mels, 1 + n_fft // 2),
    float32 (``librosa.filters.mel(sr=, n_fft=, n_mels=)``). Read-only: it is shared."""
    fft_hz = fft_frequencies(sample_rate, n_fft)
    mel_hz = mel_to_hz(np.linspace(hz_to_mel(np.array([0.0]))[0], hz_to_mel(np.array([sample_rate / 2]))[0],
                                   n_mels + 2))
    spacing = np.diff(mel_hz)
    ramps = np.subtract.outer(mel_hz, fft_hz)
    weights = np.zeros((n_mels, fft_hz.size), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / spacing[i]
        upper = ramps[i + 2] / spacing[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_hz[2:n_mels + 2] - mel_hz[:n_mels]))[:, np.newaxis]
    weights.flags.writeable = False
    return weights


def melspectrogram(power: np.ndarray, sample_rate: float, n_mels: int) -> np.ndarray:
    """Mel power spectrogram of a (bins, frames) power spectrogram
    (``librosa.feature.melspectrogram(S=power, sr=, n_mels=)``)."""
    basis = mel_filterbank(float(sample_rate), 2 * (power.shape[0] - 1), n_mels)
    return basis @ power


def power_to_db(power: np.ndarray) -> np.ndarray:
    """dB relative to the largest value, floored 80 dB below the top
    (``librosa.power_to_db(S, ref=np.max)``)."""
    ref = np.max(power) if power.size else 1.0
    log_spec = 10.0 * np.log10(np.maximum(AMIN, power))
    log_spec -= 10.0 * np.log10(np.maximum(AMIN, ref))
    return np.maximum(log_spec, log_spec.max() - TOP_DB) if log_spec.size else log_spec


def spectral_flatness(magnitude: np.ndarray) -> np.ndarray:
    """Geometric over arithmetic mean of each frame of a (bins, frames) magnitude spectrogram
    (``librosa.feature.spectral_flatness(S=magnitude, power=1.0)``), shaped (frames,)."""
    floored = np.maximum(AMIN, magnitude)
    return np.exp(np.mean(np.log(floored), axis=0)) / np.mean(floored, axis=0)


# librosa.onset.onset_strength's framing compensation with its defaults (lag 1, centred frames
# of n_fft 2048 and hop 512): the envelope is delayed by lag + n_fft // (2 * hop) frames.
_ONSET_LAG = 1
_ONSET_DELAY_FRAMES = _ONSET_LAG + 2048 // (2 * 512)


def onset_strength(db: np.ndarray) -> np.ndarray:
    """Spectral flux of a (bands, frames) dB spectrogram: the mean over bands of each frame's rise
    over the previous one, delayed and trimmed to the input's frames as librosa does
    (``librosa.onset.onset_strength(S=db)``)."""
    frames = db.shape[1]
    rise = np.maximum(0.0, db[:, _ONSET_LAG:] - db[:, :-_ONSET_LAG]).mean(axis=0)
    return np.concatenate([np.zeros(_ONSET_DELAY_FRAMES, dtype=rise.dtype), rise])[:frames]


__all__ = ["AMIN", "TOP_DB", "hann", "fft_frequencies", "hz_to_mel", "mel_to_hz", "mel_filterbank",
           "melspectrogram", "power_to_db", "spectral_flatness", "onset_strength"]
