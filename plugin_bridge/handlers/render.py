"""Jobs that write audio, with progress: ``/mixai/master id input output [options-json]`` and
``/mixai/mix id folder output [options-json]`` -> ``/mixai/progress``... ``/mixai/done``; while the
output is written, its live readings go to the meter subscribers (:mod:`plugin_bridge.handlers.metering`)."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from plugin_bridge.handlers.session import Session, master_options
from plugin_bridge.job import Job, JobKind, Progress
from plugin_bridge.paths import Roots
from plugin_bridge.protocol import PREFIX, BadRequest, Outgoing, Reply, arity, job_id, json_object, text, to_json


def run_master(params: dict[str, Any], roots: Roots, progress: Progress) -> dict[str, Any]:
    from mixai.master.pipeline import master_file

    options = master_options(params)
    src = roots.input_file(params["input"])
    target = params.get("target")
    inputs = [src]
    if params.get("target_is_path"):
        target = roots.input_file(target)
        inputs.append(target)
    out = roots.output_file(params["output"], inputs=inputs)
    report = master_file(src, out, target=target, predictor=params.get("predictor", "auto"),
                         options=options, progress=progress, meter=getattr(progress, "meter", None))
    summary = report.to_dict()
    summary["summary"] = report.summary()
    return {"output": out, "report": summary}


def run_mix(params: dict[str, Any], roots: Roots, progress: Progress) -> dict[str, Any]:
    from mixai.mix.mixer import mix_files
    from mixai.mix.sources import collect_stem_paths

    options = master_options(params)
    folder = roots.input_dir(params["input"])
    stems = [str(p) for p in collect_stem_paths(folder)]
    # every stem must itself stay under a root: a link in the folder may point anywhere
    resolved = [roots.input_file(p) for p in stems]
    out = roots.output_file(params["output"], inputs=resolved)
    report = mix_files(stems, out, options=options, progress=progress, meter=getattr(progress, "meter", None))
    summary = report.to_dict()
    summary["summary"] = report.summary()
    return {"output": out, "report": summary}


def done(job: Job, result: dict[str, Any]) -> list[Outgoing]:
    return [(job.reply_to, f"{PREFIX}/done", (job.id, result["output"], to_json(result["report"])))]


MASTER = JobKind("master", run_master, done, reports_progress=True)
MIX = JobKind("mix", run_mix, done, reports_progress=True)


def mix_available() -> bool:
    try:
        return importlib.util.find_spec("mixai.mix") is not None
    except (ImportError, ValueError):
        return False


def master(session: Session, args: list, sender) -> list[Reply]:
    arity(args, 3, 4, "id input output [options-json]")
    ident = job_id(args[0])
    src = session.roots.input_file(text(args[1], "input"))
    opts, bridge = session.job_options(json_object(args[3]) if len(args) > 3 else {})
    target, is_path = session.resolve_target(bridge["target"], opts)
    inputs = (src, target) if is_path else (src,)
    out = session.roots.output_file(text(args[2], "output"), inputs=inputs)
    params = {"input": src, "output": out, "target": target, "target_is_path": is_path,
              "predictor": bridge["predictor"], "options": opts}
    return session.submit(MASTER, ident, sender, params, inputs=inputs, outputs=(out,))


def mix(session: Session, args: list, sender) -> list[Reply]:
    arity(args, 3, 4, "id folder output [options-json]")
    ident = job_id(args[0])
    if not mix_available():
        raise BadRequest("mix is not available")
    folder = session.roots.input_dir(text(args[1], "folder"))
    opts, _bridge = session.job_options(json_object(args[3]) if len(args) > 3 else {}, allowed_extra=())
    try:
        stems = tuple(os.path.join(folder, n) for n in sorted(os.listdir(folder))[:1024])
    except OSError as exc:
        raise BadRequest(f"cannot list {args[1]}: {exc.strerror}") from None
    out = session.roots.output_file(text(args[2], "output"), inputs=stems)
    params = {"input": folder, "output": out, "options": opts}
    return session.submit(MIX, ident, sender, params, inputs=(folder, *stems), outputs=(out,))


__all__ = ["run_master", "run_mix", "done", "MASTER", "MIX", "mix_available", "master", "mix"]
