"""Settings for mixing: the roles, per-stem settings, the reverb bus and the whole-mix settings file.

A stem's chain (see :mod:`mixai.mix.render`)::

    trim to the working reference (-20 LUFS) -> EQ -> compressor -> fader (gain_db) -> pan
        -> to the stereo sum, and (post-fader) ``reverb_send`` of it to the shared reverb bus

The bus is one pedalboard ``Reverb`` (fully wet) whose return is added to the sum; the sum is then
mastered exactly as ``mixai master`` does it, with the mastering
:class:`mixai.settings.schema.Settings`.

Everything a mix needs to be reproduced is one JSON document (:class:`MixSettings`), versioned and
read strictly (unknown keys, out-of-range values and a wrong schema version are errors), built on the
same range-declaring dataclasses as the mastering settings.

The stem network's outputs are declared here too (:data:`STEM_OUTPUTS`): per stem, the loudness it
should have relative to the mix, corrective gains of five EQ bands at fixed frequencies, compressor
threshold and ratio, pan and reverb send, each mapped to [0, 1].
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mixai.errors import ParameterError
from mixai.settings.schema import (EQ, Compressor, HighShelf, LowShelf, ParameterSpec, Peak, Settings,
                                   Validated, load_json_file, parse_json, ranged_field, section_from_dict)

MIX_SCHEMA_VERSION = 1
MIX_KIND = "mixai-mix"

# "backing": a submix of the band handed over as one stem (a game or karaoke backing track).
ROLES: tuple[str, ...] = ("vocals", "drums", "bass", "keys", "guitar", "strings", "other", "backing")

# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StemSettings(Validated):
    """One stem's channel strip. ``trim_db`` brings the raw stem to the working reference
    (-20 LUFS, measured when the settings were made) so compressor thresholds mean the same on
    every stem; ``gain_db`` is the fader after EQ and compression."""

    trim_db: float = ranged_field(0.0, -80.0, 80.0, "lin", "raw stem -> -20 LUFS reference")
    eq: EQ = field(default_factory=EQ)
    compressor: Compressor = field(default_factory=Compressor)
    gain_db: float = ranged_field(0.0, -60.0, 30.0, "lin", "fader")
    pan: float = ranged_field(0.0, -1.0, 1.0, "lin", "-1 left, +1 right; mono stems: constant power")
    reverb_send: float = ranged_field(0.0, 0.0, 1.0, "lin", "post-fader send level (linear) to the bus")
    mute: bool = False


@dataclass(frozen=True)
class ReverbBus(Validated):
    """The shared reverb: pedalboard ``Reverb`` fully wet (dry 0, wet 1, freeze off)."""

    room_size: float = ranged_field(0.45, 0.0, 1.0)
    damping: float = ranged_field(0.5, 0.0, 1.0)
    width: float = ranged_field(1.0, 0.0, 1.0)
    return_db: float = ranged_field(-6.0, -60.0, 6.0, "lin", "level of the bus added to the mix")


@dataclass(frozen=True)
class StemEntry:
    name: str
    role: str
    settings: StemSettings = field(default_factory=StemSettings)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError("mix settings: every stem needs a non-empty name")
        if self.role not in ROLES:
            raise ParameterError(f"stem {self.name!r}: unknown role {self.role!r} "
                                 f"(allowed: {', '.join(ROLES)})")


@dataclass(frozen=True)
class MixSettings:
    """All stems' settings, the reverb bus and the mastering settings of the sum."""

    stems: tuple[StemEntry, ...]
    bus: ReverbBus = field(default_factory=ReverbBus)
    master: Settings = field(default_factory=Settings)
    sample_rate: int = 44100

    def stem(self, name: str) -> StemEntry:
        for s in self.stems:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": MIX_SCHEMA_VERSION, "kind": MIX_KIND, "sample_rate": self.sample_rate,
            "stems": [{"name": s.name, "role": s.role, **dataclasses.asdict(s.settings)} for s in self.stems],
            "bus": dataclasses.asdict(self.bus),
            "master": self.master.to_dict(),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> "MixSettings":
        if not isinstance(data, dict):
            raise ParameterError("mix settings must be a JSON object")
        data = dict(data)
        version = data.pop("schema_version", None)
        if version != MIX_SCHEMA_VERSION:
            raise ParameterError(f"mix settings schema_version is {version!r}; this mixai reads "
                                 f"version {MIX_SCHEMA_VERSION}")
        kind = data.pop("kind", None)
        if kind != MIX_KIND:
            raise ParameterError(f"not a mix settings file (kind {kind!r}, expected {MIX_KIND!r}); "
                                 "mastering settings go to 'mixai master --settings'")
        unknown = sorted(set(data) - {"sample_rate", "stems", "bus", "master"})
        if unknown:
            raise ParameterError(f"unknown key mix.{unknown[0]} (allowed: sample_rate, stems, bus, master)")
        rate = data.get("sample_rate", 44100)
        if isinstance(rate, bool) or not isinstance(rate, int) or not 8000 <= rate <= 192000:
            raise ParameterError(f"mix.sample_rate must be an integer 8000..192000, got {rate!r}")
        raw_stems = data.get("stems")
        if not isinstance(raw_stems, list) or not raw_stems:
            raise ParameterError("mix.stems must be a non-empty list")
        stems = []
        for i, item in enumerate(raw_stems):
            if not isinstance(item, dict):
                raise ParameterError(f"mix.stems[{i}] must be an object")
            item = dict(item)
            name, role = item.pop("name", None), item.pop("role", None)
            mute = item.pop("mute", False)
            if not isinstance(mute, bool):
                raise ParameterError(f"mix.stems[{i}].mute must be true or false")
            strip = section_from_dict(StemSettings, item, f"mix.stems[{i}]")
            stems.append(StemEntry(name, role, dataclasses.replace(strip, mute=mute)))
        names = [s.name for s in stems]
        if len(set(names)) != len(names):
            raise ParameterError("mix.stems: stem names must be unique")
        bus = section_from_dict(ReverbBus, _dict(data.get("bus", {}), "mix.bus"), "mix.bus")
        master = Settings.from_dict(data.get("master", {"schema_version": 1}))
        return cls(tuple(stems), bus, master, rate)

    @classmethod
    def from_json(cls, text: str) -> "MixSettings":
        return cls.from_dict(parse_json(text, "mix settings"))


def _dict(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ParameterError(f"{where} must be an object")
    return value


def load_mix_settings(path: str) -> MixSettings:
    return load_json_file(path, MixSettings.from_json)


# --- the stem network's output schema ---------------------------------------------------------

# Corrective EQ works at fixed frequencies (the stem damage in training uses the same ones).
EQ_BANDS = (("low_shelf", 100.0), ("low_mid", 250.0), ("mid", 1000.0), ("high_mid", 4000.0),
            ("high_shelf", 8000.0))
EQ_BAND_Q = 1.0

STEM_OUTPUTS: tuple[ParameterSpec, ...] = (
    ParameterSpec("target_rel_db", -30.0, 6.0, "lin", -8.0),
    *(ParameterSpec(f"eq.{name}.gain_db", -12.0, 12.0, "lin", 0.0) for name, _ in EQ_BANDS),
    ParameterSpec("compressor.threshold_db", -40.0, 0.0, "lin", 0.0),
    ParameterSpec("compressor.ratio", 1.0, 10.0, "log", 1.0),
    ParameterSpec("pan", -1.0, 1.0, "lin", 0.0),
    ParameterSpec("reverb_send", 0.0, 1.0, "lin", 0.0),
)
STEM_OUTPUT_NAMES: tuple[str, ...] = tuple(s.name for s in STEM_OUTPUTS)

# Attack/release by role (the network sets how much, the role sets how fast).
ROLE_COMP_TIMES_MS = {"drums": (5.0, 120.0), "bass": (20.0, 200.0), "vocals": (10.0, 150.0)}
DEFAULT_COMP_TIMES_MS = (15.0, 200.0)


def stem_output_metadata() -> list[dict]:
    return [{"name": s.name, "low": s.low, "high": s.high, "scale": s.scale} for s in STEM_OUTPUTS]


def decode_outputs(unit: np.ndarray) -> dict[str, float]:
    """A [0, 1] output row -> named values in their units."""
    unit = np.asarray(unit, dtype=np.float64).reshape(-1)
    if unit.shape[0] != len(STEM_OUTPUTS):
        raise ParameterError(f"stem output has {unit.shape[0]} values, expected {len(STEM_OUTPUTS)}")
    return {s.name: s.from_unit(float(u)) for s, u in zip(STEM_OUTPUTS, unit)}


def encode_outputs(values: dict[str, float]) -> np.ndarray:
    return np.array([min(1.0, max(0.0, s.to_unit(float(values[s.name])))) for s in STEM_OUTPUTS],
                    dtype=np.float32)


def eq_from_gains(gains_db: dict[str, float], *, highpass_hz: float = 10.0) -> EQ:
    """An EQ with the fixed corrective frequencies and these band gains (dB, rounded to 0.01)."""
    def g(name: str) -> float:
        return float(np.clip(round(gains_db.get(name, 0.0), 2), -12.0, 12.0))

    freqs = dict(EQ_BANDS)
    return EQ(highpass_hz=highpass_hz,
              low_shelf=LowShelf(freqs["low_shelf"], g("low_shelf")),
              low_mid=Peak(freqs["low_mid"], g("low_mid"), EQ_BAND_Q),
              mid=Peak(freqs["mid"], g("mid"), EQ_BAND_Q),
              high_mid=Peak(freqs["high_mid"], g("high_mid"), EQ_BAND_Q),
              high_shelf=HighShelf(freqs["high_shelf"], g("high_shelf")))


def compressor_for(role: str, threshold_db: float, ratio: float) -> Compressor:
    if ratio < 1.05:
        return Compressor()
    attack, release = ROLE_COMP_TIMES_MS.get(role, DEFAULT_COMP_TIMES_MS)
    return Compressor(threshold_db=float(np.clip(round(threshold_db, 2), -40.0, 0.0)),
                      ratio=float(np.clip(round(ratio, 3), 1.0, 10.0)), attack_ms=attack, release_ms=release)


__all__ = ["ROLES", "StemSettings", "ReverbBus", "StemEntry", "MixSettings", "load_mix_settings", "EQ_BANDS",
           "EQ_BAND_Q", "STEM_OUTPUTS", "STEM_OUTPUT_NAMES", "ROLE_COMP_TIMES_MS", "DEFAULT_COMP_TIMES_MS",
           "stem_output_metadata", "decode_outputs", "encode_outputs", "eq_from_gains", "compressor_for",
           "MIX_SCHEMA_VERSION", "MIX_KIND"]
