"""Test material made on the spot: synthesised band loops in several states, and a FluidSynth
rendering of a music21 chorale when the renderer is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
from scipy import signal

SR = 44100


def band_loop(seconds: float = 12.0, seed: int = 3, sr: int = SR) -> np.ndarray:
    """The bundled example's synthesiser: drums, bass, pads, lead; stereo, about -30 LUFS."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "examples" / "make_example.py"
    spec = importlib.util.spec_from_file_location("make_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    audio = module.make_song(seconds, seed=seed)
    if sr != SR:
        audio = signal.resample_poly(audio, sr, SR, axis=1).astype(np.float32)
    return audio


def dense_loud(seconds: float = 12.0, seed: int = 4) -> np.ndarray:
    """Already-loud, squashed material (hard-clipped near full scale, around -7 LUFS)."""
    x = band_loop(seconds, seed) * 12.0
    return np.tanh(x * 1.5).astype(np.float32) * 0.98


def sparse_quiet(seconds: float = 12.0, seed: int = 5) -> np.ndarray:
    """Quiet, sparse plucked notes with long silences between them (around -38 LUFS)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    out = np.zeros(n)
    t = np.arange(int(1.5 * SR)) / SR
    for start in np.arange(0.2, seconds - 1.5, 1.7):
        f = rng.choice([220.0, 261.6, 329.6, 392.0, 523.3])
        note = sum(np.sin(2 * np.pi * f * k * t) / k for k in range(1, 6)) * np.exp(-t * 3.0)
        i = int(start * SR)
        out[i:i + t.size] += note * rng.uniform(0.3, 1.0)
    out *= 0.02 / np.abs(out).max()
    return np.stack([out, 0.8 * out]).astype(np.float32)


FLUIDR3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
TIMGM6MB = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


def render_chorale(tmp: Path, seconds: float = 12.0, sf2: Path = FLUIDR3) -> np.ndarray | None:
    """A Bach chorale from music21's offline corpus, rendered with FluidSynth (None if unavailable)."""
    if shutil.which("fluidsynth") is None or not sf2.exists():
        return None
    try:
        from music21 import corpus
    except ImportError:
        return None
    midi, wav = tmp / "chorale.mid", tmp / "chorale.wav"
    corpus.parse("bach/bwv66.6").write("midi", fp=str(midi))
    subprocess.run(["fluidsynth", "-ni", "-q", "-F", str(wav), "-r", str(SR), "-g", "0.6", str(sf2), str(midi)],
                   check=True, capture_output=True, timeout=120)
    from mixai.io.audio import load

    audio, _ = load(wav)
    return audio[:, : int(seconds * SR)]


def write(path: Path, audio: np.ndarray, sr: int = SR, subtype: str = "FLOAT") -> Path:
    import soundfile as sf

    sf.write(str(path), np.atleast_2d(audio).T, sr, subtype=subtype)
    return path


def lufs(audio: np.ndarray, sr: int = SR) -> float:
    import pyloudnorm

    return float(pyloudnorm.Meter(sr).integrated_loudness(np.atleast_2d(audio).T.astype(np.float64)))


def _libebur128(audio: np.ndarray, sr: int, mode: str):
    """A pyebur128 state fed the whole (channels, samples) array, and its channel count."""
    import pyebur128

    x = np.ascontiguousarray(np.atleast_2d(audio).T, dtype=np.float64)
    state = pyebur128.R128State(x.shape[1], sr, getattr(pyebur128.MeasurementMode, mode))
    for start in range(0, len(x), 65536):
        block = np.ascontiguousarray(x[start:start + 65536])
        state.add_frames(block.reshape(-1), len(block))
    return state, x.shape[1]


def true_peak_libebur128_dbtp(audio: np.ndarray, sr: int = SR) -> float:
    """True peak as libebur128 reads it (its short 4x interpolator; pyebur128), the meter many
    tools use: an independent implementation that reads limited music higher than mixai's own."""
    import pyebur128

    state, channels = _libebur128(audio, sr, "MODE_TRUE_PEAK")
    peak = max(pyebur128.get_true_peak(state, c) for c in range(channels))
    return float(20 * np.log10(max(peak, 1e-12)))


def lufs_libebur128(audio: np.ndarray, sr: int = SR) -> float:
    """Integrated loudness as libebur128 reads it: a second BS.1770 meter beside pyloudnorm."""
    import pyebur128

    return float(pyebur128.get_loudness_global(_libebur128(audio, sr, "MODE_I")[0]))


def true_peak_resample_dbtp(audio: np.ndarray) -> float:
    """An independent 4x true-peak measure (scipy's polyphase resampler)."""
    up = signal.resample_poly(np.atleast_2d(audio).astype(np.float64), 4, 1, axis=1)
    return float(20 * np.log10(max(np.abs(up).max(), np.abs(audio).max())))


def independent_true_peaks_dbtp(audio: np.ndarray, sr: int = SR) -> dict[str, float]:
    """The true peak by two meters that share no code with mixai: libebur128 and scipy's 4x
    resampler. A master must be under its ceiling by every meter a user might check it with."""
    return {"libebur128": true_peak_libebur128_dbtp(audio, sr), "scipy 4x": true_peak_resample_dbtp(audio)}
