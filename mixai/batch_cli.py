"""Deprecated: moved to :mod:`mixai.cli.batch`. This module only re-exports its names."""

from mixai.cli.batch import add_parser, run
from mixai.compat import moved

moved(__name__, "mixai.cli.batch")

__all__ = ["add_parser", "run"]
