"""The mastering path, top to bottom: analyse -> predict -> render the chain -> loudness -> limit.

1. **Input** (:mod:`mixai.master.source`): the analysis excerpt gives the features and the chain's
   working level; the whole input's loudness and peaks are measured on a thread of its own while
   the render runs (a dry run, or an excerpt that cannot serve, analyses the whole file first).
2. **Settings**: given ones (their output stage from the options), or predicted
   (:mod:`mixai.predict`); the options' amounts (overall and per aspect) are recorded in the
   settings and scale the correction when the chain is built.
3. **Render** (:mod:`mixai.master.render`): the pedalboard chain into a frame store, with its
   K-weighted power and peak envelope.
4. **Loudness and ceiling** (:mod:`mixai.master.gain`, :mod:`mixai.master.final`): the make-up gain
   whose *limited* result hits the target, then a last pass that limits, measures the real output
   (BS.1770 loudness, 4x true peak) and writes it atomically, redone before anything is renamed into
   place when it misses the target by more than the tolerance or touches the ceiling.
5. **Report** (:mod:`mixai.master.report`).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ContextManager

import numpy as np

from mixai.analysis.features import Features
from mixai.analysis.measure import Analysis, Progress
from mixai.dsp.chain import REFERENCE_LUFS
from mixai.errors import OutputError, ParameterError
from mixai.io import audio as audio_io
from mixai.io.atomic import clear_strays, write_text_atomic
from mixai.dsp.metering import MeterCallback
from mixai.threads import helper_pool
from mixai.master.final import Sink, write_on_target
from mixai.master.options import MasterOptions
from mixai.master.render import Render
from mixai.master.report import MasterReport, StageTimes, Suggestion
from mixai.master.source import AudioSource, InputPass, analyse_source, excerpt_level, full_level
from mixai.predict import Predictor, Target, get_predictor, resolve_target
from mixai.report.timeline import SignalTrace, Timeline, TracingSink, observed
from mixai.settings.schema import Settings

ANALYSIS_SHARE = 0.3  # of the progress bar, when the whole input is analysed before the render


@dataclass(frozen=True)
class _Chosen:
    """The settings a master uses, with who chose them and how far the model trusted the input."""

    settings: Settings
    predictor: str
    target: str
    trust: float | None = None


def _opener() -> Executor:
    """The thread that opens the predictor (an ONNX session) while the excerpt is read."""
    return helper_pool("predictor")


def _predict(features: Features, target, predictor, model_path, options: MasterOptions) -> _Chosen:
    """Settings for ``features``, with the names of the predictor and target that made them, and
    the predictor's trust in this input where it has one (the ONNX model does).

    The predictor is opened (unless ``predictor`` is already one, or a future of one) and the
    target (possibly a reference file to analyse) resolved once.
    """
    if isinstance(predictor, Future):
        predictor = predictor.result()
    chosen = predictor if not isinstance(predictor, str) else get_predictor(predictor, model_path=model_path)
    resolved = resolve_target(target)
    amounts = options.amounts()  # a bad amount fails before the model is asked
    settings = chosen.predict(features, resolved, output=options.output_stage())
    trust = chosen.trust(features) if hasattr(chosen, "trust") else None
    # The sections keep the full prediction; the amounts scale it when the chain is built.
    return _Chosen(settings.replace(amounts=amounts), chosen.name, resolved.name, trust)


def _choose(features: Features, settings: Settings | None, *, target, predictor, model_path,
            options: MasterOptions) -> _Chosen:
    """Given settings keep their sections, at their own amounts times the options' (the output
    stage comes from the options), else predict."""
    if settings is not None:
        return _Chosen(settings.replace(output=options.output_stage(settings.output),
                                        amounts=settings.amounts.times(options.amounts())),
                       "settings", "settings")
    return _predict(features, target, predictor, model_path, options)


def suggestion(path: str | os.PathLike, *, target: str | os.PathLike | Target | None = None,
               predictor: str | Predictor = "auto", model_path: str | os.PathLike | None = None,
               options: MasterOptions = MasterOptions()) -> Suggestion:
    """Analyse a file and predict settings for it, without rendering anything."""
    source = AudioSource.from_file(path, options.sample_rate, allow_truncated=options.allow_truncated)
    analysis = analyse_source(source, None, 1.0)
    chosen = _predict(analysis.features, target, predictor, model_path, options)
    return Suggestion(chosen.settings, analysis, chosen.predictor, chosen.target, chosen.trust)


def suggest(path: str | os.PathLike, *, target: str | os.PathLike | Target | None = None,
            predictor: str | Predictor = "auto", model_path: str | os.PathLike | None = None,
            options: MasterOptions = MasterOptions()) -> tuple[Settings, Analysis]:
    """Analyse a file and predict settings for it; :func:`suggestion` also says who and how sure."""
    found = suggestion(path, target=target, predictor=predictor, model_path=model_path, options=options)
    return found.settings, found.analysis


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


def _observed_source(source: AudioSource, trace: SignalTrace) -> AudioSource:
    """``source``, whose blocks are also handed to ``trace`` as they are read."""
    return AudioSource(source.name, source.sample_rate, source.channels, source.frames,
                       lambda: observed(source.blocks(), trace), source.excerpt, source.warnings)


def _master(source: AudioSource, sink_factory: Callable[[], ContextManager[Sink]], *,
            settings: Settings | None, predictor, model_path, target, options: MasterOptions,
            progress: Progress | None, dry_run: bool, output_name: str | None,
            trace: bool = False, meter: MeterCallback | None = None) -> MasterReport:
    """The steps of the module docstring for one source; the output goes to ``sink_factory()``.
    With ``trace`` the report gets its :class:`~mixai.report.timeline.Timeline` (the input as the
    render reads it, the output as it is written): what a visual report plots."""
    before_trace = SignalTrace(source.sample_rate, source.channels) if trace else None
    if trace:
        tracing = TracingSink(sink_factory, source.sample_rate, source.channels)
        sink_factory = lambda: tracing  # noqa: E731 - the same tracer around each pass's sink
    times = StageTimes()
    t0 = time.perf_counter()
    progress = _monotonic(progress)
    choose = dict(target=target, predictor=predictor, model_path=model_path, options=options)
    if settings is None and isinstance(predictor, str):
        # Open the predictor (onnxruntime session) on a thread of its own while the analysis runs.
        choose["predictor"] = _opener().submit(get_predictor, predictor, model_path=model_path)
    if dry_run:
        before = analyse_source(source, progress, ANALYSIS_SHARE)
        times["analyze"] = time.perf_counter() - t0
        with times.stage("predict"):
            chosen = _choose(before.features, settings, **choose)
        report = MasterReport(source.name, output_name, chosen.predictor, chosen.target, chosen.settings, before,
                              model_trust=chosen.trust, input_warnings=list(source.warnings))
        report.seconds = times
        if before_trace is not None:  # no render to watch: one more read of the input
            for block in source.blocks():
                before_trace.add(block)
            output = chosen.settings.output
            report.timeline = Timeline(before_trace.finish(), None, None, output.target_lufs, output.ceiling_dbtp)
        return report

    # The input pass measures the whole input (for the report) while the render runs; the working
    # level comes from the excerpt, or from a full analysis when the excerpt cannot serve.
    input_pass = InputPass(source)
    before = None
    try:
        level = excerpt_level(source)
        if level is None:
            input_pass.abandon()
            before = analyse_source(source, progress, ANALYSIS_SHARE)
            level = full_level(before)
        times["analyze"] = time.perf_counter() - t0
        with times.stage("predict"):
            chosen = _choose(level.features, settings, **choose)
        t = time.perf_counter()
        render = Render(source if before_trace is None else _observed_source(source, before_trace),
                        chosen.settings, level.input_lufs, progress, dc=level.dc)
    except BaseException:  # failed or cancelled: stop the input pass rather than let it read on
        input_pass.abandon()
        raise
    try:
        if input_pass.active:  # before anything is written: a bad input stops here
            before = input_pass.analysis(source.name, level.features)
        times["render"] = time.perf_counter() - t
        report = MasterReport(source.name, output_name, chosen.predictor, chosen.target, chosen.settings, before,
                              model_trust=chosen.trust, input_warnings=list(source.warnings),
                              dc_offset_removed=None if level.dc is None else [float(v) for v in level.dc])
        if progress:
            progress(0.7, "render")
        final = write_on_target(render, chosen.settings.output, sink_factory, times=times,
                                name=output_name or source.name, progress=progress, meter=meter)
    finally:
        render.close()
    report.after = final.after()
    report.makeup_gain_db = final.gain_db + (REFERENCE_LUFS - level.input_lufs)
    report.max_limiting_db = final.max_limiting_db
    if trace:
        output = chosen.settings.output
        report.timeline = Timeline(before_trace.finish(), tracing.trace.finish(), final.limiting_db,
                                   output.target_lufs, output.ceiling_dbtp)
    times["total"] = time.perf_counter() - t0
    report.seconds = times
    if progress:
        progress(1.0, "done")
    return report


def master_file(input_path: str | os.PathLike, output_path: str | os.PathLike | None, *,
                settings: Settings | None = None, predictor: str | Predictor = "auto",
                model_path: str | os.PathLike | None = None,
                target: str | os.PathLike | Target | None = None,
                options: MasterOptions = MasterOptions(), dry_run: bool = False,
                save_settings: str | os.PathLike | None = None,
                progress: Progress | None = None,
                report_html: str | os.PathLike | None = None,
                meter: MeterCallback | None = None) -> MasterReport:
    """Master one file. ``target`` is a profile name or a reference file (reference matching).

    The output is written atomically; it may not be the input (or the reference) and an existing
    file is only replaced with ``options.overwrite``. ``report_html`` also writes the visual
    report (:mod:`mixai.report.html`) there, once the output is in place. ``meter`` gets the
    output's live readings while it is written (:mod:`mixai.dsp.metering`).
    """
    if not dry_run:
        if output_path is None:
            raise ParameterError("an output path is required (or use dry_run)")
        references = (target,) if isinstance(target, (str, os.PathLike)) and Path(target).suffix else ()
        audio_io.check_output_path(output_path, inputs=(input_path, *references), overwrite=options.overwrite)
    if save_settings is not None:
        check_settings_path(save_settings, (input_path,), options.overwrite)
    if report_html is not None:
        check_report_path(report_html, (input_path, output_path, save_settings), options.overwrite)
    audio_io.check_sample_rate(options.sample_rate)
    source = AudioSource.from_file(input_path, options.sample_rate, allow_truncated=options.allow_truncated)
    clear_strays(None if dry_run else output_path, save_settings, report_html)  # what killed runs left there

    def writer() -> audio_io.AtomicWriter:
        return audio_io.AtomicWriter(output_path, sample_rate=source.sample_rate, channels=source.channels,
                                     bit_depth=options.bit_depth, overwrite=options.overwrite)

    report = _master(source, writer, settings=settings, predictor=predictor, model_path=model_path,
                     target=target, options=options, progress=progress, dry_run=dry_run,
                     output_name=None if dry_run else os.fspath(output_path), trace=report_html is not None,
                     meter=meter)
    if save_settings is not None:
        write_text_atomic(save_settings, report.settings.to_json() + "\n", overwrite=options.overwrite)
    if report_html is not None:
        from mixai.report.html import write_master_report

        reference = os.fspath(target) if isinstance(target, (str, os.PathLike)) and Path(target).suffix else None
        write_master_report(report, report_html, reference=reference, overwrite=options.overwrite)
    return report


class ArraySink:
    """A :class:`~mixai.master.final.Sink` that keeps the blocks of the last pass in memory."""

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []

    def __enter__(self) -> "ArraySink":
        self.blocks = []
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, block: np.ndarray) -> None:
        self.blocks.append(block)

    def discard(self) -> None:
        self.blocks = []


def master_array(audio: np.ndarray, sample_rate: int, *, settings: Settings | None = None,
                 predictor: str | Predictor = "auto", model_path: str | os.PathLike | None = None,
                 target: str | os.PathLike | Target | None = None,
                 options: MasterOptions = MasterOptions(), name: str = "<array>", trace: bool = False,
                 meter: MeterCallback | None = None) -> tuple[np.ndarray, MasterReport]:
    """Master a (channels, samples) array in memory; returns (mastered audio, report). With
    ``trace`` the report carries the timeline a visual report plots (``report.timeline``)."""
    source = AudioSource.from_array(audio, sample_rate, name)
    sink = ArraySink()
    report = _master(source, lambda: sink, settings=settings, predictor=predictor, model_path=model_path,
                     target=target, options=options, progress=None, dry_run=False, output_name=None,
                     trace=trace, meter=meter)
    return np.concatenate(sink.blocks, axis=1), report


REPORT_SUFFIXES = (".html", ".htm")


def check_report_path(path: str | os.PathLike, others: tuple[str | os.PathLike | None, ...], overwrite: bool) -> None:
    """Refuse a report path that is not .html, whose folder is missing, that is one of the other
    files of the job, or that exists already (unless ``overwrite``)."""
    if Path(path).suffix.lower() not in REPORT_SUFFIXES:
        raise OutputError(f"{path}: a report is an .html file")
    check_settings_path(path, tuple(o for o in others if o is not None), overwrite, what="another file of this job")


def check_settings_path(path: str | os.PathLike, inputs: tuple[str | os.PathLike, ...], overwrite: bool,
                        *, what: str = "the input file") -> None:
    """Refuse a settings path whose folder is missing, that is one of ``inputs`` (named ``what`` in
    the message) or that exists already (unless ``overwrite``)."""
    p = Path(path)
    if not p.parent.is_dir() and str(p.parent):
        raise OutputError(f"{p}: folder {p.parent} does not exist")
    if any(p.resolve() == Path(source).resolve() for source in inputs):
        raise OutputError(f"{p}: settings path is {what}")
    if p.exists() and not overwrite:
        raise OutputError(f"{p}: already exists (use --overwrite to replace it)")


__all__ = ["ANALYSIS_SHARE", "REPORT_SUFFIXES", "suggestion", "suggest", "master_file", "ArraySink", "master_array",
           "check_report_path", "check_settings_path"]
