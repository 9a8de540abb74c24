"""Which music21 scores a rendered corpus draws, in which seeded order, and in which split.

Strata (chorales, Renaissance polyphony, fiddle tunes, classical chamber music) are drawn by
weight so that a few hundred pieces mix styles; splits come from a seeded hash of the score's
corpus path, so a score is never in two splits however many pieces are drawn.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from pathlib import Path

import numpy as np

from mixai.training.corpus.layout import SPLITS

SPLIT_FRACTIONS = (0.8, 0.1, 0.1)

# Which corpus folders feed which stratum, and how often each stratum is drawn. Folders of
# multi-tune ABC books (essenFolksong, oneills1850) are left out: parsing a whole book per
# piece is slow, and Ryan's Mammoth has a thousand single-tune files of the same kind.
SOURCE_GROUPS: dict[str, tuple[float, tuple[str, ...]]] = {
    "chorale": (0.25, ("bach",)),
    "renaissance": (0.20, ("palestrina", "monteverdi", "josquin", "trecento", "ciconia", "luca", "lusitano")),
    "folk": (0.30, ("ryansMammoth", "nottingham-dataset")),
    "classical": (
        0.25,
        (
            "beethoven", "mozart", "haydn", "schumann_robert", "schumann_clara", "chopin", "corelli",
            "cpebach", "handel", "joplin", "schubert", "weber", "verdi", "beach", "johnson_j_r",
            "liliuokalani", "leadSheet", "schoenberg", "webern",
        ),
    ),
}
# Large files take seconds to tens of seconds to parse (a Beethoven quartet: 12 s) for one
# 30 s excerpt; the limit is on bytes so that the selection stays deterministic.
MAX_SOURCE_BYTES = {".mxl": 60_000, ".xml": 600_000, ".musicxml": 600_000, ".krn": 100_000, ".abc": 20_000}


def corpus_root() -> Path:
    """music21's bundled corpus folder; corpus paths are stored relative to it."""
    import music21

    return Path(music21.__file__).parent / "corpus"


def list_sources() -> dict[str, list[str]]:
    """Usable corpus files per stratum, as sorted relative paths (sorted for determinism)."""
    from music21 import corpus

    root = corpus_root()
    folder_to_group = {folder: g for g, (_, folders) in SOURCE_GROUPS.items() for folder in folders}
    groups: dict[str, list[str]] = {g: [] for g in SOURCE_GROUPS}
    for path in corpus.getPaths():
        path = Path(path)
        try:
            rel = path.relative_to(root)
        except ValueError:
            continue
        group = folder_to_group.get(rel.parts[0])
        limit = MAX_SOURCE_BYTES.get(path.suffix.lower())
        if group is None or limit is None or path.stat().st_size > limit:
            continue
        groups[group].append(rel.as_posix())
    return {g: sorted(v) for g, v in groups.items()}


def ordered_sources(seed: int) -> list[str]:
    """All usable sources in a seeded order that draws strata by weight (so that 300 pieces mix
    chorales, polyphony, fiddle tunes and chamber music instead of being mostly Palestrina)."""
    rng = np.random.default_rng([seed, 0x50C])
    pools = {}
    for group, paths in list_sources().items():
        paths = list(paths)
        rng.shuffle(paths)
        pools[group] = deque(paths)
    order: list[str] = []
    while any(pools.values()):
        live = [g for g in SOURCE_GROUPS if pools[g]]
        weights = np.array([SOURCE_GROUPS[g][0] for g in live])
        group = live[int(rng.choice(len(live), p=weights / weights.sum()))]
        order.append(pools[group].popleft())
    return order


def split_for(source: str, seed: int) -> str:
    """Split by a seeded hash of the source path: deterministic, and a score never straddles
    two splits however many pieces are drawn."""
    digest = hashlib.sha256(f"mixai-split:{seed}:{source}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64
    edge = 0.0
    for name, fraction in zip(SPLITS, SPLIT_FRACTIONS):
        edge += fraction
        if u < edge:
            return name
    return SPLITS[-1]


def piece_id_for(position: int, source: str) -> str:
    """Readable, filesystem-safe and unique (one source per position)."""
    stem = Path(source).with_suffix("").as_posix()
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", stem).strip("_")[:60]
    return f"{position:05d}_{slug}"


__all__ = ["SPLITS", "SPLIT_FRACTIONS", "SOURCE_GROUPS", "MAX_SOURCE_BYTES", "corpus_root", "list_sources",
           "ordered_sources", "split_for", "piece_id_for"]
