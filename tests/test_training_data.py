"""Smoke test of the training-material generator: 2 pieces x 4 s, rendered twice (~10-20 s).

Needs the Debian packages fluidsynth and fluid-soundfont-gm; skipped without them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from mixai.training.corpus import rendered as data

pytestmark = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not data.DEFAULT_SOUNDFONT.is_file(),
    reason="needs fluidsynth and fluid-soundfont-gm",
)

SEED = 7
PIECES = 2
SECONDS = 4.0


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same seed rendered twice, serially and with two jobs."""
    first = tmp_path_factory.mktemp("corpus_a")
    second = tmp_path_factory.mktemp("corpus_b")
    infos = data.generate(first, seed=SEED, pieces=PIECES, seconds=SECONDS, jobs=1, progress=False)
    assert len(infos) == PIECES
    data.generate(second, seed=SEED, pieces=PIECES, seconds=SECONDS, jobs=2, progress=False)
    return first, second


def test_layout(corpora: tuple[Path, Path]) -> None:
    root = corpora[0]
    index = json.loads((root / "index.json").read_text())
    assert set(index["splits"]) == set(data.SPLITS)
    assert sum(len(v) for v in index["splits"].values()) == PIECES
    for split in data.SPLITS:
        pieces = data.iter_pieces(root, split)
        assert len(pieces) == len(index["splits"][split])
        for mix_path, stems in pieces:
            meta = json.loads((mix_path.parent / "meta.json").read_text())
            assert meta["split"] == split
            assert sorted(stems) == sorted(s["name"] for s in meta["stems"])
            assert all(name.split("_")[0] in data.ROLES for name in stems)
            info = sf.info(str(mix_path))
            assert (info.samplerate, info.channels, info.frames) == (44100, 2, int(SECONDS * 44100))


def test_stems_sum_to_mix_and_loudness(corpora: tuple[Path, Path]) -> None:
    root = corpora[0]
    meter = pyloudnorm.Meter(44100)
    for split in data.SPLITS:
        for mix_path, stems in data.iter_pieces(root, split):
            mix, rate = sf.read(str(mix_path), dtype="float64")
            total = sum(sf.read(str(p), dtype="float64")[0] for p in stems.values())
            residual_db = 10 * np.log10(np.mean((mix - total) ** 2) / np.mean(mix**2) + 1e-30)
            assert residual_db < -50
            lufs = meter.integrated_loudness(mix)
            assert -18.5 <= lufs <= -13.5
            assert np.max(np.abs(mix)) < 1.0
            meta = json.loads((mix_path.parent / "meta.json").read_text())
            assert abs(meta["lufs"] - lufs) < 0.05


def test_same_seed_same_bytes(corpora: tuple[Path, Path]) -> None:
    first, second = corpora
    digests = _digests(first)
    assert len(digests) > PIECES * 3
    assert digests == _digests(second)


def test_splits_are_disjoint(corpora: tuple[Path, Path]) -> None:
    index = json.loads((corpora[0] / "index.json").read_text())
    sources = {s: {p["source"] for p in index["pieces"] if p["split"] == s} for s in data.SPLITS}
    ids = [set(v) for v in index["splits"].values()]
    for i in range(len(data.SPLITS)):
        for j in range(i + 1, len(data.SPLITS)):
            assert not ids[i] & ids[j]
            assert not sources[data.SPLITS[i]] & sources[data.SPLITS[j]]
    # Over the whole usable corpus the seeded hash gives roughly 80/10/10.
    all_sources = [s for group in data.list_sources().values() for s in group]
    counts = {s: 0 for s in data.SPLITS}
    for source in all_sources:
        counts[data.split_for(source, SEED)] += 1
    assert 0.75 < counts["train"] / len(all_sources) < 0.85
    assert counts["val"] > 0 and counts["test"] > 0


def test_split_subset_without_stems_renders_the_same_pieces(tmp_path: Path) -> None:
    """--splits test --no-stems: the first test piece of the seeded order, at its own position, mix only."""
    infos = data.generate(tmp_path, seed=SEED, pieces=1, seconds=SECONDS, jobs=1, progress=False,
                          splits=("test",), stems=False)
    sources = data.ordered_sources(SEED)
    position = next(i for i, s in enumerate(sources) if data.split_for(s, SEED) == "test")
    assert [(i.split, i.source, i.piece_id) for i in infos] == [
        ("test", sources[position], data.piece_id_for(position, sources[position]))]
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["splits"]["train"] == [] and index["stems_written"] is False
    [(mix_path, stems)] = data.iter_pieces(tmp_path, "test")
    assert stems == {} and not (mix_path.parent / "stems").exists()
    assert sf.info(str(mix_path)).frames == int(SECONDS * 44100)
    assert json.loads((mix_path.parent / "meta.json").read_text())["position"] == position
    with pytest.raises(data.DataGenerationError):
        data.generate(tmp_path, seed=SEED, pieces=1, seconds=SECONDS, splits=("holdout",), progress=False)


def test_start_position_skips_earlier_sources(tmp_path: Path) -> None:
    """--start-position P: the first piece rendered is the first usable one at or after P."""
    sources = data.ordered_sources(SEED)
    first_test = next(i for i, s in enumerate(sources) if data.split_for(s, SEED) == "test")
    infos = data.generate(tmp_path, seed=SEED, pieces=1, seconds=SECONDS, progress=False, splits=("test",),
                          stems=False, start_position=first_test + 1)
    [info] = infos
    position = json.loads((tmp_path / info.split / info.piece_id / "meta.json").read_text())["position"]
    assert position > first_test and data.split_for(sources[position], SEED) == "test"
    assert info.piece_id == data.piece_id_for(position, sources[position])
    with pytest.raises(data.DataGenerationError):
        data.generate(tmp_path, seed=SEED, pieces=1, seconds=SECONDS, progress=False, start_position=-1)


def test_variation_arranges_the_same_score_again(tmp_path: Path) -> None:
    """--variation 1: the same first test score, in the same split, with another arrangement."""
    runs = {}
    for variation in (0, 1):
        [info] = data.generate(tmp_path / str(variation), seed=SEED, pieces=1, seconds=SECONDS, progress=False,
                               splits=("test",), stems=False, variation=variation)
        meta = json.loads((tmp_path / str(variation) / info.split / info.piece_id / "meta.json").read_text())
        runs[variation] = (info, meta)
    (a, meta_a), (b, meta_b) = runs[0], runs[1]
    assert (a.source, a.split, a.piece_id) == (b.source, b.split, b.piece_id)
    assert meta_b["variation"] == 1 and meta_a["variation"] == 0
    assert (a.tempo_bpm, meta_a["excerpt_start_ql"]) != (b.tempo_bpm, meta_b["excerpt_start_ql"])
    mix_a, _ = sf.read(str(tmp_path / "0" / a.split / a.piece_id / "mix.wav"))
    mix_b, _ = sf.read(str(tmp_path / "1" / b.split / b.piece_id / "mix.wav"))
    assert not np.allclose(mix_a, mix_b)
    with pytest.raises(data.DataGenerationError):
        data.generate(tmp_path / "bad", seed=SEED, pieces=1, seconds=SECONDS, progress=False, variation=-1)
