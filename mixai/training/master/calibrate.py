"""Choose the model's do-no-harm :class:`~mixai.settings.calibration.Calibration` on validation data.

    python -m mixai.training.master.calibrate --model models/mixai-master.onnx --data data/dataset_recorded

The exported network is run (with onnxruntime, as mixai runs it) on the validation examples, twice:
with the built-in profile as the target (reference-free mastering, the default: ``calibration``),
and with another excerpt of the same recording as the reference (``calibration_reference``, from
``--reference-data``, examples of mode ``MODE_SAME_RECORDING``). For each aspect a grid
of dead bands and amounts is tried and judged by a proxy of what the evaluation measures:

* EQ: the mean |dB| between the tempered EQ's response and the label's on the MSD's mel grid,
  after loudness normalisation (:func:`mixai.training.master.model.heard_eq_error_db`);
* width, compression, reverb: the absolute error of width, log ratio and wet against the label.

An example is *harmed* when the tempered settings are further from the label than neutral is. The
chosen setting is the one with the lowest mean error among those that harm at most
``--max-harm`` of the examples (else the least harmful). The test packages are never read here.
The calibration is written into the model file's metadata (atomically); the table of the grid is
printed, so the choice can be checked.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from pathlib import Path

import numpy as np

from mixai.settings.calibration import Calibration

EQ_DEADBANDS_DB = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
AMOUNTS = (0.4, 0.55, 0.7, 0.85, 1.0)
WIDTH_DEADBANDS = (0.0, 0.05, 0.1, 0.2, 0.3)
MAX_HARM = 0.10
HARM_TOLERANCE_DB = 0.05  # an EQ within this much of neutral's error is no harm (inaudible)


@dataclasses.dataclass(frozen=True)
class Choice:
    """One grid point of one aspect, judged on the validation examples."""

    values: dict
    mean_error: float
    neutral_error: float
    harmed: float  # share of examples left further from the label than neutral

    def row(self) -> str:
        shown = ", ".join(f"{k}={v:g}" for k, v in self.values.items())
        return f"{shown}: error {self.mean_error:.4f} (neutral {self.neutral_error:.4f}), harmed {self.harmed:.1%}"


def _untempered(choices: list[Choice]) -> Choice:
    """The grid point that changes nothing: dead bands 0, amounts 1."""
    return next(c for c in choices
                if all(v == (1.0 if k.endswith("_amount") else 0.0) for k, v in c.values.items()))


def _pick(choices: list[Choice], max_harm: float) -> Choice:
    allowed = [c for c in choices if c.harmed <= max_harm]
    if allowed:
        return min(allowed, key=lambda c: (c.mean_error, c.harmed))
    return min(choices, key=lambda c: (c.harmed, c.mean_error))


def validation_inputs(split: dict, profile: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs, labels, audio features) of the validation examples, each with the profile as its
    target; "too little reverb" examples, which only a reference can reveal, are left out."""
    from mixai.training.master.model import label_index

    keep = split["label"][:, label_index("reverb.wet")] <= 1e-4
    audio = split["audio"][keep].astype(np.float32)
    target = np.repeat(np.asarray(profile, np.float32)[None], len(audio), axis=0)
    return np.concatenate([audio, target], axis=1), split["label"][keep].astype(np.float32), audio


def reference_inputs(split: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs, labels, audio features) of the validation examples whose reference is another
    excerpt of the same recording."""
    from mixai.training.master.dataset import MODE_SAME_RECORDING

    keep = split["mode"] == MODE_SAME_RECORDING
    audio = split["audio"][keep].astype(np.float32)
    return (np.concatenate([audio, split["target"][keep].astype(np.float32)], axis=1),
            split["label"][keep].astype(np.float32), audio)


def _tempered_vectors(raw: np.ndarray, calibration: Calibration) -> np.ndarray:
    from mixai.settings.schema import Settings

    return np.stack([calibration.apply(Settings.from_vector(v)).to_vector() for v in raw])


def _eq_errors(vectors: np.ndarray, labels: np.ndarray, shares) -> np.ndarray:
    import torch

    from mixai.training.master.model import heard_eq_error_db

    with torch.no_grad():
        return heard_eq_error_db(torch.tensor(vectors, dtype=torch.float64), torch.tensor(labels, dtype=torch.float64),
                                 shares).numpy()


def _values(vectors: np.ndarray, name: str) -> np.ndarray:
    from mixai.settings.schema import PARAMETER_NAMES, PARAMETERS

    spec = PARAMETERS[PARAMETER_NAMES.index(name)]
    return np.array([spec.from_unit(float(u)) for u in vectors[:, PARAMETER_NAMES.index(name)]])


def _aspect_error(vectors: np.ndarray, labels: np.ndarray, aspect: str) -> np.ndarray:
    if aspect == "width":
        return np.abs(_values(vectors, "stereo.width") - _values(labels, "stereo.width"))
    if aspect == "dynamics":
        return np.abs(np.log(_values(vectors, "compressor.ratio")) - np.log(_values(labels, "compressor.ratio")))
    return np.abs(_values(vectors, "reverb.wet") - _values(labels, "reverb.wet"))


def _judge(values: dict, errors: np.ndarray, neutral: np.ndarray, tolerance: float) -> Choice:
    return Choice(values, float(errors.mean()), float(neutral.mean()), float((errors > neutral + tolerance).mean()))


def calibrate(raw: np.ndarray, labels: np.ndarray, audio: np.ndarray, *, max_harm: float = MAX_HARM,
              verbose: bool = True) -> tuple[Calibration, dict]:
    """The calibration for the network outputs ``raw`` (n, 22) of examples with ``labels``."""
    import torch

    from mixai.settings.schema import Settings
    from mixai.training.master.model import loudness_shares

    shares = torch.tensor(loudness_shares(audio, labels), dtype=torch.float64)
    neutral = np.repeat(Settings().to_vector()[None], len(raw), axis=0)
    report: dict = {}

    eq_neutral = _eq_errors(neutral, labels, shares)
    eq_choices = []
    for deadband, amount in itertools.product(EQ_DEADBANDS_DB, AMOUNTS):
        tempered = _tempered_vectors(raw, Calibration(eq_deadband_db=deadband, eq_amount=amount))
        eq_choices.append(_judge({"eq_deadband_db": deadband, "eq_amount": amount},
                                 _eq_errors(tempered, labels, shares), eq_neutral, HARM_TOLERANCE_DB))
    chosen = {"eq": _pick(eq_choices, max_harm)}

    width_choices = []
    for deadband, amount in itertools.product(WIDTH_DEADBANDS, AMOUNTS):
        tempered = _tempered_vectors(raw, Calibration(width_deadband=deadband, width_amount=amount))
        width_choices.append(_judge({"width_deadband": deadband, "width_amount": amount},
                                    _aspect_error(tempered, labels, "width"),
                                    _aspect_error(neutral, labels, "width"), 0.01))
    chosen["width"] = _pick(width_choices, max_harm)

    other_choices: dict[str, list[Choice]] = {"dynamics": [], "reverb": []}
    for aspect in other_choices:
        for amount in (0.0, *AMOUNTS):
            tempered = _tempered_vectors(raw, Calibration(**{f"{aspect}_amount": amount}))
            other_choices[aspect].append(_judge({f"{aspect}_amount": amount}, _aspect_error(tempered, labels, aspect),
                                                _aspect_error(neutral, labels, aspect), 0.01))
        chosen[aspect] = _pick(other_choices[aspect], max_harm)

    grids = {"eq": eq_choices, "width": width_choices, **other_choices}
    for aspect, choices in grids.items():
        report[aspect] = {"chosen": chosen[aspect].values, "mean_error": chosen[aspect].mean_error,
                          "neutral_error": chosen[aspect].neutral_error, "harmed": chosen[aspect].harmed,
                          "grid": [dataclasses.asdict(c) for c in choices]}
        if verbose:
            print(f"{aspect}: chose {chosen[aspect].row()}")
            print(f"    untempered: {_untempered(choices).row()}")
    values: dict = {}
    for choice in chosen.values():
        values.update(choice.values)
    return Calibration(**values), report


def write_calibration(model_path: str | Path, calibration: Calibration, report: dict, *,
                      key: str = "calibration") -> None:
    """Store a calibration (``key``: ``calibration`` or ``calibration_reference``) and its
    validation figures in the model file's metadata, atomically."""
    import onnx

    from mixai.io.atomic import write_bytes_atomic

    model = onnx.load(str(model_path))
    entries = {key: calibration.to_json(),
               f"{key}_validation": json.dumps({k: {field: v[field] for field in ("chosen", "mean_error",
                                                                                  "neutral_error", "harmed")}
                                                for k, v in report.items()})}
    kept = [p for p in model.metadata_props if p.key not in entries]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in entries.items():
        model.metadata_props.add(key=key, value=value)
    write_bytes_atomic(Path(model_path), model.SerializeToString(), overwrite=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mixai.training.master.calibrate",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", default="models/mixai-master.onnx")
    parser.add_argument("--data", default="data/dataset_recorded", help="folder with val.npz")
    parser.add_argument("--reference-data", default=None,
                        help="folder with a val.npz of same-recording reference examples "
                             "(python -m mixai.training.master.dataset --same-recording-fraction 1)")
    parser.add_argument("--max-harm", type=float, default=MAX_HARM)
    parser.add_argument("--dry-run", action="store_true", help="print the choice, do not write it")
    args = parser.parse_args(argv)

    from mixai.predict import load_profile
    from mixai.predict.onnx import Model
    from mixai.training.master.dataset import load_split

    model = Model(args.model)
    inputs, labels, audio = validation_inputs(load_split(Path(args.data) / "val.npz"),
                                              load_profile("default").features.values)
    runs = [("calibration", inputs, labels, audio)]
    if args.reference_data:
        runs.append(("calibration_reference", *reference_inputs(load_split(Path(args.reference_data) / "val.npz"))))
    for key, x, y, features in runs:
        print(f"{key}: {len(y)} validation examples")
        calibration, report = calibrate(model.run(x), y, features, max_harm=args.max_harm)
        print(f"{key}:", calibration.to_json())
        if not args.dry_run:
            write_calibration(args.model, calibration, report, key=key)
            print(f"written into {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
