"""Held-out quality evaluation: repair seeded damage on the test split, compare with the clean mix.

For every piece of the split (``test`` by default; use ``--split val`` for model choices, with
``--damage-seeds 4`` to judge on four damages per piece):

1. draw one damage with :func:`mixai.training.master.damage.sample_damage` from a generator seeded by
   ``(seed + 1000, split, piece)`` and render it over the whole clean mix;
2. master the damaged mix with each system to -14 LUFS (same limiter for all):

   ``unprocessed``     neutral settings: loudness normalisation and limiter only
   ``dsp``             :class:`mixai.predict.dsp.DspPredictor`, default profile target
   ``onnx``            the ONNX model, default profile target (reference-free)
   ``onnx_reference``  the ONNX model, target = features of a *different* clean piece of the split
   ``matchering``      Matchering 2 with that same different clean piece as reference (its output
                       is then brought to -14 LUFS through the same neutral loudness stage)
   ``oracle``          the damage's label settings (the best the chain can do; not a system)

3. compare each output with the clean mix passed through the same neutral loudness stage, with
   :func:`mixai.metrics.all_metrics`.

Writes a JSON file of per-piece results and prints the Markdown table of means, over the cases
every system could master (a case one cannot, e.g. a loudness target no limiter reaches on extreme
material, is listed and left out). ``--undamaged`` masters the clean mixes themselves instead:
then every distance is harm done to material that needed nothing.

    python -m mixai.training.evaluate --corpus data/corpus --split test --model models/mixai-master.onnx
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mixai.errors import MixaiError
from mixai.metrics import METRIC_NAMES, all_metrics

SYSTEMS = ("unprocessed", "dsp", "onnx", "onnx_reference", "matchering", "oracle")
TARGET_LUFS = -14.0
HEADERS = {"msd": "MSD", "mrstft": "MR-STFT", "centroid_hz": "centroid err (Hz)", "rms_db": "RMS err (dB)",
           "lufs": "LUFS err (LU)"}


def _matchering(damaged: np.ndarray, reference: np.ndarray, rate: int, tmp: str) -> np.ndarray:
    import contextlib
    import io

    import matchering as mg
    import soundfile as sf

    t, r, o = (os.path.join(tmp, n) for n in ("target.wav", "reference.wav", "out.wav"))
    sf.write(t, damaged.T, rate, subtype="FLOAT")
    sf.write(r, reference.T, rate, subtype="FLOAT")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        mg.process(target=t, reference=r, results=[mg.Result(o, subtype="FLOAT", use_limiter=True)])
    out, _ = sf.read(o, dtype="float32", always_2d=True)
    return np.ascontiguousarray(out.T)


def evaluate_piece(args: tuple) -> dict:
    corpus, split, index, mix_path, ref_path, model_path, seed, systems, undamaged, damage_kind = args
    from mixai.analysis.features import extract
    from mixai.master.pipeline import MasterOptions, master_array
    from mixai.predict import Target
    from mixai.predict.onnx import Model
    from mixai.settings import neutral_settings
    from mixai.training.master.damage import SAMPLERS, Damage
    from mixai.training.master.dataset import example_rng
    from mixai.training.master.profiles import load_mix

    clean, rate = load_mix(mix_path)
    reference, _ = load_mix(ref_path)
    rng = example_rng(seed + 1000, split, index, 0)
    damage = Damage() if undamaged else SAMPLERS[damage_kind](rng, clean, rate)
    damaged, threshold = damage.apply(clean, rate)
    options = MasterOptions(target_lufs=TARGET_LUFS)
    neutral = neutral_settings()

    def loudness_only(audio: np.ndarray) -> np.ndarray:
        return master_array(audio, rate, settings=neutral, options=options)[0]

    truth = loudness_only(clean)
    model = Model(model_path) if model_path else None
    ref_target = Target(f"reference:{Path(ref_path).parent.name}", extract(reference, rate), is_reference=True)
    result = {"piece": Path(mix_path).parent.name, "damage_seed": seed, "damage": damage.describe(),
              "reference": "same recording" if Path(ref_path).name == "reference.wav" else "another piece",
              "metrics": {}, "seconds": {}}

    def render(system: str) -> np.ndarray | None:
        if system == "unprocessed":
            return loudness_only(damaged)
        if system == "dsp":
            return master_array(damaged, rate, predictor="dsp", options=options)[0]
        if system in ("onnx", "onnx_reference") and model is None:
            return None
        if system == "onnx":
            return master_array(damaged, rate, predictor=model, options=options)[0]
        if system == "onnx_reference":
            return master_array(damaged, rate, predictor=model, target=ref_target, options=options)[0]
        if system == "matchering":
            with tempfile.TemporaryDirectory() as tmp:
                return loudness_only(_matchering(damaged, reference, rate, tmp))
        if system == "oracle":
            return master_array(damaged, rate, settings=damage.label(threshold), options=options)[0]
        raise ValueError(f"unknown system {system!r}")

    for system in systems:
        began = time.perf_counter()
        try:
            out = render(system)
        except MixaiError as exc:  # e.g. a loudness target no limiter reaches on this damaged audio
            result.setdefault("errors", {})[system] = str(exc)
            continue
        if out is not None:
            result["metrics"][system] = all_metrics(out, truth, rate)
            result["seconds"][system] = time.perf_counter() - began
    return result


def summarise(results: list[dict], systems: tuple[str, ...] = SYSTEMS) -> dict[str, dict[str, float]]:
    """Means per system over the cases that every system mastered (see :func:`failed_cases`)."""
    table = {}
    results = [r for r in results if not r.get("errors")]
    for system in systems:
        rows = [r["metrics"][system] for r in results if system in r["metrics"]]
        if rows:
            table[system] = {m: float(np.mean([row[m] for row in rows])) for m in METRIC_NAMES}
    return table


def harm_table(results: list[dict], systems: tuple[str, ...] = SYSTEMS, baseline: str = "unprocessed"
               ) -> dict[str, dict[str, float]]:
    """Per system: median MSD, and the share of cases it leaves *further* from the clean mix than
    ``baseline`` does (do no harm), over the cases every system mastered."""
    results = [r for r in results if not r.get("errors") and baseline in r["metrics"]]
    out = {}
    for system in systems:
        rows = [(r["metrics"][system]["msd"], r["metrics"][baseline]["msd"]) for r in results
                if system in r["metrics"]]
        if rows:
            msd, base = np.array(rows).T
            out[system] = {"median_msd": float(np.median(msd)), "worse": int((msd > base + 1e-6).sum()),
                           "cases": len(rows), "ratio_of_mean": float(msd.mean() / max(base.mean(), 1e-12))}
    return out


def failed_cases(results: list[dict]) -> list[str]:
    """One line per case that some system could not master; such cases are left out of the means."""
    return [f"{r['piece']} (damage seed {r['damage_seed']}, {r['damage']}): "
            + "; ".join(f"{system}: {message}" for system, message in r["errors"].items())
            for r in results if r.get("errors")]


def markdown_table(table: dict[str, dict[str, float]]) -> str:
    lines = ["| system | " + " | ".join(HEADERS[m] for m in METRIC_NAMES) + " |",
             "|---|" + "---:|" * len(METRIC_NAMES)]
    for system, row in table.items():
        cells = [f"{row['msd']:.3f}", f"{row['mrstft']:.3f}", f"{row['centroid_hz']:.0f}",
                 f"{row['rms_db']:.2f}", f"{row['lufs']:.2f}"]
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(corpus: str, split: str, model_path: str | None, *, seed: int = 0, jobs: int = 2, limit: int | None = None,
        systems: tuple[str, ...] = SYSTEMS, damage_seeds: int = 1, progress: bool = True,
        undamaged: bool = False, damage: str = "synthetic") -> list[dict]:
    """Per-case results; ``undamaged`` masters the clean mixes themselves (what a system does to
    material that needs nothing: every change is harm). ``damage`` names the sampler
    (:data:`mixai.training.master.damage.SAMPLERS`)."""
    from tqdm import tqdm

    from mixai.training.corpus.layout import iter_pieces, reference_of

    pieces = [mix for mix, _ in iter_pieces(corpus, split)]
    if limit:
        pieces = pieces[:limit]
    n = len(pieces)
    # The reference of piece i is another excerpt of the same recording where the corpus has one
    # (recorded corpora), else piece i + n // 2: a different piece, fixed by the split's order.
    # Damage seed k of piece i is drawn with seed + k: more cases from a small (val) split.
    references = [str(reference_of(p) or pieces[(i + max(1, n // 2)) % n]) for i, p in enumerate(pieces)]
    tasks = [(corpus, split, i, str(p), references[i], model_path, seed + k, systems, undamaged, damage)
             for k in range(damage_seeds) for i, p in enumerate(pieces)]
    if jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            results = list(tqdm(pool.imap(evaluate_piece, tasks), total=len(tasks), desc=f"evaluating ({split})",
                                unit="case", disable=not progress))
    else:
        results = [evaluate_piece(t) for t in tqdm(tasks, desc=f"evaluating ({split})", unit="case",
                                                   disable=not progress)]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mixai.training.evaluate",
                                     description="Damage-repair quality of each system on a held-out split.")
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--split", default="test", choices=("val", "test"))
    parser.add_argument("--model", default="models/mixai-master.onnx")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="only the first N pieces")
    parser.add_argument("--damage-seeds", type=int, default=1, help="damages per piece (seeds SEED..SEED+N-1)")
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--damage", default="synthetic", choices=("synthetic", "master"),
                        help="damage sampler: synthetic (chain-shaped, +-12 dB) or master (the faults of real "
                             "masters: tilt, resonances, mud, harshness, boom, thin, dull, stereo, "
                             "over-compression, a lossy low-pass)")
    parser.add_argument("--json", default=None, help="write per-piece results here")
    parser.add_argument("--undamaged", action="store_true",
                        help="master the clean mixes themselves: how far each system moves material that "
                             "needs no repair")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    results = run(args.corpus, args.split, args.model if Path(args.model).is_file() else None, seed=args.seed,
                  jobs=args.jobs, limit=args.limit, systems=tuple(args.systems),
                  damage_seeds=args.damage_seeds, undamaged=args.undamaged, damage=args.damage)
    table = summarise(results, tuple(args.systems))
    if args.json:
        Path(args.json).write_text(json.dumps({"split": args.split, "seed": args.seed, "table": table,
                                               "pieces": results}, indent=1) + "\n")
    print(f"{len(results)} {args.split} cases ({args.damage_seeds} damage(s) per piece), "
          f"{time.perf_counter() - began:.0f} s")
    print(markdown_table(table))
    for system, row in harm_table(results, tuple(args.systems)).items():
        print(f"  {system}: median MSD {row['median_msd']:.3f}, mean {row['ratio_of_mean']:.2f}x unprocessed, "
              f"worse than unprocessed on {row['worse']} of {row['cases']}")
    failed = failed_cases(results)
    if failed:
        print(f"{len(failed)} case(s) left out, a system could not master them:")
        print("\n".join(f"  {line}" for line in failed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
