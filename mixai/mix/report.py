"""What a mix did: each stem as read and where it ended up, the settings of the whole mix, the
master report of the sum (text summary and JSON)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mixai.master.report import MasterReport
from mixai.settings.stems import MixSettings


@dataclass
class StemInfo:
    """One stem as read and analysed, and where it ended up in the mix."""

    name: str
    path: str | None
    role: str
    role_from: str                 # "name", "sound" or "settings"
    sample_rate_in: int
    channels: int
    frames: int                    # at the mix rate
    lufs: float = float("-inf")
    features: np.ndarray | None = None
    rel_db_in_mix: float | None = None   # loudness after the strip, relative to the pre-master mix

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "role": self.role, "role_from": self.role_from,
                "sample_rate_in": self.sample_rate_in, "channels": self.channels, "frames": self.frames,
                "lufs": None if not math.isfinite(self.lufs) else round(self.lufs, 3),
                "rel_db_in_mix": None if self.rel_db_in_mix is None else round(self.rel_db_in_mix, 3)}


@dataclass
class MixReport:
    output: str | None
    predictor: str
    stems: list[StemInfo]
    settings: MixSettings
    master: MasterReport | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def after(self) -> dict[str, float]:
        return self.master.after if self.master else {}

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output, "predictor": self.predictor,
                "stems": [s.to_dict() for s in self.stems], "settings": self.settings.to_dict(),
                "master": self.master.to_dict() if self.master else None, "after": self.after,
                "warnings": self.warnings, "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}

    def summary(self) -> str:
        lines = [f"mix of {len(self.stems)} stems (predictor {self.predictor}, "
                 f"{self.settings.sample_rate} Hz)"]
        for info in self.stems:
            s = self.settings.stem(info.name).settings
            comp = "off" if s.compressor.is_neutral else f"{s.compressor.ratio:.1f}:1 @ {s.compressor.threshold_db:.0f} dB"
            eq = "flat" if s.eq.is_neutral else " ".join(f"{b.gain_db:+.1f}" for _, b in s.eq.bands())
            rel = "" if info.rel_db_in_mix is None else f"{info.rel_db_in_mix:+6.1f} dB in mix"
            lufs = f"{info.lufs:6.1f}" if math.isfinite(info.lufs) else "silent"
            lines.append(f"  {info.name:<16.16} {info.role:<8} ({info.role_from:<5}) in {lufs} LUFS  "
                         f"fader {s.gain_db:+6.1f} dB  pan {s.pan:+.2f}  eq {eq}  comp {comp}  "
                         f"send {s.reverb_send:.2f}  {rel}")
        b = self.settings.bus
        lines.append(f"  reverb bus room {b.room_size:.2f} damping {b.damping:.2f} return {b.return_db:+.1f} dB")
        if self.master:
            lines.extend("  " + line for line in self.master.summary().splitlines()[1:])
        if self.output:
            lines.append(f"output  {self.output}")
        return "\n".join(lines)


__all__ = ["StemInfo", "MixReport"]
