"""``mixai``: the argument parser built from the command modules, and dispatch.

Every command is a module of this package with ``NAME``, ``add_parser(subparsers)`` and
``run(args) -> exit status``; :data:`COMMAND_MODULES` lists them, in the order ``--help`` shows
them. Heavy imports wait until after parsing so that ``--help`` answers at once. Deliberate errors
(:class:`~mixai.errors.MixaiError`, and any OS error the library did not name itself) print one
line and exit 1; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from mixai.cli import analyze, batch, master, mix, suggest
from mixai.cli.options import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

COMMAND_MODULES = (master, analyze, suggest, mix, batch)
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {m.NAME: m.run for m in COMMAND_MODULES}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixai", description="Automatic mastering: analyse a track, predict EQ, compression "
        "and reverb settings, apply them, hit a loudness target under a true-peak ceiling.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from mixai import __version__
        print(f"mixai {__version__}")
        return EXIT_OK
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    from mixai.allocator import keep_freed_memory
    from mixai.errors import MixaiError

    keep_freed_memory()  # this process is mixai's: its audio buffers are reused, not re-faulted
    try:
        return COMMANDS[args.command](args)
    except MixaiError as exc:
        print(f"mixai {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"mixai {args.command}: interrupted; no partial output was left", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # the system refused something the library did not name itself
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"mixai {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR


__all__ = ["COMMAND_MODULES", "COMMANDS", "build_parser", "main"]
