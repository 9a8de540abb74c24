"""Real band stems in the shared corpus layout: windows of the Frets on Fire songs Debian ships.

``fretsonfire-songs-muldjord`` holds band recordings by Muldjord (metal; CC BY-SA 3.0), one folder
a song with ``guitar.ogg`` (the lead/rhythm guitar) and ``song.ogg`` (everything else: drums,
bass, vocals, other guitars). The game plays their plain sum, so that sum is the artists' own
balance, the target a stem mixer should reach.

Each song is cut into windows of ``seconds`` every ``hop_seconds``; a window is kept when both
stems play in it (each within :data:`MIN_STEM_REL_DB` of the window's mix), so a guitar-less intro
does not become a one-stem "song". Written per window::

    <split>/<song>.w<NN>/stems/guitar.wav     the guitar stem
    <split>/<song>.w<NN>/stems/backing.wav    the backing (song.ogg): role ``backing``, a submix
    <split>/<song>.w<NN>/mix.wav              guitar + backing
    <split>/<song>.w<NN>/meta.json            package, licence, song, start, stem loudness

The backing gets the role ``backing`` (a stem that is itself a mix of several instruments, as
karaoke, "minus one" and game backing tracks are), not ``other``: an "other" stem in the rendered
corpus is one instrument sitting under the lead, a backing is the loudest thing in the song.
Both stems of a window share one gain that keeps the mix's sample peak at or below -1 dBFS (the
game's plain sum reaches +6 dBFS); a common gain leaves the balance as it is.

Splits are by **song**, never windows of one song on both sides: songs are ordered by the seeded
hash the recorded catalogue uses for packages (:data:`~mixai.training.corpus.catalogue.SPLIT_SEED`),
the first is ``test``, the second ``val``, the rest ``train``. For the four songs of the Debian
package that is ``test`` armygeddon, ``val`` mutilated_mime, ``train`` chaos_god and
internal_degeneration.

    python -m mixai.training.corpus stems --out data/stems/recorded
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mixai.training.corpus.catalogue import SPLIT_SEED, CatalogueError, package_files, package_licences, read_stereo
from mixai.training.corpus.layout import SPLITS, write_audio, write_index

PACKAGE = "fretsonfire-songs-muldjord"
COPYRIGHT = f"/usr/share/doc/{PACKAGE}/copyright"
SAMPLE_RATE = 44100
GUITAR_FILE, BACKING_FILE = "guitar.ogg", "song.ogg"
BACKING_ROLE = "backing"
MIN_STEM_REL_DB = -25.0       # a stem quieter than this under the window's mix does not "play"
PEAK_CEILING_DBFS = -1.0


@dataclass(frozen=True)
class WindowConfig:
    seconds: float = 15.0
    hop_seconds: float = 7.5


@dataclass(frozen=True)
class Song:
    name: str          # the song's folder name
    guitar: str        # path of guitar.ogg
    backing: str       # path of song.ogg


def find_songs(package: str = PACKAGE) -> list[Song]:
    """The songs of the installed package: folders holding both guitar.ogg and song.ogg."""
    files = package_files(package)
    folders: dict[str, dict[str, str]] = {}
    for path in files:
        p = Path(path)
        folders.setdefault(str(p.parent), {})[p.name] = path
    songs = [Song(Path(folder).name, names[GUITAR_FILE], names[BACKING_FILE])
             for folder, names in sorted(folders.items()) if GUITAR_FILE in names and BACKING_FILE in names]
    if not songs:
        raise CatalogueError(f"{package} ships no folder with {GUITAR_FILE} and {BACKING_FILE}")
    return songs


def assign_song_splits(names: list[str], *, seed: int = SPLIT_SEED) -> dict[str, str]:
    """Song -> split: ordered by a seeded hash of the name (nothing measured), first test, second
    val, the rest train (with one or two songs: test first, then train)."""
    order = sorted(names, key=lambda n: zlib.crc32(f"{seed}:{n}".encode()))
    held = ["test", "val"][:max(0, len(order) - 1)]
    return {name: (held[k] if k < len(held) else "train") for k, name in enumerate(order)}


def song_windows(task: tuple[Song, str, WindowConfig, str, list[str]]) -> tuple[list[str], int]:
    """Write one song's windows (runs in a worker); returns (piece ids written, windows skipped)."""
    from mixai.dsp.loudness import integrated_lufs

    song, split, config, out, licences = task
    guitar, backing = read_stereo(song.guitar, SAMPLE_RATE), read_stereo(song.backing, SAMPLE_RATE)
    frames = min(guitar.shape[1], backing.shape[1])
    size, hop = int(config.seconds * SAMPLE_RATE), int(config.hop_seconds * SAMPLE_RATE)
    ids, skipped = [], 0
    for k, start in enumerate(range(0, frames - size + 1, hop)):
        g, b = guitar[:, start:start + size], backing[:, start:start + size]
        mix = g + b
        total = integrated_lufs(mix, SAMPLE_RATE)
        rel = {"guitar": integrated_lufs(g, SAMPLE_RATE) - total, BACKING_ROLE: integrated_lufs(b, SAMPLE_RATE) - total}
        if not np.isfinite(total) or not all(np.isfinite(v) and v >= MIN_STEM_REL_DB for v in rel.values()):
            skipped += 1
            continue
        gain = min(1.0, 10.0 ** (PEAK_CEILING_DBFS / 20.0) / max(float(np.abs(mix).max()), 1e-9))
        piece_id = f"{song.name}.w{k:02d}"
        folder = Path(out) / split / piece_id
        (folder / "stems").mkdir(parents=True, exist_ok=True)
        write_audio(folder / "stems" / "guitar.wav", g * np.float32(gain), SAMPLE_RATE, "FLOAT")
        write_audio(folder / "stems" / f"{BACKING_ROLE}.wav", b * np.float32(gain), SAMPLE_RATE, "FLOAT")
        write_audio(folder / "mix.wav", mix * np.float32(gain), SAMPLE_RATE, "FLOAT")
        meta = {"kind": "recorded-stems", "package": PACKAGE, "licences": licences, "copyright": COPYRIGHT,
                "song": song.name, "split": split, "start_s": round(start / SAMPLE_RATE, 3), "start_sample": start,
                "seconds": config.seconds, "gain_db": round(20.0 * np.log10(gain), 3),
                "lufs": round(float(total + 20.0 * np.log10(gain)), 3),
                "stems": [{"name": "guitar", "role": "guitar", "source": song.guitar,
                           "rel_db": round(float(rel["guitar"]), 3), "pan": 0.0},
                          {"name": BACKING_ROLE, "role": BACKING_ROLE, "source": song.backing,
                           "rel_db": round(float(rel[BACKING_ROLE]), 3), "pan": 0.0}]}
        (folder / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        ids.append(piece_id)
    return ids, skipped


def build_stem_windows(out: str | Path, *, config: WindowConfig = WindowConfig(),
                       splits: tuple[str, ...] = SPLITS, jobs: int = 2, progress: bool = True) -> dict:
    """Write the real-stems corpus and its ``index.json`` (last); returns the index.

    Raises :class:`CatalogueError` when the package is not installed.
    """
    from tqdm import tqdm

    songs = find_songs()
    licences = package_licences(PACKAGE)
    split_of = assign_song_splits([s.name for s in songs])
    tasks = [(s, split_of[s.name], config, str(out), licences) for s in songs if split_of[s.name] in splits]
    if jobs > 1 and len(tasks) > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(min(jobs, len(tasks))) as pool:
            results = list(tqdm(pool.imap(song_windows, tasks), total=len(tasks), unit="song",
                                desc="cutting stem windows", disable=not progress))
    else:
        results = [song_windows(t) for t in tqdm(tasks, unit="song", desc="cutting stem windows",
                                                 disable=not progress)]
    ids: dict[str, list[str]] = {s: [] for s in SPLITS}
    for (song, split, *_), (written, _) in zip(tasks, results):
        ids[split] += written
    index = {"kind": "recorded-stems", "package": PACKAGE, "licences": licences, "copyright": COPYRIGHT,
             "sample_rate": SAMPLE_RATE, "seconds": config.seconds, "hop_seconds": config.hop_seconds,
             "min_stem_rel_db": MIN_STEM_REL_DB, "songs": split_of,
             "skipped_windows": {t[0].name: r[1] for t, r in zip(tasks, results)}, "splits": ids}
    write_index(out, index)
    return index


__all__ = ["BACKING_ROLE", "PACKAGE", "Song", "WindowConfig", "assign_song_splits", "build_stem_windows",
           "find_songs", "song_windows"]
