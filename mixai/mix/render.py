"""Summing the stems: each through its strip (trim -> EQ -> compressor, the mastering chain's
pedalboard stages), fader and pan into a stereo sum, post-fader sends into one shared reverb bus."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from mixai.dsp.chain import REFERENCE_LUFS, build_boards
from mixai.dsp.loudness import integrated_lufs
from mixai.mix.plan import SILENT_LUFS
from mixai.mix.report import StemInfo
from mixai.mix.sources import StemSource, fit_length, to_stereo
from mixai.settings.schema import Settings
from mixai.settings.stems import ReverbBus, StemSettings


def strip_pre(x: np.ndarray, strip: StemSettings, rate: int) -> np.ndarray:
    """Trim -> EQ -> compressor, through the same pedalboard stages as the mastering chain."""
    pre, _ = build_boards(Settings(eq=strip.eq, compressor=strip.compressor), input_gain_db=strip.trim_db)
    out = pre.process(np.ascontiguousarray(x, dtype=np.float32), rate, reset=True) if len(pre) else x
    return np.asarray(out, dtype=np.float32)



def bus_reverb(bus: ReverbBus):
    import pedalboard as pb
    return pb.Reverb(room_size=bus.room_size, damping=bus.damping, wet_level=1.0, dry_level=0.0,
                     width=bus.width, freeze_mode=0.0)


@dataclass
class Rendered:
    """The pre-master sum and what each strip ended up as."""

    mix: np.ndarray                  # (2, frames), pre-master
    strips: list[StemSettings]
    rel_db: list[float | None]
    stems: list[np.ndarray] | None   # post-strip stereo stems, when asked for


def render_mix(sources: list[StemSource], infos: list[StemInfo], strips: list[StemSettings],
            targets: list[float] | None, bus: ReverbBus, rate: int, frames: int,
            keep_stems: bool = False, progress=None) -> Rendered:
    """Sum the stems through their strips. With ``targets`` the faders are set so each stem sits
    at ``REFERENCE_LUFS + target`` after EQ and compression (measured); otherwise the strips'
    faders are used as they are."""
    mix = np.zeros((2, frames), dtype=np.float32)
    send = np.zeros((2, frames), dtype=np.float32)
    done, kept, levels = [], [], []
    for k, (source, info, strip) in enumerate(zip(sources, infos, strips)):
        x = fit_length(source.load(rate), frames)
        y = strip_pre(x, strip, rate)
        if targets is not None:
            level = integrated_lufs(y, rate)
            fader = 0.0
            if math.isfinite(level) and level > SILENT_LUFS:
                fader = float(np.clip(round(REFERENCE_LUFS + targets[k] - level, 3), -60.0, 30.0))
            strip = replace(strip, gain_db=fader)
        y = to_stereo(y * np.float32(10.0 ** (strip.gain_db / 20.0)), strip.pan)
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
        wet = bus_reverb(bus)(send, rate)
        mix += np.asarray(wet, dtype=np.float32) * np.float32(10.0 ** (bus.return_db / 20.0))
    total = integrated_lufs(mix, rate)
    rel = [None if not (math.isfinite(lv) and math.isfinite(total)) else lv - total for lv in levels]
    return Rendered(mix, done, rel, kept if keep_stems else None)


__all__ = ["strip_pre", "bus_reverb", "Rendered", "render_mix"]
