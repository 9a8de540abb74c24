"""Damage-repair quality on the held-out test split: unprocessed, DSP, ONNX (profile and reference),
Matchering, and the oracle. A thin front end to :mod:`mixai.training.evaluate` (see its docstring).

    python benchmarks/eval_quality.py [--split test] [--jobs 2] [--json results.json]

Needs the corpus (``python -m mixai.training.corpus.rendered --out data/corpus --seed 0 --pieces 300 --seconds 30``)
and Matchering (``pip install matchering``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mixai.training.evaluate import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
