"""The on-disk layout every training corpus shares, rendered or recorded.

::

    index.json                                  {"splits": {split: [piece_id, ...]}, ...settings}
    <split>/<piece_id>/mix.wav                  the clean mix, (samples, channels) WAV
    <split>/<piece_id>/stems/<role>[_N].wav     stems that sum to mix.wav (rendered corpora only)
    <split>/<piece_id>/reference.wav            another excerpt of the same recording (recorded
                                                corpora, held-out splits only)
    <split>/<piece_id>/meta.json                where the piece came from

Readers go through :func:`iter_pieces`; audio read from it is (channels, samples), as everywhere
in mixai.
"""

from __future__ import annotations

import json
from pathlib import Path

from mixai.errors import MixaiError

SPLITS = ("train", "val", "test")


class CorpusError(MixaiError):
    """A corpus folder is missing, incomplete, or asked for a split it does not have."""


def iter_pieces(directory: str | Path, split: str) -> list[tuple[Path, dict[str, Path]]]:
    """(mix path, {stem name: stem path}) for every piece of a split, in index order.

    Stem names are roles, with ``_2``, ``_3``... when a role has several stems; the role is
    ``name.split('_')[0]``.
    """
    root = Path(directory)
    index = read_index(root)
    if split not in index["splits"]:
        raise CorpusError(f"unknown split {split!r}; expected one of {', '.join(index['splits'])}")
    out = []
    for piece_id in index["splits"][split]:
        piece = root / split / piece_id
        stems = {p.stem: p for p in sorted((piece / "stems").glob("*.wav"))}
        out.append((piece / "mix.wav", stems))
    return out


def read_index(root: str | Path) -> dict:
    path = Path(root) / "index.json"
    if not path.is_file():
        raise CorpusError(f"{path} not found; build the corpus first (python -m mixai.training.corpus --help)")
    return json.loads(path.read_text(encoding="utf-8"))


def write_index(root: str | Path, index: dict) -> Path:
    """Write ``index.json`` last, atomically: a corpus without one is unfinished."""
    from mixai.io.atomic import write_text_atomic

    path = Path(root) / "index.json"
    write_text_atomic(path, json.dumps(index, indent=2) + "\n", overwrite=True)
    return path


def write_audio(path: str | Path, audio, sample_rate: int, subtype: str) -> None:
    """Write one (channels, samples) corpus file as WAV, atomically (:mod:`mixai.io.atomic`);
    ``subtype`` is soundfile's (``"PCM_24"``, ``"FLOAT"``)."""
    import soundfile as sf

    from mixai.io.atomic import atomic_path

    with atomic_path(path, overwrite=True) as tmp:
        sf.write(str(tmp), audio.T, sample_rate, subtype=subtype, format="WAV")


def reference_of(mix_path: str | Path) -> Path | None:
    """The same recording's other excerpt beside a piece's mix, if the corpus has one."""
    path = Path(mix_path).with_name("reference.wav")
    return path if path.is_file() else None


__all__ = ["SPLITS", "CorpusError", "iter_pieces", "read_index", "reference_of", "write_audio", "write_index"]
