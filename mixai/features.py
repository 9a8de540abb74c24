"""Deprecated: moved to :mod:`mixai.analysis.features`. This module only re-exports its names."""

from mixai.analysis.features import (BAND_EDGES_HZ, BAND_FLOOR_DB, DC_OFFSET_LIMIT, EXCERPT_MAX_SECONDS,
                                     FEATURE_COUNT, FEATURE_NAMES, FEATURE_VERSION, FRAME_SECONDS,
                                     ExcerptSampler, Features, dc_offset, extract, offset_above_limit, preload)
from mixai.compat import moved

moved(__name__, "mixai.analysis.features")

__all__ = ["BAND_EDGES_HZ", "BAND_FLOOR_DB", "DC_OFFSET_LIMIT", "EXCERPT_MAX_SECONDS", "FEATURE_COUNT",
           "FEATURE_NAMES", "FEATURE_VERSION", "FRAME_SECONDS", "ExcerptSampler", "Features", "dc_offset",
           "extract", "offset_above_limit", "preload"]
