"""Mixing: stems in (:mod:`~mixai.mix.sources`), a role each (:mod:`~mixai.mix.roles`), a channel
strip each from the stem network or rules of thumb (:mod:`~mixai.mix.model`, :mod:`~mixai.mix.plan`),
the sum with one reverb bus (:mod:`~mixai.mix.render`), mastered like ``mixai master``; the path
through them is :mod:`~mixai.mix.mixer`, the report :mod:`~mixai.mix.report`.

The names below are the ones ``mixai.mix`` always offered, so ``from mixai.mix import mix_files``
keeps working.
"""

from mixai.mix.mixer import mix_arrays, mix_files
from mixai.mix.model import STEMS_MODEL_ENV, STEMS_MODEL_FILENAME, StemModel, default_stems_model_path
from mixai.mix.plan import DSP_ROLE_OFFSET_DB, ROLE_CENTRED, ROLE_REVERB_SEND, SILENT_LUFS
from mixai.mix.report import MixReport, StemInfo
from mixai.mix.sources import FEATURE_MAX_SECONDS, MixWarning, collect_stem_paths
from mixai.settings.stems import STEM_OUTPUT_NAMES

__all__ = ["mix_files", "mix_arrays", "MixReport", "StemInfo", "StemModel", "MixWarning", "collect_stem_paths",
           "STEM_OUTPUT_NAMES", "STEMS_MODEL_ENV", "STEMS_MODEL_FILENAME", "default_stems_model_path",
           "DSP_ROLE_OFFSET_DB", "ROLE_CENTRED", "ROLE_REVERB_SEND", "SILENT_LUFS", "FEATURE_MAX_SECONDS"]
