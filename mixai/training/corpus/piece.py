"""One rendered piece, from a corpus position to its folder: parse, arrange, render each stem,
balance, and write ``mix.wav``, ``stems/`` and ``meta.json`` (staged, then moved into place).

Everything is drawn from the piece's own generator (:func:`piece_rng`), so a piece is the same
whichever worker renders it and whatever else is rendered alongside.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from mixai.training.corpus.arrangement import ROLES, StemPlan, arrange, choose_groove
from mixai.training.corpus.balance import (MIX_LUFS_RANGE, PEAK_CEILING_DBFS, ROLE_LEVEL_DB, SILENT_STEM_LUFS,
                                           STEM_REFERENCE_LUFS, choose_pans, loudness_lufs, master, pan_gains)
from mixai.training.corpus.harmony import estimate_chords
from mixai.training.corpus.layout import SPLITS
from mixai.training.corpus.midi import midi_bytes
from mixai.training.corpus.score import PieceSkipped, choose_tempo_bpm, excerpt, load_score
from mixai.training.corpus.sources import piece_id_for, split_for
from mixai.training.corpus.synth import RENDER_GAIN, SAMPLE_RATE, render_stem

DRUM_FRACTION = 0.6
META_VERSION = 1


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


def piece_rng(seed: int, position: int, variation: int = 0) -> np.random.Generator:
    """Each piece draws from its own stream, so pieces are independent of job scheduling.
    ``variation`` > 0 draws another arrangement of the same score (variation 0 keeps the streams
    of the corpora rendered before it existed)."""
    return np.random.default_rng([seed, position, 0xA11] + ([variation] if variation else []))


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


__all__ = ["DRUM_FRACTION", "META_VERSION", "StemInfo", "PieceInfo", "GeneratorConfig", "piece_rng", "write_wav",
           "build_piece"]
