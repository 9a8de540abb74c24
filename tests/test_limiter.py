"""The true-peak limiter: the ceiling holds under any gain, and reduction stays local."""

import numpy as np

import material
from mixai.dsp.limiter import PeakEnvelope, TruePeakLimiter
from mixai.dsp.truepeak import true_peak_dbtp
from mixai.io.framestore import FrameStore

SR = 44100


def limited(x: np.ndarray, gain_db: float, ceiling: float, chunk: int = 44100) -> np.ndarray:
    store = FrameStore(x.shape[0])
    store.append(x)
    env = PeakEnvelope.from_store(store, ceiling_dbtp=ceiling, max_gain_db=gain_db, chunk_frames=chunk)
    limiter = TruePeakLimiter(SR, ceiling_dbtp=ceiling, release_ms=80)
    gains = np.concatenate(list(limiter.gain_curves(env, store.frames, gain_db=gain_db, chunk_frames=chunk)))
    return x * gains


def test_ceiling_holds_for_noise_and_music_at_extreme_gain():
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal((2, SR * 4)) * 0.2).astype(np.float32)  # energy up to Nyquist
    for name, x in (("noise", noise), ("loop", material.band_loop(6.0)), ("dense", material.dense_loud(6.0))):
        for gain_db, ceiling in ((0.0, -1.0), (12.0, -1.0), (24.0, -0.3), (6.0, -6.0)):
            y = limited(x, gain_db, ceiling)
            assert true_peak_dbtp(y) <= ceiling
            # Other meters read up to ~0.2 dB higher than mixai's own (full-band noise most):
            # the limiter's safety margin keeps every one of them under the ceiling too.
            peaks = material.independent_true_peaks_dbtp(y)
            assert max(peaks.values()) <= ceiling, (name, gain_db, peaks)


def test_chunk_size_does_not_change_the_result():
    x = material.band_loop(5.0)
    # The peak filter takes its FFT or its direct path depending on how much of a chunk is in
    # play; the two agree to float32 rounding, so the results may differ by that and no more.
    np.testing.assert_allclose(limited(x, 18.0, -1.0, chunk=44100), limited(x, 18.0, -1.0, chunk=10007),
                               rtol=1e-5, atol=1e-7)


def test_reduction_is_local_to_the_peak():
    x = np.full((1, SR * 2), 0.05, np.float32) * np.sin(2 * np.pi * 440 * np.arange(SR * 2) / SR)
    x[0, SR] = 1.0  # one click, 26 dB over the tone
    y = limited(x.astype(np.float32), 0.0, -1.0)
    gain = np.divide(y, x, out=np.ones_like(y), where=np.abs(x) > 1e-3)[0]
    assert gain[SR - 2000:SR + 2000].min() < 0.95  # the click is pulled down...
    assert np.allclose(gain[: SR - 2000], 1.0, atol=1e-6)  # ...nothing before the look-ahead...
    assert np.allclose(gain[SR + SR // 2:], 1.0, atol=1e-3)  # ...and the release has recovered 0.5 s later
