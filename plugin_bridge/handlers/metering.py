"""Live metering: ``/mixai/meter/subscribe [every_ms] [lease_s]`` and ``/mixai/meter/unsubscribe``.

A subscriber gets, for every render (master, mix) while its output is written, one
``/mixai/meter id position_s momentary_lufs short_term_lufs true_peak_dbtp gain_reduction_db
final_pass`` per 100 ms of programme (or per ``every_ms``), and at the end ``/mixai/meter/integrated
id integrated_lufs true_peak_dbtp loudness_range_lu``. Readings go to the subscriber's reply address
(the sender's host on the reply port). The table and the sending are :mod:`plugin_bridge.meter`.
"""

from __future__ import annotations

import logging

from plugin_bridge.handlers.session import Session
from plugin_bridge.meter import DEFAULT_LEASE_S, EVERY_MS_RANGE, LEASE_RANGE_S, STEP_MS, STOPPED_ADDRESS
from plugin_bridge.protocol import PREFIX, BadRequest, Reply, arity, number

log = logging.getLogger("plugin_bridge.handlers")


def subscribe(session: Session, args: list, sender) -> list[Reply]:
    """Answered with ``/mixai/meter/subscribed every_ms lease_s``; subscribing again renews."""
    arity(args, 0, 2, "[every_ms] [lease_s]")
    every_ms = number(args[0], "every_ms", *EVERY_MS_RANGE) if args else STEP_MS
    lease_s = number(args[1], "lease_s", *LEASE_RANGE_S) if len(args) > 1 else DEFAULT_LEASE_S
    try:
        sub = session.meters.subscribe(session.reply_address(sender), every_ms, lease_s)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    log.info("meter subscriber %s:%d (every %d ms, lease %g s)", *sub.address, sub.every_steps * STEP_MS, lease_s)
    return [(f"{PREFIX}/meter/subscribed", (sub.every_steps * STEP_MS, float(lease_s)))]


def unsubscribe(session: Session, args: list, sender) -> list[Reply]:
    """Answered with ``/mixai/meter/unsubscribed unsubscribed`` (or ``not subscribed``)."""
    arity(args, 0, 0, "no arguments")
    removed = session.meters.unsubscribe(session.reply_address(sender))
    return [(STOPPED_ADDRESS, ("unsubscribed" if removed else "not subscribed",))]


__all__ = ["subscribe", "unsubscribe"]
