"""Moving settings toward or onto neutral: ``--amount`` and the per-aspect amounts
(:func:`scale_settings`, :func:`scale_aspects`, :func:`apply_amounts`) and switching off stages
whose predicted effect is inaudible (:func:`snap_to_neutral`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from mixai.errors import ParameterError
from mixai.settings.schema import AMOUNT_ASPECTS, HIGHPASS_OFF_HZ, Amounts, Settings, Stereo


def _check(amount: float, name: str) -> float:
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0.0 <= amount <= 1.0:
        shown = f"{amount:g}" if isinstance(amount, (int, float)) else repr(amount)
        raise ParameterError(f"{name} = {shown} is outside the allowed range [0, 1]")
    return float(amount)


def scale_aspects(settings: Settings, *, eq: float = 1.0, dynamics: float = 1.0, reverb: float = 1.0,
                  width: float = 1.0) -> Settings:
    """Move each aspect that far from neutral toward ``settings`` (0 = untouched, 1 = as given).

    Interpolates in the units an engineer thinks in: dB gains and the compressor ratio (in log),
    the high-pass frequency in log above its 10 Hz "off", width and reverb level linearly;
    frequencies, Q, threshold and times keep their values. Scalings compose by multiplying:
    scaling by a and then by b is scaling by a * b. ``settings.amounts`` is left as it is.
    """
    eq, dynamics = _check(eq, "eq amount"), _check(dynamics, "dynamics amount")
    reverb, width = _check(reverb, "reverb amount"), _check(width, "width amount")
    e = settings.eq

    def band(b: Any) -> Any:
        return dataclasses.replace(b, gain_db=b.gain_db * eq)

    new_eq = dataclasses.replace(
        e, highpass_hz=float(HIGHPASS_OFF_HZ * (e.highpass_hz / HIGHPASS_OFF_HZ) ** eq),
        **{name: band(b) for name, b in e.bands()})
    comp = dataclasses.replace(settings.compressor, ratio=float(settings.compressor.ratio ** dynamics))
    stereo = Stereo(width=1.0 + (settings.stereo.width - 1.0) * width)
    rev = dataclasses.replace(settings.reverb, wet=settings.reverb.wet * reverb)
    return dataclasses.replace(settings, eq=new_eq, compressor=comp, stereo=stereo, reverb=rev)


def scale_settings(settings: Settings, amount: float) -> Settings:
    """Every aspect scaled by one ``amount`` (see :func:`scale_aspects`)."""
    amount = _check(amount, "amount")
    return scale_aspects(settings, **{aspect: amount for aspect in AMOUNT_ASPECTS})


def apply_amounts(settings: Settings) -> Settings:
    """The settings the chain actually runs: each section scaled by its amount in
    ``settings.amounts``, which are then all 1. What the pedalboard chain, the report's summary
    and the DAW adapters use."""
    amounts = settings.amounts
    if amounts.is_full:
        return settings
    scaled = scale_aspects(settings, **{aspect: getattr(amounts, aspect) for aspect in AMOUNT_ASPECTS})
    return dataclasses.replace(scaled, amounts=Amounts())


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


__all__ = ["scale_aspects", "scale_settings", "apply_amounts", "NEUTRAL_SNAP", "snap_to_neutral"]
