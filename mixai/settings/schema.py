"""Typed, range-checked settings for the mastering chain, with JSON and [0, 1]-vector round trips.

The schema lives here and nowhere else: every numeric field declares its unit (in its name), its
range and how it maps to the network's [0, 1] space (``log`` for Hz, ms and ratios, ``lin`` otherwise).
The predictors, the ONNX metadata, the OSC bridge and the DAW adapters all derive from it.

Chain order (see :mod:`mixai.dsp.chain`): level to the working reference -> high-pass -> low shelf ->
three peaks -> high shelf -> compressor -> stereo width -> reverb -> gain to the loudness target ->
true-peak limiter.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from mixai.errors import ParameterError

if TYPE_CHECKING:  # numpy is imported where vectors are made: the command line's start needs none
    import numpy as np

SCHEMA_VERSION = 1
T = TypeVar("T")


def ranged_field(default: float, low: float, high: float, scale: str = "lin", doc: str = "") -> Any:
    """A numeric dataclass field with its allowed range and its [0, 1] mapping (checked by
    :class:`Validated`, walked by :data:`PARAMETERS`)."""
    return field(default=default, metadata={"range": (low, high), "scale": scale, "doc": doc})


class Validated:
    """Base of the settings dataclasses: checks every :func:`ranged_field` when the object is built
    (not with ``assert``: it survives ``-O``)."""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if "range" not in f.metadata:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ParameterError(
                    f"{type(self).__name__}.{f.name} must be a number, got {value!r}")
            value = float(value)
            low, high = f.metadata["range"]
            if not math.isfinite(value) or not (low <= value <= high):
                raise ParameterError(
                    f"{type(self).__name__}.{f.name} = {value:g} is outside the allowed range "
                    f"[{low:g}, {high:g}]")
            object.__setattr__(self, f.name, value)


@dataclass(frozen=True)
class LowShelf(Validated):
    freq_hz: float = ranged_field(100.0, 30.0, 400.0, "log")
    gain_db: float = ranged_field(0.0, -12.0, 12.0)


@dataclass(frozen=True)
class HighShelf(Validated):
    freq_hz: float = ranged_field(8000.0, 2000.0, 16000.0, "log")
    gain_db: float = ranged_field(0.0, -12.0, 12.0)


@dataclass(frozen=True)
class Peak(Validated):
    freq_hz: float = ranged_field(1000.0, 60.0, 14000.0, "log")
    gain_db: float = ranged_field(0.0, -12.0, 12.0)
    q: float = ranged_field(1.0, 0.3, 6.0, "log")


@dataclass(frozen=True)
class EQ(Validated):
    """High-pass, two shelves and three bell bands. A high-pass at its floor (10 Hz) is bypassed."""

    highpass_hz: float = ranged_field(10.0, 10.0, 300.0, "log", "10 Hz means off")
    low_shelf: LowShelf = field(default_factory=LowShelf)
    low_mid: Peak = field(default_factory=lambda: Peak(250.0, 0.0, 1.0))
    mid: Peak = field(default_factory=lambda: Peak(1000.0, 0.0, 1.0))
    high_mid: Peak = field(default_factory=lambda: Peak(4000.0, 0.0, 1.0))
    high_shelf: HighShelf = field(default_factory=HighShelf)

    def bands(self) -> tuple[tuple[str, LowShelf | Peak | HighShelf], ...]:
        """(name, band) for the five bands, low to high, in :data:`EQ_BAND_NAMES` order."""
        return tuple((name, getattr(self, name)) for name in EQ_BAND_NAMES)

    @property
    def is_neutral(self) -> bool:
        return self.highpass_hz <= HIGHPASS_OFF_HZ and all(b.gain_db == 0.0 for _, b in self.bands())


HIGHPASS_OFF_HZ = 10.0
EQ_BAND_NAMES = ("low_shelf", "low_mid", "mid", "high_mid", "high_shelf")


@dataclass(frozen=True)
class Compressor(Validated):
    """Thresholds are relative to the working reference level (the chain input sits at -20 LUFS)."""

    threshold_db: float = ranged_field(0.0, -40.0, 0.0)
    ratio: float = ranged_field(1.0, 1.0, 10.0, "log", "1 means off")
    attack_ms: float = ranged_field(10.0, 0.5, 100.0, "log")
    release_ms: float = ranged_field(150.0, 20.0, 1000.0, "log")

    @property
    def is_neutral(self) -> bool:
        return self.ratio == 1.0


@dataclass(frozen=True)
class Stereo(Validated):
    """Mid/side width: 0 folds to mono, 1 leaves the image alone, 2 doubles the side signal."""

    width: float = ranged_field(1.0, 0.0, 2.0)

    @property
    def is_neutral(self) -> bool:
        return self.width == 1.0


@dataclass(frozen=True)
class Reverb(Validated):
    """A send-style room: ``wet`` is the level of the reverb added to the untouched dry signal."""

    wet: float = ranged_field(0.0, 0.0, 0.5, "lin", "0 means off")
    room_size: float = ranged_field(0.5, 0.0, 1.0)
    damping: float = ranged_field(0.5, 0.0, 1.0)

    @property
    def is_neutral(self) -> bool:
        return self.wet == 0.0


@dataclass(frozen=True)
class Output(Validated):
    """The loudness stage: gain to the target, then a true-peak limiter that holds the ceiling."""

    target_lufs: float = ranged_field(-14.0, -40.0, -5.0)
    ceiling_dbtp: float = ranged_field(-1.0, -9.0, 0.0)
    limiter_release_ms: float = ranged_field(80.0, 5.0, 1000.0, "log")


# Sections the predictors produce; ``output`` comes from the user (target, preset) instead.
PREDICTED_SECTIONS = ("eq", "compressor", "stereo", "reverb")
# The aspects a user can dial back separately, and the section each one scales.
AMOUNT_ASPECTS = {"eq": "eq", "dynamics": "compressor", "reverb": "reverb", "width": "stereo"}


@dataclass(frozen=True)
class Amounts(Validated):
    """How much of each aspect's correction is applied: 0 leaves that aspect neutral, 1 applies
    it as predicted (or as written).

    The settings sections keep the full correction and these scale it when the chain is built
    (:func:`mixai.settings.scaling.apply_amounts`), so a saved file can be replayed at other
    amounts without predicting again. ``dynamics`` is the compressor (the limiter belongs to the
    output stage), ``width`` the stereo stage.
    """

    eq: float = ranged_field(1.0, 0.0, 1.0)
    dynamics: float = ranged_field(1.0, 0.0, 1.0)
    reverb: float = ranged_field(1.0, 0.0, 1.0)
    width: float = ranged_field(1.0, 0.0, 1.0)

    def times(self, other: "Amounts") -> "Amounts":
        """Both scalings one after the other (scaling toward neutral composes by multiplying)."""
        return Amounts(**{name: getattr(self, name) * getattr(other, name) for name in AMOUNT_ASPECTS})

    @property
    def is_full(self) -> bool:
        return all(getattr(self, name) == 1.0 for name in AMOUNT_ASPECTS)


@dataclass(frozen=True)
class Settings:
    """Everything needed to reproduce a master: the predicted chain and the output stage."""

    eq: EQ = field(default_factory=EQ)
    compressor: Compressor = field(default_factory=Compressor)
    stereo: Stereo = field(default_factory=Stereo)
    reverb: Reverb = field(default_factory=Reverb)
    output: Output = field(default_factory=Output)
    amounts: Amounts = field(default_factory=Amounts)

    # --- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON object; ``amounts`` only appears when one is below 1, so files that use none
        stay as earlier versions of mixai wrote (and read) them."""
        data = {"schema_version": SCHEMA_VERSION, **dataclasses.asdict(self)}
        if self.amounts.is_full:
            del data["amounts"]
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> "Settings":
        """Strict: unknown keys, missing schema version or out-of-range values raise ParameterError.

        Missing sections or fields take their neutral defaults, so a hand-written file can hold only
        what it changes.
        """
        if not isinstance(data, dict):
            raise ParameterError("settings must be a JSON object")
        data = dict(data)
        version = data.pop("schema_version", None)
        if version != SCHEMA_VERSION:
            raise ParameterError(
                f"settings schema_version is {version!r}; this mixai reads version {SCHEMA_VERSION}")
        return section_from_dict(cls, data, "settings")

    @classmethod
    def from_json(cls, text: str) -> "Settings":
        return cls.from_dict(parse_json(text, "settings"))

    # --- the network's [0, 1] space ----------------------------------------------------------
    def to_vector(self) -> np.ndarray:
        """The predicted sections as a float32 vector in [0, 1], in :data:`PARAMETER_NAMES` order."""
        import numpy as np  # here, not at the top: reading settings needs no numpy

        values = [_get_path(self, spec.name) for spec in PARAMETERS]
        return np.array([spec.to_unit(v) for spec, v in zip(PARAMETERS, values)], dtype=np.float32)

    @classmethod
    def from_vector(cls, vector: np.ndarray, *, output: Output | None = None) -> "Settings":
        """Inverse of :meth:`to_vector`; values are clipped into [0, 1] first."""
        import numpy as np

        vector = np.asarray(vector, dtype=np.float64).reshape(-1)
        if vector.shape[0] != len(PARAMETERS):
            raise ParameterError(
                f"settings vector has {vector.shape[0]} values, expected {len(PARAMETERS)}")
        values = {spec.name: spec.from_unit(float(u)) for spec, u in zip(PARAMETERS, vector)}
        settings = _from_flat(values)
        return dataclasses.replace(settings, output=output or Output())

    def replace(self, **sections: Any) -> "Settings":
        return dataclasses.replace(self, **sections)

    @property
    def is_neutral(self) -> bool:
        """True when the chain leaves the audio untouched (a section at amount 0 counts as neutral)."""
        return all(getattr(self, section).is_neutral or getattr(self.amounts, aspect) == 0.0
                   for aspect, section in AMOUNT_ASPECTS.items())


@dataclass(frozen=True)
class ParameterSpec:
    """One predicted parameter: dotted name, unit range and [0, 1] scale."""

    name: str
    low: float
    high: float
    scale: str
    default: float

    def to_unit(self, value: float) -> float:
        if self.scale == "log":
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def value_at(self, unit: Any, exp: Callable[[Any], Any] = math.exp) -> Any:
        """The value at ``unit`` on this parameter's [0, 1] scale, unclamped: the one formula for
        floats and, given their ``exp`` (``np.exp``, ``torch.exp``), arrays and tensors, so that a
        differentiable training loss reads the scale exactly as :meth:`from_unit` does."""
        if self.scale == "log":
            return exp(math.log(self.low) + unit * (math.log(self.high) - math.log(self.low)))
        return self.low + unit * (self.high - self.low)

    def from_unit(self, unit: float) -> float:
        value = self.value_at(min(1.0, max(0.0, unit)))
        return float(min(self.high, max(self.low, value)))  # exp/log round-off must not leave the range


def _walk(cls: type, prefix: str) -> Iterator[ParameterSpec]:
    instance = cls()
    for f in fields(cls):
        value = getattr(instance, f.name)
        if "range" in f.metadata:
            low, high = f.metadata["range"]
            yield ParameterSpec(f"{prefix}{f.name}", low, high, f.metadata["scale"], float(value))
        elif dataclasses.is_dataclass(value):
            yield from _walk(type(value), f"{prefix}{f.name}.")


def _section_specs() -> tuple[ParameterSpec, ...]:
    specs: list[ParameterSpec] = []
    for name in PREDICTED_SECTIONS:
        section_type = {f.name: f for f in fields(Settings)}[name].default_factory  # type: ignore[misc]
        specs.extend(_walk(section_type, f"{name}."))
    # Nested bands have their own defaults: take the defaults of a default Settings object.
    neutral = Settings()
    return tuple(dataclasses.replace(s, default=_get_path(neutral, s.name)) for s in specs)


def _get_path(obj: Any, dotted: str) -> float:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return float(obj)


def section_from_dict(cls: type, data: dict[str, Any], where: str) -> Any:
    """A settings dataclass ``cls`` from a JSON object, strictly: unknown keys and out-of-range
    values raise :class:`ParameterError` naming the place (``where``, e.g. ``settings.eq``); missing
    fields (and fields of nested sections) keep their defaults."""
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ParameterError(f"unknown key {where}.{unknown[0]} (allowed: {', '.join(known)})")
    kwargs: dict[str, Any] = {}
    defaults = cls()
    for name, value in data.items():
        current = getattr(defaults, name)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ParameterError(f"{where}.{name} must be an object")
            # Start from the field's own default so a partial band keeps its default frequency.
            base = dataclasses.asdict(current)
            base.update(value)
            unknown_inner = sorted(set(value) - set(base))
            if unknown_inner:
                raise ParameterError(f"unknown key {where}.{name}.{unknown_inner[0]}")
            kwargs[name] = section_from_dict(type(current), base, f"{where}.{name}")
        else:
            kwargs[name] = value
    try:
        return cls(**kwargs)
    except ParameterError as exc:
        raise ParameterError(f"{where}: {exc}") from None


def _from_flat(values: dict[str, float]) -> Settings:
    nested: dict[str, Any] = {}
    for dotted, value in values.items():
        node = nested
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return section_from_dict(Settings, nested, "settings")


PARAMETERS: tuple[ParameterSpec, ...] = _section_specs()
PARAMETER_NAMES: tuple[str, ...] = tuple(p.name for p in PARAMETERS)


def neutral_settings(output: Output | None = None) -> Settings:
    """Settings that leave the audio untouched apart from the loudness stage."""
    return Settings(output=output or Output())


def parse_json(text: str, what: str) -> Any:
    """``json.loads`` with a :class:`ParameterError` that says what was being read."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParameterError(f"{what} are not valid JSON: {exc}") from None


def load_json_file(path: str, parse: Callable[[str], T]) -> T:
    """Read a settings-like JSON file with ``parse``; errors name the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ParameterError(f"{path}: cannot read settings ({exc.strerror})") from None
    try:
        return parse(text)
    except ParameterError as exc:
        raise ParameterError(f"{path}: {exc}") from None


def load_settings(path: str) -> Settings:
    """Read a settings JSON file, with errors that name the file."""
    return load_json_file(path, Settings.from_json)


__all__ = ["SCHEMA_VERSION", "ranged_field", "Validated", "LowShelf", "HighShelf", "Peak", "EQ", "HIGHPASS_OFF_HZ",
           "EQ_BAND_NAMES", "Compressor", "Stereo", "Reverb", "Output", "PREDICTED_SECTIONS", "AMOUNT_ASPECTS",
           "Amounts", "Settings",
           "ParameterSpec", "section_from_dict", "PARAMETERS", "PARAMETER_NAMES", "neutral_settings", "parse_json",
           "load_json_file", "load_settings"]
