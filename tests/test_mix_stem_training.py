"""The stem model's do-no-harm level trust (runtime and its choice on validation folds) and the
leave-one-song-out plumbing of the benchmark. Synthetic rows only: no corpus needed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from mixai.errors import ModelError
from mixai.mix.model import model_input_names, shrink_levels
from mixai.settings.stems import STEM_OUTPUTS

ROOT = Path(__file__).resolve().parents[1]
SPAN_DB = STEM_OUTPUTS[0].high - STEM_OUTPUTS[0].low


def test_shrink_levels_scales_the_balance_and_nothing_else():
    rng = np.random.default_rng(0)
    out = rng.uniform(0.2, 0.8, size=(5, len(STEM_OUTPUTS))).astype(np.float32)
    level = out[:, 0]
    full = shrink_levels(out, 1.0)
    assert np.array_equal(full, out)
    flat = shrink_levels(out, 0.0)
    assert np.allclose(flat[:, 0], level.mean(), atol=1e-6)          # equal loudness
    half = shrink_levels(out, 0.5)
    assert np.allclose(half[:, 0] - level.mean(), 0.5 * (level - level.mean()), atol=1e-6)
    assert np.array_equal(half[:, 1:], out[:, 1:])                     # EQ, compressor, pan, send untouched
    assert np.array_equal(out[:, 0], level)                            # the input is not modified


def _fold(song: str, pred_level_db: np.ndarray, true_level_db: np.ndarray, source: str = "recorded") -> dict:
    n = pred_level_db.size
    y = np.full((n, len(STEM_OUTPUTS)), 0.5, np.float32)
    pred = y.copy()
    y[:, 0] = (true_level_db - STEM_OUTPUTS[0].low) / SPAN_DB
    pred[:, 0] = (pred_level_db - STEM_OUTPUTS[0].low) / SPAN_DB
    piece = np.array([f"{source}/{song}.w{i // 2:02d}#0" for i in range(n)])   # two stems a song window
    return {"song": song, "pred": pred, "y": y, "piece": piece, "source": np.full(n, source)}


def test_trust_is_chosen_on_the_pooled_validation_folds():
    from mixai.training.stems.cv import choose_trust, fold_ratios

    rng = np.random.default_rng(1)
    true = rng.uniform(-12, 0, 40)
    right = _fold("a", true.copy(), true)
    assert fold_ratios(right)["recorded"] == pytest.approx(0.0, abs=1e-4)
    assert choose_trust([right])[0] == 1.0
    # A network that inverts each window's balance is worse than equal loudness: trust 0 gives
    # exactly equal loudness (ratio 1) and is chosen.
    means = np.repeat(true.reshape(-1, 2).mean(axis=1), 2)
    wrong = _fold("b", 2 * means - true, true)
    assert fold_ratios(wrong)["recorded"] > 1.5
    trust, table = choose_trust([wrong])
    assert trust == 0.0
    assert min(r["worst"] for r in table) == pytest.approx(1.0, abs=1e-4)
    # Pooled with a right song, the domain as a whole gains from the network (trust 1), and the
    # table still shows the song where it does harm.
    trust, table = choose_trust([right, wrong])
    assert trust == 1.0 and table[-1]["pooled"]["recorded"] < 1.0
    assert table[-1]["folds"]["b"]["recorded"] > 1.5
    # Half right (the balance at half its true size): trust 1 is what it is, shrinking only hurts.
    half = _fold("c", means + 0.5 * (true - means), true)
    ratios = [fold_ratios(half, t)["recorded"] for t in (1.0, 0.5, 0.0)]
    assert ratios[0] == pytest.approx(0.5, abs=0.02) and ratios[0] < ratios[1] < ratios[2]


def _rows(n_songs: int, rng: np.random.Generator, source: str) -> dict:
    names = model_input_names()
    x = rng.standard_normal((2 * n_songs, len(names))).astype(np.float32)
    y = np.full((2 * n_songs, len(STEM_OUTPUTS)), 0.5, np.float32)
    y[:, 0] = 0.5 + 0.1 * np.tanh(x[:, 0])                  # the level follows one sound feature
    piece = np.array([f"{source}/s{i // 2}.w00#0" for i in range(2 * n_songs)])
    return {"x": x, "y": y, "piece": piece, "source": np.full(2 * n_songs, source)}


def test_exported_trust_is_applied_and_checked(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from mixai.mix.model import StemModel
    from mixai.training.stems.train import train

    rng = np.random.default_rng(2)
    tr, va = _rows(60, rng, "rendered"), _rows(10, rng, "rendered")
    common = dict(epochs=15, seed=0, threads=1, keep="last", quiet=True)
    full, half, bad = tmp_path / "full.onnx", tmp_path / "half.onnx", tmp_path / "bad.onnx"
    train(tr, va, str(full), level_trust=1.0, **common)
    train(tr, va, str(half), level_trust=0.5, **common)
    rows = va["x"][:6]
    a, b = StemModel(full).run(rows), StemModel(half).run(rows)
    assert StemModel(half).level_trust == 0.5
    assert np.allclose(b[:, 0] - b[:, 0].mean(), 0.5 * (a[:, 0] - a[:, 0].mean()), atol=1e-5)
    assert np.allclose(a[:, 1:], b[:, 1:], atol=1e-6)
    assert np.std(a[:, 0]) > 1e-3                              # the network does spread the levels
    train(tr, va, str(bad), level_trust=2.0, **common)
    with pytest.raises(ModelError, match="level_trust"):
        StemModel(bad)


def test_benchmark_uses_the_network_that_never_heard_the_song(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import eval_mix

    from mixai.training.stems.cv import song_model_path

    assert eval_mix.song_of("chaos_god.w07") == "chaos_god" and eval_mix.song_of("fluid_0012") == "fluid_0012"
    song_model_path(tmp_path, "chaos_god").write_bytes(b"x")
    assert eval_mix.model_for("chaos_god.w07", "shipped.onnx", str(tmp_path)) == str(
        tmp_path / "mixai-stems.without-chaos_god.onnx")
    assert eval_mix.model_for("armygeddon.w01", "shipped.onnx", str(tmp_path)) == "shipped.onnx"
    assert eval_mix.model_for("chaos_god.w07", "shipped.onnx", None) == "shipped.onnx"


def test_folds_hold_each_real_song_out_of_its_own_training():
    from mixai.training.stems.cv import final_rows, folds, song_of_row

    rng = np.random.default_rng(4)

    def real(song: str, n: int) -> dict:
        r = _rows(n, rng, "recorded")
        r["piece"] = np.array([f"recorded/{song}.w{i // 2:02d}#0" for i in range(2 * n)])
        return r

    def join(*parts):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    train_rows = join(_rows(20, rng, "rendered"), real("a", 4), real("b", 3))
    val_rows = join(_rows(5, rng, "rendered"), real("c", 2))
    shipped_train, shipped_val = final_rows(train_rows, val_rows)
    assert {song_of_row(str(p)) for p in shipped_train["piece"]} == {None, "a", "b", "c"}
    assert set(shipped_val["source"]) == {"rendered"}                  # no real song left to report on
    seen = []
    for song, tr, va in folds(train_rows, val_rows):
        seen.append(song)
        assert song not in {song_of_row(str(p)) for p in tr["piece"]}
        assert {song_of_row(str(p)) for p in va["piece"]} == {None, song}
        assert len(tr["x"]) + int((va["source"] == "recorded").sum()) == len(shipped_train["x"])
    assert seen == ["a", "b", "c"]
