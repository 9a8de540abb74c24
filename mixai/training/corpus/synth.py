"""fluidsynth and its General MIDI soundfont: the environment check and one stem's render.

Reverb and chorus are off so that reverb stays a parameter of the mix, not of the material.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from mixai.errors import MixaiError
from mixai.training.corpus.score import PieceSkipped

SAMPLE_RATE = 44100
DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
DEBIAN_PACKAGES = "fluidsynth fluid-soundfont-gm"
RENDER_GAIN = 0.5


class DataGenerationError(MixaiError):
    """The corpus cannot be generated (missing tool, soundfont or output folder problem)."""


def check_environment(soundfont: Path) -> str:
    """Fail early with an installable answer instead of a traceback in a worker process."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise DataGenerationError(
            f"fluidsynth was not found on PATH; install it with: sudo apt-get install {DEBIAN_PACKAGES}"
        )
    if not soundfont.is_file():
        raise DataGenerationError(
            f"soundfont {soundfont} not found; install it with: sudo apt-get install fluid-soundfont-gm "
            "(or pass --soundfont PATH to a General MIDI .sf2)"
        )
    return exe


def render_stem(midi: bytes, soundfont: Path, frames: int, work_dir: Path, name: str) -> np.ndarray:
    """Render with fluidsynth (reverb and chorus off, float output) to exactly ``frames``: a
    (frames, 2) float64 array, samples first as soundfile reads it. The rendering steps keep that
    layout up to the WAV writer; whatever reads the written corpus gets mixai's (channels, samples)."""
    import soundfile as sf

    midi_path = work_dir / f"{name}.mid"
    wav_path = work_dir / f"{name}.wav"
    midi_path.write_bytes(midi)
    cmd = [
        "fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", str(RENDER_GAIN), "-r", str(SAMPLE_RATE),
        "-O", "float", "-T", "wav", "-F", str(wav_path), str(soundfont), str(midi_path),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not wav_path.is_file():
        raise PieceSkipped(f"fluidsynth failed on {name}: {result.stderr.strip()[-300:]}")
    audio, rate = sf.read(str(wav_path), dtype="float64", always_2d=True)
    if rate != SAMPLE_RATE:
        raise PieceSkipped(f"fluidsynth wrote {rate} Hz")
    if audio.shape[1] == 1:
        audio = np.repeat(audio, 2, axis=1)
    out = np.zeros((frames, 2))
    n = min(frames, audio.shape[0])
    out[:n] = audio[:n, :2]
    return out


__all__ = ["SAMPLE_RATE", "DEFAULT_SOUNDFONT", "DEBIAN_PACKAGES", "RENDER_GAIN", "DataGenerationError",
           "check_environment", "render_stem"]
