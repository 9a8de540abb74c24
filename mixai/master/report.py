"""What a master did, for the user: the settings used, loudness and peaks before and after, the
model's trust, and the warnings mastering cannot fix (text summary and JSON)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from mixai.analysis.measure import Analysis
from mixai.settings.scaling import apply_amounts
from mixai.settings.schema import AMOUNT_ASPECTS, Amounts, Settings

OUT_OF_PHASE_CORRELATION = -0.3  # below this, left and right largely cancel in mono: warn
BAND_LABELS = {"low_shelf": "low shelf", "low_mid": "low-mid", "mid": "mid", "high_mid": "high-mid",
               "high_shelf": "high shelf"}


class StageTimes(dict):
    """Seconds spent per stage (``analyze``, ``predict``, ``render``, ``loudness``, ``write``...),
    as the report's ``seconds`` shows them; a stage entered twice adds up."""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - start


def trust_note(model_trust: float | None) -> str | None:
    """One line for the user when the model scaled its corrections down, else None."""
    if model_trust is None or model_trust >= 1.0:
        return None
    return (f"the input is unlike the model's training material: its corrections are scaled to "
            f"{100 * model_trust:.0f} %")


def amounts_text(amounts: Amounts) -> str:
    """``eq 50 %, dynamics 100 %, reverb 100 %, width 100 %``."""
    return ", ".join(f"{aspect} {100 * getattr(amounts, aspect):.0f} %" for aspect in AMOUNT_ASPECTS)


@dataclass
class MasterReport:
    """What was done: the settings used, and loudness/peaks measured before and after."""

    input: str
    output: str | None
    predictor: str
    target: str
    settings: Settings
    before: Analysis
    after: dict[str, float] = field(default_factory=dict)
    makeup_gain_db: float = 0.0
    max_limiting_db: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    model_trust: float | None = None  # the learned predictor's trust in this input (1 = fully)
    dc_offset_removed: list[float] | None = None  # per channel, subtracted before the chain
    input_warnings: list[str] = field(default_factory=list)  # about the input file (damage mastered despite)
    timeline: Any = None  # mixai.report.timeline.Timeline when a visual report was asked for (not in the JSON)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input, "output": self.output, "predictor": self.predictor,
            "target": self.target, "settings": self.settings.to_dict(),
            "before": self.before.to_dict(), "after": self.after,
            "makeup_gain_db": round(self.makeup_gain_db, 3),
            "max_limiting_db": round(self.max_limiting_db, 3),
            "model_trust": None if self.model_trust is None else round(self.model_trust, 3),
            "dc_offset_removed": None if self.dc_offset_removed is None
            else [round(v, 6) for v in self.dc_offset_removed],
            "warnings": self.warnings(),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }

    def warnings(self) -> list[str]:
        """Problems mastering does not fix and the user should know about."""
        found = list(self.input_warnings)
        if self.before.channels == 2:
            correlation = self.before.features["lr_correlation"]
            if correlation < OUT_OF_PHASE_CORRELATION:
                found.append(f"left and right are largely out of phase (correlation {correlation:+.2f}): "
                             "the master cancels when summed to mono; check one channel's polarity")
        if self.before.clipped_runs:
            found.append(f"the input is clipped ({self.before.clipped_runs} flat runs at full scale): "
                         "mastering cannot restore those peaks; export the mix with headroom if you can")
        return found

    def summary(self) -> str:
        b, s = self.before, apply_amounts(self.settings)  # the values the chain ran with
        lines = [f"input   {self.input}",
                 f"  before  {b.integrated_lufs:6.2f} LUFS   {b.true_peak_dbtp:6.2f} dBTP   "
                 f"LRA {b.loudness_range_lu:4.1f} LU"]
        if self.after:
            a = self.after
            lines.append(f"  after   {a['integrated_lufs']:6.2f} LUFS   {a['true_peak_dbtp']:6.2f} dBTP   "
                         f"LRA {a['loudness_range_lu']:4.1f} LU   (target {s.output.target_lufs:g} LUFS, "
                         f"ceiling {s.output.ceiling_dbtp:g} dBTP)")
        eq = s.eq
        bands = ", ".join(f"{BAND_LABELS[name]} {b_.gain_db:+.1f} dB @ {b_.freq_hz:.0f} Hz"
                          for name, b_ in eq.bands())
        hp = "off" if eq.highpass_hz <= 10.0 else f"{eq.highpass_hz:.0f} Hz"
        c = s.compressor
        comp = "off" if c.is_neutral else (f"{c.ratio:.2f}:1 at {c.threshold_db:.1f} dB, "
                                           f"attack {c.attack_ms:.1f} ms, release {c.release_ms:.0f} ms")
        rev = "off" if s.reverb.is_neutral else f"wet {s.reverb.wet:.2f}, room {s.reverb.room_size:.2f}"
        note = trust_note(self.model_trust)
        if note:
            lines.append(f"  note    {note}")
        lines += [f"  warning {w}" for w in self.warnings()]
        if self.dc_offset_removed is not None:
            lines.append("  dc      removed an offset of " + ", ".join(f"{v:+.4f}" for v in self.dc_offset_removed)
                         + " (full scale = 1)")
        if not self.settings.amounts.is_full:
            lines.append(f"  amounts {amounts_text(self.settings.amounts)}")
        lines += [f"  predictor {self.predictor}, target {self.target}",
                  f"  eq      high-pass {hp}; {bands}",
                  f"  comp    {comp}",
                  f"  stereo  width {s.stereo.width:.2f}   reverb {rev}"]
        if self.after:
            lines.append(f"  gain    {self.makeup_gain_db:+.2f} dB, limiter up to "
                         f"{self.max_limiting_db:.2f} dB of reduction")
        if self.output:
            lines.append(f"output  {self.output}")
        return "\n".join(lines)


@dataclass
class Suggestion:
    """Predicted settings for a file, with what predicted them and how far the model trusted it."""

    settings: Settings
    analysis: Analysis
    predictor: str
    target: str
    model_trust: float | None = None  # as in MasterReport

    def note(self) -> str | None:
        return trust_note(self.model_trust)


__all__ = ["OUT_OF_PHASE_CORRELATION", "BAND_LABELS", "StageTimes", "trust_note", "amounts_text", "MasterReport",
           "Suggestion"]
