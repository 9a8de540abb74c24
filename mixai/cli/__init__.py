"""The ``mixai`` command line: one module per command (:mod:`~mixai.cli.master`,
:mod:`~mixai.cli.analyze`, :mod:`~mixai.cli.suggest`, :mod:`~mixai.cli.mix`,
:mod:`~mixai.cli.batch`), the options they share (:mod:`~mixai.cli.options`) and the parser and
dispatch (:mod:`~mixai.cli.app`). ``mixai.cli:main`` is the ``mixai`` entry point.

The names below are the ones ``mixai.cli`` always offered, so ``from mixai.cli import main`` keeps
working.
"""

from mixai.cli.analyze import run as cmd_analyze
from mixai.cli.app import COMMANDS, build_parser, main
from mixai.cli.master import run as cmd_master
from mixai.cli.options import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PRESET_HELP, print_report
from mixai.cli.suggest import run as cmd_suggest

__all__ = ["main", "build_parser", "COMMANDS", "print_report", "cmd_master", "cmd_analyze", "cmd_suggest",
           "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_INTERRUPTED", "PRESET_HELP"]
