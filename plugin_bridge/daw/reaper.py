"""Reaper: ReaEQ and ReaComp on a track, through Reaper's OSC control surface.

Source of truth for the OSC side: Reaper's own control-surface code, ``csurf_osc.cpp`` in Cockos'
``reaper-sdk`` (github.com/justinfrankel/reaper-sdk, ``reaper-plugins/reaper_csurf/``, checked at
commit b5da337e, "sdk updates for 7.78"). Its built-in table ``defcfg`` is Default.ReaperOSC with the
comments stripped, and ``ProcessFXAction`` shows how each wildcard is read:

* ``FX_PARAM_VALUE n/track/@/fx/@/fxparam/@/value``: track, FX slot and parameter are 1-based
  (``fxidx = wc - 1``, ``parmidx = wc - 1``; track 0 is the master) and the float is handed to
  ``TrackFX_SetParamNormalized``: a normalised 0..1 value.
* ``FX_EQ_*`` with an ``f/`` pattern (``.../freq/hz``, ``.../gain/db``, ``.../q/oct``): the float
  goes to ``TrackFX_SetEQParam(..., isnorm=false)``, i.e. Hz, dB and octaves, converted by Reaper
  itself, on the track's first ReaEQ (inserted when missing with ``DEVICE_EQ INSERT``). The band
  index of ``fxeq/band/@`` is **0-based** -- ``bandidx`` is the wildcard as sent, "0 = first band
  matching the band type" (``TrackFX_SetEQParam`` in ``sdk/reaper_plugin_functions.h``).

Two ways to address the plugins (``mode`` option):

``fxeq`` (default)
    ReaEQ through the ``FX_EQ_*`` patterns in physical units, so the units are Reaper's own,
    documented conversion; ReaComp through ``fxparam`` (it has no physical-unit OSC pattern).
    The three bell bands are ``band/0..2`` (``eq_band_base``, default 0).
``fxparam``
    ``/track/N/fx/M/fxparam/K/value <0..1>`` for ReaEQ too, with the normalisation assumptions
    below.
``both``
    Both of the above (the ``fxeq`` messages after the ``fxparam`` ones).

ReaEQ must have the bands mixai uses: a high pass, a low shelf, three bands ("Band" type) and a
high shelf. In ``fxparam`` mode they must also be in that order in slot ``eq_fx`` (default 1), each
exposing three parameters (frequency, gain, bandwidth), so band b (1-based) has parameters
K = 3b-2 (freq), 3b-1 (gain), 3b (bandwidth).

Normalisation assumptions (Cockos does not publish ReaEQ's or ReaComp's normalised curves; check
them in your Reaper with ``TrackFX_FormatParamValueNormalized``, see docs/reaper.md):

* ReaEQ frequency: logarithmic, 20 Hz -> 0.0, 24 kHz -> 1.0: ``ln(f/20) / ln(1200)``
* ReaEQ gain: linear in dB, -24 dB -> 0.0, 0 dB -> 0.5, +24 dB -> 1.0
* ReaEQ bandwidth: linear in octaves, 0 -> 0.0, 4 octaves -> 1.0 (Q converted with
  :func:`plugin_bridge.daw.q_to_octaves`; shelves and the high pass use Q = 0.7071, as mixai's
  chain does)

Assumed ReaComp instance (slot ``comp_fx``, default 2), parameters K: 1 threshold, 2 ratio,
3 attack, 4 release:

* threshold: linear amplitude, ``10 ** (dB / 20)`` (0 dBFS -> 1.0); the threshold is moved to the
  track's own level first (see :func:`plugin_bridge.daw.track_threshold_db`)
* ratio: ``1 - 1/ratio`` (1:1 -> 0.0, inf:1 -> 1.0)
* attack: ``ms / 500`` (0-500 ms); release: ``ms / 5000`` (0-5000 ms)

A neutral compressor (ratio 1) is still sent, so the plugin matches the settings exactly.
"""

from __future__ import annotations

import math
from typing import Any

from plugin_bridge.daw import Message, clamp, q_to_octaves, track_threshold_db

NAME = "reaper"
DEFAULT_PORT = 8000
OPTIONS: dict[str, tuple[Any, Any, str]] = {
    "eq_fx": (int, 1, "FX slot of ReaEQ on the track (1-based)"),
    "comp_fx": (int, 2, "FX slot of ReaComp on the track (1-based)"),
    "mode": (("fxeq", "fxparam", "both"), "fxeq", "how ReaEQ is addressed"),
    "eq_band_base": (int, 0, "FX_EQ index of the first bell band in fxeq mode (Reaper counts from 0)"),
}

SHELF_Q = 0.7071067690849304
FREQ_LOW_HZ, FREQ_HIGH_HZ = 20.0, 24000.0
GAIN_RANGE_DB = 24.0
BW_MAX_OCT = 4.0
ATTACK_MAX_MS, RELEASE_MAX_MS = 500.0, 5000.0

# ReaEQ parameter numbers (1-based, as Reaper's OSC counts them)
EQ_PARAMS = {
    "highpass": (1, 2, 3), "low_shelf": (4, 5, 6), "low_mid": (7, 8, 9), "mid": (10, 11, 12),
    "high_mid": (13, 14, 15), "high_shelf": (16, 17, 18),
}
COMP_PARAMS = {"threshold": 1, "ratio": 2, "attack": 3, "release": 4}


def norm_freq(hz: float) -> float:
    return clamp(math.log(hz / FREQ_LOW_HZ) / math.log(FREQ_HIGH_HZ / FREQ_LOW_HZ), 0.0, 1.0)


def norm_gain(db: float) -> float:
    return clamp((db + GAIN_RANGE_DB) / (2 * GAIN_RANGE_DB), 0.0, 1.0)


def norm_bw(q: float) -> float:
    return clamp(q_to_octaves(q) / BW_MAX_OCT, 0.0, 1.0)


def norm_threshold(db: float) -> float:
    return clamp(10.0 ** (db / 20.0), 0.0, 1.0)


def norm_ratio(ratio: float) -> float:
    return clamp(1.0 - 1.0 / ratio, 0.0, 1.0)


def _eq_bands(settings) -> list[tuple[str, float, float, float]]:
    eq = settings.eq
    return [("highpass", eq.highpass_hz, 0.0, SHELF_Q),
            ("low_shelf", eq.low_shelf.freq_hz, eq.low_shelf.gain_db, SHELF_Q),
            ("low_mid", eq.low_mid.freq_hz, eq.low_mid.gain_db, eq.low_mid.q),
            ("mid", eq.mid.freq_hz, eq.mid.gain_db, eq.mid.q),
            ("high_mid", eq.high_mid.freq_hz, eq.high_mid.gain_db, eq.high_mid.q),
            ("high_shelf", eq.high_shelf.freq_hz, eq.high_shelf.gain_db, SHELF_Q)]


def messages(settings, *, track: int, input_lufs: float | None = None,
             options: dict[str, Any] | None = None) -> list[Message]:
    opts = {k: v[1] for k, v in OPTIONS.items()} | dict(options or {})
    t, eq_fx, comp_fx = int(track), int(opts["eq_fx"]), int(opts["comp_fx"])
    out: list[Message] = []

    def fxparam(fx: int, k: int, value: float) -> None:
        out.append((f"/track/{t}/fx/{fx}/fxparam/{k}/value", [float(value)]))

    if opts["mode"] in ("fxparam", "both"):
        for name, freq, gain, q in _eq_bands(settings):
            kf, kg, kb = EQ_PARAMS[name]
            fxparam(eq_fx, kf, norm_freq(freq))
            if name != "highpass":
                fxparam(eq_fx, kg, norm_gain(gain))
            fxparam(eq_fx, kb, norm_bw(q))
    c = settings.compressor
    fxparam(comp_fx, COMP_PARAMS["threshold"], norm_threshold(track_threshold_db(c.threshold_db, input_lufs)))
    fxparam(comp_fx, COMP_PARAMS["ratio"], norm_ratio(c.ratio))
    fxparam(comp_fx, COMP_PARAMS["attack"], clamp(c.attack_ms / ATTACK_MAX_MS, 0.0, 1.0))
    fxparam(comp_fx, COMP_PARAMS["release"], clamp(c.release_ms / RELEASE_MAX_MS, 0.0, 1.0))
    if opts["mode"] in ("fxeq", "both"):
        out.extend(fxeq_messages(settings, track=t, band_base=int(opts["eq_band_base"])))
    return out


def fxeq_messages(settings, *, track: int, band_base: int = 0) -> list[Message]:
    """ReaEQ in physical units through the FX_EQ_* patterns (``/track/N/fxeq/...``)."""
    eq, p = settings.eq, f"/track/{int(track)}/fxeq"
    out: list[Message] = [
        (f"{p}/hipass/freq/hz", [float(eq.highpass_hz)]),
        (f"{p}/loshelf/freq/hz", [float(eq.low_shelf.freq_hz)]),
        (f"{p}/loshelf/gain/db", [float(eq.low_shelf.gain_db)]),
    ]
    for i, band in enumerate((eq.low_mid, eq.mid, eq.high_mid)):
        b = band_base + i
        out += [(f"{p}/band/{b}/freq/hz", [float(band.freq_hz)]),
                (f"{p}/band/{b}/gain/db", [float(band.gain_db)]),
                (f"{p}/band/{b}/q/oct", [q_to_octaves(band.q)])]
    out += [(f"{p}/hishelf/freq/hz", [float(eq.high_shelf.freq_hz)]),
            (f"{p}/hishelf/gain/db", [float(eq.high_shelf.gain_db)])]
    return out
