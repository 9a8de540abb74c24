"""Audio in and out through ``pedalboard.io``: validated reading in blocks, atomic dithered writing.

Layout is (channels, samples) float32 everywhere in mixai. Inputs are never modified; outputs go
through :mod:`mixai.io.atomic` (a temporary file in the destination folder, renamed into place only
when complete), so a crash or Ctrl-C never leaves a half-written file under the final name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from mixai.errors import InputError, OutputError, ParameterError
from mixai.io.formats import READ_SUFFIXES, WRITE_SUFFIXES
from mixai.io.atomic import commit, discard_temporary, output_error, temporary_path
from mixai.io.integrity import Damage, check as check_integrity

MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000
BIT_DEPTHS = (16, 24, 32)  # 32 means 32-bit float (WAV only)
BLOCK_SECONDS = 2.5


@dataclass(frozen=True)
class AudioInfo:
    """What the file header says, before any sample is read; after :func:`inspect`, ``frames``
    is what the file holds intact and ``damage`` what is wrong with the rest."""

    path: str
    sample_rate: int
    channels: int
    frames: int
    damage: Damage | None = None

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def _reject(path: str | os.PathLike, problem: str) -> InputError:
    return InputError(f"{os.fspath(path)}: {problem}")


def probe(path: str | os.PathLike) -> AudioInfo:
    """Open a file's header and check it is something mixai can master (1-2 channels, 8-192 kHz)."""
    from pedalboard.io import AudioFile

    p = Path(path)
    if not p.exists():
        raise _reject(path, "no such file")
    if p.is_dir():
        raise _reject(path, "is a folder, not an audio file")
    if p.suffix.lower() not in READ_SUFFIXES:
        raise _reject(path, f"unsupported format '{p.suffix or '(none)'}' (mixai reads "
                            f"{', '.join(READ_SUFFIXES)})")
    if p.stat().st_size == 0:
        raise _reject(path, "file is empty (0 bytes)")
    try:
        with AudioFile(str(p)) as f:
            info = AudioInfo(str(p), int(round(f.samplerate)), int(f.num_channels), int(f.frames))
    except (OSError, ValueError, RuntimeError) as exc:
        raise _reject(path, f"cannot decode audio ({_first_line(exc)})") from None
    _check_layout(info)
    return info


def inspect(path: str | os.PathLike, *, allow_truncated: bool = False) -> AudioInfo:
    """:func:`probe`, then check that the file holds what its header promises
    (:mod:`mixai.io.integrity`): a file cut short or damaged is an :class:`InputError` saying
    how much was promised and how much is there, unless ``allow_truncated``, which gives the
    intact frames from the start (and the damage, for the report's warning)."""
    info = probe(path)
    damage = check_integrity(path, info.sample_rate, info.frames)
    if damage is None:
        return info
    if damage.fatal and not allow_truncated:
        raise InputError(damage.message())
    if damage.intact_frames <= 0:
        raise _reject(path, f"contains no intact audio ({damage.kind})")
    return replace(info, frames=min(info.frames, damage.intact_frames) if damage.fatal else damage.intact_frames,
                   damage=damage)


def _check_layout(info: AudioInfo) -> None:
    if info.channels not in (1, 2):
        raise _reject(info.path, f"has {info.channels} channels; mixai masters mono or stereo files "
                                 "(split or downmix multichannel audio first)")
    if not MIN_SAMPLE_RATE <= info.sample_rate <= MAX_SAMPLE_RATE:
        raise _reject(info.path, f"sample rate {info.sample_rate} Hz is outside "
                                 f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")
    if info.frames <= 0:
        raise _reject(info.path, "contains no audio samples")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def check_sample_rate(sample_rate: int | None) -> None:
    if sample_rate is not None and not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise ParameterError(f"sample rate {sample_rate} Hz is outside "
                             f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")


def _limit(frames: int | None, rate_in: int, rate: int) -> int | None:
    """``frames`` of the file at ``rate_in``, counted at the reading rate."""
    return None if frames is None else int(-(-frames * rate // rate_in))


def read_blocks(path: str | os.PathLike, *, sample_rate: int | None = None,
                block_seconds: float = BLOCK_SECONDS, frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield float32 blocks shaped (channels, samples), resampled on the fly when asked; with
    ``frames`` (at the file's rate; :attr:`AudioInfo.frames` after :func:`inspect`), no more.

    Non-finite samples are an :class:`InputError` naming the time they occur at.
    """
    from pedalboard.io import AudioFile

    info = probe(path)
    rate = sample_rate or info.sample_rate
    block = max(1, int(block_seconds * rate))
    limit = _limit(frames, info.sample_rate, rate)
    position = 0
    try:
        with AudioFile(str(path)) as raw:
            f = raw.resampled_to(rate) if rate != info.sample_rate else raw
            while limit is None or position < limit:
                try:
                    data = f.read(block if limit is None else min(block, limit - position))
                except (OSError, ValueError, RuntimeError) as exc:
                    raise _reject(path, f"cannot decode audio after {position / rate:.2f} s "
                                        f"({_first_line(exc)})") from None
                if data.shape[-1] == 0:
                    break
                if not np.isfinite(data).all():
                    bad = int(np.argmax(~np.isfinite(data).all(axis=0)))
                    raise _reject(path, f"contains NaN or infinite samples (first at "
                                        f"{(position + bad) / rate:.3f} s)")
                position += data.shape[-1]
                yield np.ascontiguousarray(data, dtype=np.float32)
    except (OSError, RuntimeError) as exc:
        raise _reject(path, f"cannot read audio ({_first_line(exc)})") from None
    if position == 0:
        raise _reject(path, "contains no audio samples")


def read_excerpt(path: str | os.PathLike, starts: list[int], frames: int, *,
                 sample_rate: int | None = None, limit_frames: int | None = None) -> np.ndarray:
    """``frames`` frames from each start frame, concatenated: an excerpt read by seeking, without
    decoding the rest of the file. May come out shorter than asked where the file ends early (or
    at ``limit_frames``, counted at the file's rate, as in :func:`read_blocks`)."""
    from pedalboard.io import AudioFile

    info = probe(path)
    rate = sample_rate or info.sample_rate
    limit = _limit(limit_frames, info.sample_rate, rate)
    pieces = []
    try:
        with AudioFile(str(path)) as raw:
            f = raw.resampled_to(rate) if rate != info.sample_rate else raw
            end = f.frames if limit is None else min(f.frames, limit)
            for start in (min(s, end) for s in starts):
                f.seek(start)
                pieces.append(np.asarray(f.read(max(0, min(frames, end - start))), dtype=np.float32))
    except (OSError, ValueError, RuntimeError) as exc:
        raise _reject(path, f"cannot read audio ({_first_line(exc)})") from None
    return np.concatenate(pieces, axis=1) if pieces else np.zeros((info.channels, 0), np.float32)


def load(path: str | os.PathLike, *, sample_rate: int | None = None,
         frames: int | None = None) -> tuple[np.ndarray, int]:
    """Read a whole file (or its first ``frames``, as in :func:`read_blocks`): returns (audio shaped
    (channels, samples) float32, sample rate)."""
    info = probe(path)
    rate = sample_rate or info.sample_rate
    blocks = list(read_blocks(path, sample_rate=rate, frames=frames))
    return np.concatenate(blocks, axis=1), rate


def check_output_path(output: str | os.PathLike, *, inputs: tuple[str | os.PathLike, ...] = (),
                      overwrite: bool = False) -> Path:
    """Refuse outputs that would clobber an input, a folder or (without overwrite) any file."""
    out = Path(output)
    if out.suffix.lower() not in WRITE_SUFFIXES:
        raise OutputError(f"{out}: mixai writes {' or '.join(WRITE_SUFFIXES)} files, "
                          f"not '{out.suffix or '(no extension)'}'")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{out}: output folder {parent} does not exist")
    for source in inputs:
        same = Path(source).resolve() == out.resolve() or (
            Path(source).exists() and out.exists() and os.path.samefile(source, out))  # hard links too
        if same:
            raise OutputError(f"{out}: output is the input file; mixai never overwrites its input")
    if out.is_dir():
        raise OutputError(f"{out}: is a folder")
    if out.exists() and not overwrite:
        raise OutputError(f"{out}: already exists (use --overwrite to replace it)")
    return out


def tpdf_dither(block: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """Add triangular (TPDF) dither of +-1 LSB before the writer quantises to ``bits``.

    TPDF dither makes the quantisation error independent of the signal (no distortion on fades).
    The writer truncates towards minus infinity, hence the half-LSB offset that centres the error.
    """
    lsb = 1.0 / float(2 ** (bits - 1) - 1)
    dither = rng.random(block.shape, dtype=np.float32) - rng.random(block.shape, dtype=np.float32)
    return (block + (dither + np.float32(0.5)) * np.float32(lsb)).astype(np.float32)


class AtomicWriter:
    """Write audio to a temporary beside ``dest`` (:func:`mixai.io.atomic.temporary_path`) and
    rename it over ``dest`` only on success.

    Use as a context manager; an exception inside the block deletes the temporary file.
    """

    def __init__(self, path: str | os.PathLike, *, sample_rate: int, channels: int,
                 bit_depth: int = 24, overwrite: bool = False, seed: int = 0) -> None:
        if bit_depth not in BIT_DEPTHS:
            raise ParameterError(f"bit depth {bit_depth} is not one of {BIT_DEPTHS}")
        self.path = Path(path)
        if self.path.suffix.lower() == ".flac" and bit_depth == 32:
            raise ParameterError("FLAC stores integers: use --bit-depth 16 or 24 for .flac output")
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.bit_depth = bit_depth
        self.overwrite = overwrite
        self._rng = np.random.default_rng(seed)
        self._tmp: Path | None = None
        self._file = None
        self._discarded = False
        self.frames_written = 0

    def __enter__(self) -> "AtomicWriter":
        from pedalboard.io import AudioFile

        self._tmp = temporary_path(self.path, hold=True)  # held: no clean-up takes it meanwhile
        try:
            self._file = AudioFile(str(self._tmp), "w", samplerate=self.sample_rate,
                                   num_channels=self.channels,
                                   bit_depth=self.bit_depth if self.bit_depth != 32 else 32)
        except (OSError, RuntimeError) as exc:
            discard_temporary(self._tmp)
            raise output_error(self.path, exc) from None
        except BaseException:
            discard_temporary(self._tmp)
            raise
        return self

    def write(self, block: np.ndarray) -> None:
        """Write one (channels, samples) float block; an OS error (a full disk) is an OutputError."""
        assert self._file is not None, "write() outside the with-block"
        if self.bit_depth == 16:
            block = tpdf_dither(block, 16, self._rng)
        try:
            self._file.write(np.ascontiguousarray(block, dtype=np.float32))
        except (OSError, RuntimeError) as exc:  # pedalboard: "Unable to write data to audio file."
            raise output_error(self.path, exc) from None
        self.frames_written += block.shape[-1]

    def discard(self) -> None:
        """Drop what was written: leaving the with-block then deletes the temporary file instead of
        renaming it into place (the mastering pipeline redoes a pass that missed its target)."""
        self._discarded = True

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._tmp is not None
        try:
            if self._file is not None:
                self._file.close()  # flushes: can fail on a full disk
        except (OSError, RuntimeError) as close_error:
            discard_temporary(self._tmp)
            if exc_type is None:
                raise output_error(self.path, close_error) from None
            return
        except BaseException:
            discard_temporary(self._tmp)
            raise
        if exc_type is not None or self._discarded:
            discard_temporary(self._tmp)
            return
        commit(self._tmp, self.path, overwrite=self.overwrite, doing="rendering")


def save(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, *, bit_depth: int = 24,
         overwrite: bool = False) -> Path:
    """Write a whole (channels, samples) array atomically."""
    audio = np.atleast_2d(audio)
    with AtomicWriter(path, sample_rate=sample_rate, channels=audio.shape[0], bit_depth=bit_depth,
                      overwrite=overwrite) as writer:
        writer.write(audio)
    return Path(path)


__all__ = ["READ_SUFFIXES", "WRITE_SUFFIXES", "MIN_SAMPLE_RATE", "MAX_SAMPLE_RATE", "BIT_DEPTHS",
           "BLOCK_SECONDS", "AudioInfo", "probe", "inspect", "check_sample_rate", "read_blocks", "read_excerpt",
           "load", "check_output_path", "tpdf_dither", "AtomicWriter", "save"]
