"""Ardour: the bundled ACE EQ (a-EQ) and ACE Compressor (a-Comp) LV2 plugins, through Ardour's OSC
surface.

Message: ``/strip/plugin/parameter ssid piid param value`` -- ``ssid`` is the strip (track) id,
``piid`` the plugin's 1-based position among the strip's plugins, ``param`` Ardour's 1-based
parameter number and ``value`` the parameter's own (physical) value. Ardour ignores values outside
the parameter's range, so they are clamped here.

**Parameter numbers.** Ardour's OSC surface turns ``param`` into an LV2 port with
``LV2Plugin::nth_parameter(param - 1)``, which counts every *control* port, inputs **and outputs**,
in port-index order (audio ports are skipped), and then refuses output ports ("is not a control
input"). So the number is not "the n-th control input": for a-Comp the three meter outputs (gain
reduction, input level, output level) take numbers 7-9, which puts the sidechain toggle at 10 and
the enable at 11. In both plugins every control port comes before the audio ports, so
``param = LV2 port index + 1``. Checked against Ardour's ``libs/surfaces/osc/osc.cc``
(``OSC::route_plugin_parameter``) and ``libs/ardour/lv2_plugin.cc`` (``nth_parameter``,
``parameter_is_control``); ``/strip/plugin/descriptor ssid piid`` lists the same numbers. The port
tables below are checked against the bundles' ``.ttl`` files by ``tests/test_daw_ardour.py``.

**Units.** Measured with the real plugins (``lv2apply``) against mixai's chain, see
``tests/test_daw_ardour.py``:

* a-EQ's bell bandwidth is in octaves with the analogue relation ``Q = 2^(N/2) / (2^N - 1)``, the
  one :func:`plugin_bridge.daw.q_to_octaves` inverts: the bells match mixai's (pedalboard's) peak
  filters to within 0.05 dB.
* a-EQ's shelves are state-variable shelves whose frequency parameter is *not* the half-gain
  point that mixai's (RBJ-cookbook) shelves use: sent as is, a +8 dB shelf came out 1.6-2.4 dB off
  around its corner. :func:`shelf_freq_hz` moves the frequency by the shelf's own gain (and the
  session's sample rate, ``session_rate_hz``, default 48000) so the curves coincide.
* a-Comp smooths its gain reduction with ``exp(-1000 / (ms * rate))`` per sample -- a time
  constant of ``ms`` -- while mixai's compressor (JUCE's) uses ``exp(-2 pi 1000 / (ms * rate))``,
  a time constant of ``ms / 2 pi``. Attack and release are therefore sent divided by 2 pi.
  Knee (0 dB: mixai's compressor has a hard knee), makeup (0 dB: mixai's level comes from its
  loudness stage, after the compressor) and the sidechain toggle (off) are set too.
* a-EQ has no high-pass filter: ``eq.highpass_hz`` is not sent (the generic adapter carries it).

The threshold is moved to the track's own level (:func:`plugin_bridge.daw.track_threshold_db`).
The plugins' designated ``enable`` ports are left to Ardour (they are its bypass switch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from plugin_bridge.daw import Message, clamp, q_to_octaves, track_threshold_db

NAME = "ardour"
DEFAULT_PORT = 3819
ADDRESS = "/strip/plugin/parameter"
OPTIONS: dict[str, tuple[Any, Any, str]] = {
    "eq_plugin": (int, 1, "position of a-EQ among the strip's plugins (1-based)"),
    "comp_plugin": (int, 2, "position of a-Comp among the strip's plugins (1-based)"),
    "session_rate_hz": (range(8000, 384001), 48000, "the Ardour session's sample rate (a-EQ's shelf "
                                                    "frequencies depend on it)"),
}

EQ_URI = "urn:ardour:a-eq"
COMP_URI = "urn:ardour:a-comp"


@dataclass(frozen=True)
class Control:
    """One LV2 control port as the bundle's .ttl declares it."""

    symbol: str
    port: int          # LV2 port index
    minimum: float
    maximum: float
    unit: str          # "Hz", "dB", "oct", "ms", "ratio", "toggle", "" (none declared)
    output: bool = False

    @property
    def param(self) -> int:
        """Ardour's OSC parameter number (every control port precedes the audio ports)."""
        return self.port + 1


def _eq_controls() -> tuple[Control, ...]:
    out: list[Control] = [Control("freql", 0, 20.0, 20000.0, "Hz"), Control("gl", 1, -20.0, 20.0, "dB")]
    for band in range(1, 5):
        base = 2 + 3 * (band - 1)
        out += [Control(f"freq{band}", base, 20.0, 20000.0, "Hz"), Control(f"g{band}", base + 1, -20.0, 20.0, "dB"),
                Control(f"bw{band}", base + 2, 0.1, 4.0, "oct")]
    out += [Control("freqh", 14, 20.0, 20000.0, "Hz"), Control("gh", 15, -20.0, 20.0, "dB"),
            Control("master", 16, -20.0, 20.0, "dB")]
    out += [Control(f"filtog{s}", 17 + i, 0.0, 1.0, "toggle") for i, s in enumerate("l1234h")]
    out.append(Control("enable", 23, 0.0, 1.0, "toggle"))
    return tuple(out)


EQ_CONTROLS: tuple[Control, ...] = _eq_controls()
COMP_CONTROLS: tuple[Control, ...] = (
    Control("att", 0, 0.1, 100.0, "ms"), Control("rel", 1, 1.0, 2000.0, "ms"),
    Control("kn", 2, 0.0, 8.0, "dB"), Control("rat", 3, 1.0, 20.0, "ratio"),
    Control("thr", 4, -60.0, 0.0, "dB"), Control("mak", 5, 0.0, 30.0, "dB"),
    Control("gr", 6, 0.0, 45.0, "dB", output=True), Control("inlevel", 7, -60.0, 10.0, "dB", output=True),
    Control("outlevel", 8, -60.0, 10.0, "dB", output=True),
    Control("sidech", 9, 0.0, 1.0, "toggle"), Control("enable", 10, 0.0, 1.0, "toggle"),
)
EQ = {c.symbol: c for c in EQ_CONTROLS}
COMP = {c.symbol: c for c in COMP_CONTROLS}

TWO_PI = 2.0 * math.pi


def shelf_freq_hz(freq_hz: float, gain_db: float, rate_hz: float, *, high: bool) -> float:
    """a-EQ's shelf frequency for a cookbook shelf at ``freq_hz`` (its half-gain point).

    a-EQ's shelves use ``g = tan(pi f / rate)`` where the cookbook (Simper's form of it) divides
    the low shelf's ``g`` by, and multiplies the high shelf's by, ``sqrt(A) = 10^(gain/80)``.
    """
    scale = 10.0 ** (gain_db / 80.0)
    w = math.tan(math.pi * min(freq_hz, 0.49 * rate_hz) / rate_hz)
    w = w * scale if high else w / scale
    return rate_hz / math.pi * math.atan(w)


def comp_time_ms(ms: float) -> float:
    """a-Comp time for one of mixai's: the same time constant (JUCE's is ``ms / 2 pi``)."""
    return ms / TWO_PI


def _set(out: list[Message], ssid: int, piid: int, control: Control, value: float) -> None:
    out.append((ADDRESS, [ssid, piid, control.param, clamp(value, control.minimum, control.maximum)]))


def messages(settings, *, track: int, input_lufs: float | None = None,
             options: dict[str, Any] | None = None) -> list[Message]:
    opts = {k: v[1] for k, v in OPTIONS.items()} | dict(options or {})
    ssid, eq_id, comp_id = int(track), int(opts["eq_plugin"]), int(opts["comp_plugin"])
    rate = float(opts["session_rate_hz"])
    out: list[Message] = []

    def eq(symbol: str, value: float) -> None:
        _set(out, ssid, eq_id, EQ[symbol], value)

    def comp(symbol: str, value: float) -> None:
        _set(out, ssid, comp_id, COMP[symbol], value)

    e = settings.eq
    eq("freql", shelf_freq_hz(e.low_shelf.freq_hz, e.low_shelf.gain_db, rate, high=False))
    eq("gl", e.low_shelf.gain_db)
    for i, band in enumerate((e.low_mid, e.mid, e.high_mid), start=1):
        eq(f"freq{i}", band.freq_hz)
        eq(f"g{i}", band.gain_db)
        eq(f"bw{i}", q_to_octaves(band.q))
    eq("g4", 0.0)
    eq("freqh", shelf_freq_hz(e.high_shelf.freq_hz, e.high_shelf.gain_db, rate, high=True))
    eq("gh", e.high_shelf.gain_db)
    eq("master", 0.0)
    for symbol, on in (("filtogl", 1.0), ("filtog1", 1.0), ("filtog2", 1.0), ("filtog3", 1.0),
                       ("filtog4", 0.0), ("filtogh", 1.0)):
        eq(symbol, on)
    c = settings.compressor
    comp("att", comp_time_ms(c.attack_ms))
    comp("rel", comp_time_ms(c.release_ms))
    comp("kn", 0.0)
    comp("rat", c.ratio)
    comp("thr", track_threshold_db(c.threshold_db, input_lufs))
    comp("mak", 0.0)
    comp("sidech", 0.0)
    return out


def lv2_controls(msgs: list[Message], piid: int, controls: tuple[Control, ...]) -> dict[str, float]:
    """The ``symbol -> value`` settings that ``msgs`` give plugin ``piid`` (e.g. for ``lv2apply -c``)."""
    by_param = {c.param: c for c in controls}
    return {by_param[args[2]].symbol: float(args[3]) for address, args in msgs
            if address == ADDRESS and args[1] == piid}
