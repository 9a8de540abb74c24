"""Deprecated: moved to :mod:`mixai.settings.stems` (the stem and mix settings, the stem network's
output schema), :mod:`mixai.mix.roles` and :mod:`mixai.mix.model` (the network's input layout).
This module only re-exports those names so old imports keep working."""

from mixai.compat import moved
from mixai.mix.model import MODEL_INPUT_VERSION, model_input, model_input_names
from mixai.mix.roles import role_from_name, role_from_sound, role_one_hot
from mixai.settings.stems import (DEFAULT_COMP_TIMES_MS, EQ_BAND_Q, EQ_BANDS, MIX_KIND, MIX_SCHEMA_VERSION,
                                  ROLE_COMP_TIMES_MS, ROLES, STEM_OUTPUT_NAMES, STEM_OUTPUTS, MixSettings, ReverbBus,
                                  StemEntry, StemSettings, compressor_for, decode_outputs, encode_outputs,
                                  eq_from_gains, load_mix_settings, stem_output_metadata)

moved(__name__, "mixai.settings.stems, mixai.mix.roles and mixai.mix.model")

__all__ = ["DEFAULT_COMP_TIMES_MS", "EQ_BAND_Q", "EQ_BANDS", "MIX_KIND", "MIX_SCHEMA_VERSION", "MODEL_INPUT_VERSION",
           "ROLE_COMP_TIMES_MS", "ROLES", "STEM_OUTPUT_NAMES", "STEM_OUTPUTS", "MixSettings", "ReverbBus", "StemEntry",
           "StemSettings", "compressor_for", "decode_outputs", "encode_outputs", "eq_from_gains", "load_mix_settings",
           "model_input", "model_input_names", "role_from_name", "role_from_sound", "role_one_hot",
           "stem_output_metadata"]
