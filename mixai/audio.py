"""Deprecated: moved to :mod:`mixai.io.audio` (atomic writes: :mod:`mixai.io.atomic`).

This module only re-exports those names so old imports keep working.
"""

from mixai.compat import moved
from mixai.io.audio import (BIT_DEPTHS, BLOCK_SECONDS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, READ_SUFFIXES,
                            WRITE_SUFFIXES, AtomicWriter, AudioInfo, check_output_path, check_sample_rate,
                            load, probe, read_blocks, read_excerpt, save, tpdf_dither)

moved(__name__, "mixai.io.audio")

__all__ = ["BIT_DEPTHS", "BLOCK_SECONDS", "MAX_SAMPLE_RATE", "MIN_SAMPLE_RATE", "READ_SUFFIXES",
           "WRITE_SUFFIXES", "AtomicWriter", "AudioInfo", "check_output_path", "check_sample_rate", "load",
           "probe", "read_blocks", "read_excerpt", "save", "tpdf_dither"]
