"""Stems in, a mastered mix out: analyse each stem -> predict its channel strip -> sum -> master.

1. **Read.** Every stem is probed (format, 1-2 channels, rate) before any work; different sample
   rates are resampled to the highest one (a warning says so), different lengths are padded with
   silence at the end.
2. **Analyse.** Per stem: BS.1770 loudness and the feature vector of :mod:`mixai.analysis.features`;
   its role from the file name or, when the name says nothing, from its sound
   (:mod:`mixai.mix.roles`). The plain sum of the stems gives the mix context.
3. **Predict.** The stem network (``models/mixai-stems.onnx``) predicts, per stem, the loudness the
   stem should have relative to the mix, corrective EQ, compression, pan (used for mono stems;
   stereo stems keep their image) and a reverb send. ``dsp`` instead sets equal loudness with
   role offsets and role-based pans and sends.
4. **Render.** Per stem: trim to -20 LUFS -> EQ -> compressor (pedalboard) -> fader chosen so the
   stem lands at its predicted relative loudness -> pan -> stereo sum, and a post-fader send to one
   shared pedalboard ``Reverb`` whose return joins the sum.
5. **Master.** The sum goes through :func:`mixai.master.pipeline.master_array` with the same
   :class:`~mixai.master.options.MasterOptions` as ``mixai master`` (loudness target, true-peak
   ceiling), and is written atomically (never over an input).

Everything chosen is a :class:`~mixai.settings.stems.MixSettings`, which ``--save-settings`` writes
and ``--settings`` applies (no analysis or prediction then: the same stems give the same output).
"""


from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import replace
from typing import Callable, Sequence

import numpy as np

from mixai.analysis.features import Features, extract
from mixai.dsp.loudness import integrated_lufs
from mixai.dsp.metering import MeterCallback
from mixai.errors import ParameterError
from mixai.io import audio as audio_io
from mixai.io.atomic import clear_strays, write_text_atomic
from mixai.master.options import MasterOptions
from mixai.master.pipeline import check_report_path, check_settings_path, master_array
from mixai.mix.model import resolve_stem_predictor
from mixai.mix.plan import plan_strips
from mixai.mix.render import Rendered, render_mix
from mixai.mix.report import MixReport, StemInfo
from mixai.mix.roles import role_from_name, role_from_sound
from mixai.mix.sources import (MixWarning, StemSource, array_source, collect_stem_paths, feature_excerpt,
                               file_source, fit_length, mix_rate, to_stereo)
from mixai.settings.stems import MixSettings, ReverbBus, StemEntry, load_mix_settings


def _analyse(sources: list[StemSource], rate: int, frames: int, settings: MixSettings | None,
             progress) -> tuple[list[StemInfo], np.ndarray]:
    """Loudness, features and role of each stem, and the features of their plain sum."""
    infos = []
    plain = np.zeros((2, frames), dtype=np.float32)
    for k, source in enumerate(sources):
        x = fit_length(source.load(rate), frames)
        info = StemInfo(source.name, source.path, "other", "sound", source.rate_in, source.channels, frames)
        if settings is not None:
            info.role, info.role_from = settings.stem(source.name).role, "settings"
        else:
            info.lufs = integrated_lufs(x, rate)
            info.features = extract(feature_excerpt(x, rate), rate).values
            named = role_from_name(source.name)
            if named is not None:
                info.role, info.role_from = named, "name"
            plain += to_stereo(x, 0.0)
        infos.append(info)
        if progress:
            progress(0.3 * (k + 1) / len(sources), "analyze")
    mix_features = extract(feature_excerpt(plain, rate), rate).values if settings is None else np.zeros(0)
    for info in infos:  # a role from the sound is judged against the mix the stem sits in
        if info.role_from == "sound":
            info.role = role_from_sound(Features(info.features), mix_features)
    return infos, mix_features


def _mix(sources: list[StemSource], *, options: MasterOptions, settings: MixSettings | None,
         predictor: str, model_path, master_predictor: str, master_model_path, progress,
         keep_stems: bool = False, trace: bool = False, meter=None) -> tuple[np.ndarray, MixReport, Rendered]:
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    rate, messages = mix_rate(sources, options.sample_rate,
                               settings.sample_rate if settings is not None else None)
    messages = [w for s in sources for w in s.warnings] + list(messages)
    for message in messages:  # on stderr through the warnings machinery; also kept in the report
        warnings.warn(message, MixWarning, stacklevel=3)
    frames = max(int(math.ceil(s.frames_in * rate / s.rate_in)) for s in sources)

    if settings is not None:
        given = {s.name for s in settings.stems}
        have = {s.name for s in sources}
        if given != have:
            missing, extra = sorted(given - have), sorted(have - given)
            raise ParameterError("mix settings do not match the stems" +
                                 (f"; no stem file for {', '.join(missing)}" if missing else "") +
                                 (f"; no settings for {', '.join(extra)}" if extra else ""))
    infos, mix_features = _analyse(sources, rate, frames, settings, progress)
    times["analyze"] = time.perf_counter() - t0

    t = time.perf_counter()
    if settings is None:
        name, model = resolve_stem_predictor(predictor, model_path)
        plans = plan_strips(infos, mix_features, model)
        strips, targets, bus = [p.strip for p in plans], [p.target_rel_db for p in plans], ReverbBus()
    else:
        name = "settings"
        strips, targets, bus = [settings.stem(s.name).settings for s in sources], None, settings.bus
    times["predict"] = time.perf_counter() - t

    t = time.perf_counter()
    rendered = render_mix(sources, infos, strips, targets, bus, rate, frames, keep_stems, progress)
    for info, rel in zip(infos, rendered.rel_db):
        info.rel_db_in_mix = rel
    times["render"] = time.perf_counter() - t

    t = time.perf_counter()
    master_settings = settings.master if settings is not None else None
    mastered, master_report = master_array(rendered.mix, rate, settings=master_settings,
                                           predictor=master_predictor, model_path=master_model_path,
                                           options=replace(options, sample_rate=None), name="<stem mix>",
                                           trace=trace, meter=meter)
    times["master"] = time.perf_counter() - t
    mix_settings = MixSettings(
        tuple(StemEntry(i.name, i.role, s) for i, s in zip(infos, rendered.strips)), bus,
        master_report.settings, rate)
    report = MixReport(None, name, infos, mix_settings, master_report, messages)
    report.seconds = times
    return mastered, report, rendered


def mix_files(stems_or_dir: str | os.PathLike | Sequence[str | os.PathLike],
              output: str | os.PathLike, *, options: MasterOptions = MasterOptions(),
              settings: MixSettings | str | os.PathLike | None = None,
              save_settings: str | os.PathLike | None = None,
              model_path: str | os.PathLike | None = None, predictor: str = "auto",
              master_predictor: str = "auto", master_model_path: str | os.PathLike | None = None,
              progress: Callable[[float, str], None] | None = None,
              report_html: str | os.PathLike | None = None,
              meter: MeterCallback | None = None) -> MixReport:
    """Mix stem files (or a folder of them) into one mastered file, written atomically.

    ``settings`` (a :class:`MixSettings` or a path to its JSON) replays a saved mix instead of
    predicting one. ``save_settings`` writes the settings used; ``report_html`` the visual report
    (:mod:`mixai.report.html`); ``meter`` gets the master's live readings
    (:mod:`mixai.dsp.metering`). Raises :class:`MixaiError` subclasses with one-line messages for
    unusable stems, paths or settings.
    """
    paths = collect_stem_paths(stems_or_dir)
    audio_io.check_output_path(output, inputs=tuple(paths), overwrite=options.overwrite)
    if save_settings is not None:
        check_settings_path(save_settings, (*paths, output), options.overwrite, what="an input or the output")
    if report_html is not None:
        check_report_path(report_html, (*paths, output, save_settings), options.overwrite)
    if isinstance(settings, (str, os.PathLike)):
        settings = load_mix_settings(os.fspath(settings))
    sources = [file_source(p, allow_truncated=options.allow_truncated) for p in paths]
    clear_strays(output, save_settings, report_html)  # what killed runs left there
    audio, report, _ = _mix(sources, options=options, settings=settings, predictor=predictor,
                            model_path=model_path, master_predictor=master_predictor,
                            master_model_path=master_model_path, progress=progress,
                            trace=report_html is not None, meter=meter)
    t = time.perf_counter()
    audio_io.save(output, audio, report.settings.sample_rate, bit_depth=options.bit_depth,
                  overwrite=options.overwrite)
    report.seconds["write"] = time.perf_counter() - t
    report.output = os.fspath(output)
    if save_settings is not None:
        write_text_atomic(save_settings, report.settings.to_json() + "\n", overwrite=options.overwrite)
    if report_html is not None:
        from mixai.report.html import write_mix_report

        write_mix_report(report, report_html, overwrite=options.overwrite)
    if progress:
        progress(1.0, "done")
    return report


def mix_arrays(stems: dict[str, np.ndarray], sample_rate: int, *,
               options: MasterOptions = MasterOptions(), settings: MixSettings | None = None,
               predictor: str = "auto", model_path: str | os.PathLike | None = None,
               master_predictor: str = "auto", keep_stems: bool = False):
    """Mix in memory: ``{name: (channels, samples)}`` at one rate -> (mastered audio, report, render).

    The third value holds the pre-master sum (``.mix``) and, with ``keep_stems``, each processed
    stem (``.stems``) -- what the evaluation measures.
    """
    sources = [array_source(n, a, sample_rate) for n, a in stems.items()]
    return _mix(sources, options=options, settings=settings, predictor=predictor, model_path=model_path,
                master_predictor=master_predictor, master_model_path=None, progress=None,
                keep_stems=keep_stems)


__all__ = ["mix_files", "mix_arrays"]
