"""What a predictor moves toward, and the interface every predictor has.

A *target* is what the master should sound like: a built-in profile (the balance of well-mixed
music, learned from the training corpus, shipped as ``mixai/profiles/NAME.json``) or the analysis
of a reference track the user supplies.

Importing this module is cheap (no numpy, librosa or onnxruntime): the command line and the OSC
bridge read the profile names from it before any audio work.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from mixai.errors import ParameterError

if TYPE_CHECKING:
    from mixai.analysis.features import Features
    from mixai.settings.schema import Output, Settings

DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class Target:
    """What to move toward: a name for reports, and the features of the ideal."""

    name: str
    features: Features
    is_reference: bool = False


@runtime_checkable
class Predictor(Protocol):
    name: str

    def predict(self, features: Features, target: Target, *, output: Output | None = None) -> Settings:
        """Settings that move audio with ``features`` toward ``target``."""


def builtin_profiles() -> list[str]:
    folder = resources.files("mixai") / "profiles"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load_profile(name: str = DEFAULT_PROFILE) -> Target:
    """A built-in target profile shipped inside the package (``mixai/profiles/NAME.json``)."""
    from mixai.analysis.features import Features

    path = resources.files("mixai") / "profiles" / f"{name}.json"
    if not path.is_file():
        raise ParameterError(f"unknown target profile {name!r} (built in: {', '.join(builtin_profiles())})")
    data = json.loads(path.read_text(encoding="utf-8"))
    return Target(name=name, features=Features.from_dict(data["features"]))


def resolve_target(target: str | os.PathLike | Target | None) -> Target:
    """A Target from a profile name, a reference audio path, or an existing Target."""
    if isinstance(target, Target):
        return target
    if target is None:
        return load_profile(DEFAULT_PROFILE)
    text = os.fspath(target)
    if text in builtin_profiles():
        return load_profile(text)
    if Path(text).suffix:
        from mixai.analysis.measure import analyze

        reference = analyze(text)
        return Target(name=f"reference:{Path(text).name}", features=reference.features, is_reference=True)
    raise ParameterError(f"target {text!r} is neither a built-in profile "
                         f"({', '.join(builtin_profiles())}) nor an audio file")


__all__ = ["DEFAULT_PROFILE", "Target", "Predictor", "builtin_profiles", "load_profile", "resolve_target"]
