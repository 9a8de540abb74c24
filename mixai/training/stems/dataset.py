"""Training rows for the stem network: damaged stems of several corpora -> corrective labels.

A corpus is any folder in the shared layout (:mod:`mixai.training.corpus.layout`) whose pieces have
stems that sum to their mix: General-MIDI renders with one soundfont each
(:mod:`mixai.training.corpus.rendered`) or the windows of real band stems
(:mod:`mixai.training.corpus.stems_recorded`). For every piece and every draw the stems are damaged
(:mod:`mixai.training.stems.damage`) and each becomes one row: input = :func:`model_input` (the
damaged stem's features, its role, the features of the damaged plain sum, the song's roles); label
= :func:`encode_outputs` of the loudness the stem has relative to the *balanced* mix, the EQ and
compression that undo the damage, its pan in the balanced rendering and the role's reverb send.

Every second draw of a rendered piece with three stems or more is a **backing configuration**: one
melodic stem stays a solo, the others are summed into one ``backing`` stem, as a band that hands
over a guitar (or vocal) and "the rest" would. Its labels come from the same balanced rendering,
so the renders teach the backing role next to the few real songs that have one.

Usage::

    python -m mixai.training.stems.dataset --corpus data/stems/render/fluidr3 data/stems/recorded \\
        --split train --draws 3 --out data/stems/rows/train.npz --jobs 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
import zlib
from pathlib import Path

import numpy as np

EXCERPT_SECONDS = 20.0
BACKING = "backing"
SOLO_ROLES = ("vocals", "guitar", "keys", "strings", "other")   # what a backing configuration keeps apart
MIN_REL_DB = -40.0       # quieter stems give no row (the mix barely has them)


def load_piece(piece: Path, seconds: float | None = EXCERPT_SECONDS) -> tuple[dict[str, np.ndarray], int, dict]:
    """Stems of a corpus piece ({name: (2, n)}), the rate and its meta.json; the central
    ``seconds`` only when given."""
    from mixai.io.audio import load

    meta = json.loads((piece / "meta.json").read_text())
    stems = {}
    rate = 44100
    for path in sorted((piece / "stems").glob("*.wav")):
        x, rate = load(path)
        if seconds is not None and x.shape[1] > seconds * rate:
            start = (x.shape[1] - int(seconds * rate)) // 2
            x = x[:, start:start + int(seconds * rate)]
        stems[path.stem] = x
    return stems, rate, meta


def balanced_rel_db(stems: dict[str, np.ndarray], rate: int) -> dict[str, float]:
    """Each stem's loudness relative to the sum of all stems (the balanced mix), in dB."""
    from mixai.dsp.loudness import integrated_lufs

    mix = sum(stems.values())
    total = integrated_lufs(mix, rate)
    return {n: integrated_lufs(x, rate) - total for n, x in stems.items()}


def role_of(name: str) -> str:
    """A corpus stem's role: the part of its name before ``_`` (the layout's convention)."""
    from mixai.mix.roles import role_from_name
    from mixai.settings.stems import ROLES

    role = name.split("_")[0]
    return role if role in ROLES else (role_from_name(name) or "other")


def backing_configuration(stems: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray] | None:
    """One melodic stem kept, the others summed into ``backing`` (None when the piece has fewer
    than three stems or no melodic one). The sum of the result is the same balanced mix."""
    names = sorted(stems)
    solos = [n for n in names if role_of(n) in SOLO_ROLES]
    if len(names) < 3 or not solos:
        return None
    solo = solos[int(rng.integers(len(solos)))]
    rest = [stems[n] for n in names if n != solo]
    return {solo: stems[solo], BACKING: np.asarray(sum(rest), dtype=np.float32)}


def song_rows(stems: dict[str, np.ndarray], rate: int, pans: dict[str, float], seed: int, song: str,
              source: str) -> list[dict]:
    """One damage draw of one song: a row per audible stem."""
    from mixai.analysis.features import extract
    from mixai.mix import ROLE_REVERB_SEND
    from mixai.mix.model import model_input
    from mixai.settings.stems import encode_outputs
    from mixai.training.stems.damage import damage_song, stereo

    rel = balanced_rel_db(stems, rate)
    names = sorted(stems)
    roles = [role_of(n) for n in names]
    damaged, info = damage_song(stems, rate, seed)
    mix_features = extract(sum(stereo(damaged[n]) for n in names), rate).values
    rows = []
    for name, role in zip(names, roles):
        if not np.isfinite(rel[name]) or rel[name] < MIN_REL_DB:
            continue
        dmg = info[name]
        threshold, ratio = dmg.label_compressor()
        label = {"target_rel_db": rel[name], "compressor.threshold_db": threshold,
                 "compressor.ratio": ratio, "pan": pans.get(name, 0.0),
                 "reverb_send": ROLE_REVERB_SEND[role]}
        label.update({f"eq.{k}.gain_db": v for k, v in dmg.label_eq().items()})
        stem_features = extract(damaged[name], rate).values
        x = model_input(stem_features, role, mix_features, roles)
        rows.append({"x": x, "y": encode_outputs(label), "song": song, "stem": name, "role": role,
                     "rel_db": rel[name], "source": source, "stem_features": stem_features,
                     "mix_features": mix_features})
    return rows


def piece_rows(args: tuple[str, int, int, str]) -> list[dict]:
    """Every draw of one piece (runs in a worker). ``song`` keys a draw (a piece's draws are
    separate songs for the level metric, which removes a song's common offset)."""
    piece_dir, draws, seed, source = args
    piece = Path(piece_dir)
    stems, rate, meta = load_piece(piece)
    pans = {s["name"]: float(s.get("pan", 0.0)) for s in meta.get("stems", [])}
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(draws):
        song_stems, tag = stems, ""
        if d % 2 == 1:
            backing = backing_configuration(stems, rng)
            if backing is not None:
                song_stems, tag = backing, "+backing"
        rows += song_rows(song_stems, rate, pans, seed * 1_000_003 + d, f"{source}/{piece.name}#{d}{tag}", source)
    return rows


def corpus_tasks(corpus: str | Path, split: str, draws: int, seed: int, limit: int | None = None,
                 source: str | None = None) -> list[tuple[str, int, int, str]]:
    """The worker tasks of one corpus split; ``source`` (default: the folder's name) tags its rows."""
    from mixai.training.corpus.layout import iter_pieces

    tag = source or Path(corpus).name
    pieces = [mix.parent for mix, _ in iter_pieces(corpus, split)][:limit]
    return [(str(p), draws, seed + zlib.crc32(f"{tag}/{p.name}".encode()), tag) for p in pieces]


def build(tasks: list[tuple[str, int, int, str]], jobs: int, desc: str = "stem rows") -> dict[str, np.ndarray]:
    from tqdm import tqdm

    rows: list[dict] = []
    if jobs > 1:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(jobs) as pool:
            for r in tqdm(pool.imap(piece_rows, tasks), total=len(tasks), desc=desc, unit="piece"):
                rows.extend(r)
    else:
        for task in tqdm(tasks, desc=desc, unit="piece"):
            rows.extend(piece_rows(task))
    if not rows:
        raise ValueError("no stem rows: the corpora have no pieces with audible stems in this split")
    return {"x": np.stack([r["x"] for r in rows]), "y": np.stack([r["y"] for r in rows]),
            "piece": np.array([r["song"] for r in rows]), "stem": np.array([r["stem"] for r in rows]),
            "role": np.array([r["role"] for r in rows]), "rel_db": np.array([r["rel_db"] for r in rows]),
            "source": np.array([r["source"] for r in rows]),
            "stem_features": np.stack([r["stem_features"] for r in rows]).astype(np.float32),
            "mix_features": np.stack([r["mix_features"] for r in rows]).astype(np.float32)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mixai.training.stems.dataset", description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", nargs="+", default=["data/corpus"], help="corpus folders (shared layout)")
    p.add_argument("--split", default="train")
    p.add_argument("--draws", type=int, default=3, help="damage draws per piece")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, help="first N pieces of each corpus only")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    t = time.time()
    tasks = [task for c in a.corpus for task in corpus_tasks(c, a.split, a.draws, a.seed, a.limit)]
    data = build(tasks, a.jobs, f"stem rows ({a.split})")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, **data)
    print(f"{a.out}: {data['x'].shape[0]} rows from split {a.split} in {time.time() - t:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
