"""Settings: the schema of the mastering chain with ranges and units (:mod:`mixai.settings.schema`),
delivery presets (:mod:`mixai.settings.presets`), the stems' and the mix's settings
(:mod:`mixai.settings.stems`) and the helpers that scale or snap settings toward neutral
(:mod:`mixai.settings.scaling`).

The names below are the ones ``mixai.settings`` always offered, so ``from mixai.settings import
Settings`` keeps working.
"""

from mixai.settings.scaling import NEUTRAL_SNAP, apply_amounts, scale_aspects, scale_settings, snap_to_neutral
from mixai.settings.schema import (AMOUNT_ASPECTS, EQ, EQ_BAND_NAMES, HIGHPASS_OFF_HZ, PARAMETER_NAMES, PARAMETERS,
                                   PREDICTED_SECTIONS, SCHEMA_VERSION, Compressor, HighShelf, LowShelf, Output,
                                   Amounts, ParameterSpec, Peak, Reverb, Settings, Stereo, Validated, load_json_file,
                                   load_settings, neutral_settings, parse_json, ranged_field, section_from_dict)

__all__ = ["AMOUNT_ASPECTS", "Amounts", "EQ", "EQ_BAND_NAMES", "HIGHPASS_OFF_HZ", "PARAMETER_NAMES", "PARAMETERS",
           "PREDICTED_SECTIONS", "SCHEMA_VERSION", "Compressor", "HighShelf", "LowShelf", "Output", "ParameterSpec", "Peak", "Reverb",
           "Settings", "Stereo", "Validated", "load_json_file", "load_settings", "neutral_settings", "parse_json",
           "ranged_field", "section_from_dict", "NEUTRAL_SNAP", "scale_settings", "scale_aspects", "apply_amounts",
           "snap_to_neutral"]
