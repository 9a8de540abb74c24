"""The addresses that run no audio: ``/mixai/ping``, ``/mixai/status``, the session defaults
(``/mixai/get/NAME``, ``/mixai/set/NAME value``), the per-aspect amounts
(``/mixai/amount/ASPECT [value]``) and ``/mixai/cancel id``."""

from __future__ import annotations

import logging
import time

from plugin_bridge import __version__
from plugin_bridge.handlers.session import AMOUNT_ASPECTS, OUTPUT_RANGES, SESSION_OPTIONS, Session
from plugin_bridge.protocol import PREFIX, BadRequest, Reply, arity, job_id, number, to_json

log = logging.getLogger("plugin_bridge.handlers")


def ping(session: Session, args: list, sender) -> list[Reply]:
    return [(f"{PREFIX}/pong", (__version__,))]


def status(session: Session, args: list, sender) -> list[Reply]:
    arity(args, 0, 0, "no arguments")
    state = {"version": __version__, "state": "running",
             "uptime_s": round(time.monotonic() - session.started, 3),
             "roots": list(session.roots.paths), "defaults": session.session_defaults(),
             "amounts": dict(session.amounts),
             "requests": session.requests, "errors": session.errors,
             "meter_subscribers": session.meters.status()}
    state.update(session.pool.status())
    return [(f"{PREFIX}/status", (to_json(state),))]


def get(session: Session, address: str, name: str, args: list) -> list[Reply]:
    if name not in SESSION_OPTIONS:
        raise BadRequest(f"unknown option {name!r} (options: {', '.join(SESSION_OPTIONS)})")
    arity(args, 0, 0, "no arguments")
    return [(address, (session.effective(name),))]


def set_default(session: Session, address: str, name: str, args: list) -> list[Reply]:
    if name not in SESSION_OPTIONS:
        raise BadRequest(f"unknown option {name!r} (options: {', '.join(SESSION_OPTIONS)})")
    arity(args, 1, 1, "one value")
    value = args[0]
    if name in ("target_lufs", "ceiling_dbtp"):
        if isinstance(value, str) and value.lower() in ("preset", "default", "none"):
            session.defaults[name] = None
        else:
            session.defaults[name] = number(value, name, *OUTPUT_RANGES[name])
    elif name == "preset":
        session.defaults[name] = session.preset(value)
    elif name == "amount":
        session.defaults[name] = number(value, name, 0.0, 1.0)
    elif name == "predictor":
        session.defaults[name] = session.predictor(value)
    log.info("session default %s = %r", name, session.defaults[name])
    return [(address, (session.effective(name),))]


def amount(session: Session, address: str, aspect: str, args: list) -> list[Reply]:
    """``/mixai/amount/ASPECT value`` sets how much of that aspect (eq, dynamics, reverb, width)
    later jobs apply, on top of the overall amount; without a value it answers the current one.
    Both are answered on the same address."""
    if aspect not in AMOUNT_ASPECTS:
        raise BadRequest(f"unknown aspect {aspect!r} (aspects: {', '.join(AMOUNT_ASPECTS)})")
    arity(args, 0, 1, "[value 0..1]")
    if args:
        session.amounts[aspect] = number(args[0], f"{aspect} amount", 0.0, 1.0)
        log.info("session amount %s = %r", aspect, session.amounts[aspect])
    return [(address, (session.amounts[aspect],))]


def cancel(session: Session, args: list, sender) -> list[Reply]:
    arity(args, 1, 1, "id")
    ident = job_id(args[0])
    if session.pool.cancel(ident):
        log.info("job %r: cancelled while queued", ident)
        return [(f"{PREFIX}/cancelled", (ident,))]
    log.info("job %r: cancelling", ident)
    return []


__all__ = ["ping", "status", "get", "set_default", "amount", "cancel"]
