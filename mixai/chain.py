"""Deprecated: moved to :mod:`mixai.dsp.chain`. This module only re-exports its names."""

from mixai.compat import moved
from mixai.dsp.chain import REFERENCE_LUFS, ChainRenderer, apply_width, build_boards, render

moved(__name__, "mixai.dsp.chain")

__all__ = ["REFERENCE_LUFS", "ChainRenderer", "apply_width", "build_boards", "render"]
