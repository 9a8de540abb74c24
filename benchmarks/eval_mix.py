"""Evaluate stem mixing on held-out songs whose stems were scrambled: renders and real stems, apart.

For every piece of each corpus' held-out split (a rendered corpus, e.g. one with a soundfont never
used in training, or the windows of real band stems from :mod:`mixai.training.corpus.stems_recorded`):
the stems (which sum to the balanced mix, the artists' own for real stems) are damaged with
:func:`mixai.training.stems.damage.damage_song` (levels +-12 dB, EQ +-6 dB on five bands,
over-compression or gain riding, 30 % folded to mono; seeded per piece), then mixed by

* ``mixai mix`` (the stem ONNX model; the in-memory twin of ``mixai mix``, :func:`mixai.mix.mix_arrays`),
* the same with the stems renamed ``track01``, ``track02``... in shuffled order, so every role
  comes from the sound (:mod:`mixai.predict.roles`),
* ``mixai mix --predictor dsp`` (equal loudness with role offsets),
* summing the damaged stems as they are,
* equal-loudness stems (every stem to the same LUFS, then summed): the baseline.

Reported per corpus: the median over all stems of | stem loudness relative to the mix - the same
in the balanced mix | (dB; BS.1770), mean and 90th percentile, the median over pieces of the MSD
(:func:`mixai.metrics.mel_spectral_distance`) between the method's mix and the balanced mix, and
per **song** (a real song's windows together; a rendered piece is its own song) how often the
model is worse than equal loudness. Mixes are compared *before* mastering, each loudness-matched
to the balanced mix, so MSD measures balance and tone, not the loudness target or the mastering.

With ``--song-models DIR`` (made by ``python -m mixai.training.stems.recipe --song-models DIR``) a
piece of a real song is mixed by ``DIR/mixai-stems.without-<song>.onnx``, the network that never
heard that song: leave-one-song-out, for corpora with too few real songs for a test split alone.
Pieces with no such file use ``--model``. The baselines are the same either way.

Usage::

    python benchmarks/eval_mix.py --corpus data/stems/recorded data/stems/render/musescore --split test \\
        --jobs 2 [--json out.json] [--per-song]
    python benchmarks/eval_mix.py --corpus data/stems/recorded --split train val test \\
        --song-models data/stems/song-models --per-song      # real songs, leave-one-song-out
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ONNX, RENAMED, DSP, SUM, EQUAL = ("mixai mix (onnx)", "mixai mix (onnx), stems renamed",
                                  "mixai mix --predictor dsp", "sum as is", "equal loudness")
ABLATIONS = ("mixai mix (onnx), reverb bus off", "mixai mix (onnx), reverb off, EQ/comp off")
METHODS = (ONNX, RENAMED, *ABLATIONS, DSP, SUM, EQUAL)
EVAL_SEED = 2024


def song_of(piece_id: str) -> str:
    """The song a piece belongs to: real-stem windows are ``<song>.wNN``; a render is its own song."""
    head, _, tail = piece_id.rpartition(".w")
    return head if head and tail.isdigit() else piece_id


def model_for(piece_id: str, model: str | None, song_models: str | None) -> str | None:
    """The network a piece is mixed with: the one that never heard its song, when there is one."""
    if song_models:
        from mixai.training.stems.cv import song_model_path

        path = song_model_path(song_models, song_of(piece_id))
        if path.is_file():
            return str(path)
    return model


def _match(x: np.ndarray, ref_lufs: float, rate: int) -> np.ndarray:
    from mixai.dsp.loudness import integrated_lufs

    lv = integrated_lufs(x, rate)
    return x * np.float32(10 ** ((ref_lufs - lv) / 20)) if np.isfinite(lv) else x


def evaluate_piece(args: tuple[str, str | None, bool]) -> dict:
    from mixai.dsp.loudness import integrated_lufs
    from mixai.master.options import MasterOptions
    from mixai.metrics import mel_spectral_distance
    from mixai.mix import mix_arrays
    from mixai.training.stems.damage import damage_song, stereo
    from mixai.training.stems.dataset import balanced_rel_db, load_piece, role_of

    piece_dir, model_path, ablations = args
    piece = Path(piece_dir)
    stems, rate, _ = load_piece(piece, seconds=None)
    names = sorted(stems)
    balanced = sum(stems[n] for n in names)
    bal_lufs = integrated_lufs(balanced, rate)
    rel_true = balanced_rel_db(stems, rate)
    seed = EVAL_SEED + zlib.crc32(piece.name.encode())
    damaged, _ = damage_song(stems, rate, seed)
    keep = [n for n in names if np.isfinite(rel_true[n]) and rel_true[n] > -40.0]

    out: dict = {"piece": piece.name, "song": song_of(piece.name), "stems": len(names), "methods": {},
                 "roles": {n: role_of(n) for n in names}}

    def score(name: str, mix: np.ndarray, rel: dict[str, float]) -> None:
        errs = [abs(rel[n] - rel_true[n]) for n in keep if rel.get(n) is not None and np.isfinite(rel[n])]
        msd = mel_spectral_distance(_match(mix, bal_lufs, rate), balanced, rate)
        out["methods"][name] = {"abs_rel_err_db": errs, "msd": float(msd)}

    def run(predictor: str, named: dict[str, str]):
        """Mix the damaged stems under the names ``named`` (true name -> name given to mixai)."""
        _, report, rendered = mix_arrays({named[n]: damaged[n] for n in names}, rate, options=MasterOptions(),
                                         predictor=predictor, model_path=model_path, master_predictor="dsp")
        back = {v: k for k, v in named.items()}
        return report, rendered, {back[s.name]: s.rel_db_in_mix for s in report.stems}

    same = {n: n for n in names}
    if model_path is not None:
        report, rendered, rel = run("onnx", same)
        score(ONNX, rendered.mix, rel)
        order = np.random.default_rng(seed).permutation(len(names))
        renamed = {n: f"track{int(k) + 1:02d}" for n, k in zip(names, order)}
        rep_r, ren_r, rel_r = run("onnx", renamed)
        score(RENAMED, ren_r.mix, rel_r)
        out["roles_from_sound"] = {n: s.role for n in names for s in rep_r.stems if s.name == renamed[n]}
        if ablations:
            _ablations(out, score, report, damaged, names, rate, model_path)
    _, rendered, rel = run("dsp", same)
    score(DSP, rendered.mix, rel)

    plain = [stereo(damaged[n]) for n in names]
    total = sum(plain)
    tl = integrated_lufs(total, rate)
    score(SUM, total, {n: integrated_lufs(x, rate) - tl for n, x in zip(names, plain)})

    eq_l = []
    for x in plain:
        lv = integrated_lufs(x, rate)
        eq_l.append(x * np.float32(10 ** ((-23.0 - lv) / 20)) if np.isfinite(lv) else x)
    total = sum(eq_l)
    tl = integrated_lufs(total, rate)
    score(EQUAL, total, {n: integrated_lufs(x, rate) - tl for n, x in zip(names, eq_l)})
    return out


def _ablations(out, score, report, damaged, names, rate, model_path) -> None:
    """Replay the predicted settings with parts switched off (what each part costs in MSD)."""
    from dataclasses import replace

    import mixai.mix.model as mm
    from mixai.master.options import MasterOptions
    from mixai.mix import mix_arrays
    from mixai.settings.stems import STEM_OUTPUTS

    stems = {n: damaged[n] for n in names}
    dry = replace(report.settings, bus=replace(report.settings.bus, return_db=-60.0))
    _, rep2, ren2 = mix_arrays(stems, rate, options=MasterOptions(), settings=dry, master_predictor="dsp")
    score(ABLATIONS[0], ren2.mix, {s.name: s.rel_db_in_mix for s in rep2.stems})
    original = mm.StemModel.run

    def neutral(self, rows):
        res = np.array(original(self, rows))
        for i, spec in enumerate(STEM_OUTPUTS):
            if spec.name.startswith(("eq.", "compressor.")):
                res[:, i] = spec.to_unit(spec.default)
        return res

    mm.StemModel.run = neutral
    try:
        _, rep3, _ = mix_arrays(stems, rate, options=MasterOptions(), predictor="onnx", model_path=model_path,
                                master_predictor="dsp")
    finally:
        mm.StemModel.run = original
    flat = replace(rep3.settings, bus=replace(rep3.settings.bus, return_db=-60.0))
    _, rep4, ren4 = mix_arrays(stems, rate, options=MasterOptions(), settings=flat, master_predictor="dsp")
    score(ABLATIONS[1], ren4.mix, {s.name: s.rel_db_in_mix for s in rep4.stems})


def summarise(results: list[dict]) -> list[tuple]:
    """(method, median, mean, p90, median MSD, stems) for the methods present."""
    rows = []
    for m in METHODS:
        errs = [e for r in results if m in r["methods"] for e in r["methods"][m]["abs_rel_err_db"]]
        msd = [r["methods"][m]["msd"] for r in results if m in r["methods"]]
        if errs:
            rows.append((m, float(np.median(errs)), float(np.mean(errs)), float(np.percentile(errs, 90)),
                         float(np.median(msd)), len(errs)))
    return rows


def per_song(results: list[dict]) -> dict[str, dict[str, float]]:
    """Median level error per song and method."""
    songs: dict[str, dict[str, list[float]]] = {}
    for r in results:
        for m, v in r["methods"].items():
            songs.setdefault(r["song"], {}).setdefault(m, []).extend(v["abs_rel_err_db"])
    return {s: {m: float(np.median(e)) for m, e in ms.items() if e} for s, ms in songs.items()}


def role_accuracy(results: list[dict]) -> tuple[int, int]:
    pairs = [(r["roles"][n], g) for r in results for n, g in r.get("roles_from_sound", {}).items()]
    return sum(a == b for a, b in pairs), len(pairs)


def report_corpus(label: str, results: list[dict], seconds: float, show_songs: bool) -> dict:
    rows = summarise(results)
    songs = per_song(results)
    n_stems = sum(r["stems"] for r in results)
    print(f"\n## {label}: {len(songs)} songs, {len(results)} pieces, {n_stems} stems, damage seed {EVAL_SEED}, "
          f"{seconds:.0f} s\n")
    print("| method | median abs. rel. loudness error (dB) | mean (dB) | 90th pct (dB) | median MSD vs balanced mix |")
    print("|---|---:|---:|---:|---:|")
    for m, med, mean, p90, msd, _n in rows:
        print(f"| {m} | {med:.2f} | {mean:.2f} | {p90:.2f} | {msd:.3f} |")
    summary: dict = {"rows": rows, "songs": songs}
    by = {m: med for m, med, *_ in rows}
    if ONNX in by and EQUAL in by:
        worse = sorted(s for s, v in songs.items() if ONNX in v and v[ONNX] > v[EQUAL])
        print(f"\nmodel / equal loudness: {by[ONNX] / by[EQUAL]:.2f} (target <= 0.5); songs where the model is "
              f"worse than equal loudness: {len(worse)} of {len(songs)}" + (f" ({', '.join(worse)})" if worse else ""))
        summary["ratio"], summary["worse_songs"] = by[ONNX] / by[EQUAL], worse
    right, total = role_accuracy(results)
    if total:
        print(f"roles from the sound (renamed stems): {right}/{total} right ({right / total:.0%})")
        summary["roles_right"], summary["roles_total"] = right, total
    if show_songs:
        methods = [m for m in (ONNX, RENAMED, DSP, SUM, EQUAL) if m in by]
        print("\n| song | " + " | ".join(methods) + " |")
        print("|---|" + "---:|" * len(methods))
        for s in sorted(songs):
            print(f"| {s} | " + " | ".join(f"{songs[s].get(m, float('nan')):.2f}" for m in methods) + " |")
    return summary


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    from mixai.training.corpus.layout import iter_pieces, read_index

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", nargs="+", default=["data/corpus"], help="corpus folders, each reported apart")
    p.add_argument("--split", nargs="+", default=["test"], help="splits, pooled")
    p.add_argument("--model", default=str(Path(__file__).resolve().parents[1] / "models" / "mixai-stems.onnx"))
    p.add_argument("--limit", type=int, help="first N pieces of each corpus")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--json", help="also write per-piece results here")
    p.add_argument("--per-song", action="store_true", help="also print the median error of each song")
    p.add_argument("--song-models", help="folder of leave-one-song-out networks (see above)")
    p.add_argument("--ablations", action="store_true",
                   help="also replay the onnx settings without the reverb bus, and without EQ/compression")
    a = p.parse_args(argv)
    model = a.model if Path(a.model).is_file() else None
    if model is None:
        print(f"note: {a.model} not found; the onnx rows are skipped", file=sys.stderr)
    everything = {}
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(a.jobs) as pool:
        for corpus in a.corpus:
            splits = [s for s in a.split if s in read_index(corpus)["splits"]]  # a corpus may lack some
            pieces = [str(m.parent) for split in splits for m, _ in iter_pieces(corpus, split)][:a.limit]
            t = time.time()
            tasks = [(pc, model_for(Path(pc).name, model, a.song_models), a.ablations) for pc in pieces]
            results = list(tqdm(pool.imap(evaluate_piece, tasks), total=len(pieces),
                                desc=f"eval mix {Path(corpus).name}"))
            held = sum(t[1] != model for t in tasks)
            label = f"{corpus} ({', '.join(splits)})" + (f", {held} pieces by leave-one-song-out networks"
                                                         if held else "")
            everything[label] = {"summary": report_corpus(label, results, time.time() - t, a.per_song),
                                 "pieces": results}
    if a.json:
        Path(a.json).write_text(json.dumps(everything, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
