"""One streaming pass over a file: loudness, peaks, dynamics, spectrum, stereo and the feature vector.

Everything level-related (LUFS, LRA, peaks) is measured over every sample; spectral features come
from evenly spaced excerpts (see :class:`mixai.analysis.features.ExcerptSampler`) so memory stays
bounded.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from mixai.analysis.features import (BAND_EDGES_HZ, FEATURE_NAMES, ExcerptSampler, Features, extract,
                                     offset_above_limit)
from mixai.dsp.loudness import SILENCE_LUFS, LoudnessMeter
from mixai.dsp.streaming import stage_pool
from mixai.threads import helper_pool
from mixai.dsp.truepeak import TruePeakMeter
from mixai.errors import InputError
from mixai.io import audio as audio_io

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Analysis:
    """What mixai measured about one piece of audio. ``features`` feeds the predictors."""

    sample_rate: int
    channels: int
    duration_s: float
    integrated_lufs: float
    loudness_range_lu: float
    max_momentary_lufs: float
    max_short_term_lufs: float
    sample_peak_dbfs: float
    true_peak_dbtp: float
    features: Features
    path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    clipped_runs: int = 0  # flat runs of CLIP_RUN or more equal samples at full scale (count_clipped_runs)
    dc_offset: np.ndarray | None = None  # per channel, when above -60 dBFS (mixai.analysis.features.dc_offset)

    @property
    def crest_factor_db(self) -> float:
        return self.features["crest_factor_db"]

    @property
    def peak_to_loudness_db(self) -> float:
        return self.true_peak_dbtp - self.integrated_lufs

    def to_dict(self) -> dict[str, Any]:
        f = self.features
        bands = {f"{int(lo)}-{int(hi)} Hz": round(float(v), 2)
                 for lo, hi, v in zip(BAND_EDGES_HZ[:-1], BAND_EDGES_HZ[1:], f.bands_db())}
        return {
            "path": self.path,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "duration_s": round(self.duration_s, 3),
            "loudness": {
                "integrated_lufs": _r(self.integrated_lufs),
                "loudness_range_lu": _r(self.loudness_range_lu),
                "max_momentary_lufs": _r(self.max_momentary_lufs),
                "max_short_term_lufs": _r(self.max_short_term_lufs),
            },
            "peaks": {
                "sample_peak_dbfs": _r(self.sample_peak_dbfs),
                "true_peak_dbtp": _r(self.true_peak_dbtp),
                "crest_factor_db": _r(self.crest_factor_db),
                "peak_to_loudness_db": _r(self.peak_to_loudness_db),
                "clipped_runs": self.clipped_runs,
                "dc_offset": None if self.dc_offset is None else [round(float(v), 6) for v in self.dc_offset],
            },
            "spectrum": {
                "band_balance_db": bands,
                "centroid_hz": round(1000.0 * 2 ** f["spectral_centroid_oct"], 1),
                "rolloff_hz": round(1000.0 * 2 ** f["spectral_rolloff_oct"], 1),
                "flatness_db": _r(f["spectral_flatness_db"]),
            },
            "stereo": {
                "side_to_mid_db": _r(f["side_to_mid_db"]),
                "correlation": _r(f["lr_correlation"]),
            },
            "features": f.to_dict(),
            **({"warnings": list(self.extra["warnings"])} if self.extra.get("warnings") else {}),
        }


def _r(x: float) -> float | None:
    return round(float(x), 3) if math.isfinite(x) else None


CLIP_LEVEL = 0.9999  # -0.001 dBFS: a sample this close to full scale sits on the converter's limit
CLIP_RUN = 3         # consecutive samples there: a flattened peak, not a peak that touched 0 dBFS


def count_clipped_runs(block: np.ndarray) -> int:
    """Runs of :data:`CLIP_RUN` or more consecutive *equal* samples at or above :data:`CLIP_LEVEL`,
    summed over channels: the flat tops that hard clipping leaves, which no later processing
    restores. (A floating-point file may legitimately peak above full scale; its samples there
    differ from one another, so they do not count.)"""
    x = np.atleast_2d(block)
    if not (np.abs(x) >= CLIP_LEVEL).any():
        return 0
    # same[i]: sample i+1 repeats sample i at the limit; a run of CLIP_RUN equal samples is
    # CLIP_RUN - 1 consecutive repeats.
    same = (np.abs(x[:, 1:]) >= CLIP_LEVEL) & (x[:, 1:] == x[:, :-1])
    edges = np.diff(np.pad(same.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    count = 0
    for row in edges:
        starts, ends = np.flatnonzero(row == 1), np.flatnonzero(row == -1)
        count += int(np.count_nonzero(ends - starts >= CLIP_RUN - 1))
    return count


class AnalysisAccumulator:
    """Feed blocks, then :meth:`finish`. Used by both analysis-only runs and the mastering pass."""

    def __init__(self, sample_rate: int, channels: int, total_frames: int, block_frames: int, *,
                 excerpt_reader: Callable[[list[int], int], np.ndarray] | None = None,
                 keep_excerpt: bool = True) -> None:
        """``excerpt_reader(starts, frames)``, when given, reads the excerpt up front (by seeking),
        so the features are computed on a thread of their own while the loudness pass streams.
        Without ``keep_excerpt`` no excerpt is kept: :meth:`finish` must then be given features."""
        self.sample_rate = sample_rate
        self.channels = channels
        self.loudness = LoudnessMeter(sample_rate, channels)
        self.peaks = TruePeakMeter(channels)
        self.excerpts: ExcerptSampler | None = (ExcerptSampler(total_frames, block_frames, sample_rate)
                                                if keep_excerpt else None)
        self.frames = 0
        self.clipped_runs = 0
        self._channel_sums = np.zeros(channels)
        self._peaks_pending: list[Future] = []
        self._early_features: Future | None = None
        if excerpt_reader is not None and self.excerpts is not None:
            self._early_features = _feature_pool().submit(self._extract_excerpt, excerpt_reader,
                                                          self.excerpts.starts, block_frames)

    def add(self, block: np.ndarray) -> None:
        # The true peak runs on the helper thread, up to two blocks behind the loudness filter
        # (bounded, so a long file never queues up in memory).
        self._peaks_pending.append(stage_pool().submit(self.peaks.add, block))
        self.loudness.add(block)
        self.clipped_runs += count_clipped_runs(block)
        self._channel_sums += np.asarray(block, np.float64).sum(axis=-1)
        if self.excerpts is not None:
            self.excerpts.add(block)  # the fallback, kept until the early excerpt's features are in
            early = self._early_features
            if early is not None and early.done() and early.exception() is None and early.result() is not None:
                self.excerpts = None
        while len(self._peaks_pending) > 2:
            self._peaks_pending.pop(0).result()
        self.frames += block.shape[1]

    def _extract_excerpt(self, reader: Callable[[list[int], int], np.ndarray], starts: list[int],
                         frames: int) -> Features | None:
        excerpt = reader(starts, frames)
        if excerpt.shape[-1] == 0 or not np.isfinite(excerpt).all():
            return None  # the streaming pass reports the problem, or its own excerpt stands in
        return extract(excerpt, self.sample_rate)

    def finish(self, path: str | None = None, *, allow_silent: bool = False,
               features: Features | None = None) -> Analysis:
        self._peaks_pending.append(stage_pool().submit(self.peaks.flush))
        try:
            if features is None and self._early_features is not None:
                try:
                    features = self._early_features.result()
                except Exception:  # noqa: BLE001 - seeking failed where streaming did not: fall back
                    features = None
            if features is None:
                assert self.excerpts is not None
                features = extract(self.excerpts.audio(), self.sample_rate)  # while the peaks finish
        finally:
            for pending in self._peaks_pending:
                pending.result()
            self._peaks_pending = []
        lufs = self.loudness.integrated_lufs()
        if not allow_silent and (not math.isfinite(lufs) or lufs < SILENCE_LUFS):
            where = path or "audio"
            if self.frames < 0.4 * self.sample_rate:  # shorter than one BS.1770 gating block
                raise InputError(f"{where}: is {self.frames / self.sample_rate:.3f} s long; loudness "
                                 "(ITU-R BS.1770) needs at least 0.4 s of audio")
            raise InputError(f"{where}: is silent (nothing above the {SILENCE_LUFS:g} LUFS gate); "
                             "there is nothing to master")
        return Analysis(
            sample_rate=self.sample_rate, channels=self.channels,
            duration_s=self.frames / self.sample_rate, integrated_lufs=lufs,
            loudness_range_lu=self.loudness.loudness_range_lu(),
            max_momentary_lufs=self.loudness.max_momentary_lufs(),
            max_short_term_lufs=self.loudness.max_short_term_lufs(),
            sample_peak_dbfs=self.peaks.sample_peak_dbfs, true_peak_dbtp=self.peaks.true_peak_dbtp,
            features=features, path=path, clipped_runs=self.clipped_runs,
            dc_offset=offset_above_limit(self._channel_sums / max(self.frames, 1)))


def _feature_pool():
    """The thread that computes features from an excerpt while the loudness pass runs."""
    return helper_pool("features")


def analyze(path: str | os.PathLike, *, sample_rate: int | None = None,
            progress: Progress | None = None, allow_truncated: bool = False) -> Analysis:
    """Analyse an audio file in one streaming pass.

    Raises :class:`~mixai.errors.InputError` for unreadable, empty, silent or non-finite audio, and
    for a file cut short or damaged (:func:`mixai.io.audio.inspect`) unless ``allow_truncated``:
    then its intact start is analysed and ``extra["warnings"]`` says so.
    """
    info = audio_io.inspect(path, allow_truncated=allow_truncated)
    rate = sample_rate or info.sample_rate
    block = int(audio_io.BLOCK_SECONDS * rate)
    total = int(round(info.frames * rate / info.sample_rate))
    limit = info.frames if info.damage is not None else None
    acc = AnalysisAccumulator(rate, info.channels, total, block, excerpt_reader=lambda starts, frames:
                              audio_io.read_excerpt(path, starts, frames, sample_rate=rate, limit_frames=limit))
    for blk in audio_io.read_blocks(path, sample_rate=rate, frames=limit):
        acc.add(blk)
        if progress:
            progress(min(1.0, acc.frames / max(total, 1)), "analyze")
    analysis = acc.finish(os.fspath(path))
    if info.damage is not None:
        analysis.extra["warnings"] = [info.damage.warning()]
    return analysis


def analyze_array(audio: np.ndarray, sample_rate: int, *, allow_silent: bool = False) -> Analysis:
    """Analyse a (channels, samples) array already in memory."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    if not np.isfinite(audio).all():
        raise InputError("audio contains NaN or infinite samples")
    block = int(audio_io.BLOCK_SECONDS * sample_rate)
    acc = AnalysisAccumulator(sample_rate, audio.shape[0], audio.shape[1], block)
    for start in range(0, audio.shape[1], block):
        acc.add(audio[:, start:start + block])
    return acc.finish(allow_silent=allow_silent)


__all__ = ["Progress", "Analysis", "AnalysisAccumulator", "CLIP_LEVEL", "CLIP_RUN", "count_clipped_runs",
           "analyze", "analyze_array", "FEATURE_NAMES"]
