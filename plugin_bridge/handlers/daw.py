"""``/mixai/apply id path daw track [host port] [options-json]``: suggest settings for a file (or
take a saved settings file as it is) and send them to a DAW's own plugins through its adapter
(:mod:`plugin_bridge.daw`), then ``/mixai/applied`` to the requester."""

from __future__ import annotations

import ipaddress
from typing import Any

from plugin_bridge.daw import ADAPTERS, check_options, get_adapter
from plugin_bridge.handlers.analysis import run_suggest
from plugin_bridge.handlers.session import BRIDGE_OPTION_KEYS, Session
from plugin_bridge.job import Job, JobKind
from plugin_bridge.protocol import (PREFIX, BadRequest, Outgoing, Reply, arity, integer, job_id, json_object,
                                    number, text, to_json)


def plugin_values(settings: Any) -> Any:
    """What a DAW's plugins are given: the settings' sections (already at their amounts), in the
    schema's order, without ``amounts``, which is no plugin parameter (the generic adapter sends
    every field it finds)."""
    import dataclasses

    names = [f.name for f in dataclasses.fields(settings) if f.name != "amounts"]
    values = dataclasses.make_dataclass("PluginValues", names, frozen=True)
    return values(**{name: getattr(settings, name) for name in names})


def applied(job: Job, result: dict[str, Any]) -> list[Outgoing]:
    """The adapter's messages to the DAW, then ``/mixai/applied`` with what was sent."""
    import dataclasses

    from mixai.settings.scaling import apply_amounts
    from mixai.settings.schema import Settings

    x = job.extra
    settings = Settings.from_dict(result["settings"])
    lufs = x.get("input_lufs") if x.get("input_lufs") is not None else result.get("input_lufs")
    msgs = get_adapter(x["daw"]).messages(plugin_values(apply_amounts(settings)), track=x["track"],
                                          input_lufs=lufs, options=x["options"])
    dest = (x["host"], x["port"])
    out: list[Outgoing] = [(dest, a, tuple(v)) for a, v in msgs]
    info = {"daw": x["daw"], "host": x["host"], "port": x["port"], "track": x["track"],
            "messages": len(msgs), "input_lufs": lufs, "settings": settings.to_dict(),
            "amounts": dataclasses.asdict(settings.amounts),
            "model_trust": result.get("model_trust")}
    out.append((job.reply_to, f"{PREFIX}/applied", (job.id, to_json(info))))
    return out


APPLY = JobKind("apply", run_suggest, applied)


def daw_host(session: Session, value: Any) -> str:
    host = text(value, "host")
    if host == "localhost":
        return "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise BadRequest(f"host {host!r} must be an IP address (or localhost)") from None
    if not ip.is_loopback and not session.allow_remote_daw:
        raise BadRequest(f"host {host} is not loopback; start the bridge with --allow-remote-daw")
    return str(ip)


def apply(session: Session, args: list, sender) -> list[Reply]:
    usage = "id path daw track [host port] [options-json]"
    arity(args, 4, 7, usage)
    ident = job_id(args[0])
    path = session.roots.input_file(text(args[1], "path"))
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
        host = daw_host(session, rest[0])
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
    opts, bridge = session.job_options(raw_options, allowed_extra=BRIDGE_OPTION_KEYS)
    if path.lower().endswith(".json"):  # a saved settings file: apply it as it is
        params = {"settings_file": path, "input_lufs": input_lufs, "options": {}}
        inputs: tuple[str, ...] = (path,)
    else:
        target, is_path = session.resolve_target(bridge["target"], opts)
        params = {"input": path, "target": target, "target_is_path": is_path,
                  "predictor": bridge["predictor"], "options": opts}
        inputs = (path, target) if is_path else (path,)
    extra = {"daw": daw, "host": host, "port": port, "track": track, "options": daw_opts,
             "input_lufs": input_lufs}
    return session.submit(APPLY, ident, sender, params, inputs=inputs, extra=extra)


__all__ = ["plugin_values", "applied", "APPLY", "daw_host", "apply"]
