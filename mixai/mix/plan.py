"""Each stem's channel strip before the faders are known: from the stem network, or from rules of
thumb by role (``dsp``: equal loudness with role offsets, role pans and reverb sends)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mixai.dsp.chain import REFERENCE_LUFS
from mixai.mix.model import StemModel, model_input
from mixai.mix.report import StemInfo
from mixai.settings.schema import EQ_BAND_NAMES
from mixai.settings.stems import StemSettings, compressor_for, decode_outputs, eq_from_gains

SILENT_LUFS = -70.0
# DSP fallback: level of each role relative to the loudest (lead) stem, pans for mono stems and
# reverb sends. Rules of thumb: lead and drums forward, bass under them, pads and beds back.
# A backing (a submix of the band) is the bed the solo stems sit on: loudest, already has its space.
DSP_ROLE_OFFSET_DB = {"vocals": 0.0, "drums": -1.5, "bass": -3.5, "keys": -5.5, "guitar": -5.5,
                      "strings": -7.0, "other": -6.0, "backing": 0.0}
ROLE_REVERB_SEND = {"vocals": 0.18, "drums": 0.06, "bass": 0.0, "keys": 0.14, "guitar": 0.14,
                    "strings": 0.2, "other": 0.14, "backing": 0.0}
ROLE_CENTRED = ("vocals", "bass", "drums", "backing")


@dataclass
class Plan:
    """A stem's predicted strip before the fader is known."""

    target_rel_db: float
    strip: StemSettings


def _dsp_pans(infos: list[StemInfo]) -> list[float]:
    pans, side = [], -1.0
    for info in infos:
        if info.role in ROLE_CENTRED or len(infos) == 1:
            pans.append(0.0)
        else:
            pans.append(side * 0.4)
            side = -side
    return pans



def plan_strips(infos: list[StemInfo], mix_features: np.ndarray, model: StemModel | None) -> list[Plan]:
    """One :class:`Plan` per stem: from ``model`` when given, else the dsp rules."""
    plans = []
    if model is None:
        for info, pan in zip(infos, _dsp_pans(infos)):
            strip = StemSettings(trim_db=_trim(info), pan=pan if info.channels == 1 else 0.0,
                                 reverb_send=ROLE_REVERB_SEND[info.role])
            plans.append(Plan(DSP_ROLE_OFFSET_DB[info.role], strip))
        return plans
    roles = [i.role for i in infos]
    rows = np.stack([model_input(i.features, i.role, mix_features, roles) for i in infos])
    for info, out in zip(infos, model.run(rows)):
        v = decode_outputs(out)
        eq = eq_from_gains({b: v[f"eq.{b}.gain_db"] for b in EQ_BAND_NAMES})
        comp = compressor_for(info.role, v["compressor.threshold_db"], v["compressor.ratio"])
        strip = StemSettings(trim_db=_trim(info), eq=eq, compressor=comp,
                             pan=round(v["pan"], 3) if info.channels == 1 else 0.0,
                             reverb_send=round(v["reverb_send"], 3))
        plans.append(Plan(v["target_rel_db"], strip))
    return plans


def _trim(info: StemInfo) -> float:
    if not math.isfinite(info.lufs) or info.lufs < SILENT_LUFS:
        return 0.0
    return float(np.clip(round(REFERENCE_LUFS - info.lufs, 3), -80.0, 80.0))


__all__ = ["SILENT_LUFS", "DSP_ROLE_OFFSET_DB", "ROLE_REVERB_SEND", "ROLE_CENTRED", "Plan", "plan_strips"]
