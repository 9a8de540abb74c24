"""The input of a master: re-iterable audio blocks (from a file or an array), its analysis, and the
working level read from an excerpt so the render need not wait for a full pass.

Two reads of a file: the excerpt (up to 60 s spread over the track, by seeking) gives the features
and the chain's working level at once; the render then streams the file while :class:`InputPass`
measures the whole input's loudness and peaks on a thread of its own, for the report.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from mixai.analysis.features import ExcerptSampler, Features, dc_offset, extract
from mixai.analysis.measure import Analysis, AnalysisAccumulator, Progress
from mixai.dsp.loudness import SILENCE_LUFS, LoudnessMeter
from mixai.errors import InputError, MixaiError
from mixai.io import audio as audio_io
from mixai.threads import helper_pool


class AudioSource:
    """Re-iterable (channels, samples) float32 blocks with their rate, channel count and length."""

    def __init__(self, name: str, sample_rate: int, channels: int, frames: int,
                 blocks: Callable[[], Iterable[np.ndarray]],
                 excerpt: Callable[[list[int], int], np.ndarray] | None = None,
                 warnings: tuple[str, ...] = ()) -> None:
        self.name, self.sample_rate, self.channels, self.frames = name, sample_rate, channels, frames
        self.blocks = blocks
        self.excerpt = excerpt  # (start frames, frames each) -> audio, read without a full pass
        self.warnings = warnings  # about the input itself (damage it was mastered despite), for the report

    @property
    def block_frames(self) -> int:
        return int(audio_io.BLOCK_SECONDS * self.sample_rate)

    @classmethod
    def from_file(cls, path: str | os.PathLike, sample_rate: int | None, *,
                  allow_truncated: bool = False) -> "AudioSource":
        """The file's audio; a file cut short or damaged is refused (:func:`mixai.io.audio.inspect`)
        unless ``allow_truncated``: then its intact start is the source, and a warning says so."""
        info = audio_io.inspect(path, allow_truncated=allow_truncated)
        rate = sample_rate or info.sample_rate
        frames = int(math.ceil(info.frames * rate / info.sample_rate))
        limit = info.frames if info.damage is not None else None
        return cls(os.fspath(path), rate, info.channels, frames,
                   lambda: audio_io.read_blocks(path, sample_rate=rate, frames=limit),
                   lambda starts, size: audio_io.read_excerpt(path, starts, size, sample_rate=rate,
                                                              limit_frames=limit),
                   warnings=(info.damage.warning(),) if info.damage is not None else ())

    @classmethod
    def from_array(cls, audio: np.ndarray, sample_rate: int, name: str = "<array>") -> "AudioSource":
        audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
        if audio.shape[0] not in (1, 2):
            raise InputError(f"{name}: has {audio.shape[0]} channels; mixai masters mono or stereo")
        block = int(audio_io.BLOCK_SECONDS * sample_rate)
        return cls(name, sample_rate, audio.shape[0], audio.shape[1],
                   lambda: (audio[:, i:i + block] for i in range(0, audio.shape[1], block)),
                   lambda starts, size: np.concatenate([audio[:, s:s + size] for s in starts], axis=1))


class _Stopped(Exception):
    """A background pass told to stop."""


def _feed(acc: AnalysisAccumulator, source: AudioSource, *, progress: Progress | None = None,
          share: float = 0.0, stop: threading.Event | None = None) -> AnalysisAccumulator:
    """Stream every block of ``source`` into ``acc``, rejecting non-finite audio; ``stop`` ends it
    early (a background pass whose master failed or was cancelled)."""
    for blk in source.blocks():
        if stop is not None and stop.is_set():
            raise _Stopped
        if not np.isfinite(blk).all():
            raise InputError(f"{source.name}: contains NaN or infinite samples")
        acc.add(blk)
        if progress:
            progress(share * min(1.0, acc.frames / max(source.frames, 1)), "analyze")
    return acc


def analyse_source(source: AudioSource, progress: Progress | None = None, share: float = 0.0) -> Analysis:
    """The full analysis of ``source`` (one streaming pass; progress runs from 0 to ``share``)."""
    acc = AnalysisAccumulator(source.sample_rate, source.channels, source.frames, source.block_frames,
                              excerpt_reader=source.excerpt)
    return _feed(acc, source, progress=progress, share=share).finish(source.name)


@dataclass(frozen=True)
class WorkingLevel:
    """What the render needs from the input before it starts."""

    features: Features
    input_lufs: float              # sets the chain's input gain to the working reference
    dc: np.ndarray | None = None   # per-channel offset subtracted before the chain


def excerpt_level(source: AudioSource) -> WorkingLevel | None:
    """Features, integrated loudness and DC offset (:func:`~mixai.analysis.features.dc_offset`) of
    the analysis excerpt (up to 60 s spread over the track, read by seeking), or None when the
    excerpt is unusable (unreadable, non-finite, silent).

    The loudness sets the chain's working level (input gain to -20 LUFS) so that the render can
    start without a full analysis pass: exact for tracks up to 60 s, an estimate from evenly spread
    excerpts beyond. It only places the compressor's threshold; the output loudness is set from the
    measured render, and the full input is measured during the render for the report.
    """
    if source.excerpt is None:
        return None
    block = source.block_frames
    try:
        excerpt = source.excerpt(ExcerptSampler(source.frames, block, source.sample_rate).starts, block)
    except MixaiError:
        return None
    if excerpt.shape[-1] == 0 or not np.isfinite(excerpt).all():
        return None
    meter = LoudnessMeter(source.sample_rate, source.channels)
    meter.add(excerpt)
    lufs = meter.integrated_lufs()
    if not math.isfinite(lufs) or lufs < SILENCE_LUFS:
        return None
    return WorkingLevel(extract(excerpt, source.sample_rate), lufs, dc_offset(excerpt))


def full_level(analysis: Analysis) -> WorkingLevel:
    """The working level from a full analysis (when the excerpt could not serve)."""
    return WorkingLevel(analysis.features, analysis.integrated_lufs, analysis.dc_offset)


def _measure_input(source: AudioSource, stop: threading.Event) -> AnalysisAccumulator:
    return _feed(AnalysisAccumulator(source.sample_rate, source.channels, source.frames, source.block_frames,
                                     keep_excerpt=False), source, stop=stop)


class InputPass:
    """Loudness and peaks of the whole input, measured on a thread of its own while the render
    runs, or at once, before it, where :mod:`mixai.threads` has helper threads off. Without
    features: the master takes those from the excerpt and hands them to :meth:`analysis`."""

    def __init__(self, source: AudioSource) -> None:
        self._stop = threading.Event()
        self._future: Future | None = helper_pool("input").submit(_measure_input, source, self._stop)

    @property
    def active(self) -> bool:
        return self._future is not None

    def abandon(self) -> None:
        """Stop the pass, which is no longer wanted, and wait for it (its error is not ours)."""
        if self._future is None:
            return
        self._stop.set()
        try:
            self._future.result()
        except Exception:  # noqa: BLE001
            pass
        self._future = None

    def analysis(self, name: str, features: Features) -> Analysis:
        """The input's analysis once the pass is through: a bad input raises here, before anything
        is written. Interrupted while waiting, the pass is told to stop too."""
        assert self._future is not None, "analysis() of an abandoned pass"
        try:
            return self._future.result().finish(name, features=features)
        except BaseException:
            self._stop.set()
            raise
        finally:
            self._future = None


__all__ = ["AudioSource", "analyse_source", "WorkingLevel", "excerpt_level", "full_level", "InputPass"]
