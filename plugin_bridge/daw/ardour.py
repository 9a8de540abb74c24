"""Ardour: the bundled ACE/a-EQ and ACE/a-Comp plugins, through Ardour's OSC surface.

Message: ``/strip/plugin/parameter ssid piid param value`` -- ``ssid`` is the strip (track) id,
``piid`` the plugin's 1-based position in the strip's processor box, ``param`` the 1-based parameter
number as listed by ``/strip/plugin/descriptor ssid piid``, and ``value`` the parameter's own
(physical) value; Ardour refuses values outside the parameter's range, so they are clamped here.

Assumed parameter numbers (check with ``/strip/plugin/descriptor`` in your Ardour version):

a-EQ (``eq_plugin``, default 1)::

    1 freqL  low shelf frequency (Hz)      2 gL  low shelf gain (dB, +-20)
    3 freq1  band 1 frequency (Hz)         4 g1  band 1 gain (dB)    5 bw1  band 1 bandwidth (octaves)
    6 freq2  band 2 ...                    7 g2                      8 bw2
    9 freq3  band 3 ...                   10 g3                     11 bw3
   12 freq4  band 4 (unused: gain 0)      13 g4                     14 bw4
   15 freqH  high shelf frequency (Hz)    16 gH  high shelf gain (dB)
   17 master gain   18-23 section enables (L, 1, 2, 3, 4, H)   24 enable

mixai's low-mid, mid and high-mid bands go to a-EQ bands 1-3; band 4 is switched off. a-EQ has no
high-pass filter, so ``eq.highpass_hz`` is not sent (use the generic adapter for it).

a-Comp (``comp_plugin``, default 2)::

    1 attack (ms, 0.1-100)   2 release (ms, 1-2000)   3 knee (dB)   4 ratio (1-20)
    5 threshold (dB, -60-0)  6 makeup (dB)

Knee and makeup are left alone; the threshold is moved to the track's own level.
"""

from __future__ import annotations

from typing import Any

from plugin_bridge.daw import Message, clamp, q_to_octaves, track_threshold_db

NAME = "ardour"
DEFAULT_PORT = 3819
ADDRESS = "/strip/plugin/parameter"
OPTIONS: dict[str, tuple[Any, Any, str]] = {
    "eq_plugin": (int, 1, "position of a-EQ in the strip (1-based)"),
    "comp_plugin": (int, 2, "position of a-Comp in the strip (1-based)"),
}

EQ = {"freqL": 1, "gL": 2, "freq1": 3, "g1": 4, "bw1": 5, "freq2": 6, "g2": 7, "bw2": 8,
      "freq3": 9, "g3": 10, "bw3": 11, "freq4": 12, "g4": 13, "bw4": 14, "freqH": 15, "gH": 16,
      "master": 17, "enL": 18, "en1": 19, "en2": 20, "en3": 21, "en4": 22, "enH": 23, "enable": 24}
COMP = {"attack": 1, "release": 2, "knee": 3, "ratio": 4, "threshold": 5, "makeup": 6}

FREQ_RANGE = (20.0, 20000.0)
GAIN_RANGE = (-20.0, 20.0)
BW_RANGE = (0.1, 4.0)


def messages(settings, *, track: int, input_lufs: float | None = None,
             options: dict[str, Any] | None = None) -> list[Message]:
    opts = {k: v[1] for k, v in OPTIONS.items()} | dict(options or {})
    ssid, eq_id, comp_id = int(track), int(opts["eq_plugin"]), int(opts["comp_plugin"])
    out: list[Message] = []

    def eq(name: str, value: float) -> None:
        out.append((ADDRESS, [ssid, eq_id, EQ[name], float(value)]))

    def comp(name: str, value: float) -> None:
        out.append((ADDRESS, [ssid, comp_id, COMP[name], float(value)]))

    e = settings.eq
    eq("freqL", clamp(e.low_shelf.freq_hz, *FREQ_RANGE))
    eq("gL", clamp(e.low_shelf.gain_db, *GAIN_RANGE))
    for i, band in enumerate((e.low_mid, e.mid, e.high_mid), start=1):
        eq(f"freq{i}", clamp(band.freq_hz, *FREQ_RANGE))
        eq(f"g{i}", clamp(band.gain_db, *GAIN_RANGE))
        eq(f"bw{i}", clamp(q_to_octaves(band.q), *BW_RANGE))
    eq("g4", 0.0)
    eq("freqH", clamp(e.high_shelf.freq_hz, *FREQ_RANGE))
    eq("gH", clamp(e.high_shelf.gain_db, *GAIN_RANGE))
    for name, on in (("enL", 1.0), ("en1", 1.0), ("en2", 1.0), ("en3", 1.0), ("en4", 0.0), ("enH", 1.0)):
        eq(name, on)
    c = settings.compressor
    comp("attack", clamp(c.attack_ms, 0.1, 100.0))
    comp("release", clamp(c.release_ms, 1.0, 2000.0))
    comp("ratio", clamp(c.ratio, 1.0, 20.0))
    comp("threshold", clamp(track_threshold_db(c.threshold_db, input_lufs), -60.0, 0.0))
    return out
