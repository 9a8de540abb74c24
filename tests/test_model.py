"""The shipped ONNX predictor: same numbers as torch, strict metadata, and a torch-free master."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mixai.errors import ModelError
from mixai.analysis.features import FEATURE_COUNT, FEATURE_NAMES

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "mixai-master.onnx"

pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason="models/mixai-master.onnx is not present")


def _inputs(n: int = 64, seed: int = 0) -> np.ndarray:
    """Feature vectors distributed like the training data (the model's own normalisation stats)."""
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    weights = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(MODEL)).graph.initializer}
    mean, std = weights["mean"].astype(np.float64), weights["std"].astype(np.float64)
    rng = np.random.default_rng(seed)
    return (mean + std * rng.standard_normal((n, mean.size))).astype(np.float32)


def test_model_file_is_small_and_described():
    from mixai.predict.onnx import Model

    assert MODEL.stat().st_size < 5 * 1024 * 1024
    meta = Model(MODEL).metadata
    for key in ("training_seed", "training_examples", "training_pieces", "code_version"):
        assert meta[key]
    assert int(meta["training_examples"]) > 1000
    assert json.loads(meta["feature_names"]) == list(FEATURE_NAMES)


def test_onnx_matches_torch():
    torch = pytest.importorskip("torch")
    from mixai.predict.onnx import Model
    from mixai.training.export import torch_from_onnx

    x = _inputs()
    net = torch_from_onnx(MODEL)
    with torch.no_grad():
        expected = net(torch.tensor(x)).numpy()
    got = Model(MODEL).run(x)
    assert got.shape == (len(x), 22)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    assert (got >= 0).all() and (got <= 1).all()


def test_prediction_is_valid_settings():
    from mixai.predict import load_profile
    from mixai.predict.onnx import Model
    from mixai.settings import Settings

    target = load_profile()
    settings = Model(MODEL).predict(target.features, target)
    assert isinstance(settings, Settings)
    assert Settings.from_dict(settings.to_dict()) == settings


def _eq_curve_of_prediction(audio: np.ndarray, target=None):
    """The model's EQ response (dB on the mel grid) for audio (reference-free unless a target is
    given), and the grid."""
    torch = pytest.importorskip("torch")
    from mixai.analysis.features import extract
    from mixai.predict import load_profile
    from mixai.predict.onnx import Model
    from mixai.training.master.model import MEL_CURVE_HZ, eq_response_db

    import material

    vector = Model(MODEL).predict(extract(audio, material.SR), target or load_profile()).to_vector()
    return eq_response_db(torch.tensor(vector[None], dtype=torch.float64), MEL_CURVE_HZ).numpy()[0], MEL_CURVE_HZ


def test_clean_rendering_with_another_soundfont_is_left_alone(tmp_path):
    """The chorale rendered with TimGM6mb, a small soundfont with duller samples, is clean too: it
    must get almost no EQ. A model trained on FluidR3 renderings alone put up to 12 dB on it."""
    import material

    audio = material.render_chorale(tmp_path, 12.0, material.TIMGM6MB)
    if audio is None:
        pytest.skip("fluidsynth or timgm6mb-soundfont is not installed")
    curve, _ = _eq_curve_of_prediction(audio)
    assert np.abs(curve).max() < 3.0


def test_clean_rendering_is_left_alone_and_treble_damage_is_never_made_worse(tmp_path):
    """A clean FluidSynth chorale (rendered with fluidsynth's own reverb and chorus, unlike the
    training corpus) gets almost no EQ. With a +-8 dB treble shelf, the model trained on recorded
    masters and calibrated to do no harm may leave the shelf alone reference-free (a chorale is far
    from a produced master's balance, so the damage is ambiguous), but it never pushes the treble
    further the damage's way; given the clean chorale as reference it undoes the dull shelf (the
    "dull" fault of real masters) by more than 2 dB.

    (The profile itself is no test input: its band levels are per-band means of dB values, not the
    spectrum of any one track.)"""
    import pedalboard

    import material
    from mixai.analysis.features import extract
    from mixai.predict.target import Target

    audio = material.render_chorale(tmp_path, 12.0)
    if audio is None:
        pytest.skip("fluidsynth or its soundfont is not installed")
    curve, grid = _eq_curve_of_prediction(audio)
    treble = grid > 4000
    assert np.abs(curve).max() < 3.0
    reference = Target(name="clean chorale", features=extract(audio, material.SR), is_reference=True)
    for gain_db in (8.0, -8.0):
        shelf = pedalboard.Pedalboard([pedalboard.HighShelfFilter(cutoff_frequency_hz=5000, gain_db=gain_db)])
        damaged = shelf(audio, material.SR)
        free = _eq_curve_of_prediction(damaged)[0][treble].mean()
        with_reference = _eq_curve_of_prediction(damaged, reference)[0][treble].mean()
        for correction in (free, with_reference):
            assert correction * gain_db <= 0.0, (gain_db, free, with_reference)
        if gain_db < 0:
            assert with_reference > 2.0, (gain_db, with_reference)


def _with_metadata(tmp_path: Path, **changes: str) -> Path:
    onnx = pytest.importorskip("onnx")
    proto = onnx.load(str(MODEL))
    for entry in proto.metadata_props:
        if entry.key in changes:
            entry.value = changes[entry.key]
    out = tmp_path / "changed.onnx"
    onnx.save(proto, str(out))
    return out


@pytest.mark.parametrize("changes, message", [
    ({"feature_version": "999"}, "feature version"),
    ({"feature_names": json.dumps(list(reversed(FEATURE_NAMES)))}, "feature names"),
    ({"schema_version": "0"}, "settings schema"),
    ({"parameters": json.dumps([{"name": "x", "low": 0, "high": 1, "scale": "lin"}])}, "parameter"),
    ({"mixai_kind": "mix"}, "not a 'master' model"),
])
def test_metadata_mismatch_is_a_clear_model_error(tmp_path, changes, message):
    from mixai.predict.onnx import Model

    with pytest.raises(ModelError, match=message):
        Model(_with_metadata(tmp_path, **changes))


def test_missing_and_broken_files(tmp_path):
    from mixai.predict.onnx import Model

    with pytest.raises(ModelError, match="not found"):
        Model(tmp_path / "absent.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a loadable"):
        Model(broken)


END_TO_END = textwrap.dedent("""
    import importlib.abc, sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch is blocked in this test")
            return None

    sys.meta_path.insert(0, NoTorch())
    import numpy as np, pyloudnorm
    from mixai.master.options import MasterOptions
    from mixai.master.pipeline import master_array
    from mixai.predict.onnx import Model

    sr = 44100
    rng = np.random.default_rng(0)
    t = np.arange(int(6 * sr)) / sr
    # A short "piece": a chord progression, a bass line and hi-hat-like noise bursts, panned.
    chords = [(220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6), (196.0, 246.9, 293.7)]
    keys = np.zeros_like(t)
    bass = np.zeros_like(t)
    for i, chord in enumerate(chords * 2):
        sel = (t >= i * 0.75) & (t < (i + 1) * 0.75)
        env = np.exp(-3 * (t[sel] - i * 0.75))
        keys[sel] = sum(np.sin(2 * np.pi * f * t[sel]) for f in chord) * env * 0.15
        bass[sel] = np.sin(2 * np.pi * chord[0] / 4 * t[sel]) * 0.3
    hats = rng.standard_normal(t.size) * np.exp(-40 * (t % 0.1875)) * 0.05
    left, right = keys * 0.8 + bass + hats * 0.4, keys * 0.5 + bass + hats * 0.9
    audio = np.stack([left, right]).astype(np.float32) * 0.5
    out, report = master_array(audio, sr, predictor=Model(sys.argv[1]), options=MasterOptions(target_lufs=-14.0))
    assert "torch" not in sys.modules, "torch was imported"
    lufs = pyloudnorm.Meter(sr).integrated_loudness(out.T.astype(np.float64))
    print(report.predictor, round(lufs, 3))
    assert abs(lufs + 14.0) < 0.2, lufs
""")


def test_end_to_end_master_without_torch():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", END_TO_END, str(MODEL)], capture_output=True, text=True,
                          env=env, cwd=str(ROOT), timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split()[0] == "onnx"


def test_input_width():
    from mixai.predict.onnx import Model

    model = Model(MODEL)
    assert model.session.get_inputs()[0].shape[1] == 2 * FEATURE_COUNT
    assert model.run(_inputs(3)).shape == (3, 22)


def _hum(seconds: float = 8.0) -> np.ndarray:
    """A steady 220 Hz hum with a little hiss: music-like to nothing the model was trained on."""
    import material

    t = np.arange(int(seconds * material.SR)) / material.SR
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.002 * np.random.default_rng(1).standard_normal(t.size)
    return np.stack([tone, tone]).astype(np.float32)


def test_corrections_are_scaled_by_the_models_trust_in_the_input(tmp_path):
    """Inside its training material the model is trusted fully; far outside, its settings are moved
    toward neutral by exactly its trust, and the master report says so."""
    from mixai.analysis.features import extract
    from mixai.master.pipeline import master_array
    from mixai.predict import load_profile
    from mixai.predict.onnx import Model
    from mixai.settings import Settings, snap_to_neutral

    import material

    model = Model(MODEL)
    assert model.domain is not None and model.domain.edge_d2 > 0
    chorale = material.render_chorale(tmp_path, 12.0)
    if chorale is not None:  # a FluidR3 rendering, like the training corpus
        assert model.trust(extract(chorale, material.SR)) == 1.0
    hum = extract(_hum(), material.SR)
    trust = model.trust(hum)
    assert 0.0 < trust < 0.5
    target = load_profile()
    # the network's settings after the model's own do-no-harm calibration, before its trust
    raw = snap_to_neutral(model.calibration.apply(Settings.from_vector(
        model.run(np.concatenate([hum.values, target.features.values])[None])[0])))
    scaled = model.predict(hum, target)
    raw_gains = [b.gain_db for b in (raw.eq.low_shelf, raw.eq.low_mid, raw.eq.mid, raw.eq.high_mid, raw.eq.high_shelf)]
    gains = [b.gain_db for b in (scaled.eq.low_shelf, scaled.eq.low_mid, scaled.eq.mid, scaled.eq.high_mid,
                                 scaled.eq.high_shelf)]
    assert max(abs(g) for g in raw_gains) > 1.0  # the calibrated network alone would correct
    for g_raw, g in zip(raw_gains, gains):
        assert g == pytest.approx(g_raw * trust, abs=1e-5) or (g == 0.0 and abs(g_raw * trust) < 0.11)
    _, report = master_array(_hum(), material.SR, predictor=model)
    assert report.model_trust == pytest.approx(trust, rel=0.05)
    assert report.to_dict()["model_trust"] == pytest.approx(trust, abs=0.06)
    assert "unlike the model's training material" in report.summary()


def test_suggest_says_when_the_corrections_were_scaled(tmp_path, capsys):
    """`mixai suggest` and mixai.suggestion() report the trust too; stdout stays a settings file."""
    import soundfile as sf

    import material
    from mixai.cli import main
    from mixai.master.pipeline import suggestion
    from mixai.predict.onnx import Model
    from mixai.settings import Settings

    hum = tmp_path / "hum.wav"
    sf.write(hum, _hum().T, material.SR)
    found = suggestion(hum, predictor=Model(MODEL))
    assert found.predictor == "onnx" and 0.0 < found.model_trust < 0.5
    assert "scaled to" in found.note()
    assert main(["suggest", str(hum), "--model", str(MODEL)]) == 0
    out, err = capsys.readouterr()
    assert Settings.from_json(out) == found.settings
    assert f"scaled to {100 * found.model_trust:.0f} %" in err
    assert suggestion(hum, predictor="dsp").model_trust is None  # the DSP predictor has no trust


def test_input_domain_round_trips_and_a_broken_one_is_refused(tmp_path):
    from mixai.predict.domain import InputDomain
    from mixai.predict.onnx import Model

    domain = Model(MODEL).domain
    again = InputDomain.from_json(domain.to_json(), FEATURE_COUNT)
    probe = _inputs(8)[:, :FEATURE_COUNT]  # the audio half of the network input
    np.testing.assert_allclose(again.distance2(probe), domain.distance2(probe), rtol=1e-5)
    with pytest.raises(ModelError, match="input_domain"):
        Model(_with_metadata(tmp_path, input_domain=json.dumps({"mean": [0.0], "std": [1.0],
                                                                  "precision": [[1.0]], "edge_d2": 1.0})))
