"""``mixai mix STEMS... | DIR -o mix.wav``: mix stems into one mastered file."""

from __future__ import annotations

import argparse
import sys

from mixai.cli.options import (EXIT_OK, ProgressBar, add_allow_truncated, add_amount, add_html_report,
                               add_output_file, add_output_stage, add_predictor, add_report_flags, master_options,
                               print_report)

NAME = "mix"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME, help="mix stems into one mastered file",
        description="Mix stems: each stem is analysed and gets a role (from its file name, else from "
        "its sound), a predicted fader level, EQ, compression, pan and reverb send; the sum is "
        "mastered like 'mixai master'. Different lengths are padded, different sample rates "
        "resampled to the highest (with a warning).")
    p.add_argument("stems", nargs="+", metavar="STEM", help="stem files, or one folder of stems")
    p.add_argument("-o", "--output", required=True, help="output .wav or .flac")
    add_allow_truncated(p)
    add_output_stage(p)
    g = p.add_argument_group("prediction")
    add_predictor(g, "stem settings: auto = the shipped stem model when installed, else dsp "
                     "(equal loudness with role offsets)")
    g.add_argument("--model", metavar="PATH", help="another stem model (or set MIXAI_STEMS_MODEL)")
    add_predictor(g, "mastering settings of the sum (as 'mixai master --predictor')", flag="--master-predictor")
    g.add_argument("--master-model", metavar="PATH", help="another mastering model")
    add_amount(g, "how much of the predicted mastering to apply (default 1)")
    s = p.add_argument_group("settings")
    s.add_argument("--settings", metavar="FILE", help="apply a saved mix (JSON) instead of predicting")
    s.add_argument("--save-settings", metavar="FILE", help="write every stem's, the bus' and the "
                                                            "master's settings as one JSON file")
    add_html_report(s, "mix")
    add_output_file(p, sample_rate_help="mix rate (default: the highest stem rate)")
    add_report_flags(p)


def run(args: argparse.Namespace) -> int:
    import warnings

    from mixai.mix.mixer import mix_files
    from mixai.mix.sources import MixWarning

    options = master_options(args, sample_rate=args.sample_rate, bit_depth=args.bit_depth,
                             overwrite=args.overwrite)
    bar = ProgressBar(not args.quiet and not args.json, "mixing")
    stems = args.stems[0] if len(args.stems) == 1 else args.stems
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MixWarning)
            try:
                report = mix_files(stems, args.output, options=options, settings=args.settings,
                                   save_settings=args.save_settings, model_path=args.model,
                                   predictor=args.predictor, master_predictor=args.master_predictor,
                                   master_model_path=args.master_model, progress=bar, report_html=args.report)
            finally:
                for w in caught:
                    if issubclass(w.category, MixWarning):
                        print(f"mixai mix: warning: {w.message}", file=sys.stderr)
    finally:
        bar.close()
    print_report(report, args)
    return EXIT_OK
