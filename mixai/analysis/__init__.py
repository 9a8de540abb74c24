"""Analysis: the streaming pass over a file (:mod:`mixai.analysis.measure`: BS.1770 loudness,
loudness range, true peak, clipping, DC offset) and the versioned feature vector the predictors
read (:mod:`mixai.analysis.features`, librosa).

The names below are the ones ``mixai.analysis`` always offered, so ``from mixai.analysis import
analyze`` keeps working.
"""

from mixai.analysis.features import BAND_EDGES_HZ, FEATURE_NAMES, ExcerptSampler, Features, extract
from mixai.analysis.measure import (CLIP_LEVEL, CLIP_RUN, Analysis, AnalysisAccumulator, Progress, analyze,
                                    analyze_array, count_clipped_runs)

__all__ = ["Analysis", "AnalysisAccumulator", "Progress", "CLIP_LEVEL", "CLIP_RUN", "count_clipped_runs",
           "analyze", "analyze_array", "FEATURE_NAMES", "BAND_EDGES_HZ", "ExcerptSampler", "Features",
           "extract"]
