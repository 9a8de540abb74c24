"""Start-up cost (issue 15): what each command imports, and that the numpy replacements for the
librosa / scipy.signal / scipy.ndimage calls the features and meters were defined with give the
same numbers as those libraries.

The import checks assert on ``sys.modules`` in a fresh interpreter, not on time, so they hold on a
busy machine; ``benchmarks/bench_startup.py`` measures the time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mixai.analysis import bandcrest, spectral
from mixai.analysis.features import extract
from mixai.dsp import design, running, sosloop
from mixai.io.native import load_library

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("scipy.signal", "scipy.ndimage", "scipy.stats", "scipy.special", "librosa", "pyloudnorm", "torch")


def _modules_after(code: str, tmp_path: Path) -> set[str]:
    """The modules loaded once ``code`` has run in a fresh interpreter."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert r.returncode == 0, r.stderr
    return set(json.loads(r.stdout.strip().splitlines()[-1]))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if n in modules or any(m.startswith(n + ".") for m in modules))


def test_cli_parser_imports_nothing_heavy(tmp_path):
    modules = _modules_after("import mixai, mixai.cli.app\nmixai.cli.app.build_parser()", tmp_path)
    assert _loaded(modules, (*HEAVY, "numba", "onnxruntime", "pedalboard", "soundfile", "scipy")) == []


def test_batch_coordinator_imports_no_audio_library(tmp_path):
    """The coordinator only lists files and hands them out: its workers import the audio stack."""
    modules = _modules_after("import mixai.batch, mixai.cli.batch", tmp_path)
    assert _loaded(modules, (*HEAVY, "numpy", "soundfile", "onnxruntime", "pedalboard", "scipy")) == []


def test_master_path_imports_neither_librosa_nor_scipy_signal(tmp_path):
    """A whole master (analysis, ONNX prediction, render, limiter, final pass) runs without
    librosa, scipy.signal, scipy.ndimage, scipy.special or pyloudnorm."""
    from mixai.io.audio import save

    rng = np.random.default_rng(3)
    t = np.arange(6 * 44100) / 44100
    tone = 0.2 * np.sin(2 * np.pi * 110 * t) * (1 + 0.5 * np.sign(np.sin(2 * np.pi * 2 * t)))
    audio = np.stack([tone + 0.01 * rng.standard_normal(t.size), tone]).astype(np.float32)
    save(tmp_path / "in.wav", audio, 44100)
    code = ("from mixai.cli.app import main\n"
            f"assert main(['master', {str(tmp_path / 'in.wav')!r}, '-o', {str(tmp_path / 'out.wav')!r}, '-q']) == 0")
    modules = _modules_after(code, tmp_path)
    assert (tmp_path / "out.wav").exists()
    assert _loaded(modules, HEAVY) == []
    if sosloop.available():  # the loops built with the package: no JIT compiler at all
        assert _loaded(modules, ("numba", "scipy")) == []


needs_loops = pytest.mark.skipif(not sosloop.available(), reason="mixai/dsp/_sos.c is not built here "
                                 "(pip install -e . or python setup.py build_ext --inplace builds it)")


@needs_loops
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_compiled_k_weighting_loop_is_sosfilt(channels):
    """The compiled loop gives sosfilt's K-weighted power, block by block, the state carried over."""
    signal = pytest.importorskip("scipy.signal")
    from mixai.dsp.loudness import k_weighting_sos

    sos = k_weighting_sos(48000)
    x = np.random.default_rng(channels).standard_normal((channels, 30000)).astype(np.float32)
    zi = np.zeros((2, channels, 2))
    got = np.concatenate([sosloop.power(sos, x[:, a:b], zi) for a, b in ((0, 1), (1, 7000), (7000, 30000))])
    want = sum(signal.sosfilt(sos, x[c].astype(np.float64)) ** 2 for c in range(channels))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)
    with pytest.raises(ValueError):
        sosloop.power(sos, x, np.zeros((2, channels + 1, 2)))


@needs_loops
def test_compiled_peak_energy_loop_is_sosfilt():
    signal = pytest.importorskip("scipy.signal")
    sos = signal.butter(4, 150.0, "lowpass", fs=44100, output="sos")
    x = np.random.default_rng(9).standard_normal(50000).astype(np.float32)
    y = signal.sosfilt(sos, x.astype(np.float64))
    peak, energy = sosloop.peak_energy(sos, x)
    assert peak == pytest.approx(np.abs(y).max(), rel=1e-12)
    assert energy == pytest.approx(float(np.dot(y, y)), rel=1e-12)
    assert sosloop.peak_energy(sos, np.zeros(0, np.float32)) == (0.0, 0.0)


# --- the feature vector: the stored values of the librosa/scipy implementation --------------------

def fixed_signal(sample_rate: int = 44100, seconds: float = 12.0) -> np.ndarray:
    """A seeded stereo loop (kick, hats, a pad, some noise): the input of the stored expectations."""
    rng = np.random.default_rng(1234)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    beat = np.floor(t * 2.0) % 2 == 0
    env = np.exp(-((t * 2.0) % 1.0) * 8.0)
    kick = np.sin(2 * np.pi * 55.0 * t) * env * 0.6
    hat = rng.standard_normal(n) * np.exp(-((t * 4.0) % 1.0) * 40.0) * 0.08
    pad = 0.1 * (np.sin(2 * np.pi * 220.0 * t) + 0.5 * np.sin(2 * np.pi * 330.0 * t + 0.3)
                 + 0.25 * np.sin(2 * np.pi * 1760.0 * t))
    left = kick + hat + pad * (1.0 + 0.3 * beat)
    right = kick + 0.7 * hat + pad * 0.8 + 0.02 * rng.standard_normal(n)
    return np.stack([left, right]).astype(np.float32)


# extract() as of commit 1de4b87, which called librosa.feature.spectral_flatness,
# librosa.feature.melspectrogram, librosa.power_to_db, librosa.onset.onset_strength,
# scipy.signal.get_window/butter and scipy.fft on fixed_signal(rate) (rounded to 6 decimals).
SLOW_PATH_FEATURES = {
    44100: [-3.378773, -7.812041, -5.515182, -11.529478, -36.415398, -17.459944, -33.706356, -32.048454,
            -30.647577, -29.845161, -29.078045, -27.844698, 2.848048, 4.074654, -2.712898, 14.68587, 12.441212,
            -7.218839, 2.388297, 2.326579, 14.730724, 26.160301, -17.1485, 0.968976],
    48000: [-2.556953, -11.656616, -5.490697, -11.511486, -36.641491, -17.444736, -34.166046, -32.405933,
            -31.05838, -30.154739, -29.380524, -28.066896, 2.975584, 4.197831, -2.702359, 14.346901, 12.44793,
            -7.23744, 2.391439, 2.273741, 14.707015, 24.819412, -17.164391, 0.96914],
    22050: [-3.392205, -7.816757, -5.526408, -11.533673, -33.324505, -17.352196, -30.786833, -28.981043,
            -27.676607, -26.832033, -27.825125, -80.0, 1.704942, 3.005738, -3.197706, 14.536677, 12.378547,
            -7.772627, 2.389206, 2.152964, 14.721745, 24.444653, -17.167114, 0.969154],
}
SLOW_PATH_MONO_44100 = [-3.965189, -8.425679, -4.628305, -10.645484, -39.341888, -16.64296, -37.088161,
                        -35.531025, -34.020962, -33.450462, -32.710217, -31.636621, -1.086256, -1.537293,
                        -8.199043, 14.402921, 11.641342, -6.886083, 2.157002, 1295.712524, 14.71124, 30.085711,
                        -40.0, 1.0]


@pytest.mark.parametrize("rate", sorted(SLOW_PATH_FEATURES))
def test_features_equal_the_slow_path(rate):
    got = extract(fixed_signal(rate), rate).values
    np.testing.assert_allclose(got, SLOW_PATH_FEATURES[rate], rtol=1e-5, atol=2e-5)


def test_mono_features_equal_the_slow_path():
    got = extract(fixed_signal(44100)[:1], 44100).values
    np.testing.assert_allclose(got, SLOW_PATH_MONO_44100, rtol=1e-5, atol=2e-5)


# --- each replacement against the library it stands in for ----------------------------------------

@pytest.mark.parametrize("rate,n_fft,n_mels", [(44100, 4096, 64), (48000, 4096, 64), (22050, 2048, 64),
                                               (8000, 1024, 40), (96000, 8192, 128)])
def test_mel_filterbank_is_librosas(rate, n_fft, n_mels):
    librosa = pytest.importorskip("librosa")
    np.testing.assert_allclose(spectral.mel_filterbank(float(rate), n_fft, n_mels),
                               librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=n_mels), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(spectral.fft_frequencies(rate, n_fft), librosa.fft_frequencies(sr=rate, n_fft=n_fft))


def test_spectral_functions_are_librosas():
    librosa = pytest.importorskip("librosa")
    import librosa.onset  # noqa: F401 - loads the submodule

    rng = np.random.default_rng(5)
    power = (rng.gamma(0.5, size=(2049, 300)) * np.linspace(1, 1e-4, 2049)[:, None]).astype(np.float32)
    power[:, 10] = 0.0  # a silent frame: the amin floors
    magnitude = np.sqrt(power)
    np.testing.assert_allclose(spectral.spectral_flatness(magnitude),
                               librosa.feature.spectral_flatness(S=magnitude, power=1.0)[0], rtol=1e-5)
    mel = spectral.melspectrogram(power, 44100, n_mels=64)
    np.testing.assert_allclose(mel, librosa.feature.melspectrogram(S=power, sr=44100, n_mels=64), rtol=1e-5,
                               atol=1e-9)
    db = spectral.power_to_db(mel)
    np.testing.assert_allclose(db, librosa.power_to_db(mel, ref=np.max), atol=1e-4)
    np.testing.assert_allclose(spectral.onset_strength(db), librosa.onset.onset_strength(S=db, sr=44100),
                               rtol=1e-5, atol=1e-5)
    tiny = db[:, :2]  # fewer frames than librosa's delay: all zeros, the input's length
    np.testing.assert_allclose(spectral.onset_strength(tiny), librosa.onset.onset_strength(S=tiny, sr=44100))


def test_hann_is_scipys():
    signal = pytest.importorskip("scipy.signal")
    for n in (8, 1024, 4096):
        np.testing.assert_allclose(spectral.hann(n), signal.get_window("hann", n), atol=1e-7)


@pytest.mark.parametrize("kind,cutoff_hz,rate", [("lowpass", 150.0, 44100), ("highpass", 4000.0, 44100),
                                                 ("lowpass", 150.0, 8000), ("highpass", 4000.0, 96000),
                                                 ("lowpass", 150.0, 192000)])
def test_butterworth_and_filtering_are_scipys(kind, cutoff_hz, rate):
    signal = pytest.importorskip("scipy.signal")
    design_ = bandcrest.butterworth(4, cutoff_hz, kind, rate)
    z, p, k = signal.butter(4, cutoff_hz, kind, fs=rate, output="zpk")
    np.testing.assert_allclose(np.sort_complex(design_.poles), np.sort_complex(p), atol=1e-12)
    np.testing.assert_allclose(design_.gain, k, rtol=1e-10)
    sos = signal.butter(4, cutoff_hz, kind, fs=rate, output="sos")
    np.testing.assert_allclose(bandcrest.to_sos(design_), sos, atol=1e-12)
    x = np.random.default_rng(7).standard_normal(3 * rate + 17).astype(np.float32)
    y = signal.sosfilt(sos, x.astype(np.float64))
    (peak, energy), = bandcrest.filtered_peak_energy(x, [design_])
    assert peak == pytest.approx(np.abs(y).max(), rel=1e-9)
    assert energy == pytest.approx(float(np.dot(y, y)), rel=1e-9)


def test_k_weighting_is_pyloudnorms():
    pyloudnorm = pytest.importorskip("pyloudnorm")
    signal = pytest.importorskip("scipy.signal")
    from mixai.dsp.loudness import K_WEIGHTING_STAGES, k_weighting_sos

    for rate in (8000, 44100, 48000, 96000, 192000):
        reference = np.vstack([signal.tf2sos(f.b, f.a) for f in
                               (pyloudnorm.IIRfilter(g, q, hz, rate, kind) for kind, g, q, hz in K_WEIGHTING_STAGES)])
        np.testing.assert_allclose(k_weighting_sos(rate), reference, atol=1e-12)
    with pytest.raises(ValueError):
        design.rbj_biquad("peaking", 0.0, 1.0, 1000.0, 44100)


def test_kaiser_lowpass_is_firwin():
    signal = pytest.importorskip("scipy.signal")
    for taps, cutoff, beta in ((129, 0.25, 5.0), (49, 0.5, 8.0), (33, 0.1, 0.0)):
        np.testing.assert_allclose(design.kaiser_lowpass(taps, cutoff, beta),
                                   signal.firwin(taps, cutoff, window=("kaiser", beta)), atol=1e-15)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 9])
def test_running_filters_are_ndimages(size):
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(size)
    for x in (rng.standard_normal(1000), rng.standard_normal(3).astype(np.float32), np.array([2.5])):
        np.testing.assert_array_equal(running.running_max(x, size), ndimage.maximum_filter1d(x, size, mode="nearest"))
        np.testing.assert_array_equal(running.running_min(x, size), ndimage.minimum_filter1d(x, size, mode="nearest"))
        np.testing.assert_allclose(running.running_mean(x, size), ndimage.uniform_filter1d(x, size, mode="nearest"),
                                   rtol=1e-6, atol=1e-12)
    assert running.running_max(np.zeros(0), size).shape == (0,)


@pytest.mark.skipif(load_library(ROOT / "mixai" / "io", "_flacwalk") is None,
                    reason="mixai/io/_flacwalk.c is not built here")
def test_compiled_flac_walk_is_the_numba_walk(tmp_path, monkeypatch):
    """The compiled walk and numba's compilation of the Python one agree on an intact, a cut and
    a corrupted FLAC file."""
    pytest.importorskip("numba")
    import soundfile as sf

    from mixai.dsp.streaming import compiled
    from mixai.io import flacscan

    rng = np.random.default_rng(4)
    sf.write(tmp_path / "a.flac", (0.3 * rng.standard_normal((3 * 44100, 2))).astype(np.float32), 44100,
             subtype="PCM_16")
    whole = (tmp_path / "a.flac").read_bytes()
    corrupted = bytearray(whole)
    corrupted[len(whole) // 2] ^= 0x40
    cases = {"whole": whole, "cut": whole[: len(whole) * 2 // 3], "corrupted": bytes(corrupted)}
    flacscan._walker.cache_clear()
    assert flacscan._walker() is not compiled(flacscan._walk_py)
    native = {name: flacscan.scan_flac(data) for name, data in cases.items()}
    monkeypatch.setattr(flacscan, "_header", compiled(flacscan._header_py))  # what the numba walk calls
    numba_walk = compiled(flacscan._walk_py)
    monkeypatch.setattr(flacscan, "_walker", lambda: numba_walk)
    assert native == {name: flacscan.scan_flac(data) for name, data in cases.items()}
    assert [native[k].status for k in cases] == [flacscan.FLAC_OK, flacscan.FLAC_TRUNCATED, flacscan.FLAC_DAMAGED]
    assert native["whole"].intact_frames == 3 * 44100 > native["cut"].intact_frames > 0
