"""Deprecated: moved to :mod:`mixai.cli.mix`. This module only re-exports its names."""

from mixai.cli.mix import add_parser, run
from mixai.compat import moved

moved(__name__, "mixai.cli.mix")

__all__ = ["add_parser", "run"]
