"""End-to-end mastering: loudness on target, true peak under the ceiling, neutral transparency."""

import numpy as np
import pytest

import material
from mixai.errors import InputError
from mixai.dsp.truepeak import true_peak_dbtp
from mixai.master.options import MasterOptions
from mixai.master.pipeline import master_array, master_file
from mixai.settings import Output, Settings, neutral_settings

SR = 44100
MATERIAL = {"dense_loud": material.dense_loud, "sparse_quiet": material.sparse_quiet,
            "band_loop": material.band_loop}


@pytest.fixture(scope="module")
def sources():
    return {name: make(10.0) for name, make in MATERIAL.items()}


@pytest.mark.parametrize("target", [-23.0, -16.0, -14.0, -11.0, -8.0])
@pytest.mark.parametrize("name", list(MATERIAL))
def test_loudness_and_ceiling(sources, name, target):
    out, report = master_array(sources[name], SR, predictor="dsp",
                               options=MasterOptions(target_lufs=target, ceiling_dbtp=-1.0))
    assert abs(material.lufs(out) - target) <= 0.2
    assert abs(material.lufs_libebur128(out) - target) <= 0.2
    assert true_peak_dbtp(out) <= -1.0
    assert max(material.independent_true_peaks_dbtp(out).values()) <= -1.0
    assert report.after["true_peak_dbtp"] <= -1.0
    # The pipeline's own check skips sub-blocks by a bound; it must still find the exact maximum.
    assert report.after["true_peak_dbtp"] == pytest.approx(true_peak_dbtp(out), abs=2e-3)


def test_rendered_chorale(chorale):
    for target, ceiling in ((-14.0, -1.0), (-9.0, -0.3)):
        out, _ = master_array(chorale, SR, predictor="dsp",
                              options=MasterOptions(target_lufs=target, ceiling_dbtp=ceiling))
        assert abs(material.lufs(out) - target) <= 0.2
        assert true_peak_dbtp(out) <= ceiling


def test_neutral_settings_only_change_level(sources):
    x = sources["band_loop"]
    settings = neutral_settings(Output(target_lufs=-30.0, ceiling_dbtp=0.0))
    out, report = master_array(x, SR, settings=settings, options=MasterOptions(target_lufs=-30.0, ceiling_dbtp=0.0))
    assert report.max_limiting_db < 1e-4  # float32 gain curve round-off only
    ratio = out / np.where(np.abs(x) > 1e-3, x, np.nan)
    gains = ratio[np.isfinite(ratio)]
    assert np.ptp(gains) < 1e-4 * np.median(gains)


def test_settings_change_the_spectrum(sources):
    """A +6 dB high shelf must show up as more energy above 10 kHz than the neutral master."""
    from mixai.settings import EQ, HighShelf
    x = sources["band_loop"]
    opts = MasterOptions(target_lufs=-20.0, ceiling_dbtp=0.0)
    flat, _ = master_array(x, SR, settings=Settings(), options=opts)
    bright, _ = master_array(x, SR, settings=Settings(eq=EQ(high_shelf=HighShelf(6000.0, 6.0))), options=opts)

    def top_ratio(a):
        spec = np.abs(np.fft.rfft(a.mean(axis=0))) ** 2
        f = np.fft.rfftfreq(a.shape[1], 1 / SR)
        return spec[f > 10000].sum() / spec.sum()
    assert 10 * np.log10(top_ratio(bright) / top_ratio(flat)) > 3.0


def test_amount_zero_gives_neutral_chain(loop_wav, tmp_path):
    report = master_file(loop_wav, None, predictor="dsp", dry_run=True, options=MasterOptions(amount=0.0))
    assert report.settings.is_neutral


def test_reference_matching_moves_toward_reference(tmp_path):
    """Mastering a dull track against a bright reference must brighten it."""
    from scipy import signal
    from mixai.analysis import analyze_array
    x = material.band_loop(10.0)
    bright = signal.lfilter(*signal.butter(1, 3000, "highpass", fs=SR), x, axis=1).astype(np.float32) + 0.3 * x
    ref = material.write(tmp_path / "ref.wav", bright / np.abs(bright).max() * 0.5)
    out, report = master_array(x, SR, predictor="dsp", target=str(ref), options=MasterOptions(target_lufs=-14))
    assert report.target.startswith("reference:")
    before = analyze_array(x, SR).features["spectral_centroid_oct"]
    after = analyze_array(out, SR).features["spectral_centroid_oct"]
    assert after > before + 0.2


def test_dc_offset_is_removed_and_reported(sources, tmp_path):
    """A constant offset (a bad converter or bounce) is taken out before the chain: the master is
    centred and on target; an offset under -60 dBFS is left alone."""
    music = sources["band_loop"]
    offset = np.array([[0.25], [-0.1]], np.float32)
    path = material.write(tmp_path / "dc.wav", music + offset, subtype="FLOAT")
    out_path = tmp_path / "dc.master.wav"
    report = master_file(path, out_path, predictor="dsp", options=MasterOptions(target_lufs=-14.0))
    import soundfile as sf

    out = sf.read(out_path, dtype="float32", always_2d=True)[0].T
    assert np.abs(out.mean(axis=1)).max() < 1e-3  # was 0.25 / -0.1 of full scale, times the gain
    assert report.dc_offset_removed == pytest.approx([0.25 + float(music[0].mean()), -0.1 + float(music[1].mean())],
                                                     abs=2e-3)
    assert abs(material.lufs(out) - (-14.0)) <= 0.2
    assert "removed an offset" in report.summary() and report.to_dict()["dc_offset_removed"] is not None
    # the whole-input analysis measures the same offset (the master's fallback when no excerpt serves)
    assert report.before.to_dict()["peaks"]["dc_offset"] == pytest.approx(report.dc_offset_removed, abs=1e-3)
    from mixai.master.pipeline import suggestion

    assert suggestion(path, predictor="dsp").settings == report.settings  # suggest predicts as master does
    _, quiet = master_array(music + np.float32(1e-4), SR, predictor="dsp")
    assert quiet.dc_offset_removed is None


def test_out_of_phase_channels_are_warned_about(sources):
    """A polarity-flipped channel is not "fixed" (it may be meant), but the report says it."""
    music = sources["band_loop"]
    _, normal = master_array(music, SR, predictor="dsp")
    assert normal.warnings() == []
    flipped = np.stack([music[0], -music[0]])
    _, report = master_array(flipped, SR, predictor="dsp")
    assert len(report.warnings()) == 1 and "out of phase" in report.warnings()[0]
    assert report.to_dict()["warnings"] == report.warnings()
    assert "warning left and right" in report.summary()


def test_clipped_input_is_warned_about(sources):
    """Flat tops at full scale are counted in the analysis and reported; peaks that merely come
    close (the tanh-saturated material tops out at 0.98) are not clipping."""
    _, squashed = master_array(sources["dense_loud"], SR, predictor="dsp")
    assert squashed.before.clipped_runs == 0 and squashed.warnings() == []
    clipped = np.clip(sources["band_loop"] * 40.0, -1.0, 1.0)
    _, report = master_array(clipped, SR, predictor="dsp")
    assert report.before.clipped_runs > 10
    assert report.before.to_dict()["peaks"]["clipped_runs"] == report.before.clipped_runs
    assert any("clipped" in w for w in report.warnings()) and "input is clipped" in report.summary()


def test_silent_array_is_rejected():
    with pytest.raises(InputError, match="silent"):
        master_array(np.zeros((2, SR * 2), np.float32), SR, predictor="dsp")


def test_long_file_report_measures_the_whole_input(tmp_path):
    """Past 60 s the working level comes from the excerpt, but the report's input loudness and
    peak are measured over every sample, and the output still lands on target."""
    import soundfile as sf

    audio = np.concatenate([material.band_loop(40.0), material.sparse_quiet(35.0)], axis=1)  # quiet coda
    path = material.write(tmp_path / "long.wav", audio, subtype="PCM_24")
    out_path = tmp_path / "long.master.wav"
    report = master_file(path, out_path, predictor="dsp", options=MasterOptions(target_lufs=-14.0))
    source = sf.read(path, dtype="float32", always_2d=True)[0].T
    assert report.before.integrated_lufs == pytest.approx(material.lufs(source), abs=0.05)
    assert report.before.true_peak_dbtp == pytest.approx(true_peak_dbtp(source), abs=1e-3)
    out = sf.read(out_path, dtype="float32", always_2d=True)[0].T
    assert abs(material.lufs(out) - (-14.0)) <= 0.2
    assert max(material.independent_true_peaks_dbtp(out).values()) <= -1.0
