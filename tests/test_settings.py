"""The settings schema: validation, JSON and [0, 1]-vector round trips, amount scaling."""

import json

import numpy as np
import pytest

from mixai.errors import ParameterError
from mixai.settings import (EQ, PARAMETERS, Compressor, HighShelf, LowShelf, Output, Peak, Reverb,
                            Settings, Stereo, load_settings, scale_settings)


def busy_settings() -> Settings:
    return Settings(eq=EQ(highpass_hz=35.0, low_shelf=LowShelf(90.0, -2.5), low_mid=Peak(320.0, -3.0, 1.4),
                          mid=Peak(1200.0, 1.5, 0.8), high_mid=Peak(5000.0, 2.0, 2.0),
                          high_shelf=HighShelf(10000.0, 3.0)),
                    compressor=Compressor(-24.0, 2.5, 12.0, 180.0), stereo=Stereo(1.2),
                    reverb=Reverb(0.12, 0.4, 0.6), output=Output(-11.0, -0.5, 60.0))


def test_json_round_trip_is_exact():
    s = busy_settings()
    assert Settings.from_json(s.to_json()) == s
    assert json.loads(s.to_json())["schema_version"] == 1


def test_partial_json_takes_defaults():
    s = Settings.from_dict({"schema_version": 1, "eq": {"mid": {"gain_db": 2.0}}})
    assert s.eq.mid.gain_db == 2.0 and s.eq.mid.freq_hz == 1000.0 and s.compressor.is_neutral


@pytest.mark.parametrize("data, words", [
    ({"schema_version": 1, "eq": {"mid": {"gain_db": 40}}}, ["gain_db", "40", "-12"]),
    ({"schema_version": 1, "eq": {"tilt_db": 1}}, ["unknown key", "tilt_db"]),
    ({"schema_version": 1, "compresor": {}}, ["unknown key", "compresor"]),
    ({"schema_version": 1, "compressor": {"ratio": "high"}}, ["ratio", "number"]),
    ({"schema_version": 2}, ["schema_version"]),
    ({"eq": {}}, ["schema_version"]),
    ({"schema_version": 1, "reverb": {"wet": float("nan")}}, ["wet"]),
])
def test_bad_settings_name_the_problem(data, words):
    with pytest.raises(ParameterError) as err:
        Settings.from_dict(data)
    for word in words:
        assert word in str(err.value)


def test_invalid_json_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ParameterError, match="bad.json"):
        load_settings(str(bad))


def test_vector_round_trip_within_float32():
    s = busy_settings()
    v = s.to_vector()
    assert v.shape == (len(PARAMETERS),) and v.min() >= 0 and v.max() <= 1
    back = Settings.from_vector(v, output=s.output)
    assert np.allclose(back.to_vector(), v, atol=1e-6)
    assert abs(back.eq.mid.freq_hz - 1200.0) < 0.1


def test_vector_is_clipped_into_range():
    s = Settings.from_vector(np.full(len(PARAMETERS), 1.7))
    assert s.eq.mid.gain_db == 12.0 and s.compressor.ratio == pytest.approx(10.0)


def test_amount_scales_toward_neutral():
    s = busy_settings()
    assert scale_settings(s, 0.0).is_neutral
    assert scale_settings(s, 1.0) == s
    half = scale_settings(s, 0.5)
    assert half.eq.mid.gain_db == pytest.approx(0.75)
    assert half.compressor.ratio == pytest.approx(2.5 ** 0.5)
    with pytest.raises(ParameterError):
        scale_settings(s, 1.5)


def test_snap_to_neutral_switches_off_inaudible_stages():
    from mixai.settings import snap_to_neutral
    tiny = Settings(eq=EQ(mid=Peak(1000.0, 0.05, 1.0), high_shelf=HighShelf(9000.0, 2.0)),
                    compressor=Compressor(-20.0, 1.002, 10.0, 100.0), stereo=Stereo(1.01),
                    reverb=Reverb(0.004, 0.5, 0.5))
    snapped = snap_to_neutral(tiny)
    assert snapped.eq.mid.gain_db == 0.0 and snapped.eq.high_shelf.gain_db == 2.0
    assert snapped.compressor.is_neutral and snapped.stereo.is_neutral and snapped.reverb.is_neutral
    assert snap_to_neutral(busy_settings()) == busy_settings()
