"""Delivery presets: loudness target and true-peak ceiling of common destinations."""

from __future__ import annotations

from dataclasses import dataclass

from mixai.errors import ParameterError


@dataclass(frozen=True)
class Preset:
    name: str
    target_lufs: float
    ceiling_dbtp: float
    description: str


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("spotify", -14.0, -1.0, "Spotify loudness normalisation"),
    Preset("apple", -16.0, -1.0, "Apple Music (Sound Check)"),
    Preset("youtube", -14.0, -1.0, "YouTube"),
    Preset("tidal", -14.0, -1.0, "Tidal"),
    Preset("amazon", -14.0, -2.0, "Amazon Music"),
    Preset("ebu-r128", -23.0, -1.0, "EBU R128 broadcast"),
    Preset("cd", -9.0, -0.3, "loud CD-style master"),
)}
DEFAULT_PRESET = "spotify"


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name.lower()]
    except KeyError:
        raise ParameterError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})") from None


__all__ = ["Preset", "PRESETS", "DEFAULT_PRESET", "get_preset"]
