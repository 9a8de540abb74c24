"""The DeepAFx-ST-style distances in mixai.metrics: zero on identity, monotone in damage, symmetric."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from mixai import metrics

SR = 44100


def _music(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """A stereo test signal with tones, decaying noise bursts and some side signal."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    tones = sum(0.2 / k * np.sin(2 * np.pi * 110 * k * t) for k in range(1, 8))
    env = np.exp(-((t % 0.25) * 20.0))
    noise = rng.standard_normal(n) * env * 0.2
    mid = tones + noise
    side = 0.05 * rng.standard_normal(n)
    return np.stack([mid + side, mid - side]).astype(np.float32)


def _lowpass(x: np.ndarray, hz: float) -> np.ndarray:
    sos = signal.butter(2, hz, "lowpass", fs=SR, output="sos")
    return signal.sosfilt(sos, x, axis=-1).astype(np.float32)


ALL = [metrics.mel_spectral_distance, metrics.multi_resolution_stft_distance,
       metrics.spectral_centroid_error_hz, metrics.rms_error_db, metrics.lufs_error]


@pytest.mark.parametrize("fn", ALL)
def test_identical_signals_give_zero(fn):
    x = _music()
    assert fn(x, x.copy(), SR) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("fn", [metrics.mel_spectral_distance, metrics.multi_resolution_stft_distance,
                                metrics.spectral_centroid_error_hz])
def test_more_spectral_damage_is_further(fn):
    x = _music()
    mild, strong = _lowpass(x, 6000.0), _lowpass(x, 1000.0)
    d_mild, d_strong = fn(mild, x, SR), fn(strong, x, SR)
    assert 0.0 < d_mild < d_strong


@pytest.mark.parametrize("fn", [metrics.rms_error_db, metrics.lufs_error,
                                metrics.mel_spectral_distance, metrics.multi_resolution_stft_distance])
def test_more_level_damage_is_further(fn):
    x = _music()
    d1, d2 = fn(x * 0.7, x, SR), fn(x * 0.3, x, SR)
    assert 0.0 < d1 < d2


def test_level_errors_read_in_db():
    x = _music()
    assert metrics.rms_error_db(x * 0.5, x, SR) == pytest.approx(6.02, abs=0.05)
    assert metrics.lufs_error(x * 0.5, x, SR) == pytest.approx(6.02, abs=0.05)


@pytest.mark.parametrize("fn", [metrics.mel_spectral_distance, metrics.spectral_centroid_error_hz,
                                metrics.rms_error_db, metrics.lufs_error])
def test_symmetric_metrics(fn):
    x = _music()
    y = _lowpass(x, 2000.0) * 0.8
    assert fn(x, y, SR) == pytest.approx(fn(y, x, SR), rel=1e-9)


def test_mrstft_log_term_symmetric_convergence_relative_to_reference():
    x = _music()
    y = x * 0.5
    # Spectral convergence is ||b - a|| / ||b||: 0.5 against x, 1.0 against y; log terms are equal.
    diff = (metrics.multi_resolution_stft_distance(x, y, SR)
            - metrics.multi_resolution_stft_distance(y, x, SR))
    assert diff == pytest.approx(0.5, abs=1e-3)


def test_stereo_width_changes_count():
    x = _music()
    mono = np.repeat(x.mean(axis=0, keepdims=True), 2, axis=0)
    assert metrics.mel_spectral_distance(mono, x, SR) > 0.01


def test_mono_against_stereo_and_unequal_lengths():
    x = _music()
    mono = x.mean(axis=0)
    assert metrics.mel_spectral_distance(mono, x[:, : x.shape[1] // 2], SR) > 0.0
    with pytest.raises(ValueError):
        metrics.mel_spectral_distance(np.zeros((3, 100)), np.zeros((2, 100)), SR)


def test_all_metrics_keys():
    x = _music(1.0)
    result = metrics.all_metrics(x * 0.9, x, SR)
    assert set(result) == set(metrics.METRIC_NAMES)
    assert all(np.isfinite(v) and v >= 0 for v in result.values())
