"""Clean-mix features of the corpus, and the built-in ``default`` target profile made from them.

The profile is the mean feature vector of the *train* split's clean mixes: the reference-free mode
asks the model to move a track toward "a typical clean mix of the corpus". It is written to
``mixai/profiles/default.json`` in the format :func:`mixai.predict.load_profile` reads.

Usage::

    python -m mixai.training.master.profiles --corpus data/corpus            # writes the default profile
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from mixai.analysis.features import FEATURE_NAMES, Features, extract

PROFILE_PATH = Path(__file__).resolve().parents[2] / "profiles" / "default.json"


def load_mix(path: str | Path) -> tuple[np.ndarray, int]:
    """A mix as (channels, samples) float32 and its sample rate."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), int(rate)


def _features_of(path: Path) -> np.ndarray:
    audio, rate = load_mix(path)
    return extract(audio, rate).values


def clean_features(corpus: str | Path, split: str, *, jobs: int = 2, progress: bool = True,
                   cache_dir: str | Path | None = None) -> tuple[list[str], np.ndarray]:
    """(piece ids, (pieces, 24) features of each whole clean mix) for a split; cached as .npz."""
    from tqdm import tqdm

    from mixai.training.corpus.layout import iter_pieces

    pieces = iter_pieces(corpus, split)
    ids = [mix.parent.name for mix, _ in pieces]
    cache = Path(cache_dir) / f"clean_features_{split}.npz" if cache_dir else None
    if cache is not None and cache.is_file():
        data = np.load(cache)
        if list(data["ids"]) == ids and list(data["names"]) == list(FEATURE_NAMES):
            return ids, data["features"]
    paths = [mix for mix, _ in pieces]
    if jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            rows = list(tqdm(pool.imap(_features_of, paths), total=len(paths), disable=not progress,
                             desc=f"clean features ({split})", unit="piece"))
    else:
        rows = [_features_of(p) for p in tqdm(paths, disable=not progress, desc=f"clean features ({split})")]
    features = np.stack(rows).astype(np.float32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, ids=np.array(ids), names=np.array(FEATURE_NAMES), features=features)
    return ids, features


def profile_dict(features: np.ndarray, *, pieces: int, description: str) -> dict:
    mean = Features(np.asarray(features, dtype=np.float64).mean(axis=0).astype(np.float32))
    return {"name": "default", "description": description, "pieces": int(pieces), "features": mean.to_dict()}


def write_default_profile(corpus: str | Path, *, out: str | Path = PROFILE_PATH, jobs: int = 2,
                          cache_dir: str | Path | None = "data/dataset", progress: bool = True,
                          source: str = "synthetic corpus") -> Features:
    """Compute the train-split mean and write it as the ``default`` profile; returns its features.

    ``source`` names the corpus in the profile's description."""
    from mixai.io.atomic import write_text_atomic

    ids, features = clean_features(corpus, "train", jobs=jobs, progress=progress, cache_dir=cache_dir)
    data = profile_dict(features, pieces=len(ids),
                        description=f"mean features of the {len(ids)} clean train-split excerpts of the "
                                    f"{source} (mixai.training.master.profiles)")
    write_text_atomic(out, json.dumps(data, indent=1) + "\n", overwrite=True)
    return Features.from_dict(data["features"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mixai.training.master.profiles",
                                     description="Write mixai/profiles/default.json from the train split.")
    parser.add_argument("--corpus", default="data/corpus", type=Path)
    parser.add_argument("--out", default=PROFILE_PATH, type=Path)
    parser.add_argument("--cache", default="data/dataset", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--source", default="synthetic corpus", help="what the corpus is, for the description")
    args = parser.parse_args(argv)
    write_default_profile(args.corpus, out=args.out, jobs=args.jobs, cache_dir=args.cache, source=args.source)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
