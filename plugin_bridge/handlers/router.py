"""Address routing: OSC in -> replies out, with no I/O of its own.

:meth:`Bridge.handle_datagram` and :meth:`Bridge.handle_message` never raise: every failure becomes
an ``/mixai/error id address message`` reply. Jobs are handed to a pool object (the real
:class:`plugin_bridge.pool.WorkerPool` or a fake in tests) whose ``submit`` must not block; their
results come back through :meth:`Bridge.on_job_event`, which builds the replies from the job's kind
(:data:`~plugin_bridge.handlers.kinds.JOB_KINDS`) and sends them through the ``send`` callable.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from plugin_bridge.handlers import analysis, control, daw, metering, render
from plugin_bridge.handlers.kinds import JOB_KINDS
from plugin_bridge.handlers.session import Session
from plugin_bridge.job import Busy, Job, JobConflict
from plugin_bridge.paths import PathRefused
from plugin_bridge.protocol import (MAX_ARGS, MAX_STRING, PREFIX, BadRequest, Outgoing, Reply, job_id,
                                    parse_message, unbundle)

log = logging.getLogger("plugin_bridge.handlers")

Handler = Callable[[Session, list, tuple[str, int]], list[Reply]]

# address -> handler(session, args, sender); /mixai/get/NAME, /mixai/set/NAME and /mixai/amount/ASPECT
# are routed by prefix
ROUTES: dict[str, Handler] = {
    f"{PREFIX}/ping": control.ping, f"{PREFIX}/status": control.status,
    f"{PREFIX}/analyze": analysis.analyze, f"{PREFIX}/suggest": analysis.suggest,
    f"{PREFIX}/master": render.master, f"{PREFIX}/mix": render.mix,
    f"{PREFIX}/apply": daw.apply, f"{PREFIX}/cancel": control.cancel,
    f"{PREFIX}/meter/subscribe": metering.subscribe, f"{PREFIX}/meter/unsubscribe": metering.unsubscribe,
}
NO_JOB_ID = (f"{PREFIX}/ping", f"{PREFIX}/status", f"{PREFIX}/meter/subscribe", f"{PREFIX}/meter/unsubscribe")  # addresses whose first argument is not a job id


class Bridge(Session):
    """The bridge's request logic: a :class:`Session` that routes each message to its handler."""

    def handle_datagram(self, data: bytes, sender: tuple[str, int]) -> list[Reply]:
        """Parse one UDP datagram (message or bundle) and handle what it holds. Never raises."""
        try:
            if not data:
                return [self.error("", "", "empty packet")]
            if data.startswith(b"#bundle"):
                replies: list[Reply] = []
                for address, args in list(unbundle(data)):
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
            handler = ROUTES.get(address)
            if handler is not None:
                if address not in NO_JOB_ID and args \
                        and isinstance(args[0], (str, int, float)) and not isinstance(args[0], bool):
                    try:
                        ident = job_id(args[0])
                    except BadRequest:
                        ident = ""
                return handler(self, args, sender)
            if address.startswith(f"{PREFIX}/get/"):
                return control.get(self, address, address[len(PREFIX) + 5:], args)
            if address.startswith(f"{PREFIX}/set/"):
                return control.set_default(self, address, address[len(PREFIX) + 5:], args)
            if address.startswith(f"{PREFIX}/amount/"):
                return control.amount(self, address, address[len(PREFIX) + 8:], args)
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

    # --- results from the pool ------------------------------------------------------------------
    def job_replies(self, job: Job, event: str, payload: Any) -> list[Outgoing]:
        """(destination, address, args) for one pool event; a finished job's come from its kind."""
        to = job.reply_to
        if event == "progress":
            return [(to, f"{PREFIX}/progress", (job.id, float(payload)))]
        if event == "cancelled":
            return [(to, f"{PREFIX}/cancelled", (job.id,))]
        if event == "error":
            return [(to, f"{PREFIX}/error", (job.id, f"{PREFIX}/{job.kind}", str(payload)[:1024]))]
        kind = JOB_KINDS.get(job.kind)
        if kind is None:
            return [(to, f"{PREFIX}/error", (job.id, f"{PREFIX}/{job.kind}", "unknown job kind"))]
        return kind.replies(job, payload)

    def on_job_event(self, job: Job, event: str, payload: Any) -> None:
        if event == "meter":  # live readings of a render's output: to the meter subscribers only
            self.meters.publish(job.id, payload)
            return
        if event == "done" and isinstance(payload, dict) and isinstance(payload.get("report"), dict):
            self.meters.finish(job.id, payload["report"].get("after") or {})
        elif event in ("error", "cancelled"):
            self.meters.forget(job.id)
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


__all__ = ["Handler", "ROUTES", "NO_JOB_ID", "Bridge"]
