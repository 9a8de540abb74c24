"""The held-out evaluation (mixai.training.evaluate) on a tiny corpus of two synthesised pieces."""

from __future__ import annotations

import json

import pytest

import material
from mixai.training import evaluate


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    for i, seed in enumerate((3, 5)):
        piece = root / "test" / f"p{i}"
        piece.mkdir(parents=True)
        material.write(piece / "mix.wav", material.band_loop(5.0, seed=seed))
    (root / "index.json").write_text(json.dumps({"splits": {"test": ["p0", "p1"]}}))
    return root


def test_oracle_repairs_what_the_damage_did(corpus):
    results = evaluate.run(str(corpus), "test", None, jobs=1, damage_seeds=2, progress=False,
                           systems=("unprocessed", "oracle"))
    assert len(results) == 4 and not evaluate.failed_cases(results)
    table = evaluate.summarise(results, ("unprocessed", "oracle"))
    # the label settings undo the damage (up to added reverb and over-compression)
    assert table["oracle"]["msd"] < 0.7 * table["unprocessed"]["msd"]
    assert table["unprocessed"]["msd"] > 0.05  # there was damage to undo


def test_a_case_no_system_can_master_is_reported_and_left_out():
    ok = {"piece": "a", "damage_seed": 0, "damage": "eq", "metrics": {"x": {m: 1.0 for m in evaluate.METRIC_NAMES}}}
    bad = {"piece": "b", "damage_seed": 1, "damage": "expand 1:2.0", "errors": {"x": "could not meet loudness"},
           "metrics": {"y": {m: 9.0 for m in evaluate.METRIC_NAMES}}}
    good_y = {"piece": "c", "damage_seed": 0, "damage": "eq", "metrics": {"x": {m: 3.0 for m in evaluate.METRIC_NAMES},
                                                                         "y": {m: 2.0 for m in evaluate.METRIC_NAMES}}}
    table = evaluate.summarise([ok, bad, good_y], ("x", "y"))
    assert table["x"]["msd"] == pytest.approx(2.0) and table["y"]["msd"] == pytest.approx(2.0)
    lines = evaluate.failed_cases([ok, bad, good_y])
    assert len(lines) == 1 and lines[0].startswith("b (damage seed 1, expand 1:2.0): x: could not meet")


def test_undamaged_cases_measure_only_what_a_system_changes(corpus):
    results = evaluate.run(str(corpus), "test", None, jobs=1, progress=False, undamaged=True,
                           systems=("unprocessed", "oracle", "dsp"))
    assert all(r["damage"] == "none" for r in results)
    table = evaluate.summarise(results, ("unprocessed", "oracle", "dsp"))
    assert table["unprocessed"]["msd"] < 0.01 and table["oracle"]["msd"] < 0.01  # nothing to undo
    assert table["dsp"]["msd"] > table["unprocessed"]["msd"]  # any predicted move shows as a distance
