"""``mixai master INPUT -o OUTPUT``: master one file."""

from __future__ import annotations

import argparse

from mixai.cli.options import (EXIT_OK, ProgressBar, add_allow_truncated, add_html_report, add_output_file,
                               add_output_stage, add_prediction, add_report_flags, master_options, print_report,
                               target)

NAME = "master"


def add_parser(sub) -> None:
    m = sub.add_parser(NAME, help="master one file",
                       description="Master one track. Writes OUTPUT atomically and prints a summary.")
    m.add_argument("input", help="audio file (wav, flac, aiff, ogg, mp3; mono or stereo)")
    m.add_argument("-o", "--output", help="output .wav or .flac (required unless --dry-run)")
    add_allow_truncated(m)
    add_output_stage(m)
    add_prediction(m)
    g = m.add_argument_group("settings")
    g.add_argument("--settings", metavar="FILE", help="apply these settings (JSON) instead of predicting")
    g.add_argument("--save-settings", metavar="FILE", help="write the settings used as JSON")
    g.add_argument("--dry-run", action="store_true", help="analyse and predict only; write no audio")
    add_html_report(g, "master")
    add_output_file(m, sample_rate_help="output sample rate (default: input's)",
                    bit_depth_help="16 (TPDF-dithered) or 24-bit integer, or 32-bit float (WAV only); default 24")
    add_report_flags(m)


def run(args: argparse.Namespace) -> int:
    from mixai.errors import ParameterError
    from mixai.master.pipeline import master_file
    from mixai.settings.schema import load_settings

    if not args.dry_run and not args.output:
        raise ParameterError("master needs -o/--output (or --dry-run)")
    settings = load_settings(args.settings) if args.settings else None
    options = master_options(args, sample_rate=args.sample_rate, bit_depth=args.bit_depth,
                             overwrite=args.overwrite)
    bar = ProgressBar(not args.quiet and not args.json, "mastering")
    try:
        report = master_file(args.input, args.output, settings=settings, predictor=args.predictor,
                             model_path=args.model, target=target(args), options=options,
                             dry_run=args.dry_run, save_settings=args.save_settings, progress=bar,
                             report_html=args.report)
    finally:
        bar.close()
    print_report(report, args)
    if args.dry_run and not (args.json or args.quiet):
        print(report.settings.to_json())
    return EXIT_OK
