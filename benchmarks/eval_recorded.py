"""The mastering model judged on real recordings it never trained on, and on renders, in one run.

    python benchmarks/eval_recorded.py [--jobs 2] [--json data/eval_recorded.json]

1. **Recorded test packages** (``data/recorded``, test split: whole packages no model choice looked
   at), each excerpt damaged with the faults of real masters (``--damage master``), side by side:
   unprocessed, ``--predictor dsp``, the model, the model with ``--reference`` = 30 s of the same
   recording from elsewhere, Matchering given that same excerpt, and the label oracle.
2. **Undamaged**: the same test excerpts as shipped, through each system (a good master should
   come back close to itself: MSD after loudness matching).
3. **Renders**: the test scores of the General-MIDI renderer (FluidR3, never rendered for
   training), with the synthetic damage the earlier models were judged on.

Needs ``make corpus`` (packages and ``data/recorded``), Matchering (test extras) and, for step 3,
fluidsynth; the render is made on first use under ``data/rendered_gm_test``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mixai.training import evaluate  # noqa: E402

RECORDED = Path("data/recorded")
RENDERED_TEST = Path("data/rendered_gm_test")


def report(title: str, results: list[dict], systems: tuple[str, ...]) -> dict:
    table = evaluate.summarise(results, systems)
    harm = evaluate.harm_table(results, systems)
    print(f"\n## {title} ({len(results)} cases)\n")
    print(evaluate.markdown_table(table))
    for system, row in harm.items():
        print(f"- {system}: median MSD {row['median_msd']:.3f}, mean {row['ratio_of_mean']:.2f}x unprocessed, "
              f"worse than unprocessed on {row['worse']} of {row['cases']}")
    for line in evaluate.failed_cases(results):
        print(f"- left out: {line}")
    return {"table": table, "harm": harm, "cases": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="models/mixai-master.onnx")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--split", default="test", choices=("val", "test"))
    parser.add_argument("--limit", type=int, default=None, help="first N excerpts of each corpus")
    parser.add_argument("--render-pieces", type=int, default=40)
    parser.add_argument("--skip", nargs="*", default=[], choices=("recorded", "undamaged", "renders"))
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    out = {}
    if "recorded" not in args.skip:
        systems = evaluate.SYSTEMS
        results = evaluate.run(str(RECORDED), args.split, args.model, jobs=args.jobs, limit=args.limit,
                               systems=systems, damage="master")
        out["recorded"] = report(f"Recorded {args.split} packages, faults of real masters", results, systems)
    if "undamaged" not in args.skip:
        systems = ("unprocessed", "dsp", "onnx", "onnx_reference")
        results = evaluate.run(str(RECORDED), args.split, args.model, jobs=args.jobs, limit=args.limit,
                               systems=systems, undamaged=True)
        out["undamaged"] = report(f"Recorded {args.split} packages, undamaged", results, systems)
    if "renders" not in args.skip:
        from mixai.training.corpus import rendered

        if not (RENDERED_TEST / "index.json").is_file():
            rendered.generate(RENDERED_TEST, seed=0, pieces=args.render_pieces, seconds=20.0, jobs=args.jobs,
                              splits=(args.split,), stems=False)
        systems = ("unprocessed", "dsp", "onnx", "onnx_reference", "oracle")
        results = evaluate.run(str(RENDERED_TEST), args.split, args.model, jobs=args.jobs, limit=args.limit,
                               systems=systems, damage="synthetic")
        out["renders"] = report(f"General-MIDI renders, {args.split} scores, synthetic damage", results, systems)
    print(f"\n{time.perf_counter() - began:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
