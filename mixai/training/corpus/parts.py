"""Generated parts laid on the piece's meter and chords: drum grooves, bass lines, comping."""

from __future__ import annotations

import math

import numpy as np

from mixai.training.corpus.harmony import ChordSpan, chord_at, voicing
from mixai.training.corpus.score import Meter, NoteEvent

# Drum map (GM percussion key numbers).
KICK, SIDE_STICK, SNARE, CLAP, FLOOR_TOM, CLOSED_HAT, LOW_TOM, PEDAL_HAT, MID_TOM, OPEN_HAT, HIGH_TOM, CRASH, RIDE = (
    36, 37, 38, 39, 41, 42, 45, 44, 47, 46, 50, 49, 51,
)


def jittered_velocity(rng: np.random.Generator, base: float, spread: float = 6.0) -> int:
    """A MIDI velocity around ``base``: generated and score notes alike get a seeded spread."""
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
            notes.append(NoteEvent(t_ql, min(step_ql, window_ql - t_ql), pitch, jittered_velocity(rng, base_velocity)))

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
            notes.append(NoteEvent(chord.start_ql, chord.length_ql * 0.97, root_pitch(chord), jittered_velocity(rng, base)))
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
        velocity = jittered_velocity(rng, base + (8 if beat_in_bar == 0 and on_beat else 0))
        notes.append(NoteEvent(t, min(length, window_ql - t), pitch, velocity))
    return notes


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
            notes.append(NoteEvent(t, min(length, window_ql - t), pitch, jittered_velocity(rng, velocity, 5.0)))

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


__all__ = ["KICK", "SIDE_STICK", "SNARE", "CLAP", "FLOOR_TOM", "CLOSED_HAT", "LOW_TOM", "PEDAL_HAT", "MID_TOM",
           "OPEN_HAT", "HIGH_TOM", "CRASH", "RIDE", "jittered_velocity", "drum_part", "bass_part", "comp_part"]
