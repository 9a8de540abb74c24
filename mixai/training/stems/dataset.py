"""Training rows for the stem network: damaged stems of the rendered corpus -> corrective labels.

For every piece of a split and every draw, the stems are damaged (:mod:`mixai.training.stems.damage`)
and each becomes one row: input = :func:`mixai.stems.model_input` (the damaged stem's features, its
role, the features of the damaged plain sum, the song's roles); label = :func:`mixai.stems.encode_outputs`
of the loudness the stem has relative to the *balanced* mix, the EQ and compression that undo the
damage, its pan in the balanced rendering and the role's reverb send.

Usage::

    python -m mixai.training.stems.dataset --corpus data/corpus --split train --draws 3 \\
        --out data/stems_train.npz --jobs 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from pathlib import Path

import numpy as np

EXCERPT_SECONDS = 20.0


def load_piece(piece: Path, seconds: float | None = EXCERPT_SECONDS) -> tuple[dict[str, np.ndarray], int, dict]:
    """Stems of a corpus piece ({name: (2, n)}), the rate and its meta.json; the central
    ``seconds`` only when given."""
    from mixai.audio import load

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
    from mixai.loudness import integrated_lufs

    mix = sum(stems.values())
    total = integrated_lufs(mix, rate)
    return {n: integrated_lufs(x, rate) - total for n, x in stems.items()}


def role_of(name: str) -> str:
    from mixai.stems import ROLES, role_from_name

    role = name.split("_")[0]
    return role if role in ROLES else (role_from_name(name) or "other")


def piece_rows(args: tuple[str, int, int]) -> list[dict]:
    from mixai.features import extract
    from mixai.mix import ROLE_REVERB_SEND
    from mixai.stems import encode_outputs, model_input
    from mixai.training.stems.damage import damage_song, stereo

    piece_dir, draws, seed = args
    piece = Path(piece_dir)
    stems, rate, meta = load_piece(piece)
    pans = {s["name"]: float(s.get("pan", 0.0)) for s in meta.get("stems", [])}
    rel = balanced_rel_db(stems, rate)
    names = sorted(stems)
    roles = [role_of(n) for n in names]
    rows = []
    for d in range(draws):
        damaged, info = damage_song(stems, rate, seed * 1_000_003 + d)
        mix_features = extract(sum(stereo(damaged[n]) for n in names), rate).values
        for name, role in zip(names, roles):
            if not np.isfinite(rel[name]) or rel[name] < -40.0:
                continue
            dmg = info[name]
            threshold, ratio = dmg.label_compressor()
            label = {"target_rel_db": rel[name], "compressor.threshold_db": threshold,
                     "compressor.ratio": ratio, "pan": pans.get(name, 0.0),
                     "reverb_send": ROLE_REVERB_SEND[role]}
            label.update({f"eq.{k}.gain_db": v for k, v in dmg.label_eq().items()})
            x = model_input(extract(damaged[name], rate).values, role, mix_features, roles)
            rows.append({"x": x, "y": encode_outputs(label), "piece": piece.name, "stem": name,
                         "role": role, "rel_db": rel[name]})
    return rows


def build(corpus: str | Path, split: str, draws: int, jobs: int, seed: int = 0,
          limit: int | None = None) -> dict[str, np.ndarray]:
    import zlib

    from tqdm import tqdm

    from mixai.training.corpus.layout import iter_pieces

    pieces = [mix.parent for mix, _ in iter_pieces(corpus, split)][:limit]
    tasks = [(str(p), draws, seed + zlib.crc32(p.name.encode())) for p in pieces]
    rows: list[dict] = []
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(jobs) as pool:
        for r in tqdm(pool.imap(piece_rows, tasks), total=len(tasks), desc=f"stem rows ({split})"):
            rows.extend(r)
    return {"x": np.stack([r["x"] for r in rows]), "y": np.stack([r["y"] for r in rows]),
            "piece": np.array([r["piece"] for r in rows]), "stem": np.array([r["stem"] for r in rows]),
            "role": np.array([r["role"] for r in rows]), "rel_db": np.array([r["rel_db"] for r in rows])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mixai.training.stems.dataset", description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default="data/corpus")
    p.add_argument("--split", default="train")
    p.add_argument("--draws", type=int, default=3, help="damage draws per piece")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, help="first N pieces only")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    t = time.time()
    data = build(a.corpus, a.split, a.draws, a.jobs, a.seed, a.limit)
    np.savez_compressed(a.out, **data)
    print(f"{a.out}: {data['x'].shape[0]} rows from split {a.split} in {time.time() - t:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
