"""Export a trained :class:`~mixai.training.master.model.MasterNet` to ONNX with the metadata mixai checks.

The graph: input ``features`` (batch, 48) float32 -> output ``settings`` (batch, 22) in [0, 1],
opset 17, dynamic batch. Metadata (string key/values, read back by :class:`mixai.predict.onnx.Model`):
``mixai_kind``, ``feature_version``, ``feature_names`` (JSON), ``schema_version``, ``parameters``
(JSON list of {name, low, high, scale}), ``training_seed``, ``training_examples``,
``training_pieces``, ``training_datasets``, ``code_version``, ``git_commit`` and a few training facts.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from mixai.analysis.features import FEATURE_NAMES, FEATURE_VERSION
from mixai.settings import SCHEMA_VERSION

OPSET = 17
INPUT_NAME = "features"
OUTPUT_NAME = "settings"


def model_metadata(info: dict) -> dict[str, str]:
    """The mastering model's metadata (checked by :class:`mixai.predict.onnx.Model`)."""
    from mixai.predict.onnx import parameter_metadata

    return _common_metadata("master") | {
        "feature_version": str(FEATURE_VERSION),
        "feature_names": json.dumps(list(FEATURE_NAMES)),
        "schema_version": str(SCHEMA_VERSION),
        "parameters": json.dumps(parameter_metadata()),
    } | _stringify(info)


def stem_model_metadata(info: dict) -> dict[str, str]:
    """The stem model's metadata (checked by :class:`mixai.mix.StemModel`)."""
    from mixai.mix.model import model_input_names
    from mixai.settings.stems import MIX_SCHEMA_VERSION, ROLES, stem_output_metadata

    return _common_metadata("stems") | {
        "feature_version": str(FEATURE_VERSION),
        "feature_names": json.dumps(list(FEATURE_NAMES)),
        "input_names": json.dumps(model_input_names()),
        "roles": json.dumps(list(ROLES)),
        "outputs": json.dumps(stem_output_metadata()),
        "mix_schema_version": str(MIX_SCHEMA_VERSION),
    } | _stringify(info)


def role_model_metadata(info: dict) -> dict[str, str]:
    """The role classifier's metadata (checked by :class:`mixai.predict.roles.RoleModel`)."""
    from mixai.predict.roles import ROLES_MODEL_KIND, role_input_names
    from mixai.settings.stems import ROLES

    return _common_metadata(ROLES_MODEL_KIND) | {
        "feature_version": str(FEATURE_VERSION),
        "feature_names": json.dumps(list(FEATURE_NAMES)),
        "input_names": json.dumps(role_input_names()),
        "roles": json.dumps(list(ROLES)),
    } | _stringify(info)


def _common_metadata(kind: str) -> dict[str, str]:
    import mixai

    return {"mixai_kind": kind, "code_version": mixai.__version__, "git_commit": git_commit()}


def _stringify(info: dict) -> dict[str, str]:
    return {k: json.dumps(v) if isinstance(v, (dict, list)) else str(v) for k, v in info.items()}


def git_commit() -> str:
    """The commit the model was trained from (empty outside a git checkout)."""
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def export_network(model: torch.nn.Module, path: str | os.PathLike, *, n_inputs: int, input_name: str,
                   output_name: str, metadata: dict[str, str]) -> Path:
    """Write ``model`` (eval mode, CPU) to ``path`` with ``metadata``, checked by onnx, atomically
    (a temporary file in the destination folder, renamed when complete)."""
    import onnx

    model = model.cpu().eval()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(2, n_inputs)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (example,), str(raw), dynamo=False, opset_version=OPSET,
                              input_names=[input_name], output_names=[output_name],
                              dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
                              do_constant_folding=True)
        proto = onnx.load(str(raw))
    proto.producer_name = "mixai.training.export"
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    from mixai.io.atomic import atomic_path

    with atomic_path(out, overwrite=True) as tmp:
        onnx.save(proto, str(tmp))
    return out


def export_onnx(model: torch.nn.Module, path: str | os.PathLike, info: dict) -> Path:
    """The mastering network: ``features`` (batch, 48) -> ``settings`` (batch, 22)."""
    return export_network(model, path, n_inputs=2 * len(FEATURE_NAMES), input_name=INPUT_NAME,
                          output_name=OUTPUT_NAME, metadata=model_metadata(info))


def export_stem_model(model: torch.nn.Module, path: str | os.PathLike, n_inputs: int, info: dict) -> Path:
    """The stem network: ``inputs`` (batch, n_inputs) -> ``outputs`` (batch, 10)."""
    return export_network(model, path, n_inputs=n_inputs, input_name="inputs", output_name="outputs",
                          metadata=stem_model_metadata(info))


def export_role_model(model: torch.nn.Module, path: str | os.PathLike, info: dict) -> Path:
    """The role classifier: ``features`` (batch, 50: stem and mix features) -> ``probabilities``
    (batch, number of roles)."""
    return export_network(model, path, n_inputs=2 * len(FEATURE_NAMES), input_name="features",
                          output_name="probabilities", metadata=role_model_metadata(info))


def torch_from_onnx(path: str | os.PathLike):
    """Rebuild the torch :class:`MasterNet` from an exported file's initializers (for tests).

    The hidden size and depth come from the weight shapes; the buffers (normalisation) and Linear
    weights are matched by their exported names.
    """
    import onnx
    from onnx import numpy_helper

    from mixai.training.master.model import MasterNet

    proto = onnx.load(str(path))
    weights = {init.name: numpy_helper.to_array(init) for init in proto.graph.initializer}
    linear = sorted((k for k in weights if k.startswith("net.") and k.endswith(".weight")),
                    key=lambda k: int(k.split(".")[1]))
    hidden = weights[linear[0]].shape[0]
    model = MasterNet(hidden=hidden, layers=len(linear) - 1, dropout=0.0)
    state = model.state_dict()
    # Dropout layers shift the indices inside ``net``; map exported Linear layers in order.
    own_linear = [k for k in state if k.startswith("net.") and k.endswith(".weight")]
    mapping = {}
    for theirs, ours in zip(linear, own_linear):
        mapping[ours] = theirs
        mapping[ours.replace(".weight", ".bias")] = theirs.replace(".weight", ".bias")
    for name in ("mean", "std", "diff_std"):
        mapping[name] = name
    new_state = {k: torch.tensor(np.array(weights[mapping[k]])) for k in state}
    model.load_state_dict(new_state)
    return model.eval()
