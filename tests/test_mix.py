"""mixai mix end to end on short generated stems, the mix settings file, roles and the stem model."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from mixai import cli
from mixai.errors import InputError, ModelError, ParameterError
from mixai.io.audio import load, save
from mixai.master.options import MasterOptions
from mixai.mix.roles import role_from_name, role_from_sound
from mixai.settings.stems import MixSettings

SR = 44100
ROOT = Path(__file__).resolve().parents[1]
STEM_MODEL = ROOT / "models" / "mixai-stems.onnx"


def _tone(freqs, seconds, sr, rng, amp=0.1):
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * f * t * (1 + 0.002 * np.sin(2 * np.pi * 5 * t))) / (k + 1)
            for k, f in enumerate(freqs))
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t) ** 2
    return (amp * x * env + 0.001 * rng.standard_normal(t.size)).astype(np.float32)


def _drums(seconds, sr, rng):
    n = int(seconds * sr)
    x = np.zeros(n, np.float32)
    for start in range(0, n, sr // 4):
        hit = rng.standard_normal(min(4000, n - start)).astype(np.float32)
        x[start:start + hit.size] += 0.3 * hit * np.exp(-np.arange(hit.size) / 600.0).astype(np.float32)
        k = min(6000, n - start)
        x[start:start + k] += (0.5 * np.sin(2 * np.pi * 55 * np.arange(k) / sr) * np.exp(-np.arange(k) / 1500.0)).astype(np.float32)
    return x


@pytest.fixture(scope="module")
def stems_dir(tmp_path_factory) -> Path:
    """vocals (stereo), drums (stereo), bass (mono, shorter), Gtr 2 (mono), keys at 48 kHz, and an
    unnamed noisy percussive stem."""
    rng = np.random.default_rng(7)
    d = tmp_path_factory.mktemp("stems")
    v = _tone([440, 880, 1320], 3.0, SR, rng)
    save(d / "Lead Vox.wav", np.stack([v, 0.97 * v]), SR, bit_depth=32)
    dr = _drums(3.0, SR, rng)
    save(d / "drums.wav", np.stack([dr, dr]), SR, bit_depth=32)
    save(d / "bass.wav", _tone([55, 110], 2.2, SR, rng, 0.2)[None, :], SR, bit_depth=32)
    save(d / "Gtr 2.wav", _tone([330, 660, 990, 1980], 2.8, SR, rng, 0.05)[None, :], SR, bit_depth=32)
    k = _tone([261.6, 329.6, 392.0], 3.0, 48000, rng, 0.05)
    save(d / "keys.wav", np.stack([k, k]), 48000, bit_depth=32)
    return d


@pytest.fixture(scope="module")
def dsp_mix(stems_dir, tmp_path_factory):
    from mixai.mix import MixWarning, mix_files

    out = tmp_path_factory.mktemp("out")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = mix_files(stems_dir, out / "mix.wav", options=MasterOptions(target_lufs=-14.0, ceiling_dbtp=-1.0),
                           predictor="dsp", master_predictor="dsp", save_settings=out / "mix.json")
    return report, out, [w for w in caught if issubclass(w.category, MixWarning)]


def test_mix_output_loudness_peak_length(dsp_mix):
    import pyloudnorm

    from mixai.dsp.truepeak import true_peak_dbtp

    report, out, _ = dsp_mix
    audio, rate = load(out / "mix.wav")
    assert rate == 48000 and audio.shape[0] == 2
    assert audio.shape[1] == int(3.0 * 48000)   # the longest stem; shorter ones padded
    lufs = pyloudnorm.Meter(rate).integrated_loudness(audio.T.astype(np.float64))
    assert abs(lufs - (-14.0)) <= 0.2
    assert true_peak_dbtp(audio) <= -1.0 + 1e-3
    assert not list(out.glob(".*part*"))


def test_roles_resampling_warning_and_mono_pan(dsp_mix):
    report, _, caught = dsp_mix
    roles = {s.name: (s.role, s.role_from) for s in report.stems}
    assert roles["Lead Vox"] == ("vocals", "name")
    assert roles["Gtr 2"] == ("guitar", "name")
    assert roles["bass"] == ("bass", "name")
    assert any("48000 Hz" in str(w.message) and "keys" not in str(w.message) for w in caught)
    assert report.warnings and "resampling" in report.warnings[0]
    gtr = report.settings.stem("Gtr 2").settings
    assert gtr.pan != 0.0                      # a mono stem is placed in the stereo field
    assert report.settings.stem("Lead Vox").settings.pan == 0.0
    d = report.to_dict()
    json.dumps(d)
    assert "Lead Vox" in report.summary()


def test_settings_round_trip_and_replay(dsp_mix, stems_dir, tmp_path, capsys):
    report, out, _ = dsp_mix
    text = (out / "mix.json").read_text()
    settings = MixSettings.from_json(text)
    assert settings == report.settings
    assert MixSettings.from_json(settings.to_json()) == settings
    assert json.loads(settings.to_json()) == json.loads(text)
    # --settings through the CLI reproduces the same samples
    rc = cli.main(["mix", str(stems_dir), "-o", str(tmp_path / "again.wav"), "--settings",
                   str(out / "mix.json"), "--target-lufs", "-14", "--ceiling-dbtp", "-1", "-q"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "mixai mix: warning: stems have different sample rates" in err and "48000 Hz" in err
    a, _ = load(out / "mix.wav")
    b, _ = load(tmp_path / "again.wav")
    assert a.shape == b.shape and np.array_equal(a, b)


def test_settings_strict(dsp_mix):
    report, _, _ = dsp_mix
    data = report.settings.to_dict()
    bad = json.loads(json.dumps(data))
    bad["stems"][0]["loudness"] = 3
    with pytest.raises(ParameterError, match="unknown key"):
        MixSettings.from_dict(bad)
    bad = json.loads(json.dumps(data))
    bad["stems"][0]["pan"] = 2.0
    with pytest.raises(ParameterError, match="outside"):
        MixSettings.from_dict(bad)
    bad = json.loads(json.dumps(data))
    bad["schema_version"] = 99
    with pytest.raises(ParameterError, match="schema_version"):
        MixSettings.from_dict(bad)
    bad = json.loads(json.dumps(data))
    bad["stems"][0]["role"] = "kazoo"
    with pytest.raises(ParameterError, match="role"):
        MixSettings.from_dict(bad)


def test_cli_errors(stems_dir, tmp_path, capsys):
    # a 3-channel stem
    save(tmp_path / "surround.wav", np.zeros((3, 1000), np.float32), SR)
    rc = cli.main(["mix", str(stems_dir / "drums.wav"), str(tmp_path / "surround.wav"), "-o", str(tmp_path / "o.wav")])
    err = capsys.readouterr().err
    assert rc == 1 and "surround.wav: has 3 channels" in err and "mono or stereo stems" in err
    assert len(err.strip().splitlines()) == 1
    # a corrupt stem
    (tmp_path / "broken.wav").write_bytes(b"RIFF1234WAVEjunk")
    rc = cli.main(["mix", str(stems_dir / "drums.wav"), str(tmp_path / "broken.wav"), "-o", str(tmp_path / "o.wav")])
    err = capsys.readouterr().err
    assert rc == 1 and "broken.wav" in err and "cannot decode" in err
    # never over an input
    rc = cli.main(["mix", str(stems_dir / "drums.wav"), str(stems_dir / "bass.wav"), "-o",
                   str(stems_dir / "drums.wav"), "-y"])
    assert rc == 1 and "input" in capsys.readouterr().err
    assert not (tmp_path / "o.wav").exists()
    # settings that do not match the stems
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"schema_version": 1, "kind": "mixai-mix", "stems": [{"name": "x", "role": "bass"}]}))
    rc = cli.main(["mix", str(stems_dir / "drums.wav"), "-o", str(tmp_path / "o.wav"), "--settings", str(settings)])
    assert rc == 1 and "do not match" in capsys.readouterr().err


def test_role_from_name():
    assert role_from_name("01 Kick In") == "drums"
    assert role_from_name("bass drum") == "drums"
    assert role_from_name("Bassoon") == "other"
    assert role_from_name("BASS_DI") == "bass"
    assert role_from_name("lead_vocal_comp") == "vocals"
    assert role_from_name("Piano L") == "keys"
    assert role_from_name("gtr2") == "guitar"
    assert role_from_name("Violins") == "strings"
    assert role_from_name("track 07") is None


def test_role_from_sound():
    from mixai.analysis.features import extract

    rng = np.random.default_rng(1)
    bass = _tone([50, 100], 2.0, SR, rng, 0.3)
    drums = _drums(2.0, SR, rng)
    # As mixai mix asks: each stem against the plain sum it sits in.
    mix = extract((bass + drums)[None], SR)
    assert role_from_sound(extract(bass[None], SR), mix) == "bass"
    assert role_from_sound(extract(drums[None], SR), mix) == "drums"


@pytest.mark.skipif(not STEM_MODEL.is_file(), reason="stem model not exported")
@pytest.mark.filterwarnings("ignore::mixai.mix.MixWarning")
def test_stem_model_predicts(stems_dir, tmp_path):
    from mixai.mix import mix_files

    report = mix_files(stems_dir, tmp_path / "m.wav", options=MasterOptions(), predictor="onnx",
                       master_predictor="dsp")
    assert report.predictor == "onnx"
    levels = [s.rel_db_in_mix for s in report.stems]
    assert all(v is not None and math.isfinite(v) for v in levels)


def test_stem_model_metadata_checked(tmp_path):
    from mixai.mix import StemModel

    with pytest.raises(ModelError, match="not found"):
        StemModel(tmp_path / "none.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"nope")
    with pytest.raises(ModelError, match="not a loadable"):
        StemModel(tmp_path / "junk.onnx")
    master = ROOT / "models" / "mixai-master.onnx"
    if master.is_file():
        with pytest.raises(ModelError, match="not a 'stems' model"):
            StemModel(master)


def test_empty_folder(tmp_path):
    from mixai.mix import mix_files

    with pytest.raises(InputError, match="no audio files"):
        mix_files(tmp_path, tmp_path / "o.wav")


def test_mix_arrays_in_memory_and_rate_change():
    from mixai.mix import mix_arrays

    rng = np.random.default_rng(3)
    stems = {"bass": _tone([55, 110], 1.5, SR, rng, 0.2)[None], "vocals": np.stack([_tone([440], 1.5, SR, rng)] * 2)}
    audio, report, rendered = mix_arrays(stems, SR, options=MasterOptions(target_lufs=-16.0, sample_rate=48000),
                                         predictor="dsp", master_predictor="dsp", keep_stems=True)
    assert report.settings.sample_rate == 48000
    assert audio.shape == (2, int(1.5 * 48000)) and len(rendered.stems) == 2
    assert report.after["integrated_lufs"] == pytest.approx(-16.0, abs=0.2)
