"""The DSP predictor: closed-form target matching, as classic reference mastering tools do.

EQ gains move the spectral balance toward the target's, the compressor closes the crest-factor gap,
width moves the side/mid ratio, reverb stays off. It is the baseline the learned model must beat,
and stays available as ``--predictor dsp``.
"""

from __future__ import annotations

import numpy as np

from mixai.dsp.chain import REFERENCE_LUFS
from mixai.analysis.features import BAND_EDGES_HZ, Features
from mixai.predict.target import Target
from mixai.settings.schema import (EQ, Compressor, HighShelf, LowShelf, Output, Peak, Reverb, Settings,
                                   Stereo)

MAX_EQ_DB = 9.0
_CENTRES = np.sqrt(np.array(BAND_EDGES_HZ[:-1]) * np.array(BAND_EDGES_HZ[1:]))


def _mean_gap(gap: np.ndarray, low_hz: float, high_hz: float) -> float:
    sel = (_CENTRES >= low_hz) & (_CENTRES < high_hz)
    return float(np.clip(gap[sel].mean(), -MAX_EQ_DB, MAX_EQ_DB)) if sel.any() else 0.0


class DspPredictor:
    name = "dsp"

    def predict(self, features: Features, target: Target, *, output: Output | None = None) -> Settings:
        gap = target.features.bands_db() - features.bands_db()
        gap = gap - np.median(gap)  # band levels are relative: only the shape of the gap matters
        eq = EQ(
            highpass_hz=10.0,
            low_shelf=LowShelf(freq_hz=110.0, gain_db=_mean_gap(gap, 30, 120)),
            low_mid=Peak(freq_hz=300.0, gain_db=_mean_gap(gap, 120, 600), q=0.8),
            mid=Peak(freq_hz=1500.0, gain_db=_mean_gap(gap, 600, 3000), q=0.8),
            high_mid=Peak(freq_hz=4500.0, gain_db=_mean_gap(gap, 3000, 7000), q=0.9),
            high_shelf=HighShelf(freq_hz=9000.0, gain_db=_mean_gap(gap, 7000, 17000)),
        )
        crest_gap = features["crest_factor_db"] - target.features["crest_factor_db"]
        if crest_gap > 1.0:
            ratio = float(min(6.0, 1.0 + crest_gap / 4.0))
            compressor = Compressor(threshold_db=REFERENCE_LUFS + 2.0, ratio=ratio, attack_ms=10.0,
                                    release_ms=150.0)
        else:
            compressor = Compressor()
        if features["lr_correlation"] < 0.999 and features["side_to_mid_db"] > -39.0:
            width_db = target.features["side_to_mid_db"] - features["side_to_mid_db"]
            width = float(np.clip(10 ** (width_db / 20.0), 0.5, 1.6))
        else:
            width = 1.0  # mono stays mono: there is no side signal to scale
        return Settings(eq=eq, compressor=compressor, stereo=Stereo(width=width), reverb=Reverb(),
                        output=output or Output())


__all__ = ["DspPredictor"]
