"""The visual report as one self-contained HTML file (plots inline as base64 PNG, no scripts, no
external files): for a master, for a mix (its stems, then the master of their sum) and an index
page for a batch.

Every number on a page is printed from the report's own JSON (``to_dict()``), written the way
JSON writes it, in an element whose ``data-key`` names where it comes from (``after.integrated_lufs``,
``settings.eq.mid.gain_db``...): what the page shows is what the JSON says, and a test can check it.
"""

from __future__ import annotations

import base64
import html
import json
import os
from typing import Any, Iterable

from mixai.io.atomic import write_text_atomic
from mixai.report import plots
from mixai.report.timeline import Timeline, trace_file

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 2px 10px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } tr:nth-child(even) { background: #f6f6f6; }
.warn { color: #a04000; } .note { color: #555; } img { max-width: 100%; display: block; margin: 0.5em 0; }
.muted { color: #888; font-size: 0.9em; }
"""


def number(value: Any) -> str:
    """A JSON value as JSON writes it (so ``float(text)`` gives the JSON's number back)."""
    if value is None:
        return "null"
    return json.dumps(value)


def cell(key: str, value: Any) -> str:
    return f'<td class="num" data-key="{html.escape(key)}">{html.escape(number(value))}</td>'


def image(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def page(title: str, body: Iterable[str]) -> str:
    from mixai import __version__

    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(body) + f"\n<p class=\"muted\">mixai {html.escape(__version__)}</p>\n</body></html>\n")


def _get(data: dict, dotted: str) -> Any:
    for part in dotted.split("."):
        data = data[part]
    return data


def _flat(data: dict, prefix: str) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            rows += _flat(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


MEASURES = (  # (label, key in MasterReport.to_dict(), unit)
    ("integrated loudness before", "before.loudness.integrated_lufs", "LUFS"),
    ("integrated loudness after", "after.integrated_lufs", "LUFS"),
    ("target", "settings.output.target_lufs", "LUFS"),
    ("true peak before", "before.peaks.true_peak_dbtp", "dBTP"),
    ("true peak after", "after.true_peak_dbtp", "dBTP"),
    ("ceiling", "settings.output.ceiling_dbtp", "dBTP"),
    ("sample peak after", "after.sample_peak_dbfs", "dBFS"),
    ("loudness range before", "before.loudness.loudness_range_lu", "LU"),
    ("loudness range after", "after.loudness_range_lu", "LU"),
    ("make-up gain", "makeup_gain_db", "dB"),
    ("deepest limiting", "max_limiting_db", "dB"),
    ("model trust", "model_trust", "(1 = full)"),
)


def master_sections(report: Any, timeline: Timeline | None, *, heading: str = "", prefix: str = "") -> list[str]:
    """The body of a master report: what was done, the numbers, the plots, the settings, the
    warnings. ``report`` is a :class:`~mixai.master.report.MasterReport`; ``prefix`` is where its
    JSON sits in the page's JSON (``master.`` in a mix's), put before every ``data-key``."""
    from mixai.master.report import trust_note
    from mixai.settings.scaling import apply_amounts

    data = report.to_dict()
    out = [heading] if heading else []
    out.append("<table>")
    for label, key in (("input", "input"), ("output", "output"), ("predictor", "predictor"), ("target", "target")):
        if data[key] is None:  # a dry run: no output file
            out.append(f'<tr><th>{label}</th><td class="muted">none (dry run)</td></tr>')
        else:
            out.append(f'<tr><th>{label}</th><td data-key="{prefix}{key}">{html.escape(str(data[key]))}</td></tr>')
    out.append("</table>")
    note = trust_note(report.model_trust)
    if data["warnings"] or note:
        out.append("<h2>Warnings</h2><ul>")
        out += [f'<li class="warn" data-key="{prefix}warnings.{i}">{html.escape(w)}</li>' for i, w in enumerate(data["warnings"])]
        if note:
            out.append(f'<li class="note">{html.escape(note)}</li>')
        out.append("</ul>")
    out.append("<h2>Loudness and peaks</h2><table><tr><th></th><th>value</th><th>unit</th></tr>")
    for label, key, unit in MEASURES:
        try:
            value = _get(data, key)
        except (KeyError, TypeError):
            continue
        out.append(f"<tr><th>{html.escape(label)}</th>{cell(prefix + key, value)}<td>{html.escape(unit)}</td></tr>")
    out.append("</table>")
    if timeline is not None:
        out.append("<h2>Spectrum</h2>" + image(plots.spectrum_png(timeline), "long-term spectrum before and after"))
        out.append("<h2>Loudness over time</h2>" + image(plots.loudness_png(timeline), "short-term loudness"))
        if timeline.after is not None:
            out.append("<h2>Peaks and limiting</h2>" + image(plots.peaks_png(timeline), "true peak and limiting"))
    applied = apply_amounts(report.settings).to_dict()
    out.append("<h2>Settings</h2><p class=\"note\">The saved settings keep the full correction; "
               "the amounts scale it, and the last column is what the chain ran with.</p>")
    out.append("<table><tr><th>parameter</th><th>settings</th><th>applied</th></tr>")
    for key, value in _flat(data["settings"], "settings."):
        if key == "settings.schema_version" or key.startswith("settings.amounts."):
            continue
        applied_value = _get(applied, key[len("settings."):])
        out.append(f"<tr><th>{html.escape(key[len('settings.'):])}</th>{cell(prefix + key, value)}"
                   f"{cell(prefix + 'applied.' + key[len('settings.'):], applied_value)}</tr>")
    out.append("</table>")
    amounts = data["settings"].get("amounts")
    if amounts:
        out.append("<table><tr><th>amount</th><th>0..1</th></tr>")
        out += [f"<tr><th>{html.escape(k)}</th>{cell(prefix + 'settings.amounts.' + k, v)}</tr>" for k, v in amounts.items()]
        out.append("</table>")
    return out


def master_page(report: Any, *, reference: str | None = None) -> str:
    """The whole page for a :class:`~mixai.master.report.MasterReport` (with ``report.timeline``
    when the master was traced; a ``reference`` file's spectrum joins the spectrum plot)."""
    timeline = report.timeline
    if timeline is not None and reference is not None:
        timeline.reference = trace_file(reference)
    name = os.path.basename(report.output or report.input)
    return page(f"mixai master report: {name}", [f"<h1>Master report: {html.escape(name)}</h1>",
                                                 *master_sections(report, timeline)])


def mix_page(report: Any) -> str:
    """The page for a :class:`~mixai.mix.report.MixReport`: its stems, then the master of their sum."""
    data = report.to_dict()
    name = os.path.basename(report.output or "mix")
    out = [f"<h1>Mix report: {html.escape(name)}</h1>",
           f'<p>{len(report.stems)} stems, predictor <span data-key="predictor">{html.escape(data["predictor"])}</span>, '
           f'{cell("settings.sample_rate", data["settings"]["sample_rate"]).replace("<td", "<span").replace("</td>", "</span>")} Hz</p>']
    if data["warnings"]:
        out.append("<h2>Warnings</h2><ul>")
        out += [f'<li class="warn" data-key="warnings.{i}">{html.escape(w)}</li>' for i, w in enumerate(data["warnings"])]
        out.append("</ul>")
    out.append("<h2>Stems</h2><table><tr><th>stem</th><th>role</th><th>from</th><th>LUFS in</th><th>fader dB</th>"
               "<th>pan</th><th>reverb send</th><th>dB in mix</th></tr>")
    for i, (stem, entry) in enumerate(zip(data["stems"], data["settings"]["stems"])):
        strip = entry  # the stem's settings are flat beside its name and role in the JSON
        out.append(f"<tr><th>{html.escape(stem['name'])}</th><td>{html.escape(stem['role'])}</td>"
                   f"<td>{html.escape(stem['role_from'])}</td>{cell(f'stems.{i}.lufs', stem['lufs'])}"
                   f"{cell(f'settings.stems.{i}.gain_db', strip['gain_db'])}"
                   f"{cell(f'settings.stems.{i}.pan', strip['pan'])}"
                   f"{cell(f'settings.stems.{i}.reverb_send', strip['reverb_send'])}"
                   f"{cell(f'stems.{i}.rel_db_in_mix', stem['rel_db_in_mix'])}</tr>")
    out.append("</table>")
    if report.master is not None:
        out += master_sections(report.master, report.master.timeline,
                               heading="<h2>The master of the sum</h2>", prefix="master.")
    return page(f"mixai mix report: {name}", out)


def batch_page(records: list[dict], reports: dict[str, str], *, target_lufs: float | None = None) -> str:
    """The index page of a batch: every item's last manifest record (status, measured loudness
    and true peak, seconds, error) with a link to its own report (``reports``: key -> relative
    path), and the loudness and true peak of all finished items in one plot."""
    done = [r for r in records if r.get("status") == "ok" and r.get("lufs") is not None]
    out = [f"<h1>Batch report: {len(records)} items</h1>",
           f"<p>{len(done)} done, {len(records) - len(done)} failed.</p>"]
    if done:
        out.append(image(plots.batch_png([r["key"] for r in done], [r["lufs"] for r in done],
                                         [r["true_peak_dbtp"] for r in done], target_lufs), "batch overview"))
    out.append("<table><tr><th>item</th><th>status</th><th>LUFS</th><th>dBTP</th><th>seconds</th><th>report</th>"
               "<th>note</th></tr>")
    for i, r in enumerate(records):
        link = reports.get(r["key"])
        link_html = f'<a href="{html.escape(link)}">report</a>' if link else ""
        note = r.get("error") or r.get("redone_because") or ""
        out.append(f"<tr><th>{html.escape(r['key'])}</th><td data-key=\"items.{i}.status\">"
                   f"{html.escape(str(r.get('status')))}</td>{cell(f'items.{i}.lufs', r.get('lufs'))}"
                   f"{cell(f'items.{i}.true_peak_dbtp', r.get('true_peak_dbtp'))}{cell(f'items.{i}.seconds', r.get('seconds'))}"
                   f"<td>{link_html}</td><td class=\"{'warn' if r.get('error') else 'note'}\">{html.escape(note)}</td></tr>")
    out.append("</table>")
    return page("mixai batch report", out)


def write_master_report(report: Any, path: str | os.PathLike, *, reference: str | None = None,
                        overwrite: bool = False) -> None:
    """Write :func:`master_page` atomically to ``path``."""
    write_text_atomic(path, master_page(report, reference=reference), overwrite=overwrite)


def write_mix_report(report: Any, path: str | os.PathLike, *, overwrite: bool = False) -> None:
    write_text_atomic(path, mix_page(report), overwrite=overwrite)


def write_batch_report(records: list[dict], reports: dict[str, str], path: str | os.PathLike, *,
                       target_lufs: float | None = None) -> None:
    write_text_atomic(path, batch_page(records, reports, target_lufs=target_lufs), overwrite=True)


__all__ = ["number", "cell", "image", "page", "MEASURES", "master_sections", "master_page", "mix_page", "batch_page",
           "write_master_report", "write_mix_report", "write_batch_report"]
