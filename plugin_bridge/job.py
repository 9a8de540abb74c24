"""A job as the bridge tracks it, the kinds of job there are, and the errors of the job queue.

A :class:`JobKind` is the one home of a kind of job: how a worker runs it (``run``, in the worker
process, with the heavy imports) and which replies its result becomes (``replies``, in the server).
The kinds live with their request handlers in :mod:`plugin_bridge.handlers` and are collected in
:data:`plugin_bridge.handlers.kinds.JOB_KINDS`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

Progress = Callable[[float, str], None]


class Busy(Exception):
    """The queue is full."""


class JobConflict(Exception):
    """Duplicate active id, unknown id, or an output another active job is using."""


class JobCancelled(BaseException):
    """Raised inside a worker by the SIGUSR1 handler (BaseException: pipeline code may catch Exception)."""


@dataclass
class Job:
    id: str
    kind: str
    params: dict[str, Any]
    reply_to: tuple[str, int]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    reports_progress: bool = False  # /mixai/progress is sent for it (renders)
    state: str = "queued"
    progress: float = 0.0
    sent_progress: float = -1.0
    seq: int = -1
    worker: int | None = None
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    cancel_requested: bool = False
    cancel_deadline: float | None = None
    preexisting: frozenset[str] = frozenset()

    def describe(self) -> dict[str, Any]:
        now = time.monotonic()
        return {"id": self.id, "kind": self.kind, "state": self.state,
                "progress": round(self.progress, 3),
                "waited_s": round((self.started or now) - self.submitted, 3),
                "running_s": round(now - self.started, 3) if self.started else 0.0,
                "cancelling": self.cancel_requested}


EventCallback = Callable[[Job, str, Any], None]


@dataclass(frozen=True)
class JobKind:
    """``run(params, roots, progress) -> result`` in a worker; ``replies(job, result)`` -> the
    (destination, address, args) messages of a finished job."""

    name: str
    run: Callable[[dict[str, Any], Any, Progress], dict[str, Any]]
    replies: Callable[[Job, dict[str, Any]], list[tuple[tuple[str, int], str, tuple[Any, ...]]]]
    reports_progress: bool = False


__all__ = ["Progress", "Busy", "JobConflict", "JobCancelled", "Job", "EventCallback", "JobKind"]
