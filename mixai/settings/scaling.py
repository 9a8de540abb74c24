"""Moving settings toward or onto neutral: ``--amount`` (:func:`scale_settings`) and switching off
stages whose predicted effect is inaudible (:func:`snap_to_neutral`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from mixai.errors import ParameterError
from mixai.settings.schema import HIGHPASS_OFF_HZ, Settings, Stereo


def scale_settings(settings: Settings, amount: float) -> Settings:
    """Move ``amount`` of the way from neutral to ``settings`` (0 = untouched, 1 = as predicted).

    Interpolates in the units an engineer thinks in: dB gains and the compressor ratio (in log),
    width and reverb level linearly; frequencies, Q and times keep their predicted values.
    """
    if not 0.0 <= amount <= 1.0:
        raise ParameterError(f"amount = {amount:g} is outside the allowed range [0, 1]")
    eq = settings.eq

    def band(b: Any) -> Any:
        return dataclasses.replace(b, gain_db=b.gain_db * amount)

    new_eq = dataclasses.replace(
        eq, highpass_hz=float(HIGHPASS_OFF_HZ * (eq.highpass_hz / HIGHPASS_OFF_HZ) ** amount),
        **{name: band(b) for name, b in eq.bands()})
    comp = dataclasses.replace(settings.compressor, ratio=float(settings.compressor.ratio ** amount))
    stereo = Stereo(width=1.0 + (settings.stereo.width - 1.0) * amount)
    reverb = dataclasses.replace(settings.reverb, wet=settings.reverb.wet * amount)
    return dataclasses.replace(settings, eq=new_eq, compressor=comp, stereo=stereo, reverb=reverb)


# Below these, a stage changes nothing audible: predictions this close to neutral switch it off.
NEUTRAL_SNAP = {"gain_db": 0.1, "ratio": 1.05, "wet": 0.01, "width": 0.02, "highpass_hz": 12.0}


def snap_to_neutral(settings: Settings) -> Settings:
    """Turn stages whose predicted effect is inaudible fully off (a network rarely outputs exact
    zeros; a 1.002:1 compressor or a 0.3 % reverb would cost render time for nothing)."""
    eq = settings.eq

    def band(b: Any) -> Any:
        return dataclasses.replace(b, gain_db=0.0) if abs(b.gain_db) < NEUTRAL_SNAP["gain_db"] else b

    new_eq = dataclasses.replace(
        eq, highpass_hz=HIGHPASS_OFF_HZ if eq.highpass_hz < NEUTRAL_SNAP["highpass_hz"] else eq.highpass_hz,
        **{name: band(b) for name, b in eq.bands()})
    comp = settings.compressor
    if comp.ratio < NEUTRAL_SNAP["ratio"]:
        comp = dataclasses.replace(comp, ratio=1.0)
    stereo = Stereo(1.0) if abs(settings.stereo.width - 1.0) < NEUTRAL_SNAP["width"] else settings.stereo
    reverb = settings.reverb
    if reverb.wet < NEUTRAL_SNAP["wet"]:
        reverb = dataclasses.replace(reverb, wet=0.0)
    return dataclasses.replace(settings, eq=new_eq, compressor=comp, stereo=stereo, reverb=reverb)


__all__ = ["scale_settings", "NEUTRAL_SNAP", "snap_to_neutral"]
