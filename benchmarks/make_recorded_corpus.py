"""A small corpus of *recorded* material, to see how the model does beyond General-MIDI renderings.

Every training and test piece of mixai is a synthesised rendering; real recordings have other
instruments, rooms and productions. Debian's ``sonic-pi-samples`` (``apt install sonic-pi-samples``)
ships recorded loops and samples: breakbeats, tabla, guitars, piano, choir, produced loops. This
script writes 16 of them (14 alone, 2 layered into denser "band" material) as a corpus with one
``test`` split, in the layout :mod:`mixai.training.evaluate` reads: each item tiled to
``--seconds``, stereo, 44.1 kHz, at -20 LUFS. Then, for example::

    python benchmarks/make_recorded_corpus.py --out data/corpus_recorded
    python -m mixai.training.evaluate --corpus data/corpus_recorded --split test --damage-seeds 2 \\
        --systems unprocessed dsp onnx oracle

None of this material is used for training.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SAMPLES = Path("/usr/share/sonic-pi/samples")
RATE = 44100
SINGLE = ("loop_amen", "loop_breakbeat", "loop_tabla", "loop_garzul", "loop_mika", "loop_compus", "loop_safari",
          "loop_electric", "loop_industrial", "loop_mehackit1", "guit_em9", "guit_e_fifths", "ambi_piano",
          "ambi_choir")
LAYERED = {"amen+garzul": (("loop_amen", 1.0), ("loop_garzul", 1.0)),
           "breakbeat+mika+em9": (("loop_breakbeat", 1.0), ("loop_mika", 0.7), ("guit_em9", 0.5))}


def load_tiled(name: str, seconds: float) -> np.ndarray:
    """One sample as (2, seconds * RATE) float64, looped, at unit RMS."""
    from mixai.io.audio import load

    x, _ = load(SAMPLES / f"{name}.flac", sample_rate=RATE)
    if x.shape[0] == 1:
        x = np.repeat(x, 2, axis=0)
    n = int(seconds * RATE)
    x = np.tile(x, int(np.ceil(n / x.shape[1])))[:, :n].astype(np.float64)
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-12)


def main(argv: list[str] | None = None) -> int:
    import soundfile as sf

    from mixai.dsp.loudness import integrated_lufs
    from mixai.training.corpus.layout import write_index

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="data/corpus_recorded")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    if not SAMPLES.is_dir():
        parser.error(f"{SAMPLES} not found: apt install sonic-pi-samples")
    items = {name: load_tiled(name, args.seconds) for name in SINGLE}
    for name, parts in LAYERED.items():
        items[name] = sum(gain * load_tiled(part, args.seconds) for part, gain in parts)
    out = Path(args.out)
    for name, x in items.items():
        x = x * 10 ** ((-20.0 - integrated_lufs(x, RATE)) / 20)
        piece = out / "test" / name
        piece.mkdir(parents=True, exist_ok=True)
        sf.write(str(piece / "mix.wav"), x.T.astype(np.float32), RATE, subtype="FLOAT")
    write_index(out, {"splits": {"test": list(items)}})
    print(f"{len(items)} pieces -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
