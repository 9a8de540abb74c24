"""Generic: one message per parameter, in physical units, for Pd patches and control surfaces.

``/mixai/param/<section>/<field...> value`` in the order of :class:`mixai.settings.Settings`, e.g.
``/mixai/param/eq/low_shelf/gain_db 3.0`` or ``/mixai/param/compressor/ratio 2.5``; every field of
every section (including ``output``) is sent, as a float. Values are mixai's own: the compressor
threshold is relative to the chain's -20 LUFS working level (``/mixai/param/input_lufs`` carries the
measured input loudness when it is known, so a receiver can convert). ``track`` is not used.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from plugin_bridge.daw import Message

NAME = "generic"
DEFAULT_PORT = 9002
PREFIX = "/mixai/param"
OPTIONS: dict[str, tuple[Any, Any, str]] = {}


# The per-aspect amounts scale the predicted sections before they reach a DAW; they are not
# parameters of any plugin, so a patch receives the chain values only.
SKIPPED_SECTIONS = ("amounts",)


def _walk(obj: Any, path: str, out: list[Message]) -> None:
    for f in dataclasses.fields(obj):
        if f.name in SKIPPED_SECTIONS:
            continue
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            _walk(value, f"{path}/{f.name}", out)
        else:
            out.append((f"{path}/{f.name}", [float(value)]))


def messages(settings, *, track: int = 0, input_lufs: float | None = None,
             options: dict[str, Any] | None = None) -> list[Message]:
    out: list[Message] = []
    _walk(settings, PREFIX, out)
    if input_lufs is not None:
        out.append((f"{PREFIX}/input_lufs", [float(input_lufs)]))
    return out
