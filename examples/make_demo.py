"""The demo's input, and a measure of what mastering it did.

``examples/reel.clean.flac`` is 16 s of a balanced mix: "Paine's Reel" (Ryan's Mammoth Collection,
1883, public domain, via music21's corpus) arranged by ``mixai.training.corpus.rendered`` with generated drums
and bass, rendered with FluidSynth and the FluidR3 GM soundfont (MIT licence). It is a piece of the
model's held-out test split: the network never saw it.

``make`` writes ``example.wav``: that mix as a rough, unmastered bounce might leave it: boomy
(+6 dB below 180 Hz), dull (-7 dB above 4.5 kHz), a honky bump at 900 Hz, a narrow image and 9 dB
too quiet. ``compare`` measures a master of it against the clean mix (both through the same
loudness stage): the mel-spectral distance (MSD) and multi-resolution STFT distance of the evaluation
in ``models/README.md``, for the unprocessed input and for the master.

    python examples/make_demo.py make examples/example.wav
    python examples/make_demo.py compare examples/example.wav examples/example.master.wav
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mixai.io.audio import load, save
from mixai.settings import EQ, HighShelf, LowShelf, Peak
from mixai.training.master.damage import Damage

CLEAN = Path(__file__).resolve().parent / "reel.clean.flac"

ROUGH_BOUNCE = Damage(
    eq=EQ(low_shelf=LowShelf(freq_hz=180.0, gain_db=6.0), mid=Peak(freq_hz=900.0, gain_db=5.0, q=1.4),
          high_shelf=HighShelf(freq_hz=4500.0, gain_db=-7.0)),
    width=0.7, level_db=-9.0)


def make(output: Path) -> None:
    if output.resolve() == CLEAN:
        raise SystemExit(f"{output} is the bundled clean mix; choose another output")
    clean, rate = load(CLEAN)
    damaged, _ = ROUGH_BOUNCE.apply(clean, rate)
    save(output, damaged, rate, bit_depth=24, overwrite=True)  # this script's own output, remade
    print(f"wrote {output}: {CLEAN.name} with {ROUGH_BOUNCE.describe()}")


def compare(unprocessed: Path, mastered: Path) -> None:
    from mixai.dsp.loudness import integrated_lufs
    from mixai.master.options import MasterOptions
    from mixai.master.pipeline import master_array
    from mixai.metrics import all_metrics
    from mixai.settings import neutral_settings

    clean, rate = load(CLEAN)
    master, _ = load(mastered, sample_rate=rate)
    options = MasterOptions(target_lufs=round(integrated_lufs(master, rate), 1))

    def level(audio: np.ndarray) -> np.ndarray:  # the evaluation's neutral loudness stage
        return master_array(audio, rate, settings=neutral_settings(), options=options)[0]

    truth = level(clean)
    rows = {"unprocessed": level(load(unprocessed, sample_rate=rate)[0]), "mixai master": master}
    print(f"against the clean mix ({CLEAN.name}), all at {options.target_lufs:g} LUFS:")
    for name, audio in rows.items():
        m = all_metrics(audio[:, :truth.shape[1]], truth[:, :audio.shape[1]], rate)
        print(f"  {name:13s} MSD {m['msd']:.3f}   MR-STFT {m['mrstft']:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("make", help="write the demo input").add_argument("output", type=Path)
    c = sub.add_parser("compare", help="measure a master against the clean mix")
    c.add_argument("unprocessed", type=Path)
    c.add_argument("mastered", type=Path)
    args = parser.parse_args()
    if args.command == "make":
        make(args.output)
    else:
        compare(args.unprocessed, args.mastered)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
