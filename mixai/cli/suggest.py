"""``mixai suggest INPUT``: predicted settings as JSON, nothing rendered."""

from __future__ import annotations

import argparse
import sys

from mixai.cli.options import (EXIT_OK, add_allow_truncated, add_output_stage, add_prediction, master_options,
                               target)

NAME = "suggest"


def add_parser(sub) -> None:
    s = sub.add_parser(NAME, help="print predicted settings as JSON (no rendering)")
    s.add_argument("input", help="audio file")
    add_allow_truncated(s)
    add_output_stage(s)
    add_prediction(s)


def run(args: argparse.Namespace) -> int:
    from mixai.master.pipeline import suggestion

    found = suggestion(args.input, target=target(args), predictor=args.predictor,
                       model_path=args.model, options=master_options(args))
    if found.note():  # stderr, so stdout stays a loadable settings file
        print(f"mixai: note: {found.note()}", file=sys.stderr)
    print(found.settings.to_json())
    return EXIT_OK
