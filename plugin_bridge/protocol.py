"""The OSC side of the bridge, with no I/O of its own: limits, parsing datagrams (messages and
bundles) strictly, encoding replies, compact JSON, and the argument checks every handler uses.

Every check raises :class:`BadRequest` with a message that is safe to send back to the client
as ``/mixai/error id address message``.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterator

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.parsing import osc_types

PREFIX = "/mixai"
MAX_STRING = 4096
MAX_ID = 256
MAX_ARGS = 16
MAX_BUNDLE_MESSAGES = 64
MAX_BUNDLE_DEPTH = 4
MAX_REPLY_BYTES = 60000

Reply = tuple[str, tuple[Any, ...]]                       # (address, arguments) to the requester
Outgoing = tuple[tuple[str, int], str, tuple[Any, ...]]   # (destination, address, arguments)

# OSC 1.0 types plus the common 1.1 ones that python-osc decodes; anything else is refused
# (python-osc would skip an unknown tag with a warning and hand over the remaining arguments).
TYPE_TAGS = frozenset("ifsbhdtTFNIcrm[]")


class BadRequest(Exception):
    """A request that cannot be served; the message goes back to the client."""


def to_json(obj: Any) -> str:
    """Compact JSON; NaN and infinities become null (JSON has no such numbers)."""
    try:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False, default=str)
    except ValueError:
        return json.dumps(_finite(obj), separators=(",", ":"), allow_nan=False, default=str)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def parse_message(data: bytes) -> tuple[str, list[Any]]:
    """(address, arguments) of one OSC message; BadRequest / ParseError on anything malformed."""
    address, pos = osc_types.get_string(data, 0)
    if pos < len(data):
        if data[pos:pos + 1] != b",":
            raise BadRequest("malformed OSC packet: no type tag string")
        tags, _ = osc_types.get_string(data, pos)
        bad = set(tags[1:]) - TYPE_TAGS
        if bad:
            raise BadRequest(f"unsupported OSC type tag {sorted(bad)[0]!r}")
    msg = OscMessage(data)
    return msg.address, list(msg.params)


def unbundle(data: bytes, depth: int = 0, count: list[int] | None = None) -> Iterator[tuple[str, list[Any]]]:
    """Messages of a bundle, in order (time tags are ignored: everything runs at once).

    Parsed by hand around :class:`OscMessage` because python-osc skips (and only logs) bundle
    elements it cannot identify, and we answer every malformed packet.
    """
    count = [0] if count is None else count
    if depth >= MAX_BUNDLE_DEPTH:
        raise BadRequest("bundles nested too deeply")
    if len(data) < 16 or data[:8] != b"#bundle\x00":
        raise BadRequest("malformed OSC bundle header")
    pos = 16
    while pos < len(data):
        if pos + 4 > len(data):
            raise BadRequest("malformed OSC bundle: truncated element size")
        size = int.from_bytes(data[pos:pos + 4], "big", signed=True)
        pos += 4
        if size <= 0 or size % 4 or pos + size > len(data):
            raise BadRequest("malformed OSC bundle: bad element size")
        element = data[pos:pos + size]
        pos += size
        if element.startswith(b"#bundle"):
            yield from unbundle(element, depth + 1, count)
        elif element[:1] == b"/":
            count[0] += 1
            if count[0] > MAX_BUNDLE_MESSAGES:
                raise BadRequest(f"more than {MAX_BUNDLE_MESSAGES} messages in a bundle")
            yield parse_message(element)
        else:
            raise BadRequest("malformed OSC bundle: an element is neither a message nor a bundle")


def encode(address: str, args: tuple[Any, ...]) -> bytes:
    """One OSC message: ints as int32 (int64 when larger), floats as float32, the rest as strings."""
    builder = OscMessageBuilder(address=address)
    for a in args:
        if isinstance(a, bool):
            builder.add_arg(a)
        elif isinstance(a, int):
            builder.add_arg(a, OscMessageBuilder.ARG_TYPE_INT if -2**31 <= a < 2**31
                            else OscMessageBuilder.ARG_TYPE_INT64)
        elif isinstance(a, float):
            builder.add_arg(a, OscMessageBuilder.ARG_TYPE_FLOAT)
        else:
            builder.add_arg(str(a).replace("\x00", "\\x00"), OscMessageBuilder.ARG_TYPE_STRING)
    return builder.build().dgram


# --- argument checks ----------------------------------------------------------------------------
def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def job_id(v: Any) -> str:
    """Client ids are strings; Pd and some surfaces can only send numbers, so integral numbers
    are accepted and written in decimal."""
    if isinstance(v, str):
        if not v or len(v) > MAX_ID:
            raise BadRequest(f"job id must be 1-{MAX_ID} characters")
        return v
    if is_number(v) and math.isfinite(v) and v == int(v):
        return str(int(v))
    raise BadRequest("job id must be a string")


def text(v: Any, what: str) -> str:
    if not isinstance(v, str):
        raise BadRequest(f"{what} must be a string, got {osc_type(v)}")
    if not v:
        raise BadRequest(f"{what} must not be empty")
    return v


def integer(v: Any, what: str, low: int, high: int) -> int:
    if not is_number(v) or not math.isfinite(v) or v != int(v):
        raise BadRequest(f"{what} must be an integer, got {osc_type(v)}")
    if not low <= int(v) <= high:
        raise BadRequest(f"{what} must be from {low} to {high}")
    return int(v)


def number(v: Any, what: str, low: float, high: float) -> float:
    if not is_number(v) or not math.isfinite(v):
        raise BadRequest(f"{what} must be a finite number, got {osc_type(v)}")
    if not low <= float(v) <= high:
        raise BadRequest(f"{what} = {float(v):g} is outside [{low:g}, {high:g}]")
    return float(v)


def json_object(v: Any, what: str = "options") -> dict[str, Any]:
    if not isinstance(v, str):
        raise BadRequest(f"{what} must be a JSON object string, got {osc_type(v)}")
    try:
        data = json.loads(v)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"{what} are not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return data


def arity(args: list, low: int, high: int, usage: str) -> None:
    if not low <= len(args) <= high:
        raise BadRequest(f"expected {usage}, got {len(args)} argument(s)")


def osc_safe(text: str) -> str:
    """OSC strings end at the first NUL: escape any inside text echoed back to a client."""
    return text.replace("\x00", "\\x00")


def osc_type(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a float"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (bytes, bytearray)):
        return "a blob"
    if v is None:
        return "nil"
    return type(v).__name__


__all__ = ["PREFIX", "MAX_STRING", "MAX_ID", "MAX_ARGS", "MAX_BUNDLE_MESSAGES", "MAX_BUNDLE_DEPTH",
           "MAX_REPLY_BYTES", "Reply", "Outgoing", "TYPE_TAGS", "BadRequest", "to_json", "parse_message", "unbundle",
           "encode", "is_number", "job_id", "text", "integer", "number", "json_object", "arity", "osc_safe",
           "osc_type"]
