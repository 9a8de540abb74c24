"""A corpus score as plain notes, and the excerpt of it a piece plays.

music21 objects are slow to carry around and to pickle, so :func:`load_score` turns a file into
:class:`NoteEvent` lists per part (highest part first) once; the excerpt, tempo and everything
after work on those.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass

import numpy as np

from mixai.training.corpus.sources import corpus_root

MAX_PARTS = 8
# Tempo ranges in beats per minute per groove (the beat is the time signature's pulse).
TEMPO_RANGES_BPM = {
    "rock": (90.0, 135.0), "pop": (80.0, 120.0), "shuffle": (80.0, 120.0), "halftime": (120.0, 150.0),
    "brush": (70.0, 115.0), "waltz": (90.0, 150.0), "compound": (50.0, 85.0), "acoustic": (55.0, 110.0),
}


class PieceSkipped(Exception):
    """A source score cannot become a piece (unparsable, empty excerpt, silent render)."""


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


__all__ = ["MAX_PARTS", "TEMPO_RANGES_BPM", "PieceSkipped", "NoteEvent", "SourcePart", "Meter", "ScoreData",
           "meter_from", "load_score", "choose_tempo_bpm", "excerpt"]
