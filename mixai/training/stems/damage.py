"""Seeded damage for balanced stems, and the corrective labels that undo it.

A rendered piece's stems (which sum to its balanced mix) are scrambled one by one:

* **level**: a gain drawn uniformly in +-12 dB;
* **EQ**: each of the five fixed corrective bands (:data:`mixai.stems.EQ_BANDS`) gets, with
  probability 0.6, a gain in +-6 dB (label: the opposite gain, which undoes an RBJ band exactly);
* **dynamics**: one of none, over-compression (threshold 0-10 dB under the stem's loudness,
  ratio 2-8; label: no compression, since it cannot be undone) or slow gain riding of +-3..6 dB
  over 1-4 s (label: a 1.75-2.5:1 compressor at -16 dB re. the -20 LUFS reference, 4 dB above
  the average, which pulls the ridden-up passages down and leaves the rest alone);
* **mono**: 30 % of stems are folded to mono (label: the stem's pan in the balanced rendering,
  which the mixer uses to place mono stems).

The level label is the stem's loudness relative to the balanced mix, measured on the clean stems.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mixai.settings.stems import EQ_BANDS, EQ_BAND_Q

LEVEL_RANGE_DB = 12.0
EQ_RANGE_DB = 6.0
EQ_BAND_PROBABILITY = 0.6
MONO_PROBABILITY = 0.3


@dataclass
class StemDamage:
    gain_db: float
    eq_db: dict[str, float]
    dynamics: str              # "none", "compress" or "ride"
    ride_depth_db: float
    mono: bool

    def label_eq(self) -> dict[str, float]:
        return {k: -v for k, v in self.eq_db.items()}

    def label_compressor(self) -> tuple[float, float]:
        """(threshold dB re. the -20 LUFS reference, ratio)."""
        if self.dynamics == "ride":
            return -16.0, 1.0 + 0.25 * self.ride_depth_db
        return 0.0, 1.0


def draw_damage(rng: np.random.Generator) -> StemDamage:
    eq = {name: (float(rng.uniform(-EQ_RANGE_DB, EQ_RANGE_DB)) if rng.random() < EQ_BAND_PROBABILITY else 0.0)
          for name, _ in EQ_BANDS}
    dyn = ("none", "compress", "ride")[int(rng.integers(3))]
    return StemDamage(gain_db=float(rng.uniform(-LEVEL_RANGE_DB, LEVEL_RANGE_DB)), eq_db=eq, dynamics=dyn,
                      ride_depth_db=float(rng.uniform(3.0, 6.0)) if dyn == "ride" else 0.0,
                      mono=bool(rng.random() < MONO_PROBABILITY))


def apply_damage(x: np.ndarray, rate: int, damage: StemDamage, rng: np.random.Generator) -> np.ndarray:
    """Damaged copy of a (channels, n) stem (the input is not modified)."""
    import pedalboard as pb

    from mixai.dsp.loudness import integrated_lufs

    board = []
    freqs = dict(EQ_BANDS)
    for name, g in damage.eq_db.items():
        if g == 0.0:
            continue
        if name == "low_shelf":
            board.append(pb.LowShelfFilter(cutoff_frequency_hz=freqs[name], gain_db=g, q=0.7071067690849304))
        elif name == "high_shelf":
            board.append(pb.HighShelfFilter(cutoff_frequency_hz=freqs[name], gain_db=g, q=0.7071067690849304))
        else:
            board.append(pb.PeakFilter(cutoff_frequency_hz=freqs[name], gain_db=g, q=EQ_BAND_Q))
    if damage.dynamics == "compress":
        level = integrated_lufs(x, rate)
        level = level if math.isfinite(level) else -30.0
        board.append(pb.Compressor(threshold_db=float(level - rng.uniform(0.0, 10.0)),
                                   ratio=float(rng.uniform(2.0, 8.0)), attack_ms=float(rng.uniform(1.0, 10.0)),
                                   release_ms=float(rng.uniform(50.0, 200.0))))
    y = np.asarray(pb.Pedalboard(board)(np.ascontiguousarray(x, np.float32), rate), np.float32) if board else x.copy()
    if damage.dynamics == "ride":
        n = y.shape[1]
        period = rng.uniform(1.0, 4.0)
        t = np.arange(n) / rate
        phase = rng.uniform(0, 2 * np.pi)
        ride = damage.ride_depth_db * np.sin(2 * np.pi * t / period + phase)
        y = y * (10.0 ** (ride / 20.0)).astype(np.float32)
    y = y * np.float32(10.0 ** (damage.gain_db / 20.0))
    if damage.mono and y.shape[0] == 2:
        y = y.mean(axis=0, keepdims=True)
    return np.ascontiguousarray(y, dtype=np.float32)


def damage_song(stems: dict[str, np.ndarray], rate: int, seed: int) -> tuple[dict[str, np.ndarray], dict[str, StemDamage]]:
    """Every stem of a song damaged with its own draws from ``seed`` (stem order = sorted names)."""
    rng = np.random.default_rng(seed)
    out, info = {}, {}
    for name in sorted(stems):
        d = draw_damage(rng)
        out[name] = apply_damage(stems[name], rate, d, rng)
        info[name] = d
    return out, info


def stereo(x: np.ndarray) -> np.ndarray:
    """Mono placed in the centre at constant power; stereo as is."""
    if x.shape[0] == 1:
        return np.concatenate([x, x]) * np.float32(math.sqrt(0.5))
    return x
