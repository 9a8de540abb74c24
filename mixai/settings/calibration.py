"""How a network's raw answer is tempered before it is used: the do-no-harm step.

A network trained to undo damage answers every input with *some* correction, also where the input
needed none or where it cannot tell what is wrong. A small wrong correction is still harm, so the
learned predictor's settings pass through a :class:`Calibration` chosen on validation data (never
on the test packages) and stored in the model file:

* a **dead band** per EQ band: each band's gain moves ``eq_deadband_db`` toward 0 dB, and a band
  predicted within the dead band is switched off (soft thresholding: confident, large corrections
  survive, small uncertain ones vanish);
* the same for the stereo width (``width_deadband``, in width units around 1);
* an **amount** per aspect (:func:`mixai.settings.scaling.scale_aspects`): the share of the
  remaining correction that is applied.

The identity calibration (all dead bands 0, all amounts 1) changes nothing, so models exported
before calibration existed behave as they did.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

from mixai.errors import ModelError
from mixai.settings.scaling import scale_aspects
from mixai.settings.schema import Settings, Stereo


def _soft_threshold(value: float, threshold: float) -> float:
    return math.copysign(max(abs(value) - threshold, 0.0), value)


@dataclass(frozen=True)
class Calibration:
    """Dead bands and amounts applied to a network's settings (see the module docstring)."""

    eq_deadband_db: float = 0.0
    eq_amount: float = 1.0
    width_deadband: float = 0.0
    width_amount: float = 1.0
    dynamics_amount: float = 1.0
    reverb_amount: float = 1.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"calibration {field.name} must be a finite number, got {value!r}")
            if field.name.endswith("_amount") and not 0.0 <= value <= 1.0:
                raise ValueError(f"calibration {field.name} = {value:g} is outside [0, 1]")
            if field.name.endswith("_deadband") or field.name.endswith("_deadband_db"):
                if value < 0.0:
                    raise ValueError(f"calibration {field.name} = {value:g} is negative")

    @property
    def is_identity(self) -> bool:
        return self == Calibration()

    def apply(self, settings: Settings) -> Settings:
        """``settings`` with the dead bands, then the amounts, applied."""
        if self.is_identity:
            return settings
        eq = settings.eq
        bands = {name: dataclasses.replace(band, gain_db=_soft_threshold(band.gain_db, self.eq_deadband_db))
                 for name, band in eq.bands()}
        width = 1.0 + _soft_threshold(settings.stereo.width - 1.0, self.width_deadband)
        tempered = dataclasses.replace(settings, eq=dataclasses.replace(eq, **bands), stereo=Stereo(width=width))
        return scale_aspects(tempered, eq=self.eq_amount, dynamics=self.dynamics_amount,
                             reverb=self.reverb_amount, width=self.width_amount)

    # --- the model file's metadata ---------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Calibration":
        """Strict: unknown or malformed fields are a :class:`~mixai.errors.ModelError`."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
            if unknown:
                raise ValueError(f"unknown fields {', '.join(sorted(unknown))}")
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise ModelError(f"malformed calibration metadata ({exc})") from None


__all__ = ["Calibration"]
