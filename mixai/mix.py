"""Stems in, a mastered mix out: analyse each stem -> predict its channel strip -> sum -> master.

1. **Read.** Every stem is probed (format, 1-2 channels, rate) before any work; different sample
   rates are resampled to the highest one (a warning says so), different lengths are padded with
   silence at the end.
2. **Analyse.** Per stem: BS.1770 loudness and the feature vector of :mod:`mixai.analysis.features`; its role
   from the file name or, when the name says nothing, from its sound (:mod:`mixai.settings.stems`). The plain
   sum of the stems gives the mix context.
3. **Predict.** The stem network (``models/mixai-stems.onnx``) predicts, per stem, the loudness the
   stem should have relative to the mix, corrective EQ, compression, pan (used for mono stems;
   stereo stems keep their image) and a reverb send. ``dsp`` instead sets equal loudness with
   role offsets and role-based pans and sends.
4. **Render.** Per stem: trim to -20 LUFS -> EQ -> compressor (pedalboard) -> fader chosen so the
   stem lands at its predicted relative loudness -> pan -> stereo sum, and a post-fader send to one
   shared pedalboard ``Reverb`` whose return joins the sum.
5. **Master.** The sum goes through :func:`mixai.master.pipeline.master_array` with the same
   :class:`~mixai.master.options.MasterOptions` as ``mixai master`` (loudness target, true-peak ceiling),
   and is written atomically (never over an input).

Everything chosen is a :class:`~mixai.settings.stems.MixSettings`, which ``--save-settings`` writes and
``--settings`` applies (no analysis or prediction then: the same stems give the same output).
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from mixai.io import audio as audio_io
from mixai.dsp.chain import REFERENCE_LUFS, build_boards
from mixai.errors import InputError, ModelError, OutputError, ParameterError
from mixai.io.atomic import write_text_atomic
from mixai.master.options import MasterOptions
from mixai.master.pipeline import master_array
from mixai.master.report import MasterReport
from mixai.settings.schema import Settings
from mixai.settings.stems import (ROLES, STEM_OUTPUT_NAMES, MixSettings, ReverbBus, StemEntry, StemSettings,
                         compressor_for, decode_outputs, eq_from_gains, load_mix_settings, model_input,
                         model_input_names, role_from_name, role_from_sound, stem_output_metadata)

STEMS_MODEL_FILENAME = "mixai-stems.onnx"
STEMS_MODEL_ENV = "MIXAI_STEMS_MODEL"
SILENT_LUFS = -70.0
FEATURE_MAX_SECONDS = 120.0

# DSP fallback: level of each role relative to the loudest (lead) stem, pans for mono stems and
# reverb sends. Rules of thumb: lead and drums forward, bass under them, pads and beds back.
DSP_ROLE_OFFSET_DB = {"vocals": 0.0, "drums": -1.5, "bass": -3.5, "keys": -5.5, "guitar": -5.5,
                      "strings": -7.0, "other": -6.0}
ROLE_REVERB_SEND = {"vocals": 0.18, "drums": 0.06, "bass": 0.0, "keys": 0.14, "guitar": 0.14,
                    "strings": 0.2, "other": 0.14}
ROLE_CENTRED = ("vocals", "bass", "drums")


class MixWarning(UserWarning):
    """Something was adjusted to make the stems mixable (e.g. resampling)."""




# --- stems -------------------------------------------------------------------------------------


@dataclass
class StemInfo:
    """One stem as read and analysed, and where it ended up in the mix."""

    name: str
    path: str | None
    role: str
    role_from: str                 # "name", "sound" or "settings"
    sample_rate_in: int
    channels: int
    frames: int                    # at the mix rate
    lufs: float = float("-inf")
    features: np.ndarray | None = None
    rel_db_in_mix: float | None = None   # loudness after the strip, relative to the pre-master mix

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "role": self.role, "role_from": self.role_from,
                "sample_rate_in": self.sample_rate_in, "channels": self.channels, "frames": self.frames,
                "lufs": None if not math.isfinite(self.lufs) else round(self.lufs, 3),
                "rel_db_in_mix": None if self.rel_db_in_mix is None else round(self.rel_db_in_mix, 3)}


class _StemSource:
    def __init__(self, name: str, path: str | None, rate_in: int, channels: int, frames_in: int,
                 load: Callable[[int], np.ndarray]) -> None:
        self.name, self.path, self.rate_in, self.channels = name, path, rate_in, channels
        self.frames_in = frames_in
        self._load = load

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


def _file_source(path: Path) -> _StemSource:
    try:
        info = audio_io.probe(path)
    except InputError as exc:
        text = str(exc)
        if "channels;" in text:
            raise InputError(text.split(";")[0] + "; mixai mixes mono or stereo stems (split a "
                             "multichannel stem into mono or stereo files first)") from None
        raise
    return _StemSource(path.stem, str(path), info.sample_rate, info.channels, info.frames,
                       lambda rate: audio_io.load(path, sample_rate=rate)[0])


def _array_source(name: str, audio: np.ndarray, rate: int) -> _StemSource:
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
    return _StemSource(name, None, rate, audio.shape[0], audio.shape[1], load)


def _mix_rate(sources: list[_StemSource], requested: int | None, fixed: int | None) -> tuple[int, list[str]]:
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


def _to_stereo(x: np.ndarray, pan: float) -> np.ndarray:
    """Mono: constant-power pan (centre = -3 dB per side, same loudness). Stereo: balance."""
    if x.shape[0] == 1:
        theta = (pan + 1.0) * math.pi / 4.0
        return np.concatenate([x * np.float32(math.cos(theta)), x * np.float32(math.sin(theta))])
    if pan == 0.0:
        return x
    return np.stack([x[0] * np.float32(min(1.0, 1.0 - pan)), x[1] * np.float32(min(1.0, 1.0 + pan))])


def _fit(x: np.ndarray, frames: int) -> np.ndarray:
    if x.shape[1] >= frames:
        return x[:, :frames]
    return np.pad(x, ((0, 0), (0, frames - x.shape[1])))


def _excerpt(x: np.ndarray, rate: int, seconds: float = FEATURE_MAX_SECONDS) -> np.ndarray:
    """At most ``seconds`` of evenly spaced 10 s blocks (long stems keep analysis cheap)."""
    limit = int(seconds * rate)
    if x.shape[1] <= limit:
        return x
    block = 10 * rate
    starts = np.linspace(0, x.shape[1] - block, limit // block).astype(int)
    return np.concatenate([x[:, s:s + block] for s in starts], axis=1)


# --- the stem model ----------------------------------------------------------------------------


def default_stems_model_path() -> Path | None:
    env = os.environ.get(STEMS_MODEL_ENV)
    if env:
        return Path(env)
    from mixai.predict.onnx import packaged_model_path
    return packaged_model_path(STEMS_MODEL_FILENAME)


class StemModel:
    """The exported stem network: rows of :func:`mixai.settings.stems.model_input` -> [0, 1] outputs.

    Refuses a file whose metadata (kind, feature version and names, input names, output schema)
    does not match this code.
    """

    name = "onnx"

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        from mixai.analysis.features import FEATURE_NAMES, FEATURE_VERSION
        from mixai.predict.onnx import open_session

        resolved = Path(path) if path is not None else default_stems_model_path()
        if resolved is None:
            raise ModelError("no mixai stem model is installed; use --predictor dsp or --model PATH")
        self.session, meta = open_session(resolved, "stem model")
        self.path = resolved
        self.metadata = meta
        problems = []
        if meta.get("mixai_kind") != "stems":
            problems.append(f"it is a {meta.get('mixai_kind', 'master')!r} model, not a 'stems' model")
        else:
            if meta.get("feature_version") != str(FEATURE_VERSION):
                problems.append(f"feature version {meta.get('feature_version')} != {FEATURE_VERSION}")
            if json.loads(meta.get("feature_names", "[]")) != list(FEATURE_NAMES):
                problems.append("feature names differ")
            if json.loads(meta.get("input_names", "[]")) != model_input_names():
                problems.append("input layout differs")
            if json.loads(meta.get("outputs", "[]")) != stem_output_metadata():
                problems.append("output schema differs")
            if json.loads(meta.get("roles", "[]")) != list(ROLES):
                problems.append("roles differ")
        if problems:
            raise ModelError(f"{resolved}: stem model does not match this mixai ({'; '.join(problems)}); "
                             "retrain/export it or use --predictor dsp")
        self._input = self.session.get_inputs()[0].name

    def run(self, rows: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self._input: np.asarray(rows, dtype=np.float32)})[0]


def _resolve_predictor(predictor: str, model_path) -> tuple[str, StemModel | None]:
    if predictor == "dsp":
        return "dsp", None
    if predictor in ("auto", "onnx"):
        path = Path(model_path) if model_path else default_stems_model_path()
        if predictor == "auto" and (path is None or not path.is_file()):
            return "dsp", None
        return "onnx", StemModel(path)
    raise ParameterError(f"unknown stem predictor {predictor!r} (choose from auto, onnx, dsp)")


@dataclass
class _Plan:
    """A stem's predicted strip before the fader is known."""

    target_rel_db: float
    strip: StemSettings


def _dsp_pans(infos: list[StemInfo]) -> list[float]:
    pans, side = [], -1.0
    for info in infos:
        if info.role in ROLE_CENTRED or len(infos) == 1:
            pans.append(0.0)
        else:
            pans.append(side * 0.4)
            side = -side
    return pans


def _predict(infos: list[StemInfo], mix_features: np.ndarray, name: str, model: StemModel | None) -> list[_Plan]:
    plans = []
    if model is None:
        for info, pan in zip(infos, _dsp_pans(infos)):
            strip = StemSettings(trim_db=_trim(info), pan=pan if info.channels == 1 else 0.0,
                                 reverb_send=ROLE_REVERB_SEND[info.role])
            plans.append(_Plan(DSP_ROLE_OFFSET_DB[info.role], strip))
        return plans
    roles = [i.role for i in infos]
    rows = np.stack([model_input(i.features, i.role, mix_features, roles) for i in infos])
    for info, out in zip(infos, model.run(rows)):
        v = decode_outputs(out)
        eq = eq_from_gains({b: v[f"eq.{b}.gain_db"] for b in ("low_shelf", "low_mid", "mid", "high_mid", "high_shelf")})
        comp = compressor_for(info.role, v["compressor.threshold_db"], v["compressor.ratio"])
        strip = StemSettings(trim_db=_trim(info), eq=eq, compressor=comp,
                             pan=round(v["pan"], 3) if info.channels == 1 else 0.0,
                             reverb_send=round(v["reverb_send"], 3))
        plans.append(_Plan(v["target_rel_db"], strip))
    return plans


def _trim(info: StemInfo) -> float:
    if not math.isfinite(info.lufs) or info.lufs < SILENT_LUFS:
        return 0.0
    return float(np.clip(round(REFERENCE_LUFS - info.lufs, 3), -80.0, 80.0))


# --- rendering -----------------------------------------------------------------------------------


def _strip_pre(x: np.ndarray, strip: StemSettings, rate: int) -> np.ndarray:
    """Trim -> EQ -> compressor, through the same pedalboard stages as the mastering chain."""
    pre, _ = build_boards(Settings(eq=strip.eq, compressor=strip.compressor), input_gain_db=strip.trim_db)
    out = pre.process(np.ascontiguousarray(x, dtype=np.float32), rate, reset=True) if len(pre) else x
    return np.asarray(out, dtype=np.float32)


def _bus_reverb(bus: ReverbBus):
    import pedalboard as pb
    return pb.Reverb(room_size=bus.room_size, damping=bus.damping, wet_level=1.0, dry_level=0.0,
                     width=bus.width, freeze_mode=0.0)


@dataclass
class _Rendered:
    mix: np.ndarray                  # (2, frames), pre-master
    strips: list[StemSettings]
    rel_db: list[float | None]
    stems: list[np.ndarray] | None   # post-strip stereo stems, when asked for


def _render(sources: list[_StemSource], infos: list[StemInfo], strips: list[StemSettings],
            targets: list[float] | None, bus: ReverbBus, rate: int, frames: int,
            keep_stems: bool = False, progress=None) -> _Rendered:
    """Sum the stems through their strips. With ``targets`` the faders are set so each stem sits
    at ``REFERENCE_LUFS + target`` after EQ and compression (measured); otherwise the strips'
    faders are used as they are."""
    from mixai.dsp.loudness import integrated_lufs

    mix = np.zeros((2, frames), dtype=np.float32)
    send = np.zeros((2, frames), dtype=np.float32)
    done, kept, levels = [], [], []
    for k, (source, info, strip) in enumerate(zip(sources, infos, strips)):
        x = _fit(source.load(rate), frames)
        y = _strip_pre(x, strip, rate)
        if targets is not None:
            level = integrated_lufs(y, rate)
            fader = 0.0
            if math.isfinite(level) and level > SILENT_LUFS:
                fader = float(np.clip(round(REFERENCE_LUFS + targets[k] - level, 3), -60.0, 30.0))
            strip = replace(strip, gain_db=fader)
        y = _to_stereo(y * np.float32(10.0 ** (strip.gain_db / 20.0)), strip.pan)
        if strip.mute:
            y = np.zeros_like(y)
        mix += y
        if strip.reverb_send > 0.0:
            send += y * np.float32(strip.reverb_send)
        levels.append(integrated_lufs(y, rate) if not strip.mute else float("-inf"))
        if keep_stems:
            kept.append(y)
        done.append(strip)
        if progress:
            progress(0.3 + 0.4 * (k + 1) / len(sources), "render")
    if np.any(send) and bus.return_db > -60.0:
        wet = _bus_reverb(bus)(send, rate)
        mix += np.asarray(wet, dtype=np.float32) * np.float32(10.0 ** (bus.return_db / 20.0))
    total = integrated_lufs(mix, rate)
    rel = [None if not (math.isfinite(lv) and math.isfinite(total)) else lv - total for lv in levels]
    return _Rendered(mix, done, rel, kept if keep_stems else None)


# --- the report ----------------------------------------------------------------------------------


@dataclass
class MixReport:
    output: str | None
    predictor: str
    stems: list[StemInfo]
    settings: MixSettings
    master: MasterReport | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def after(self) -> dict[str, float]:
        return self.master.after if self.master else {}

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output, "predictor": self.predictor,
                "stems": [s.to_dict() for s in self.stems], "settings": self.settings.to_dict(),
                "master": self.master.to_dict() if self.master else None, "after": self.after,
                "warnings": self.warnings, "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}

    def summary(self) -> str:
        lines = [f"mix of {len(self.stems)} stems (predictor {self.predictor}, "
                 f"{self.settings.sample_rate} Hz)"]
        for info in self.stems:
            s = self.settings.stem(info.name).settings
            comp = "off" if s.compressor.is_neutral else f"{s.compressor.ratio:.1f}:1 @ {s.compressor.threshold_db:.0f} dB"
            eq = "flat" if s.eq.is_neutral else " ".join(
                f"{b.gain_db:+.1f}" for b in (s.eq.low_shelf, s.eq.low_mid, s.eq.mid, s.eq.high_mid, s.eq.high_shelf))
            rel = "" if info.rel_db_in_mix is None else f"{info.rel_db_in_mix:+6.1f} dB in mix"
            lufs = f"{info.lufs:6.1f}" if math.isfinite(info.lufs) else "silent"
            lines.append(f"  {info.name:<16.16} {info.role:<8} ({info.role_from:<5}) in {lufs} LUFS  "
                         f"fader {s.gain_db:+6.1f} dB  pan {s.pan:+.2f}  eq {eq}  comp {comp}  "
                         f"send {s.reverb_send:.2f}  {rel}")
        b = self.settings.bus
        lines.append(f"  reverb bus room {b.room_size:.2f} damping {b.damping:.2f} return {b.return_db:+.1f} dB")
        if self.master:
            lines.extend("  " + line for line in self.master.summary().splitlines()[1:])
        if self.output:
            lines.append(f"output  {self.output}")
        return "\n".join(lines)


# --- entry points ------------------------------------------------------------------------------


def _analyse(sources: list[_StemSource], rate: int, frames: int, settings: MixSettings | None,
             progress) -> tuple[list[StemInfo], np.ndarray]:
    """Loudness, features and role of each stem, and the features of their plain sum."""
    from mixai.analysis.features import extract
    from mixai.dsp.loudness import integrated_lufs

    infos = []
    plain = np.zeros((2, frames), dtype=np.float32)
    for k, source in enumerate(sources):
        x = _fit(source.load(rate), frames)
        info = StemInfo(source.name, source.path, "other", "sound", source.rate_in, source.channels, frames)
        if settings is not None:
            info.role, info.role_from = settings.stem(source.name).role, "settings"
        else:
            info.lufs = integrated_lufs(x, rate)
            info.features = extract(_excerpt(x, rate), rate).values
            named = role_from_name(source.name)
            if named is not None:
                info.role, info.role_from = named, "name"
            else:
                from mixai.analysis.features import Features
                info.role = role_from_sound(Features(info.features))
            plain += _to_stereo(x, 0.0)
        infos.append(info)
        if progress:
            progress(0.3 * (k + 1) / len(sources), "analyze")
    mix_features = extract(_excerpt(plain, rate), rate).values if settings is None else np.zeros(0)
    return infos, mix_features


def _mix(sources: list[_StemSource], *, options: MasterOptions, settings: MixSettings | None,
         predictor: str, model_path, master_predictor: str, master_model_path, progress,
         keep_stems: bool = False) -> tuple[np.ndarray, MixReport, _Rendered]:
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    rate, messages = _mix_rate(sources, options.sample_rate,
                               settings.sample_rate if settings is not None else None)
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
        name, model = _resolve_predictor(predictor, model_path)
        plans = _predict(infos, mix_features, name, model)
        strips, targets, bus = [p.strip for p in plans], [p.target_rel_db for p in plans], ReverbBus()
    else:
        name = "settings"
        strips, targets, bus = [settings.stem(s.name).settings for s in sources], None, settings.bus
    times["predict"] = time.perf_counter() - t

    t = time.perf_counter()
    rendered = _render(sources, infos, strips, targets, bus, rate, frames, keep_stems, progress)
    for info, rel in zip(infos, rendered.rel_db):
        info.rel_db_in_mix = rel
    times["render"] = time.perf_counter() - t

    t = time.perf_counter()
    master_settings = settings.master if settings is not None else None
    mastered, master_report = master_array(rendered.mix, rate, settings=master_settings,
                                           predictor=master_predictor, model_path=master_model_path,
                                           options=replace(options, sample_rate=None), name="<stem mix>")
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
              progress: Callable[[float, str], None] | None = None) -> MixReport:
    """Mix stem files (or a folder of them) into one mastered file, written atomically.

    ``settings`` (a :class:`MixSettings` or a path to its JSON) replays a saved mix instead of
    predicting one. ``save_settings`` writes the settings used. Raises :class:`MixaiError`
    subclasses with one-line messages for unusable stems, paths or settings.
    """
    paths = collect_stem_paths(stems_or_dir)
    audio_io.check_output_path(output, inputs=tuple(paths), overwrite=options.overwrite)
    if save_settings is not None:
        sp = Path(save_settings)
        if not sp.parent.is_dir() and str(sp.parent):
            raise OutputError(f"{sp}: folder {sp.parent} does not exist")
        if any(sp.resolve() == p.resolve() for p in paths) or sp.resolve() == Path(output).resolve():
            raise OutputError(f"{sp}: settings path is an input or the output")
        if sp.exists() and not options.overwrite:
            raise OutputError(f"{sp}: already exists (use --overwrite to replace it)")
    if isinstance(settings, (str, os.PathLike)):
        settings = load_mix_settings(os.fspath(settings))
    sources = [_file_source(p) for p in paths]
    audio, report, _ = _mix(sources, options=options, settings=settings, predictor=predictor,
                            model_path=model_path, master_predictor=master_predictor,
                            master_model_path=master_model_path, progress=progress)
    t = time.perf_counter()
    audio_io.save(output, audio, report.settings.sample_rate, bit_depth=options.bit_depth,
                  overwrite=options.overwrite)
    report.seconds["write"] = time.perf_counter() - t
    report.output = os.fspath(output)
    if save_settings is not None:
        write_text_atomic(save_settings, report.settings.to_json() + "\n", overwrite=options.overwrite)
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
    sources = [_array_source(n, a, sample_rate) for n, a in stems.items()]
    return _mix(sources, options=options, settings=settings, predictor=predictor, model_path=model_path,
                master_predictor=master_predictor, master_model_path=None, progress=None,
                keep_stems=keep_stems)


__all__ = ["mix_files", "mix_arrays", "MixReport", "StemInfo", "StemModel", "MixWarning",
           "collect_stem_paths", "STEM_OUTPUT_NAMES"]
