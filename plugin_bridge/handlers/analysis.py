"""Jobs that read audio and answer with JSON: ``/mixai/analyze id path`` -> ``/mixai/analysis``,
``/mixai/suggest id path [target]`` -> ``/mixai/settings``."""

from __future__ import annotations

from typing import Any

from plugin_bridge.handlers.session import Session, master_options
from plugin_bridge.job import JobKind, Progress
from plugin_bridge.paths import Roots
from plugin_bridge.protocol import PREFIX, Reply, arity, job_id, text, to_json


def run_analyze(params: dict[str, Any], roots: Roots, progress: Progress) -> dict[str, Any]:
    from mixai.analysis.measure import analyze

    return {"analysis": analyze(roots.input_file(params["input"])).to_dict()}


def run_suggest(params: dict[str, Any], roots: Roots, progress: Progress) -> dict[str, Any]:
    """Predicted settings for ``input`` (or the settings of a saved ``settings_file``, as they are)."""
    if params.get("settings_file"):
        from mixai.settings.schema import load_settings

        settings = load_settings(roots.input_file(params["settings_file"]))
        return {"settings": settings.to_dict(), "input_lufs": params.get("input_lufs")}
    from mixai.master.pipeline import suggestion

    options = master_options(params)
    path = roots.input_file(params["input"])
    target = params.get("target")
    if params.get("target_is_path"):
        target = roots.input_file(target)
    found = suggestion(path, target=target, predictor=params.get("predictor", "auto"), options=options)
    return {"settings": found.settings.to_dict(), "input_lufs": found.analysis.integrated_lufs,
            "model_trust": found.model_trust}


ANALYZE = JobKind("analyze", run_analyze,
                  lambda job, result: [(job.reply_to, f"{PREFIX}/analysis", (job.id, to_json(result["analysis"])))])
SUGGEST = JobKind("suggest", run_suggest,
                  lambda job, result: [(job.reply_to, f"{PREFIX}/settings", (job.id, to_json(result["settings"])))])


def analyze(session: Session, args: list, sender) -> list[Reply]:
    arity(args, 2, 2, "id path")
    ident = job_id(args[0])
    path = session.roots.input_file(text(args[1], "path"))
    return session.submit(ANALYZE, ident, sender, {"input": path}, inputs=(path,))


def suggest(session: Session, args: list, sender) -> list[Reply]:
    arity(args, 2, 3, "id path [target]")
    ident = job_id(args[0])
    path = session.roots.input_file(text(args[1], "path"))
    opts, bridge = session.job_options({})
    target, is_path = session.resolve_target(text(args[2], "target") if len(args) > 2 else None, opts)
    params = {"input": path, "target": target, "target_is_path": is_path,
              "predictor": bridge["predictor"], "options": opts}
    return session.submit(SUGGEST, ident, sender, params, inputs=(path, target) if is_path else (path,))


__all__ = ["run_analyze", "run_suggest", "ANALYZE", "SUGGEST", "analyze", "suggest"]
