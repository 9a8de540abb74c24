"""Export a trained :class:`~mixai.training.train.MasterNet` to ONNX with the metadata mixai checks.

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

from mixai.features import FEATURE_NAMES, FEATURE_VERSION
from mixai.settings import SCHEMA_VERSION

OPSET = 17
INPUT_NAME = "features"
OUTPUT_NAME = "settings"


def model_metadata(info: dict) -> dict[str, str]:
    import mixai
    from mixai.predict.onnx import parameter_metadata
    from mixai.training.train import git_commit

    meta = {
        "mixai_kind": "master",
        "feature_version": str(FEATURE_VERSION),
        "feature_names": json.dumps(list(FEATURE_NAMES)),
        "schema_version": str(SCHEMA_VERSION),
        "parameters": json.dumps(parameter_metadata()),
        "code_version": mixai.__version__,
        "git_commit": git_commit(),
    }
    meta.update({k: str(v) for k, v in info.items()})
    return meta


def export_onnx(model: torch.nn.Module, path: str | os.PathLike, info: dict) -> Path:
    """Write ``model`` (eval mode, CPU) to ``path`` atomically, with metadata; checks it with onnx."""
    import onnx

    model = model.cpu().eval()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(2, 2 * len(FEATURE_NAMES))
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (example,), str(raw), dynamo=False, opset_version=OPSET,
                              input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                              dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                              do_constant_folding=True)
        proto = onnx.load(str(raw))
    proto.producer_name = "mixai.training.export"
    del proto.metadata_props[:]
    for key, value in model_metadata(info).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    tmp_path = out.with_name(f".{out.name}.part")
    onnx.save(proto, str(tmp_path))
    os.replace(tmp_path, out)
    return out


def torch_from_onnx(path: str | os.PathLike):
    """Rebuild the torch :class:`MasterNet` from an exported file's initializers (for tests).

    The hidden size and depth come from the weight shapes; the buffers (normalisation) and Linear
    weights are matched by their exported names.
    """
    import onnx
    from onnx import numpy_helper

    from mixai.training.train import MasterNet

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
