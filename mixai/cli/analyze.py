"""``mixai analyze INPUT``: the analysis of a file as JSON."""

from __future__ import annotations

import argparse
import json

from mixai.cli.options import EXIT_OK, add_allow_truncated

NAME = "analyze"


def add_parser(sub) -> None:
    a = sub.add_parser(NAME, help="print an analysis of a file as JSON",
                       description="Loudness (BS.1770), loudness range, peaks, spectrum, stereo "
                       "and the feature vector, as JSON.")
    a.add_argument("input", help="audio file")
    add_allow_truncated(a)
    a.add_argument("--sample-rate", type=int, metavar="HZ", help="analyse at this rate")


def run(args: argparse.Namespace) -> int:
    from mixai.analysis.measure import analyze

    analysis = analyze(args.input, sample_rate=args.sample_rate, allow_truncated=args.allow_truncated)
    print(json.dumps(analysis.to_dict(), indent=2))
    return EXIT_OK
