"""The mastering path, top to bottom: analyse -> predict -> render the chain -> loudness -> limit.

Two reads of the input: one to analyse (loudness, peaks, features), one to render the predicted
chain into a :class:`FrameStore`. The loudness stage then finds, from the stored peak envelope and
K-weighted power, the make-up gain whose *limited* result hits the target, and a last pass applies
it, measures the real output (BS.1770 loudness, 4x true peak) and writes it atomically. If the
measurement misses the target by more than the tolerance or touches the ceiling, that pass is redone
with a corrected gain before anything is renamed into place.
"""

from __future__ import annotations

import math
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from mixai.io import audio as audio_io
from mixai.analysis.measure import Analysis, AnalysisAccumulator, Progress
from mixai.analysis.features import ExcerptSampler, Features, dc_offset, extract
from mixai.dsp.chain import REFERENCE_LUFS, ChainRenderer
from mixai.errors import InputError, MixaiError, OutputError, ParameterError
from mixai.io.atomic import write_text_atomic
from mixai.io.framestore import FrameStore, default_temp_dir
from mixai.dsp.limiter import SAFETY_MARGIN_DB, PeakEnvelope, TruePeakLimiter
from mixai.dsp.loudness import SILENCE_LUFS, LoudnessMeter
from mixai.dsp.streaming import SUB_BLOCK, GroupReducer, stage_pool
from mixai.dsp.truepeak import TruePeakDetector, TruePeakMeter
from mixai.predict import Predictor, Target, get_predictor, resolve_target
from mixai.settings.presets import DEFAULT_PRESET, get_preset
from mixai.settings.scaling import scale_settings
from mixai.settings.schema import Output, Settings

LOUDNESS_TOLERANCE_LU = 0.1
ENVELOPE_HEADROOM_DB = 12.0  # how far above the expected make-up gain the peak envelope stays exact
OUT_OF_PHASE_CORRELATION = -0.3  # below this, left and right largely cancel in mono: warn
MAX_MAKEUP_GAIN_DB = 40.0


@dataclass(frozen=True)
class MasterOptions:
    """User choices for the output stage. ``None`` means: from the preset (or the settings file)."""

    target_lufs: float | None = None
    ceiling_dbtp: float | None = None
    preset: str | None = None
    amount: float = 1.0
    sample_rate: int | None = None
    bit_depth: int = 24
    overwrite: bool = False

    def output_stage(self, fallback: Output | None = None) -> Output:
        base = fallback
        if self.preset is not None or base is None:
            p = get_preset(self.preset or DEFAULT_PRESET)
            base = Output(target_lufs=p.target_lufs, ceiling_dbtp=p.ceiling_dbtp,
                          limiter_release_ms=(fallback or Output()).limiter_release_ms)
        return replace(base,
                       target_lufs=base.target_lufs if self.target_lufs is None else self.target_lufs,
                       ceiling_dbtp=base.ceiling_dbtp if self.ceiling_dbtp is None else self.ceiling_dbtp)


@dataclass
class MasterReport:
    """What was done: the settings used, and loudness/peaks measured before and after."""

    input: str
    output: str | None
    predictor: str
    target: str
    settings: Settings
    before: Analysis
    after: dict[str, float] = field(default_factory=dict)
    makeup_gain_db: float = 0.0
    max_limiting_db: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    model_trust: float | None = None  # the learned predictor's trust in this input (1 = fully)
    dc_offset_removed: list[float] | None = None  # per channel, subtracted before the chain

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input, "output": self.output, "predictor": self.predictor,
            "target": self.target, "settings": self.settings.to_dict(),
            "before": self.before.to_dict(), "after": self.after,
            "makeup_gain_db": round(self.makeup_gain_db, 3),
            "max_limiting_db": round(self.max_limiting_db, 3),
            "model_trust": None if self.model_trust is None else round(self.model_trust, 3),
            "dc_offset_removed": None if self.dc_offset_removed is None
            else [round(v, 6) for v in self.dc_offset_removed],
            "warnings": self.warnings(),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }

    def warnings(self) -> list[str]:
        """Problems mastering does not fix and the user should know about."""
        found = []
        if self.before.channels == 2:
            correlation = self.before.features["lr_correlation"]
            if correlation < OUT_OF_PHASE_CORRELATION:
                found.append(f"left and right are largely out of phase (correlation {correlation:+.2f}): "
                             "the master cancels when summed to mono; check one channel's polarity")
        if self.before.clipped_runs:
            found.append(f"the input is clipped ({self.before.clipped_runs} flat runs at full scale): "
                         "mastering cannot restore those peaks; export the mix with headroom if you can")
        return found

    def summary(self) -> str:
        b, s = self.before, self.settings
        lines = [f"input   {self.input}",
                 f"  before  {b.integrated_lufs:6.2f} LUFS   {b.true_peak_dbtp:6.2f} dBTP   "
                 f"LRA {b.loudness_range_lu:4.1f} LU"]
        if self.after:
            a = self.after
            lines.append(f"  after   {a['integrated_lufs']:6.2f} LUFS   {a['true_peak_dbtp']:6.2f} dBTP   "
                         f"LRA {a['loudness_range_lu']:4.1f} LU   (target {s.output.target_lufs:g} LUFS, "
                         f"ceiling {s.output.ceiling_dbtp:g} dBTP)")
        eq = s.eq
        bands = ", ".join(f"{name} {b_.gain_db:+.1f} dB @ {b_.freq_hz:.0f} Hz" for name, b_ in (
            ("low shelf", eq.low_shelf), ("low-mid", eq.low_mid), ("mid", eq.mid),
            ("high-mid", eq.high_mid), ("high shelf", eq.high_shelf)))
        hp = "off" if eq.highpass_hz <= 10.0 else f"{eq.highpass_hz:.0f} Hz"
        c = s.compressor
        comp = "off" if c.is_neutral else (f"{c.ratio:.2f}:1 at {c.threshold_db:.1f} dB, "
                                           f"attack {c.attack_ms:.1f} ms, release {c.release_ms:.0f} ms")
        rev = "off" if s.reverb.is_neutral else f"wet {s.reverb.wet:.2f}, room {s.reverb.room_size:.2f}"
        note = trust_note(self.model_trust)
        if note:
            lines.append(f"  note    {note}")
        lines += [f"  warning {w}" for w in self.warnings()]
        if self.dc_offset_removed is not None:
            lines.append("  dc      removed an offset of " + ", ".join(f"{v:+.4f}" for v in self.dc_offset_removed)
                         + " (full scale = 1)")
        lines += [f"  predictor {self.predictor}, target {self.target}",
                  f"  eq      high-pass {hp}; {bands}",
                  f"  comp    {comp}",
                  f"  stereo  width {s.stereo.width:.2f}   reverb {rev}"]
        if self.after:
            lines.append(f"  gain    {self.makeup_gain_db:+.2f} dB, limiter up to "
                         f"{self.max_limiting_db:.2f} dB of reduction")
        if self.output:
            lines.append(f"output  {self.output}")
        return "\n".join(lines)


class _Source:
    """Re-iterable audio blocks with their rate, channel count and length."""

    def __init__(self, name: str, sample_rate: int, channels: int, frames: int,
                 blocks: Callable[[], Iterable[np.ndarray]],
                 excerpt: Callable[[list[int], int], np.ndarray] | None = None) -> None:
        self.name, self.sample_rate, self.channels, self.frames = name, sample_rate, channels, frames
        self.blocks = blocks
        self.excerpt = excerpt  # (start frames, frames each) -> audio, read without a full pass

    @classmethod
    def from_file(cls, path: str | os.PathLike, sample_rate: int | None) -> "_Source":
        info = audio_io.probe(path)
        rate = sample_rate or info.sample_rate
        frames = int(math.ceil(info.frames * rate / info.sample_rate))
        return cls(os.fspath(path), rate, info.channels, frames,
                   lambda: audio_io.read_blocks(path, sample_rate=rate),
                   lambda starts, size: audio_io.read_excerpt(path, starts, size, sample_rate=rate))

    @classmethod
    def from_array(cls, audio: np.ndarray, sample_rate: int, name: str = "<array>") -> "_Source":
        audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
        if audio.shape[0] not in (1, 2):
            from mixai.errors import InputError
            raise InputError(f"{name}: has {audio.shape[0]} channels; mixai masters mono or stereo")
        block = int(audio_io.BLOCK_SECONDS * sample_rate)
        return cls(name, sample_rate, audio.shape[0], audio.shape[1],
                   lambda: (audio[:, i:i + block] for i in range(0, audio.shape[1], block)),
                   lambda starts, size: np.concatenate([audio[:, s:s + size] for s in starts], axis=1))


class _Stopped(Exception):
    pass


def _feed(acc: AnalysisAccumulator, source: _Source, *, progress: Progress | None = None, share: float = 0.0,
          stop: threading.Event | None = None) -> AnalysisAccumulator:
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


def _measure_input(source: _Source, stop: threading.Event) -> AnalysisAccumulator:
    """Loudness and peaks of the whole input, without features (a background pass of the master
    pipeline, which takes its features from the excerpt); finish it with those features."""
    block = int(audio_io.BLOCK_SECONDS * source.sample_rate)
    return _feed(AnalysisAccumulator(source.sample_rate, source.channels, source.frames, block,
                                     keep_excerpt=False), source, stop=stop)


def _analyse(source: _Source, progress: Progress | None, share: float) -> Analysis:
    block = int(audio_io.BLOCK_SECONDS * source.sample_rate)
    acc = AnalysisAccumulator(source.sample_rate, source.channels, source.frames, block,
                              excerpt_reader=source.excerpt)
    return _feed(acc, source, progress=progress, share=share).finish(source.name)


def _excerpt_level(source: _Source) -> tuple[Features, float, np.ndarray | None] | None:
    """Features, integrated loudness and DC offset (:func:`~mixai.analysis.features.dc_offset`, to be
    subtracted before the chain) of the analysis excerpt (up to 60 s spread over the track, read by
    seeking), or None when the excerpt is unusable (unreadable, non-finite, silent).

    The loudness sets the chain's working level (input gain to -20 LUFS) so that the render can
    start without a full analysis pass: exact for tracks up to 60 s, an estimate from evenly spread
    excerpts beyond. It only places the compressor's threshold; the output loudness is set from the
    measured render, and the full input is measured during the render for the report.
    """
    if source.excerpt is None:
        return None
    block = int(audio_io.BLOCK_SECONDS * source.sample_rate)
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
    return extract(excerpt, source.sample_rate), lufs, dc_offset(excerpt)


def trust_note(model_trust: float | None) -> str | None:
    """One line for the user when the model scaled its corrections down, else None."""
    if model_trust is None or model_trust >= 1.0:
        return None
    return (f"the input is unlike the model's training material: its corrections are scaled to "
            f"{100 * model_trust:.0f} %")


@dataclass
class Suggestion:
    """Predicted settings for a file, with what predicted them and how far the model trusted it."""

    settings: Settings
    analysis: Analysis
    predictor: str
    target: str
    model_trust: float | None = None  # as in MasterReport

    def note(self) -> str | None:
        return trust_note(self.model_trust)


def suggestion(path: str | os.PathLike, *, target: str | os.PathLike | Target | None = None,
               predictor: str | Predictor = "auto", model_path: str | os.PathLike | None = None,
               options: MasterOptions = MasterOptions()) -> Suggestion:
    """Analyse a file and predict settings for it, without rendering anything."""
    source = _Source.from_file(path, options.sample_rate)
    analysis = _analyse(source, None, 1.0)
    settings, predictor_name, target_name, trust = _predict(analysis.features, target, predictor,
                                                            model_path, options)
    return Suggestion(settings, analysis, predictor_name, target_name, trust)


def suggest(path: str | os.PathLike, *, target: str | os.PathLike | Target | None = None,
            predictor: str | Predictor = "auto", model_path: str | os.PathLike | None = None,
            options: MasterOptions = MasterOptions()) -> tuple[Settings, Analysis]:
    """Analyse a file and predict settings for it; :func:`suggestion` also says who and how sure."""
    found = suggestion(path, target=target, predictor=predictor, model_path=model_path, options=options)
    return found.settings, found.analysis


def _predict(features: Features, target, predictor, model_path,
             options: MasterOptions) -> tuple[Settings, str, str, float | None]:
    """Settings for ``features``, with the names of the predictor and target that made them, and
    the predictor's trust in this input where it has one (the ONNX model does).

    The predictor is opened (unless ``predictor`` is already one, or a future of one) and the
    target (possibly a reference file to analyse) resolved once.
    """
    if isinstance(predictor, Future):
        predictor = predictor.result()
    chosen = predictor if not isinstance(predictor, str) else get_predictor(predictor, model_path=model_path)
    resolved = resolve_target(target)
    settings = chosen.predict(features, resolved, output=options.output_stage())
    trust = chosen.trust(features) if hasattr(chosen, "trust") else None
    return scale_settings(settings, options.amount), chosen.name, resolved.name, trust


@lru_cache(maxsize=1)
def _input_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="mixai-input")


def _drain(future: Future, stop: threading.Event) -> None:
    """Stop a background pass that is no longer wanted and wait for it (its error is not ours)."""
    stop.set()
    try:
        future.result()
    except Exception:  # noqa: BLE001
        pass


@lru_cache(maxsize=1)
def _opener() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="mixai-predictor")


class _Render:
    """The chain output kept for the loudness stage: the audio, its K-weighted power per 64-sample
    sub-block and its oversampled peak envelope.

    The power and the envelope are measured on the helper thread while pedalboard renders the next
    block, so the loudness solver needs no further pass over the audio.
    """

    def __init__(self, source: _Source, settings: Settings, input_lufs: float,
                 progress: Progress | None = None, *, dc: np.ndarray | None = None) -> None:
        rate, channels = source.sample_rate, source.channels
        self.audio = FrameStore(channels, expected_frames=source.frames, directory=default_temp_dir())
        self.sample_rate = rate
        self.ceiling_dbtp = settings.output.ceiling_dbtp
        # The chain leaves its output near the working level, so the make-up gain is about
        # target - REFERENCE_LUFS: exact peaks up to well above that, rebuilt if the solver goes further.
        expected_gain_db = settings.output.target_lufs - REFERENCE_LUFS
        self.envelope = PeakEnvelope(channels, ceiling_dbtp=self.ceiling_dbtp,
                                     max_gain_db=expected_gain_db + ENVELOPE_HEADROOM_DB)
        self.power = SubBlockPower()
        chain = ChainRenderer(settings, rate, input_gain_db=REFERENCE_LUFS - input_lufs)
        self.meter = LoudnessMeter(rate, channels)
        pending = None  # metering of the previous block runs while pedalboard renders the next
        for block in source.blocks():
            if dc is not None:
                block = np.asarray(block, np.float32) - dc[:, None]
            out = chain.process(block)
            if pending is not None:
                pending.result()
            self.audio.append(out)
            pending = stage_pool().submit(self._measure, out)
            if progress:
                progress(0.3 + 0.4 * min(1.0, self.audio.frames / max(source.frames, 1)), "render")
        if pending is not None:
            pending.result()
        self.envelope.finish()
        self.energy = self.power.energies()
        self.frames = self.audio.frames

    def _measure(self, out: np.ndarray) -> None:
        self.power.add(self.meter.add(out, power=True))
        self.envelope.add(out)

    def peak_envelope(self, gain_db: float, chunk: int) -> PeakEnvelope:
        """The envelope; rebuilt from the stored audio when a gain above its range is asked about."""
        if gain_db > self.envelope.max_gain_db:
            self.envelope.close()
            self.envelope = PeakEnvelope.from_store(self.audio, ceiling_dbtp=self.ceiling_dbtp,
                                                    max_gain_db=gain_db + ENVELOPE_HEADROOM_DB,
                                                    chunk_frames=chunk)
        return self.envelope

    def close(self) -> None:
        self.audio.close()
        self.envelope.close()


class SubBlockPower:
    """Channel-summed K-weighted energy of each 64-sample sub-block (the limiter's planning grid)."""

    def __init__(self) -> None:
        self._sub_blocks = GroupReducer(SUB_BLOCK, np.sum)
        self._sums: list[np.ndarray] = []

    def add(self, power: np.ndarray) -> None:
        """Add the channel-summed K-weighted power of the next samples."""
        self._sums.append(self._sub_blocks.add(power))

    def energies(self) -> np.ndarray:
        tail = self._sub_blocks.remainder()
        return np.concatenate(self._sums + ([tail.sum(keepdims=True)] if tail.size else []) or [np.zeros(0)])


def _step_frames(rate: int) -> int:
    return max(1, int(round(LoudnessMeter.STEP_SECONDS * rate)))


def _estimate_limited_lufs(render: _Render, limiter: TruePeakLimiter, gain_db: float, chunk: int) -> float:
    """Loudness after gain + limiting, from the stored sub-block energies (no audio pass needed).

    Each sub-block's energy is scaled by the square of the limiter's gain at its centre, and spread
    evenly over its samples to form the meter's 100 ms steps. The gain moves slowly against a
    sub-block and the K-weighting filters; the final pass measures the real output anyway.
    """
    step = _step_frames(render.sample_rate)
    gains = limiter.block_gains(render.peak_envelope(gain_db, chunk), gain_db=gain_db)
    size = min(gains.size, render.energy.size)
    energy = render.energy[:size] * np.square(gains[:size])
    edges = np.minimum(np.arange(energy.size + 1) * SUB_BLOCK, render.frames)
    cumulative = np.concatenate([[0.0], np.cumsum(energy)])
    steps = np.arange(render.frames // step + 1) * step
    meter = LoudnessMeter(render.sample_rate, 1)
    meter.add_step_energies(np.diff(np.interp(steps, edges, cumulative)) / step)
    return meter.integrated_lufs()


def _solve_gain(render: _Render, limiter: TruePeakLimiter, target_lufs: float, chunk: int) -> float:
    """Make-up gain whose limited output lands on ``target_lufs`` (secant iterations)."""
    processed = render.meter.integrated_lufs()
    g0 = float(np.clip(target_lufs - processed, -MAX_MAKEUP_GAIN_DB, MAX_MAKEUP_GAIN_DB))
    l0 = _estimate_limited_lufs(render, limiter, g0, chunk)
    if abs(l0 - target_lufs) < 0.01:
        return g0
    g1 = float(np.clip(g0 + (target_lufs - l0), -MAX_MAKEUP_GAIN_DB, MAX_MAKEUP_GAIN_DB))
    for _ in range(8):
        l1 = _estimate_limited_lufs(render, limiter, g1, chunk)
        if abs(l1 - target_lufs) < 0.01 or l1 == l0:
            break
        slope = (l1 - l0) / (g1 - g0) if g1 != g0 else 1.0
        slope = min(1.0, max(slope, 0.05))  # limiting can only slow loudness growth, never reverse it
        g0, l0 = g1, l1
        g1 = float(np.clip(g1 + (target_lufs - l1) / slope, -MAX_MAKEUP_GAIN_DB, MAX_MAKEUP_GAIN_DB))
    return g1


class _Retry(Exception):
    pass


def _write_final(render: _Render, limiter: TruePeakLimiter, gain_db: float, chunk: int,
                 sink, progress: Progress | None = None) -> tuple[LoudnessMeter, TruePeakMeter, float]:
    envelope = render.peak_envelope(gain_db, chunk)
    meter = LoudnessMeter(render.sample_rate, render.audio.channels)
    gains = limiter.block_gains(envelope, gain_db=gain_db)
    peaks = TruePeakMeter(render.audio.channels, sub_block_bound=_output_peak_bound(envelope, gains))
    deepest = 0.0
    pending: list = []
    for i, g in enumerate(limiter.curves(gains, render.frames, chunk_frames=chunk)):
        block = render.audio.read(i * chunk, i * chunk + g.size) * g
        # Measured on the helper thread, at most two blocks behind the writing.
        pending.append(stage_pool().submit(_measure_output, meter, peaks, block))
        sink(block)
        while len(pending) > 2:
            pending.pop(0).result()
        if progress:
            progress(0.75 + 0.25 * min(1.0, (i * chunk + g.size) / max(render.frames, 1)), "write")
        if g.size:  # the limiter's share of the gain curve: make-up gain minus what it applied
            deepest = max(deepest, gain_db - 20 * math.log10(max(float(g.min()), 1e-9)))
    for measured in pending:
        measured.result()
    peaks.flush()
    return meter, peaks, deepest


def _output_peak_bound(envelope: PeakEnvelope, gains: np.ndarray) -> np.ndarray:
    """Upper bound of the output's oversampled peak in each 64-sample sub-block, from the render's
    peak envelope ``E`` and the limiter's gains, so the final true-peak check can skip sub-blocks
    that cannot hold the maximum.

    An oversampled output value is sum_m h_m x_m g_m over the filter's reach (two sub-blocks either
    side of the gain's interpolation). With G and g_min the largest and smallest gain there,
    |sum h x g| <= G |sum h x| + (G - g_min) sum |h| |x| <= G E + (G - g_min) * overshoot * max|x|,
    and max|x| <= the envelope of the sub-block and its neighbours. A hair of slack covers float32
    rounding in the exact filter.
    """
    from scipy import ndimage

    peak = np.power(np.float32(10.0), (envelope.peak_db / 20.0).astype(np.float32))
    gains = np.asarray(gains, np.float32)[:peak.size]
    high = ndimage.maximum_filter1d(gains, size=5, mode="nearest")
    spread = high - ndimage.minimum_filter1d(gains, size=5, mode="nearest")
    spread *= np.float32(TruePeakDetector(1).overshoot)
    spread *= ndimage.maximum_filter1d(peak, size=3, mode="nearest")
    high *= peak
    high += spread
    high *= np.float32(1.0 + 1e-4)  # float32 rounding here and in the exact filter
    return high


def _measure_output(meter: LoudnessMeter, peaks: TruePeakMeter, block: np.ndarray) -> None:
    meter.add(block)
    peaks.add(block)


def _monotonic(progress: Progress | None) -> Progress | None:
    """Progress never goes backwards, even when the final pass is redone."""
    if progress is None:
        return None
    highest = [0.0]

    def report(fraction: float, stage: str) -> None:
        if fraction >= highest[0]:
            highest[0] = fraction
            progress(fraction, stage)
    return report


def _master(source: _Source, sink_factory, *, settings: Settings | None, predictor, model_path,
            target, options: MasterOptions, progress: Progress | None, dry_run: bool,
            output_name: str | None) -> tuple[MasterReport, Any]:
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    progress = _monotonic(progress)
    if settings is None and isinstance(predictor, str):
        # Open the predictor (onnxruntime session) on a thread of its own while the analysis runs.
        predictor = _opener().submit(get_predictor, predictor, model_path=model_path)
    # Rendering: the whole input is measured (loudness, peaks: for the report) on a thread of its
    # own, while features and the working level come from the excerpt and the render starts at once.
    # A dry run, or an excerpt that cannot serve, analyses the whole file first instead.
    stop_measuring = threading.Event()
    measuring = None if dry_run else _input_pool().submit(_measure_input, source, stop_measuring)
    try:
        quick = None if dry_run else _excerpt_level(source)
        if quick is None:
            if measuring is not None:
                _drain(measuring, stop_measuring)
                measuring = None
            before: Analysis | None = _analyse(source, progress, 0.3)
            features, input_lufs = before.features, before.integrated_lufs
            dc = None if dry_run else before.dc_offset
        else:
            before = None
            features, input_lufs, dc = quick
        times["analyze"] = time.perf_counter() - t0

        t = time.perf_counter()
        if settings is None:
            settings, predictor_name, target_name, trust = _predict(features, target, predictor, model_path,
                                                                    options)
        else:
            settings = settings.replace(output=options.output_stage(settings.output))
            predictor_name, target_name, trust = "settings", "settings", None
        times["predict"] = time.perf_counter() - t
        if dry_run:
            report = MasterReport(source.name, output_name, predictor_name, target_name, settings, before,
                                  model_trust=trust)
            report.seconds = times
            return report, None

        t = time.perf_counter()
        render = _Render(source, settings, input_lufs, progress, dc=dc)
    except BaseException:  # failed or cancelled: stop the input pass rather than let it read on
        if measuring is not None:
            _drain(measuring, stop_measuring)
        raise
    if measuring is not None:  # before anything is written: a bad input stops here
        try:
            before = measuring.result().finish(source.name, features=features)
        except BaseException:
            stop_measuring.set()  # interrupted while waiting: let the input pass end too
            render.close()
            raise
    times["render"] = time.perf_counter() - t
    assert before is not None
    report = MasterReport(source.name, output_name, predictor_name, target_name, settings, before,
                          model_trust=trust, dc_offset_removed=None if dc is None else [float(v) for v in dc])
    if progress:
        progress(0.7, "render")
    try:
        out = settings.output
        limiter_margin = SAFETY_MARGIN_DB
        chunk = _step_frames(source.sample_rate) * 25
        gain_db = None
        for _attempt in range(4):
            t = time.perf_counter()
            limiter = TruePeakLimiter(source.sample_rate, ceiling_dbtp=out.ceiling_dbtp,
                                      release_ms=out.limiter_release_ms, margin_db=limiter_margin)
            if gain_db is None:
                gain_db = _solve_gain(render, limiter, out.target_lufs, chunk)
            times["loudness"] = times.get("loudness", 0.0) + time.perf_counter() - t
            t = time.perf_counter()
            try:
                with sink_factory() as sink:
                    meter, peaks, deepest = _write_final(render, limiter, gain_db, chunk, sink.write, progress)
                    lufs, tp = meter.integrated_lufs(), peaks.true_peak_dbtp
                    if tp > out.ceiling_dbtp:
                        limiter_margin += (tp - out.ceiling_dbtp) + 0.02
                        raise _Retry
                    if abs(lufs - out.target_lufs) > LOUDNESS_TOLERANCE_LU:
                        gain_db += out.target_lufs - lufs
                        raise _Retry
            except _Retry:
                continue
            finally:
                times["write"] = times.get("write", 0.0) + time.perf_counter() - t
            break
        else:
            raise OutputError(f"{output_name or source.name}: could not meet loudness target "
                              f"{out.target_lufs:g} LUFS under a {out.ceiling_dbtp:g} dBTP ceiling")
        report.after = {
            "integrated_lufs": round(lufs, 3), "true_peak_dbtp": round(tp, 3),
            "sample_peak_dbfs": round(peaks.sample_peak_dbfs, 3),
            "loudness_range_lu": round(meter.loudness_range_lu(), 3),
        }
        report.makeup_gain_db = gain_db + (REFERENCE_LUFS - input_lufs)
        report.max_limiting_db = deepest
    finally:
        render.close()
    times["total"] = time.perf_counter() - t0
    report.seconds = times
    if progress:
        progress(1.0, "done")
    return report, sink


def master_file(input_path: str | os.PathLike, output_path: str | os.PathLike | None, *,
                settings: Settings | None = None, predictor: str | Predictor = "auto",
                model_path: str | os.PathLike | None = None,
                target: str | os.PathLike | Target | None = None,
                options: MasterOptions = MasterOptions(), dry_run: bool = False,
                save_settings: str | os.PathLike | None = None,
                progress: Progress | None = None) -> MasterReport:
    """Master one file. ``target`` is a profile name or a reference file (reference matching).

    The output is written atomically; it may not be the input (or the reference) and an existing
    file is only replaced with ``options.overwrite``.
    """
    if not dry_run:
        if output_path is None:
            raise ParameterError("an output path is required (or use dry_run)")
        references = (target,) if isinstance(target, (str, os.PathLike)) and Path(target).suffix else ()
        audio_io.check_output_path(output_path, inputs=(input_path, *references), overwrite=options.overwrite)
    if save_settings is not None:
        _check_settings_path(save_settings, input_path, options.overwrite)
    audio_io.check_sample_rate(options.sample_rate)
    source = _Source.from_file(input_path, options.sample_rate)

    def writer():
        return audio_io.AtomicWriter(output_path, sample_rate=source.sample_rate, channels=source.channels,
                                     bit_depth=options.bit_depth, overwrite=options.overwrite)

    report, _ = _master(source, writer, settings=settings, predictor=predictor, model_path=model_path,
                        target=target, options=options, progress=progress, dry_run=dry_run,
                        output_name=None if dry_run else os.fspath(output_path))
    if save_settings is not None:
        write_text_atomic(save_settings, report.settings.to_json() + "\n", overwrite=options.overwrite)
    return report


class _ArraySink:
    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []

    def __enter__(self) -> "_ArraySink":
        self.blocks = []
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, block: np.ndarray) -> None:
        self.blocks.append(block)


def master_array(audio: np.ndarray, sample_rate: int, *, settings: Settings | None = None,
                 predictor: str | Predictor = "auto", model_path: str | os.PathLike | None = None,
                 target: str | os.PathLike | Target | None = None,
                 options: MasterOptions = MasterOptions(), name: str = "<array>"
                 ) -> tuple[np.ndarray, MasterReport]:
    """Master a (channels, samples) array in memory; returns (mastered audio, report)."""
    source = _Source.from_array(audio, sample_rate, name)
    sink = _ArraySink()
    report, _ = _master(source, lambda: sink, settings=settings, predictor=predictor,
                        model_path=model_path, target=target, options=options, progress=None,
                        dry_run=False, output_name=None)
    return np.concatenate(sink.blocks, axis=1), report


def _check_settings_path(path: str | os.PathLike, input_path: str | os.PathLike, overwrite: bool) -> None:
    p = Path(path)
    if not p.parent.is_dir() and str(p.parent):
        raise OutputError(f"{p}: folder {p.parent} does not exist")
    if p.resolve() == Path(input_path).resolve():
        raise OutputError(f"{p}: settings path is the input file")
    if p.exists() and not overwrite:
        raise OutputError(f"{p}: already exists (use --overwrite to replace it)")


__all__ = ["MasterOptions", "MasterReport", "Suggestion", "master_file", "master_array", "suggest",
           "suggestion", "trust_note", "write_text_atomic"]
