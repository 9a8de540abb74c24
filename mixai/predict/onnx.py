"""The learned predictor: an ONNX network run with onnxruntime alone (torch is training-only).

The model file carries metadata (feature version and names, parameter names and ranges, schema
version, training seed and size, code version); :class:`Model` checks it against this code and
refuses a mismatch rather than predicting nonsense.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import numpy as np

from mixai.errors import ModelError
from mixai.analysis.features import FEATURE_NAMES, FEATURE_VERSION, Features
from mixai.predict.domain import InputDomain
from mixai.predict.target import Target
from mixai.settings.calibration import Calibration
from mixai.settings.scaling import scale_settings, snap_to_neutral
from mixai.settings.schema import PARAMETERS, SCHEMA_VERSION, Output, Settings

MODEL_FILENAME = "mixai-master.onnx"
MODEL_ENV = "MIXAI_MODEL"


def packaged_model_path(filename: str = MODEL_FILENAME) -> Path | None:
    """The model shipped with the package (``models/`` in the source tree, ``mixai/models`` once installed)."""
    try:
        candidate = resources.files("mixai.models") / filename
        if candidate.is_file():
            return Path(str(candidate))
    except ModuleNotFoundError:
        pass
    source_tree = Path(__file__).resolve().parents[2] / "models" / filename
    return source_tree if source_tree.is_file() else None


def default_model_path() -> Path | None:
    env = os.environ.get(MODEL_ENV)
    if env:
        return Path(env)
    return packaged_model_path()


def parameter_metadata() -> list[dict]:
    return [{"name": p.name, "low": p.low, "high": p.high, "scale": p.scale} for p in PARAMETERS]


def open_session(path: Path, what: str = "model"):
    """An onnxruntime CPU session (one thread: predictions are tiny) and the model's metadata."""
    import onnxruntime as ort

    if not path.is_file():
        raise ModelError(f"{path}: {what} file not found")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0]})") from None
    return session, dict(session.get_modelmeta().custom_metadata_map)


class Model:
    """An exported mixai network. ``predict(features, target)`` -> :class:`Settings`."""

    name = "onnx"

    def __init__(self, path: str | os.PathLike | None = None, *, kind: str = "master") -> None:
        resolved = Path(path) if path is not None else default_model_path()
        if resolved is None:
            raise ModelError("no mixai model is installed; use --predictor dsp or --model PATH")
        self.session, self.metadata = open_session(resolved, "model")
        self.path = resolved
        self._check(kind)
        self._input = self.session.get_inputs()[0].name
        self.domain = self._input_domain()
        self.calibration = self._calibration("calibration")
        self.reference_calibration = self._calibration("calibration_reference")

    def _input_domain(self) -> InputDomain | None:
        """The training inputs' feature distribution, where the model file records it (older files
        do not: they are trusted everywhere)."""
        text = self.metadata.get("input_domain")
        if text is None:
            return None
        try:
            return InputDomain.from_json(text, len(FEATURE_NAMES))
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{self.path}: malformed input_domain metadata ({exc})") from None

    def _calibration(self, key: str) -> Calibration:
        """The dead bands and amounts chosen on validation data (:mod:`mixai.settings.calibration`),
        one for reference-free mastering and one for a reference; the identity for files exported
        before calibration existed."""
        text = self.metadata.get(key)
        if text is None:
            return Calibration()
        try:
            return Calibration.from_json(text)
        except ModelError as exc:
            raise ModelError(f"{self.path}: {exc}") from None

    def _check(self, kind: str) -> None:
        meta = self.metadata
        problems = []
        if meta.get("mixai_kind", "master") != kind:
            problems.append(f"it is a {meta.get('mixai_kind')!r} model, not a {kind!r} model")
        if meta.get("feature_version") != str(FEATURE_VERSION):
            problems.append(f"feature version {meta.get('feature_version')} != {FEATURE_VERSION}")
        if json.loads(meta.get("feature_names", "[]")) != list(FEATURE_NAMES):
            problems.append("feature names differ")
        if kind == "master":
            if meta.get("schema_version") != str(SCHEMA_VERSION):
                problems.append(f"settings schema {meta.get('schema_version')} != {SCHEMA_VERSION}")
            if json.loads(meta.get("parameters", "[]")) != parameter_metadata():
                problems.append("parameter names or ranges differ")
        if problems:
            raise ModelError(f"{self.path}: model does not match this mixai ({'; '.join(problems)}); "
                             "retrain/export it or use --predictor dsp")

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Raw network call: (batch, inputs) float32 -> (batch, outputs) in [0, 1]."""
        return self.session.run(None, {self._input: np.asarray(inputs, dtype=np.float32)})[0]

    def trust(self, features: Features) -> float:
        """1.0 for inputs like the training material; less, down toward 0, the further outside it
        the input's features lie (:class:`~mixai.predict.domain.InputDomain`)."""
        return 1.0 if self.domain is None else self.domain.trust(features.values)

    def predict(self, features: Features, target: Target, *, output: Output | None = None) -> Settings:
        """The network's settings, tempered by the model's :class:`Calibration` and scaled toward
        neutral by :meth:`trust`."""
        x = np.concatenate([features.values, target.features.values])[None, :]
        raw = Settings.from_vector(self.run(x)[0], output=output)
        calibration = self.reference_calibration if target.is_reference else self.calibration
        settings = snap_to_neutral(calibration.apply(raw))
        trust = self.trust(features)
        return settings if trust >= 1.0 else snap_to_neutral(scale_settings(settings, trust))
