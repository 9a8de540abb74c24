"""Which role a stem plays, from its sound: the shipped role classifier (``models/mixai-roles.onnx``).

A stem whose file name says nothing (``track07.wav``) still needs a role, because the stem model
sets its level by role. The classifier reads the stem's feature vector (:mod:`mixai.analysis.features`)
and that of the plain sum of all stems (the mix it sits in: a bass is the low end *of this mix*, a
backing is most of it), and gives a probability per role of :data:`mixai.settings.stems.ROLES`.
Trained by :mod:`mixai.training.stems.roles`; accuracy in ``models/STEMS.md``.

Without the model file (or with one that does not match this code, which is refused)
:func:`classify` returns None and callers fall back to simple rules.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mixai.errors import ModelError

ROLES_MODEL_FILENAME = "mixai-roles.onnx"
ROLES_MODEL_ENV = "MIXAI_ROLES_MODEL"
ROLES_MODEL_KIND = "roles"


def role_input_names() -> list[str]:
    from mixai.analysis.features import FEATURE_NAMES

    return [f"stem.{n}" for n in FEATURE_NAMES] + [f"mix.{n}" for n in FEATURE_NAMES]


def role_input(stem_features: np.ndarray, mix_features: np.ndarray | None = None) -> np.ndarray:
    """One classifier row: the stem's features, then the mix's (the stem's own when there is no
    mix context: a stem alone is its own mix)."""
    stem = np.asarray(stem_features, dtype=np.float32).reshape(-1)
    mix = stem if mix_features is None else np.asarray(mix_features, dtype=np.float32).reshape(-1)
    return np.concatenate([stem, mix]).astype(np.float32)


@dataclass(frozen=True)
class RoleGuess:
    role: str
    probability: float


class RoleModel:
    """The exported role classifier: rows of :func:`role_input` -> role probabilities.

    Refuses a file whose metadata (kind, feature version and names, input names, roles) does not
    match this code.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        from mixai.analysis.features import FEATURE_NAMES, FEATURE_VERSION
        from mixai.predict.onnx import open_session
        from mixai.settings.stems import ROLES

        self.path = Path(path)
        self.session, meta = open_session(self.path, "role model")
        self.metadata = meta
        problems = []
        if meta.get("mixai_kind") != ROLES_MODEL_KIND:
            problems.append(f"it is a {meta.get('mixai_kind', 'master')!r} model, not a 'roles' model")
        else:
            if meta.get("feature_version") != str(FEATURE_VERSION):
                problems.append(f"feature version {meta.get('feature_version')} != {FEATURE_VERSION}")
            if json.loads(meta.get("feature_names", "[]")) != list(FEATURE_NAMES):
                problems.append("feature names differ")
            if json.loads(meta.get("input_names", "[]")) != role_input_names():
                problems.append("input layout differs")
            if json.loads(meta.get("roles", "[]")) != list(ROLES):
                problems.append("roles differ")
        if problems:
            raise ModelError(f"{self.path}: role model does not match this mixai ({'; '.join(problems)}); "
                             "retrain it (python -m mixai.training.stems.roles)")
        self.roles = tuple(ROLES)
        self._input = self.session.get_inputs()[0].name

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """(n, len(ROLES)) probabilities for (n, 50) rows."""
        return np.asarray(self.session.run(None, {self._input: np.atleast_2d(np.asarray(rows, np.float32))})[0])

    def classify(self, stem_features: np.ndarray, mix_features: np.ndarray | None = None) -> RoleGuess:
        p = self.probabilities(role_input(stem_features, mix_features)[None])[0]
        k = int(np.argmax(p))
        return RoleGuess(self.roles[k], float(p[k]))


def default_roles_model_path() -> Path | None:
    env = os.environ.get(ROLES_MODEL_ENV)
    if env:
        return Path(env)
    from mixai.predict.onnx import packaged_model_path

    return packaged_model_path(ROLES_MODEL_FILENAME)


@functools.lru_cache(maxsize=4)
def _load(path: str) -> RoleModel | None:
    try:
        return RoleModel(path)
    except ModelError:
        return None


def installed_model() -> RoleModel | None:
    """The role classifier to use (``MIXAI_ROLES_MODEL`` or the shipped one), loaded once; None
    when there is none or it does not match this code."""
    path = default_roles_model_path()
    return _load(str(path)) if path is not None and path.is_file() else None


def classify(stem_features: np.ndarray, mix_features: np.ndarray | None = None) -> RoleGuess | None:
    """The most likely role of a stem from its sound, or None without a usable classifier."""
    model = installed_model()
    return None if model is None else model.classify(stem_features, mix_features)


__all__ = ["ROLES_MODEL_FILENAME", "ROLES_MODEL_ENV", "RoleGuess", "RoleModel", "classify", "installed_model",
           "role_input", "role_input_names"]
