"""The user's choices for a master's output stage: preset, loudness target, ceiling, amount, file format."""

from __future__ import annotations

from dataclasses import dataclass, replace

from mixai.settings.presets import DEFAULT_PRESET, get_preset
from mixai.settings.schema import Output


@dataclass(frozen=True)
class MasterOptions:
    """User choices for the output stage. ``None`` means: from the preset (or the settings file)."""

    target_lufs: float | None = None
    ceiling_dbtp: float | None = None
    preset: str | None = None
    amount: float = 1.0
    sample_rate: int | None = None
    bit_depth: int = 24
    overwrite: bool = False

    def output_stage(self, fallback: Output | None = None) -> Output:
        base = fallback
        if self.preset is not None or base is None:
            p = get_preset(self.preset or DEFAULT_PRESET)
            base = Output(target_lufs=p.target_lufs, ceiling_dbtp=p.ceiling_dbtp,
                          limiter_release_ms=(fallback or Output()).limiter_release_ms)
        return replace(base,
                       target_lufs=base.target_lufs if self.target_lufs is None else self.target_lufs,
                       ceiling_dbtp=base.ceiling_dbtp if self.ceiling_dbtp is None else self.ceiling_dbtp)


__all__ = ["MasterOptions"]
