"""Training examples: (features of damaged audio, features of a target) -> settings that undo the damage.

For every piece of a split, ``variants`` examples are drawn, each from its own generator seeded by
``(seed, split, piece, variant)``, so the cache is the same whatever ``--jobs`` is:

1. a random ``excerpt_seconds`` excerpt of the clean mix, with ``--timbre-db`` moved to another
   clean balance (:func:`mixai.training.master.damage.sample_timbre`, drawn from a generator of its own);
2. a damage (:func:`mixai.training.master.damage.sample_damage`) and its label (the inverse settings);
3. a target, one of three modes:

   * ``0`` reference-free (probability ``profile_fraction``, 0.5): the built-in ``default`` profile,
     the mean clean-mix features of the train split (:mod:`mixai.training.master.profiles`);
   * ``1`` reference = the clean version of this very excerpt (the "too little reverb" damage is only
     drawn here, since only here does the target show the missing reverb);
   * ``2`` reference = the whole clean mix of *another* piece of the same split: a reference that only
     roughly resembles the goal, as a user's reference track does;
   * ``3`` reference = another excerpt of the *same recording* (recorded corpora cut several windows
     from each track; probability ``same_recording_fraction``, taken first): what a user who masters
     one section with another, finished section of the song as reference gives. Pieces with no
     sibling excerpt fall back to the modes above.

   The label is the same in all modes (undo the damage): the target is evidence, not a command.

The arrays are cached in ``<out>/<split>.npz``: ``audio`` (n, 24), ``target`` (n, 24), ``label``
(n, 22; the [0, 1] settings vector), ``mode`` (n,), ``piece`` (n,), plus the settings used.

Usage::

    python -m mixai.training.master.dataset --corpus data/corpus --out data/dataset --variants 30 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mixai.analysis.features import FEATURE_NAMES, FEATURE_VERSION, extract
from mixai.settings import PARAMETER_NAMES, SCHEMA_VERSION

MODE_PROFILE, MODE_SAME, MODE_OTHER, MODE_SAME_RECORDING = 0, 1, 2, 3
TIMBRE_STREAM = 1 << 20  # variant offset of the generator that draws the clean-balance shift
DATASET_VERSION = 1
DAMAGE_CHOICES = ("synthetic", "master", "mixed")
MIXED_MASTER_SHARE = 0.7


@dataclass(frozen=True)
class DatasetConfig:
    corpus: str
    seed: int = 0
    variants: int = 30
    excerpt_seconds: float = 12.0
    profile_fraction: float = 0.5
    same_fraction: float = 0.5  # of the reference-mode examples
    timbre_db: float = 0.0  # spread of the clean-balance shift (mixai.training.master.damage.sample_timbre); 0 = none
    damage: str = "synthetic"  # "synthetic", "master" (real masters' faults) or "mixed" (MIXED_MASTER_SHARE master)
    same_recording_fraction: float = 0.0  # reference = another excerpt of the same recording (mode 3)

    def __post_init__(self) -> None:
        if self.damage not in DAMAGE_CHOICES:
            raise ValueError(f"damage must be one of {', '.join(DAMAGE_CHOICES)}, got {self.damage!r}")

    def key(self) -> dict:
        key = {"dataset_version": DATASET_VERSION, "feature_version": FEATURE_VERSION,
               "schema_version": SCHEMA_VERSION, "seed": self.seed, "variants": self.variants,
               "excerpt_seconds": self.excerpt_seconds, "profile_fraction": self.profile_fraction,
               "same_fraction": self.same_fraction}
        if self.timbre_db:  # absent when off, so caches made before the option stay valid
            key["timbre_db"] = self.timbre_db
        if self.damage != "synthetic":
            key["damage"] = self.damage
        if self.same_recording_fraction:
            key["same_recording_fraction"] = self.same_recording_fraction
        return key


def example_rng(seed: int, split: str, piece: int, variant: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(split.encode()), piece, variant])


def draw_damage(kind: str, rng: np.random.Generator, clean: np.ndarray, rate: int, *, same_reference: bool,
                clean_lufs: float):
    """One damage from the sampler ``kind`` names (see :data:`DAMAGE_CHOICES`)."""
    from mixai.training.master.damage import SAMPLERS

    if kind == "mixed":
        kind = "master" if rng.random() < MIXED_MASTER_SHARE else "synthetic"
    if kind == "synthetic":  # "too little reverb" only where the target shows the missing room
        return SAMPLERS[kind](rng, clean, rate, allow_missing_reverb=same_reference, clean_lufs=clean_lufs)
    return SAMPLERS[kind](rng, clean, rate, clean_lufs=clean_lufs)


def piece_examples(config: DatasetConfig, split: str, piece_index: int, mix_path: str,
                   profile: np.ndarray, others: np.ndarray, siblings: tuple[int, ...] = ()
                   ) -> dict[str, np.ndarray]:
    """All variants of one piece (runs in a worker); ``siblings`` are the indices of the other
    excerpts of the same recording."""
    from mixai.training.master.damage import apply_eq, level_lufs, sample_timbre
    from mixai.training.master.profiles import load_mix

    audio, rate = load_mix(mix_path)
    length = min(audio.shape[1], int(config.excerpt_seconds * rate))
    rows: dict[str, list] = {"audio": [], "target": [], "label": [], "mode": []}
    for v in range(config.variants):
        rng = example_rng(config.seed, split, piece_index, v)
        start = int(rng.integers(0, audio.shape[1] - length + 1))
        clean = np.ascontiguousarray(audio[:, start:start + length])
        if config.timbre_db:  # its own generator: the damage drawn below is the same as without it
            timbre = sample_timbre(example_rng(config.seed, split, piece_index, v + TIMBRE_STREAM),
                                   config.timbre_db)
            clean = apply_eq(clean, rate, timbre)
        u = rng.random()
        if siblings and config.same_recording_fraction and rng.random() < config.same_recording_fraction:
            mode = MODE_SAME_RECORDING
        elif u < config.profile_fraction:
            mode = MODE_PROFILE
        elif u < config.profile_fraction + (1 - config.profile_fraction) * config.same_fraction:
            mode = MODE_SAME
        else:
            mode = MODE_OTHER
        clean_lufs = level_lufs(clean, rate)
        damage = draw_damage(config.damage, rng, clean, rate, same_reference=(mode == MODE_SAME),
                             clean_lufs=clean_lufs)
        damaged, threshold = damage.apply(clean, rate, clean_lufs=clean_lufs)
        label = damage.label(threshold).to_vector()
        if mode == MODE_PROFILE:
            target = profile
        elif mode == MODE_SAME:
            target = extract(damage.clean_version(clean, rate), rate).values
        elif mode == MODE_SAME_RECORDING:
            target = others[int(rng.choice(siblings))]
        else:
            choices = [i for i in range(len(others)) if i != piece_index]
            target = others[int(rng.choice(choices))] if choices else profile
        rows["audio"].append(extract(damaged, rate).values)
        rows["target"].append(np.asarray(target, dtype=np.float32))
        rows["label"].append(label)
        rows["mode"].append(mode)
    return {k: np.asarray(v) for k, v in rows.items()}


def sibling_excerpts(piece_ids: list[str]) -> list[tuple[int, ...]]:
    """For each piece, the indices of the other excerpts of its recording
    (:func:`mixai.training.corpus.excerpts.recording_of`)."""
    from mixai.training.corpus.excerpts import recording_of

    groups: dict[str, list[int]] = {}
    for i, piece_id in enumerate(piece_ids):
        groups.setdefault(recording_of(piece_id), []).append(i)
    return [tuple(j for j in groups[recording_of(piece_id)] if j != i) for i, piece_id in enumerate(piece_ids)]


def _worker(args):
    return args[2], piece_examples(*args)


def build_split(config: DatasetConfig, split: str, out_dir: str | Path, *, jobs: int = 2,
                progress: bool = True) -> Path:
    """Generate (or reuse the cached) examples of one split; returns the .npz path."""
    from tqdm import tqdm

    from mixai.predict import load_profile
    from mixai.training.corpus.layout import iter_pieces
    from mixai.training.master.profiles import clean_features

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{split}.npz"
    key = json.dumps(config.key(), sort_keys=True)
    if path.is_file():
        with np.load(path) as cached:
            if str(cached["key"]) == key:
                return path
    pieces = iter_pieces(config.corpus, split)
    ids, others = clean_features(config.corpus, split, jobs=jobs, progress=progress, cache_dir=out)
    profile = load_profile("default").features.values
    siblings = sibling_excerpts(ids)
    tasks = [(config, split, i, str(mix), profile, others, siblings[i]) for i, (mix, _) in enumerate(pieces)]
    results: dict[int, dict[str, np.ndarray]] = {}
    bar = tqdm(total=len(tasks) * config.variants, desc=f"examples ({split})", unit="ex", disable=not progress)
    began = time.perf_counter()
    if jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            for index, rows in pool.imap_unordered(_worker, tasks):
                results[index] = rows
                bar.update(config.variants)
    else:
        for task in tasks:
            index, rows = _worker(task)
            results[index] = rows
            bar.update(config.variants)
    bar.close()
    order = sorted(results)
    arrays = {k: np.concatenate([results[i][k] for i in order]) for k in ("audio", "target", "label", "mode")}
    arrays["piece"] = np.concatenate([np.full(config.variants, i) for i in order])
    np.savez_compressed(path, key=np.array(key), feature_names=np.array(FEATURE_NAMES),
                        parameter_names=np.array(PARAMETER_NAMES), pieces=np.array(len(pieces)),
                        seconds=np.array(time.perf_counter() - began), **arrays)
    return path


def load_split(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mixai.training.master.dataset",
                                     description="Damaged-excerpt features and inverse-settings labels, cached as .npz.")
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--out", default="data/dataset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", type=int, default=30)
    parser.add_argument("--excerpt-seconds", type=float, default=12.0)
    parser.add_argument("--splits", nargs="+", default=["train", "val"])
    parser.add_argument("--timbre-db", type=float, default=0.0, metavar="DB",
                        help="shift every clean excerpt's balance (shelves, one wide bell) by about DB dB "
                             "before damaging it, as other instruments and productions would; the shift "
                             "is part of the clean mix, not of the label (default 0: off)")
    parser.add_argument("--damage", default="synthetic", choices=DAMAGE_CHOICES,
                        help="damage sampler: synthetic (chain-shaped, +-12 dB), master (the faults of real "
                             f"masters, mixai.training.master.damage.MASTER_FAULTS) or mixed ({MIXED_MASTER_SHARE:.0%} "
                             "master)")
    parser.add_argument("--same-recording-fraction", type=float, default=0.0, metavar="P",
                        help="share of examples whose reference is another excerpt of the same recording "
                             "(recorded corpora; default 0)")
    parser.add_argument("--profile-fraction", type=float, default=0.5)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    config = DatasetConfig(args.corpus, seed=args.seed, variants=args.variants,
                           excerpt_seconds=args.excerpt_seconds, timbre_db=args.timbre_db, damage=args.damage,
                           same_recording_fraction=args.same_recording_fraction,
                           profile_fraction=args.profile_fraction)
    for split in args.splits:
        path = build_split(config, split, args.out, jobs=args.jobs)
        print(f"{split}: {len(load_split(path)['label'])} examples -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
