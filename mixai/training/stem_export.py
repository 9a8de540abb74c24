"""Export a trained stem network to ONNX (opset 17, dynamic batch) with the metadata that
:class:`mixai.mix.StemModel` checks: ``mixai_kind=stems``, feature version and names, the input
layout, the role list and the output schema (names, ranges, scales), plus training facts."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

OPSET = 17


def model_metadata(info: dict) -> dict[str, str]:
    from mixai.features import FEATURE_NAMES, FEATURE_VERSION
    from mixai.stems import MIX_SCHEMA_VERSION, ROLES, model_input_names, stem_output_metadata

    meta = {
        "mixai_kind": "stems",
        "feature_version": str(FEATURE_VERSION),
        "feature_names": json.dumps(list(FEATURE_NAMES)),
        "input_names": json.dumps(model_input_names()),
        "roles": json.dumps(list(ROLES)),
        "outputs": json.dumps(stem_output_metadata()),
        "mix_schema_version": str(MIX_SCHEMA_VERSION),
    }
    meta.update({k: str(v) if not isinstance(v, (dict, list)) else json.dumps(v) for k, v in info.items()})
    return meta


def export_model(model, path: str | os.PathLike, n_inputs: int, info: dict) -> Path:
    """Write ``model`` to ``path`` atomically with metadata, and check it with onnx."""
    import onnx
    import torch

    path = Path(path)
    model = model.eval().cpu()
    example = torch.zeros(2, n_inputs, dtype=torch.float32)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        raw = Path(tmp) / "raw.onnx"
        torch.onnx.export(model, (example,), str(raw), dynamo=False, opset_version=OPSET,
                          input_names=["inputs"], output_names=["outputs"],
                          dynamic_axes={"inputs": {0: "batch"}, "outputs": {0: "batch"}})
        proto = onnx.load(str(raw))
        del proto.metadata_props[:]
        for key, value in model_metadata(info).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(proto)
        final = Path(tmp) / "final.onnx"
        onnx.save(proto, str(final))
        os.replace(final, path)
    return path
