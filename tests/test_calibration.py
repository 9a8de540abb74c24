"""The do-no-harm calibration: dead bands and amounts on a network's settings, stored in the model file."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from mixai.errors import ModelError
from mixai.settings.calibration import Calibration
from mixai.settings.schema import EQ, HighShelf, LowShelf, Peak, Settings, Stereo


def _settings(**gains) -> Settings:
    eq = EQ(low_shelf=LowShelf(gain_db=gains.get("low", 0.0)), low_mid=Peak(gain_db=gains.get("low_mid", 0.0)),
            mid=Peak(gain_db=gains.get("mid", 0.0)), high_mid=Peak(gain_db=gains.get("high_mid", 0.0)),
            high_shelf=HighShelf(gain_db=gains.get("high", 0.0)))
    return Settings(eq=eq, stereo=Stereo(width=gains.get("width", 1.0)))


def test_identity_changes_nothing():
    settings = _settings(low=3.0, mid=-0.4, width=1.3)
    assert Calibration().is_identity
    assert Calibration().apply(settings) == settings


def test_dead_band_removes_small_gains_and_shrinks_large_ones():
    out = Calibration(eq_deadband_db=1.0).apply(_settings(low=3.0, low_mid=-0.6, mid=0.99, high=-4.5))
    gains = {name: band.gain_db for name, band in out.eq.bands()}
    assert gains["low_shelf"] == pytest.approx(2.0)
    assert gains["low_mid"] == 0.0 and gains["mid"] == 0.0
    assert gains["high_shelf"] == pytest.approx(-3.5)
    assert gains["high_mid"] == 0.0


def test_amounts_scale_what_the_dead_band_leaves():
    out = Calibration(eq_deadband_db=1.0, eq_amount=0.5, width_deadband=0.1, width_amount=0.5).apply(
        _settings(low=5.0, width=1.5))
    assert out.eq.low_shelf.gain_db == pytest.approx(2.0)  # (5 - 1) * 0.5
    assert out.stereo.width == pytest.approx(1.2)  # 1 + (0.5 - 0.1) * 0.5
    narrow = Calibration(width_deadband=0.1).apply(_settings(width=0.95))
    assert narrow.stereo.width == 1.0


def test_json_round_trip_and_strictness():
    calibration = Calibration(eq_deadband_db=1.5, eq_amount=0.85, width_deadband=0.05, dynamics_amount=0.0)
    assert Calibration.from_json(calibration.to_json()) == calibration
    for bad in ('{"eq_amount": 2}', '{"eq_deadband_db": -1}', '{"surprise": 1}', '[1, 2]', 'not json',
                '{"eq_amount": "half"}'):
        with pytest.raises(ModelError):
            Calibration.from_json(bad)


def test_the_model_file_carries_its_calibration(tmp_path):
    """A calibration written into a copy of the shipped model changes what that model predicts,
    exactly as applying it by hand does; the shipped file itself is left alone."""
    pytest.importorskip("onnx")
    from mixai.analysis.features import Features
    from mixai.predict import load_profile
    from mixai.predict.onnx import Model, packaged_model_path
    from mixai.settings.scaling import snap_to_neutral
    from mixai.training.master.calibrate import write_calibration

    shipped = packaged_model_path()
    if shipped is None:
        pytest.skip("no packaged model")
    before = shipped.read_bytes()
    copy = tmp_path / "model.onnx"
    shutil.copyfile(shipped, copy)
    calibration = Calibration(eq_deadband_db=1.0, eq_amount=0.5, dynamics_amount=0.0)
    write_calibration(copy, calibration, {"eq": {"chosen": {}, "mean_error": 1.0, "neutral_error": 1.0,
                                                 "harmed": 0.0}})
    assert shipped.read_bytes() == before
    plain, tempered = Model(shipped), Model(copy)
    assert tempered.calibration == calibration
    target = load_profile("default")
    rng = np.random.default_rng(0)
    tilted = target.features.values.copy()
    tilted[:12] += np.linspace(-6, 6, 12)  # a strongly tilted balance: the network answers it
    for values in (tilted, target.features.values + rng.normal(0, 1.0, target.features.values.shape)):
        features = Features(values.astype(np.float32))
        raw = Settings.from_vector(plain.run(np.concatenate([features.values, target.features.values])[None])[0])
        expected = snap_to_neutral(calibration.apply(raw))
        got = dataclasses.replace(tempered.predict(features, target), output=expected.output)
        if tempered.trust(features) >= 1.0:
            assert got == expected
        assert got.compressor.ratio == 1.0
        for (_, raw_band), (_, band) in zip(raw.eq.bands(), got.eq.bands()):
            assert abs(band.gain_db) <= max(abs(raw_band.gain_db) - 1.0, 0.0) * 0.5 + 1e-9


def test_calibrate_picks_a_dead_band_that_stops_harm_on_clean_inputs():
    """Half the examples need nothing and the 'network' answers them with 1.5 dB of noise; the other
    half need a 6 dB shelf and get it (plus the same noise). Untempered, every clean example is
    harmed; the chosen calibration harms at most 10 % and is closer to the labels than neutral."""
    pytest.importorskip("torch")
    from mixai.predict import load_profile
    from mixai.training.master.calibrate import calibrate

    rng = np.random.default_rng(1)
    labels, raw = [], []
    for i in range(100):
        need = 6.0 if i % 2 else 0.0
        label = _settings(low=need)
        noisy = _settings(low=need + rng.normal(0, 1.5), mid=rng.normal(0, 1.5), high=rng.normal(0, 1.5))
        labels.append(label.to_vector())
        raw.append(noisy.to_vector())
    audio = np.repeat(load_profile("default").features.values[None], 100, axis=0)
    calibration, report = calibrate(np.array(raw), np.array(labels), audio, verbose=False)
    assert calibration.eq_deadband_db > 0.0
    assert report["eq"]["harmed"] <= 0.10
    assert report["eq"]["mean_error"] < report["eq"]["neutral_error"]
    untempered = next(c for c in report["eq"]["grid"]
                      if c["values"] == {"eq_deadband_db": 0.0, "eq_amount": 1.0})
    assert untempered["harmed"] >= 0.45
