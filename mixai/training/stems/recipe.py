"""The shipped stem models, from the installed packages to ``models/``, in one command.

    python -m mixai.training.stems.recipe --seed 0 --jobs 2

Steps, each cached under ``--work`` (re-running skips what is already built with the same settings):

1. General-MIDI renders with stems (:mod:`mixai.training.corpus.rendered`), train and val scores,
   once per training soundfont (FluidR3, TimGM6mb, OPL-3 FM), each with another arrangement
   (``--variation``) of the same scores;
2. the held-out soundfont (MuseScore General), **test scores only**: for the evaluation
   (``benchmarks/eval_mix.py``), never read by steps 4-6;
3. windows of the real band stems (:mod:`mixai.training.corpus.stems_recorded`), split by song;
4. rows (:mod:`mixai.training.stems.dataset`): damaged train renders and train songs, and the same
   for validation; real windows get more damage draws than renders (there are few of them);
5. the role classifier (:mod:`mixai.training.stems.roles`) -> ``models/mixai-roles.onnx``;
6. the stem network (:mod:`mixai.training.stems.train`) -> ``models/mixai-stems.onnx``; every choice
   made on the validation rows. No test song and no piece of the held-out soundfont is read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

SF2 = Path("/usr/share/sounds/sf2")
# (corpus name, soundfont, arrangement variation): the training timbres.
TRAIN_SOUNDFONTS = (("fluidr3", SF2 / "FluidR3_GM.sf2", 0), ("timgm6mb", SF2 / "TimGM6mb.sf2", 1),
                    ("opl3", SF2 / "OPL-3_FM_128M.sf2", 2))
# Held out of training completely: only its test-split renders exist.
TEST_SOUNDFONT = ("musescore", Path("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"), 0)


@dataclass(frozen=True)
class Recipe:
    work: str = "data/stems"
    seed: int = 0
    jobs: int = 2
    render_seconds: float = 15.0
    render_pieces: int = 200        # train + val pieces per training soundfont
    test_pieces: int = 40           # held-out soundfont, test scores
    window_seconds: float = 15.0
    hop_seconds: float = 7.5
    render_draws: int = 3
    recorded_draws: int = 8
    epochs: int = 300
    role_epochs: int = 150
    recorded_weight: float = 3.0
    noise: float = 0.1
    out: str = "models/mixai-stems.onnx"
    roles_out: str = "models/mixai-roles.onnx"

    @property
    def root(self) -> Path:
        return Path(self.work)

    def render_dir(self, name: str) -> Path:
        return self.root / "render" / name

    @property
    def recorded(self) -> Path:
        return self.root / "recorded"

    def rows(self, split: str) -> Path:
        return self.root / "rows" / f"{split}-seed{self.seed}.npz"


def _render(recipe: Recipe, name: str, soundfont: Path, variation: int, splits: tuple[str, ...], pieces: int) -> None:
    from mixai.training.corpus import rendered
    from mixai.training.corpus.layout import CorpusError, read_index

    folder = recipe.render_dir(name)
    try:
        index = read_index(folder)
        have = sum(len(index["splits"][s]) for s in splits)
        if have >= pieces and index.get("variation") == variation and index.get("seconds") == recipe.render_seconds:
            return
    except CorpusError:
        pass
    rendered.generate(folder, seed=recipe.seed, pieces=pieces, seconds=recipe.render_seconds, jobs=recipe.jobs,
                      soundfont=soundfont, splits=splits, variation=variation)


def _windows(recipe: Recipe) -> None:
    from mixai.training.corpus.layout import CorpusError, read_index
    from mixai.training.corpus.stems_recorded import WindowConfig, build_stem_windows

    try:
        index = read_index(recipe.recorded)
        if (index.get("seconds"), index.get("hop_seconds")) == (recipe.window_seconds, recipe.hop_seconds):
            return
    except CorpusError:
        pass
    build_stem_windows(recipe.recorded, config=WindowConfig(recipe.window_seconds, recipe.hop_seconds),
                       jobs=recipe.jobs)


def _rows(recipe: Recipe, split: str) -> Path:
    import numpy as np

    from mixai.training.stems.dataset import build, corpus_tasks

    out = recipe.rows(split)
    if out.is_file():
        return out
    tasks = [t for name, _, _ in TRAIN_SOUNDFONTS
             for t in corpus_tasks(recipe.render_dir(name), split, recipe.render_draws, recipe.seed)]
    tasks += corpus_tasks(recipe.recorded, split, recipe.recorded_draws, recipe.seed, source="recorded")
    data = build(tasks, recipe.jobs, f"stem rows ({split})")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".partial.npz")
    np.savez_compressed(tmp, **data)
    tmp.replace(out)
    return out


def run(recipe: Recipe) -> dict:
    from mixai.training.stems import roles, train

    began = time.perf_counter()
    times = {}
    print("1/6 renders with the training soundfonts (train and val scores)", flush=True)
    for name, soundfont, variation in TRAIN_SOUNDFONTS:
        _render(recipe, name, soundfont, variation, ("train", "val"), recipe.render_pieces)
    print("2/6 renders with the held-out soundfont (test scores, for benchmarks/eval_mix.py)", flush=True)
    name, soundfont, variation = TEST_SOUNDFONT
    _render(recipe, name, soundfont, variation, ("test",), recipe.test_pieces)
    print("3/6 windows of the real band stems", flush=True)
    _windows(recipe)
    times["data_s"] = time.perf_counter() - began
    print("4/6 rows (train, val)", flush=True)
    t = time.perf_counter()
    train_rows, val_rows = _rows(recipe, "train"), _rows(recipe, "val")
    times["rows_s"] = time.perf_counter() - t
    print("5/6 the role classifier", flush=True)
    t = time.perf_counter()
    role_info = roles.train(str(train_rows), str(val_rows), recipe.roles_out, epochs=recipe.role_epochs,
                            seed=recipe.seed, threads=recipe.jobs)
    times["roles_s"] = time.perf_counter() - t
    print("6/6 the stem network", flush=True)
    t = time.perf_counter()
    stem_info = train.train(str(train_rows), str(val_rows), recipe.out, epochs=recipe.epochs, seed=recipe.seed,
                            recorded_weight=recipe.recorded_weight, noise=recipe.noise, threads=recipe.jobs)
    times["stems_s"] = time.perf_counter() - t
    times["total_s"] = time.perf_counter() - began
    result = {"roles": role_info, "stems": stem_info, "seconds": {k: round(v, 1) for k, v in times.items()}}
    print(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    defaults = Recipe()
    parser = argparse.ArgumentParser(prog="python -m mixai.training.stems.recipe",
                                     description="Build the data and train the shipped stem and role models.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for name, value in asdict(defaults).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    recipe = Recipe(**vars(parser.parse_args(argv)))
    print(json.dumps(asdict(recipe)), flush=True)
    run(recipe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
