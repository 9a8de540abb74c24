"""Balancing a piece: raw stems loudness-matched, offset per role and panned; the sum brought to
a target loudness under a peak ceiling by one gain envelope shared by every stem, so that
``sum(stems) == mix`` still holds. Audio here is (samples, channels), as fluidsynth writes it.
"""

from __future__ import annotations

import math

import numpy as np

from mixai.dsp.loudness import integrated_lufs
from mixai.training.corpus.arrangement import StemPlan
from mixai.training.corpus.synth import SAMPLE_RATE

STEM_REFERENCE_LUFS = -23.0
MIX_LUFS_RANGE = (-18.0, -14.0)
PEAK_CEILING_DBFS = -1.0
SILENT_STEM_LUFS = -70.0
FADE_OUT_SECONDS = 0.02
LIMITER_WINDOW_SECONDS = 0.02

# Balance: level of each role relative to the lead after loudness-matching the raw stems.
ROLE_LEVEL_DB = {"vocals": 0.0, "drums": -1.0, "bass": -3.0, "keys": -5.0, "guitar": -5.0, "strings": -7.0, "other": -6.0}

ROLE_CENTRED = ("vocals", "bass", "drums")



def loudness_lufs(audio: np.ndarray) -> float:
    """BS.1770 integrated loudness of a (samples, channels) render; -inf for silence. Measured by
    :func:`mixai.dsp.loudness.integrated_lufs`, the meter the mastering path uses."""
    return integrated_lufs(audio.T, SAMPLE_RATE)


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power balance for a stereo stem, unity at centre."""
    theta = (float(np.clip(pan, -1.0, 1.0)) + 1.0) * math.pi / 4.0
    return math.sqrt(2.0) * math.cos(theta), math.sqrt(2.0) * math.sin(theta)


def choose_pans(rng: np.random.Generator, plans: list[StemPlan], ensemble: str) -> list[float]:
    """Lead, bass and drums near the centre; other stems alternate sides (seated left to right
    from high to low in string ensembles)."""
    pans = []
    side = 1.0 if rng.random() < 0.5 else -1.0
    n = len(plans)
    for i, plan in enumerate(plans):
        if ensemble == "string_ensemble" and n > 1:
            pans.append(round(-0.5 + i / (n - 1) + float(rng.uniform(-0.05, 0.05)), 3))
        elif plan.role in ROLE_CENTRED or n == 1:
            pans.append(round(float(rng.uniform(-0.08, 0.08)), 3))
        else:
            pans.append(round(side * float(rng.uniform(0.15, 0.6)), 3))
            side = -side
    return pans


def limiter_envelope(mix: np.ndarray, ceiling: float) -> np.ndarray:
    """Smooth gain (<= 1) that keeps |mix * gain| <= ceiling: a minimum filter over +-W followed
    by a moving average over +-W/2 never exceeds the required gain at any sample, so peaks are
    caught without clicks. Applied to every stem, it preserves sum(stems) == mix."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    peak = np.max(np.abs(mix), axis=1)
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    if need.min() >= 1.0:
        return np.ones(mix.shape[0])
    half = int(LIMITER_WINDOW_SECONDS * SAMPLE_RATE)
    held = minimum_filter1d(need, size=2 * half + 1, mode="nearest")
    smooth = uniform_filter1d(held, size=half + 1 if half % 2 == 0 else half, mode="nearest")
    return np.minimum(smooth, need)


def fade_out(frames: int) -> np.ndarray:
    """Raised-cosine fade at the excerpt end: notes are cut there, their tails should not click."""
    ramp = np.ones(frames)
    n = min(frames, int(FADE_OUT_SECONDS * SAMPLE_RATE))
    ramp[frames - n:] = 0.5 * (1.0 + np.cos(np.linspace(0.0, math.pi, n)))
    return ramp


def master(stems: list[np.ndarray], target_lufs: float) -> tuple[list[np.ndarray], np.ndarray, dict[str, float]]:
    """Scale all stems by one static gain so the mix meets ``target_lufs``, then by a common
    peak-safety envelope and fade; return float32 stems, their float32 sum, and the numbers."""
    pre = np.sum(stems, axis=0)
    pre_lufs = loudness_lufs(pre)
    gain_db = target_lufs - pre_lufs
    ceiling = 10.0 ** (PEAK_CEILING_DBFS / 20.0)
    fade = fade_out(pre.shape[0])
    envelope = np.ones(pre.shape[0])
    for _ in range(3):
        scaled = pre * 10.0 ** (gain_db / 20.0)
        envelope = limiter_envelope(scaled, ceiling) * fade
        lufs = loudness_lufs(scaled * envelope[:, None])
        if abs(lufs - target_lufs) < 0.1:
            break
        gain_db += target_lufs - lufs
    g = 10.0 ** (gain_db / 20.0) * envelope[:, None]
    out = [(s * g).astype(np.float32) for s in stems]
    mix = np.sum([s.astype(np.float64) for s in out], axis=0).astype(np.float32)
    before_fade = envelope[: max(1, envelope.size - int(FADE_OUT_SECONDS * SAMPLE_RATE))]
    stats = {
        "master_gain_db": round(gain_db, 3),
        "max_gain_reduction_db": round(max(0.0, float(-20.0 * np.log10(max(float(before_fade.min()), 1e-12)))), 3),
        "lufs": round(loudness_lufs(mix.astype(np.float64)), 3),
        "peak_dbfs": round(float(20.0 * np.log10(max(np.abs(mix).max(), 1e-12))), 3),
    }
    return out, mix, stats


__all__ = ["STEM_REFERENCE_LUFS", "MIX_LUFS_RANGE", "PEAK_CEILING_DBFS", "SILENT_STEM_LUFS", "FADE_OUT_SECONDS",
           "LIMITER_WINDOW_SECONDS", "ROLE_LEVEL_DB", "ROLE_CENTRED", "loudness_lufs", "pan_gains", "choose_pans",
           "limiter_envelope", "fade_out", "master"]
