"""Synthetic multitrack training material: scores from music21's corpus, rendered per stem.

The mixing model needs pairs of *stems* and a *mix* that is exactly their sum, spanning sparse
acoustic pieces (solo piano, string quartet) to dense band arrangements (drums, bass, keys,
guitar, lead). Nothing of the kind ships offline, so this module builds it:

1. Pick a score from music21's bundled corpus (Bach chorales, Renaissance polyphony, fiddle
   tunes, classical chamber music), in a seeded, composer-stratified order. Scores that fail
   to parse are skipped; which ones fail depends only on the file, so skipping is deterministic.
2. Choose a tempo and an excerpt of ``seconds`` starting on a bar line (looping short pieces).
3. Arrange: each score part gets a role (``vocals`` = top line, ``keys``, ``guitar``,
   ``strings``, ``bass``, ``other``) and a General MIDI program drawn from that role. A seeded
   fraction of pieces (``drum_fraction``) also gets generated ``drums`` (rock, pop, shuffle,
   half-time, brush, waltz or compound-meter grooves with fills and crashes) and a bass line
   (the score's lowest part, or generated from estimated chord roots in octaves 1-2); monophonic
   tunes get a generated chord accompaniment.
4. Write one MIDI file per stem and render it with ``fluidsynth`` (FluidR3 GM), with its
   reverb and chorus off so that reverb stays a parameter of the mix, not of the material.
5. Balance: every raw stem is brought to a reference loudness, then offset by a seeded per-role
   level (lead and drums forward, pads back) and panned (constant power). The sum is normalised
   to a seeded loudness in -18..-14 LUFS; a gain envelope computed from the mix keeps its sample
   peak at or below -1 dBFS and is applied to every stem too, so ``sum(stems) == mix`` holds
   (to float32 rounding, about -140 dB).

Layout written under ``--out``::

    index.json                                  pieces per split, settings
    <split>/<piece_id>/mix.wav                  32-bit float WAV, 44.1 kHz, stereo
    <split>/<piece_id>/stems/<role>[_N].wav     post-balance, post-pan stems; they sum to mix.wav
    <split>/<piece_id>/meta.json                source, tempo, instruments, gains, pans, LUFS

Splits (80/10/10 train/val/test) come from a seeded hash of the score's corpus path, so a score
is never in two splits. Everything is a function of ``--seed``: piece *k* of the seeded source
order is rendered with its own generator seeded from ``(seed, k)``, so ``--jobs`` only changes
the wall time, never the bytes (WAV files are written without timestamps).

Usage::

    python -m mixai.training.corpus.rendered --out data/corpus --seed 0 --pieces 300 --seconds 30 --jobs 2

Cost, measured on a 2-core container with ``--jobs 2`` (about 1 GB of RAM in all):

* ``--pieces 8 --seconds 20``: 11 s wall, 1.4 s per piece.
* The training corpus, ``--seed 0 --pieces 300 --seconds 30``: 9 min wall (1.8 s per piece),
  no source skipped; 243/25/32 pieces in train/val/test, 2.5 h of mixes, 1169 stems (1 to 7
  per piece, 3.9 on average; 181 band arrangements with drums, 119 acoustic), 15 GB on disk
  (float WAV: 10.6 MB per 30 s stereo file). Rendering and loudness metering dominate; time
  grows linearly with pieces x seconds.
* The second training corpus, ``--seed 0 --pieces 600 --seconds 20``: 11 min wall (1.08 s per
  piece); 487/59/54 pieces, 3.3 h of mixes, 20 GB. Its first 300 pieces are the scores above, in
  the same splits.
* The same 600 scores with another soundfont, mixes only (``--soundfont
  /usr/share/sounds/sf2/TimGM6mb.sf2 --no-stems``, Debian ``timgm6mb-soundfont``): 9 min wall, 4 GB.
* More distinct scores, train split only, mixes only: ``--splits train --no-stems --pieces 1200
  --seconds 20`` (positions 0 to 1475, containing the 487 train pieces above; 20 min, 8 GB), then
  ``--start-position 1476`` with the same options for the next 1,200 (positions 1476 to 2956;
  29 min while another job shared the cores, 8 GB). Together they use 2,400 of the 2,436 train
  scores of seed 0's order.
* A held-out timbre set for evaluation, the val and test pieces only (``--splits val test --pieces 57
  --seconds 20 --no-stems --soundfont /usr/share/sounds/sf3/MuseScore_General.sf3``, Debian
  ``musescore-general-soundfont``): about 15 CPU-s per piece, because fluidsynth decodes the
  compressed .sf3 samples every time it starts; 385 MB.

With ``--splits``, only the pieces of those splits are rendered (``--pieces`` counts them), at the
positions they have in the full seeded order: the same scores and arrangements, with the same piece
ids, as in a full render of the same seed. ``--start-position P`` starts the count at position P of
that order (piece ids begin with their position), so a later corpus adds pieces no earlier one has.
``--variation N`` (N > 0) arranges the same scores again: other instruments, tempo, excerpt and
balance, in the same splits, so a score never crosses from test to train.

Requires the Debian packages ``fluidsynth`` and ``fluid-soundfont-gm``.

This module is the corpus builder (:func:`generate`, the command line); each step has its own
module: :mod:`~mixai.training.corpus.sources` (which scores, splits), :mod:`~.score` (parsing,
excerpt, tempo), :mod:`~.harmony` (key, chords), :mod:`~.parts` (generated drums, bass, comping),
:mod:`~.arrangement` (roles, instruments, stems), :mod:`~.midi` (MIDI bytes), :mod:`~.synth`
(fluidsynth), :mod:`~.balance` (levels, pans, loudness, peak envelope) and :mod:`~.piece` (one piece's
folder). Their public names are re-exported here, so older imports of this module keep working.
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import shutil
import sys
import time
from collections import deque
from pathlib import Path

from mixai.errors import MixaiError
from mixai.training.corpus.layout import SPLITS, iter_pieces, write_index  # noqa: F401  (iter_pieces: re-exported)
from mixai.training.corpus.piece import DRUM_FRACTION, META_VERSION, GeneratorConfig, PieceInfo, build_piece
from mixai.training.corpus.score import PieceSkipped
from mixai.training.corpus.sources import ordered_sources, split_for
from mixai.training.corpus.synth import DEFAULT_SOUNDFONT, SAMPLE_RATE, DataGenerationError, check_environment

# The step modules' public names, re-exported for code that imported them from here.
from mixai.training.corpus.arrangement import (DRUM_KITS, ROLE_INSTRUMENTS, ROLE_VELOCITY, ROLES,  # noqa: F401
                                               SOLO_STRINGS, Arrangement, Instrument, StemPlan, Track, arrange,
                                               choose_groove, fit_register, group_parts, humanize,
                                               pick_instrument, pick_roles)
from mixai.training.corpus.balance import (FADE_OUT_SECONDS, LIMITER_WINDOW_SECONDS, MIX_LUFS_RANGE,  # noqa: F401
                                           PEAK_CEILING_DBFS, ROLE_CENTRED, ROLE_LEVEL_DB, SILENT_STEM_LUFS,
                                           STEM_REFERENCE_LUFS, choose_pans, fade_out, limiter_envelope,
                                           loudness_lufs, master, pan_gains)
from mixai.training.corpus.harmony import (MAJOR_PROFILE, MINOR_PROFILE, ChordSpan, chord_at,  # noqa: F401
                                           diatonic_triads, estimate_chords, estimate_key, pitch_class_weights,
                                           voicing)
from mixai.training.corpus.midi import TICKS_PER_QUARTER, midi_bytes  # noqa: F401
from mixai.training.corpus.parts import (CLAP, CLOSED_HAT, CRASH, FLOOR_TOM, HIGH_TOM, KICK, LOW_TOM,  # noqa: F401
                                         MID_TOM, OPEN_HAT, PEDAL_HAT, RIDE, SIDE_STICK, SNARE, bass_part,
                                         comp_part, drum_part)
from mixai.training.corpus.piece import StemInfo, piece_rng, write_wav  # noqa: F401
from mixai.training.corpus.score import (MAX_PARTS, TEMPO_RANGES_BPM, Meter, NoteEvent, ScoreData,  # noqa: F401
                                         SourcePart, choose_tempo_bpm, excerpt, load_score, meter_from)
from mixai.training.corpus.sources import (MAX_SOURCE_BYTES, SOURCE_GROUPS, SPLIT_FRACTIONS,  # noqa: F401
                                           corpus_root, list_sources, piece_id_for)
from mixai.training.corpus.synth import DEBIAN_PACKAGES, RENDER_GAIN, render_stem  # noqa: F401

PIECE_DIR_PATTERN = re.compile(r"^\d{5}_[A-Za-z0-9_.-]+$")


def _worker(args: tuple[GeneratorConfig, int, str]) -> PieceInfo | str:
    """Pool entry point: a skipped piece comes back as its reason, not as an exception."""
    config, position, source = args
    try:
        return build_piece(config, position, source)
    except PieceSkipped as exc:
        return str(exc)


def _ordered_results(config: GeneratorConfig, sources: list[str], jobs: int):
    """Yield (position, result) in source order, keeping at most 2*jobs pieces in flight, so
    that stopping after N successes wastes little work and the set of pieces does not depend
    on which worker finishes first."""
    # Positions count every source, chosen split or not, so a piece is the same whichever splits are drawn.
    tasks = ((config, position, source) for position, source in enumerate(sources)
             if position >= config.start_position and split_for(source, config.seed) in config.splits)
    if jobs <= 1:
        for task in tasks:
            yield task[1], _worker(task)
        return
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with context.Pool(jobs) as pool:
        in_flight: deque = deque()
        for task in tasks:
            in_flight.append((task[1], pool.apply_async(_worker, (task,))))
            if len(in_flight) >= 2 * jobs:
                position, pending = in_flight.popleft()
                yield position, pending.get()
        while in_flight:
            position, pending = in_flight.popleft()
            yield position, pending.get()


def _remove_stale(out_dir: Path, keep: set[str]) -> None:
    """Delete piece folders of earlier runs (or of pieces past the requested count), so that the
    folder holds exactly what index.json lists. Only folders named like pieces are touched."""
    for split in SPLITS:
        split_dir = out_dir / split
        if not split_dir.is_dir():
            continue
        for child in split_dir.iterdir():
            if child.is_dir() and PIECE_DIR_PATTERN.match(child.name) and f"{split}/{child.name}" not in keep:
                shutil.rmtree(child)
    shutil.rmtree(out_dir / ".staging", ignore_errors=True)


def generate(out_dir: str | Path, *, seed: int, pieces: int, seconds: float, jobs: int = 1, progress: bool = True,
             soundfont: str | Path = DEFAULT_SOUNDFONT, drum_fraction: float = DRUM_FRACTION,
             splits: tuple[str, ...] = SPLITS, stems: bool = True, start_position: int = 0,
             variation: int = 0) -> list[PieceInfo]:
    """Render ``pieces`` excerpts of ``seconds`` into ``out_dir`` and write ``index.json``.

    Deterministic from ``seed`` whatever ``jobs`` is. Returns the pieces in source order.
    ``splits`` limits the render to the pieces of those splits (``pieces`` then counts only them):
    with another ``soundfont``, the same seed renders the same scores and arrangements with other
    instruments, a held-out timbre set for evaluation. ``stems=False`` writes the mixes alone.
    ``start_position`` skips the sources before that position of the seeded order: more, distinct
    pieces after an earlier corpus (whose last piece id starts with its position). ``variation``
    > 0 arranges the same scores again (instruments, tempo, excerpt, balance), in the same splits.
    Raises :class:`DataGenerationError` for unusable settings or a missing fluidsynth/soundfont.
    """
    if pieces < 1:
        raise DataGenerationError("--pieces must be at least 1")
    if not 1.0 <= seconds <= 600.0:
        raise DataGenerationError("--seconds must be between 1 and 600")
    if jobs < 1:
        raise DataGenerationError("--jobs must be at least 1")
    if not 0.0 <= drum_fraction <= 1.0:
        raise DataGenerationError("--drum-fraction must be between 0 and 1")
    if not splits or any(s not in SPLITS for s in splits):
        raise DataGenerationError(f"--splits must name some of {', '.join(SPLITS)}")
    if start_position < 0:
        raise DataGenerationError("--start-position must be 0 or more")
    if variation < 0:
        raise DataGenerationError("--variation must be 0 or more")
    soundfont = Path(soundfont)
    check_environment(soundfont)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataGenerationError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    config = GeneratorConfig(out.resolve(), int(seed), float(seconds), soundfont.resolve(), float(drum_fraction),
                             tuple(splits), bool(stems), int(start_position), int(variation))
    sources = ordered_sources(config.seed)

    from tqdm import tqdm

    results: list[PieceInfo] = []
    skipped: list[str] = []
    bar = tqdm(total=pieces, desc="rendering pieces", unit="piece", disable=not progress)
    generator = _ordered_results(config, sources, jobs)
    try:
        for _, result in generator:
            if isinstance(result, PieceInfo):
                results.append(result)
                bar.update(1)
                bar.set_postfix(skipped=len(skipped))
                if len(results) >= pieces:
                    break
            else:
                skipped.append(result)
    finally:
        generator.close()  # terminates the pool if we stopped early
        bar.close()
    _remove_stale(out, {f"{p.split}/{p.piece_id}" for p in results})
    if len(results) < pieces and progress:
        print(f"only {len(results)} usable scores in the corpus (asked for {pieces})", file=sys.stderr)
    index = {
        "version": META_VERSION,
        "seed": config.seed,
        "variation": config.variation,
        "seconds": config.seconds,
        "sample_rate": SAMPLE_RATE,
        "drum_fraction": config.drum_fraction,
        "soundfont": config.soundfont.name,
        "stems_written": config.stems,
        "splits": {s: [p.piece_id for p in results if p.split == s] for s in SPLITS},
        "pieces": [
            {"piece_id": p.piece_id, "split": p.split, "source": p.source, "stems": p.stems, "tempo_bpm": p.tempo_bpm, "lufs": p.lufs}
            for p in results
        ],
        "skipped_sources": skipped,
    }
    write_index(out, index)
    return results


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mixai.training.corpus.rendered",
        description=(
            "Render multi-instrument training pieces from music21's offline corpus with fluidsynth, "
            "keeping per-instrument stems that sum exactly to the mix. Output: OUT/index.json and "
            "OUT/<train|val|test>/<piece>/{mix.wav,stems/<role>.wav,meta.json}. "
            "Same --seed gives identical files whatever --jobs is."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder (created; earlier pieces in it are replaced)")
    parser.add_argument("--seed", type=int, default=0, help="seed for source order, arrangement, balance and splits")
    parser.add_argument("--pieces", type=int, default=8, help="number of pieces to render")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each piece in seconds")
    parser.add_argument("--jobs", type=int, default=1, help="parallel worker processes")
    parser.add_argument("--drum-fraction", type=float, default=DRUM_FRACTION, help="fraction of pieces arranged as a band with generated drums and bass")
    parser.add_argument("--soundfont", type=Path, default=DEFAULT_SOUNDFONT, help="General MIDI .sf2 (or .sf3) soundfont")
    parser.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS,
                        help="render only the pieces of these splits (--pieces counts only them)")
    parser.add_argument("--no-stems", action="store_true", help="write the mixes only, not the stems")
    parser.add_argument("--start-position", type=int, default=0,
                        help="skip the sources before this position of the seeded order (to add pieces to an earlier corpus)")
    parser.add_argument("--variation", type=int, default=0,
                        help="arrange the same scores again (instruments, tempo, excerpt, balance); splits stay the same")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    began = time.perf_counter()
    try:
        pieces = generate(args.out, seed=args.seed, pieces=args.pieces, seconds=args.seconds, jobs=args.jobs,
                          progress=not args.quiet, soundfont=args.soundfont, drum_fraction=args.drum_fraction,
                          splits=tuple(args.splits), stems=not args.no_stems, start_position=args.start_position,
                          variation=args.variation)
    except MixaiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if not args.quiet:
        wall = time.perf_counter() - began
        counts = {s: sum(p.split == s for p in pieces) for s in SPLITS}
        hours = len(pieces) * args.seconds / 3600.0
        print(
            f"{len(pieces)} pieces ({', '.join(f'{s} {n}' for s, n in counts.items())}), {hours:.2f} h of mixes, "
            f"{wall:.1f} s wall ({wall / max(1, len(pieces)):.2f} s per piece) -> {args.out}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
