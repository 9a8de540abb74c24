"""Settings -> a pedalboard chain, rendered a block at a time.

Every pedalboard parameter is passed explicitly (``Reverb`` defaults to a 0.4 dry level and ``Gain``
to +1 dB, which would silently colour the sound). Stages whose settings are neutral are left out of
the board entirely, so neutral settings leave the audio bit-for-bit as it was apart from the level
change into the working reference.
"""

from __future__ import annotations

import numpy as np

from mixai.dsp.loudness import db_to_gain
from mixai.settings.scaling import apply_amounts
from mixai.settings.schema import HIGHPASS_OFF_HZ, Settings

# The chain works on audio normalised to this loudness, so compressor thresholds mean the same thing
# on every track whatever level it arrived at.
REFERENCE_LUFS = -20.0


def build_boards(settings: Settings, *, input_gain_db: float = 0.0):
    """Two boards: EQ + compressor before the stereo stage, reverb after it (each section scaled
    by its amount, :func:`~mixai.settings.scaling.apply_amounts`)."""
    import pedalboard as pb

    settings = apply_amounts(settings)
    eq = settings.eq
    pre: list = []
    if input_gain_db != 0.0:
        pre.append(pb.Gain(gain_db=float(input_gain_db)))
    if eq.highpass_hz > HIGHPASS_OFF_HZ:
        pre.append(pb.HighpassFilter(cutoff_frequency_hz=eq.highpass_hz))
    if eq.low_shelf.gain_db != 0.0:
        pre.append(pb.LowShelfFilter(cutoff_frequency_hz=eq.low_shelf.freq_hz,
                                     gain_db=eq.low_shelf.gain_db, q=0.7071067690849304))
    for band in (eq.low_mid, eq.mid, eq.high_mid):
        if band.gain_db != 0.0:
            pre.append(pb.PeakFilter(cutoff_frequency_hz=band.freq_hz, gain_db=band.gain_db, q=band.q))
    if eq.high_shelf.gain_db != 0.0:
        pre.append(pb.HighShelfFilter(cutoff_frequency_hz=eq.high_shelf.freq_hz,
                                      gain_db=eq.high_shelf.gain_db, q=0.7071067690849304))
    comp = settings.compressor
    if not comp.is_neutral:
        pre.append(pb.Compressor(threshold_db=comp.threshold_db, ratio=comp.ratio,
                                 attack_ms=comp.attack_ms, release_ms=comp.release_ms))
    post: list = []
    rev = settings.reverb
    if not rev.is_neutral:
        post.append(pb.Reverb(room_size=rev.room_size, damping=rev.damping, wet_level=rev.wet,
                              dry_level=1.0, width=1.0, freeze_mode=0.0))
    return pb.Pedalboard(pre), pb.Pedalboard(post)


def apply_width(block: np.ndarray, width: float) -> np.ndarray:
    """Scale the side signal of a stereo (2, n) block; mono blocks pass through."""
    if block.shape[0] != 2 or width == 1.0:
        return block
    mid = 0.5 * (block[0] + block[1])
    side = 0.5 * (block[0] - block[1]) * np.float32(width)
    return np.stack([mid + side, mid - side]).astype(np.float32, copy=False)


class ChainRenderer:
    """Streams blocks through the chain, keeping filter and reverb state between blocks."""

    def __init__(self, settings: Settings, sample_rate: int, *, input_gain_db: float = 0.0) -> None:
        self.sample_rate = sample_rate
        self.settings = apply_amounts(settings)  # what runs, at the settings' amounts
        self._pre, self._post = build_boards(self.settings, input_gain_db=input_gain_db)
        self._input_gain = db_to_gain(input_gain_db)

    def process(self, block: np.ndarray) -> np.ndarray:
        out = self._pre.process(block, self.sample_rate, reset=False) if len(self._pre) else block
        out = apply_width(out, self.settings.stereo.width)
        if len(self._post):
            out = self._post.process(out, self.sample_rate, reset=False)
        return np.asarray(out, dtype=np.float32)


def render(audio: np.ndarray, sample_rate: int, settings: Settings, *,
           input_gain_db: float = 0.0) -> np.ndarray:
    """Render a whole (channels, samples) array through the chain (no loudness stage)."""
    return ChainRenderer(settings, sample_rate, input_gain_db=input_gain_db).process(
        np.ascontiguousarray(audio, dtype=np.float32))


__all__ = ["REFERENCE_LUFS", "build_boards", "apply_width", "ChainRenderer", "render"]
