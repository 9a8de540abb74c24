"""The training recipe does what the model card says it does (needs torch: the ``[test]`` extra).

``loudness_response`` claims that, after mixai's loudness normalisation, an EQ error ``err(f)``
is heard as ``err(f) - offset`` with the offset predicted from the clean mix's band levels. These
tests render real audio through the chain and measure that.
"""

from __future__ import annotations

import numpy as np
import pytest

import material

torch = pytest.importorskip("torch")


def _eq_vector(**gains_db: float) -> np.ndarray:
    from mixai.settings import EQ, HighShelf, LowShelf, Peak, neutral_settings

    eq = EQ(low_shelf=LowShelf(150.0, gains_db.get("low", 0.0)),
            mid=Peak(1000.0, gains_db.get("mid", 0.0), 0.7),
            high_shelf=HighShelf(5000.0, gains_db.get("high", 0.0)))
    return neutral_settings().replace(eq=eq).to_vector()


def _mel_levels_db(audio: np.ndarray, rate: int) -> np.ndarray:
    """Mean power per mel band over the whole signal, in dB (the MSD's mel bands)."""
    from mixai import metrics

    basis = metrics._mel_basis(rate, metrics.MEL_FFT, metrics.MEL_BANDS)
    power = metrics._magnitude(np.atleast_2d(audio), metrics.MEL_FFT, metrics.MEL_HOP) ** 2
    return 10 * np.log10(np.einsum("mk,ckt->m", basis, power) + 1e-20)


def test_loudness_offset_predicts_the_normalised_output():
    from mixai.analysis.features import extract
    from mixai.master.options import MasterOptions
    from mixai.master.pipeline import master_array
    from mixai.settings import Settings
    from mixai.training.master.model import MEL_CURVE_HZ, eq_response_db, loudness_shares

    audio = material.band_loop(8.0)
    rate = material.SR
    label = _eq_vector(low=3.0, mid=-2.0)
    pred = _eq_vector(low=9.0, high=-6.0)  # a bass-heavy error: loudness normalisation pulls it down
    options = MasterOptions(target_lufs=-30.0)  # far below the ceiling: no limiting
    out = {name: master_array(audio, rate, settings=Settings.from_vector(v), options=options)[0]
           for name, v in (("label", label), ("pred", pred))}
    measured = _mel_levels_db(out["pred"], rate) - _mel_levels_db(out["label"], rate)

    vectors = torch.tensor(np.stack([pred, label]), dtype=torch.float64)
    curves = eq_response_db(vectors, MEL_CURVE_HZ).numpy()
    err = curves[0] - curves[1]
    # The clean mix of the loss is "damaged audio + label EQ"; here the damaged audio is `audio`.
    share = loudness_shares(extract(audio, rate).values[None], label[None])[0]
    assert share.sum() == pytest.approx(1.0, abs=1e-5)
    offset = 10 * np.log10(np.sum(share * 10 ** (err / 10)))
    predicted = err - offset

    audible = (MEL_CURVE_HZ > 40) & (MEL_CURVE_HZ < 15000)  # where the loop has content
    assert abs(offset) > 1.0, "the case must have a real loudness offset to test"
    assert np.median(np.abs(measured - err)[audible]) > 1.0  # ignoring the offset would be wrong
    assert np.median(np.abs(measured - predicted)[audible]) < 0.4


def test_loss_is_zero_for_the_label_and_grows_with_the_error():
    from mixai.training.master.model import loudness_response_loss, loudness_shares

    label = _eq_vector(low=-4.0, high=6.0)
    features = np.zeros((1, 24), np.float32) - 20.0
    share = torch.tensor(loudness_shares(features, label[None]))
    y = torch.tensor(label[None], dtype=torch.float32)
    losses = [float(loudness_response_loss(torch.tensor(_eq_vector(low=-4.0, high=g)[None], dtype=torch.float32),
                                           y, share)) for g in (6.0, 3.0, 0.0, -6.0)]
    assert losses[0] == pytest.approx(0.0, abs=1e-6)
    assert losses == sorted(losses) and losses[-1] > losses[1] > 0


def test_profile_copies_only_where_the_label_does_not_need_the_reference():
    from mixai.training.master.model import label_index
    from mixai.training.master.train import with_profile_copies

    rng = np.random.default_rng(0)
    n = 6
    label = rng.random((n, 22)).astype(np.float32)
    label[:, label_index("reverb.wet")] = [0, 0, 0.3, 0, 0, 0]  # row 2: "too little reverb", needs its reference
    split = {"audio": rng.random((n, 24)).astype(np.float32), "target": rng.random((n, 24)).astype(np.float32),
             "label": label, "mode": np.array([0, 1, 1, 2, 2, 0]), "piece": np.arange(n)}
    profile = np.full(24, -7.0, np.float32)
    out = with_profile_copies(split, profile)
    copied = [1, 3, 4]
    assert len(out["label"]) == n + len(copied)
    np.testing.assert_array_equal(out["audio"][n:], split["audio"][copied])
    np.testing.assert_array_equal(out["label"][n:], split["label"][copied])
    np.testing.assert_array_equal(out["piece"][n:], copied)
    assert (out["target"][n:] == profile).all() and (out["mode"][n:] == 0).all()
    np.testing.assert_array_equal(out["target"][:n], split["target"])  # the originals are untouched
    np.testing.assert_array_equal(split["mode"], [0, 1, 1, 2, 2, 0])


def _fake_split(path, rng, n: int, pieces: int) -> None:
    """A dataset file in the layout of ``mixai.training.master.dataset`` (values random, shapes real)."""
    np.savez(path, audio=rng.normal(-10, 3, (n, 24)).astype(np.float32),
             target=rng.normal(-10, 3, (n, 24)).astype(np.float32), label=rng.random((n, 22)).astype(np.float32),
             mode=rng.integers(0, 3, n), piece=rng.integers(0, pieces, n), pieces=np.array(pieces))


def test_train_command_exports_a_model_that_records_its_datasets(tmp_path):
    """``train --extra-train``: the metadata counts every example; distinct pieces are the largest
    dataset's count unless ``--training-pieces`` says otherwise (corpora that add scores)."""
    import json

    from mixai.predict.onnx import Model
    from mixai.training.master.train import main

    rng = np.random.default_rng(0)
    (tmp_path / "main").mkdir()
    _fake_split(tmp_path / "main" / "train.npz", rng, 40, 5)
    _fake_split(tmp_path / "main" / "val.npz", rng, 10, 2)
    _fake_split(tmp_path / "more.npz", rng, 30, 9)
    for extra_args, pieces in (([], 9), (["--training-pieces", "14"], 14)):
        out = tmp_path / f"model_{pieces}.onnx"
        assert main(["--data", str(tmp_path / "main"), "--extra-train", str(tmp_path / "more.npz"), "--epochs", "1",
                     "--out", str(out), "--no-profile-copies", *extra_args]) == 0
        meta = Model(out).metadata
        assert int(meta["training_examples"]) == 70 and int(meta["training_pieces"]) == pieces
        assert [d["examples"] for d in json.loads(meta["training_datasets"])] == [40, 30]
        # the input domain is the train inputs': 99 % of them lie inside it, a far-off input does not
        from mixai.training.master.dataset import load_split

        rows = np.concatenate([load_split(tmp_path / "main" / "train.npz")["audio"],
                               load_split(tmp_path / "more.npz")["audio"]])
        domain = Model(out).domain
        assert np.mean(domain.distance2(rows) <= domain.edge_d2) >= 0.98
        assert domain.trust(rows.mean(axis=0) + 50 * rows.std(axis=0)) < 0.1
    with pytest.raises(SystemExit):  # fewer distinct scores than one dataset holds is a mistake
        main(["--data", str(tmp_path / "main"), "--extra-train", str(tmp_path / "more.npz"), "--epochs", "1",
              "--out", str(tmp_path / "never.onnx"), "--training-pieces", "8"])
    assert not (tmp_path / "never.onnx").exists()


def test_timbre_shift_changes_the_clean_mix_not_the_damage(tmp_path):
    """``--timbre-db``: the same damages and labels, on clean mixes whose balance moved as drawn."""
    import json

    from mixai.analysis.features import BAND_EDGES_HZ, extract
    from mixai.predict import load_profile
    from mixai.training.master.damage import apply_eq, sample_timbre
    from mixai.training.master.dataset import TIMBRE_STREAM, DatasetConfig, example_rng, piece_examples

    piece = tmp_path / "train" / "p0"
    piece.mkdir(parents=True)
    mix = material.write(piece / "mix.wav", material.band_loop(6.0))
    (tmp_path / "index.json").write_text(json.dumps({"splits": {"train": ["p0"]}}))
    profile = load_profile("default").features.values
    plain_config = DatasetConfig(str(tmp_path), seed=1, variants=4, excerpt_seconds=4.0)
    shifted_config = DatasetConfig(str(tmp_path), seed=1, variants=4, excerpt_seconds=4.0, timbre_db=4.0)
    assert "timbre_db" not in plain_config.key()  # caches made before the option stay valid
    assert shifted_config.key()["timbre_db"] == 4.0
    plain = piece_examples(plain_config, "train", 0, str(mix), profile, profile[None])
    shifted = piece_examples(shifted_config, "train", 0, str(mix), profile, profile[None])
    np.testing.assert_array_equal(plain["mode"], shifted["mode"])
    # the compressor threshold follows the (shifted) clean mix's level distribution; all else is equal
    from mixai.settings import PARAMETER_NAMES

    same = [i for i, name in enumerate(PARAMETER_NAMES) if name != "compressor.threshold_db"]
    assert len(same) == len(PARAMETER_NAMES) - 1
    np.testing.assert_allclose(plain["label"][:, same], shifted["label"][:, same], atol=1e-6)

    # Each variant's damaged balance moved by what its timbre EQ does to a broadband signal
    # (pink-ish noise through the same EQ, measured with the same feature bands).
    noise = np.cumsum(np.random.default_rng(0).standard_normal((2, 4 * material.SR)), axis=1)
    noise = (noise - noise.mean(axis=1, keepdims=True)).astype(np.float32)
    noise = np.diff(noise, axis=1, prepend=0) * 0.5 + 0.01 * noise / np.abs(noise).max()
    bands = len(BAND_EDGES_HZ) - 1
    moved = 0
    for v in range(4):
        eq = sample_timbre(example_rng(1, "train", 0, v + TIMBRE_STREAM), 4.0)
        expected = extract(apply_eq(noise, material.SR, eq), material.SR).bands_db() - \
            extract(noise, material.SR).bands_db()
        measured = shifted["audio"][v, :bands] - plain["audio"][v, :bands]
        expected, measured = expected - expected.mean(), measured - measured.mean()
        if np.ptp(expected) > 2.0:  # a shift big enough to see through the damage
            moved += 1
            assert np.corrcoef(expected, measured)[0, 1] > 0.8, (v, eq, expected.round(1), measured.round(1))
    assert moved >= 2
