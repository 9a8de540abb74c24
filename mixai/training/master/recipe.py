"""The shipped mastering model, from the installed packages to ``models/mixai-master.onnx``, in one command.

    python -m mixai.training.master.recipe --seed 0 --jobs 2       # (make train-master)

Steps, each cached under ``--work`` (re-running skips what is already built with the same settings):

1. excerpts of the catalogued recordings (:mod:`mixai.training.corpus.excerpts`), all three splits;
2. General-MIDI renderings of train scores only (:mod:`mixai.training.corpus.rendered`, mixes
   only), with FluidR3 and again with TimGM6mb (duller, band-limited samples), so the model also
   keeps what it knew about renders and does not take one soundfont's timbre for damage
   (MuseScore General stays out of training: the held-out soundfont);
3. the ``default`` profile: the mean features of the recorded *train* excerpts
   (:mod:`mixai.training.master.profiles`), the reference-free target;
4. examples (:mod:`mixai.training.master.dataset`): recorded train and val excerpts with the
   ``mixed`` damage (70 % the faults of real masters, 30 % the synthetic sampler); the same with
   another excerpt of the same recording as the reference (``same_recording_variants``); the
   renders with the synthetic sampler;
5. training and export (:mod:`mixai.training.master.train`), the epoch chosen on the recorded
   val split;
6. the do-no-harm calibration (:mod:`mixai.training.master.calibrate`): EQ and width dead bands and
   per-aspect amounts chosen on the recorded val split, written into the model file.

The test packages are never read here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Recipe:
    work: str = "data"
    seed: int = 0
    jobs: int = 2
    excerpt_seconds: float = 20.0
    windows: int = 3
    recorded_variants: int = 8
    val_variants: int = 4
    same_recording_variants: int = 4
    render_pieces: int = 200
    render_seconds: float = 20.0
    render_variants: int = 6
    second_soundfont: str = "/usr/share/sounds/sf2/TimGM6mb.sf2"
    epochs: int = 40
    out: str = "models/mixai-master.onnx"

    @property
    def recorded(self) -> Path:
        return Path(self.work) / "recorded"

    @property
    def rendered(self) -> Path:
        return Path(self.work) / "rendered_gm"

    @property
    def rendered_second(self) -> Path:
        return Path(self.work) / "rendered_gm_second"


def _excerpts(recipe: Recipe) -> None:
    from mixai.training.corpus.excerpts import ExcerptConfig, build_excerpts
    from mixai.training.corpus.layout import CorpusError, read_index

    config = ExcerptConfig(seconds=recipe.excerpt_seconds, windows=recipe.windows, seed=recipe.seed)
    try:
        index = read_index(recipe.recorded)
        if (index.get("seconds"), index.get("windows"), index.get("seed")) == (config.seconds, config.windows,
                                                                              config.seed):
            return
    except CorpusError:
        pass
    build_excerpts(recipe.recorded, config=config, jobs=recipe.jobs)


def _renders(recipe: Recipe, out: Path, soundfont: str | None = None) -> None:
    from mixai.training.corpus import rendered
    from mixai.training.corpus.layout import CorpusError, read_index

    try:
        if len(read_index(out)["splits"]["train"]) >= recipe.render_pieces:
            return
    except CorpusError:
        pass
    extra = {"soundfont": soundfont} if soundfont else {}
    rendered.generate(out, seed=recipe.seed, pieces=recipe.render_pieces, seconds=recipe.render_seconds,
                      jobs=recipe.jobs, splits=("train",), stems=False, **extra)


def run(recipe: Recipe) -> Path:
    from mixai.training.master import calibrate, train
    from mixai.training.master.dataset import DatasetConfig, build_split
    from mixai.training.master.profiles import write_default_profile

    began = time.perf_counter()
    print("1/6 excerpts of the recorded corpus", flush=True)
    _excerpts(recipe)
    print("2/6 General-MIDI renders (train scores)", flush=True)
    _renders(recipe, recipe.rendered)
    _renders(recipe, recipe.rendered_second, recipe.second_soundfont)
    print("3/6 the default profile (recorded train excerpts)", flush=True)
    write_default_profile(recipe.recorded, jobs=recipe.jobs, cache_dir=Path(recipe.work) / "dataset_recorded",
                          source="recorded package corpus (mixai.training.corpus)")
    print("4/6 examples", flush=True)
    recorded = Path(recipe.work) / "dataset_recorded"
    build_split(DatasetConfig(str(recipe.recorded), seed=recipe.seed, variants=recipe.recorded_variants,
                              damage="mixed"), "train", recorded, jobs=recipe.jobs)
    build_split(DatasetConfig(str(recipe.recorded), seed=recipe.seed, variants=recipe.val_variants, damage="mixed"),
                "val", recorded, jobs=recipe.jobs)
    same_recording = Path(recipe.work) / "dataset_recorded_samerec"
    for split in ("train", "val"):
        build_split(DatasetConfig(str(recipe.recorded), seed=recipe.seed + 5, variants=recipe.same_recording_variants,
                                  damage="mixed", same_recording_fraction=1.0), split, same_recording, jobs=recipe.jobs)
    renders = Path(recipe.work) / "dataset_rendered_gm"
    renders_npz = build_split(DatasetConfig(str(recipe.rendered), seed=recipe.seed + 1,
                                            variants=recipe.render_variants), "train", renders, jobs=recipe.jobs)
    renders_second_npz = build_split(DatasetConfig(str(recipe.rendered_second), seed=recipe.seed + 2,
                                                   variants=recipe.render_variants), "train",
                                     Path(recipe.work) / "dataset_rendered_gm_second", jobs=recipe.jobs)
    print("5/6 training", flush=True)
    train.main(["--data", str(recorded), "--extra-train", str(same_recording / "train.npz"), str(renders_npz), str(renders_second_npz),
                "--seed", str(recipe.seed),
                "--epochs", str(recipe.epochs), "--out", recipe.out, "--threads", str(recipe.jobs)])
    print("6/6 do-no-harm calibration (recorded val split)", flush=True)
    calibrate.main(["--model", recipe.out, "--data", str(recorded), "--reference-data", str(same_recording)])
    print(f"recipe done in {time.perf_counter() - began:.0f} s: {recipe.out}")
    return Path(recipe.out)


def main(argv: list[str] | None = None) -> int:
    defaults = Recipe()
    parser = argparse.ArgumentParser(prog="python -m mixai.training.master.recipe",
                                     description="Build the data and train the shipped mastering model.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for name, value in asdict(defaults).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args(argv)
    recipe = Recipe(**vars(args))
    print(json.dumps(asdict(recipe)))
    run(recipe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
