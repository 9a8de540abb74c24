"""Deprecated: moved to :mod:`mixai.settings.presets`. This module only re-exports its names."""

from mixai.compat import moved
from mixai.settings.presets import DEFAULT_PRESET, PRESETS, Preset, get_preset

moved(__name__, "mixai.settings.presets")

__all__ = ["DEFAULT_PRESET", "PRESETS", "Preset", "get_preset"]
