"""The streaming meters against pyloudnorm and an independent true-peak measure."""

import numpy as np
import pyloudnorm
import pytest

import material
from mixai.dsp.loudness import LoudnessMeter, integrated_lufs
from mixai.dsp.truepeak import TruePeakDetector, true_peak_dbtp

SR = 44100


@pytest.mark.parametrize("make", [material.band_loop, material.sparse_quiet, material.dense_loud])
def test_integrated_loudness_matches_pyloudnorm(make):
    x = make(10.0)
    expected = pyloudnorm.Meter(SR).integrated_loudness(x.T.astype(np.float64))
    assert abs(integrated_lufs(x, SR) - expected) < 0.02


def test_streaming_blocks_equal_whole_file():
    x = material.band_loop(10.0)
    meter = LoudnessMeter(SR, 2)
    for start in range(0, x.shape[1], 12_345):  # block size unrelated to the 100 ms step
        meter.add(x[:, start:start + 12_345])
    assert abs(meter.integrated_lufs() - integrated_lufs(x, SR)) < 1e-6


def test_mono_and_other_rates_match_pyloudnorm():
    for rate in (8000, 22050, 48000, 96000):
        t = np.arange(rate * 5) / rate
        x = (0.1 * np.sin(2 * np.pi * 997 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t)))[None, :]
        expected = pyloudnorm.Meter(rate).integrated_loudness(x[0])
        assert abs(integrated_lufs(x.astype(np.float32), rate) - expected) < 0.05, rate


def test_silence_is_minus_infinity():
    assert integrated_lufs(np.zeros((2, SR * 3), np.float32), SR) == -np.inf


def test_loudness_range_orders_dynamic_material():
    steady = material.dense_loud(20.0)
    ramp = material.band_loop(20.0) * np.linspace(0.05, 1.0, 20 * SR, dtype=np.float32)
    m1, m2 = LoudnessMeter(SR, 2), LoudnessMeter(SR, 2)
    m1.add(steady)
    m2.add(ramp)
    assert m2.loudness_range_lu() > m1.loudness_range_lu() + 5


def test_true_peak_sees_intersample_overs():
    t = np.arange(SR) / SR
    sine = np.sin(2 * np.pi * SR / 4 * t + np.pi / 4)[None, :].astype(np.float32)  # samples at +-0.707
    assert 20 * np.log10(np.abs(sine).max()) < -2.9
    assert abs(true_peak_dbtp(sine) - 0.0) < 0.15


def test_true_peak_agrees_with_independent_resampler():
    for make in (material.band_loop, material.dense_loud):
        x = make(8.0)
        assert abs(true_peak_dbtp(x) - material.true_peak_resample_dbtp(x)) < 0.1


def test_cheap_envelope_never_reads_low():
    x = material.band_loop(5.0)
    exact = TruePeakDetector(2).envelope(x)
    cheap = TruePeakDetector(2).envelope(x, floor=0.05)
    assert (cheap >= exact - 1e-7).all()
    assert np.array_equal(cheap[exact >= 0.05], exact[exact >= 0.05])


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("frames", [1, 7, 100, 5003, 441_000])
def test_compiled_and_fft_whole_block_filters_agree(frames, channels, monkeypatch):
    """The compiled polyphase filter (mixai.dsp.polyphase) and numpy's FFT give the same peaks,
    lengths that are not a multiple of its eight lanes included."""
    import shutil

    from mixai.dsp import polyphase

    if not polyphase.available():
        assert shutil.which("cc") is None, "a C compiler is here but the polyphase filter was not built"
        pytest.skip("the compiled filter was not built (no C compiler)")
    rng = np.random.default_rng(frames + channels)
    x = (rng.standard_normal((channels, frames)) * 0.3).astype(np.float32)
    detector = TruePeakDetector(channels)
    data = detector._advance(x)
    compiled = detector._all_peaks(data)
    monkeypatch.setattr(polyphase, "available", lambda: False)
    fft = detector._all_peaks(data)
    assert compiled.shape == fft.shape == (frames,)
    np.testing.assert_allclose(compiled, fft, rtol=1e-5, atol=1e-6)


def test_compiled_filter_groups_phases_by_their_taps():
    """Phases with different nonzero spans (and one all zero), more than one call's worth of them,
    and an on-sample position no group reaches: the same as the sum written out in numpy."""
    from mixai.dsp import polyphase

    if not polyphase.available():
        pytest.skip("the compiled filter was not built (no C compiler)")
    rng = np.random.default_rng(3)
    rows, n = 9, 1001
    phases = np.zeros((rows, 11), np.float32)
    phases[0:3, :5] = rng.standard_normal((3, 5))   # one span
    phases[2:6, 5:10] = rng.standard_normal((4, 5))  # another; column 10 stays all zero
    data = rng.standard_normal((2, n + rows - 1)).astype(np.float32)
    delay = 8  # beyond both spans: the on-sample value is taken apart
    windows = np.lib.stride_tricks.sliding_window_view(data, rows, axis=1)[:, :n]  # (2, n, rows)
    expected = np.maximum(np.abs(windows @ phases).max(axis=(0, 2)), np.abs(data[:, delay:delay + n]).max(axis=0))
    np.testing.assert_allclose(polyphase.peaks(data, phases, delay), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("frames", [1, 100, 5000, 441_000])
def test_fft_and_direct_true_peak_filters_agree(frames, monkeypatch):
    """The whole-block FFT filter and the per-sub-block direct one compute the same peaks."""
    import mixai.dsp.truepeak as truepeak
    from mixai.dsp import polyphase

    monkeypatch.setattr(polyphase, "available", lambda: False)  # the FFT, not the compiled filter

    x = (np.random.default_rng(frames).standard_normal((2, frames)) * 0.3).astype(np.float32)
    detector = TruePeakDetector(2)
    data = detector._advance(x)
    n = data.shape[1] - (detector._rows - 1)
    blocks = np.arange(-(-n // truepeak.SUB_BLOCK))
    monkeypatch.setattr(truepeak, "FFT_SHARE", 0)  # force the direct path
    direct = detector._exact(data, blocks).reshape(-1)[:n]
    fft = detector._all_peaks(data)
    assert fft.shape == (n,)
    np.testing.assert_allclose(fft, direct, rtol=1e-5, atol=1e-6)


def test_known_sub_block_bounds_prune_without_changing_the_peak():
    """A true-peak meter given per-sub-block bounds (tight, loose or infinite) finds the same peak."""
    from mixai.dsp.truepeak import SUB_BLOCK, TruePeakMeter

    rng = np.random.default_rng(7)
    x = (rng.standard_normal((2, 6 * 44_100)) * 0.01).astype(np.float32)
    burst = np.sin(np.pi / 2 * np.arange(24) + np.pi / 4)  # fs/4 tone: peaks fall between samples
    for position in rng.integers(0, x.shape[1] - 24, 40):  # short bursts: a misplaced bound misses them
        x[:, position:position + 24] = rng.uniform(0.3, 0.9) * burst
    plain = TruePeakMeter(2)
    for start in range(0, x.shape[1], 44_100):
        plain.add(x[:, start:start + 44_100])
    plain.flush()
    detector = TruePeakDetector(2)
    per_sample = detector._all_peaks(detector._advance(np.pad(x, ((0, 0), (0, detector.delay)))))[detector.delay:]
    padded = np.zeros(-(-x.shape[1] // SUB_BLOCK) * SUB_BLOCK, np.float32)
    padded[:x.shape[1]] = per_sample[:x.shape[1]]
    exact = padded.reshape(-1, SUB_BLOCK).max(axis=1).astype(np.float64) * (1 + 1e-5)
    for bound in (exact, exact * 1.5, np.full_like(exact, np.inf)):
        meter = TruePeakMeter(2, sub_block_bound=bound)
        for start in range(0, x.shape[1], 30_000):
            meter.add(x[:, start:start + 30_000])
        meter.flush()
        assert meter.true_peak == pytest.approx(plain.true_peak, rel=1e-6)
    # Control: the bounds really prune. Shifted three sub-blocks, they hide the loudest burst.
    misplaced = TruePeakMeter(2, sub_block_bound=np.roll(exact, 3))
    misplaced.add(x)
    misplaced.flush()
    assert misplaced.true_peak < plain.true_peak * (1 - 1e-4)


@pytest.mark.parametrize("channels", [1, 2])
def test_compiled_k_weighting_equals_scipy_sosfilt(channels):
    """The numba loop and scipy's sosfilt give the same K-weighted power, block by block."""
    from scipy import signal

    from mixai.dsp.loudness import _compiled_kernels, _k_weighted_power, k_weighting_sos

    assert _compiled_kernels() is not None
    sos = k_weighting_sos(48000)
    x = (np.random.default_rng(channels).standard_normal((channels, 50_000)) * 0.3).astype(np.float32)
    zi = np.zeros((2, channels, 2))
    streamed = np.concatenate([_k_weighted_power(sos, x[:, i:i + 7_001], zi) for i in range(0, x.shape[1], 7_001)])
    reference = (signal.sosfilt(sos, x.astype(np.float64), axis=-1) ** 2).sum(axis=0)
    np.testing.assert_allclose(streamed, reference, rtol=1e-9, atol=1e-15)
