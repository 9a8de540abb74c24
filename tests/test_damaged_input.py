"""Damaged and unusual input, through the real command line: a file cut short or damaged in the
middle is one error line that says what was promised and what was found (and nothing is written);
``--allow-truncated`` masters the intact part with a warning; the unusual formats a user meets
either master on target (measured) or give one clear line."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import material
from mixai.cli import main
from mixai.io import integrity

SR = 44100
SECONDS = 6.0


def run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def music():
    return material.band_loop(SECONDS)


def _write_mp3(path: Path, audio: np.ndarray) -> Path:
    from pedalboard.io import AudioFile

    with AudioFile(str(path), "w", SR, audio.shape[0]) as f:
        f.write(audio)
    return path


def _overwrite(data: bytes, at: float, count: int, seed: int = 0) -> bytes:
    b = bytearray(data)
    i = int(len(b) * at)
    b[i:i + count] = np.random.default_rng(seed).integers(0, 256, count, dtype=np.uint8).tobytes()
    return bytes(b)


@pytest.fixture(scope="module")
def damaged(music, tmp_path_factory):
    """name -> (file, promised seconds or None, intact seconds about)."""
    d = tmp_path_factory.mktemp("damaged")
    cases = {}
    wav = material.write(d / "full.wav", music, subtype="PCM_16").read_bytes()
    (d / "cut.wav").write_bytes(wav[:44 + (len(wav) - 44) // 2])
    cases["wav cut"] = (d / "cut.wav", SECONDS, SECONDS / 2)
    sf.write(d / "full.flac", music.T, SR, subtype="PCM_16")
    flac = (d / "full.flac").read_bytes()
    (d / "cut.flac").write_bytes(flac[:len(flac) // 2])
    cases["flac cut"] = (d / "cut.flac", SECONDS, SECONDS / 2)
    (d / "mid.flac").write_bytes(_overwrite(flac, 0.5, 3000))
    cases["flac damaged"] = (d / "mid.flac", SECONDS, SECONDS / 2)
    sf.write(d / "full.ogg", music.T, SR, format="OGG", subtype="VORBIS")
    ogg = (d / "full.ogg").read_bytes()
    (d / "cut.ogg").write_bytes(ogg[:len(ogg) // 2])
    cases["ogg cut"] = (d / "cut.ogg", None, SECONDS / 2)
    (d / "mid.ogg").write_bytes(_overwrite(ogg, 0.5, 4000))
    cases["ogg damaged"] = (d / "mid.ogg", SECONDS, SECONDS / 2)
    mp3 = _write_mp3(d / "full.mp3", music).read_bytes()
    (d / "cut.mp3").write_bytes(mp3[:len(mp3) // 2])
    cases["mp3 cut"] = (d / "cut.mp3", SECONDS, SECONDS / 2)
    (d / "mid.mp3").write_bytes(_overwrite(mp3, 0.5, 3000))
    cases["mp3 damaged"] = (d / "mid.mp3", SECONDS, SECONDS / 2)
    return cases


def _seconds_in(text: str) -> list[float]:
    import re

    return [float(x) for x in re.findall(r"(\d+\.\d\d) s \(", text)]


def test_intact_files_pass(tmp_path, music):
    """No false alarm: whole files in each container, as libsndfile, libvorbis, LAME (pedalboard)
    and mixai's own writer make them."""
    from pedalboard.io import AudioFile

    files = [material.write(tmp_path / "a.wav", music, subtype=s) for s in ("PCM_16",)]
    for name, subtype in (("b.flac", "PCM_24"), ("c.ogg", "VORBIS")):
        sf.write(tmp_path / name, music.T, SR, subtype=subtype)
        files.append(tmp_path / name)
    files.append(_write_mp3(tmp_path / "d.mp3", music))
    with AudioFile(str(tmp_path / "e.flac"), "w", SR, 2, bit_depth=16) as f:
        f.write(music)
    files.append(tmp_path / "e.flac")
    for path in files:
        with AudioFile(str(path)) as f:
            assert integrity.check(path, int(f.samplerate), f.frames) is None, path


def test_debian_recordings_pass():
    """Real produced files (Debian's game music): none is taken for damaged."""
    found = [p for folder in ("/usr/share/games", "/usr/share/sounds") if os.path.isdir(folder)
             for p in sorted(Path(folder).rglob("*")) if p.suffix.lower() in (".ogg", ".flac", ".wav", ".mp3")]
    if not found:
        pytest.skip("no recorded music installed (scripts/install-corpus.sh installs some)")
    from pedalboard.io import AudioFile

    checked = 0
    for path in found[::max(1, len(found) // 120)]:
        try:
            with AudioFile(str(path)) as f:
                rate, frames = int(f.samplerate), f.frames
        except Exception:  # noqa: BLE001 - not a file pedalboard reads at all: not ours to judge
            continue
        assert integrity.check(path, rate, frames) is None, path
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("name", ["wav cut", "flac cut", "flac damaged", "ogg cut", "ogg damaged", "mp3 cut",
                                  "mp3 damaged"])
def test_damaged_file_is_one_clear_error(damaged, name, tmp_path, capsys):
    path, promised, intact = damaged[name]
    out = tmp_path / "out.wav"
    before = set(os.listdir(tmp_path))
    code, _, err = run(["master", path, "-o", out, "--predictor", "dsp"], capsys)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert str(path) in err and "--allow-truncated" in err
    assert ("cut short" if "cut" in name else "damaged") in err
    seconds = _seconds_in(err)
    if promised is None:
        assert len(seconds) == 1 and "promises" not in err and "incomplete" in err, err
    else:
        assert "promises" in err and abs(seconds[0] - promised) < 0.05, err
    assert abs(seconds[-1] - intact) < 0.6, err  # found: about half (cut at the middle byte)
    assert set(os.listdir(tmp_path)) == before  # nothing written, no temporary
    code, _, err = run(["analyze", path], capsys)
    assert code == 1 and "--allow-truncated" in err and err.count("\n") == 1


@pytest.mark.parametrize("name", ["wav cut", "flac damaged", "ogg cut", "mp3 damaged"])
def test_allow_truncated_masters_what_is_there(damaged, name, tmp_path, capsys):
    path, _, _ = damaged[name]
    out = tmp_path / "out.wav"
    code, stdout, err = run(["master", path, "-o", out, "--predictor", "dsp", "--allow-truncated", "--json"], capsys)
    assert code == 0, err
    report = json.loads(stdout)
    warning = next(w for w in report["warnings"] if "only those were mastered" in w)
    intact = _seconds_in(warning)[-1]
    audio, rate = sf.read(out)
    assert abs(len(audio) / rate - intact) < 0.01  # as long as the intact part, no padding
    tail = audio[-int(0.25 * rate):]
    assert 20 * np.log10(np.sqrt(np.mean(tail ** 2))) > -40  # the end is music, not digital silence
    assert abs(material.lufs(audio.T, rate) + 14.0) <= 0.2
    assert abs(report["before"]["duration_s"] - intact) < 0.01
    code, stdout, _ = run(["analyze", path, "--allow-truncated"], capsys)
    analysis = json.loads(stdout)
    assert code == 0 and abs(analysis["duration_s"] - intact) < 0.01 and analysis["warnings"]


def _streamed_wav(path: Path, music: np.ndarray) -> Path:
    """A WAV whose data size is the 0xFFFFFFFF placeholder of a streamed recording."""
    material.write(path, music, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    i = data.find(b"data")
    data[i + 4:i + 8] = struct.pack("<I", 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def test_unusual_formats_master_on_target(tmp_path, music, capsys):
    """8-bit, 24-bit and 32-bit integer, float far above full scale, mono, a streamed WAV: each
    masters to the target under the ceiling (measured by pyloudnorm and two true-peak meters),
    as long as the input."""
    cases = {
        "u8.wav": ("PCM_U8", music * 2.5),
        "s24.wav": ("PCM_24", music),
        "s32.wav": ("PCM_32", music),
        "hot.wav": ("FLOAT", music * 40.0),  # peaks near +14 dBFS
        "mono.wav": ("PCM_16", music[:1]),
    }
    paths = [material.write(tmp_path / n, a, subtype=s) for n, (s, a) in cases.items()]
    assert np.abs(sf.read(paths[3])[0]).max() > 4.0
    paths.append(_streamed_wav(tmp_path / "streamed.wav", music))
    for path in paths:
        out = tmp_path / f"{path.stem}.master.wav"
        code, stdout, err = run(["master", path, "-o", out, "--predictor", "dsp", "--json"], capsys)
        assert code == 0, (path, err)
        audio, rate = sf.read(out, always_2d=True)
        assert audio.shape == (int(SECONDS * SR), 1 if path.stem == "mono" else 2), path
        assert abs(material.lufs(audio.T, rate) + 14.0) <= 0.2, path
        assert max(material.independent_true_peaks_dbtp(audio.T, rate).values()) <= -1.0, path
        warnings = json.loads(stdout)["warnings"]
        if path.stem == "streamed":
            assert any("no length" in w for w in warnings)
        if path.stem == "hot":
            assert not any("clipped" in w for w in warnings)  # above full scale is not clipping in float


def test_unusual_inputs_refused_with_one_line(tmp_path, music, capsys):
    cases = {
        "six.wav": (np.tile(music, (3, 1)), SR, "6 channels"),
        "r4k.wav": (music[:, ::11], 4000, "4000 Hz is outside"),
        "r384k.wav": (np.repeat(music[:, :SR], 9, axis=1), 384000, "384000 Hz is outside"),
        "empty-data.wav": (np.zeros((2, 0), np.float32), SR, "no audio samples"),
    }
    for name, (audio, rate, words) in cases.items():
        path = material.write(tmp_path / name, audio, sr=rate, subtype="PCM_16")
        out = tmp_path / f"{name}.out.wav"
        code, _, err = run(["master", path, "-o", out, "--predictor", "dsp"], capsys)
        assert code == 1 and err.count("\n") == 1 and words in err and "Traceback" not in err, (name, err)
        assert not out.exists()


def test_ogg_crc_is_the_one_ogg_uses(tmp_path, music):
    """Every page of a libvorbis file passes, and a flipped byte fails (the check is real)."""
    sf.write(tmp_path / "a.ogg", music.T, SR, format="OGG", subtype="VORBIS")
    data = (tmp_path / "a.ogg").read_bytes()
    pages = 0
    pos = 0
    while pos < len(data):
        segments = data[pos + 27:pos + 27 + data[pos + 26]]
        end = pos + 27 + len(segments) + sum(segments)
        stored = struct.unpack("<I", data[pos + 22:pos + 26])[0]
        page = data[pos:pos + 22] + b"\0\0\0\0" + data[pos + 26:end]
        assert integrity.ogg_crc(page) == stored
        flipped = bytearray(page)
        flipped[-1] ^= 0x01
        assert integrity.ogg_crc(bytes(flipped)) != stored
        pages += 1
        pos = end
    assert pages > 5
