"""Deprecated: moved to :mod:`mixai.io.framestore`. This module only re-exports its names."""

from mixai.compat import moved
from mixai.io.framestore import MEMORY_LIMIT_BYTES, FrameStore, default_temp_dir

moved(__name__, "mixai.io.framestore")

__all__ = ["MEMORY_LIMIT_BYTES", "FrameStore", "default_temp_dir"]
