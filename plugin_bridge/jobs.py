"""Deprecated: split into :mod:`plugin_bridge.pool` (the worker pool), :mod:`plugin_bridge.worker`
(the worker process), :mod:`plugin_bridge.job` (jobs, kinds, queue errors) and
:mod:`plugin_bridge.handlers.kinds` (what each kind of job runs). This module only re-exports."""

from mixai.compat import moved
from plugin_bridge.handlers.kinds import JOB_KINDS
from plugin_bridge.job import Busy, EventCallback, Job, JobCancelled, JobConflict
from plugin_bridge.pool import WorkerPool
from plugin_bridge.worker import WORKER_NICENESS, describe_error, run_job, warm_up, worker_main

moved(__name__, "plugin_bridge.pool, plugin_bridge.worker and plugin_bridge.job")

PROGRESS_KINDS = tuple(name for name, kind in JOB_KINDS.items() if kind.reports_progress)

__all__ = ["PROGRESS_KINDS", "WORKER_NICENESS", "WorkerPool", "Job", "EventCallback", "Busy", "JobConflict",
           "JobCancelled", "run_job", "worker_main", "describe_error", "warm_up"]
