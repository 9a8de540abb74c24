"""Cut the catalogued recordings into a corpus of excerpts in the shared layout.

Each track of a split gives ``windows`` excerpts of ``seconds``, spread evenly over its middle
80 % (intros and fade-outs are not what a master is judged on), with a seeded jitter. Excerpts of
the held-out splits also get ``reference.wav``: ``reference_seconds`` of the same recording from
elsewhere in it, not overlapping the excerpt, as a user would give a finished master of the same
song as reference. Everything is resampled to 44.1 kHz stereo (mono tracks are doubled).

The audio is decoded from the installed packages and written under ``out`` (not in the repo).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mixai.training.corpus.catalogue import available, load_manifest, read_stereo
from mixai.training.corpus.layout import SPLITS, write_audio, write_index

SAMPLE_RATE = 44100
MIN_SOURCE_RATE = 32000  # below this the material is band-limited by its format, not by its master


@dataclass(frozen=True)
class ExcerptConfig:
    seconds: float = 20.0
    windows: int = 3                  # excerpts per track
    reference_seconds: float = 30.0   # the held-out splits' same-track reference
    seed: int = 0



def window_id(track_id: str, window: int) -> str:
    """The piece id of a recording's ``window``-th excerpt."""
    return f"{track_id}.w{window}"


def recording_of(piece_id: str) -> str:
    """The recording an excerpt's piece id was cut from (:func:`window_id` undone): excerpts of
    one recording share it, so they can serve as each other's reference."""
    head, _, tail = piece_id.rpartition(".w")
    return head if head and tail.isdigit() else piece_id

def window_starts(duration_s: float, config: ExcerptConfig, rng: np.random.Generator) -> list[float]:
    """Start times of the excerpts: evenly over the middle 80 %, jittered by a quarter of a step."""
    usable = duration_s * 0.8 - config.seconds
    if usable < 0:
        return [max(0.0, (duration_s - config.seconds) / 2)] if duration_s >= config.seconds else []
    count = max(1, min(config.windows, int(usable // config.seconds) + 1))
    step = usable / count
    return [float(duration_s * 0.1 + step * (k + 0.5) + rng.uniform(-0.25, 0.25) * step) for k in range(count)]


def reference_start(duration_s: float, start_s: float, config: ExcerptConfig) -> float | None:
    """Where the same-track reference starts: the longest stretch away from the excerpt."""
    length = config.reference_seconds
    before, after = start_s, duration_s - (start_s + config.seconds)
    if after >= length and after >= before:
        return start_s + config.seconds + (after - length) / 2
    if before >= length:
        return (before - length) / 2
    return None


def track_excerpts(task: tuple[dict, str, ExcerptConfig, str]) -> list[str]:
    """Write one track's excerpts (runs in a worker); returns the piece ids written."""
    track, split, config, out = task
    rng = np.random.default_rng([config.seed, zlib.crc32(track["track_id"].encode())])
    audio = read_stereo(track["path"], SAMPLE_RATE)
    duration = audio.shape[1] / SAMPLE_RATE
    ids = []
    for k, start in enumerate(window_starts(duration, config, rng)):
        piece_id = window_id(track["track_id"], k)
        folder = Path(out) / split / piece_id
        ref_start = reference_start(duration, start, config) if split != "train" else None
        if split != "train" and ref_start is None:
            continue  # held-out pieces must have their same-track reference
        folder.mkdir(parents=True, exist_ok=True)
        a = int(start * SAMPLE_RATE)
        write_audio(folder / "mix.wav", audio[:, a:a + int(config.seconds * SAMPLE_RATE)], SAMPLE_RATE, "PCM_24")
        meta = {"package": track["package"], "path": track["path"], "track_id": track["track_id"],
                "start_s": round(start, 3), "start_sample": a, "seconds": config.seconds}
        if ref_start is not None:
            r = int(ref_start * SAMPLE_RATE)
            write_audio(folder / "reference.wav", audio[:, r:r + int(config.reference_seconds * SAMPLE_RATE)],
                        SAMPLE_RATE, "PCM_24")
            meta["reference_start_s"], meta["reference_start_sample"] = round(ref_start, 3), r
        (folder / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        ids.append(piece_id)
    return ids


def build_excerpts(out: str | Path, *, config: ExcerptConfig = ExcerptConfig(), splits: tuple[str, ...] = SPLITS,
                   manifest: dict | None = None, jobs: int = 2, limit: int | None = None,
                   progress: bool = True) -> dict:
    """Write the excerpt corpus and its ``index.json``; returns the index."""
    from tqdm import tqdm

    manifest = manifest or load_manifest()
    out = Path(out)
    tasks = []
    skipped_rate = 0
    for split in splits:
        tracks = available(manifest, split)
        usable = [t for t in tracks if t["sample_rate"] >= MIN_SOURCE_RATE]
        skipped_rate += len(tracks) - len(usable)
        tasks += [(t, split, config, str(out)) for t in usable[:limit]]
    ids: dict[str, list[str]] = {s: [] for s in splits}
    if jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            written = list(tqdm(pool.imap(track_excerpts, tasks), total=len(tasks), unit="track",
                                desc="cutting excerpts", disable=not progress))
    else:
        written = [track_excerpts(t) for t in tqdm(tasks, unit="track", desc="cutting excerpts",
                                                    disable=not progress)]
    for (_, split, _, _), pieces in zip(tasks, written):
        ids[split] += pieces
    index = {"kind": "recorded", "sample_rate": SAMPLE_RATE, "seconds": config.seconds, "windows": config.windows,
             "reference_seconds": config.reference_seconds, "seed": config.seed,
             "skipped_low_rate_tracks": skipped_rate, "splits": ids}
    write_index(out, index)
    return index


__all__ = ["ExcerptConfig", "build_excerpts", "reference_start", "track_excerpts", "window_starts"]
