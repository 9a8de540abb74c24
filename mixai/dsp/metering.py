"""Live metering of the output while it is written: one :class:`MeterReading` for every 100 ms
step of the programme (the rate EBU Tech 3341 meters update at), read from the final pass's own
meters (the BS.1770 loudness meter and the true-peak meter that also give the report's figures),
so a live meter and the report can never disagree.

:class:`LiveMeter` is called on the thread that measures the blocks, after each block is measured;
its readings are handed to the caller's callback on the writing thread (see
:func:`mixai.master.final.write_final`).
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass
from typing import Callable

import numpy as np

from mixai.dsp.loudness import LoudnessMeter
from mixai.dsp.truepeak import TruePeakMeter

MOMENTARY_S = 0.4
SHORT_TERM_S = 3.0


@dataclass(frozen=True)
class MeterReading:
    """The output at the end of one 100 ms step. Loudness windows near the start hold the steps
    there are; ``true_peak_dbtp`` is the highest so far (as a meter's max-TP display),
    ``gain_reduction_db`` the limiter's deepest reduction in this step (>= 0)."""

    position_s: float
    momentary_lufs: float
    short_term_lufs: float
    true_peak_dbtp: float
    gain_reduction_db: float
    final_pass: int = 0  # which pass of the final stage (a pass redone starts again at 0 s)

    def values(self) -> tuple[float, ...]:
        """The fields in order, with a silent window (-inf LUFS) as -200 (OSC-friendly)."""
        return tuple(v if not isinstance(v, float) or math.isfinite(v) else -200.0 for v in astuple(self))


MeterCallback = Callable[[list[MeterReading]], None]


class LiveMeter:
    """Turns the final pass's meters into a reading per new 100 ms step."""

    def __init__(self, loudness: LoudnessMeter, peaks: TruePeakMeter, final_pass: int = 0) -> None:
        self._loudness, self._peaks, self._pass = loudness, peaks, final_pass
        self._done = 0  # steps already read
        self._limiting: list[float] = []

    def readings(self, limiting_db: np.ndarray) -> list[MeterReading]:
        """The readings of the steps metered since the last call; ``limiting_db`` is the limiter's
        reduction per 100 ms step of the block just measured."""
        self._limiting.extend(float(v) for v in limiting_db)
        new = self._loudness.steps_metered - self._done
        if new <= 0:
            return []
        momentary = self._loudness.recent_series_lufs(MOMENTARY_S, new)
        short_term = self._loudness.recent_series_lufs(SHORT_TERM_S, new)
        peak = self._peaks.true_peak_dbtp
        step_s = LoudnessMeter.STEP_SECONDS
        out = []
        for k in range(new):
            index = self._done + k
            reduction = self._limiting[index] if index < len(self._limiting) else 0.0
            out.append(MeterReading(round((index + 1) * step_s, 3), float(momentary[k]), float(short_term[k]),
                                    peak, reduction, self._pass))
        self._done += new
        return out


__all__ = ["MOMENTARY_S", "SHORT_TERM_S", "MeterReading", "MeterCallback", "LiveMeter"]
