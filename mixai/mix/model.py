"""The stem network: its input layout (one row per stem) and the exported ONNX model, checked
against this code before it predicts anything."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from mixai.analysis.features import FEATURE_NAMES, FEATURE_VERSION
from mixai.errors import ModelError
from mixai.mix.roles import role_one_hot
from mixai.predict import check_predictor
from mixai.settings.stems import ROLES, stem_output_metadata

STEMS_MODEL_FILENAME = "mixai-stems.onnx"
STEMS_MODEL_ENV = "MIXAI_STEMS_MODEL"
MODEL_INPUT_VERSION = 1
# Metadata key: how far the level output is followed (1 = fully, 0 = equal loudness).
LEVEL_TRUST_KEY = "level_trust"


def model_input_names() -> list[str]:
    return ([f"stem.{n}" for n in FEATURE_NAMES] + [f"role.{r}" for r in ROLES]
            + [f"mix.{n}" for n in FEATURE_NAMES] + [f"song_roles.{r}" for r in ROLES] + ["song_stems_log2"])


def model_input(stem_features: np.ndarray, role: str, mix_features: np.ndarray,
                song_roles: list[str]) -> np.ndarray:
    """One network input row: the stem's features, its role one-hot, the features of the mix as it
    arrived (the plain sum of the stems), how many stems of each role the song has, log2(#stems)."""
    counts = np.array([song_roles.count(r) for r in ROLES], dtype=np.float32)
    return np.concatenate([np.asarray(stem_features, np.float32), role_one_hot(role),
                           np.asarray(mix_features, np.float32), counts,
                           np.array([np.log2(max(1, len(song_roles)))], np.float32)]).astype(np.float32)


def shrink_levels(outputs: np.ndarray, trust: float) -> np.ndarray:
    """One song's outputs with the level column (``target_rel_db``, output 0) pulled toward the
    song's mean level: ``trust`` 1 keeps the network's balance, 0 puts every stem at the same
    loudness. The do-no-harm knob for music unlike the training songs; the exported value is
    chosen on validation songs (:mod:`mixai.training.stems.cv`), never on test songs."""
    out = np.array(outputs, dtype=np.float32, copy=True)
    if out.ndim == 2 and len(out) and trust != 1.0:
        level = out[:, 0]
        out[:, 0] = level.mean() + np.float32(trust) * (level - level.mean())
    return out


def default_stems_model_path() -> Path | None:
    env = os.environ.get(STEMS_MODEL_ENV)
    if env:
        return Path(env)
    from mixai.predict.onnx import packaged_model_path
    return packaged_model_path(STEMS_MODEL_FILENAME)


class StemModel:
    """The exported stem network: rows of :func:`model_input` -> [0, 1] outputs.

    Refuses a file whose metadata (kind, feature version and names, input names, output schema)
    does not match this code.
    """

    name = "onnx"

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        from mixai.predict.onnx import open_session

        resolved = Path(path) if path is not None else default_stems_model_path()
        if resolved is None:
            raise ModelError("no mixai stem model is installed; use --predictor dsp or --model PATH")
        self.session, meta = open_session(resolved, "stem model")
        self.path = resolved
        self.metadata = meta
        problems = []
        if meta.get("mixai_kind") != "stems":
            problems.append(f"it is a {meta.get('mixai_kind', 'master')!r} model, not a 'stems' model")
        else:
            if meta.get("feature_version") != str(FEATURE_VERSION):
                problems.append(f"feature version {meta.get('feature_version')} != {FEATURE_VERSION}")
            if json.loads(meta.get("feature_names", "[]")) != list(FEATURE_NAMES):
                problems.append("feature names differ")
            if json.loads(meta.get("input_names", "[]")) != model_input_names():
                problems.append("input layout differs")
            if json.loads(meta.get("outputs", "[]")) != stem_output_metadata():
                problems.append("output schema differs")
            if json.loads(meta.get("roles", "[]")) != list(ROLES):
                problems.append("roles differ")
        try:
            self.level_trust = float(meta.get(LEVEL_TRUST_KEY, "1"))
        except ValueError:
            self.level_trust = float("nan")
        if not 0.0 <= self.level_trust <= 1.0:
            problems.append(f"{LEVEL_TRUST_KEY} {meta.get(LEVEL_TRUST_KEY)!r} is not a number in 0..1")
        if problems:
            raise ModelError(f"{resolved}: stem model does not match this mixai ({'; '.join(problems)}); "
                             "retrain/export it or use --predictor dsp")
        self._input = self.session.get_inputs()[0].name

    def run(self, rows: np.ndarray) -> np.ndarray:
        """Outputs for the rows of **one song** (the level trust pulls them toward their mean)."""
        out = self.session.run(None, {self._input: np.asarray(rows, dtype=np.float32)})[0]
        return shrink_levels(out, self.level_trust)


def resolve_stem_predictor(predictor: str, model_path) -> tuple[str, StemModel | None]:
    """(``"onnx"``, the model) or (``"dsp"``, None) for a predictor choice; ``auto`` falls back to
    dsp when no stem model is installed."""
    if check_predictor(predictor, "stem predictor") == "dsp":
        return "dsp", None
    path = Path(model_path) if model_path else default_stems_model_path()
    if predictor == "auto" and (path is None or not path.is_file()):
        return "dsp", None
    return "onnx", StemModel(path)


__all__ = ["STEMS_MODEL_FILENAME", "STEMS_MODEL_ENV", "MODEL_INPUT_VERSION", "LEVEL_TRUST_KEY", "shrink_levels",
           "model_input_names", "model_input",
           "default_stems_model_path", "StemModel", "resolve_stem_predictor"]
