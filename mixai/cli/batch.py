"""``mixai batch IN_DIR -o OUT_DIR``: master (or mix) every track in a folder, in parallel.

Exit status: 0 when every item is done (or was already done), 1 when any item failed (each is
listed, and recorded in ``OUT_DIR/manifest.jsonl`` with its error), 2 for usage errors, 130 when
interrupted (no partial output file is left; re-run to finish).
"""

from __future__ import annotations

import argparse
import sys

from mixai.cli.options import (EXIT_ERROR, EXIT_OK, add_allow_truncated, add_amount, add_output_file,
                               add_output_stage, add_predictor, master_options)

NAME = "batch"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME, help="master (or mix) every track in a folder, in parallel",
        description="Process every audio file (--mode master) or every folder of stems (--mode mix) "
        "under IN_DIR into OUT_DIR with the same relative paths, in parallel worker processes or on a "
        "Dask cluster. OUT_DIR/manifest.jsonl records each item (settings, measured LUFS and true "
        "peak, seconds, status or error). Re-running skips items already done; --force redoes them. "
        "Exit status 1 if any item failed.")
    p.add_argument("input_dir", metavar="IN_DIR", help="folder of tracks (or of song folders of stems)")
    p.add_argument("-o", "--output-dir", required=True, metavar="OUT_DIR", help="where outputs go (not IN_DIR)")
    p.add_argument("--mode", choices=("master", "mix"), default="master",
                   help="master every audio file, or mix every folder of stems (default master)")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="worker processes, one core each (default: the number of CPU cores)")
    p.add_argument("--force", action="store_true", help="redo items that are already done")
    p.add_argument("--report", action="store_true",
                   help="a visual report (HTML) beside each output (NAME.report.html) and an index page "
                        "of all items, OUT_DIR/report.html")
    add_allow_truncated(p)
    p.add_argument("--dask", metavar="ADDRESS", help="run on this Dask scheduler (e.g. tcp://host:8786); "
                   "workers need mixai installed and the same paths")
    add_output_stage(p)
    g = p.add_argument_group("prediction")
    add_predictor(g, "master mode: the mastering predictor; mix mode: the stem predictor")
    g.add_argument("--model", metavar="PATH", help="another model file for --predictor")
    g.add_argument("--profile", metavar="NAME", help="master mode: built-in target profile")
    add_predictor(g, "mix mode: mastering predictor for the sum", flag="--master-predictor")
    add_amount(g, "mastering amount (default 1)")
    add_output_file(p, title="output files", sample_rate_help="output sample rate", overwrite=False)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")


def run(args: argparse.Namespace) -> int:
    import os

    from mixai.batch import BatchConfig, run_batch

    options = master_options(args, sample_rate=args.sample_rate, bit_depth=args.bit_depth)
    config = BatchConfig(mode=args.mode, options=options, predictor=args.predictor, model_path=args.model,
                         target=args.profile, master_predictor=args.master_predictor, report=args.report)
    jobs = args.jobs or os.cpu_count() or 1
    result = run_batch(args.input_dir, args.output_dir, config=config, jobs=jobs, force=args.force,
                       dask_address=args.dask, progress=not args.quiet)
    if not args.quiet or not result.ok:
        print(result.summary(), file=sys.stdout if result.ok else sys.stderr)
    if result.report and not args.quiet:
        print(f"report: {result.report}")
    return EXIT_OK if result.ok else EXIT_ERROR
