"""Deprecated: the mastering path moved to :mod:`mixai.master` (``pipeline``, ``options``,
``report``, ``source``, ``render``, ``gain``, ``final``) and the atomic text writer to
:mod:`mixai.io.atomic`. This module only re-exports those names so old imports keep working.
"""

from mixai.compat import moved
from mixai.io.atomic import write_text_atomic
from mixai.master.final import LOUDNESS_TOLERANCE_LU
from mixai.master.gain import MAX_MAKEUP_GAIN_DB
from mixai.master.options import MasterOptions
from mixai.master.pipeline import master_array, master_file, suggest, suggestion
from mixai.master.render import ENVELOPE_HEADROOM_DB, SubBlockPower
from mixai.master.report import OUT_OF_PHASE_CORRELATION, MasterReport, Suggestion, trust_note

moved(__name__, "mixai.master")

__all__ = ["MasterOptions", "MasterReport", "Suggestion", "master_file", "master_array", "suggest",
           "suggestion", "trust_note", "write_text_atomic", "LOUDNESS_TOLERANCE_LU", "MAX_MAKEUP_GAIN_DB",
           "ENVELOPE_HEADROOM_DB", "OUT_OF_PHASE_CORRELATION", "SubBlockPower"]
