"""Choosing the stem network's settings without the test song: leave one real song out.

There are only a few real band songs, and their balances differ (three have the guitar about
5 dB under the backing, the validation song has it 1 dB *over*), so one validation song cannot
choose settings on its own. Instead every real song that is not a test song is held out in turn:
the network is trained on the rendered train rows and the other real songs, and scored on that
song and on the rendered validation rows, each as its level error over equal loudness's
(:func:`mixai.training.stems.train.equal_loudness_error_db`). A setting's score is the median over
the folds of the worse of the two ratios (the median, because one song of three may be unlike any
other and no setting fixes it). The shipped network then trains on all those songs with the
winning setting and a fixed number of epochs (:func:`final_rows`).

    python -m mixai.training.stems.cv --train data/stems/rows/train-seed0.npz \\
        --val data/stems/rows/val-seed0.npz --configs 1:0.5:60 0:3:100
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mixai.training.stems.train import RECORDED_SOURCE, load_rows


@dataclass(frozen=True)
class Setting:
    level_bound_db: float
    recorded_weight: float
    epochs: int

    @classmethod
    def parse(cls, text: str) -> "Setting":
        bound, weight, epochs = text.split(":")
        return cls(float(bound), float(weight), int(epochs))

    def __str__(self) -> str:
        return f"{self.level_bound_db:g}:{self.recorded_weight:g}:{self.epochs}"


def _take(rows: dict, mask: np.ndarray) -> dict:
    return {k: v[mask] for k, v in rows.items()}


def _join(*parts: dict) -> dict:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def song_of_row(piece: str) -> str | None:
    """The real song of a row's piece key (``recorded/<song>.wNN#d``), None for renders."""
    if not piece.startswith(RECORDED_SOURCE + "/"):
        return None
    return piece.split("/", 1)[1].split(".w")[0]


def final_rows(train_rows, val_rows) -> tuple[dict, dict]:
    """(train, val) of the shipped network: every non-test real song trains; validation keeps
    the rendered val rows only (reported, not used to choose)."""
    tr, va = load_rows(train_rows), load_rows(val_rows)
    recorded = va["source"] == RECORDED_SOURCE
    return _join(tr, _take(va, recorded)), _take(va, ~recorded)


def folds(train_rows, val_rows):
    """(song, train, val) for each real song of the train and val rows held out."""
    tr, va = final_rows(train_rows, val_rows)
    songs = np.array([song_of_row(str(p)) for p in tr["piece"]], dtype=object)
    for song in sorted({s for s in songs if s is not None}):
        held = songs == song
        yield song, _take(tr, ~held), _join(va, _take(tr, held))


# The settings compared (level_bound_db:recorded_weight:epochs).
CV_SETTINGS = ("0:3:100", "1:3:100", "1:1:100", "1:0.5:100", "1:0.5:60", "1:0.25:100", "0.5:1:100", "2:1:100")
TRUST_GRID = tuple(round(0.1 * i, 1) for i in range(11))


def heldout(setting: Setting, train_rows, val_rows, *, seed: int = 0, threads: int = 2) -> list[dict]:
    """Per fold: the level predictions of a network trained without the fold's song, on that song's
    rows and the rendered validation rows (``pred``, ``y``, ``piece``, ``source``)."""
    from mixai.training.stems.train import fit, predict

    out = []
    for song, tr, va in folds(train_rows, val_rows):
        model, _ = fit(tr, va, epochs=setting.epochs, seed=seed, level_bound_db=setting.level_bound_db,
                       recorded_weight=setting.recorded_weight, keep="last", threads=threads, quiet=True)
        out.append({"song": song, "pred": predict(model, va["x"]), "y": va["y"], "piece": va["piece"],
                    "source": va["source"]})
    return out


def shrink_by_song(pred: np.ndarray, piece: np.ndarray, trust: float) -> np.ndarray:
    """:func:`mixai.mix.model.shrink_levels` applied to each song (piece key) of the rows, as the
    runtime applies it to each song it mixes."""
    from mixai.mix.model import shrink_levels

    out = np.array(pred, dtype=np.float32, copy=True)
    for p in np.unique(piece):
        sel = piece == p
        out[sel] = shrink_levels(pred[sel], trust)
    return out


def fold_ratios(fold: dict, trust: float = 1.0) -> dict[str, float]:
    """Level error over equal loudness's, per domain (rendered, recorded) of one fold's rows."""
    from mixai.training.stems.train import equal_loudness_error_db, level_error_db, val_groups

    pred = shrink_by_song(fold["pred"], fold["piece"], trust)
    ratios = {}
    for g, m in val_groups({"x": fold["y"], "source": fold["source"]}).items():
        base = equal_loudness_error_db(fold["y"][m], fold["piece"][m])
        ratios[g] = level_error_db(pred[m], fold["y"][m], fold["piece"][m]) / max(base, 1e-6)
    return ratios


def pooled_ratios(held: list[dict], trust: float = 1.0) -> dict[str, float]:
    """Level error over equal loudness's per domain, every fold's held-out rows pooled (each real
    song by the network that did not hear it)."""
    pooled = {k: np.concatenate([f[k] for f in held]) for k in ("pred", "y", "piece", "source")}
    pooled["piece"] = np.concatenate([np.char.add(f"{i}:", f["piece"].astype(str)) for i, f in enumerate(held)])
    return fold_ratios(pooled, trust)


def choose_trust(held: list[dict], grid: tuple[float, ...] = TRUST_GRID) -> tuple[float, list[dict]]:
    """The level trust for the shipped network: the one whose worse pooled ratio (real held-out
    songs together, rendered validation songs) is lowest, the higher trust on a tie: do no harm
    in either domain. Only validation folds are read. A song unlike the others can still be
    worse than equal loudness (the per-fold ratios are in the table, for the model card).
    Returns (trust, the table of every candidate)."""
    table = []
    for t in grid:
        pooled = pooled_ratios(held, t)
        per = {f["song"]: fold_ratios(f, t) for f in held}
        table.append({"trust": t, "worst": max(pooled.values()), "pooled": {g: round(v, 3) for g, v in pooled.items()},
                      "folds": {s: {g: round(v, 3) for g, v in r.items()} for s, r in per.items()}})
    best = min(table, key=lambda row: (round(row["worst"], 4), -row["trust"]))
    return best["trust"], table


def evaluate(setting: Setting, train_rows, val_rows, *, seed: int = 0, threads: int = 2) -> dict:
    """A setting's score: the median over the folds of the worse ratio, at full trust."""
    held = heldout(setting, train_rows, val_rows, seed=seed, threads=threads)
    per_song = {}
    for fold in held:
        ratios = fold_ratios(fold)
        per_song[fold["song"]] = {"ratios": ratios, "worst": max(ratios.values())}
    return {"setting": str(setting), "score": float(np.median([v["worst"] for v in per_song.values()])),
            "folds": per_song, "heldout": held}


def song_model_path(folder, song: str) -> Path:
    """Where :func:`song_models` puts the network that never saw ``song``."""
    return Path(folder) / f"mixai-stems.without-{song}.onnx"


def song_models(setting: Setting, trust: float, train_rows, val_rows, test_rows, folder, *, seed: int = 0,
                threads: int = 2) -> dict[str, Path]:
    """For the *report* only (``benchmarks/eval_mix.py --song-models``): with so few real songs
    the real figures are leave-one-song-out over all of them, test songs included. For every song,
    a network with the shipped setting and trust trained on the rendered train rows and every other
    real song. The shipped network is not one of these and never reads a test song."""
    from mixai.training.stems.train import train

    tr, va = final_rows(train_rows, val_rows)
    te = load_rows(test_rows)
    te = _take(te, te["source"] == RECORDED_SOURCE)
    everything = _join(tr, te)
    songs = np.array([song_of_row(str(p)) for p in everything["piece"]], dtype=object)
    Path(folder).mkdir(parents=True, exist_ok=True)
    out = {}
    for song in sorted({s for s in songs if s is not None}):
        path = song_model_path(folder, song)
        train(_take(everything, songs != song), va, str(path), level_trust=trust, epochs=setting.epochs,
              seed=seed, level_bound_db=setting.level_bound_db, recorded_weight=setting.recorded_weight,
              keep="last", threads=threads, quiet=True)
        out[song] = path
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mixai.training.stems.cv", description=__doc__.split("\n\n")[0])
    p.add_argument("--train", default="data/stems/rows/train-seed0.npz")
    p.add_argument("--val", default="data/stems/rows/val-seed0.npz")
    p.add_argument("--configs", nargs="+", default=list(CV_SETTINGS), help="level_bound_db:recorded_weight:epochs")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    results = [evaluate(Setting.parse(c), a.train, a.val, seed=a.seed) for c in a.configs]
    for r in results:
        r.pop("heldout")
    songs = sorted(results[0]["folds"])
    print("| setting | " + " | ".join(f"{s}: real / rendered ratio" for s in songs) + " | score |")
    print("|---|" + "---:|" * (len(songs) + 1))
    for r in results:
        cells = [f"{r['folds'][s]['ratios'].get('recorded', float('nan')):.2f} / "
                 f"{r['folds'][s]['ratios'].get('rendered', float('nan')):.2f}" for s in songs]
        print(f"| {r['setting']} | " + " | ".join(cells) + f" | {r['score']:.3f} |")
    best = min(results, key=lambda r: r["score"])
    print(f"\nchosen: {best['setting']} (score {best['score']:.3f})")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
