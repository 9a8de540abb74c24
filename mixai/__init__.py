"""mixai: automatic mixing and mastering.

librosa-based analysis -> a predictor (an ONNX network, or DSP target matching) suggests EQ,
compression, stereo and reverb settings -> pedalboard applies them -> gain to a loudness target
(ITU-R BS.1770) and a true-peak limiter.

    >>> import mixai
    >>> report = mixai.master_file("song.wav", "song.master.wav",
    ...                            options=mixai.MasterOptions(target_lufs=-14))

Attributes load lazily so ``import mixai`` (and ``mixai --help``) stay fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# name -> the module that is its home (see docs/architecture.md)
_EXPORTS = {
    "analyze": "mixai.analysis.measure", "analyze_array": "mixai.analysis.measure",
    "Analysis": "mixai.analysis.measure",
    "master_file": "mixai.master.pipeline", "master_array": "mixai.master.pipeline",
    "suggest": "mixai.master.pipeline", "suggestion": "mixai.master.pipeline",
    "Suggestion": "mixai.master.report", "MasterReport": "mixai.master.report",
    "MasterOptions": "mixai.master.options",
    "Settings": "mixai.settings.schema", "load_settings": "mixai.settings.schema",
    "Features": "mixai.analysis.features", "extract": "mixai.analysis.features",
    "Model": "mixai.predict.onnx", "DspPredictor": "mixai.predict.dsp",
    "Target": "mixai.predict.target", "get_predictor": "mixai.predict", "resolve_target": "mixai.predict.target",
    "MixaiError": "mixai.errors", "InputError": "mixai.errors", "OutputError": "mixai.errors",
    "ParameterError": "mixai.errors", "ModelError": "mixai.errors",
    "mix_files": "mixai.mix", "mix_arrays": "mixai.mix", "MixSettings": "mixai.settings.stems",
    "run_batch": "mixai.batch", "BatchConfig": "mixai.batch",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mixai' has no attribute {name!r}")
