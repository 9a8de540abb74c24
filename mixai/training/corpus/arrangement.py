"""Arranging an excerpt: each score part gets a role and a General MIDI instrument, and band
pieces get generated drums, bass and comping. The result is the list of stems to render."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixai.training.corpus.harmony import ChordSpan
from mixai.training.corpus.parts import bass_part, comp_part, drum_part, jittered_velocity
from mixai.training.corpus.score import Meter, NoteEvent, ScoreData, SourcePart

ROLES = ("vocals", "keys", "guitar", "strings", "bass", "drums", "other")


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

ROLE_VELOCITY = {"vocals": (85, 105), "bass": (80, 100), "keys": (65, 90), "guitar": (65, 90), "strings": (60, 85), "other": (65, 90)}



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
        out.append(NoteEvent(start, n.length_ql, n.pitch, jittered_velocity(rng, base + accent, 5.0)))
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


def choose_groove(rng: np.random.Generator, meter: Meter) -> str:
    """Groove compatible with the meter: compound and triple meters have their own."""
    if meter.subdivision == 3:
        return "compound"
    if meter.beats_per_bar == 3:
        return "waltz"
    grooves = ["rock", "pop", "shuffle", "halftime", "brush"]
    return str(rng.choice(grooves, p=[0.3, 0.3, 0.15, 0.1, 0.15]))


__all__ = ["ROLES", "Instrument", "ROLE_INSTRUMENTS", "SOLO_STRINGS", "DRUM_KITS", "ROLE_VELOCITY", "Track",
           "StemPlan", "Arrangement", "fit_register", "humanize", "pick_instrument", "pick_roles", "group_parts",
           "arrange", "choose_groove"]
