"""Synthesise a 20-second band loop, deliberately unmastered (quiet, dull top, boomy low-mids).
Deterministic; numpy only. The tests build their material from it (``tests/material.py``); it is
unlike the model's training renderings, so the model scales its corrections down on it. ``make
demo`` uses a rendered mix instead (``make_demo.py``).

    python examples/make_example.py examples/synth.wav
"""

from __future__ import annotations

import argparse

import numpy as np
import soundfile as sf
from scipy import signal

SR = 44100
BPM = 112.0


def _env(n: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / SR
    return np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-t / decay)


def _place(track: np.ndarray, sound: np.ndarray, start_s: float) -> None:
    i = int(start_s * SR)
    j = min(track.size, i + sound.size)
    if i < track.size:
        track[i:j] += sound[: j - i]


def _note_hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def make_song(seconds: float = 20.0, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    beat = 60.0 / BPM
    kick, snare, hats, bass, keys, lead = (np.zeros(n) for _ in range(6))
    t_kick = np.arange(int(0.35 * SR)) / SR
    kick_sound = np.sin(2 * np.pi * (50 + 90 * np.exp(-t_kick * 30)) * t_kick) * _env(t_kick.size, 0.001, 0.12)
    snare_sound = (rng.standard_normal(int(0.25 * SR)) * _env(int(0.25 * SR), 0.001, 0.06)
                   + 0.5 * np.sin(2 * np.pi * 190 * np.arange(int(0.25 * SR)) / SR) * _env(int(0.25 * SR), 0.001, 0.05))
    hat_sound = signal.sosfilt(signal.butter(4, 7000, "highpass", fs=SR, output="sos"),
                               rng.standard_normal(int(0.05 * SR))) * _env(int(0.05 * SR), 0.0005, 0.015)
    chords = [(45, [57, 60, 64]), (41, [57, 60, 65]), (43, [55, 59, 62]), (40, [55, 59, 64])]
    melody = [69, 72, 74, 72, 69, 67, 64, 67]
    bar = 4 * beat
    for b in range(int(seconds / bar) + 1):
        root, triad = chords[b % len(chords)]
        for k in range(4):
            start = b * bar + k * beat
            _place(kick, kick_sound * (1.0 if k % 2 == 0 else 0.0), start)
            _place(snare, snare_sound * (0.8 if k % 2 == 1 else 0.0), start)
            for h in range(2):
                _place(hats, hat_sound * rng.uniform(0.3, 0.6), start + h * beat / 2)
            tb = np.arange(int(beat * SR * 0.95)) / SR
            saw = signal.sawtooth(2 * np.pi * _note_hz(root) * tb)
            _place(bass, saw * _env(tb.size, 0.005, 0.4), start)
            lead_note = melody[(b * 4 + k) % len(melody)]
            tl = np.arange(int(beat * SR)) / SR
            vib = np.sin(2 * np.pi * 5 * tl) * 0.004
            _place(lead, np.sin(2 * np.pi * _note_hz(lead_note) * tl * (1 + vib)) * _env(tl.size, 0.02, 0.6), start)
        tc = np.arange(int(bar * SR)) / SR
        pad = sum(np.sin(2 * np.pi * _note_hz(m) * tc) + 0.3 * np.sin(4 * np.pi * _note_hz(m) * tc) for m in triad)
        _place(keys, pad * _env(tc.size, 0.05, 2.0), b * bar)
    bass = signal.sosfilt(signal.butter(2, 600, "lowpass", fs=SR, output="sos"), bass)
    # Unmastered on purpose: boomy low-mids, a dull top, and a quiet overall level.
    stems = {"kick": (kick, 0.0, 0.9), "snare": (snare, 0.05, 0.5), "hats": (hats, 0.4, 0.25),
             "bass": (bass, 0.0, 0.5), "keys": (keys, -0.35, 0.12), "lead": (lead, 0.2, 0.25)}
    mix = np.zeros((2, n))
    for sound, pan, gain in stems.values():
        mix[0] += sound * gain * np.cos((pan + 1) * np.pi / 4)
        mix[1] += sound * gain * np.sin((pan + 1) * np.pi / 4)
    mix = signal.sosfilt(signal.butter(2, 5000, "lowpass", fs=SR, output="sos"), mix, axis=1)
    boom = signal.iirpeak(250, 1.2, fs=SR)
    mix = mix + 0.6 * signal.lfilter(*boom, mix, axis=1)
    mix *= 0.12 / np.abs(mix).max()
    return mix.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="examples/example.wav")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    sf.write(args.output, make_song(args.seconds).T, SR, subtype="PCM_24")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
