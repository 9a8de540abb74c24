"""Deprecated: split into :mod:`mixai.dsp.loudness` (BS.1770 loudness), :mod:`mixai.dsp.truepeak`
(true peak) and :mod:`mixai.dsp.streaming` (the shared streaming pieces).

This module only re-exports those names so old imports keep working.
"""

from mixai.compat import moved
from mixai.dsp.loudness import (ABSOLUTE_GATE_LUFS, LRA_RELATIVE_GATE_LU, RELATIVE_GATE_LU, SILENCE_LUFS,
                                LoudnessMeter, db_to_gain, gain_to_db, integrated_lufs, k_weighting_sos)
from mixai.dsp.streaming import SUB_BLOCK, GroupReducer, compiled, stage_pool
from mixai.dsp.truepeak import (FFT_FRAME, FFT_SHARE, OVERSAMPLING, TruePeakDetector, TruePeakMeter,
                                true_peak_dbtp)

moved(__name__, "mixai.dsp.loudness, mixai.dsp.truepeak and mixai.dsp.streaming")

__all__ = ["ABSOLUTE_GATE_LUFS", "LRA_RELATIVE_GATE_LU", "RELATIVE_GATE_LU", "SILENCE_LUFS", "LoudnessMeter",
           "db_to_gain", "gain_to_db", "integrated_lufs", "k_weighting_sos", "SUB_BLOCK", "GroupReducer",
           "compiled", "stage_pool", "FFT_FRAME", "FFT_SHARE", "OVERSAMPLING", "TruePeakDetector",
           "TruePeakMeter", "true_peak_dbtp"]
