"""The user's choices for a master: preset, loudness target, ceiling, how much of the predicted
correction to apply (overall and per aspect), file format, and how to treat a damaged input."""

from __future__ import annotations

from dataclasses import dataclass, replace

from mixai.errors import ParameterError
from mixai.settings.presets import DEFAULT_PRESET, get_preset
from mixai.settings.schema import AMOUNT_ASPECTS, Amounts, Output

# MasterOptions field -> the Amounts field it sets
ASPECT_OPTIONS = {f"{aspect}_amount": aspect for aspect in AMOUNT_ASPECTS}


@dataclass(frozen=True)
class MasterOptions:
    """User choices for the output stage. ``None`` means: from the preset (or the settings file).

    ``amount`` scales every aspect of the correction; ``eq_amount``, ``dynamics_amount``,
    ``reverb_amount`` and ``width_amount`` scale one each, on top of it (all 0..1, default 1).
    ``allow_truncated`` masters what a damaged input holds instead of refusing it.
    """

    target_lufs: float | None = None
    ceiling_dbtp: float | None = None
    preset: str | None = None
    amount: float = 1.0
    sample_rate: int | None = None
    bit_depth: int = 24
    overwrite: bool = False
    eq_amount: float = 1.0
    dynamics_amount: float = 1.0
    reverb_amount: float = 1.0
    width_amount: float = 1.0
    allow_truncated: bool = False

    def output_stage(self, fallback: Output | None = None) -> Output:
        base = fallback
        if self.preset is not None or base is None:
            p = get_preset(self.preset or DEFAULT_PRESET)
            base = Output(target_lufs=p.target_lufs, ceiling_dbtp=p.ceiling_dbtp,
                          limiter_release_ms=(fallback or Output()).limiter_release_ms)
        return replace(base,
                       target_lufs=base.target_lufs if self.target_lufs is None else self.target_lufs,
                       ceiling_dbtp=base.ceiling_dbtp if self.ceiling_dbtp is None else self.ceiling_dbtp)

    def amounts(self) -> Amounts:
        """The per-aspect amounts these options ask for: the overall ``amount`` times each aspect's."""
        for name in ("amount", *ASPECT_OPTIONS):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                shown = f"{value:g}" if isinstance(value, (int, float)) else repr(value)
                raise ParameterError(f"{name} = {shown} is outside the allowed range [0, 1]")
        return Amounts(**{aspect: self.amount * getattr(self, name) for name, aspect in ASPECT_OPTIONS.items()})


__all__ = ["ASPECT_OPTIONS", "MasterOptions"]
