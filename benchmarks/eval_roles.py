"""How well a stem's role is heard from its sound: held-out stems whose names are withheld.

For every piece of each corpus' split, every stem is judged from its sound alone -- as
``mixai mix`` does for a stem named ``track07.wav`` -- by the shipped role classifier
(:mod:`mixai.predict.roles`, with the plain sum of the song's stems as the mix context) and by the
old feature rules (:func:`mixai.mix.roles.role_from_rules`), on the stems as they are and on the
stems damaged the way ``benchmarks/eval_mix.py`` damages them (same seed). The true role is the
corpus' (the stem file's name). Reported: accuracy, balanced accuracy (mean per-role recall) and
the confusion matrix of the classifier on the damaged stems.

Usage::

    python benchmarks/eval_roles.py --corpus data/stems/render/musescore data/stems/recorded --split test
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EVAL_SEED = 2024  # the damage of benchmarks/eval_mix.py


def judge_piece(piece_dir: str) -> list[dict]:
    from mixai.analysis.features import Features, extract
    from mixai.mix.roles import role_from_rules
    from mixai.predict.roles import installed_model
    from mixai.training.stems.damage import damage_song, stereo
    from mixai.training.stems.dataset import load_piece, role_of

    piece = Path(piece_dir)
    stems, rate, _ = load_piece(piece, seconds=None)
    names = sorted(stems)
    damaged, _ = damage_song(stems, rate, EVAL_SEED + zlib.crc32(piece.name.encode()))
    model = installed_model()
    out = []
    for state, song in (("clean", stems), ("damaged", damaged)):
        mix = extract(sum(stereo(song[n]) for n in names), rate).values
        for n in names:
            f = extract(song[n], rate).values
            out.append({"piece": piece.name, "stem": n, "state": state, "true": role_of(n),
                        "model": model.classify(f, mix).role if model is not None else None,
                        "rules": role_from_rules(Features(f))})
    return out


def table(rows: list[dict], key: str) -> dict:
    from mixai.settings.stems import ROLES
    from mixai.training.stems.roles import scores

    true = np.array([ROLES.index(r["true"]) for r in rows])
    pred = np.array([ROLES.index(r[key]) for r in rows])
    return scores(pred, true, ROLES)


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    from mixai.predict.roles import installed_model
    from mixai.settings.stems import ROLES
    from mixai.training.corpus.layout import iter_pieces

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", nargs="+", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--jobs", type=int, default=2)
    a = p.parse_args(argv)
    have_model = installed_model() is not None
    if not have_model:
        print("note: no role model installed; only the rules are judged", file=sys.stderr)
    with multiprocessing.get_context("spawn").Pool(a.jobs) as pool:
        for corpus in a.corpus:
            pieces = [str(m.parent) for m, _ in iter_pieces(corpus, a.split)]
            rows = [r for got in tqdm(pool.imap(judge_piece, pieces), total=len(pieces), desc=Path(corpus).name)
                    for r in got]
            print(f"\n## {corpus} ({a.split}): {len(pieces)} pieces, {len(rows) // 2} stems\n")
            print("| judge | stems | accuracy | balanced accuracy | recall per role |")
            print("|---|---|---:|---:|---|")
            for key in (("model", "rules") if have_model else ("rules",)):
                for state in ("clean", "damaged"):
                    s = table([r for r in rows if r["state"] == state], key)
                    recall = ", ".join(f"{k} {v:.2f}" for k, v in s["recall"].items())
                    print(f"| {key} | {state} | {s['accuracy']:.1%} | {s['balanced_accuracy']:.1%} | {recall} |")
            if have_model:
                s = table([r for r in rows if r["state"] == "damaged"], "model")
                print("\nconfusion (damaged stems; rows: true role, columns: heard as)\n")
                print("| true \\ heard | " + " | ".join(ROLES) + " |")
                print("|---|" + "---:|" * len(ROLES))
                for role, line in zip(ROLES, s["confusion"]):
                    if sum(line):
                        print(f"| {role} | " + " | ".join(str(v) for v in line) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
