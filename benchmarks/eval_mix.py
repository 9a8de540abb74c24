"""Evaluate stem mixing on held-out rendered songs whose stems were scrambled.

For every piece of the corpus' **test** split: the stems (which sum to the balanced mix) are
damaged with :func:`mixai.training.stems.damage.damage_song` (levels +-12 dB, EQ +-6 dB on five bands,
over-compression or gain riding, 30 % folded to mono; seeded per piece), then mixed by

* ``mixai mix`` (the stem ONNX model; the in-memory twin of ``mixai mix``, :func:`mixai.mix.mix_arrays`),
* ``mixai mix --predictor dsp`` (equal loudness with role offsets),
* summing the damaged stems as they are,
* equal-loudness stems (every stem to the same LUFS, then summed).

Reported per method: the median over all stems of | stem loudness relative to the mix - the same
in the balanced rendering | (dB; BS.1770), and the median over songs of the MSD
(:func:`mixai.metrics.mel_spectral_distance`) between the method's mix and the balanced mix. Mixes
are compared *before* mastering, each loudness-matched to the balanced mix, so MSD measures balance
and tone, not the loudness target or the mastering chain.

Usage::

    python benchmarks/eval_mix.py --corpus data/corpus --split test --jobs 2 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

METHODS = ("mixai mix (onnx)", "mixai mix (onnx), reverb bus off", "mixai mix (onnx), reverb off, EQ/comp off",
           "mixai mix --predictor dsp", "sum as is", "equal loudness")
EVAL_SEED = 2024


def _match(x: np.ndarray, ref_lufs: float, rate: int) -> np.ndarray:
    from mixai.loudness import integrated_lufs

    lv = integrated_lufs(x, rate)
    return x * np.float32(10 ** ((ref_lufs - lv) / 20)) if np.isfinite(lv) else x


def evaluate_piece(args: tuple[str, str | None, bool]) -> dict:
    from mixai.loudness import integrated_lufs
    from mixai.metrics import mel_spectral_distance
    from mixai.mix import mix_arrays
    from mixai.pipeline import MasterOptions
    from mixai.training.stems.damage import damage_song, stereo
    from mixai.training.stems.dataset import balanced_rel_db, load_piece

    piece_dir, model_path, ablations = args
    piece = Path(piece_dir)
    stems, rate, _ = load_piece(piece, seconds=None)
    names = sorted(stems)
    balanced = sum(stems[n] for n in names)
    bal_lufs = integrated_lufs(balanced, rate)
    rel_true = balanced_rel_db(stems, rate)
    damaged, _ = damage_song(stems, rate, EVAL_SEED + zlib.crc32(piece.name.encode()))
    keep = [n for n in names if np.isfinite(rel_true[n]) and rel_true[n] > -40.0]

    out: dict = {"piece": piece.name, "stems": len(names), "methods": {}}

    def score(name: str, mix: np.ndarray, rel: dict[str, float]) -> None:
        errs = [abs(rel[n] - rel_true[n]) for n in keep if rel.get(n) is not None and np.isfinite(rel[n])]
        msd = mel_spectral_distance(_match(mix, bal_lufs, rate), balanced, rate)
        out["methods"][name] = {"abs_rel_err_db": errs, "msd": float(msd)}

    for label, predictor in (("mixai mix (onnx)", "onnx"), ("mixai mix --predictor dsp", "dsp")):
        if predictor == "onnx" and model_path is None:
            continue
        _, report, rendered = mix_arrays({n: damaged[n] for n in names}, rate, options=MasterOptions(),
                                         predictor=predictor, model_path=model_path, master_predictor="dsp")
        score(label, rendered.mix, {s.name: s.rel_db_in_mix for s in report.stems})
        if predictor == "onnx" and ablations:
            # Replay the predicted settings with parts switched off (what each part costs in MSD).
            from dataclasses import replace


            dry = replace(report.settings, bus=replace(report.settings.bus, return_db=-60.0))
            _, rep2, ren2 = mix_arrays({n: damaged[n] for n in names}, rate, options=MasterOptions(),
                                       settings=dry, master_predictor="dsp")
            score(f"{label}, reverb bus off", ren2.mix, {s.name: s.rel_db_in_mix for s in rep2.stems})
            # Same network, EQ and compressor outputs forced to neutral (faders recomputed).
            import mixai.mix as mm
            from mixai.stems import STEM_OUTPUTS

            original = mm.StemModel.run

            def neutral(self, rows):
                out = np.array(original(self, rows))
                for i, spec in enumerate(STEM_OUTPUTS):
                    if spec.name.startswith(("eq.", "compressor.")):
                        out[:, i] = spec.to_unit(spec.default)
                return out

            mm.StemModel.run = neutral
            try:
                _, rep3, _ = mix_arrays({n: damaged[n] for n in names}, rate, options=MasterOptions(),
                                        predictor="onnx", model_path=model_path, master_predictor="dsp")
            finally:
                mm.StemModel.run = original
            flat = replace(rep3.settings, bus=replace(rep3.settings.bus, return_db=-60.0))
            for sub, st in (("reverb off, EQ/comp off", flat),):
                _, rep2, ren2 = mix_arrays({n: damaged[n] for n in names}, rate, options=MasterOptions(),
                                           settings=st, master_predictor="dsp")
                score(f"{label}, {sub}", ren2.mix, {s.name: s.rel_db_in_mix for s in rep2.stems})

    plain = [stereo(damaged[n]) for n in names]
    total = sum(plain)
    tl = integrated_lufs(total, rate)
    score("sum as is", total, {n: integrated_lufs(x, rate) - tl for n, x in zip(names, plain)})

    eq_l = []
    for x in plain:
        lv = integrated_lufs(x, rate)
        eq_l.append(x * np.float32(10 ** ((-23.0 - lv) / 20)) if np.isfinite(lv) else x)
    total = sum(eq_l)
    tl = integrated_lufs(total, rate)
    score("equal loudness", total, {n: integrated_lufs(x, rate) - tl for n, x in zip(names, eq_l)})
    return out


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    from mixai.training.corpus.layout import iter_pieces

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default="data/corpus")
    p.add_argument("--split", default="test")
    p.add_argument("--model", default=str(Path(__file__).resolve().parents[1] / "models" / "mixai-stems.onnx"))
    p.add_argument("--limit", type=int)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--json", help="also write per-piece results here")
    p.add_argument("--ablations", action="store_true",
                   help="also replay the onnx settings without the reverb bus, and without EQ/compression")
    a = p.parse_args(argv)
    model = a.model if Path(a.model).is_file() else None
    if model is None:
        print(f"note: {a.model} not found; the onnx row is skipped", file=sys.stderr)
    pieces = [str(m.parent) for m, _ in iter_pieces(a.corpus, a.split)][:a.limit]
    t = time.time()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(a.jobs) as pool:
        results = list(tqdm(pool.imap(evaluate_piece, [(pc, model, a.ablations) for pc in pieces]), total=len(pieces),
                            desc="eval mix"))
    rows = []
    for m in METHODS:
        errs = [e for r in results if m in r["methods"] for e in r["methods"][m]["abs_rel_err_db"]]
        msd = [r["methods"][m]["msd"] for r in results if m in r["methods"]]
        if not errs:
            continue
        rows.append((m, float(np.median(errs)), float(np.mean(errs)), float(np.percentile(errs, 90)),
                     float(np.median(msd)), len(errs)))
    n_stems = sum(r["stems"] for r in results)
    print(f"\n{len(results)} {a.split} songs, {n_stems} stems, damage seed {EVAL_SEED}, {time.time() - t:.0f} s\n")
    print("| method | median abs. rel. loudness error (dB) | mean (dB) | 90th pct (dB) | median MSD vs balanced mix |")
    print("|---|---:|---:|---:|---:|")
    for m, med, mean, p90, msd, _n in rows:
        print(f"| {m} | {med:.2f} | {mean:.2f} | {p90:.2f} | {msd:.3f} |")
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows, "pieces": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
