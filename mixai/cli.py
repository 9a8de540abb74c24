"""``mixai`` command line: argparse subcommands; heavy imports wait until after parsing so that
``--help`` answers at once. Deliberate errors (:class:`MixaiError`) print one line and exit 1."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, Sequence

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

PRESET_HELP = ("spotify -14/-1, apple -16/-1, youtube -14/-1, tidal -14/-1, amazon -14/-2, "
               "ebu-r128 -23/-1, cd -9/-0.3 (LUFS/dBTP)")


def _add_output_stage(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("loudness and ceiling")
    g.add_argument("--preset", help=f"delivery preset (default spotify): {PRESET_HELP}")
    g.add_argument("--target-lufs", type=float, metavar="LUFS",
                   help="integrated loudness of the output, -40..-5 (overrides the preset)")
    g.add_argument("--ceiling-dbtp", type=float, metavar="DBTP",
                   help="true-peak ceiling, -9..0 dBTP (overrides the preset)")


def _add_prediction(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("prediction")
    g.add_argument("--predictor", choices=("auto", "onnx", "dsp"), default="auto",
                   help="auto = the shipped ONNX model when installed (default), dsp = target matching")
    g.add_argument("--model", metavar="PATH", help="another ONNX model file (or set MIXAI_MODEL)")
    g.add_argument("--reference", metavar="FILE",
                   help="match this reference track instead of the built-in profile")
    g.add_argument("--profile", metavar="NAME", help="built-in target profile (default: default)")
    g.add_argument("--amount", type=float, default=1.0, metavar="0..1",
                   help="how far to move toward the target (default 1); applied on top of the "
                        "model's own trust, which already scales its corrections down for inputs "
                        "unlike its training material")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixai", description="Automatic mastering: analyse a track, predict EQ, compression "
        "and reverb settings, apply them, hit a loudness target under a true-peak ceiling.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    m = sub.add_parser("master", help="master one file",
                       description="Master one track. Writes OUTPUT atomically and prints a summary.")
    m.add_argument("input", help="audio file (wav, flac, aiff, ogg, mp3; mono or stereo)")
    m.add_argument("-o", "--output", help="output .wav or .flac (required unless --dry-run)")
    _add_output_stage(m)
    _add_prediction(m)
    g = m.add_argument_group("settings")
    g.add_argument("--settings", metavar="FILE", help="apply these settings (JSON) instead of predicting")
    g.add_argument("--save-settings", metavar="FILE", help="write the settings used as JSON")
    g.add_argument("--dry-run", action="store_true", help="analyse and predict only; write no audio")
    f = m.add_argument_group("output file")
    f.add_argument("--sample-rate", type=int, metavar="HZ", help="output sample rate (default: input's)")
    f.add_argument("--bit-depth", type=int, choices=(16, 24, 32), default=24,
                   help="16 (TPDF-dithered) or 24-bit integer, or 32-bit float (WAV only); default 24")
    f.add_argument("-y", "--overwrite", action="store_true", help="replace OUTPUT if it exists")
    m.add_argument("--json", action="store_true", help="print the full report as JSON")
    m.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")

    a = sub.add_parser("analyze", help="print an analysis of a file as JSON",
                       description="Loudness (BS.1770), loudness range, peaks, spectrum, stereo "
                       "and the feature vector, as JSON.")
    a.add_argument("input", help="audio file")
    a.add_argument("--sample-rate", type=int, metavar="HZ", help="analyse at this rate")

    s = sub.add_parser("suggest", help="print predicted settings as JSON (no rendering)")
    s.add_argument("input", help="audio file")
    _add_output_stage(s)
    _add_prediction(s)

    for name, register in _EXTRA_COMMANDS:
        register(sub)
    return parser


# Other modules (mix, batch) add subcommands here: (name, function(subparsers)).
_EXTRA_COMMANDS: list[tuple[str, Callable]] = []


def _target(args: argparse.Namespace):
    if args.reference and args.profile:
        from mixai.errors import ParameterError
        raise ParameterError("use either --reference or --profile, not both")
    return args.reference or args.profile


def _options(args: argparse.Namespace, **extra):
    from mixai.master.options import MasterOptions

    return MasterOptions(target_lufs=args.target_lufs, ceiling_dbtp=args.ceiling_dbtp,
                         preset=args.preset, amount=args.amount, **extra)


class _ProgressBar:
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


def cmd_master(args: argparse.Namespace) -> int:
    from mixai.errors import ParameterError
    from mixai.master.pipeline import master_file
    from mixai.settings.schema import load_settings

    if not args.dry_run and not args.output:
        raise ParameterError("master needs -o/--output (or --dry-run)")
    settings = load_settings(args.settings) if args.settings else None
    options = _options(args, sample_rate=args.sample_rate, bit_depth=args.bit_depth,
                       overwrite=args.overwrite)
    bar = _ProgressBar(not args.quiet and not args.json, "mastering")
    try:
        report = master_file(args.input, args.output, settings=settings, predictor=args.predictor,
                             model_path=args.model, target=_target(args), options=options,
                             dry_run=args.dry_run, save_settings=args.save_settings, progress=bar)
    finally:
        bar.close()
    print_report(report, args)
    if args.dry_run and not (args.json or args.quiet):
        print(report.settings.to_json())
    return EXIT_OK


def print_report(report, args: argparse.Namespace) -> None:
    """The whole report as JSON with ``--json``, else the human summary unless ``--quiet``."""
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    elif not args.quiet:
        print(report.summary())


def cmd_analyze(args: argparse.Namespace) -> int:
    from mixai.analysis.measure import analyze

    print(json.dumps(analyze(args.input, sample_rate=args.sample_rate).to_dict(), indent=2))
    return EXIT_OK


def cmd_suggest(args: argparse.Namespace) -> int:
    from mixai.master.pipeline import suggestion

    found = suggestion(args.input, target=_target(args), predictor=args.predictor,
                       model_path=args.model, options=_options(args))
    if found.note():  # stderr, so stdout stays a loadable settings file
        print(f"mixai: note: {found.note()}", file=sys.stderr)
    print(found.settings.to_json())
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "master": cmd_master, "analyze": cmd_analyze, "suggest": cmd_suggest}


def main(argv: Sequence[str] | None = None) -> int:
    _load_extra_commands()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from mixai import __version__
        print(f"mixai {__version__}")
        return EXIT_OK
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    from mixai.errors import MixaiError

    try:
        return COMMANDS[args.command](args)
    except MixaiError as exc:
        print(f"mixai {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"mixai {args.command}: interrupted; no partial output was left", file=sys.stderr)
        return EXIT_INTERRUPTED


def _load_extra_commands() -> None:
    """Subcommands that live in their own modules register themselves on import."""
    import importlib

    for module in ("mixai.mix_cli", "mixai.batch_cli"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def register(name: str, add_parser: Callable, run: Callable[[argparse.Namespace], int]) -> None:
    """Add a subcommand from another module: ``add_parser(subparsers)`` and its ``run(args)``."""
    if name not in COMMANDS:
        _EXTRA_COMMANDS.append((name, add_parser))
        COMMANDS[name] = run


if __name__ == "__main__":
    sys.exit(main())
