"""Chords estimated from the excerpt's notes, for generated bass lines and accompaniment.

Monophonic tunes and band arrangements need a harmony the score does not spell out: a
Krumhansl-Schmuckler key, then one triad per half bar by template matching.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixai.training.corpus.score import Meter, NoteEvent

# Krumhansl-Kessler key profiles (tonic first), for a key prior when estimating chords.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass(frozen=True)
class ChordSpan:
    """An estimated triad over a stretch of the excerpt."""

    start_ql: float
    length_ql: float
    root_pc: int
    minor: bool

    def pitch_classes(self) -> tuple[int, int, int]:
        return (self.root_pc, (self.root_pc + (3 if self.minor else 4)) % 12, (self.root_pc + 7) % 12)


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


__all__ = ["MAJOR_PROFILE", "MINOR_PROFILE", "ChordSpan", "pitch_class_weights", "estimate_key",
           "diatonic_triads", "estimate_chords", "chord_at", "voicing"]
