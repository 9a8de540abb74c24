"""Every kind of job the bridge runs, by name: the table the worker runs jobs through and the
server builds their replies from (no if-chain over kinds anywhere). A new kind is a
:class:`~plugin_bridge.job.JobKind` in its domain's module, listed here."""

from __future__ import annotations

from plugin_bridge.handlers.analysis import ANALYZE, SUGGEST
from plugin_bridge.handlers.daw import APPLY
from plugin_bridge.handlers.render import MASTER, MIX
from plugin_bridge.job import JobKind

JOB_KINDS: dict[str, JobKind] = {kind.name: kind for kind in (ANALYZE, SUGGEST, MASTER, MIX, APPLY)}

__all__ = ["JOB_KINDS"]
