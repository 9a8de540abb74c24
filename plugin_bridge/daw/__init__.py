"""DAW adapters: a :class:`mixai.settings.Settings` object -> the OSC messages that set a DAW's own
plugins to the same values.

Every adapter exposes ``NAME``, ``DEFAULT_PORT``, ``OPTIONS`` (option name -> (type, default, doc))
and ``messages(settings, *, track, input_lufs, options) -> list[(address, [args])]``. The adapters
are pure functions: the bridge sends what they return over UDP, and the tests compare it exactly.

About levels: mixai's compressor threshold is in dBFS *inside the chain*, where the programme has
been levelled to -20 LUFS (:data:`mixai.dsp.chain.REFERENCE_LUFS`). A plugin on the DAW track sees the
track at its own level, so adapters that set a threshold add ``input_lufs - (-20)`` to it (when the
input loudness is known; otherwise the track is assumed to sit at -20 LUFS).
"""

from __future__ import annotations

import importlib
import math
from types import ModuleType
from typing import Any

REFERENCE_LUFS = -20.0  # mixai.dsp.chain.REFERENCE_LUFS (not imported: it pulls in the DSP modules)

ADAPTERS = ("reaper", "ardour", "generic")

Message = tuple[str, list[Any]]


def get_adapter(name: str) -> ModuleType:
    if name not in ADAPTERS:
        raise ValueError(f"unknown DAW {name!r} (choose from {', '.join(ADAPTERS)})")
    return importlib.import_module(f"plugin_bridge.daw.{name}")


def track_threshold_db(threshold_db: float, input_lufs: float | None) -> float:
    """The chain's threshold moved to the level the track really has."""
    if input_lufs is None or not math.isfinite(input_lufs):
        return float(threshold_db)
    return float(threshold_db + (input_lufs - REFERENCE_LUFS))


def q_to_octaves(q: float) -> float:
    """Bandwidth in octaves of a peaking band with quality factor ``q`` (RBJ cookbook relation)."""
    return float(2.0 / math.log(2.0) * math.asinh(1.0 / (2.0 * q)))


def clamp(x: float, low: float, high: float) -> float:
    return float(min(high, max(low, x)))


def check_options(adapter: ModuleType, options: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults and validate the adapter-specific options; raises ValueError.

    An option's kind is ``int`` (0..1024: slots, positions, indices), a ``range`` of allowed
    integers, or a tuple of allowed values.
    """
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key not in adapter.OPTIONS:
            raise ValueError(f"unknown option {key!r} for {adapter.NAME} "
                             f"(allowed: {', '.join(adapter.OPTIONS) or 'none'})")
    for key, (kind, default, _doc) in adapter.OPTIONS.items():
        value = options.get(key, default)
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
                    or not 0 <= value <= 1024:
                raise ValueError(f"option {key!r} must be an integer from 0 to 1024")
            value = int(value)
        elif isinstance(kind, range):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
                    or int(value) not in kind:
                raise ValueError(f"option {key!r} must be an integer from {kind.start} to {kind.stop - 1}")
            value = int(value)
        elif isinstance(kind, tuple):
            if value not in kind:
                raise ValueError(f"option {key!r} must be one of {', '.join(map(str, kind))}")
        out[key] = value
    return out


__all__ = ["ADAPTERS", "get_adapter", "check_options", "track_threshold_db", "q_to_octaves", "clamp"]
