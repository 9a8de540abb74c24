"""One exception root for everything mixai raises on purpose.

Callers (the CLI, the OSC bridge, batch jobs) catch :class:`MixaiError` and turn it into a one-line
message; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class MixaiError(Exception):
    """Root of all errors mixai raises deliberately."""


class InputError(MixaiError):
    """An input file or folder cannot be used (missing, unreadable, empty, silent, NaN, 3+ channels...)."""


class OutputError(MixaiError):
    """An output cannot be written where asked (exists, same as input, folder missing...)."""


class ParameterError(MixaiError):
    """A setting or option is out of range, unknown, or of the wrong type."""


class ModelError(MixaiError):
    """The ONNX model is missing, unreadable, or does not match this version of the code."""
