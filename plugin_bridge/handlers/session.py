"""The bridge's session: its roots, its defaults (``/mixai/get|set/...``), the job pool, and what
every job request shares: options overlaid on the defaults, the target, submitting the job.

The domain handlers (:mod:`~plugin_bridge.handlers.control`, ``analysis``, ``render``, ``daw``)
are functions of a :class:`Session` and their arguments; :class:`plugin_bridge.handlers.router.Bridge`
is the session that routes addresses to them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Any, Callable

from mixai.io.audio import BIT_DEPTHS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from mixai.master.options import ASPECT_OPTIONS, MasterOptions
from mixai.predict import PREDICTOR_CHOICES
from mixai.predict.target import builtin_profiles
from mixai.settings.presets import PRESETS
from mixai.settings.schema import Output
from plugin_bridge.job import Job, JobKind
from plugin_bridge.meter import MeterHub
from plugin_bridge.paths import Roots
from plugin_bridge.protocol import PREFIX, BadRequest, Reply, integer, number, osc_safe, text

log = logging.getLogger("plugin_bridge.handlers")

MASTER_OPTION_FIELDS = tuple(f.name for f in dataclasses.fields(MasterOptions))
BRIDGE_OPTION_KEYS = ("predictor", "target")
SESSION_OPTIONS = ("target_lufs", "ceiling_dbtp", "preset", "amount", "predictor")
# per-aspect amounts: session values set with /mixai/amount/<aspect>; options-json keys eq_amount...
AMOUNT_ASPECTS = tuple(ASPECT_OPTIONS.values())
AMOUNT_OPTIONS = tuple(ASPECT_OPTIONS)
PREDICTORS = PREDICTOR_CHOICES
SAMPLE_RATE_RANGE = (MIN_SAMPLE_RATE, MAX_SAMPLE_RATE)
OUTPUT_RANGES = {f.name: f.metadata["range"] for f in dataclasses.fields(Output) if "range" in f.metadata}

Send = Callable[[tuple[str, int], str, tuple[Any, ...]], None]


def master_options(params: dict[str, Any]) -> MasterOptions:
    """The validated ``options`` of a job's params, as the library takes them (in the worker)."""
    return MasterOptions(**(params.get("options") or {}))


class Session:
    """Roots, defaults, the pool and the counters of one running bridge."""

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
        self.amounts: dict[str, float] = {aspect: 1.0 for aspect in AMOUNT_ASPECTS}
        self.meters = MeterHub()  # live metering subscribers
        self.requests = 0
        self.errors = 0

    def reply_address(self, sender: tuple[str, int]) -> tuple[str, int]:
        """Replies go to the sender's host on the reply port (0: back to the sender's own port)."""
        return (sender[0], self.reply_port or sender[1])

    def error(self, ident: str, address: Any, message: str) -> Reply:
        self.errors += 1
        address = address if isinstance(address, str) else ""
        log.debug("error reply: %s %s: %s", ident, address, message)
        return (f"{PREFIX}/error", (osc_safe(ident), osc_safe(address[:256]), osc_safe(message[:1024])))

    # --- defaults ---------------------------------------------------------------------------------
    def session_defaults(self) -> dict[str, Any]:
        return {name: self.effective(name) for name in SESSION_OPTIONS}

    def effective(self, name: str) -> Any:
        value = self.defaults[name]
        if value is None:  # target_lufs / ceiling_dbtp: from the preset
            return float(getattr(PRESETS[self.defaults["preset"]], name))
        return value

    def preset(self, value: Any) -> str:
        name = text(value, "preset").lower()
        if name not in PRESETS:
            raise BadRequest(f"unknown preset {value!r} (choose from {', '.join(PRESETS)})")
        return name

    def predictor(self, value: Any) -> str:
        name = text(value, "predictor").lower()
        if name not in PREDICTORS:
            raise BadRequest(f"unknown predictor {value!r} (choose from {', '.join(PREDICTORS)})")
        return name

    # --- what job requests share ------------------------------------------------------------------
    def job_options(self, extra: dict[str, Any], *, allowed_extra: tuple[str, ...] = BRIDGE_OPTION_KEYS
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Session defaults overlaid with a client's options-json.

        Returns (MasterOptions keyword arguments, bridge keys such as predictor and target).
        Unknown keys, wrong types and out-of-range values raise BadRequest.
        """
        opts: dict[str, Any] = {k: self.defaults[k] for k in ("target_lufs", "ceiling_dbtp", "preset", "amount")}
        opts.update({option: self.amounts[aspect] for option, aspect in ASPECT_OPTIONS.items()})
        bridge: dict[str, Any] = {"predictor": self.defaults["predictor"], "target": None}
        for key, value in extra.items():
            if key in ("target_lufs", "ceiling_dbtp"):
                opts[key] = None if value is None else number(value, key, *OUTPUT_RANGES[key])
            elif key == "preset":
                opts[key] = self.preset(value)
            elif key == "amount" or key in AMOUNT_OPTIONS:
                opts[key] = number(value, key, 0.0, 1.0)
            elif key == "sample_rate":
                opts[key] = None if value is None else integer(value, key, *SAMPLE_RATE_RANGE)
            elif key == "bit_depth":
                opts[key] = integer(value, key, 16, 32)
                if opts[key] not in BIT_DEPTHS:
                    raise BadRequest(f"bit_depth must be one of {BIT_DEPTHS}")
            elif key in ("overwrite", "allow_truncated"):
                if not isinstance(value, bool):
                    raise BadRequest(f"{key} must be true or false")
                opts[key] = value
            elif key == "predictor" and key in allowed_extra:
                bridge[key] = self.predictor(value)
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
        if target.lower() in PRESETS:
            opts["preset"] = target.lower()
            return None, False
        profiles = builtin_profiles()
        if target in profiles:
            return target, False
        if os.path.splitext(target)[1] or os.sep in target:
            return self.roots.input_file(target), True
        raise BadRequest(f"unknown target {target!r}: not a preset ({', '.join(PRESETS)}), "
                         f"a profile ({', '.join(profiles)}) or an audio file")

    def submit(self, kind: JobKind, ident: str, sender: tuple[str, int], params: dict[str, Any], *,
               inputs: tuple[str, ...] = (), outputs: tuple[str, ...] = (),
               extra: dict[str, Any] | None = None) -> list[Reply]:
        """Queue a job of ``kind`` (never blocks; Busy / JobConflict when it cannot); no reply now."""
        job = Job(id=ident, kind=kind.name, params=params, reply_to=self.reply_address(sender),
                  inputs=inputs, outputs=outputs, extra=extra or {}, reports_progress=kind.reports_progress)
        self.pool.submit(job)
        log.info("job %r: %s queued", ident, kind.name)
        return []


__all__ = ["MASTER_OPTION_FIELDS", "BRIDGE_OPTION_KEYS", "SESSION_OPTIONS", "AMOUNT_ASPECTS", "AMOUNT_OPTIONS",
           "PREDICTORS", "SAMPLE_RATE_RANGE",
           "OUTPUT_RANGES", "Send", "master_options", "Session"]
