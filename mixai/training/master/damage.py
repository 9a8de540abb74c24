"""The training task: damage a clean mix in ways the mastering chain can undo, and label the undo.

A damage is sampled from a seeded generator and applied in this order to the clean mix, first
brought to the chain's working level (:data:`mixai.chain.REFERENCE_LUFS`)::

    stereo width w  ->  dynamics (expander, or over-compression)  ->  EQ (the chain's own filters)
    ->  added reverb  ->  level

The chain applies EQ -> compressor -> width -> reverb, so each damage stage has an inverse in the
slot the chain reaches it in, and the label (a :class:`~mixai.settings.Settings`) is that inverse:

* **EQ**: tilt (low/high shelf) and resonances (up to three peaks), gains up to +-12 dB, built with
  the chain's pedalboard filters. Their boost and cut are exact reciprocals, so the label is the same
  bands with negated gains (peaks sorted by frequency into the low-mid / mid / high-mid slots; an
  unused slot keeps the neutral default).
* **Under-compression** (the damaged mix is *more* dynamic than the clean one): an expander built as
  the exact inverse of pedalboard's (JUCE) feed-forward peak compressor, solved sample by sample. The
  label is that compressor: same ratio, attack and release, threshold shifted by the level change the
  chain applies before it (the chain normalises its input to -20 LUFS).
* **Over-compression**: a pedalboard compressor. The chain cannot expand, so the label is
  compressor off.
* **Too much reverb**: a pedalboard room added on top. It cannot be removed: label wet 0.
* **Too little reverb** (only where the clean version itself carries reverb, see
  :meth:`Damage.clean_version`): the label is the clean version's reverb, which the chain adds last.
* **Stereo width**: mid/side scaling by ``w`` (narrow 0.5 .. wide 1.8); label width ``1/w``.
* **Level**: +-10 dB. Irrelevant to the label (the chain normalises level), present so that the
  model learns to ignore it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from mixai.dsp.chain import REFERENCE_LUFS, apply_width, build_boards
from mixai.dsp.loudness import integrated_lufs
from mixai.settings import (EQ, Compressor, HighShelf, LowShelf, Peak, Reverb, Settings, Stereo)

EQ_MAX_DB = 12.0
WIDTH_RANGE = (0.5, 1.8)
LEVEL_RANGE_DB = 10.0


@dataclass(frozen=True)
class Dynamics:
    """A JUCE-style peak compressor's parameters; threshold in dBFS at the working level."""

    threshold_db: float
    ratio: float
    attack_ms: float
    release_ms: float


@dataclass(frozen=True)
class Damage:
    """One sampled damage. ``apply`` renders it; ``label`` gives the chain settings that undo it."""

    eq: EQ = field(default_factory=EQ)
    width: float = 1.0
    expand: Dynamics | None = None      # under-compression: the inverse of this compressor
    compress: Dynamics | None = None    # over-compression: this compressor
    reverb: Reverb = field(default_factory=Reverb)            # added reverb (too much)
    clean_reverb: Reverb = field(default_factory=Reverb)      # reverb of the clean version (too little)
    level_db: float = 0.0
    lowpass_hz: float | None = None     # a lossy encoder's band limit (cannot be undone: no label)

    # ---------------------------------------------------------------------------------------
    def describe(self) -> str:
        parts = []
        if not self.eq.is_neutral:
            bands = [self.eq.low_shelf, self.eq.low_mid, self.eq.mid, self.eq.high_mid, self.eq.high_shelf]
            parts.append("eq " + ",".join(f"{b.gain_db:+.0f}@{b.freq_hz:.0f}" for b in bands if b.gain_db))
        if self.width != 1.0:
            parts.append(f"width {self.width:.2f}")
        if self.expand:
            parts.append(f"expand 1:{self.expand.ratio:.1f}")
        if self.compress:
            parts.append(f"compress {self.compress.ratio:.1f}:1")
        if self.reverb.wet:
            parts.append(f"reverb +{self.reverb.wet:.2f}")
        if self.clean_reverb.wet:
            parts.append(f"reverb missing {self.clean_reverb.wet:.2f}")
        if self.lowpass_hz:
            parts.append(f"low-pass {self.lowpass_hz / 1000:.1f} kHz")
        return "; ".join(parts) or "none"

    def clean_version(self, clean: np.ndarray, sample_rate: int) -> np.ndarray:
        """The clean reference this damage is relative to (the mix plus ``clean_reverb``, if any)."""
        if not self.clean_reverb.wet:
            return np.asarray(clean, dtype=np.float32)
        _, post = build_boards(Settings(reverb=self.clean_reverb))
        return np.asarray(post.process(np.ascontiguousarray(clean, dtype=np.float32), sample_rate), np.float32)

    def apply(self, clean: np.ndarray, sample_rate: int, *,
              clean_lufs: float | None = None) -> tuple[np.ndarray, float]:
        """Damaged audio of a clean (channels, samples) mix, and the label's compressor threshold.

        The threshold is returned here because it depends on the damaged audio's loudness.
        """
        x = np.atleast_2d(np.asarray(clean, dtype=np.float32))
        to_ref = REFERENCE_LUFS - (level_lufs(x, sample_rate) if clean_lufs is None else clean_lufs)
        x = x * np.float32(10 ** (to_ref / 20))
        x = apply_width(x, self.width)
        if self.expand is not None:
            x = expand_inverse_of_compressor(x, sample_rate, self.expand)
        elif self.compress is not None:
            import pedalboard as pb

            c = self.compress
            x = pb.Pedalboard([pb.Compressor(threshold_db=c.threshold_db, ratio=c.ratio, attack_ms=c.attack_ms,
                                             release_ms=c.release_ms)])(np.ascontiguousarray(x), sample_rate)
        x = apply_eq(x, sample_rate, self.eq)
        if self.lowpass_hz:
            x = band_limit(x, sample_rate, self.lowpass_hz)
        if self.reverb.wet:
            _, post = build_boards(Settings(reverb=self.reverb))
            x = post.process(np.ascontiguousarray(x, dtype=np.float32), sample_rate)
        x = np.asarray(x, dtype=np.float32) * np.float32(10 ** (self.level_db / 20))
        # The chain will gain the damaged audio by (REFERENCE - its loudness) before the compressor;
        # the expander ran at the working level scaled by level_db since.
        chain_gain_db = REFERENCE_LUFS - level_lufs(x, sample_rate)
        threshold = (self.expand.threshold_db + chain_gain_db + self.level_db) if self.expand else 0.0
        return x, float(threshold)

    def label(self, compressor_threshold_db: float = 0.0) -> Settings:
        """The settings that bring the damaged audio back to :meth:`clean_version`."""
        eq = self.eq
        inverse_peaks = sorted((b for b in (eq.low_mid, eq.mid, eq.high_mid) if b.gain_db),
                               key=lambda b: b.freq_hz)
        defaults = (EQ().low_mid, EQ().mid, EQ().high_mid)
        slots = [replace(b, gain_db=-b.gain_db) for b in inverse_peaks] + list(defaults[len(inverse_peaks):])
        inverse_eq = EQ(
            highpass_hz=EQ().highpass_hz,
            low_shelf=replace(eq.low_shelf, gain_db=-eq.low_shelf.gain_db),
            low_mid=slots[0], mid=slots[1], high_mid=slots[2],
            high_shelf=replace(eq.high_shelf, gain_db=-eq.high_shelf.gain_db))
        if self.expand is not None:
            e = self.expand
            comp = Compressor(threshold_db=float(np.clip(compressor_threshold_db, -40.0, 0.0)),
                              ratio=e.ratio, attack_ms=e.attack_ms, release_ms=e.release_ms)
        else:
            comp = Compressor()
        width = float(np.clip(1.0 / self.width, 0.0, 2.0))
        return Settings(eq=inverse_eq, compressor=comp, stereo=Stereo(width=width),
                        reverb=self.clean_reverb if self.clean_reverb.wet else Reverb())


def level_lufs(x: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness (BS.1770, :func:`mixai.loudness.integrated_lufs`), -70 for silence, so
    that level arithmetic on a silent excerpt stays finite."""
    value = integrated_lufs(x, sample_rate)
    return float(value) if np.isfinite(value) and value > -70 else -70.0


# ---------------------------------------------------------------------------------------------
# The expander: exact inverse of pedalboard's (JUCE's) compressor
# ---------------------------------------------------------------------------------------------

def _ballistics(ms: float, sample_rate: int) -> float:
    """JUCE BallisticsFilter coefficient for a time constant in ms."""
    return 0.0 if ms < 1e-3 else math.exp(-2.0 * math.pi * 1000.0 / sample_rate / ms)


_EXPANDER = None


def _expander_kernel():
    """Compiled lazily (numba ships with librosa); falls back to plain Python if it is missing."""
    global _EXPANDER
    if _EXPANDER is not None:
        return _EXPANDER

    def kernel(x, threshold, power, c_attack, c_release):
        # JUCE compressor: e_n = |y_n| + c (e_{n-1} - |y_n|), c = attack if |y_n| > e_{n-1};
        # out = y * (e_n / T) ** (1/ratio - 1) when e_n >= T. Given out = x, solve for y:
        # |y| = |x| * max(1, e_n / T) ** power with power = 1 - 1/ratio (a contraction, rate <= power).
        out = np.empty_like(x)
        for ch in range(x.shape[0]):
            e_prev = 0.0
            for i in range(x.shape[1]):
                ax = abs(x[ch, i])
                y = ax
                env = 0.0
                for c in (c_attack, c_release):
                    y = ax
                    for _ in range(60):
                        env = y + c * (e_prev - y)
                        y_new = ax * (env / threshold) ** power if env > threshold else ax
                        if abs(y_new - y) <= 1e-9 * (1.0 + y):
                            y = y_new
                            break
                        y = y_new
                    env = y + c * (e_prev - y)
                    if (c == c_attack and y > e_prev) or c == c_release:
                        break
                e_prev = env
                out[ch, i] = y if x[ch, i] >= 0 else -y
        return out

    try:
        import numba

        _EXPANDER = numba.njit(cache=True)(kernel)
    except Exception:  # pragma: no cover - numba is a librosa dependency
        _EXPANDER = kernel
    return _EXPANDER


def expand_inverse_of_compressor(x: np.ndarray, sample_rate: int, d: Dynamics) -> np.ndarray:
    """Audio that pedalboard's Compressor(d) turns back into ``x`` (per channel, as JUCE does)."""
    kernel = _expander_kernel()
    y = kernel(np.ascontiguousarray(x, dtype=np.float64), 10 ** (d.threshold_db / 20), 1.0 - 1.0 / d.ratio,
               _ballistics(d.attack_ms, sample_rate), _ballistics(d.release_ms, sample_rate))
    return y.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------

def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _envelope_percentile_db(x: np.ndarray, sample_rate: int, q: float) -> float:
    """A percentile of the 10 ms peak level (dBFS) of audio at the working level."""
    block = max(1, int(0.01 * sample_rate))
    usable = (x.shape[1] // block) * block
    peaks = np.abs(x[:, :usable]).reshape(x.shape[0], -1, block).max(axis=(0, 2))
    db = 20 * np.log10(np.maximum(peaks, 1e-6))
    db = db[db > db.max() - 50]
    return float(np.percentile(db, q))


def sample_damage(rng: np.random.Generator, clean: np.ndarray, sample_rate: int, *,
                  allow_missing_reverb: bool = False, clean_lufs: float | None = None) -> Damage:
    """Draw one damage for ``clean`` (thresholds are set from its level distribution).

    ``allow_missing_reverb`` enables the "too little reverb" case, whose clean version carries a
    reverb the mix does not have: use it only where the target is that clean version itself.
    """
    x = np.atleast_2d(np.asarray(clean, dtype=np.float32))
    level = level_lufs(x, sample_rate) if clean_lufs is None else clean_lufs
    x_ref = x * np.float32(10 ** ((REFERENCE_LUFS - level) / 20))

    def gain() -> float:
        g = rng.uniform(-EQ_MAX_DB, EQ_MAX_DB)
        return float(round(g, 2)) if abs(g) >= 0.5 else 0.0

    low_shelf = LowShelf(freq_hz=_log_uniform(rng, 50.0, 300.0), gain_db=gain() if rng.random() < 0.7 else 0.0)
    high_shelf = HighShelf(freq_hz=_log_uniform(rng, 2500.0, 12000.0),
                           gain_db=gain() if rng.random() < 0.7 else 0.0)
    peaks = []
    for _ in range(3):
        if rng.random() < 0.5:
            peaks.append(Peak(freq_hz=_log_uniform(rng, 70.0, 12000.0), gain_db=gain(), q=_log_uniform(rng, 0.5, 4.0)))
        else:
            peaks.append(Peak(freq_hz=1000.0, gain_db=0.0, q=1.0))
    eq = EQ(low_shelf=low_shelf, low_mid=peaks[0], mid=peaks[1], high_mid=peaks[2], high_shelf=high_shelf)

    width = 1.0
    if x.shape[0] == 2 and rng.random() < 0.5:
        width = _log_uniform(rng, *WIDTH_RANGE)

    expand = compress = None
    u = rng.random()
    if u < 0.3:
        expand = Dynamics(threshold_db=_envelope_percentile_db(x_ref, sample_rate, rng.uniform(40, 85)),
                          ratio=_log_uniform(rng, 1.3, 3.0), attack_ms=_log_uniform(rng, 1.0, 30.0),
                          release_ms=_log_uniform(rng, 40.0, 400.0))
    elif u < 0.55:
        compress = Dynamics(threshold_db=_envelope_percentile_db(x_ref, sample_rate, rng.uniform(15, 60)),
                            ratio=_log_uniform(rng, 2.5, 10.0), attack_ms=_log_uniform(rng, 0.5, 10.0),
                            release_ms=_log_uniform(rng, 30.0, 250.0))

    reverb = clean_reverb = Reverb()
    u = rng.random()
    if u < 0.25:
        reverb = Reverb(wet=float(rng.uniform(0.08, 0.4)), room_size=float(rng.uniform(0.3, 0.9)),
                        damping=float(rng.uniform(0.2, 0.8)))
    elif allow_missing_reverb and u < 0.45:
        clean_reverb = Reverb(wet=float(rng.uniform(0.08, 0.3)), room_size=float(rng.uniform(0.3, 0.9)),
                              damping=float(rng.uniform(0.2, 0.8)))

    level = float(rng.uniform(-LEVEL_RANGE_DB, LEVEL_RANGE_DB))
    return Damage(eq=eq, width=width, expand=expand, compress=compress, reverb=reverb,
                  clean_reverb=clean_reverb, level_db=level)


def sample_timbre(rng: np.random.Generator, spread_db: float) -> EQ:
    """A different *clean* balance: broad shelves and one wide bell, about ``spread_db`` dB each.

    Not a damage: the mix it is applied to counts as clean and nothing undoes it. Renderings of one
    soundfont share one balance, while real recordings (other instruments, rooms, productions) vary
    widely; training on clean mixes shifted like this keeps the network from reading any deviation
    from the corpus balance as damage. Gains are normal with standard deviation ``spread_db``
    (half for the bell), clipped at twice that.
    """
    def gain(sd: float) -> float:
        return float(round(np.clip(rng.normal(0.0, sd), -2 * sd, 2 * sd), 2))

    return EQ(low_shelf=LowShelf(freq_hz=_log_uniform(rng, 60.0, 300.0), gain_db=gain(spread_db)),
              mid=Peak(freq_hz=_log_uniform(rng, 150.0, 6000.0), gain_db=gain(spread_db / 2),
                       q=_log_uniform(rng, 0.3, 0.8)),
              high_shelf=HighShelf(freq_hz=_log_uniform(rng, 2000.0, 9000.0), gain_db=gain(spread_db)))


def apply_eq(x: np.ndarray, sample_rate: int, eq: EQ) -> np.ndarray:
    """``x`` (channels, samples) through the chain's own EQ stage."""
    pre, _ = build_boards(Settings(eq=eq))
    x = np.ascontiguousarray(x, dtype=np.float32)
    return np.asarray(pre.process(x, sample_rate), dtype=np.float32) if len(pre) else x


def band_limit(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """A lossy encoder's low-pass: 8th-order Butterworth, zero phase, as MP3/AAC at low bit rates
    cut the top octave. Nothing in the chain can bring it back (it is left out of the label)."""
    from scipy.signal import butter, sosfiltfilt

    if cutoff_hz >= 0.49 * sample_rate:
        return np.asarray(x, dtype=np.float32)
    sos = butter(4, cutoff_hz, btype="lowpass", fs=sample_rate, output="sos")  # 4th order, twice
    return np.ascontiguousarray(sosfiltfilt(sos, x, axis=-1), dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# What real bad masters have
# ---------------------------------------------------------------------------------------------

#: Named faults of real masters and how often each is drawn (independently; see
#: :func:`sample_master_damage`). Gains are those an engineer hears as a problem, not the
#: synthetic sampler's +-12 dB extremes.
MASTER_FAULTS = {
    "tilt": 0.30,           # the whole balance leans: low shelf and high shelf in opposite directions
    "resonance": 0.20,      # one or two narrow peaks (room modes, ringing)
    "mud": 0.20,            # too much 180-500 Hz
    "harsh": 0.20,          # too much 2-5 kHz
    "boom": 0.20,           # too much below 150 Hz
    "thin": 0.10,           # too little below 200 Hz
    "dull": 0.15,           # too little top end
    "stereo": 0.25,         # too narrow or too wide
    "over_compressed": 0.20,
    "lossy": 0.10,          # an encoder's low-pass at 11-16 kHz
}
UNDAMAGED_PROBABILITY = 0.12  # a good master that only needs its level: the model must leave it alone


def sample_master_damage(rng: np.random.Generator, clean: np.ndarray, sample_rate: int, *,
                         clean_lufs: float | None = None) -> Damage:
    """Draw the faults of a bad master of ``clean`` (:data:`MASTER_FAULTS`), at least one, or none
    with probability :data:`UNDAMAGED_PROBABILITY`; always a level change of up to +-10 dB.

    The EQ faults share the chain's five bands: shelves for tilt, boom (or a bell), thin and dull;
    bells for resonances, mud and harshness. A fault whose band is already taken is dropped.
    """
    x = np.atleast_2d(np.asarray(clean, dtype=np.float32))
    level = float(rng.uniform(-LEVEL_RANGE_DB, LEVEL_RANGE_DB))
    if rng.random() < UNDAMAGED_PROBABILITY:
        return Damage(level_db=level)
    faults = [name for name, p in MASTER_FAULTS.items() if rng.random() < p]
    if not faults:
        faults = [str(rng.choice(list(MASTER_FAULTS)))]
    low_shelf = high_shelf = None
    peaks: list[Peak] = []

    def db(low: float, high: float) -> float:
        return float(round(rng.uniform(low, high), 2))

    for fault in faults:
        if fault == "tilt" and low_shelf is None and high_shelf is None:
            g = db(2.0, 7.0) * (1 if rng.random() < 0.5 else -1)
            low_shelf = LowShelf(freq_hz=_log_uniform(rng, 150.0, 400.0), gain_db=g)
            high_shelf = HighShelf(freq_hz=_log_uniform(rng, 2000.0, 5000.0), gain_db=-g)
        elif fault == "resonance":
            for _ in range(int(rng.integers(1, 3))):
                if len(peaks) < 3:
                    peaks.append(Peak(freq_hz=_log_uniform(rng, 150.0, 8000.0), gain_db=db(4.0, 10.0),
                                      q=_log_uniform(rng, 3.0, 6.0)))
        elif fault == "mud" and len(peaks) < 3:
            peaks.append(Peak(freq_hz=_log_uniform(rng, 180.0, 500.0), gain_db=db(3.0, 8.0),
                              q=_log_uniform(rng, 0.7, 1.5)))
        elif fault == "harsh" and len(peaks) < 3:
            peaks.append(Peak(freq_hz=_log_uniform(rng, 2000.0, 5000.0), gain_db=db(3.0, 8.0),
                              q=_log_uniform(rng, 0.8, 2.0)))
        elif fault == "boom":
            if low_shelf is None and rng.random() < 0.5:
                low_shelf = LowShelf(freq_hz=_log_uniform(rng, 60.0, 150.0), gain_db=db(3.0, 9.0))
            elif len(peaks) < 3:
                peaks.append(Peak(freq_hz=_log_uniform(rng, 60.0, 120.0), gain_db=db(4.0, 9.0),
                                  q=_log_uniform(rng, 0.7, 2.0)))
        elif fault == "thin" and low_shelf is None:
            low_shelf = LowShelf(freq_hz=_log_uniform(rng, 100.0, 250.0), gain_db=-db(3.0, 8.0))
        elif fault == "dull" and high_shelf is None:
            high_shelf = HighShelf(freq_hz=_log_uniform(rng, 3000.0, 8000.0), gain_db=-db(3.0, 8.0))
    peaks += [Peak(freq_hz=1000.0, gain_db=0.0, q=1.0)] * (3 - len(peaks))
    eq = EQ(low_shelf=low_shelf or LowShelf(), low_mid=peaks[0], mid=peaks[1], high_mid=peaks[2],
            high_shelf=high_shelf or HighShelf())

    width = 1.0
    if "stereo" in faults and x.shape[0] == 2:
        width = _log_uniform(rng, 0.4, 0.8) if rng.random() < 0.5 else _log_uniform(rng, 1.3, 1.8)
    compress = None
    if "over_compressed" in faults:
        level_now = level_lufs(x, sample_rate) if clean_lufs is None else clean_lufs
        x_ref = x * np.float32(10 ** ((REFERENCE_LUFS - level_now) / 20))
        compress = Dynamics(threshold_db=_envelope_percentile_db(x_ref, sample_rate, rng.uniform(15, 50)),
                            ratio=_log_uniform(rng, 3.0, 10.0), attack_ms=_log_uniform(rng, 0.5, 10.0),
                            release_ms=_log_uniform(rng, 30.0, 250.0))
    lowpass = _log_uniform(rng, 11000.0, 16000.0) if "lossy" in faults else None
    return Damage(eq=eq, width=width, compress=compress, level_db=level, lowpass_hz=lowpass)


#: The damage samplers by name: ``synthetic`` (the chain-shaped sampler, wide ranges) and ``master``
#: (the faults of real masters).
SAMPLERS = {"synthetic": sample_damage, "master": sample_master_damage}


__all__ = ["Damage", "Dynamics", "MASTER_FAULTS", "SAMPLERS", "apply_eq", "band_limit", "level_lufs",
           "sample_damage", "sample_master_damage", "sample_timbre", "expand_inverse_of_compressor"]

