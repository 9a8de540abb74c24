"""What the ``mixai`` commands share: exit codes, the option groups several commands offer (the
loudness stage, prediction, the output file, the report), turning parsed options into
:class:`~mixai.master.options.MasterOptions`, the progress bar and the report printer.

Parsing must answer ``--help`` at once, so this module imports nothing heavy: the library is
imported inside the functions that run after parsing.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mixai.predict import PREDICTOR_CHOICES

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

PRESET_HELP = ("spotify -14/-1, apple -16/-1, youtube -14/-1, tidal -14/-1, amazon -14/-2, "
               "ebu-r128 -23/-1, cd -9/-0.3 (LUFS/dBTP)")
# mixai.io.audio.BIT_DEPTHS (not imported: it loads numpy before --help could answer; a test
# checks they agree)
BIT_DEPTHS = (16, 24, 32)
AMOUNT_HELP = ("how far to move toward the target (default 1); applied on top of the model's own trust, "
               "which already scales its corrections down for inputs unlike its training material")


def add_output_stage(p: argparse.ArgumentParser) -> None:
    """--preset, --target-lufs, --ceiling-dbtp."""
    g = p.add_argument_group("loudness and ceiling")
    g.add_argument("--preset", help=f"delivery preset (default spotify): {PRESET_HELP}")
    g.add_argument("--target-lufs", type=float, metavar="LUFS",
                   help="integrated loudness of the output, -40..-5 (overrides the preset)")
    g.add_argument("--ceiling-dbtp", type=float, metavar="DBTP",
                   help="true-peak ceiling, -9..0 dBTP (overrides the preset)")


def add_predictor(g: Any, help: str, *, flag: str = "--predictor") -> None:
    """A predictor choice (:data:`mixai.predict.PREDICTOR_CHOICES`, default ``auto``)."""
    g.add_argument(flag, choices=PREDICTOR_CHOICES, default="auto", help=help)


# The per-aspect amounts (mixai.master.options.ASPECT_OPTIONS, not imported: see BIT_DEPTHS)
ASPECT_HELP = {"eq": "how much of the EQ correction to apply (incl. the high-pass)",
               "dynamics": "how much of the compression to apply (the limiter always holds the ceiling)",
               "reverb": "how much of the reverb to apply",
               "width": "how much of the stereo-width change to apply"}


def add_amount(g: Any, help: str = AMOUNT_HELP) -> None:
    """--amount and the per-aspect --eq-amount, --dynamics-amount, --reverb-amount, --width-amount."""
    g.add_argument("--amount", type=float, default=1.0, metavar="0..1", help=help)
    for aspect, text in ASPECT_HELP.items():
        g.add_argument(f"--{aspect}-amount", type=float, default=1.0, metavar="0..1",
                       help=f"{text}, 0..1 (default 1; on top of --amount)")


def add_prediction(p: argparse.ArgumentParser) -> None:
    """The mastering prediction group of ``master`` and ``suggest``."""
    g = p.add_argument_group("prediction")
    add_predictor(g, "auto = the shipped ONNX model when installed (default), dsp = target matching")
    g.add_argument("--model", metavar="PATH", help="another ONNX model file (or set MIXAI_MODEL)")
    g.add_argument("--reference", metavar="FILE",
                   help="match this reference track instead of the built-in profile")
    g.add_argument("--profile", metavar="NAME", help="built-in target profile (default: default)")
    add_amount(g)


def add_output_file(p: argparse.ArgumentParser, *, title: str = "output file", sample_rate_help: str,
                    bit_depth_help: str = "default 24", overwrite: bool = True) -> None:
    """--sample-rate, --bit-depth and (unless ``overwrite`` is False) -y/--overwrite."""
    f = p.add_argument_group(title)
    f.add_argument("--sample-rate", type=int, metavar="HZ", help=sample_rate_help)
    f.add_argument("--bit-depth", type=int, choices=BIT_DEPTHS, default=24, help=bit_depth_help)
    if overwrite:
        f.add_argument("-y", "--overwrite", action="store_true", help="replace OUTPUT if it exists")


def add_allow_truncated(p: Any) -> None:
    """--allow-truncated: use what a damaged input holds instead of refusing it."""
    p.add_argument("--allow-truncated", action="store_true",
                   help="use what a file cut short or damaged holds intact from its start instead of "
                        "refusing it (the report warns)")


def add_html_report(p: Any, what: str) -> None:
    """--report FILE.html: the visual report."""
    p.add_argument("--report", metavar="FILE.html",
                   help=f"also write a visual report of the {what} (one self-contained HTML file: spectrum, "
                        "loudness over time, true peak and limiting, settings, trust, warnings)")


def add_report_flags(p: argparse.ArgumentParser) -> None:
    """--json and -q/--quiet."""
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")


def target(args: argparse.Namespace) -> str | None:
    """``--reference`` or ``--profile`` (not both)."""
    if args.reference and args.profile:
        from mixai.errors import ParameterError
        raise ParameterError("use either --reference or --profile, not both")
    return args.reference or args.profile


def master_options(args: argparse.Namespace, **extra: Any):
    """The parsed loudness stage and the amounts as :class:`~mixai.master.options.MasterOptions`."""
    from mixai.master.options import MasterOptions

    amounts = {f"{aspect}_amount": getattr(args, f"{aspect}_amount") for aspect in ASPECT_HELP}
    return MasterOptions(target_lufs=args.target_lufs, ceiling_dbtp=args.ceiling_dbtp,
                         preset=args.preset, amount=args.amount, **amounts,
                         allow_truncated=getattr(args, "allow_truncated", False), **extra)


class ProgressBar:
    """A one-line progress bar on stderr (tqdm), only when stderr is a terminal."""

    def __init__(self, enabled: bool, label: str) -> None:
        self._bar = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm
            self._bar = tqdm(total=100, desc=label, unit="%", leave=False, file=sys.stderr)

    def __call__(self, fraction: float, stage: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(stage)
            self._bar.n = int(100 * fraction)
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def print_report(report: Any, args: argparse.Namespace) -> None:
    """The whole report as JSON with ``--json``, else the human summary unless ``--quiet``."""
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    elif not args.quiet:
        print(report.summary())


__all__ = ["EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_INTERRUPTED", "PRESET_HELP", "BIT_DEPTHS", "AMOUNT_HELP",
           "ASPECT_HELP", "add_output_stage", "add_predictor", "add_amount", "add_prediction", "add_output_file",
           "add_allow_truncated", "add_html_report",
           "add_report_flags", "target", "master_options", "ProgressBar", "print_report"]
