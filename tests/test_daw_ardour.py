"""The Ardour adapter against the real ACE plugins (Debian ``ardour-lv2-plugins``, run offline with
``lv2apply`` from ``lilv-utils``): the port tables match the bundles' .ttl files, and the values the
adapter sends make a-EQ and a-Comp sound like mixai's own chain on the same audio.

* EQ: white noise through a-EQ and through mixai's EQ; the 1/3-octave band levels from 40 Hz to
  16 kHz must agree within 0.5 dB.
* Compressor: programme material at its own level through a-EQ + a-Comp and through mixai's chain
  (levelled to -20 LUFS and back, as ``mixai master`` does); the gain reduction (input level minus
  output level, in dB) must agree within 1 dB over the programme and in every 400 ms window (the
  BS.1770 momentary block). The figures are printed (``pytest -s``), 50 ms windows included.

a-EQ has no high-pass, so the chain it is compared with has the high-pass off (the adapter does not
send it; docs/ardour.md says so). The plugins are mono per instance, as Ardour runs them on each
channel of a stereo track; mixai's compressor is unlinked per channel too, so mono audio is the test.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import material
from mixai.settings import EQ, Compressor, HighShelf, LowShelf, Peak, Settings
from plugin_bridge.daw import ardour

EQ_TOLERANCE_DB = 0.5
GR_TOLERANCE_DB = 1.0
PACKAGE = "ardour-lv2-plugins"


# --- the bundles -------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def bundle_files() -> dict[str, Path]:
    """``a-eq.ttl`` / ``a-comp.ttl`` of the installed package (empty when it is not installed)."""
    try:
        listing = subprocess.run(["dpkg", "-L", PACKAGE], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if listing.returncode != 0:
        return {}
    files = [Path(line) for line in listing.stdout.splitlines()]
    return {p.name: p for p in files if p.name in ("a-eq.ttl", "a-comp.ttl") and p.is_file()}


def need_bundles() -> dict[str, Path]:
    found = bundle_files()
    if set(found) != {"a-eq.ttl", "a-comp.ttl"}:
        pytest.skip(f"{PACKAGE} is not installed (scripts/install-system-deps.sh installs it)")
    return found


def need_lv2apply() -> None:
    need_bundles()
    if shutil.which("lv2apply") is None:
        pytest.skip("lv2apply not found (Debian lilv-utils; scripts/install-system-deps.sh installs it)")


@dataclasses.dataclass(frozen=True)
class TtlPort:
    index: int
    symbol: str
    control: bool
    output: bool
    minimum: float | None
    maximum: float | None
    unit: str | None      # the unit's symbol, None when the port declares none
    toggled: bool


def _blank_nodes(text: str) -> list[str]:
    """The outermost ``[ ... ]`` blocks of a Turtle document (strings and nesting respected)."""
    blocks, depth, start, i = [], 0, 0, 0
    while i < len(text):
        if text.startswith('"""', i):
            i = text.index('"""', i + 3) + 3
            continue
        ch = text[i]
        if ch == '"':
            i = text.index('"', i + 1) + 1
            continue
        if ch == "#" and depth == 0 and (i == 0 or text[i - 1] in "\n\t "):
            i = text.index("\n", i)
            continue
        if ch == "[":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                blocks.append(text[start + 1:i])
        i += 1
    return blocks


STANDARD_UNITS = {"unit:ms": "ms", "unit:db": "dB", "unit:hz": "Hz", "unit:khz": "kHz", "unit:s": "s"}


def parse_ttl(path: Path) -> list[TtlPort]:
    """The ports of the one plugin described in ``path``, with units resolved to their symbols."""
    text = path.read_text(encoding="utf-8")
    custom = {m.group(1): m.group(2) for m in re.finditer(
        r"^(unit:[\w-]+)\s+a unit:Unit\b.*?unit:symbol\s+\"([^\"]*)\"", text, re.S | re.M)}
    ports = []
    for block in _blank_nodes(text):
        index = re.search(r"lv2:index\s+(\d+)", block)
        if not index:
            continue
        depth1 = re.sub(r"\[[^\[\]]*\]", "[]", block)  # a nested unit node, seen as one token

        def number(name: str) -> float | None:
            m = re.search(rf"lv2:{name}\s+(-?[\d.]+)", depth1)
            return float(m.group(1)) if m else None

        unit_ref = re.search(r"unit:unit\s+(unit:[\w-]+)", depth1)
        unit = None
        if unit_ref:
            unit = custom.get(unit_ref.group(1), STANDARD_UNITS.get(unit_ref.group(1)))
            assert unit is not None, f"{path.name}: unknown unit {unit_ref.group(1)}"
        elif "unit:unit" in depth1:  # an inline unit: take its symbol, blank ones count as none
            inline = re.search(r"unit:symbol\s+\"([^\"]*)\"", block)
            unit = inline.group(1).strip() or None if inline else None
        ports.append(TtlPort(int(index.group(1)), re.search(r"lv2:symbol\s+\"([^\"]+)\"", depth1).group(1),
                             "lv2:ControlPort" in depth1, "lv2:OutputPort" in depth1,
                             number("minimum"), number("maximum"), unit, "lv2:toggled" in depth1))
    return sorted(ports, key=lambda p: p.index)


def ardour_numbers(ports: list[TtlPort]) -> dict[str, int]:
    """Ardour's OSC parameter numbers as ``LV2Plugin::nth_parameter`` counts them: every control
    port, input or output, in port order, from 1."""
    return {p.symbol: n for n, p in enumerate((p for p in ports if p.control), start=1)}


UNITLESS_KINDS = {"oct", "ratio", "toggle"}
# a-EQ's .ttl gives its master gain no unit; the plugin applies it in dB (from_dB in a-eq.c)
UNDECLARED_UNITS = {("a-eq.ttl", "master"): "dB"}


@pytest.mark.parametrize("bundle, controls", [("a-eq.ttl", ardour.EQ_CONTROLS), ("a-comp.ttl", ardour.COMP_CONTROLS)])
def test_port_tables_match_the_ttl(bundle, controls):
    ports = parse_ttl(need_bundles()[bundle])
    ttl_controls = [p for p in ports if p.control]
    assert [c.symbol for c in controls] == [p.symbol for p in ttl_controls]  # every control, in order
    numbers = ardour_numbers(ports)
    for c, p in zip(controls, ttl_controls):
        assert c.port == p.index and c.output == p.output, c
        assert (c.minimum, c.maximum) == (p.minimum, p.maximum), c
        assert c.param == numbers[c.symbol], c  # param = index + 1 only because of the next check
        if (bundle, c.symbol) in UNDECLARED_UNITS:
            assert p.unit is None and c.unit == UNDECLARED_UNITS[bundle, c.symbol], c
        elif p.unit is None:
            assert c.unit in UNITLESS_KINDS, c
            assert (c.unit == "toggle") == p.toggled, c
        else:
            assert c.unit == p.unit, (c, p.unit)
    last_control = max(p.index for p in ttl_controls)
    assert all(p.index > last_control for p in ports if not p.control)  # audio ports come last


def test_bandwidths_are_the_bw_ports():
    """The adapter's octave values go to a-EQ's bandwidth ports (the .ttl names them so)."""
    text = need_bundles()["a-eq.ttl"].read_text(encoding="utf-8")
    for band in (1, 2, 3, 4):
        assert re.search(rf'lv2:name "Bandwidth {band}" ;\s*lv2:symbol "bw{band}"', text)


# --- what the adapter sends ------------------------------------------------------------------------
HAND_MADE = [
    Settings(eq=EQ(low_shelf=LowShelf(30.0, 12.0), low_mid=Peak(60.0, -12.0, 6.0), mid=Peak(1000.0, 6.0, 0.3),
                   high_mid=Peak(14000.0, -12.0, 2.0), high_shelf=HighShelf(16000.0, 12.0))),
    Settings(eq=EQ(low_shelf=LowShelf(400.0, -12.0), low_mid=Peak(250.0, 4.0, 1.0), mid=Peak(2500.0, -5.0, 3.0),
                   high_mid=Peak(6000.0, 8.0, 0.7), high_shelf=HighShelf(2000.0, -12.0))),
    Settings(eq=EQ(highpass_hz=80.0, low_shelf=LowShelf(100.0, 3.0), high_shelf=HighShelf(8000.0, 2.0))),
]
GRID_COMPRESSORS = [Compressor(-12, 3, 10, 150), Compressor(-20, 6, 2, 60), Compressor(-25, 10, 0.5, 20),
                    Compressor(-16, 4, 100, 1000), Compressor(-10, 2, 30, 100), Compressor(-30, 1.5, 5, 500),
                    Compressor(-20, 4, 30, 150), Compressor(-20, 4, 5, 1000)]


def programme() -> dict[str, np.ndarray]:
    """Mono programme material at its own levels (-31, -8 and -48 LUFS)."""
    return {"loop": material.band_loop(12.0)[0], "dense": material.dense_loud(12.0)[0],
            "quiet": material.sparse_quiet(12.0)[0]}


@pytest.fixture(scope="module")
def predicted(tmp_path_factory) -> list[tuple[str, Settings]]:
    """Settings mixai predicts (ONNX model and DSP predictor) for the programme material."""
    import mixai

    folder = tmp_path_factory.mktemp("predicted")
    out = []
    for name, audio in programme().items():
        path = material.write(folder / f"{name}.wav", np.stack([audio, audio]))
        for predictor in ("onnx", "dsp"):
            out.append((f"{name}/{predictor}", mixai.suggestion(path, predictor=predictor).settings))
    return out


def test_messages_address_control_inputs_within_range(predicted):
    rng = np.random.default_rng(0)
    from mixai.settings import PARAMETERS

    cases = [s for _, s in predicted] + HAND_MADE
    cases += [Settings.from_vector(rng.uniform(0, 1, len(PARAMETERS))) for _ in range(50)]
    for s in cases:
        for lufs in (None, -45.0, -6.0):
            msgs = ardour.messages(s, track=3, input_lufs=lufs, options={"eq_plugin": 1, "comp_plugin": 2})
            for address, (ssid, piid, param, value) in msgs:
                assert address == ardour.ADDRESS and ssid == 3 and piid in (1, 2)
                control = {c.param: c for c in (ardour.EQ_CONTROLS if piid == 1 else ardour.COMP_CONTROLS)}[param]
                assert not control.output and control.symbol != "enable", control
                assert control.minimum <= value <= control.maximum, (control, value)


# --- running the plugins ---------------------------------------------------------------------------
def lv2apply(uri: str, audio: np.ndarray, sr: int, controls: dict[str, float], folder: Path) -> np.ndarray:
    import soundfile as sf

    src, dst = folder / "in.wav", folder / "out.wav"
    sf.write(str(src), audio.astype(np.float32), sr, subtype="FLOAT")
    cmd = ["lv2apply", "-i", str(src), "-o", str(dst)]
    for symbol, value in controls.items():
        cmd += ["-c", symbol, repr(float(value))]
    done = subprocess.run(cmd + [uri], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out, rate = sf.read(str(dst), dtype="float32")
    assert rate == sr and out.shape == audio.shape
    return out


BAND_CENTRES_HZ = 1000.0 * 2.0 ** (np.arange(-14, 13) / 3.0)  # base-2 1/3 octaves, 39.4 Hz ... 16 kHz


def third_octave_levels_db(x: np.ndarray, sr: int) -> np.ndarray:
    """The energy in each 1/3-octave band of :data:`BAND_CENTRES_HZ`, in dB."""
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / sr)
    return np.array([10 * np.log10(spectrum[(freqs >= c * 2 ** (-1 / 6)) & (freqs < c * 2 ** (1 / 6))].sum())
                     for c in BAND_CENTRES_HZ])


def eq_deviation_db(settings: Settings, sr: int, folder: Path) -> np.ndarray:
    """a-EQ minus mixai's EQ, per 1/3-octave band, on 8 s of white noise (the first 0.5 s, while
    a-EQ glides to its settings, left out)."""
    from mixai.dsp.chain import render

    x = (np.random.default_rng(1).standard_normal(8 * sr) * 0.05).astype(np.float32)
    msgs = ardour.messages(settings, track=1, options={"eq_plugin": 1, "comp_plugin": 2, "session_rate_hz": sr})
    ours = render(x[None], sr, eq_only(settings))[0]
    theirs = lv2apply(ardour.EQ_URI, x, sr, ardour.lv2_controls(msgs, 1, ardour.EQ_CONTROLS), folder)
    skip = sr // 2
    return third_octave_levels_db(theirs[skip:], sr) - third_octave_levels_db(ours[skip:], sr)


def eq_only(settings: Settings) -> Settings:
    """The settings' EQ without the high-pass (a-EQ has none) and nothing else."""
    return Settings(eq=dataclasses.replace(settings.eq, highpass_hz=10.0), output=settings.output)


def test_eq_matches_mixai_chain(predicted, tmp_path):
    need_lv2apply()
    cases = predicted + [(f"hand-made {i}", s) for i, s in enumerate(HAND_MADE)]
    worst = 0.0
    for sr in (48000, 44100):
        for name, s in cases:
            if sr == 44100 and not name.startswith("hand"):
                continue
            d = eq_deviation_db(s, sr, tmp_path)
            worst = max(worst, float(np.abs(d).max()))
            print(f"EQ {name:14s} @ {sr} Hz: max |a-EQ - mixai| {np.abs(d).max():.3f} dB "
                  f"(band {BAND_CENTRES_HZ[np.abs(d).argmax()]:.0f} Hz)")
            assert np.abs(d).max() <= EQ_TOLERANCE_DB, (name, sr, np.round(d, 2))
    print(f"EQ: worst band deviation {worst:.3f} dB over {len(cases)} settings")


def window_levels_db(x: np.ndarray, window: int) -> np.ndarray:
    n = x.size // window
    rms = np.sqrt(np.mean(x[: n * window].astype(np.float64).reshape(n, window) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-9))


def gain_reduction_figures(audio: np.ndarray, sr: int, settings: Settings, folder: Path) -> dict[str, float]:
    """Gain reduction of a-Comp (after a-EQ) and of mixai's compressor (after its EQ), compared."""
    from mixai.dsp.chain import REFERENCE_LUFS, render
    from mixai.dsp.loudness import integrated_lufs

    lufs = integrated_lufs(audio[None], sr)
    gain_db = REFERENCE_LUFS - lufs
    msgs = ardour.messages(settings, track=1, input_lufs=lufs,
                           options={"eq_plugin": 1, "comp_plugin": 2, "session_rate_hz": sr})
    eq_out = lv2apply(ardour.EQ_URI, audio, sr, ardour.lv2_controls(msgs, 1, ardour.EQ_CONTROLS), folder)
    comp_out = lv2apply(ardour.COMP_URI, eq_out, sr, ardour.lv2_controls(msgs, 2, ardour.COMP_CONTROLS), folder)
    chain = dataclasses.replace(eq_only(settings), compressor=settings.compressor)
    ours_eq = render(audio[None], sr, eq_only(settings), input_gain_db=gain_db)[0]
    ours = render(audio[None], sr, chain, input_gain_db=gain_db)[0]
    figures: dict[str, float] = {}
    for label, seconds in (("400ms", 0.4), ("50ms", 0.05)):
        w = int(seconds * sr)
        skip = int(np.ceil(0.5 * sr / w))  # a-EQ's glide to its settings
        level = window_levels_db(eq_out, w)[skip:]
        active = level > level.max() - 40.0  # the programme, not its silences
        gr_theirs = (level - window_levels_db(comp_out, w)[skip:])[active]
        gr_ours = (window_levels_db(ours_eq, w) - window_levels_db(ours, w))[skip:][active]
        figures[f"max_{label}"] = float(np.abs(gr_theirs - gr_ours).max())
        if label == "400ms":
            figures["mean_diff"] = float(gr_theirs.mean() - gr_ours.mean())
            figures["mean_gr"] = float(gr_ours.mean())
    return figures


def test_compressor_gain_reduction_matches_mixai_chain(predicted, tmp_path):
    need_lv2apply()
    sr = material.SR
    audio = programme()
    compressing = [(n, s) for n, s in predicted if not s.compressor.is_neutral]
    cases = [(f"{n.split('/')[0]}", n, s) for n, s in compressing]
    base = dict(predicted)
    for name in audio:
        for c in GRID_COMPRESSORS:
            s = dataclasses.replace(base[f"{name}/onnx"], compressor=c)
            cases.append((name, f"{name}/onnx eq + {c.threshold_db:g} dB {c.ratio:g}:1 "
                                f"{c.attack_ms:g}/{c.release_ms:g} ms", s))
    worst = {"mean": 0.0, "400ms": 0.0, "50ms": 0.0}
    for material_name, label, s in cases:
        f = gain_reduction_figures(audio[material_name].astype(np.float32), sr, s, tmp_path)
        worst = {"mean": max(worst["mean"], abs(f["mean_diff"])), "400ms": max(worst["400ms"], f["max_400ms"]),
                 "50ms": max(worst["50ms"], f["max_50ms"])}
        print(f"GR {label:48s} mixai {f['mean_gr']:5.2f} dB; a-Comp - mixai: mean {f['mean_diff']:+.2f}, "
              f"max 400 ms {f['max_400ms']:.2f}, max 50 ms {f['max_50ms']:.2f} dB")
        assert abs(f["mean_diff"]) <= GR_TOLERANCE_DB, (label, f)
        assert f["max_400ms"] <= GR_TOLERANCE_DB, (label, f)
    print(f"GR over {len(cases)} settings: worst mean {worst['mean']:.2f} dB, worst 400 ms window "
          f"{worst['400ms']:.2f} dB, worst 50 ms window {worst['50ms']:.2f} dB")


def test_times_and_shelves_are_converted():
    """The conversions the comparison above found necessary, pinned down."""
    s = Settings(eq=EQ(low_shelf=LowShelf(100.0, 12.0), high_shelf=HighShelf(8000.0, -6.0)),
                 compressor=Compressor(-10.0, 4.0, 10.0, 100.0))
    got = {(piid, param): v for _, (_, piid, param, v) in ardour.messages(s, track=1)}
    assert got[(2, 1)] == pytest.approx(10.0 / (2 * math.pi))
    assert got[(2, 2)] == pytest.approx(100.0 / (2 * math.pi))
    assert got[(2, 3)] == 0.0 and got[(2, 6)] == 0.0 and got[(2, 10)] == 0.0  # knee, makeup, sidechain
    # low shelf +12 dB: a-EQ's frequency below mixai's corner; high shelf -6 dB: below too
    assert 100.0 / 10 ** (12 / 80) == pytest.approx(got[(1, 1)], rel=1e-3)
    assert got[(1, 15)] < 8000.0


def test_threshold_reference_is_the_chain_s():
    """The adapters move thresholds from mixai's working level; it must be the chain's."""
    from mixai.dsp.chain import REFERENCE_LUFS

    from plugin_bridge.daw import REFERENCE_LUFS as ADAPTER_REFERENCE, track_threshold_db

    assert ADAPTER_REFERENCE == REFERENCE_LUFS
    assert track_threshold_db(-18.0, -30.0) == -28.0 and track_threshold_db(-18.0, None) == -18.0
