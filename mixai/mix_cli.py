"""``mixai mix STEMS... | DIR -o mix.wav``: registered into :mod:`mixai.cli` on import."""

from __future__ import annotations

import argparse
import sys

from mixai import cli


def add_parser(sub) -> None:
    p = sub.add_parser(
        "mix", help="mix stems into one mastered file",
        description="Mix stems: each stem is analysed and gets a role (from its file name, else from "
        "its sound), a predicted fader level, EQ, compression, pan and reverb send; the sum is "
        "mastered like 'mixai master'. Different lengths are padded, different sample rates "
        "resampled to the highest (with a warning).")
    p.add_argument("stems", nargs="+", metavar="STEM", help="stem files, or one folder of stems")
    p.add_argument("-o", "--output", required=True, help="output .wav or .flac")
    cli._add_output_stage(p)
    g = p.add_argument_group("prediction")
    g.add_argument("--predictor", choices=("auto", "onnx", "dsp"), default="auto",
                   help="stem settings: auto = the shipped stem model when installed, else dsp "
                        "(equal loudness with role offsets)")
    g.add_argument("--model", metavar="PATH", help="another stem model (or set MIXAI_STEMS_MODEL)")
    g.add_argument("--master-predictor", choices=("auto", "onnx", "dsp"), default="auto",
                   help="mastering settings of the sum (as 'mixai master --predictor')")
    g.add_argument("--master-model", metavar="PATH", help="another mastering model")
    g.add_argument("--amount", type=float, default=1.0, metavar="0..1",
                   help="how much of the predicted mastering to apply (default 1)")
    s = p.add_argument_group("settings")
    s.add_argument("--settings", metavar="FILE", help="apply a saved mix (JSON) instead of predicting")
    s.add_argument("--save-settings", metavar="FILE", help="write every stem's, the bus' and the "
                                                            "master's settings as one JSON file")
    f = p.add_argument_group("output file")
    f.add_argument("--sample-rate", type=int, metavar="HZ", help="mix rate (default: the highest stem rate)")
    f.add_argument("--bit-depth", type=int, choices=(16, 24, 32), default=24, help="default 24")
    f.add_argument("-y", "--overwrite", action="store_true", help="replace OUTPUT if it exists")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")


def run(args: argparse.Namespace) -> int:
    import warnings

    from mixai.mix import MixWarning, mix_files

    options = cli._options(args, sample_rate=args.sample_rate, bit_depth=args.bit_depth,
                           overwrite=args.overwrite)
    bar = cli._ProgressBar(not args.quiet and not args.json, "mixing")
    stems = args.stems[0] if len(args.stems) == 1 else args.stems
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MixWarning)
            try:
                report = mix_files(stems, args.output, options=options, settings=args.settings,
                                   save_settings=args.save_settings, model_path=args.model,
                                   predictor=args.predictor, master_predictor=args.master_predictor,
                                   master_model_path=args.master_model, progress=bar)
            finally:
                for w in caught:
                    if issubclass(w.category, MixWarning):
                        print(f"mixai mix: warning: {w.message}", file=sys.stderr)
    finally:
        bar.close()
    cli.print_report(report, args)
    return cli.EXIT_OK


cli.register("mix", add_parser, run)
