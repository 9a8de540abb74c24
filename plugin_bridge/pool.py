"""The job pool: a fixed number of worker *processes*, a bounded queue, progress and cancellation.

Audio work never runs in the server process (a Python thread rendering audio there was measured to
push ping round trips from 0.2 ms to 10+ ms). Each worker (:mod:`plugin_bridge.worker`) is a
``multiprocessing`` process (forkserver or spawn context) joined to the server by its own duplex
``Pipe``: jobs go down it, progress and results come back up it. One light thread in the server
waits on every pipe and every worker's sentinel at once and turns what arrives into callbacks.
Per-worker pipes (rather than one shared ``Queue``) mean a worker killed mid-message can only break
its own channel.

Cancelling a running job sends the worker ``SIGUSR1``; the worker's handler raises
:class:`~plugin_bridge.job.JobCancelled` inside the job (only if that job is still the one running),
the pipeline unwinds, and the atomic writer deletes its temporary file, so nothing is left under the
output name. A worker that does not stop within the grace period is killed and replaced, and the
server removes any temporary file (:func:`mixai.io.atomic.remove_temporaries`) and any output the
job created.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import signal
import threading
import time
from collections import deque
from typing import Any

from mixai.allocator import worker_variables
from mixai.environment import scoped_environment
from mixai.io.atomic import remove_temporaries
from plugin_bridge.job import Busy, EventCallback, Job, JobConflict
from plugin_bridge.worker import worker_main

log = logging.getLogger("plugin_bridge.pool")

# What the forkserver imports once, so every worker (and every replacement after a kill) forks with
# the heavy modules already loaded. (The analysis no longer uses librosa at run time: preloading it
# would cost a second here, and some 20 s of numba compilation on a new machine.)
PRELOAD = ["plugin_bridge.worker", "mixai.master.pipeline", "mixai.analysis.measure", "mixai.predict.dsp",
           "pedalboard"]


class _Slot:
    def __init__(self, index: int) -> None:
        self.index = index
        self.process: Any = None
        self.conn: Any = None
        self.cancel: Any = None
        self.ready = False
        self.job: Job | None = None
        self.started_at = 0.0
        self.respawn_at: float | None = None
        self.early_deaths = 0


class WorkerPool:
    """``workers`` processes, at most ``queue_size`` jobs waiting behind the running ones."""

    def __init__(self, workers: int, queue_size: int, roots: tuple[str, ...], on_event: EventCallback,
                 *, start_method: str = "forkserver", warm: bool = True,
                 cancel_grace_s: float = 3.0) -> None:
        if workers < 1:
            raise ValueError("at least one worker is required")
        if queue_size < 0:
            raise ValueError("queue size must be >= 0")
        self.workers = workers
        self.queue_size = queue_size
        self.roots = tuple(roots)
        self.on_event = on_event
        self.warm = warm
        self.cancel_grace_s = cancel_grace_s
        if start_method == "forkserver":
            self._ctx = mp.get_context("forkserver")
            self._ctx.set_forkserver_preload(PRELOAD)
        else:
            self._ctx = mp.get_context(start_method)
        self._lock = threading.RLock()
        self._slots = [_Slot(i) for i in range(workers)]
        self._queue: deque[Job] = deque()
        self._jobs: dict[str, Job] = {}
        self._seq = 0
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._thread = threading.Thread(target=self._loop, name="bridge-jobs", daemon=True)
        self.completed = 0
        self.failed = 0
        self.cancelled = 0

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            for slot in self._slots:
                self._spawn(slot)
        self._thread.start()

    def _spawn(self, slot: _Slot) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        cancel = self._ctx.Value("q", -1, lock=False)
        proc = self._ctx.Process(target=worker_main, name=f"mixai-bridge-worker-{slot.index}",
                                 args=(child, cancel, self.roots, self.warm, slot.index), daemon=True)
        with scoped_environment(worker_variables()):  # mixai.allocator's settings, as tunables
            proc.start()
        child.close()
        slot.process, slot.conn, slot.cancel = proc, parent, cancel
        slot.ready, slot.job, slot.started_at = False, None, time.monotonic()
        log.debug("worker %d started (pid %s)", slot.index, proc.pid)

    def ready_workers(self) -> int:
        with self._lock:
            return sum(1 for s in self._slots if s.ready)

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready_workers() == self.workers:
                return True
            time.sleep(0.02)
        return False

    def begin_shutdown(self) -> None:
        """Stop accepting jobs and stop replacing workers (safe to call from a signal handler)."""
        self._stopping = True
        self._wake()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel running jobs (their temporary files go), stop the workers, end the event thread."""
        with self._lock:
            self._stopping = True
            pending = list(self._jobs.values())
            self._queue.clear()
            workers = [(s.process, s.conn, s.job) for s in self._slots if s.process is not None]
            for slot in self._slots:
                if slot.job is not None and slot.process is not None:
                    self._signal_cancel(slot, slot.job)
        self._wake()
        deadline = time.monotonic() + timeout
        for proc, conn, job in workers:
            if job is None:
                try:
                    conn.send(None)
                except (OSError, ValueError):
                    pass
        for proc, _conn, _job in workers:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)
        for job in pending:
            remove_partials(job)
        self._thread.join(timeout=2.0)

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    # --- client-facing --------------------------------------------------------------------------
    def active(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._jobs

    def submit(self, job: Job) -> None:
        """Queue ``job`` or raise :class:`Busy` / :class:`JobConflict`. Never blocks on work."""
        events: list[tuple[Job, str, Any]] = []
        with self._lock:
            if self._stopping:
                raise Busy("the bridge is shutting down")
            if job.id in self._jobs:
                raise JobConflict(f"job id {job.id!r} is already active")
            for other in self._jobs.values():
                clash = set(job.outputs) & (set(other.outputs) | set(other.inputs))
                clash |= set(job.inputs) & set(other.outputs)
                if clash:
                    raise JobConflict(f"{sorted(clash)[0]} is in use by active job {other.id!r}")
            idle = any(s.ready and s.job is None for s in self._slots)
            if not idle and len(self._queue) >= self.queue_size:
                raise Busy(f"busy: {self.workers} job(s) running and {len(self._queue)} queued "
                           f"(queue limit {self.queue_size}); try again later")
            job.preexisting = frozenset(p for p in job.outputs if os.path.lexists(p))
            self._jobs[job.id] = job
            self._queue.append(job)
            self._dispatch(events)
        self._emit(events)

    def cancel(self, job_id: str) -> bool:
        """True when the job was only queued and is gone already; False when a running job was
        asked to stop (``cancelled`` arrives as an event). Raises JobConflict for unknown ids."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise JobConflict(f"no active job with id {job_id!r}")
            if job.state == "queued":
                self._queue.remove(job)
                del self._jobs[job_id]
                self.cancelled += 1
                return True
            if not job.cancel_requested:
                slot = self._slots[job.worker]  # type: ignore[index]
                self._signal_cancel(slot, job)
            return False

    def _signal_cancel(self, slot: _Slot, job: Job) -> None:
        job.cancel_requested = True
        job.cancel_deadline = time.monotonic() + self.cancel_grace_s
        slot.cancel.value = job.seq
        try:
            os.kill(slot.process.pid, signal.SIGUSR1)
        except (ProcessLookupError, OSError):
            pass
        self._wake()

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "workers": self.workers, "workers_ready": sum(1 for s in self._slots if s.ready),
                "running": sum(1 for s in self._slots if s.job is not None),
                "queued": len(self._queue), "queue_limit": self.queue_size,
                "completed": self.completed, "failed": self.failed, "cancelled": self.cancelled,
                "jobs": [j.describe() for j in list(self._jobs.values())[:64]],
            }

    # --- internals ------------------------------------------------------------------------------
    def _dispatch(self, events: list) -> None:
        for slot in self._slots:
            if not self._queue:
                return
            if not slot.ready or slot.job is not None:
                continue
            job = self._queue.popleft()
            self._seq += 1
            job.seq, job.worker, job.state, job.started = self._seq, slot.index, "running", time.monotonic()
            slot.job = job
            try:
                slot.conn.send(("run", job.seq, job.kind, job.params))
            except (OSError, ValueError) as exc:  # the worker is gone; the loop will notice
                log.warning("worker %d: cannot send job (%s)", slot.index, exc)

    def _emit(self, events: list[tuple[Job, str, Any]]) -> None:
        for job, event, payload in events:
            try:
                self.on_event(job, event, payload)
            except Exception:  # a reply that cannot be sent must not stop the pool
                log.exception("job event callback failed")

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._stopping and all(s.process is None or not s.process.is_alive() for s in self._slots):
                    return
                waitables: list[Any] = [self._wake_r]
                now = time.monotonic()
                for s in self._slots:
                    if s.process is None and s.respawn_at is not None and now >= s.respawn_at \
                            and not self._stopping:
                        s.respawn_at = None
                        self._spawn(s)
                for s in self._slots:
                    if s.process is not None:
                        waitables += [s.conn, s.process.sentinel]
            try:
                ready = mpc.wait(waitables, timeout=0.25)
            except OSError:
                ready = []
            events: list[tuple[Job, str, Any]] = []
            with self._lock:
                if self._wake_r in ready:
                    try:
                        os.read(self._wake_r, 4096)
                    except OSError:
                        pass
                for slot in self._slots:
                    if slot.process is None:
                        continue
                    if slot.conn in ready:
                        self._drain(slot, events)
                    if slot.process.sentinel in ready or not slot.process.is_alive():
                        self._drain(slot, events)
                        self._worker_died(slot, events)
                now = time.monotonic()
                for slot in self._slots:
                    job = slot.job
                    if job is not None and job.cancel_deadline is not None and now > job.cancel_deadline:
                        log.warning("worker %d did not stop job %r in time; killing it", slot.index, job.id)
                        try:
                            slot.process.kill()
                        except Exception:
                            pass
                        slot.process.join(2.0)
                        self._drain(slot, events)
                        self._worker_died(slot, events)
                self._dispatch(events)
            self._emit(events)

    def _drain(self, slot: _Slot, events: list) -> None:
        try:
            while slot.conn.poll():
                msg = slot.conn.recv()
                self._message(slot, msg, events)
        except (EOFError, OSError, ValueError):
            pass
        except Exception:  # an unpicklable / truncated message from a dying worker
            log.exception("worker %d: bad message", slot.index)

    def _message(self, slot: _Slot, msg: tuple, events: list) -> None:
        kind = msg[0]
        if kind == "ready":
            slot.ready = True
            log.info("worker %d ready (pid %s, %.2f s)", slot.index, slot.process.pid,
                     time.monotonic() - slot.started_at)
            return
        job = slot.job
        if job is None or msg[1] != job.seq:
            return  # a late message for a job already settled
        if kind == "meter":  # live readings of the output (the worker sends them as they are measured)
            events.append((job, "meter", msg[2]))
            return
        if kind == "progress":
            fraction = float(min(1.0, max(0.0, msg[2])))
            if fraction > job.progress:
                job.progress = fraction
            if job.reports_progress and job.progress >= job.sent_progress + 0.01:
                job.sent_progress = job.progress
                events.append((job, "progress", job.progress))
            return
        slot.job = None
        self._jobs.pop(job.id, None)
        if kind == "done":
            job.state = "done"
            self.completed += 1
            if job.reports_progress and job.sent_progress < 1.0:
                job.progress = job.sent_progress = 1.0
                events.append((job, "progress", 1.0))
            events.append((job, "done", msg[2]))
        elif kind == "cancelled":
            job.state = "cancelled"
            self.cancelled += 1
            remove_partials(job)
            events.append((job, "cancelled", None))
        else:
            job.state = "error"
            self.failed += 1
            events.append((job, "error", str(msg[2])))

    def _worker_died(self, slot: _Slot, events: list) -> None:
        proc = slot.process
        if proc.is_alive():
            return
        code = proc.exitcode
        job = slot.job
        slot.job = None
        try:
            slot.conn.close()
        except OSError:
            pass
        if job is not None:
            self._jobs.pop(job.id, None)
            if job.cancel_requested:
                job.state = "cancelled"
                self.cancelled += 1
                events.append((job, "cancelled", None))
            else:
                job.state = "error"
                self.failed += 1
                events.append((job, "error", f"worker process died (exit code {code})"))
            remove_partials(job)
        slot.process = None
        slot.early_deaths = slot.early_deaths + 1 if not slot.ready else 0
        slot.ready = False
        if not self._stopping:
            # Not at once: a SIGTERM sent to the whole process group reaches the workers a moment
            # before the server's own handler marks the pool as stopping. A worker that keeps dying
            # before it is ready (a broken install) is retried less and less often.
            delay = min(30.0, 0.3 * 2 ** slot.early_deaths)
            log.warning("worker %d exited (code %s); starting a replacement in %.1f s", slot.index, code, delay)
            slot.respawn_at = time.monotonic() + delay



def remove_partials(job: Job) -> None:
    """Delete the atomic writer's temporaries of the job's outputs, and outputs the job itself created."""
    for out in job.outputs:
        folder, name = os.path.split(out)
        remove_temporaries(folder or ".", dest_name=name)
        if job.state == "cancelled" and out not in job.preexisting and os.path.lexists(out):
            try:
                os.unlink(out)
            except OSError:
                pass


__all__ = ["PRELOAD", "WorkerPool", "remove_partials"]
