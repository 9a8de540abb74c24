"""A stem's role (vocals, drums, bass, keys, guitar, strings, other, backing): from its file name, or
from its sound when the name says nothing (the role classifier of :mod:`mixai.predict.roles`, or
simple rules without it); the role list itself is part of the mix settings schema
(:data:`mixai.settings.stems.ROLES`)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from mixai.settings.stems import ROLES

# File-name patterns, tried in this order (so "bass drum" is drums and "bassoon" is not bass).
_ROLE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("drums", r"drum|kick|snare|hats?\b|hihat|hi_hat|cymbal|perc|overhead|\boh\b|toms?\b|clap|808|beat"),
    ("vocals", r"vocal|vox|voice|sing|choir|\bbv\b|\blead\b|\bld\b|\bvo\b"),
    ("bass", r"bass(?!oon)|\bsub\b|\bbs\b"),
    ("keys", r"key|piano|organ|synth|rhodes|wurli|\bep\b|pad|harpsi|clav"),
    ("guitar", r"guitar|gtr|\bgt\b|acoustic|strat|\bele?c\b"),
    ("strings", r"string|violin|viola|cello|\bstr\b|quartet|orchestra"),
    ("other", r"other|fx|sfx|brass|horn|sax|trumpet|trombone|flute|clarinet|oboe|bassoon|accordion|"
              r"vibraphone|marimba|misc"),
    # A submix of the band (karaoke, "minus one" and game backing tracks; Frets on Fire's song.ogg).
    ("backing", r"backing|back ?track|\bsong\b|instrumental|\binst\b|karaoke|playback|minus ?one|\bbed\b"),
)


def role_from_name(name: str) -> str | None:
    """The role a file name announces (``Lead Vox.wav`` -> vocals), or None when it says nothing."""
    text = re.sub(r"[^a-z0-9]+", " ", name.lower())
    text = re.sub(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])", " ", text)  # "gtr2" -> "gtr 2"
    for role, pattern in _ROLE_PATTERNS:
        if role in ROLES and re.search(pattern, text):
            return role
    return None


def role_from_sound(features: Any, mix_features: Any = None) -> str:
    """The role of a stem whose name says nothing, from its features and those of the plain sum
    of all the song's stems (``None``: the stem alone is the mix).

    The shipped role classifier (:func:`mixai.predict.roles.classify`) decides when it is
    installed; otherwise :func:`role_from_rules`.
    """
    from mixai.predict.roles import classify

    stem = np.asarray(getattr(features, "values", features), dtype=np.float32)
    mix = None if mix_features is None else np.asarray(getattr(mix_features, "values", mix_features), np.float32)
    guess = classify(stem, mix)
    if guess is not None:
        return guess.role
    from mixai.analysis.features import Features

    return role_from_rules(features if isinstance(features, Features) else Features(stem))


def role_from_rules(features: Any) -> str:
    """A role from simple feature rules (the fallback without the role classifier).

    Drums: noise-like (spectral flatness above -10 dB) and bright (centroid above 3 kHz).
    Bass: most of the energy below 250 Hz (over 85 %, or over 50 % with a centroid under 700 Hz).
    Anything else is ``other``: the features cannot tell melodic families apart reliably.
    (Thresholds read off the rendered corpus' stems.)
    """
    bands = features.bands_db()
    low = float(np.sum(10.0 ** (bands[:3] / 10.0)))  # 30-250 Hz share of the energy
    centroid_hz = 1000.0 * 2.0 ** features["spectral_centroid_oct"]
    if features["spectral_flatness_db"] > -10.0 and centroid_hz > 3000.0:
        return "drums"
    if low > 0.85 or (low > 0.5 and centroid_hz < 700.0):
        return "bass"
    return "other"


def role_one_hot(role: str) -> np.ndarray:
    """The role as a one-hot float32 vector in :data:`ROLES` order (the stem network's input)."""
    v = np.zeros(len(ROLES), dtype=np.float32)
    v[ROLES.index(role)] = 1.0
    return v


__all__ = ["ROLES", "role_from_name", "role_from_rules", "role_from_sound", "role_one_hot"]
