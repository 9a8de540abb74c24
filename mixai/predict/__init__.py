"""Predictors: ``predict(features, target) -> Settings``, behind one interface.

``dsp`` (:mod:`mixai.predict.dsp`) matches the target in closed form; ``onnx``
(:mod:`mixai.predict.onnx`) runs the shipped network, which scales its corrections by how far the
input lies from its training material (:mod:`mixai.predict.domain`). Targets and the predictor
interface are in :mod:`mixai.predict.target`.

Importing this package is cheap: :data:`PREDICTOR_CHOICES` is what the command line, the batch
runner, the mixer and the OSC bridge offer, declared here once.
"""

from __future__ import annotations

import os

from mixai.errors import ParameterError
from mixai.predict.target import (DEFAULT_PROFILE, Predictor, Target, builtin_profiles, load_profile,
                                  resolve_target)

PREDICTOR_NAMES = ("onnx", "dsp")
PREDICTOR_CHOICES = ("auto", *PREDICTOR_NAMES)  # auto: the ONNX model when one is installed, else dsp


def check_predictor(name: str, what: str = "predictor") -> str:
    """``name`` when it is one of :data:`PREDICTOR_CHOICES`, else a :class:`ParameterError`."""
    if name not in PREDICTOR_CHOICES:
        raise ParameterError(f"unknown {what} {name!r} (choose from {', '.join(PREDICTOR_CHOICES)})")
    return name


def get_predictor(name: str = "auto", *, model_path: str | os.PathLike | None = None) -> Predictor:
    """``dsp``, ``onnx`` or ``auto`` (the ONNX model when one is installed, else DSP)."""
    check_predictor(name)
    from mixai.predict.dsp import DspPredictor

    if name == "dsp":
        return DspPredictor()
    from mixai.predict.onnx import Model, default_model_path

    path = model_path or default_model_path()
    if name == "auto" and path is None:
        return DspPredictor()
    return Model(path)


__all__ = ["PREDICTOR_NAMES", "PREDICTOR_CHOICES", "check_predictor", "get_predictor", "DEFAULT_PROFILE",
           "Predictor", "Target", "builtin_profiles", "load_profile", "resolve_target"]
