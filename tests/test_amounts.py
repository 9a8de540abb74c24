"""Per-aspect amounts (EQ, dynamics, reverb, width): the Python API, the CLI, the settings JSON,
each measured on the rendered audio."""

import json

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

import material
from mixai.cli import main
from mixai.errors import ParameterError
from mixai.master.options import MasterOptions
from mixai.master.pipeline import master_array
from mixai.settings import (EQ, Amounts, Compressor, HighShelf, LowShelf, Peak, Reverb, Settings, Stereo,
                            apply_amounts, scale_aspects)

SR = 44100
QUIET = dict(target_lufs=-26.0, ceiling_dbtp=0.0)  # far under the ceiling: the limiter stays out of it
EQ_ONLY = Settings(eq=EQ(low_shelf=LowShelf(120.0, 5.0), low_mid=Peak(400.0, -4.0, 1.0),
                         mid=Peak(1500.0, 3.0, 1.2), high_mid=Peak(4000.0, -3.0, 1.0),
                         high_shelf=HighShelf(8000.0, 6.0)))


def third_octave_db(audio: np.ndarray, rate: int = SR) -> tuple[np.ndarray, np.ndarray]:
    """Long-term spectrum (Welch) of the channel sum in third-octave bands, 60 Hz to 16 kHz."""
    f, p = signal.welch(np.atleast_2d(audio).mean(axis=0), rate, nperseg=8192)
    centres = 1000.0 * 2.0 ** (np.arange(-14, 13) / 3.0)
    bands = [p[(f >= c * 2 ** -(1 / 6)) & (f < c * 2 ** (1 / 6))].mean() for c in centres]
    return centres, 10 * np.log10(np.array(bands))


def spectral_change_db(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per band, after minus before, with the overall level change (the median) taken out."""
    _, a = third_octave_db(before)
    _, b = third_octave_db(after)
    d = b - a
    return d - np.median(d)


@pytest.fixture(scope="module")
def loop():
    return material.band_loop(10.0)


def test_amounts_json_round_trip_and_errors():
    s = EQ_ONLY.replace(amounts=Amounts(eq=0.5, dynamics=0.25, reverb=0.0, width=1.0))
    data = json.loads(s.to_json())
    assert data["amounts"] == {"eq": 0.5, "dynamics": 0.25, "reverb": 0.0, "width": 1.0}
    assert Settings.from_json(s.to_json()) == s
    assert "amounts" not in EQ_ONLY.to_dict()  # files that use no amounts read as before
    with pytest.raises(ParameterError, match="Amounts.eq = 1.5"):
        Settings.from_dict({"schema_version": 1, "amounts": {"eq": 1.5}})
    with pytest.raises(ParameterError, match="eq_amount = -0.1"):
        MasterOptions(eq_amount=-0.1).amounts()
    assert MasterOptions(amount=0.5, eq_amount=0.5).amounts() == Amounts(0.25, 0.5, 0.5, 0.5)


def test_scaling_composes_and_zero_is_neutral():
    busy = EQ_ONLY.replace(compressor=Compressor(-25.0, 4.0, 10.0, 100.0), stereo=Stereo(1.6),
                           reverb=Reverb(0.2, 0.5, 0.5))
    twice = scale_aspects(scale_aspects(busy, eq=0.5, width=0.4), eq=0.5, width=0.5)
    once = scale_aspects(busy, eq=0.25, width=0.2)
    assert np.allclose(twice.to_vector(), once.to_vector(), atol=1e-6)
    off = busy.replace(amounts=Amounts(eq=0.0, dynamics=0.0, reverb=0.0, width=0.0))
    assert off.is_neutral and apply_amounts(off).is_neutral and not busy.is_neutral
    only_eq = apply_amounts(busy.replace(amounts=Amounts(dynamics=0.0, reverb=0.0, width=0.0)))
    assert only_eq.eq == busy.eq and only_eq.compressor.is_neutral and only_eq.stereo.is_neutral
    assert only_eq.reverb.is_neutral and only_eq.amounts.is_full


def test_eq_amount_scales_the_measured_spectral_change(loop):
    """EQ amount 0 leaves the long-term spectrum alone apart from level; 0.5 gives about half
    the dB change of 1."""
    changes = {}
    for amount in (0.0, 0.5, 1.0):
        out, report = master_array(loop, SR, settings=EQ_ONLY, options=MasterOptions(eq_amount=amount, **QUIET))
        assert report.max_limiting_db < 0.05
        changes[amount] = spectral_change_db(loop, out)
    full, half = changes[1.0], changes[0.5]
    assert np.abs(changes[0.0]).max() < 0.1
    assert np.abs(full).max() > 4.0
    k = float(np.dot(half, full) / np.dot(full, full))  # least-squares: half ~ k * full
    assert 0.45 <= k <= 0.55, k
    assert np.abs(half - 0.5 * full).max() < 0.6


def test_dynamics_amount_scales_the_compression(loop):
    comp = Settings(compressor=Compressor(threshold_db=-30.0, ratio=6.0, attack_ms=2.0, release_ms=80.0))

    def crest_db(x):
        return 20 * np.log10(np.abs(x).max() / np.sqrt(np.mean(np.square(x))))

    crest = {}
    for amount in (0.0, 0.5, 1.0):
        out, _ = master_array(loop, SR, settings=comp, options=MasterOptions(dynamics_amount=amount, **QUIET))
        crest[amount] = crest_db(out)
    assert abs(crest[0.0] - crest_db(loop)) < 0.05  # no compression at all
    assert crest[1.0] < crest[0.5] - 0.5 < crest[0.0] - 1.0


def test_width_amount_scales_the_side_signal(loop):
    wide = Settings(stereo=Stereo(2.0))

    def side_to_mid_db(x):
        mid, side = x[0] + x[1], x[0] - x[1]
        return 10 * np.log10(np.sum(side.astype(np.float64) ** 2) / np.sum(mid.astype(np.float64) ** 2))

    base = side_to_mid_db(loop)
    for amount in (0.0, 0.5, 1.0):
        out, _ = master_array(loop, SR, settings=wide, options=MasterOptions(width_amount=amount, **QUIET))
        expected = 20 * np.log10(1.0 + (2.0 - 1.0) * amount)  # width 1 + (2 - 1) * amount
        assert abs(side_to_mid_db(out) - base - expected) < 0.05, amount


def test_reverb_amount_scales_the_tail():
    """Short noise bursts in silence: the reverb tail after each, relative to the burst, drops by
    6 dB at amount 0.5 (the wet level is halved) and vanishes at 0."""
    rng = np.random.default_rng(1)
    x = np.zeros((2, SR * 8), np.float32)
    for start in range(0, SR * 8, SR):
        x[:, start:start + 2205] = 0.3 * rng.standard_normal((2, 2205))
    roomy = Settings(reverb=Reverb(wet=0.4, room_size=0.7, damping=0.3))

    def tail_to_burst_db(y):
        burst = sum(np.sum(y[:, s:s + 2205] ** 2) for s in range(0, SR * 8, SR))
        tail = sum(np.sum(y[:, s + 4410:s + SR] ** 2) for s in range(0, SR * 8, SR))
        return 10 * np.log10(max(tail, 1e-30) / burst)

    ratios = {}
    for amount in (0.0, 0.5, 1.0):
        out, _ = master_array(x, SR, settings=roomy, options=MasterOptions(reverb_amount=amount, **QUIET))
        ratios[amount] = tail_to_burst_db(out)
    assert ratios[0.0] < -90.0
    assert abs((ratios[1.0] - ratios[0.5]) - 6.02) < 0.5, ratios


def test_cli_amounts_save_and_replay(tmp_path, loop, capsys):
    """--eq-amount etc. on the command line; the saved settings keep the full correction and the
    amounts, replay exactly, and replay at other amounts without predicting again."""
    src = material.write(tmp_path / "song.wav", loop, subtype="PCM_24")
    given = tmp_path / "given.json"
    given.write_text(EQ_ONLY.replace(compressor=Compressor(-28.0, 3.0, 5.0, 120.0)).to_json())
    first, saved = tmp_path / "a.wav", tmp_path / "a.json"
    common = ["--target-lufs", "-26", "--ceiling-dbtp", "0", "-q"]
    assert main(["master", str(src), "-o", str(first), "--settings", str(given), "--eq-amount", "0.5",
                 "--dynamics-amount", "0", "--save-settings", str(saved), *common]) == 0
    data = json.loads(saved.read_text())
    assert data["amounts"] == {"eq": 0.5, "dynamics": 0.0, "reverb": 1.0, "width": 1.0}
    assert data["eq"]["high_shelf"]["gain_db"] == 6.0 and data["compressor"]["ratio"] == 3.0  # kept in full
    replay = tmp_path / "b.wav"
    assert main(["master", str(src), "-o", str(replay), "--settings", str(saved), *common]) == 0
    assert np.array_equal(sf.read(first)[0], sf.read(replay)[0])
    flat = tmp_path / "c.wav"  # the file's amounts times the command line's: EQ 0.5 * 0 = off
    assert main(["master", str(src), "-o", str(flat), "--settings", str(saved), "--eq-amount", "0", *common]) == 0
    assert np.abs(spectral_change_db(loop, sf.read(flat)[0].T)).max() < 0.1
    half = spectral_change_db(loop, sf.read(first)[0].T)
    assert 2.0 < np.abs(half).max() < 4.0  # about half of the file's 6 dB shelf
    code = main(["master", str(src), "-o", str(tmp_path / "d.wav"), "--width-amount", "2", "--predictor", "dsp"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "width_amount = 2" in err


def test_summary_shows_the_amounts_and_the_values_that_ran(loop):
    _, report = master_array(loop, SR, settings=EQ_ONLY, options=MasterOptions(eq_amount=0.5, **QUIET))
    text = report.summary()
    assert "amounts eq 50 %, dynamics 100 %, reverb 100 %, width 100 %" in text
    assert "high shelf +3.0 dB" in text  # what the chain ran with, not the stored full correction
    assert report.to_dict()["settings"]["amounts"]["eq"] == 0.5


def test_every_command_offers_the_same_aspects():
    """The CLI's list of aspects (kept import-free for --help) is the schema's."""
    from mixai.cli.app import build_parser
    from mixai.cli.options import ASPECT_HELP
    from mixai.master.options import ASPECT_OPTIONS
    from mixai.settings import AMOUNT_ASPECTS

    assert tuple(ASPECT_HELP) == tuple(AMOUNT_ASPECTS) == tuple(ASPECT_OPTIONS.values())
    subparsers = next(a for a in build_parser()._actions if a.dest == "command").choices
    for name in ("master", "suggest", "mix", "batch"):
        dests = {a.dest for a in subparsers[name]._actions}
        assert set(ASPECT_OPTIONS) <= dests, name
