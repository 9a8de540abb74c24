"""Address routing and argument validation: OSC in -> replies out, with no I/O of its own.

:meth:`Bridge.handle_datagram` and :meth:`Bridge.handle_message` never raise: every failure becomes
an ``/mixai/error id address message`` reply. Jobs are handed to a pool object (the real
:class:`plugin_bridge.jobs.WorkerPool` or a fake in tests) whose ``submit`` must not block; their
results come back through :meth:`Bridge.on_job_event`, which sends through the ``send`` callable.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import ipaddress
import json
import logging
import math
import os
import time
from importlib import resources
from typing import Any, Callable

from pythonosc.osc_message import OscMessage
from pythonosc.parsing import osc_types

from plugin_bridge import __version__
from plugin_bridge.daw import ADAPTERS, check_options, get_adapter
from plugin_bridge.jobs import Busy, Job, JobConflict
from plugin_bridge.paths import PathRefused, Roots

log = logging.getLogger("plugin_bridge.handlers")

PREFIX = "/mixai"
MAX_STRING = 4096
MAX_ID = 256
MAX_ARGS = 16
MAX_BUNDLE_MESSAGES = 64
MAX_BUNDLE_DEPTH = 4
MAX_REPLY_BYTES = 60000

# MasterOptions fields (mixai.master is too heavy to import here; a test checks this list).
MASTER_OPTION_FIELDS = ("target_lufs", "ceiling_dbtp", "preset", "amount", "sample_rate",
                        "bit_depth", "overwrite")
BRIDGE_OPTION_KEYS = ("predictor", "target")
SESSION_OPTIONS = ("target_lufs", "ceiling_dbtp", "preset", "amount", "predictor")
PREDICTORS = ("auto", "onnx", "dsp")
BIT_DEPTHS = (16, 24, 32)
SAMPLE_RATE_RANGE = (8000, 192000)

Reply = tuple[str, tuple[Any, ...]]
Send = Callable[[tuple[str, int], str, tuple[Any, ...]], None]


class BadRequest(Exception):
    """A request that cannot be served; the message goes back to the client."""


def _output_ranges() -> dict[str, tuple[float, float]]:
    from mixai.settings.schema import Output

    return {f.name: f.metadata["range"] for f in dataclasses.fields(Output) if "range" in f.metadata}


def _presets() -> dict[str, Any]:
    from mixai.settings.presets import PRESETS

    return PRESETS


def builtin_profiles() -> tuple[str, ...]:
    try:
        folder = resources.files("mixai") / "profiles"
        return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json")))
    except Exception:  # pragma: no cover - a broken install
        return ()


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


# OSC 1.0 types plus the common 1.1 ones that python-osc decodes; anything else is refused
# (python-osc would skip an unknown tag with a warning and hand over the remaining arguments).
TYPE_TAGS = frozenset("ifsbhdtTFNIcrm[]")


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


# --- argument coercion ------------------------------------------------------------------------
def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def job_id(v: Any) -> str:
    """Client ids are strings; Pd and some surfaces can only send numbers, so integral numbers
    are accepted and written in decimal."""
    if isinstance(v, str):
        if not v or len(v) > MAX_ID:
            raise BadRequest(f"job id must be 1-{MAX_ID} characters")
        return v
    if _is_number(v) and math.isfinite(v) and v == int(v):
        return str(int(v))
    raise BadRequest("job id must be a string")


def text(v: Any, what: str) -> str:
    if not isinstance(v, str):
        raise BadRequest(f"{what} must be a string, got {_osc_type(v)}")
    if not v:
        raise BadRequest(f"{what} must not be empty")
    return v


def integer(v: Any, what: str, low: int, high: int) -> int:
    if not _is_number(v) or not math.isfinite(v) or v != int(v):
        raise BadRequest(f"{what} must be an integer, got {_osc_type(v)}")
    if not low <= int(v) <= high:
        raise BadRequest(f"{what} must be from {low} to {high}")
    return int(v)


def number(v: Any, what: str, low: float, high: float) -> float:
    if not _is_number(v) or not math.isfinite(v):
        raise BadRequest(f"{what} must be a finite number, got {_osc_type(v)}")
    if not low <= float(v) <= high:
        raise BadRequest(f"{what} = {float(v):g} is outside [{low:g}, {high:g}]")
    return float(v)


def json_object(v: Any, what: str = "options") -> dict[str, Any]:
    if not isinstance(v, str):
        raise BadRequest(f"{what} must be a JSON object string, got {_osc_type(v)}")
    try:
        data = json.loads(v)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"{what} are not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return data


def _osc_safe(text: str) -> str:
    """OSC strings end at the first NUL: escape any inside text echoed back to a client."""
    return text.replace("\x00", "\\x00")


def _osc_type(v: Any) -> str:
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


def _arity(args: list, low: int, high: int, usage: str) -> None:
    if not low <= len(args) <= high:
        raise BadRequest(f"expected {usage}, got {len(args)} argument(s)")


class Bridge:
    """The bridge's request logic and session state (defaults, job bookkeeping through ``pool``)."""

    def __init__(self, roots: Roots, pool: Any, *, reply_port: int = 9001, send: Send | None = None,
                 allow_remote_daw: bool = False) -> None:
        self.roots = roots
        self.pool = pool
        self.reply_port = reply_port
        self.send = send or (lambda dest, address, args: None)
        self.allow_remote_daw = allow_remote_daw
        self.started = time.monotonic()
        self.defaults: dict[str, Any] = {"target_lufs": None, "ceiling_dbtp": None,
                                         "preset": "spotify", "amount": 1.0, "predictor": "auto"}
        self.requests = 0
        self.errors = 0
        self._ranges = _output_ranges()
        self._routes: dict[str, Callable[[list, tuple[str, int]], list[Reply]]] = {
            f"{PREFIX}/ping": self._ping, f"{PREFIX}/status": self._status,
            f"{PREFIX}/analyze": self._analyze, f"{PREFIX}/suggest": self._suggest,
            f"{PREFIX}/master": self._master, f"{PREFIX}/mix": self._mix,
            f"{PREFIX}/apply": self._apply, f"{PREFIX}/cancel": self._cancel,
        }

    # --- entry points ---------------------------------------------------------------------------
    def reply_address(self, sender: tuple[str, int]) -> tuple[str, int]:
        """Replies go to the sender's host on the reply port (0: back to the sender's own port)."""
        return (sender[0], self.reply_port or sender[1])

    def handle_datagram(self, data: bytes, sender: tuple[str, int]) -> list[Reply]:
        """Parse one UDP datagram (message or bundle) and handle what it holds. Never raises."""
        try:
            if not data:
                return [self.error("", "", "empty packet")]
            if data.startswith(b"#bundle"):
                replies: list[Reply] = []
                for address, args in list(self._unbundle(data, 0, [0])):
                    replies += self.handle_message(address, args, sender)
                return replies
            if data[:1] != b"/":
                return [self.error("", "", "not an OSC packet (an address must start with '/')")]
            address, args = parse_message(data)
            return self.handle_message(address, args, sender)
        except UnicodeDecodeError:
            return [self.error("", "", "malformed OSC packet: a string is not valid UTF-8")]
        except BadRequest as exc:
            return [self.error("", "", str(exc))]
        except Exception as exc:  # python-osc raises ParseError, IndexError, struct.error...
            return [self.error("", "", f"malformed OSC packet ({type(exc).__name__})")]

    def _unbundle(self, data: bytes, depth: int, count: list[int]):
        """Messages of a bundle, in order (time tags are ignored: everything runs at once).

        Parsed by hand around :class:`OscMessage` because python-osc skips (and only logs) bundle
        elements it cannot identify, and we answer every malformed packet.
        """
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
                yield from self._unbundle(element, depth + 1, count)
            elif element[:1] == b"/":
                count[0] += 1
                if count[0] > MAX_BUNDLE_MESSAGES:
                    raise BadRequest(f"more than {MAX_BUNDLE_MESSAGES} messages in a bundle")
                yield parse_message(element)
            else:
                raise BadRequest("malformed OSC bundle: an element is neither a message nor a bundle")

    def handle_message(self, address: Any, args: Any, sender: tuple[str, int]) -> list[Reply]:
        """Route one message. Returns the replies to send to the requester now. Never raises."""
        self.requests += 1
        ident = ""
        try:
            if not isinstance(address, str):
                raise BadRequest("address must be a string")
            args = list(args) if isinstance(args, (list, tuple)) else [args]
            if len(address) > MAX_STRING:
                address = address[:64]
                raise BadRequest(f"address is longer than {MAX_STRING} characters")
            if len(args) > MAX_ARGS:
                raise BadRequest(f"too many arguments ({len(args)}; at most {MAX_ARGS})")
            for i, a in enumerate(args):
                if isinstance(a, (str, bytes, bytearray)) and len(a) > MAX_STRING:
                    raise BadRequest(f"argument {i + 1} is longer than {MAX_STRING} characters")
            handler = self._routes.get(address)
            if handler is not None:
                if address not in (f"{PREFIX}/ping", f"{PREFIX}/status") and args \
                        and isinstance(args[0], (str, int, float)) and not isinstance(args[0], bool):
                    try:
                        ident = job_id(args[0])
                    except BadRequest:
                        ident = ""
                return handler(args, sender)
            if address.startswith(f"{PREFIX}/get/"):
                return self._get(address, address[len(PREFIX) + 5:], args)
            if address.startswith(f"{PREFIX}/set/"):
                return self._set(address, address[len(PREFIX) + 5:], args)
            raise BadRequest(f"unknown address (see docs/osc.md; try {PREFIX}/ping)")
        except BadRequest as exc:
            return [self.error(ident, address, str(exc))]
        except PathRefused as exc:
            return [self.error(ident, address, str(exc))]
        except (Busy, JobConflict) as exc:
            return [self.error(ident, address, str(exc))]
        except Exception as exc:
            log.exception("internal error handling %r", address)
            return [self.error(ident, address, f"internal error: {type(exc).__name__}")]

    def error(self, ident: str, address: Any, message: str) -> Reply:
        self.errors += 1
        address = address if isinstance(address, str) else ""
        log.debug("error reply: %s %s: %s", ident, address, message)
        return (f"{PREFIX}/error", (_osc_safe(ident), _osc_safe(address[:256]), _osc_safe(message[:1024])))

    # --- simple addresses -----------------------------------------------------------------------
    def _ping(self, args: list, sender) -> list[Reply]:
        return [(f"{PREFIX}/pong", (__version__,))]

    def _status(self, args: list, sender) -> list[Reply]:
        _arity(args, 0, 0, "no arguments")
        state = {"version": __version__, "state": "running",
                 "uptime_s": round(time.monotonic() - self.started, 3),
                 "roots": list(self.roots.paths), "defaults": self.session_defaults(),
                 "requests": self.requests, "errors": self.errors}
        state.update(self.pool.status())
        return [(f"{PREFIX}/status", (to_json(state),))]

    def session_defaults(self) -> dict[str, Any]:
        return {name: self._effective(name) for name in SESSION_OPTIONS}

    def _effective(self, name: str) -> Any:
        value = self.defaults[name]
        if value is None:  # target_lufs / ceiling_dbtp: from the preset
            return float(getattr(_presets()[self.defaults["preset"]], name))
        return value

    def _get(self, address: str, name: str, args: list) -> list[Reply]:
        if name not in SESSION_OPTIONS:
            raise BadRequest(f"unknown option {name!r} (options: {', '.join(SESSION_OPTIONS)})")
        _arity(args, 0, 0, "no arguments")
        return [(address, (self._effective(name),))]

    def _set(self, address: str, name: str, args: list) -> list[Reply]:
        if name not in SESSION_OPTIONS:
            raise BadRequest(f"unknown option {name!r} (options: {', '.join(SESSION_OPTIONS)})")
        _arity(args, 1, 1, "one value")
        value = args[0]
        if name in ("target_lufs", "ceiling_dbtp"):
            if isinstance(value, str) and value.lower() in ("preset", "default", "none"):
                self.defaults[name] = None
            else:
                self.defaults[name] = number(value, name, *self._ranges[name])
        elif name == "preset":
            self.defaults[name] = self._preset(value)
        elif name == "amount":
            self.defaults[name] = number(value, name, 0.0, 1.0)
        elif name == "predictor":
            self.defaults[name] = self._predictor(value)
        log.info("session default %s = %r", name, self.defaults[name])
        return [(address, (self._effective(name),))]

    def _preset(self, value: Any) -> str:
        name = text(value, "preset").lower()
        if name not in _presets():
            raise BadRequest(f"unknown preset {value!r} (choose from {', '.join(_presets())})")
        return name

    def _predictor(self, value: Any) -> str:
        name = text(value, "predictor").lower()
        if name not in PREDICTORS:
            raise BadRequest(f"unknown predictor {value!r} (choose from {', '.join(PREDICTORS)})")
        return name

    # --- options --------------------------------------------------------------------------------
    def job_options(self, extra: dict[str, Any], *, allowed_extra: tuple[str, ...] = BRIDGE_OPTION_KEYS
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Session defaults overlaid with a client's options-json.

        Returns (MasterOptions keyword arguments, bridge keys such as predictor and target).
        Unknown keys, wrong types and out-of-range values raise BadRequest.
        """
        opts: dict[str, Any] = {k: self.defaults[k] for k in ("target_lufs", "ceiling_dbtp", "preset", "amount")}
        bridge: dict[str, Any] = {"predictor": self.defaults["predictor"], "target": None}
        for key, value in extra.items():
            if key in ("target_lufs", "ceiling_dbtp"):
                opts[key] = None if value is None else number(value, key, *self._ranges[key])
            elif key == "preset":
                opts[key] = self._preset(value)
            elif key == "amount":
                opts[key] = number(value, key, 0.0, 1.0)
            elif key == "sample_rate":
                opts[key] = None if value is None else integer(value, key, *SAMPLE_RATE_RANGE)
            elif key == "bit_depth":
                opts[key] = integer(value, key, 16, 32)
                if opts[key] not in BIT_DEPTHS:
                    raise BadRequest(f"bit_depth must be one of {BIT_DEPTHS}")
            elif key == "overwrite":
                if not isinstance(value, bool):
                    raise BadRequest("overwrite must be true or false")
                opts[key] = value
            elif key == "predictor" and key in allowed_extra:
                bridge[key] = self._predictor(value)
            elif key == "target" and key in allowed_extra:
                bridge[key] = None if value is None else text(value, "target")
            elif key in allowed_extra:
                bridge[key] = value
            else:
                allowed = [*MASTER_OPTION_FIELDS, *allowed_extra]
                raise BadRequest(f"unknown option {key!r} (allowed: {', '.join(allowed)})")
        return opts, bridge

    def resolve_target(self, target: str | None, opts: dict[str, Any]) -> tuple[str | None, bool]:
        """A target is a preset name (sets the output stage), a built-in profile, or a reference
        audio file under a root. Returns (target for mixai, is_path)."""
        if target is None:
            return None, False
        if target.lower() in _presets():
            opts["preset"] = target.lower()
            return None, False
        if target in builtin_profiles():
            return target, False
        if os.path.splitext(target)[1] or os.sep in target:
            return self.roots.input_file(target), True
        raise BadRequest(f"unknown target {target!r}: not a preset ({', '.join(_presets())}), "
                         f"a profile ({', '.join(builtin_profiles())}) or an audio file")

    # --- jobs -----------------------------------------------------------------------------------
    def _submit(self, kind: str, ident: str, sender, params: dict[str, Any], *,
                inputs: tuple[str, ...] = (), outputs: tuple[str, ...] = (),
                extra: dict[str, Any] | None = None) -> list[Reply]:
        job = Job(id=ident, kind=kind, params=params, reply_to=self.reply_address(sender),
                  inputs=inputs, outputs=outputs, extra=extra or {})
        self.pool.submit(job)
        log.info("job %r: %s queued", ident, kind)
        return []

    def _analyze(self, args: list, sender) -> list[Reply]:
        _arity(args, 2, 2, "id path")
        ident = job_id(args[0])
        path = self.roots.input_file(text(args[1], "path"))
        return self._submit("analyze", ident, sender, {"input": path}, inputs=(path,))

    def _suggest(self, args: list, sender) -> list[Reply]:
        _arity(args, 2, 3, "id path [target]")
        ident = job_id(args[0])
        path = self.roots.input_file(text(args[1], "path"))
        opts, bridge = self.job_options({})
        target, is_path = self.resolve_target(text(args[2], "target") if len(args) > 2 else None, opts)
        params = {"input": path, "target": target, "target_is_path": is_path,
                  "predictor": bridge["predictor"], "options": opts}
        return self._submit("suggest", ident, sender, params,
                            inputs=(path, target) if is_path else (path,))

    def _master(self, args: list, sender) -> list[Reply]:
        _arity(args, 3, 4, "id input output [options-json]")
        ident = job_id(args[0])
        src = self.roots.input_file(text(args[1], "input"))
        opts, bridge = self.job_options(json_object(args[3]) if len(args) > 3 else {})
        target, is_path = self.resolve_target(bridge["target"], opts)
        inputs = (src, target) if is_path else (src,)
        out = self.roots.output_file(text(args[2], "output"), inputs=inputs)
        params = {"input": src, "output": out, "target": target, "target_is_path": is_path,
                  "predictor": bridge["predictor"], "options": opts}
        return self._submit("master", ident, sender, params, inputs=inputs, outputs=(out,))

    def _mix(self, args: list, sender) -> list[Reply]:
        _arity(args, 3, 4, "id folder output [options-json]")
        ident = job_id(args[0])
        if not mix_available():
            raise BadRequest("mix is not available")
        folder = self.roots.input_dir(text(args[1], "folder"))
        opts, _bridge = self.job_options(json_object(args[3]) if len(args) > 3 else {}, allowed_extra=())
        try:
            stems = tuple(os.path.join(folder, n) for n in sorted(os.listdir(folder))[:1024])
        except OSError as exc:
            raise BadRequest(f"cannot list {args[1]}: {exc.strerror}") from None
        out = self.roots.output_file(text(args[2], "output"), inputs=stems)
        params = {"input": folder, "output": out, "options": opts}
        return self._submit("mix", ident, sender, params, inputs=(folder, *stems), outputs=(out,))

    def _apply(self, args: list, sender) -> list[Reply]:
        usage = "id path daw track [host port] [options-json]"
        _arity(args, 4, 7, usage)
        ident = job_id(args[0])
        path = self.roots.input_file(text(args[1], "path"))
        daw = text(args[2], "daw").lower()
        if daw not in ADAPTERS:
            raise BadRequest(f"unknown DAW {args[2]!r} (choose from {', '.join(ADAPTERS)})")
        adapter = get_adapter(daw)
        track = integer(args[3], "track", 0, 100000)
        rest = args[4:]
        raw_options: dict[str, Any] = {}
        if rest and isinstance(rest[-1], str) and rest[-1].lstrip().startswith("{"):
            raw_options = json_object(rest[-1])
            rest = rest[:-1]
        host, port = "127.0.0.1", adapter.DEFAULT_PORT
        if len(rest) == 2:
            host = self._daw_host(rest[0])
            port = integer(rest[1], "port", 1, 65535)
        elif rest:
            raise BadRequest(f"expected {usage}")
        adapter_keys = tuple(adapter.OPTIONS)
        daw_opts = {k: raw_options.pop(k) for k in list(raw_options) if k in adapter_keys}
        input_lufs = raw_options.pop("input_lufs", None)
        if input_lufs is not None:
            input_lufs = number(input_lufs, "input_lufs", -120.0, 20.0)
        try:
            daw_opts = check_options(adapter, daw_opts)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        opts, bridge = self.job_options(raw_options, allowed_extra=BRIDGE_OPTION_KEYS)
        if path.lower().endswith(".json"):  # a saved settings file: apply it as it is
            params = {"settings_file": path, "input_lufs": input_lufs, "options": {}}
            inputs: tuple[str, ...] = (path,)
        else:
            target, is_path = self.resolve_target(bridge["target"], opts)
            params = {"input": path, "target": target, "target_is_path": is_path,
                      "predictor": bridge["predictor"], "options": opts}
            inputs = (path, target) if is_path else (path,)
        extra = {"daw": daw, "host": host, "port": port, "track": track, "options": daw_opts,
                 "input_lufs": input_lufs}
        return self._submit("apply", ident, sender, params, inputs=inputs, extra=extra)

    def _daw_host(self, value: Any) -> str:
        host = text(value, "host")
        if host == "localhost":
            return "127.0.0.1"
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise BadRequest(f"host {host!r} must be an IP address (or localhost)") from None
        if not ip.is_loopback and not self.allow_remote_daw:
            raise BadRequest(f"host {host} is not loopback; start the bridge with --allow-remote-daw")
        return str(ip)

    def _cancel(self, args: list, sender) -> list[Reply]:
        _arity(args, 1, 1, "id")
        ident = job_id(args[0])
        if self.pool.cancel(ident):
            log.info("job %r: cancelled while queued", ident)
            return [(f"{PREFIX}/cancelled", (ident,))]
        log.info("job %r: cancelling", ident)
        return []

    # --- results from the pool ------------------------------------------------------------------
    def job_replies(self, job: Job, event: str, payload: Any) -> list[tuple[tuple[str, int], str, tuple]]:
        """(destination, address, args) for one pool event; DAW messages included for ``apply``."""
        to = job.reply_to
        if event == "progress":
            return [(to, f"{PREFIX}/progress", (job.id, float(payload)))]
        if event == "cancelled":
            return [(to, f"{PREFIX}/cancelled", (job.id,))]
        if event == "error":
            return [(to, f"{PREFIX}/error", (job.id, f"{PREFIX}/{job.kind}", str(payload)[:1024]))]
        if job.kind == "analyze":
            return [(to, f"{PREFIX}/analysis", (job.id, to_json(payload["analysis"])))]
        if job.kind == "suggest":
            return [(to, f"{PREFIX}/settings", (job.id, to_json(payload["settings"])))]
        if job.kind in ("master", "mix"):
            return [(to, f"{PREFIX}/done", (job.id, payload["output"], to_json(payload["report"])))]
        if job.kind == "apply":
            from mixai.settings.schema import Settings

            x = job.extra
            settings = Settings.from_dict(payload["settings"])
            lufs = x.get("input_lufs") if x.get("input_lufs") is not None else payload.get("input_lufs")
            msgs = get_adapter(x["daw"]).messages(settings, track=x["track"], input_lufs=lufs,
                                                  options=x["options"])
            dest = (x["host"], x["port"])
            out: list[tuple[tuple[str, int], str, tuple]] = [(dest, a, tuple(v)) for a, v in msgs]
            info = {"daw": x["daw"], "host": x["host"], "port": x["port"], "track": x["track"],
                    "messages": len(msgs), "input_lufs": lufs, "settings": settings.to_dict(),
                    "model_trust": payload.get("model_trust")}
            out.append((to, f"{PREFIX}/applied", (job.id, to_json(info))))
            return out
        return [(to, f"{PREFIX}/error", (job.id, f"{PREFIX}/{job.kind}", "unknown job kind"))]

    def on_job_event(self, job: Job, event: str, payload: Any) -> None:
        try:
            replies = self.job_replies(job, event, payload)
        except Exception as exc:
            log.exception("job %r: cannot build reply", job.id)
            replies = [(job.reply_to, f"{PREFIX}/error",
                        (job.id, f"{PREFIX}/{job.kind}", f"internal error: {type(exc).__name__}: {exc}"))]
        if event in ("done", "error", "cancelled"):
            log.info("job %r: %s", job.id, event if event != "error" else f"error: {payload}")
        for dest, address, args in replies:
            self.send(dest, address, args)


def mix_available() -> bool:
    try:
        return importlib.util.find_spec("mixai.mix") is not None
    except (ImportError, ValueError):
        return False


__all__ = ["Bridge", "BadRequest", "to_json", "MASTER_OPTION_FIELDS", "SESSION_OPTIONS", "mix_available"]
