"""The command line: every bad input is one line on stderr, exit 1, and nothing left behind."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import material
from mixai.cli import main

SR = 44100


def run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def leftovers(folder: Path, keep: set[str]) -> set[str]:
    return {p.name for p in folder.iterdir()} - keep


@pytest.fixture
def workdir(tmp_path, loop_wav):
    src = tmp_path / "song.wav"
    src.write_bytes(loop_wav.read_bytes())
    return tmp_path


def _bad_inputs(folder: Path) -> dict[str, tuple[Path, str]]:
    cases = {}
    cases["missing"] = (folder / "nope.wav", "no such file")
    empty = folder / "empty.wav"
    empty.write_bytes(b"")
    cases["empty"] = (empty, "empty")
    garbage = folder / "garbage.wav"
    garbage.write_bytes(os.urandom(4096))
    cases["garbage"] = (garbage, "cannot decode")
    good = material.write(folder / "tmp_good.wav", material.band_loop(3.0), subtype="PCM_16")
    data = good.read_bytes()
    truncated = folder / "truncated.wav"
    truncated.write_bytes(data[:30])
    cases["truncated"] = (truncated, "cannot decode")
    good.unlink()
    silent = material.write(folder / "silent.wav", np.zeros((2, SR * 2), np.float32))
    cases["silent"] = (silent, "silent")
    blip = material.write(folder / "blip.wav", material.band_loop(1.0)[:, :200])  # 4.5 ms
    cases["too_short"] = (blip, "needs at least 0.4 s")
    nan = np.full((2, SR * 2), 0.1, np.float32)
    nan[0, SR] = np.nan
    cases["nan"] = (material.write(folder / "nan.wav", nan), "NaN")
    cases["three_channels"] = (material.write(folder / "surround.wav", np.zeros((3, SR), np.float32) + 0.1),
                               "3 channels")
    text = folder / "notes.txt"
    text.write_text("hello")
    cases["unsupported"] = (text, "unsupported format")
    m4a = folder / "song.m4a"
    m4a.write_bytes(os.urandom(1000))
    cases["m4a"] = (m4a, "unsupported format")
    cases["folder"] = (folder, "folder")
    return cases


def test_bad_inputs_give_one_line_errors(tmp_path, capsys):
    cases = _bad_inputs(tmp_path)
    before = {p.name for p in tmp_path.iterdir()}
    for name, (path, words) in cases.items():
        out = tmp_path / f"out_{name}.wav"
        code, _, err = run(["master", path, "-o", out, "--predictor", "dsp"], capsys)
        assert code == 1, name
        assert err.count("\n") == 1 and "Traceback" not in err, (name, err)
        assert words in err and str(path) in err, (name, err)
        assert not out.exists(), name
    assert leftovers(tmp_path, before) == set()


def test_analyze_reports_bad_input_too(tmp_path, capsys):
    nan = np.full((1, SR), 0.1, np.float32)
    nan[0, 100] = np.inf
    path = material.write(tmp_path / "inf.wav", nan)
    code, _, err = run(["analyze", path], capsys)
    assert code == 1 and "NaN or infinite" in err


def test_output_problems(workdir, capsys):
    src = workdir / "song.wav"
    original = src.read_bytes()
    cases = [
        (["master", src, "-o", src], "output is the input"),
        (["master", src, "-o", workdir / "missing" / "out.wav"], "does not exist"),
        (["master", src, "-o", workdir / "out.mp3"], "writes .wav or .flac"),
        (["master", src, "--predictor", "dsp"], "needs -o"),
        (["master", src, "-o", workdir / "x.wav", "--target-lufs", "3"], "target_lufs"),
        (["master", src, "-o", workdir / "x.wav", "--preset", "radio"], "unknown preset"),
        (["master", src, "-o", workdir / "x.wav", "--sample-rate", "4000"], "sample rate"),
        (["master", src, "-o", workdir / "x.flac", "--bit-depth", "32"], "FLAC"),
    ]
    for argv, words in cases:
        code, _, err = run(argv + ["--predictor", "dsp"] if "--predictor" not in argv else argv, capsys)
        assert code == 1 and words in err and "Traceback" not in err, (argv, err)
    assert src.read_bytes() == original
    assert leftovers(workdir, {"song.wav"}) == set()


def test_existing_output_needs_overwrite(workdir, capsys):
    src, out = workdir / "song.wav", workdir / "out.wav"
    out.write_bytes(b"keep me")
    code, _, err = run(["master", src, "-o", out, "--predictor", "dsp"], capsys)
    assert code == 1 and "already exists" in err and out.read_bytes() == b"keep me"
    code, stdout, _ = run(["master", src, "-o", out, "--predictor", "dsp", "-y"], capsys)
    assert code == 0 and out.read_bytes() != b"keep me"
    assert "after" in stdout and "LUFS" in stdout


def test_master_cli_summary_settings_round_trip(workdir, capsys):
    src = workdir / "song.wav"
    first, second = workdir / "a.wav", workdir / "b.wav"
    saved = workdir / "settings.json"
    code, out, _ = run(["master", src, "-o", first, "--predictor", "dsp", "--target-lufs", "-12",
                        "--ceiling-dbtp", "-1.5", "--save-settings", saved], capsys)
    assert code == 0 and "-12" in out
    data = json.loads(saved.read_text())
    assert data["output"]["target_lufs"] == -12.0 and data["schema_version"] == 1
    code, _, _ = run(["master", src, "-o", second, "--settings", saved], capsys)
    assert code == 0
    a, _ = sf.read(first)
    b, _ = sf.read(second)
    assert np.array_equal(a, b)  # the saved settings reproduce the master exactly
    assert abs(material.lufs(a.T) + 12.0) <= 0.2
    assert max(material.independent_true_peaks_dbtp(a.T).values()) <= -1.5


def test_dry_run_writes_nothing(workdir, capsys):
    code, out, _ = run(["master", workdir / "song.wav", "--dry-run", "--predictor", "dsp"], capsys)
    assert code == 0 and '"schema_version": 1' in out
    assert leftovers(workdir, {"song.wav"}) == set()


def test_presets_and_formats(workdir, capsys):
    src = workdir / "song.wav"
    for preset, lufs, ceiling in (("apple", -16, -1), ("amazon", -14, -2), ("ebu-r128", -23, -1)):
        out = workdir / f"{preset}.flac"
        code, _, _ = run(["master", src, "-o", out, "--preset", preset, "--predictor", "dsp",
                          "--bit-depth", "16", "-q"], capsys)
        assert code == 0
        audio, rate = sf.read(out)
        assert sf.info(out).subtype == "PCM_16" and rate == SR
        assert abs(material.lufs(audio.T) - lufs) <= 0.2
        assert max(material.independent_true_peaks_dbtp(audio.T).values()) <= ceiling


def test_resampling_and_mono(tmp_path, capsys):
    mono = material.write(tmp_path / "mono.wav", material.band_loop(6.0)[:1], subtype="PCM_24")
    out = tmp_path / "mono48.wav"
    code, _, _ = run(["master", mono, "-o", out, "--sample-rate", "48000", "--predictor", "dsp",
                      "--bit-depth", "32", "-q"], capsys)
    assert code == 0
    info = sf.info(out)
    assert info.samplerate == 48000 and info.channels == 1 and info.subtype == "FLOAT"
    audio, _ = sf.read(out)
    assert abs(material.lufs(audio, 48000) + 14.0) <= 0.2


@pytest.mark.parametrize("rate", [8000, 192000])
def test_extreme_sample_rates(tmp_path, capsys, rate):
    src = material.write(tmp_path / f"r{rate}.wav", material.band_loop(4.0, sr=rate), sr=rate)
    out = tmp_path / f"o{rate}.wav"
    code, _, err = run(["master", src, "-o", out, "--predictor", "dsp", "-q"], capsys)
    assert code == 0, err
    audio, got = sf.read(out)
    assert got == rate and abs(material.lufs(audio.T, rate) + 14.0) <= 0.2


def test_analyze_json(loop_wav, capsys):
    code, out, _ = run(["analyze", loop_wav], capsys)
    data = json.loads(out)
    assert code == 0
    assert abs(data["loudness"]["integrated_lufs"] - material.lufs(sf.read(loop_wav)[0].T)) < 0.05
    assert data["peaks"]["true_peak_dbtp"] >= data["peaks"]["sample_peak_dbfs"]
    assert len(data["features"]["values"]) == len(data["features"]["names"])
    assert set(data["stereo"]) == {"side_to_mid_db", "correlation"}


def test_real_process_help_and_error(tmp_path):
    """The installed entry point: fast --help, and an error without a traceback."""
    r = subprocess.run([sys.executable, "-m", "mixai", "master", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--target-lufs" in r.stdout and "--preset" in r.stdout
    r = subprocess.run([sys.executable, "-m", "mixai", "master", str(tmp_path / "x.wav"), "-o",
                        str(tmp_path / "y.wav")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_every_command_is_there_and_shares_one_predictor_list():
    """The parser is built from the command modules listed in mixai.cli.app (a missing one is an
    ImportError, not a silently absent command), and every --predictor offers the same choices."""
    from mixai.cli.app import COMMAND_MODULES, build_parser
    from mixai.cli.options import BIT_DEPTHS
    from mixai.io.audio import BIT_DEPTHS as WRITER_BIT_DEPTHS
    from mixai.predict import PREDICTOR_CHOICES

    assert [m.NAME for m in COMMAND_MODULES] == ["master", "analyze", "suggest", "mix", "batch"]
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices  # argparse keeps them here
    assert set(subparsers) == {"master", "analyze", "suggest", "mix", "batch"}
    seen = 0
    for sub in subparsers.values():
        for action in sub._actions:
            if action.dest in ("predictor", "master_predictor"):
                assert tuple(action.choices) == PREDICTOR_CHOICES
                seen += 1
            if action.dest == "bit_depth":
                assert tuple(action.choices) == WRITER_BIT_DEPTHS == BIT_DEPTHS
    assert seen == 6  # master, suggest, mix (2), batch (2)


def test_help_imports_nothing_heavy():
    code = ("import sys; from mixai.cli import build_parser; build_parser();"
            "print(','.join(m for m in ('numpy', 'scipy', 'librosa', 'pedalboard', 'onnxruntime') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "", r.stdout + r.stderr
