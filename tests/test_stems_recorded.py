"""Real band stems as a corpus (fretsonfire-songs-muldjord), the backing role, roles from the sound,
and the stem rows built from both kinds of corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mixai.training.corpus.stems_recorded import (BACKING_ROLE, PACKAGE, WindowConfig, assign_song_splits,
                                                  find_songs, song_windows)

ROOT = Path(__file__).resolve().parents[1]
ROLES_MODEL = ROOT / "models" / "mixai-roles.onnx"
INSTALLED = Path(f"/usr/share/doc/{PACKAGE}/copyright").is_file()
needs_package = pytest.mark.skipif(not INSTALLED, reason=f"Debian package {PACKAGE} is not installed "
                                                         "(apt-get install fretsonfire-songs-muldjord)")


def test_song_splits_are_by_song_and_seeded():
    songs = ["armygeddon", "chaos_god", "internal_degeneration", "mutilated_mime"]
    split = assign_song_splits(songs)
    assert split == {"armygeddon": "test", "mutilated_mime": "val", "chaos_god": "train",
                     "internal_degeneration": "train"}
    assert assign_song_splits(list(reversed(songs))) == split          # order of discovery does not matter
    assert sorted(assign_song_splits(["a", "b"]).values()) == ["test", "train"]
    assert assign_song_splits(["only"]) == {"only": "train"}


@needs_package
def test_package_songs_are_found():
    songs = find_songs()
    assert len(songs) >= 4
    assert all(Path(s.guitar).name == "guitar.ogg" and Path(s.backing).name == "song.ogg" for s in songs)


@needs_package
def test_windows_sum_to_the_mix_with_licence(tmp_path):
    import soundfile as sf

    from mixai.dsp.loudness import integrated_lufs
    from mixai.training.corpus.layout import iter_pieces, write_index

    song = min(find_songs(), key=lambda s: s.name)
    ids, skipped = song_windows((song, "test", WindowConfig(seconds=10.0, hop_seconds=40.0), str(tmp_path),
                                 ["CC-BY-SA"]))
    assert len(ids) >= 3 and skipped >= 0
    write_index(tmp_path, {"splits": {"train": [], "val": [], "test": ids}})
    pieces = iter_pieces(tmp_path, "test")
    assert len(pieces) == len(ids)
    mix_path, stems = pieces[0]
    assert set(stems) == {"guitar", BACKING_ROLE}
    mix, rate = sf.read(mix_path, dtype="float32", always_2d=True)
    g, _ = sf.read(stems["guitar"], dtype="float32", always_2d=True)
    b, _ = sf.read(stems[BACKING_ROLE], dtype="float32", always_2d=True)
    assert rate == 44100 and mix.shape == (10 * 44100, 2)
    assert np.max(np.abs(g + b - mix)) < 1e-6                          # the artists' balance, exactly
    assert np.max(np.abs(mix)) <= 10 ** (-1 / 20) + 1e-6                # one shared gain keeps the sum unclipped
    meta = json.loads((mix_path.parent / "meta.json").read_text())
    assert meta["package"] == PACKAGE and meta["licences"] == ["CC-BY-SA"]
    assert meta["copyright"].endswith(f"{PACKAGE}/copyright")
    rel = {s["name"]: s["rel_db"] for s in meta["stems"]}
    total = integrated_lufs(mix.T, rate)
    assert rel["guitar"] == pytest.approx(integrated_lufs(g.T, rate) - total, abs=0.01)
    assert all(v >= -25.0 for v in rel.values())                       # both stems play in every window


@needs_package
def test_licence_is_read_from_the_copyright_file():
    from mixai.training.corpus.catalogue import package_licences

    assert "CC-BY-SA" in package_licences(PACKAGE)


def test_corpus_cli_has_stems_command(capsys):
    from mixai.training.corpus.__main__ import build_parser

    args = build_parser().parse_args(["stems", "--out", "x", "--seconds", "12", "--hop", "6"])
    assert (args.command, args.out, args.seconds, args.hop) == ("stems", "x", 12.0, 6.0)


def test_backing_role_from_the_name():
    from mixai.mix.roles import role_from_name
    from mixai.settings.stems import ROLES

    if BACKING_ROLE not in ROLES:
        pytest.skip("this mixai has no backing role")
    assert role_from_name("song") == "backing"                        # Frets on Fire's song.ogg
    assert role_from_name("Backing Track") == "backing"
    assert role_from_name("instrumental_mix") == "backing"
    assert role_from_name("backing vocals") == "vocals"               # a name that says more wins
    assert role_from_name("mysong bass") == "bass"
    assert role_from_name("track07") is None


def test_backing_configuration_keeps_the_mix():
    from mixai.training.stems.dataset import backing_configuration

    rng = np.random.default_rng(0)
    stems = {n: rng.standard_normal((2, 1000)).astype(np.float32) for n in ("bass", "drums", "guitar", "vocals")}
    config = backing_configuration(stems, np.random.default_rng(1))
    assert config is not None and set(config) - {"backing"} <= {"guitar", "vocals"} and len(config) == 2
    assert np.allclose(sum(config.values()), sum(stems.values()), atol=1e-5)
    assert backing_configuration({"bass": stems["bass"], "drums": stems["drums"]}, rng) is None


@pytest.mark.skipif(not ROLES_MODEL.is_file(), reason="role model not exported (python -m mixai.training.stems.recipe)")
def test_role_model_hears_bass_and_drums():
    """The shipped classifier on plain synthetic material: a low sine pair and noise bursts."""
    from mixai.analysis.features import extract
    from mixai.predict.roles import RoleModel

    model = RoleModel(ROLES_MODEL)
    sr = 44100
    t = np.arange(3 * sr) / sr
    bass = (0.3 * np.sin(2 * np.pi * 55 * t) + 0.15 * np.sin(2 * np.pi * 110 * t)).astype(np.float32)
    rng = np.random.default_rng(0)
    drums = np.zeros(t.size, np.float32)
    for start in range(0, t.size - 4000, sr // 4):
        drums[start:start + 4000] += 0.3 * rng.standard_normal(4000).astype(np.float32) * np.exp(-np.arange(4000) / 600)
    fb, fd = extract(bass[None], sr).values, extract(drums[None], sr).values
    mix = extract((bass + drums)[None], sr).values
    assert model.classify(fb, mix).role == "bass"
    assert model.classify(fd, mix).role == "drums"
    p = model.probabilities(np.stack([np.concatenate([fb, mix])]))
    assert p.shape == (1, len(model.roles)) and abs(float(p.sum()) - 1.0) < 1e-4


def test_role_model_refuses_other_models(tmp_path):
    from mixai.errors import ModelError
    from mixai.predict.roles import RoleModel

    stems_model = ROOT / "models" / "mixai-stems.onnx"
    if not stems_model.is_file():
        pytest.skip("no stem model to offer it")
    with pytest.raises(ModelError, match="not a 'roles' model"):
        RoleModel(stems_model)


def test_role_from_sound_falls_back_to_rules(monkeypatch, tmp_path):
    """Without a usable classifier the rules decide (and a broken file is not an error)."""
    from mixai.analysis.features import extract
    from mixai.mix.roles import role_from_rules, role_from_sound
    from mixai.predict import roles

    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not onnx")
    monkeypatch.setenv(roles.ROLES_MODEL_ENV, str(broken))
    roles._load.cache_clear()
    sr = 44100
    t = np.arange(2 * sr) / sr
    bass = extract((0.3 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)[None], sr)
    assert roles.installed_model() is None
    assert role_from_sound(bass) == role_from_rules(bass) == "bass"
    roles._load.cache_clear()
