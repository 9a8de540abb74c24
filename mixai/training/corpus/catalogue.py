"""The catalogue of real recorded music that Debian packages ship, split by whole package.

Game soundtracks in Debian are produced, mastered recordings under free licences. The catalogue
lists every music track of the packages in :data:`MASTERED_PACKAGES` (and the band stems of
:data:`STEM_PACKAGES`) with its package, path, licence, duration, sample rate, integrated loudness
(ITU-R BS.1770-4) and true peak, and assigns each *package* to one split, so that no recording, and
no composer's or mastering engineer's house sound, is on both sides of a train/test line.

The manifest (``recorded.json`` beside this module) holds facts only, never audio; the audio stays
where apt put it. Building it needs the packages installed (``make corpus`` does both).

    python -m mixai.training.corpus catalogue          # (re)measure, write recorded.json
"""

from __future__ import annotations

import json
import re
import subprocess
import zlib
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

MANIFEST_PATH = Path(__file__).resolve().with_name("recorded.json")
MANIFEST_VERSION = 1

# The packages issue #14 lists (mastered recordings); 0ad-data is optional and left out (3 GB).
MASTERED_PACKAGES = (
    "wesnoth-1.16-music", "nexuiz-music", "singularity-music", "hyperrogue-music", "supertuxkart-data",
    "hedgewars-data", "widelands-data", "megaglest-data", "boswars-data", "asc-music", "drascula-music",
    "pushover-data", "planetblupi-music-ogg", "openarena-data", "supertux-data", "freedroidrpg-data",
    "flare-game", "xmoto-data", "lincity-ng-data", "neverball-data", "pingus-data", "redeclipse-data",
)
# Real band stems: one folder a song, guitar.ogg + song.ogg (the backing); their sum is the mix.
STEM_PACKAGES = ("fretsonfire-songs-muldjord",)

AUDIO_SUFFIXES = (".ogg", ".flac", ".wav", ".mp3")
ARCHIVE_SUFFIXES = (".pk3",)  # zip archives of game data (nexuiz ships its music in one)
MEMBER_SEPARATOR = "!"        # "archive.pk3!sound/cdtracks/x.ogg" names a file inside an archive
# Packages whose music is installed by a package they depend on.
MUSIC_ALSO_IN = {"neverball-data": ("neverball-common",)}
MIN_TRACK_SECONDS = 30.0  # shorter files are sound effects, jingles or loops
SPLIT_SEED = 14
# Shares of the tracks that the validation and test packages must reach (the rest trains).
HELD_OUT_SHARE = {"test": 0.15, "val": 0.12}


class CatalogueError(RuntimeError):
    """A package or the manifest is missing or unreadable."""


@dataclass(frozen=True)
class Track:
    """One recording as the package ships it."""

    package: str
    path: str
    duration_s: float
    sample_rate: int
    channels: int
    integrated_lufs: float
    true_peak_dbtp: float

    @property
    def track_id(self) -> str:
        """A stable, file-system-safe name: package + a hash of the path."""
        stem = re.sub(r"[^A-Za-z0-9]+", "-", Path(self.path).stem).strip("-")[:40] or "track"
        return f"{self.package}.{stem}.{zlib.crc32(self.path.encode()):08x}"


# ---------------------------------------------------------------------------------------------
# Packages: files and licences
# ---------------------------------------------------------------------------------------------

def package_files(package: str) -> list[str]:
    """Every audio file the installed ``package`` ships (``dpkg -L``), sorted; audio inside a zip
    archive is named ``archive!member``."""
    import zipfile

    out = []
    for name in (package, *MUSIC_ALSO_IN.get(package, ())):
        try:
            listing = subprocess.run(["dpkg", "-L", name], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            raise CatalogueError(f"package {name} is not installed (run `make corpus`)") from exc
        for path in listing.splitlines():
            lower = path.lower()
            if lower.endswith(AUDIO_SUFFIXES) and Path(path).is_file():
                out.append(path)
            elif lower.endswith(ARCHIVE_SUFFIXES) and Path(path).is_file():
                with zipfile.ZipFile(path) as archive:
                    out += [f"{path}{MEMBER_SEPARATOR}{m.filename}" for m in archive.infolist()
                            if m.filename.lower().endswith(AUDIO_SUFFIXES)]
    return sorted(out)


def read_audio(path: str) -> tuple[np.ndarray, int]:
    """(channels, samples) float32 and the rate of a catalogued file, inside an archive or not."""
    import io
    import zipfile

    import soundfile as sf

    if MEMBER_SEPARATOR in path:
        archive, member = path.split(MEMBER_SEPARATOR, 1)
        with zipfile.ZipFile(archive) as z:
            source: object = io.BytesIO(z.read(member))
    else:
        source = path
    audio, rate = sf.read(source, dtype="float32", always_2d=True)
    return np.ascontiguousarray(audio.T), int(rate)


def read_stereo(path: str, sample_rate: int) -> np.ndarray:
    """A catalogued file as (2, samples) float32 at ``sample_rate``, as every recorded corpus
    stores it: resampled (soxr, high quality) when recorded at another rate, mono doubled, channels
    past the first two dropped."""
    audio, rate = read_audio(path)
    if rate != sample_rate:
        import librosa

        audio = librosa.resample(audio, orig_sr=rate, target_sr=sample_rate, res_type="soxr_hq", axis=-1)
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    return np.ascontiguousarray(audio[:2], dtype=np.float32)


def is_file(path: str) -> bool:
    return Path(path.split(MEMBER_SEPARATOR, 1)[0]).is_file()


def is_installed(package: str) -> bool:
    return Path(f"/usr/share/doc/{package}/copyright").is_file()


LICENCE_PATTERNS = (  # (short name, pattern) for copyright files that are not machine-readable
    ("CC-BY-SA", r"CC[- ]BY[- ]SA|Attribution[- ]Share ?Alike"),
    ("CC-BY", r"CC[- ]BY(?![- ]SA)|Creative Commons Attribution(?![- ]Share)"),
    ("CC0", r"CC0|Public Domain Dedication"),
    ("GPL", r"\bGPL|GNU General Public License"),
    ("LGPL", r"\bLGPL|GNU Lesser"),
    ("Artistic", r"Artistic License"),
    ("public-domain", r"public[- ]domain"),
    ("OFL", r"Open Font License|\bOFL\b"),
)


def package_licences(package: str) -> list[str]:
    """The licences named in the package's copyright file, most frequent first.

    Machine-readable (DEP-5) files give their ``License:`` short names; free-form ones are read
    for the usual licence names. The music's own stanza is not singled out: every licence the
    package names is listed, so a reader sees all terms that may apply.
    """
    path = Path(f"/usr/share/doc/{package}/copyright")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CatalogueError(f"{path} is not readable; is {package} installed?") from exc
    names = Counter(line.split(":", 1)[1].strip().split()[0]
                    for line in text.splitlines()
                    if line.startswith("License:") and line.split(":", 1)[1].strip())
    if names:
        return [name for name, _ in names.most_common()]
    return [name for name, pattern in LICENCE_PATTERNS if re.search(pattern, text, re.IGNORECASE)] or ["unknown"]


# ---------------------------------------------------------------------------------------------
# Measuring tracks
# ---------------------------------------------------------------------------------------------

def measure_track(package: str, path: str) -> Track | None:
    """Duration, rate, loudness and true peak of one file; ``None`` for effects, silence or a
    file that does not decode."""
    import soundfile as sf

    from mixai.dsp.loudness import integrated_lufs
    from mixai.dsp.truepeak import true_peak_dbtp

    try:
        if MEMBER_SEPARATOR not in path and sf.info(path).duration < MIN_TRACK_SECONDS:
            return None  # skip decoding effects
        audio, rate = read_audio(path)
    except (RuntimeError, sf.LibsndfileError, OSError, ValueError):
        return None
    if audio.shape[1] < MIN_TRACK_SECONDS * rate or not np.isfinite(audio).all():
        return None
    lufs = integrated_lufs(audio, rate)
    if not np.isfinite(lufs) or lufs < -60:
        return None
    return Track(package=package, path=path, duration_s=round(audio.shape[1] / rate, 3), sample_rate=int(rate),
                 channels=int(audio.shape[0]), integrated_lufs=round(float(lufs), 2),
                 true_peak_dbtp=round(float(true_peak_dbtp(audio)), 2))


def _measure(args: tuple[str, str]) -> Track | None:
    return measure_track(*args)


# ---------------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------------

def assign_splits(track_counts: dict[str, int], *, seed: int = SPLIT_SEED,
                  held_out_share: dict[str, float] = HELD_OUT_SHARE) -> dict[str, str]:
    """Package -> split, by whole package.

    Packages are taken in the order of a seeded hash of their names (not by anything measured on
    them); each goes to the first held-out split (test, then val) whose share of the tracks is not
    yet reached, or to train. A package holding more than half of the tracks still needed for a
    held-out split is passed over for it, so one huge package cannot become the whole test set.
    """
    total = sum(track_counts.values())
    order = sorted(track_counts, key=lambda p: zlib.crc32(f"{seed}:{p}".encode()))
    filled = {split: 0 for split in held_out_share}
    out = {}
    for package in order:
        count = track_counts[package]
        out[package] = "train"
        for split, share in held_out_share.items():
            need = share * total - filled[split]
            if need > 0 and count <= max(need * 1.5, 1):
                out[package] = split
                filled[split] += count
                break
    return out


# ---------------------------------------------------------------------------------------------
# The manifest
# ---------------------------------------------------------------------------------------------

def build_manifest(*, packages: tuple[str, ...] = MASTERED_PACKAGES, jobs: int = 2, progress: bool = True) -> dict:
    """Measure every track of the installed packages; packages not installed are listed as missing."""
    from tqdm import tqdm

    missing = [p for p in packages if not is_installed(p)]
    present = [p for p in packages if p not in missing]
    tasks = [(p, f) for p in present for f in package_files(p)]
    if jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            found = list(tqdm(pool.imap(_measure, tasks, chunksize=4), total=len(tasks), unit="file",
                              desc="measuring tracks", disable=not progress))
    else:
        found = [_measure(t) for t in tqdm(tasks, unit="file", desc="measuring tracks", disable=not progress)]
    tracks = [t for t in found if t is not None]
    counts = Counter(t.package for t in tracks)
    splits = assign_splits({p: counts[p] for p in present if counts[p]})
    return {
        "manifest_version": MANIFEST_VERSION,
        "split_seed": SPLIT_SEED,
        "min_track_seconds": MIN_TRACK_SECONDS,
        "missing_packages": missing,
        "packages": {p: {"split": splits.get(p, "unused"), "licences": package_licences(p),
                         "copyright": f"/usr/share/doc/{p}/copyright", "tracks": counts[p]} for p in present},
        "tracks": [asdict(t) | {"track_id": t.track_id, "split": splits[t.package]} for t in tracks],
    }


def write_manifest(manifest: dict, path: str | Path = MANIFEST_PATH) -> Path:
    from mixai.io.atomic import write_text_atomic

    return write_text_atomic(Path(path), json.dumps(manifest, indent=1) + "\n", overwrite=True)


def load_manifest(path: str | Path = MANIFEST_PATH) -> dict:
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"cannot read the corpus manifest {path}: {exc}") from exc
    if manifest.get("manifest_version") != MANIFEST_VERSION:
        raise CatalogueError(f"{path}: manifest_version {manifest.get('manifest_version')!r}, "
                             f"this mixai reads {MANIFEST_VERSION}")
    return manifest


def tracks_of(manifest: dict, split: str) -> list[dict]:
    return [t for t in manifest["tracks"] if t["split"] == split]


def available(manifest: dict, split: str) -> list[dict]:
    """The tracks of ``split`` whose files are on this machine (the packages may not be installed)."""
    return [t for t in tracks_of(manifest, split) if is_file(t["path"])]


def split_table(manifest: dict) -> str:
    """The Markdown split table for the model card: packages, tracks, hours, licences per split."""
    lines = ["| split | packages | tracks | hours | licences |", "|---|---|---:|---:|---|"]
    for split in ("train", "val", "test"):
        packages = sorted(p for p, info in manifest["packages"].items() if info["split"] == split)
        tracks = tracks_of(manifest, split)
        hours = sum(t["duration_s"] for t in tracks) / 3600
        licences = sorted({lic for p in packages for lic in manifest["packages"][p]["licences"][:2]})
        lines.append(f"| {split} | {', '.join(packages)} | {len(tracks)} | {hours:.1f} | {', '.join(licences)} |")
    return "\n".join(lines)


__all__ = ["MASTERED_PACKAGES", "STEM_PACKAGES", "MANIFEST_PATH", "CatalogueError", "Track", "assign_splits", "read_stereo",
           "available", "build_manifest", "is_installed", "load_manifest", "measure_track", "package_files",
           "package_licences", "read_audio", "split_table", "tracks_of", "write_manifest"]
