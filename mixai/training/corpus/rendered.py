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
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import math
import multiprocessing
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from mixai.errors import MixaiError
from mixai.training.corpus.layout import iter_pieces  # noqa: F401  (re-exported: the corpus reader lives there)

SAMPLE_RATE = 44100
TICKS_PER_QUARTER = 960
DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
DEBIAN_PACKAGES = "fluidsynth fluid-soundfont-gm"
ROLES = ("vocals", "keys", "guitar", "strings", "bass", "drums", "other")
SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
DRUM_FRACTION = 0.6
RENDER_GAIN = 0.5
STEM_REFERENCE_LUFS = -23.0
MIX_LUFS_RANGE = (-18.0, -14.0)
PEAK_CEILING_DBFS = -1.0
SILENT_STEM_LUFS = -70.0
MAX_PARTS = 8
FADE_OUT_SECONDS = 0.02
LIMITER_WINDOW_SECONDS = 0.02
META_VERSION = 1
PIECE_DIR_PATTERN = re.compile(r"^\d{5}_[A-Za-z0-9_.-]+$")

# Which corpus folders feed which stratum, and how often each stratum is drawn. Folders of
# multi-tune ABC books (essenFolksong, oneills1850) are left out: parsing a whole book per
# piece is slow, and Ryan's Mammoth has a thousand single-tune files of the same kind.
SOURCE_GROUPS: dict[str, tuple[float, tuple[str, ...]]] = {
    "chorale": (0.25, ("bach",)),
    "renaissance": (0.20, ("palestrina", "monteverdi", "josquin", "trecento", "ciconia", "luca", "lusitano")),
    "folk": (0.30, ("ryansMammoth", "nottingham-dataset")),
    "classical": (
        0.25,
        (
            "beethoven", "mozart", "haydn", "schumann_robert", "schumann_clara", "chopin", "corelli",
            "cpebach", "handel", "joplin", "schubert", "weber", "verdi", "beach", "johnson_j_r",
            "liliuokalani", "leadSheet", "schoenberg", "webern",
        ),
    ),
}
# Large files take seconds to tens of seconds to parse (a Beethoven quartet: 12 s) for one
# 30 s excerpt; the limit is on bytes so that the selection stays deterministic.
MAX_SOURCE_BYTES = {".mxl": 60_000, ".xml": 600_000, ".musicxml": 600_000, ".krn": 100_000, ".abc": 20_000}


@dataclass(frozen=True)
class Instrument:
    """A General MIDI program with the range it sounds natural in (MIDI note numbers)."""

    program: int
    name: str
    low: int
    high: int
    acoustic: bool = True


ROLE_INSTRUMENTS: dict[str, tuple[Instrument, ...]] = {
    "vocals": (
        Instrument(52, "choir_aahs", 48, 79), Instrument(53, "voice_oohs", 48, 79),
        Instrument(73, "flute", 60, 96), Instrument(65, "alto_sax", 49, 81),
        Instrument(66, "tenor_sax", 44, 76), Instrument(56, "trumpet", 54, 84),
        Instrument(40, "violin", 55, 100), Instrument(68, "oboe", 58, 91),
        Instrument(71, "clarinet", 50, 91),
    ),
    "keys": (
        Instrument(0, "acoustic_grand_piano", 21, 108), Instrument(1, "bright_piano", 21, 108),
        Instrument(4, "electric_piano_1", 28, 103, False), Instrument(5, "electric_piano_2", 28, 103, False),
        Instrument(16, "drawbar_organ", 36, 96, False), Instrument(19, "church_organ", 24, 96),
        Instrument(6, "harpsichord", 29, 89),
    ),
    "guitar": (
        Instrument(24, "nylon_guitar", 40, 84), Instrument(25, "steel_guitar", 40, 84),
        Instrument(26, "jazz_guitar", 40, 86, False), Instrument(27, "clean_electric_guitar", 40, 86, False),
    ),
    "strings": (
        Instrument(48, "string_ensemble_1", 28, 96), Instrument(49, "slow_strings", 28, 96),
        Instrument(45, "pizzicato_strings", 28, 96), Instrument(50, "synth_strings", 28, 96, False),
    ),
    "bass": (
        Instrument(32, "acoustic_bass", 28, 55), Instrument(33, "finger_bass", 28, 60, False),
        Instrument(34, "pick_bass", 28, 60, False), Instrument(35, "fretless_bass", 28, 60, False),
    ),
    "other": (
        Instrument(70, "bassoon", 34, 72), Instrument(60, "french_horn", 41, 77),
        Instrument(21, "accordion", 53, 89), Instrument(11, "vibraphone", 53, 89),
        Instrument(12, "marimba", 45, 96), Instrument(61, "brass_section", 40, 84),
        Instrument(57, "trombone", 40, 72), Instrument(69, "english_horn", 52, 81),
        Instrument(74, "recorder", 60, 96), Instrument(89, "warm_pad", 36, 96, False),
        Instrument(71, "clarinet", 50, 91),
    ),
}
# Solo strings for quartet-like arrangements, chosen by register (top part first).
SOLO_STRINGS = (
    Instrument(40, "violin", 55, 100), Instrument(41, "viola", 48, 88),
    Instrument(42, "cello", 36, 76), Instrument(43, "contrabass", 28, 60),
)
# FluidR3 GM drum kits (bank 128 on MIDI channel 10).
DRUM_KITS = {"standard": 0, "room": 8, "power": 16, "electronic": 24, "jazz": 32, "brush": 40}

# Balance: level of each role relative to the lead after loudness-matching the raw stems.
ROLE_LEVEL_DB = {"vocals": 0.0, "drums": -1.0, "bass": -3.0, "keys": -5.0, "guitar": -5.0, "strings": -7.0, "other": -6.0}
ROLE_VELOCITY = {"vocals": (85, 105), "bass": (80, 100), "keys": (65, 90), "guitar": (65, 90), "strings": (60, 85), "other": (65, 90)}
ROLE_CENTRED = ("vocals", "bass", "drums")

# Drum map (GM percussion key numbers).
KICK, SIDE_STICK, SNARE, CLAP, FLOOR_TOM, CLOSED_HAT, LOW_TOM, PEDAL_HAT, MID_TOM, OPEN_HAT, HIGH_TOM, CRASH, RIDE = (
    36, 37, 38, 39, 41, 42, 45, 44, 47, 46, 50, 49, 51,
)
# Tempo ranges in beats per minute per groove (the beat is the time signature's pulse).
TEMPO_RANGES_BPM = {
    "rock": (90.0, 135.0), "pop": (80.0, 120.0), "shuffle": (80.0, 120.0), "halftime": (120.0, 150.0),
    "brush": (70.0, 115.0), "waltz": (90.0, 150.0), "compound": (50.0, 85.0), "acoustic": (55.0, 110.0),
}

# Krumhansl-Kessler key profiles (tonic first), for a key prior when estimating chords.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


class DataGenerationError(MixaiError):
    """The corpus cannot be generated (missing tool, soundfont or output folder problem)."""


class PieceSkipped(Exception):
    """A source score cannot become a piece (unparsable, empty excerpt, silent render)."""


# ---------------------------------------------------------------------------------------------
# Data types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteEvent:
    """One note, timed in quarter lengths from the start of the excerpt."""

    start_ql: float
    length_ql: float
    pitch: int
    velocity: int = 80


@dataclass
class SourcePart:
    """A part of the source score as plain notes (music21 objects are slow to carry around)."""

    name: str
    notes: list[NoteEvent]

    def mean_pitch(self) -> float:
        return float(np.mean([n.pitch for n in self.notes])) if self.notes else 0.0


@dataclass(frozen=True)
class Meter:
    """Bar and beat grid of a piece; drums, bass and comping patterns are laid on it."""

    numerator: int
    denominator: int
    bar_ql: float
    beat_ql: float
    beats_per_bar: int
    subdivision: int  # steps per beat: 2 (straight) or 3 (compound meter)


@dataclass
class ScoreData:
    """What the renderer needs from a parsed score."""

    source: str
    parts: list[SourcePart]
    meter: Meter
    anchor_ql: float  # offset of the first full bar (length of a pickup)
    total_ql: float


@dataclass(frozen=True)
class ChordSpan:
    """An estimated triad over a stretch of the excerpt."""

    start_ql: float
    length_ql: float
    root_pc: int
    minor: bool

    def pitch_classes(self) -> tuple[int, int, int]:
        return (self.root_pc, (self.root_pc + (3 if self.minor else 4)) % 12, (self.root_pc + 7) % 12)


@dataclass
class Track:
    """Notes for one MIDI channel of a stem."""

    program: int
    instrument: str
    notes: list[NoteEvent]
    source: str  # score part name, or "generated:<what>"
    is_drum: bool = False
    transpose_semitones: int = 0


@dataclass
class StemPlan:
    """One output stem: a role and the tracks rendered together into it."""

    name: str
    role: str
    tracks: list[Track]


@dataclass
class StemInfo:
    """Per-stem facts recorded in meta.json."""

    name: str
    role: str
    instruments: list[str]
    programs: list[int]
    sources: list[str]
    generated: bool
    transpose_semitones: list[int]
    note_count: int
    raw_lufs: float
    level_db: float
    gain_db: float  # total static gain from the raw fluidsynth render to the written stem
    pan: float  # -1 left .. +1 right, constant power
    lufs: float


@dataclass
class PieceInfo:
    """Summary of one generated piece, as returned by :func:`generate`."""

    piece_id: str
    split: str
    source: str
    directory: str
    stems: list[str]
    tempo_bpm: float
    lufs: float
    seconds: float
    render_seconds: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class GeneratorConfig:
    """Settings shared by every piece of one corpus."""

    out_dir: Path
    seed: int
    seconds: float
    soundfont: Path
    drum_fraction: float = DRUM_FRACTION
    splits: tuple[str, ...] = SPLITS  # render only the pieces of these splits
    stems: bool = True                # write the stems (the mix alone is enough to train the master model)
    start_position: int = 0           # skip the sources before this position of the seeded order
    variation: int = 0                # another arrangement of the same scores (same order and splits)


# ---------------------------------------------------------------------------------------------
# Environment checks
# ---------------------------------------------------------------------------------------------


def check_environment(soundfont: Path) -> str:
    """Fail early with an installable answer instead of a traceback in a worker process."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise DataGenerationError(
            f"fluidsynth was not found on PATH; install it with: sudo apt-get install {DEBIAN_PACKAGES}"
        )
    if not soundfont.is_file():
        raise DataGenerationError(
            f"soundfont {soundfont} not found; install it with: sudo apt-get install fluid-soundfont-gm "
            "(or pass --soundfont PATH to a General MIDI .sf2)"
        )
    return exe


# ---------------------------------------------------------------------------------------------
# Source selection
# ---------------------------------------------------------------------------------------------


def corpus_root() -> Path:
    """music21's bundled corpus folder; corpus paths are stored relative to it."""
    import music21

    return Path(music21.__file__).parent / "corpus"


def list_sources() -> dict[str, list[str]]:
    """Usable corpus files per stratum, as sorted relative paths (sorted for determinism)."""
    from music21 import corpus

    root = corpus_root()
    folder_to_group = {folder: g for g, (_, folders) in SOURCE_GROUPS.items() for folder in folders}
    groups: dict[str, list[str]] = {g: [] for g in SOURCE_GROUPS}
    for path in corpus.getPaths():
        path = Path(path)
        try:
            rel = path.relative_to(root)
        except ValueError:
            continue
        group = folder_to_group.get(rel.parts[0])
        limit = MAX_SOURCE_BYTES.get(path.suffix.lower())
        if group is None or limit is None or path.stat().st_size > limit:
            continue
        groups[group].append(rel.as_posix())
    return {g: sorted(v) for g, v in groups.items()}


def ordered_sources(seed: int) -> list[str]:
    """All usable sources in a seeded order that draws strata by weight (so that 300 pieces mix
    chorales, polyphony, fiddle tunes and chamber music instead of being mostly Palestrina)."""
    rng = np.random.default_rng([seed, 0x50C])
    pools = {}
    for group, paths in list_sources().items():
        paths = list(paths)
        rng.shuffle(paths)
        pools[group] = deque(paths)
    order: list[str] = []
    while any(pools.values()):
        live = [g for g in SOURCE_GROUPS if pools[g]]
        weights = np.array([SOURCE_GROUPS[g][0] for g in live])
        group = live[int(rng.choice(len(live), p=weights / weights.sum()))]
        order.append(pools[group].popleft())
    return order


def split_for(source: str, seed: int) -> str:
    """Split by a seeded hash of the source path: deterministic, and a score never straddles
    two splits however many pieces are drawn."""
    digest = hashlib.sha256(f"mixai-split:{seed}:{source}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64
    edge = 0.0
    for name, fraction in zip(SPLITS, SPLIT_FRACTIONS):
        edge += fraction
        if u < edge:
            return name
    return SPLITS[-1]


def piece_id_for(position: int, source: str) -> str:
    """Readable, filesystem-safe and unique (one source per position)."""
    stem = Path(source).with_suffix("").as_posix()
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", stem).strip("_")[:60]
    return f"{position:05d}_{slug}"


# ---------------------------------------------------------------------------------------------
# Score parsing
# ---------------------------------------------------------------------------------------------


def meter_from(numerator: int, denominator: int, bar_ql: float) -> Meter:
    """Pulse of the bar: dotted quarter in 6/8-like meters, half note in 4/2, quarter otherwise."""
    if denominator == 8 and numerator % 3 == 0 and numerator >= 6:
        beat_ql, subdivision = 1.5, 3
    else:
        beat_ql, subdivision = min(4.0 / denominator, 2.0), 2
    beats = max(1, int(round(bar_ql / beat_ql)))
    return Meter(numerator, denominator, bar_ql, beat_ql, beats, subdivision)


def load_score(source: str) -> ScoreData:
    """Parse a corpus file into plain notes per part; any failure becomes :class:`PieceSkipped`."""
    from music21 import converter, harmony, stream

    path = corpus_root() / source
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            score = converter.parse(str(path), forceSource=True)
            if isinstance(score, stream.Opus):
                score = score.scores[0]
            score = score.stripTies()
            parts = list(score.parts) or [score]
            ts = score.recurse().getElementsByClass("TimeSignature").first()
            if ts is not None:
                meter = meter_from(int(ts.numerator), int(ts.denominator), float(ts.barDuration.quarterLength))
            else:
                meter = meter_from(4, 4, 4.0)
            measures = list(parts[0].getElementsByClass("Measure"))
            anchor_ql = 0.0
            if len(measures) > 1 and float(measures[0].duration.quarterLength) < meter.bar_ql - 1e-6:
                anchor_ql = float(measures[1].offset)
            source_parts: list[SourcePart] = []
            for index, part in enumerate(parts):
                notes: dict[tuple[float, int], NoteEvent] = {}
                for element in part.flatten().notes:
                    if isinstance(element, harmony.Harmony):
                        continue
                    length = float(element.quarterLength)
                    if length <= 0:
                        continue  # grace notes
                    start = float(element.offset)
                    for p in element.pitches:
                        key = (start, int(p.midi))
                        if key not in notes or notes[key].length_ql < length:
                            notes[key] = NoteEvent(start, length, int(p.midi))
                if notes:
                    name = str(part.partName or f"part{index + 1}")
                    source_parts.append(SourcePart(name, sorted(notes.values(), key=lambda n: (n.start_ql, n.pitch))))
    except Exception as exc:  # noqa: BLE001 - any parser failure means "skip this score"
        raise PieceSkipped(f"{source}: cannot parse ({type(exc).__name__}: {exc})") from exc
    if not source_parts:
        raise PieceSkipped(f"{source}: no notes")
    source_parts.sort(key=lambda p: -p.mean_pitch())
    if len(source_parts) > MAX_PARTS:
        keep = np.unique(np.round(np.linspace(0, len(source_parts) - 1, MAX_PARTS)).astype(int))
        source_parts = [source_parts[i] for i in keep]
    total_ql = max(n.start_ql + n.length_ql for p in source_parts for n in p.notes)
    if total_ql < meter.bar_ql:
        raise PieceSkipped(f"{source}: shorter than a bar")
    return ScoreData(source, source_parts, meter, anchor_ql, total_ql)


# ---------------------------------------------------------------------------------------------
# Tempo and excerpt
# ---------------------------------------------------------------------------------------------


def choose_tempo_bpm(rng: np.random.Generator, groove: str, score: ScoreData) -> float:
    """Tempo in beats per minute from the groove's range, nudged so that the score's typical
    note lasts 0.15-0.9 s (fiddle tunes in 16ths would otherwise race, Palestrina crawl)."""
    low, high = TEMPO_RANGES_BPM[groove]
    bpm = float(rng.uniform(low, high))
    lengths = [n.length_ql for p in score.parts for n in p.notes]
    median_ql = float(np.median(lengths))
    note_seconds = median_ql * 60.0 / (bpm * score.meter.beat_ql)
    if note_seconds < 0.15:
        bpm *= note_seconds / 0.15
    elif note_seconds > 0.9:
        bpm *= note_seconds / 0.9
    return round(float(np.clip(bpm, 45.0, 200.0)), 1)


def excerpt(rng: np.random.Generator, score: ScoreData, window_ql: float) -> tuple[list[SourcePart], float, int]:
    """Cut ``window_ql`` from a seeded bar line, looping pieces that are too short.

    Returns the windowed parts (times relative to the window), the start in the score and the
    number of loop passes. Notes crossing the end are shortened; notes begun before the start
    are dropped so that the excerpt never starts on a half-sounded note.
    """
    bar = score.meter.bar_ql
    period_ql = math.ceil(score.total_ql / bar - 1e-6) * bar
    last_start = score.total_ql - window_ql
    if last_start >= score.anchor_ql:
        starts = score.anchor_ql + bar * np.arange(int((last_start - score.anchor_ql) // bar) + 1)
        start_ql = float(starts[int(rng.integers(len(starts)))])
        passes = 1
    else:
        start_ql = score.anchor_ql
        passes = int(math.ceil((start_ql + window_ql) / period_ql)) + 1
    end_ql = start_ql + window_ql
    windowed = []
    for part in score.parts:
        notes = []
        for k in range(passes):
            for n in part.notes:
                t = n.start_ql + k * period_ql
                if start_ql - 1e-9 <= t < end_ql:
                    notes.append(NoteEvent(t - start_ql, min(n.length_ql, end_ql - t), n.pitch))
        windowed.append(SourcePart(part.name, notes))
    return windowed, start_ql, passes


# ---------------------------------------------------------------------------------------------
# Harmony (for generated bass and accompaniment)
# ---------------------------------------------------------------------------------------------


def pitch_class_weights(notes: list[NoteEvent], start_ql: float, end_ql: float) -> tuple[np.ndarray, int | None]:
    """Duration-weighted pitch-class histogram of a time span, and the lowest sounding pitch."""
    weights = np.zeros(12)
    lowest = None
    for n in notes:
        overlap = min(end_ql, n.start_ql + n.length_ql) - max(start_ql, n.start_ql)
        if overlap > 0:
            weights[n.pitch % 12] += overlap
            lowest = n.pitch if lowest is None else min(lowest, n.pitch)
    return weights, lowest


def estimate_key(notes: list[NoteEvent]) -> tuple[int, bool]:
    """Krumhansl-Schmuckler key estimate: (tonic pitch class, is_minor)."""
    weights, _ = pitch_class_weights(notes, 0.0, float("inf"))
    best = (-np.inf, 0, False)
    for tonic in range(12):
        for minor, profile in ((False, MAJOR_PROFILE), (True, MINOR_PROFILE)):
            with np.errstate(invalid="ignore", divide="ignore"):
                score = float(np.corrcoef(np.roll(profile, tonic), weights)[0, 1]) if weights.any() else 0.0
            if np.isfinite(score) and score > best[0]:
                best = (score, tonic, minor)
    return best[1], best[2]


def diatonic_triads(tonic: int, minor: bool) -> set[tuple[int, bool]]:
    """Triads native to a key, used as a prior so that melody-only tunes get plausible chords."""
    if minor:
        degrees = ((0, True), (3, False), (5, True), (7, False), (7, True), (8, False), (10, False))
    else:
        degrees = ((0, False), (2, True), (4, True), (5, False), (7, False), (9, True))
    return {((tonic + d) % 12, m) for d, m in degrees}


def estimate_chords(notes: list[NoteEvent], window_ql: float, meter: Meter) -> list[ChordSpan]:
    """One major/minor triad per half bar (per bar in short meters), by template matching with a
    bass-note bonus, a diatonic prior and a small preference for holding the previous chord."""
    tonic, minor = estimate_key(notes)
    prior = diatonic_triads(tonic, minor)
    beats = meter.beats_per_bar
    span_ql = meter.bar_ql / 2 if beats >= 4 and beats % 2 == 0 else meter.bar_ql
    chords: list[ChordSpan] = []
    previous = (tonic, minor)
    t = 0.0
    while t < window_ql - 1e-9:
        length = min(span_ql, window_ql - t)
        weights, lowest = pitch_class_weights(notes, t, t + length)
        total = weights.sum()
        choice = previous
        if total > 0:
            best = -np.inf
            for root in range(12):
                for is_minor in (False, True):
                    third, fifth = (root + (3 if is_minor else 4)) % 12, (root + 7) % 12
                    template = np.full(12, -0.6)
                    template[[root, third, fifth]] = (1.0, 0.9, 0.8)
                    score = float(weights @ template)
                    score += 0.3 * total * (lowest is not None and lowest % 12 == root)
                    score += 0.15 * total * ((root, is_minor) in prior)
                    score += 0.1 * total * ((root, is_minor) == previous)
                    if score > best:
                        best, choice = score, (root, is_minor)
        chords.append(ChordSpan(t, length, choice[0], choice[1]))
        previous = choice
        t += span_ql
    return chords


def chord_at(chords: list[ChordSpan], t_ql: float) -> ChordSpan:
    """The chord sounding at a time (chords tile the window)."""
    for chord in reversed(chords):
        if chord.start_ql <= t_ql + 1e-9:
            return chord
    return chords[0]


# ---------------------------------------------------------------------------------------------
# Generated parts
# ---------------------------------------------------------------------------------------------


def _velocity(rng: np.random.Generator, base: float, spread: float = 6.0) -> int:
    return int(np.clip(round(base + rng.normal(0.0, spread)), 1, 127))


def drum_part(rng: np.random.Generator, groove: str, meter: Meter, window_ql: float) -> list[NoteEvent]:
    """A seeded groove repeated per bar, with crashes on phrase starts, fills at phrase ends,
    ghost notes and velocity variation; the per-piece variant is fixed so the groove is steady."""
    beats = meter.beats_per_bar
    sub = 3 if groove in ("shuffle", "brush") else meter.subdivision
    if groove == "pop" and sub == 2 and rng.random() < 0.4:
        sub = 4  # 16th hats
    step_ql = meter.beat_ql / sub
    use_ride = groove == "brush" or rng.random() < 0.15
    extra_kick = rng.random() < 0.5
    open_hat_end = rng.random() < 0.25
    snare_note = CLAP if groove == "pop" and rng.random() < 0.3 else SNARE
    fill_every = int(rng.choice([4, 8]))
    n_bars = int(math.ceil(window_ql / meter.bar_ql - 1e-9))
    notes: list[NoteEvent] = []

    def hit(t_ql: float, pitch: int, base_velocity: float) -> None:
        if t_ql < window_ql - 1e-9:
            notes.append(NoteEvent(t_ql, min(step_ql, window_ql - t_ql), pitch, _velocity(rng, base_velocity)))

    for bar in range(n_bars):
        t0 = bar * meter.bar_ql
        fill = (bar + 1) % fill_every == 0 and bar > 0 and rng.random() < 0.8
        fill_from_beat = beats - 1 if beats > 1 else beats
        if bar % 8 == 0 or (bar % fill_every == 0 and bar > 0 and rng.random() < 0.5):
            hit(t0, CRASH, 100)
        for beat in range(beats):
            tb = t0 + beat * meter.beat_ql
            if fill and beat >= fill_from_beat:
                toms = (SNARE, HIGH_TOM, MID_TOM, LOW_TOM, FLOOR_TOM, FLOOR_TOM)
                fill_sub = 4 if sub in (2, 4) else 3
                for k in range(fill_sub):
                    hit(tb + k * meter.beat_ql / fill_sub, toms[min(k * len(toms) // fill_sub, len(toms) - 1)], 85 + 6 * k)
                continue
            accent = 10 if beat == 0 else 0
            # cymbal layer
            for s in range(sub):
                ts = tb + s * step_ql
                if groove == "brush":
                    if s == 0 or (s == 2 and beat % 2 == 1):
                        hit(ts, RIDE, 60 + accent)
                elif groove == "shuffle":
                    if s in (0, 2):
                        hit(ts, RIDE if use_ride else CLOSED_HAT, (75 if s == 0 else 58) + accent)
                else:
                    last_off = open_hat_end and beat == beats - 1 and s == sub - 1
                    cymbal = OPEN_HAT if last_off else (RIDE if use_ride else CLOSED_HAT)
                    hit(ts, cymbal, (78 if s == 0 else 55 if sub == 4 and s % 2 else 62) + accent)
            # kick and snare layer
            if groove == "brush":
                if beat % 2 == 1:
                    hit(tb, PEDAL_HAT, 55)
                    hit(tb, SNARE, 42)
                if beat == 0:
                    hit(tb, KICK, 55)
            elif groove == "halftime":
                if beat == 0:
                    hit(tb, KICK, 105)
                if beat == beats // 2 and beats > 1:
                    hit(tb, SNARE, 105)
                if extra_kick and beat == beats - 1:
                    hit(tb + step_ql * (sub // 2), KICK, 85)
            elif groove == "waltz" or (beats == 3 and groove != "compound"):
                if beat == 0:
                    hit(tb, KICK, 100)
                else:
                    hit(tb, SIDE_STICK if rng.random() < 0.5 else SNARE, 70)
            else:  # rock, pop, shuffle, compound
                if beat % 2 == 0:
                    hit(tb, KICK, 102)
                else:
                    hit(tb, snare_note, 100)
                if groove == "pop" and beat == 1 and extra_kick:
                    hit(tb + meter.beat_ql / 2, KICK, 88)
                if groove == "rock" and beat == 2 and extra_kick:
                    hit(tb + meter.beat_ql / 2, KICK, 90)
            if groove not in ("brush", "waltz") and rng.random() < 0.08:
                hit(tb + step_ql * (sub - 1), SNARE, 35)  # ghost note
    return notes


def bass_part(rng: np.random.Generator, chords: list[ChordSpan], meter: Meter, window_ql: float, groove: str) -> list[NoteEvent]:
    """Bass from chord roots in octaves 1-2 (E1..D#2 roots), with a pattern matching the groove."""
    patterns = {
        "rock": ("eighths", "beats"), "pop": ("eighths", "root_fifth", "beats"), "shuffle": ("root_fifth", "beats"),
        "halftime": ("beats", "sustain"), "brush": ("walking",), "waltz": ("root_fifth",), "compound": ("root_fifth", "beats"),
        "acoustic": ("sustain", "root_fifth"),
    }
    pattern = str(rng.choice(patterns[groove]))
    base = 80.0 if groove != "acoustic" else 70.0

    def root_pitch(chord: ChordSpan) -> int:
        return 28 + (chord.root_pc - 4) % 12  # E1 (28) .. D#2 (39)

    notes: list[NoteEvent] = []
    if pattern == "sustain":
        for chord in chords:
            notes.append(NoteEvent(chord.start_ql, chord.length_ql * 0.97, root_pitch(chord), _velocity(rng, base)))
        return notes
    steps_per_beat = 2 if pattern == "eighths" else 1
    step_ql = meter.beat_ql / steps_per_beat
    n_steps = int(math.ceil(window_ql / step_ql - 1e-9))
    for i in range(n_steps):
        t = i * step_ql
        chord = chord_at(chords, t)
        root = root_pitch(chord)
        beat_in_bar = int(round((t % meter.bar_ql) / meter.beat_ql))
        on_beat = abs(t % meter.beat_ql) < 1e-9
        if pattern == "root_fifth":
            if beat_in_bar == 0:
                pitch = root
            elif meter.beats_per_bar >= 2 and beat_in_bar == meter.beats_per_bar // 2 + (meter.beats_per_bar == 3):
                pitch = root + 7
            else:
                continue
        elif pattern == "walking":
            next_root = root_pitch(chord_at(chords, t + meter.beat_ql))
            if beat_in_bar == 0:
                pitch = root
            elif beat_in_bar == meter.beats_per_bar - 1:
                pitch = next_root + int(rng.choice([-1, 1]))
            else:
                third = 3 if chord.minor else 4
                pitch = root + int(rng.choice([third, 7, 12 if root < 34 else 7]))
        else:
            pitch = root
        length = (0.97 if pattern == "walking" else 0.8) * step_ql
        if pattern == "root_fifth":
            length = 0.95 * meter.beat_ql * (2 if meter.beats_per_bar >= 4 else 1)
        velocity = _velocity(rng, base + (8 if beat_in_bar == 0 and on_beat else 0))
        notes.append(NoteEvent(t, min(length, window_ql - t), pitch, velocity))
    return notes


def voicing(chord: ChordSpan, centre: float, voices: int = 3) -> list[int]:
    """Close-position triad whose mean is nearest ``centre``; with 4 voices the root is doubled
    below it (a fuller guitar-like shape)."""
    pcs = chord.pitch_classes()
    best: list[int] = []
    for inversion in range(3):
        order = pcs[inversion:] + pcs[:inversion]
        for octave in range(2, 8):
            pitches = [12 * octave + order[0]]
            for pc in order[1:]:
                pitches.append(pitches[-1] + (pc - pitches[-1]) % 12)
            if not best or abs(np.mean(pitches) - centre) < abs(np.mean(best) - centre):
                best = pitches
    if voices > 3:
        below = best[0] - 1
        while below % 12 != chord.root_pc:
            below -= 1
        best = [below, *best]
    return best


def comp_part(rng: np.random.Generator, chords: list[ChordSpan], meter: Meter, window_ql: float, role: str, with_bass_note: bool) -> list[NoteEvent]:
    """Chord accompaniment: sustained pads (strings, organ), block or off-beat chords and
    arpeggios (keys), strummed or picked patterns (guitar)."""
    choices = {"strings": ("pad",), "keys": ("pad", "block", "arpeggio", "offbeat"), "guitar": ("strum", "arpeggio")}
    pattern = str(rng.choice(choices[role]))
    centre = {"strings": 62.0, "keys": 64.0, "guitar": 57.0}[role]
    base = {"strings": 68.0, "keys": 72.0, "guitar": 72.0}[role]
    sub = meter.subdivision
    step_ql = meter.beat_ql / sub
    strum_mask = rng.random(meter.beats_per_bar * sub) < 0.6
    strum_mask[::sub] = True
    notes: list[NoteEvent] = []

    def add(t: float, length: float, pitch: int, velocity: float) -> None:
        if t < window_ql - 1e-9:
            notes.append(NoteEvent(t, min(length, window_ql - t), pitch, _velocity(rng, velocity, 5.0)))

    for chord in chords:
        pitches = voicing(chord, centre, 4 if pattern == "strum" else 3)
        end = chord.start_ql + chord.length_ql
        if with_bass_note:
            add(chord.start_ql, chord.length_ql * 0.97, 36 + (chord.root_pc - 0) % 12, base - 4)
        if pattern == "pad":
            for p in pitches:
                add(chord.start_ql, chord.length_ql * 0.98, p, base - 6)
            continue
        t = chord.start_ql
        i = 0
        while t < end - 1e-9:
            step_in_bar = int(round((t % meter.bar_ql) / step_ql))
            on_beat = step_in_bar % sub == 0
            if pattern == "block" and on_beat:
                for p in pitches:
                    add(t, meter.beat_ql * 0.85, p, base + (6 if step_in_bar == 0 else 0))
            elif pattern == "offbeat" and not on_beat and step_in_bar % sub == sub // 2:
                for p in pitches:
                    add(t, step_ql * 0.7, p, base)
            elif pattern == "arpeggio":
                seq = pitches + [pitches[0] + 12] + pitches[1:][::-1]
                add(t, step_ql * 1.6, seq[i % len(seq)], base - 4 + (6 if on_beat else 0))
            elif pattern == "strum" and strum_mask[step_in_bar % len(strum_mask)]:
                down = on_beat
                order = pitches if down else pitches[::-1]
                for k, p in enumerate(order):
                    add(t + k * 0.012 * meter.beat_ql, step_ql * 0.9, p, base + (8 if down else -6))
            t += step_ql
            i += 1
    return notes


# ---------------------------------------------------------------------------------------------
# Arrangement
# ---------------------------------------------------------------------------------------------


def fit_register(notes: list[NoteEvent], low: int, high: int, target: float | None = None) -> tuple[list[NoteEvent], int]:
    """Shift a line by whole octaves into an instrument's range (fewest notes outside; ties
    go to the smaller shift), or towards ``target`` median pitch for bass lines."""
    if not notes:
        return notes, 0
    pitches = np.array([n.pitch for n in notes])
    if target is not None:
        shift = int(round((target - float(np.median(pitches))) / 12.0)) * 12
    else:
        best = None
        for octaves in (0, -1, 1, -2, 2, -3, 3):
            outside = int(np.sum((pitches + 12 * octaves < low) | (pitches + 12 * octaves > high)))
            if best is None or outside < best[0]:
                best = (outside, 12 * octaves)
        shift = best[1]
    shifted = [NoteEvent(n.start_ql, n.length_ql, int(np.clip(n.pitch + shift, 0, 127)), n.velocity) for n in notes]
    return shifted, shift


def humanize(rng: np.random.Generator, notes: list[NoteEvent], meter: Meter, qpm: float, velocity_range: tuple[int, int]) -> list[NoteEvent]:
    """Score notes carry no usable dynamics: give them a seeded base velocity with downbeat
    accents and jitter, and a few milliseconds of timing spread."""
    base = float(rng.uniform(*velocity_range))
    ql_per_ms = qpm / 60000.0
    out = []
    for n in notes:
        accent = 8 if abs(n.start_ql % meter.bar_ql) < 1e-6 else 3 if abs(n.start_ql % meter.beat_ql) < 1e-6 else 0
        jitter = float(np.clip(rng.normal(0.0, 4.0), -10, 10)) * ql_per_ms
        start = max(0.0, n.start_ql + jitter)
        out.append(NoteEvent(start, n.length_ql, n.pitch, _velocity(rng, base + accent, 5.0)))
    return out


def pick_instrument(rng: np.random.Generator, role: str, acoustic_only: bool) -> Instrument:
    """A seeded program for a role; acoustic arrangements avoid electric instruments."""
    options = [i for i in ROLE_INSTRUMENTS[role] if i.acoustic or not acoustic_only]
    return options[int(rng.integers(len(options)))]


def pick_roles(rng: np.random.Generator, count: int, used: set[str]) -> list[str]:
    """Roles for accompaniment groups, preferring roles not used yet in the piece."""
    roles = ["keys", "guitar", "strings", "other"]
    weights = np.array([0.35, 0.3, 0.2, 0.15])
    chosen = []
    for _ in range(count):
        w = np.array([wt * (0.25 if r in used or r in chosen else 1.0) for r, wt in zip(roles, weights)])
        chosen.append(roles[int(rng.choice(len(roles), p=w / w.sum()))])
    return chosen


def group_parts(rng: np.random.Generator, parts: list[SourcePart], max_groups: int = 3) -> list[list[SourcePart]]:
    """Split inner parts (ordered high to low) into 1-3 contiguous groups, one stem each."""
    if not parts:
        return []
    k = int(rng.integers(1, min(max_groups, len(parts)) + 1))
    cuts = sorted(rng.choice(np.arange(1, len(parts)), size=k - 1, replace=False).tolist()) if k > 1 else []
    edges = [0, *cuts, len(parts)]
    return [parts[a:b] for a, b in zip(edges[:-1], edges[1:])]


@dataclass
class Arrangement:
    """Result of :func:`arrange`: the stems plus the choices that meta.json records."""

    style: str  # "band" or "acoustic"
    ensemble: str
    groove: str
    bass_mode: str
    drum_kit: str | None
    stems: list[StemPlan]


def arrange(rng: np.random.Generator, score: ScoreData, parts: list[SourcePart], chords: list[ChordSpan], groove: str, band: bool, window_ql: float, qpm: float) -> Arrangement:
    """Assign score parts to roles and instruments, and add generated drums, bass and comping.

    ``parts`` are the windowed parts sorted high to low; the top one is the lead (``vocals``)
    except in solo-keys and string-ensemble arrangements.
    """
    meter = score.meter
    stems: list[tuple[str, list[Track]]] = []
    used: set[str] = set()

    def score_track(part: SourcePart, role: str, instrument: Instrument, target: float | None = None) -> Track:
        notes, shift = fit_register(part.notes, instrument.low, instrument.high, target)
        notes = humanize(rng, notes, meter, qpm, ROLE_VELOCITY.get(role, (70, 90)))
        return Track(instrument.program, instrument.name, notes, part.name, transpose_semitones=shift)

    def add_stem(role: str, tracks: list[Track]) -> None:
        stems.append((role, tracks))
        used.add(role)

    def generated_comp(role: str, with_bass_note: bool) -> None:
        instrument = pick_instrument(rng, role, acoustic_only=not band)
        if role == "strings" and instrument.program == 45:
            instrument = ROLE_INSTRUMENTS["strings"][0]  # pizzicato cannot sustain a pad
        notes = comp_part(rng, chords, meter, window_ql, role, with_bass_note)
        add_stem(role, [Track(instrument.program, instrument.name, notes, f"generated:{role}_comping")])

    def inner_groups(rest: list[SourcePart], acoustic_only: bool) -> None:
        groups = group_parts(rng, rest)
        for group, role in zip(groups, pick_roles(rng, len(groups), used)):
            instrument = pick_instrument(rng, role, acoustic_only)
            add_stem(role, [score_track(p, role, instrument) for p in group])

    drum_kit = None
    bass_mode = "none"
    if band:
        ensemble = "band"
        kit_names = ["brush", "jazz"] if groove == "brush" else ["standard", "standard", "room", "power"] + (["electronic"] if groove == "pop" else [])
        drum_kit = str(rng.choice(kit_names))
        drums = drum_part(rng, groove, meter, window_ql)
        add_stem("drums", [Track(DRUM_KITS[drum_kit], f"drum_kit_{drum_kit}", drums, "generated:drums", is_drum=True)])
        lead, rest = parts[0], parts[1:]
        add_stem("vocals", [score_track(lead, "vocals", pick_instrument(rng, "vocals", False))])
        bass_instrument = pick_instrument(rng, "bass", False)
        if rest and rng.random() < 0.5:
            bass_mode = "score"
            add_stem("bass", [score_track(rest[-1], "bass", bass_instrument, target=40.0)])
            rest = rest[:-1]
        else:
            bass_mode = "chords"
            notes = bass_part(rng, chords, meter, window_ql, groove)
            add_stem("bass", [Track(bass_instrument.program, bass_instrument.name, notes, "generated:bass")])
        inner_groups(rest, acoustic_only=False)
        if not rest or rng.random() < 0.4:
            options = [r for r in ("keys", "guitar", "strings") if r not in used] or ["keys", "guitar"]
            generated_comp(options[int(rng.integers(len(options)))], with_bass_note=False)
    elif len(parts) == 1:
        ensemble = "melody_with_accompaniment"
        add_stem("vocals", [score_track(parts[0], "vocals", pick_instrument(rng, "vocals", True))])
        with_bass = rng.random() < 0.5
        generated_comp(str(rng.choice(["keys", "guitar"])), with_bass_note=not with_bass)
        if with_bass:
            bass_mode = "chords"
            instrument = ROLE_INSTRUMENTS["bass"][0]
            add_stem("bass", [Track(instrument.program, instrument.name, bass_part(rng, chords, meter, window_ql, "acoustic"), "generated:bass")])
    else:
        ensemble = str(rng.choice(["solo_keys", "string_ensemble", "chamber"], p=[0.3, 0.25, 0.45]))
        if ensemble == "solo_keys":
            instrument = pick_instrument(rng, "keys", acoustic_only=True)
            add_stem("keys", [score_track(p, "keys", instrument) for p in parts])
        elif ensemble == "string_ensemble":
            for i, part in enumerate(parts):
                position = 0 if i == 0 else 3 if i == len(parts) - 1 and len(parts) >= 5 else 2 if i == len(parts) - 1 else 1
                if position == 1 and i % 2 == 1 and len(parts) >= 4 and i < len(parts) - 2:
                    position = 0  # second violin
                add_stem("strings", [score_track(part, "strings", SOLO_STRINGS[position])])
        else:
            lead, rest = parts[0], parts[1:]
            add_stem("vocals", [score_track(lead, "vocals", pick_instrument(rng, "vocals", True))])
            if len(rest) >= 2 and rng.random() < 0.35:
                bass_mode = "score"
                add_stem("bass", [score_track(rest[-1], "bass", ROLE_INSTRUMENTS["bass"][0], target=40.0)])
                rest = rest[:-1]
            inner_groups(rest, acoustic_only=True)

    counts: dict[str, int] = {}
    plans: list[StemPlan] = []
    for role, tracks in stems:
        counts[role] = counts.get(role, 0) + 1
        name = role if counts[role] == 1 else f"{role}_{counts[role]}"
        plans.append(StemPlan(name, role, tracks))
    return Arrangement("band" if band else "acoustic", ensemble, groove if band else "acoustic", bass_mode, drum_kit, plans)


# ---------------------------------------------------------------------------------------------
# MIDI writing and rendering
# ---------------------------------------------------------------------------------------------


def _vlq(value: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def midi_bytes(tracks: list[Track], qpm: float, end_ql: float) -> bytes:
    """A format-0 standard MIDI file: one channel per track (10 for drums), tempo, program,
    reverb and chorus sends at 0. Same-pitch overlaps on a channel are trimmed so that a note-off
    never cuts a re-struck note short."""
    events: list[tuple[int, int, bytes]] = []
    tempo_us = int(round(60_000_000 / qpm))
    events.append((0, 0, b"\xff\x51\x03" + tempo_us.to_bytes(3, "big")))
    melodic_channels = [c for c in range(16) if c != 9]
    next_channel = 0
    for track in tracks:
        if track.is_drum:
            channel = 9
        else:
            channel = melodic_channels[next_channel % len(melodic_channels)]
            next_channel += 1
        bank = [] if track.is_drum else [bytes([0xB0 | channel, 0, 0])]  # channel 10 keeps the drum bank
        setup = bank + [
            bytes([0xC0 | channel, track.program]),
            bytes([0xB0 | channel, 7, 100]), bytes([0xB0 | channel, 11, 127]), bytes([0xB0 | channel, 10, 64]),
            bytes([0xB0 | channel, 91, 0]), bytes([0xB0 | channel, 93, 0]),
        ]
        events.extend((0, 1, msg) for msg in setup)
        by_pitch: dict[int, list[tuple[int, int, int]]] = {}
        for n in track.notes:
            on = int(round(n.start_ql * TICKS_PER_QUARTER))
            off = int(round(min(n.start_ql + n.length_ql, end_ql) * TICKS_PER_QUARTER))
            if off > on:
                by_pitch.setdefault(n.pitch, []).append((on, off, n.velocity))
        for pitch, spans in by_pitch.items():
            spans.sort()
            for i, (on, off, velocity) in enumerate(spans):
                if i + 1 < len(spans):
                    off = min(off, spans[i + 1][0])
                if off <= on:
                    continue
                events.append((on, 3, bytes([0x90 | channel, pitch, max(1, min(127, velocity))])))
                events.append((off, 2, bytes([0x80 | channel, pitch, 0])))
    end_tick = int(round(end_ql * TICKS_PER_QUARTER))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    body = bytearray()
    last = 0
    for tick, _, msg in events:
        body += _vlq(tick - last) + msg
        last = tick
    body += _vlq(max(0, end_tick - last)) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return header + b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def render_stem(midi: bytes, soundfont: Path, frames: int, work_dir: Path, name: str) -> np.ndarray:
    """Render with fluidsynth (reverb and chorus off, float output) to exactly ``frames``."""
    import soundfile as sf

    midi_path = work_dir / f"{name}.mid"
    wav_path = work_dir / f"{name}.wav"
    midi_path.write_bytes(midi)
    cmd = [
        "fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", str(RENDER_GAIN), "-r", str(SAMPLE_RATE),
        "-O", "float", "-T", "wav", "-F", str(wav_path), str(soundfont), str(midi_path),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not wav_path.is_file():
        raise PieceSkipped(f"fluidsynth failed on {name}: {result.stderr.strip()[-300:]}")
    audio, rate = sf.read(str(wav_path), dtype="float64", always_2d=True)
    if rate != SAMPLE_RATE:
        raise PieceSkipped(f"fluidsynth wrote {rate} Hz")
    if audio.shape[1] == 1:
        audio = np.repeat(audio, 2, axis=1)
    out = np.zeros((frames, 2))
    n = min(frames, audio.shape[0])
    out[:n] = audio[:n, :2]
    return out


# ---------------------------------------------------------------------------------------------
# Balance, pan, loudness
# ---------------------------------------------------------------------------------------------


def loudness_lufs(audio: np.ndarray) -> float:
    """BS.1770 integrated loudness (pyloudnorm); -inf for silence."""
    import pyloudnorm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(audio))


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power balance for a stereo stem, unity at centre."""
    theta = (float(np.clip(pan, -1.0, 1.0)) + 1.0) * math.pi / 4.0
    return math.sqrt(2.0) * math.cos(theta), math.sqrt(2.0) * math.sin(theta)


def choose_pans(rng: np.random.Generator, plans: list[StemPlan], ensemble: str) -> list[float]:
    """Lead, bass and drums near the centre; other stems alternate sides (seated left to right
    from high to low in string ensembles)."""
    pans = []
    side = 1.0 if rng.random() < 0.5 else -1.0
    n = len(plans)
    for i, plan in enumerate(plans):
        if ensemble == "string_ensemble" and n > 1:
            pans.append(round(-0.5 + i / (n - 1) + float(rng.uniform(-0.05, 0.05)), 3))
        elif plan.role in ROLE_CENTRED or n == 1:
            pans.append(round(float(rng.uniform(-0.08, 0.08)), 3))
        else:
            pans.append(round(side * float(rng.uniform(0.15, 0.6)), 3))
            side = -side
    return pans


def limiter_envelope(mix: np.ndarray, ceiling: float) -> np.ndarray:
    """Smooth gain (<= 1) that keeps |mix * gain| <= ceiling: a minimum filter over +-W followed
    by a moving average over +-W/2 never exceeds the required gain at any sample, so peaks are
    caught without clicks. Applied to every stem, it preserves sum(stems) == mix."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    peak = np.max(np.abs(mix), axis=1)
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    if need.min() >= 1.0:
        return np.ones(mix.shape[0])
    half = int(LIMITER_WINDOW_SECONDS * SAMPLE_RATE)
    held = minimum_filter1d(need, size=2 * half + 1, mode="nearest")
    smooth = uniform_filter1d(held, size=half + 1 if half % 2 == 0 else half, mode="nearest")
    return np.minimum(smooth, need)


def fade_out(frames: int) -> np.ndarray:
    """Raised-cosine fade at the excerpt end: notes are cut there, their tails should not click."""
    ramp = np.ones(frames)
    n = min(frames, int(FADE_OUT_SECONDS * SAMPLE_RATE))
    ramp[frames - n:] = 0.5 * (1.0 + np.cos(np.linspace(0.0, math.pi, n)))
    return ramp


def master(stems: list[np.ndarray], target_lufs: float) -> tuple[list[np.ndarray], np.ndarray, dict[str, float]]:
    """Scale all stems by one static gain so the mix meets ``target_lufs``, then by a common
    peak-safety envelope and fade; return float32 stems, their float32 sum, and the numbers."""
    pre = np.sum(stems, axis=0)
    pre_lufs = loudness_lufs(pre)
    gain_db = target_lufs - pre_lufs
    ceiling = 10.0 ** (PEAK_CEILING_DBFS / 20.0)
    fade = fade_out(pre.shape[0])
    envelope = np.ones(pre.shape[0])
    for _ in range(3):
        scaled = pre * 10.0 ** (gain_db / 20.0)
        envelope = limiter_envelope(scaled, ceiling) * fade
        lufs = loudness_lufs(scaled * envelope[:, None])
        if abs(lufs - target_lufs) < 0.1:
            break
        gain_db += target_lufs - lufs
    g = 10.0 ** (gain_db / 20.0) * envelope[:, None]
    out = [(s * g).astype(np.float32) for s in stems]
    mix = np.sum([s.astype(np.float64) for s in out], axis=0).astype(np.float32)
    before_fade = envelope[: max(1, envelope.size - int(FADE_OUT_SECONDS * SAMPLE_RATE))]
    stats = {
        "master_gain_db": round(gain_db, 3),
        "max_gain_reduction_db": round(max(0.0, float(-20.0 * np.log10(max(float(before_fade.min()), 1e-12)))), 3),
        "lufs": round(loudness_lufs(mix.astype(np.float64)), 3),
        "peak_dbfs": round(float(20.0 * np.log10(max(np.abs(mix).max(), 1e-12))), 3),
    }
    return out, mix, stats


def write_wav(path: Path, audio: np.ndarray) -> None:
    """32-bit float WAV without libsndfile's PEAK chunk, whose timestamp would make identical
    audio differ byte-wise between runs (it breaks the same-seed-same-bytes guarantee)."""
    data = np.ascontiguousarray(audio, dtype="<f4")
    channels = data.shape[1]
    payload = data.tobytes()
    fmt = struct.pack("<HHIIHH", 3, channels, SAMPLE_RATE, SAMPLE_RATE * 4 * channels, 4 * channels, 32)
    fact = struct.pack("<I", data.shape[0])
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<I", 4) + fact
    chunks += b"data" + struct.pack("<I", len(payload)) + payload
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)


# ---------------------------------------------------------------------------------------------
# One piece
# ---------------------------------------------------------------------------------------------


def piece_rng(seed: int, position: int, variation: int = 0) -> np.random.Generator:
    """Each piece draws from its own stream, so pieces are independent of job scheduling.
    ``variation`` > 0 draws another arrangement of the same score (variation 0 keeps the streams
    of the corpora rendered before it existed)."""
    return np.random.default_rng([seed, position, 0xA11] + ([variation] if variation else []))


def choose_groove(rng: np.random.Generator, meter: Meter) -> str:
    """Groove compatible with the meter: compound and triple meters have their own."""
    if meter.subdivision == 3:
        return "compound"
    if meter.beats_per_bar == 3:
        return "waltz"
    grooves = ["rock", "pop", "shuffle", "halftime", "brush"]
    return str(rng.choice(grooves, p=[0.3, 0.3, 0.15, 0.1, 0.15]))


def build_piece(config: GeneratorConfig, position: int, source: str) -> PieceInfo:
    """Parse, arrange, render, balance and write one piece; raises :class:`PieceSkipped`."""
    began = time.perf_counter()
    rng = piece_rng(config.seed, position, config.variation)
    score = load_score(source)
    band = bool(rng.random() < config.drum_fraction)
    groove = choose_groove(rng, score.meter) if band else "acoustic"
    bpm = choose_tempo_bpm(rng, groove, score)
    qpm = bpm * score.meter.beat_ql
    window_ql = config.seconds * qpm / 60.0
    parts, start_ql, passes = excerpt(rng, score, window_ql)
    parts = [p for p in parts if p.notes]
    if not parts:
        raise PieceSkipped(f"{source}: empty excerpt")
    chords = estimate_chords([n for p in parts for n in p.notes], window_ql, score.meter)
    arrangement = arrange(rng, score, parts, chords, groove, band, window_ql, qpm)

    frames = int(round(config.seconds * SAMPLE_RATE))
    piece_id = piece_id_for(position, source)
    split = split_for(source, config.seed)
    raw: list[np.ndarray] = []
    kept: list[StemPlan] = []
    dropped: list[str] = []
    raw_lufs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="mixai-render-") as tmp:
        for plan in arrangement.stems:
            if not any(t.notes for t in plan.tracks):
                dropped.append(plan.name)
                continue
            audio = render_stem(midi_bytes(plan.tracks, qpm, window_ql), config.soundfont, frames, Path(tmp), plan.name)
            lufs = loudness_lufs(audio)
            if not math.isfinite(lufs) or lufs < SILENT_STEM_LUFS:
                dropped.append(plan.name)
                continue
            raw.append(audio)
            kept.append(plan)
            raw_lufs.append(lufs)
    if not kept:
        raise PieceSkipped(f"{source}: every stem rendered silent")

    role_counts = {r: sum(p.role == r for p in kept) for r in ROLES}
    levels = []
    for plan in kept:
        level = ROLE_LEVEL_DB[plan.role] + float(np.clip(rng.normal(0.0, 1.0), -2.0, 2.0))
        level -= 5.0 * math.log10(role_counts[plan.role])  # several stems of a role share its level
        levels.append(round(level, 3))
    pans = choose_pans(rng, kept, arrangement.ensemble)
    balanced = []
    for audio, lufs, level, pan in zip(raw, raw_lufs, levels, pans):
        left, right = pan_gains(pan)
        g = 10.0 ** ((STEM_REFERENCE_LUFS - lufs + level) / 20.0)
        balanced.append(audio * g * np.array([left, right]))
    target_lufs = round(float(rng.uniform(*MIX_LUFS_RANGE)), 2)
    stems, mix, stats = master(balanced, target_lufs)

    # Write to a staging folder, then move into place, so an interrupted run leaves no half piece.
    staging = config.out_dir / ".staging" / piece_id
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "stems" if config.stems else staging).mkdir(parents=True)
    infos = []
    for plan, audio, lufs, level, pan in zip(kept, stems, raw_lufs, levels, pans):
        if config.stems:
            write_wav(staging / "stems" / f"{plan.name}.wav", audio)
        infos.append(StemInfo(
            name=plan.name, role=plan.role,
            instruments=[t.instrument for t in plan.tracks], programs=[t.program for t in plan.tracks],
            sources=[t.source for t in plan.tracks], generated=all(t.source.startswith("generated:") for t in plan.tracks),
            transpose_semitones=[t.transpose_semitones for t in plan.tracks],
            note_count=sum(len(t.notes) for t in plan.tracks),
            raw_lufs=round(lufs, 3), level_db=level,
            gain_db=round(STEM_REFERENCE_LUFS - lufs + level + stats["master_gain_db"], 3),
            pan=pan, lufs=round(loudness_lufs(audio.astype(np.float64)), 3),
        ))
    write_wav(staging / "mix.wav", mix)
    meta = {
        "version": META_VERSION,
        "piece_id": piece_id,
        "split": split,
        "seed": config.seed,
        "variation": config.variation,
        "position": position,
        "source": source,
        "source_parts": [p.name for p in score.parts],
        "time_signature": f"{score.meter.numerator}/{score.meter.denominator}",
        "tempo_bpm": bpm,
        "beat_ql": score.meter.beat_ql,
        "excerpt_start_ql": round(start_ql, 4),
        "loop_passes": passes,
        "seconds": config.seconds,
        "sample_rate": SAMPLE_RATE,
        "style": arrangement.style,
        "ensemble": arrangement.ensemble,
        "groove": arrangement.groove,
        "drum_kit": arrangement.drum_kit,
        "bass_mode": arrangement.bass_mode,
        "chords": [f"{['C','C#','D','Eb','E','F','F#','G','Ab','A','Bb','B'][c.root_pc]}{'m' if c.minor else ''}" for c in chords],
        "target_lufs": target_lufs,
        "render_gain": RENDER_GAIN,
        "stem_reference_lufs": STEM_REFERENCE_LUFS,
        "peak_ceiling_dbfs": PEAK_CEILING_DBFS,
        **stats,
        "stems": [asdict(i) for i in infos],
        "dropped_stems": dropped,
    }
    (staging / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    final = config.out_dir / split / piece_id
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staging, final)
    return PieceInfo(piece_id, split, source, str(final), [i.name for i in infos], bpm, stats["lufs"], config.seconds, time.perf_counter() - began)


def _worker(args: tuple[GeneratorConfig, int, str]) -> PieceInfo | str:
    """Pool entry point: a skipped piece comes back as its reason, not as an exception."""
    config, position, source = args
    try:
        return build_piece(config, position, source)
    except PieceSkipped as exc:
        return str(exc)


# ---------------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------------


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
    (out / "index.json").write_text(json.dumps(index, indent=2) + "\n")
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
