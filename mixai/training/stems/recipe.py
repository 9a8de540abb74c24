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
5. the role classifier (:mod:`mixai.training.stems.roles`) -> ``models/mixai-roles.onnx``, trained
   on the train rows, the epoch chosen on the validation rows;
6. the stem network (:mod:`mixai.training.stems.train`) -> ``models/mixai-stems.onnx``, trained on
   the rendered train rows and every real song that is not a test song (train and val songs), for
   a fixed number of epochs, with the setting that leave-one-song-out over those songs chose
   (:mod:`mixai.training.stems.cv`; ``--cv`` re-runs that choice first and uses its winner); its
   *level trust* (how far the runtime follows the level output, 1 = fully, 0 = equal loudness) is
   chosen on the same held-out validation songs (do no harm on the least familiar one).

No test song and no piece of the held-out soundfont is read by steps 1-6. ``--song-models DIR``
adds a report-only step 7: with four real songs, the real figures of ``benchmarks/eval_mix.py`` are
leave-one-song-out, so for each real song (test song included) a network that never heard it is
trained with the same setting and trust (:func:`mixai.training.stems.cv.song_models`); it reads the
test song's rows to train the networks of the *other* songs' folds, and none of them ships.
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
# The networks are small (seconds an epoch): one torch thread, whatever --jobs says, so the same seed
# gives the same weights bit for bit (several threads sum in another order).
NETWORK_THREADS = 1
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
    # Chosen by leave-one-song-out (python -m mixai.training.stems.cv), see models/STEMS.md.
    epochs: int = 60
    level_bound_db: float = 1.0
    recorded_weight: float = 0.5
    noise: float = 0.1
    cv: bool = False
    song_models: str = ""           # report-only step 7: leave-one-song-out networks into this folder
    role_epochs: int = 150
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


def _test_rows(recipe: Recipe) -> Path:
    """Rows of the real test songs (report step 7 only)."""
    import numpy as np

    from mixai.training.stems.dataset import build, corpus_tasks

    out = recipe.rows("test-recorded")
    if not out.is_file():
        data = build(corpus_tasks(recipe.recorded, "test", recipe.recorded_draws, recipe.seed, source="recorded"),
                     recipe.jobs, "stem rows (real test songs)")
        tmp = out.with_name(out.stem + ".partial.npz")
        np.savez_compressed(tmp, **data)
        tmp.replace(out)
    return out


def run(recipe: Recipe) -> dict:
    from mixai.training.stems import cv, roles, train

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
                            seed=recipe.seed, threads=NETWORK_THREADS)
    times["roles_s"] = time.perf_counter() - t
    print("6/6 the stem network", flush=True)
    t = time.perf_counter()
    setting = cv.Setting(recipe.level_bound_db, recipe.recorded_weight, recipe.epochs)
    held = None
    if recipe.cv:
        results = [cv.evaluate(cv.Setting.parse(c), train_rows, val_rows, seed=recipe.seed, threads=NETWORK_THREADS)
                   for c in cv.CV_SETTINGS]
        best = min(results, key=lambda r: r["score"])
        setting, held = cv.Setting.parse(best["setting"]), best["heldout"]
        print(json.dumps([{"setting": r["setting"], "score": round(r["score"], 3)} for r in results]), flush=True)
    if held is None:
        held = cv.heldout(setting, train_rows, val_rows, seed=recipe.seed, threads=NETWORK_THREADS)
    trust, trust_table = cv.choose_trust(held)
    print(f"level trust {trust} (worst held-out ratio {min(r['worst'] for r in trust_table):.3f}; "
          f"at trust 1: {trust_table[-1]['worst']:.3f})", flush=True)
    final_train, final_val = cv.final_rows(train_rows, val_rows)
    stem_info = train.train(final_train, final_val, recipe.out, level_trust=trust, epochs=setting.epochs,
                            seed=recipe.seed, level_bound_db=setting.level_bound_db,
                            recorded_weight=setting.recorded_weight, noise=recipe.noise, keep="last",
                            threads=NETWORK_THREADS)
    stem_info["setting"] = str(setting)
    stem_info["setting_chosen_by"] = "leave-one-song-out over the non-test real songs (mixai.training.stems.cv)"
    stem_info["level_trust_table"] = [{"trust": r["trust"], "worst": round(r["worst"], 3)} for r in trust_table]
    times["stems_s"] = time.perf_counter() - t
    if recipe.song_models:
        print("7/7 leave-one-song-out networks for the report (not shipped)", flush=True)
        t = time.perf_counter()
        made = cv.song_models(setting, trust, train_rows, val_rows, _test_rows(recipe), recipe.song_models,
                              seed=recipe.seed, threads=NETWORK_THREADS)
        stem_info["song_models"] = {k: str(v) for k, v in made.items()}
        times["song_models_s"] = time.perf_counter() - t
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
