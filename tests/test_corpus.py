"""The recorded-music corpus: the shipped manifest, package splits, excerpts and real-master damage."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixai.training.corpus import catalogue
from mixai.training.corpus.excerpts import ExcerptConfig, build_excerpts, reference_start, window_starts
from mixai.training.corpus.layout import iter_pieces, reference_of
from mixai.training.master.damage import (MASTER_FAULTS, SAMPLERS, Damage, apply_eq, band_limit,
                                          sample_master_damage)

RATE = 44100


def band_db(x: np.ndarray, low_hz: float, high_hz: float) -> float:
    """Energy of a (channels, samples) signal between two frequencies, in dB."""
    spectrum = np.abs(np.fft.rfft(x.mean(axis=0))) ** 2
    freqs = np.fft.rfftfreq(x.shape[1], 1 / RATE)
    return float(10 * np.log10(spectrum[(freqs >= low_hz) & (freqs < high_hz)].sum() + 1e-20))


def pink(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(rng.standard_normal((2, n)), axis=1)
    spectrum /= np.sqrt(np.maximum(np.fft.rfftfreq(n, 1 / RATE), 20.0))
    x = np.fft.irfft(spectrum, n=n, axis=1)
    return (0.1 * x / np.abs(x).max()).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# The manifest that ships in the repo
# ---------------------------------------------------------------------------------------------

def test_shipped_manifest_splits_by_whole_package() -> None:
    manifest = catalogue.load_manifest()
    packages = manifest["packages"]
    assert set(packages) <= set(catalogue.MASTERED_PACKAGES)
    splits_of_package: dict[str, set[str]] = {}
    for track in manifest["tracks"]:
        splits_of_package.setdefault(track["package"], set()).add(track["split"])
        assert track["split"] == packages[track["package"]]["split"]
        assert track["duration_s"] >= catalogue.MIN_TRACK_SECONDS
        # decoded lossy files of hot masters overshoot full scale (one reads +6.3 dBTP)
        assert -60 < track["integrated_lufs"] < 0 and track["true_peak_dbtp"] < 12
        assert track["sample_rate"] >= 8000 and track["channels"] in (1, 2)
    assert all(len(s) == 1 for s in splits_of_package.values())
    counts = Counter(t["split"] for t in manifest["tracks"])
    assert counts["train"] > counts["test"] > 20 and counts["val"] > 20
    ids = [t["track_id"] for t in manifest["tracks"]]
    assert len(ids) == len(set(ids))
    assert all(info["licences"] and info["licences"] != ["unknown"] for info in packages.values())
    table = catalogue.split_table(manifest)
    for split in ("train", "val", "test"):
        assert f"| {split} |" in table


def test_split_assignment_is_by_package_and_deterministic() -> None:
    counts = {f"pkg{i}": n for i, n in enumerate([300, 120, 90, 60, 40, 30, 20, 15, 10, 5, 3, 2])}
    splits = catalogue.assign_splits(counts)
    assert splits == catalogue.assign_splits(dict(reversed(list(counts.items()))))
    total = sum(counts.values())
    share = {s: sum(n for p, n in counts.items() if splits[p] == s) / total for s in ("train", "val", "test")}
    assert share["test"] >= 0.10 and share["val"] >= 0.08 and share["train"] >= 0.55
    assert splits["pkg0"] == "train"  # 43 % of the tracks: never a whole held-out split
    assert catalogue.assign_splits(counts, seed=1) != splits


def test_licences_are_read_from_an_installed_copyright_file() -> None:
    package = next((p for p in catalogue.MASTERED_PACKAGES if catalogue.is_installed(p)), None)
    if package is None:
        pytest.skip("no corpus package installed (make corpus installs them)")
    licences = catalogue.package_licences(package)
    assert licences and all(isinstance(name, str) and name for name in licences)
    assert all(name in catalogue.load_manifest()["packages"].get(package, {"licences": licences})["licences"]
               for name in licences)


# ---------------------------------------------------------------------------------------------
# Excerpts
# ---------------------------------------------------------------------------------------------

def test_windows_stay_in_the_middle_and_the_reference_does_not_overlap() -> None:
    config = ExcerptConfig(seconds=20.0, windows=3, reference_seconds=30.0)
    rng = np.random.default_rng(0)
    for duration in (45.0, 90.0, 200.0, 600.0):
        starts = window_starts(duration, config, rng)
        assert 1 <= len(starts) <= 3
        for start in starts:
            assert 0 <= start and start + config.seconds <= duration
            ref = reference_start(duration, start, config)
            if ref is not None:
                assert ref + 30.0 <= start or ref >= start + 20.0
                assert 0 <= ref and ref + 30.0 <= duration
    assert reference_start(45.0, 12.0, config) is None  # no 30 s left beside the excerpt


def test_excerpt_corpus_from_a_manifest(tmp_path: Path) -> None:
    """A held-out track gives excerpts with a same-recording reference cut from elsewhere in it."""
    audio = pink(100.0)
    source = tmp_path / "song.flac"
    sf.write(source, audio.T, RATE, subtype="PCM_24")
    track = {"package": "fake", "path": str(source), "duration_s": 100.0, "sample_rate": RATE, "channels": 2,
             "integrated_lufs": -20.0, "true_peak_dbtp": -3.0, "track_id": "fake.song.0", "split": "test"}
    manifest = {"manifest_version": 1, "packages": {"fake": {"split": "test"}}, "tracks": [track]}
    index = build_excerpts(tmp_path / "corpus", config=ExcerptConfig(seconds=10.0, windows=3), splits=("test",),
                           manifest=manifest, jobs=1, progress=False)
    pieces = iter_pieces(tmp_path / "corpus", "test")
    assert len(pieces) == len(index["splits"]["test"]) == 3
    for mix_path, _ in pieces:
        meta = json.loads((mix_path.parent / "meta.json").read_text())
        mix, rate = sf.read(mix_path, dtype="float32", always_2d=True)
        ref, _ = sf.read(reference_of(mix_path), dtype="float32", always_2d=True)
        assert rate == RATE and mix.shape == (10 * RATE, 2) and ref.shape == (30 * RATE, 2)
        a, r = meta["start_sample"], meta["reference_start_sample"]
        assert np.abs(mix.T - audio[:, a:a + 10 * RATE]).max() < 1e-4  # 24-bit copies of the source
        assert np.abs(ref.T - audio[:, r:r + 30 * RATE]).max() < 1e-4
        assert r + 30 * RATE <= a or r >= a + 10 * RATE
    assert not list((tmp_path / "corpus").rglob(".*part*"))


# ---------------------------------------------------------------------------------------------
# The faults of real masters
# ---------------------------------------------------------------------------------------------

def test_master_damage_draws_every_fault_and_sometimes_none() -> None:
    clean = pink(4.0)
    draws = [sample_master_damage(np.random.default_rng(i), clean, RATE) for i in range(300)]
    described = " | ".join(d.describe() for d in draws)
    assert sum(d.describe() == "none" for d in draws) >= 20  # good masters that need only their level
    assert "low-pass" in described and "compress" in described and "width" in described
    gains = [abs(b.gain_db) for d in draws for b in (d.eq.low_shelf, d.eq.low_mid, d.eq.mid, d.eq.high_mid,
                                                      d.eq.high_shelf) if b.gain_db]
    assert max(gains) <= 10.0 and np.median(gains) < 7.0  # what engineers hear as faults, not +-12 dB extremes
    assert set(MASTER_FAULTS) >= {"tilt", "resonance", "mud", "harsh", "boom", "stereo", "over_compressed", "lossy"}
    assert SAMPLERS["master"] is sample_master_damage


def test_master_damage_label_undoes_its_eq_and_width() -> None:
    """The label (the chain's own settings) brings an EQ/width damage back to the clean balance."""
    from mixai.dsp.chain import apply_width, build_boards
    from mixai.dsp.chain import REFERENCE_LUFS
    from mixai.training.master.damage import level_lufs

    clean = pink(4.0, seed=3)
    for seed in range(40):
        damage = sample_master_damage(np.random.default_rng(seed), clean, RATE)
        if damage.compress is None and damage.lowpass_hz is None and not damage.eq.is_neutral:
            break
    damaged, _ = damage.apply(clean, RATE)
    label = damage.label()
    x = damaged * np.float32(10 ** ((REFERENCE_LUFS - level_lufs(damaged, RATE)) / 20))
    pre, _ = build_boards(label)
    repaired = apply_width(np.asarray(pre.process(np.ascontiguousarray(x), RATE), np.float32), label.stereo.width)
    ref = clean * np.float32(10 ** ((REFERENCE_LUFS - level_lufs(clean, RATE)) / 20))
    for low, high in ((60, 150), (150, 500), (500, 2000), (2000, 5000), (5000, 12000)):
        assert abs(band_db(repaired, low, high) - band_db(ref, low, high)) < 0.3
        assert abs(band_db(damaged, low, high) - band_db(clean, low, high) - damage.level_db) < 40


def test_named_faults_move_the_bands_they_name() -> None:
    clean = pink(4.0, seed=5)
    from mixai.settings import EQ, LowShelf, Peak

    mud = apply_eq(clean, RATE, EQ(low_mid=Peak(freq_hz=300.0, gain_db=6.0, q=1.0)))
    assert band_db(mud, 200, 450) - band_db(clean, 200, 450) > 4.0
    assert abs(band_db(mud, 3000, 8000) - band_db(clean, 3000, 8000)) < 0.5
    boom = apply_eq(clean, RATE, EQ(low_shelf=LowShelf(freq_hz=100.0, gain_db=6.0)))
    assert band_db(boom, 30, 70) - band_db(clean, 30, 70) > 5.0
    lossy = band_limit(clean, RATE, 12000.0)
    assert band_db(clean, 15000, 20000) - band_db(lossy, 15000, 20000) > 30.0
    assert abs(band_db(lossy, 500, 5000) - band_db(clean, 500, 5000)) < 0.1
    assert Damage(lowpass_hz=12000.0).label().eq.is_neutral  # a band limit cannot be undone
