"""The stems of a mix as they come in: collected from a folder or a list, probed, loaded at the
mix rate (resampled when their rates differ, with a warning), padded to one length, panned."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from mixai.errors import InputError
from mixai.io import audio as audio_io

FEATURE_MAX_SECONDS = 120.0


class MixWarning(UserWarning):
    """Something was adjusted to make the stems mixable (e.g. resampling)."""


class StemSource:
    """One stem: its name, file (None for arrays), rate, channels and length; ``load(rate)`` reads it."""

    def __init__(self, name: str, path: str | None, rate_in: int, channels: int, frames_in: int,
                 load: Callable[[int], np.ndarray], warnings: tuple[str, ...] = ()) -> None:
        self.name, self.path, self.rate_in, self.channels = name, path, rate_in, channels
        self.frames_in = frames_in
        self._load = load
        self.warnings = warnings  # about the file itself (damage it is mixed despite)

    def load(self, rate: int) -> np.ndarray:
        return self._load(rate)



def collect_stem_paths(stems_or_dir: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """The stem files: a list of files, or every audio file directly inside one folder."""
    if isinstance(stems_or_dir, (str, os.PathLike)):
        items = [Path(stems_or_dir)]
    else:
        items = [Path(p) for p in stems_or_dir]
    if not items:
        raise InputError("no stems given")
    if len(items) == 1 and items[0].is_dir():
        folder = items[0]
        items = sorted(p for p in folder.iterdir()
                       if p.is_file() and p.suffix.lower() in audio_io.READ_SUFFIXES
                       and not p.name.startswith("."))
        if not items:
            raise InputError(f"{folder}: no audio files ({', '.join(audio_io.READ_SUFFIXES)}) in this folder")
    for p in items:
        if p.is_dir():
            raise InputError(f"{p}: is a folder; give either one folder of stems or stem files")
    names = [p.stem for p in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"two stems are named {dupes[0]!r}; stem file names must differ")
    return items



def file_source(path: Path, *, allow_truncated: bool = False) -> StemSource:
    """A stem file; one cut short or damaged is refused unless ``allow_truncated`` (then its intact
    start is the stem, with a warning)."""
    try:
        info = audio_io.inspect(path, allow_truncated=allow_truncated)
    except InputError as exc:
        text = str(exc)
        if "channels;" in text:
            raise InputError(text.split(";")[0] + "; mixai mixes mono or stereo stems (split a "
                             "multichannel stem into mono or stereo files first)") from None
        raise
    limit = info.frames if info.damage is not None else None
    return StemSource(path.stem, str(path), info.sample_rate, info.channels, info.frames,
                      lambda rate: audio_io.load(path, sample_rate=rate, frames=limit)[0],
                      (f"{path.stem}: {info.damage.warning()}",) if info.damage is not None else ())



def array_source(name: str, audio: np.ndarray, rate: int) -> StemSource:
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    if audio.shape[0] not in (1, 2):
        raise InputError(f"{name}: has {audio.shape[0]} channels; mixai mixes mono or stereo stems")
    if audio.shape[1] == 0:
        raise InputError(f"{name}: contains no audio samples")
    if not np.isfinite(audio).all():
        raise InputError(f"{name}: contains NaN or infinite samples")

    def load(target_rate: int) -> np.ndarray:
        if target_rate == rate:
            return audio
        from math import gcd

        from scipy.signal import resample_poly
        g = gcd(int(target_rate), int(rate))
        return resample_poly(audio, target_rate // g, rate // g, axis=1).astype(np.float32)
    return StemSource(name, None, rate, audio.shape[0], audio.shape[1], load)



def mix_rate(sources: list[StemSource], requested: int | None, fixed: int | None) -> tuple[int, list[str]]:
    """The mix rate (asked for, from the settings, or the highest stem rate) and what to warn."""
    rates = sorted({s.rate_in for s in sources})
    if requested:
        audio_io.check_sample_rate(requested)
    rate = requested or fixed or rates[-1]
    odd = [s for s in sources if s.rate_in != rate]
    if odd and len(rates) > 1 or odd and fixed and not requested:
        detail = ", ".join(f"{s.name} {s.rate_in} Hz" for s in odd)
        return rate, [f"stems have different sample rates ({detail}); resampling them to {rate} Hz"]
    return rate, []



def to_stereo(x: np.ndarray, pan: float) -> np.ndarray:
    """Mono: constant-power pan (centre = -3 dB per side, same loudness). Stereo: balance."""
    if x.shape[0] == 1:
        theta = (pan + 1.0) * math.pi / 4.0
        return np.concatenate([x * np.float32(math.cos(theta)), x * np.float32(math.sin(theta))])
    if pan == 0.0:
        return x
    return np.stack([x[0] * np.float32(min(1.0, 1.0 - pan)), x[1] * np.float32(min(1.0, 1.0 + pan))])



def fit_length(x: np.ndarray, frames: int) -> np.ndarray:
    if x.shape[1] >= frames:
        return x[:, :frames]
    return np.pad(x, ((0, 0), (0, frames - x.shape[1])))



def feature_excerpt(x: np.ndarray, rate: int, seconds: float = FEATURE_MAX_SECONDS) -> np.ndarray:
    """At most ``seconds`` of evenly spaced 10 s blocks (long stems keep analysis cheap)."""
    limit = int(seconds * rate)
    if x.shape[1] <= limit:
        return x
    block = 10 * rate
    starts = np.linspace(0, x.shape[1] - block, limit // block).astype(int)
    return np.concatenate([x[:, s:s + block] for s in starts], axis=1)


__all__ = ["FEATURE_MAX_SECONDS", "MixWarning", "StemSource", "collect_stem_paths", "file_source", "array_source",
           "mix_rate", "to_stereo", "fit_length", "feature_excerpt"]
