"""Deprecated: moved to :mod:`mixai.dsp.limiter`. This module only re-exports its names."""

from mixai.compat import moved
from mixai.dsp.limiter import (MAX_MARGIN_DB, RELEASE_SEGMENT, SAFETY_MARGIN_DB, PeakEnvelope, TruePeakLimiter,
                               db_to_gain)

moved(__name__, "mixai.dsp.limiter")

__all__ = ["MAX_MARGIN_DB", "RELEASE_SEGMENT", "SAFETY_MARGIN_DB", "PeakEnvelope", "TruePeakLimiter",
           "db_to_gain"]
