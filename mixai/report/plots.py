"""The report's pictures, drawn with matplotlib (Agg, no display, no pyplot state) into PNG bytes.

matplotlib is imported inside the functions: only a run that asks for a report pays for it.
"""

from __future__ import annotations

import io

import numpy as np

from mixai.report.timeline import Timeline, Trace

BEFORE, AFTER, REFERENCE, LINE = "#7a7a7a", "#1f6fb4", "#d9822b", "#c0392b"
SHORT_TERM_STEPS = 30  # a short-term value is the 3 s window ending at its step
MOMENTARY_STEPS = 4    # a momentary value, the 400 ms window


def _figure(width_in: float, height_in: float, rows: int = 1, **kw):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, squeeze=False, **kw)[:, 0]
    return fig, axes


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def smoothed_db(trace: Trace, fraction: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """The spectrum averaged (in power) over 1/``fraction``-octave bands from 20 Hz up."""
    nyquist = trace.freqs_hz[-1]
    centres = 20.0 * 2.0 ** (np.arange(0, int(fraction * np.log2(nyquist / 20.0))) / fraction)
    power = 10.0 ** (trace.spectrum_db / 10.0)
    half = 2.0 ** (0.5 / fraction)
    out = []
    for c in centres:
        band = power[(trace.freqs_hz >= c / half) & (trace.freqs_hz < c * half)]
        if band.size == 0:  # a band narrower than the FFT's bins (the lowest ones): the nearest bin
            band = power[np.argmin(np.abs(trace.freqs_hz - c)):][:1]
        out.append(10 * np.log10(max(float(band.mean()), 1e-20)))
    return centres, np.array(out)


def spectrum_png(t: Timeline) -> bytes:
    """Long-term spectrum before / after (/ reference), and after minus before with the level
    change taken out (the median difference): what the EQ did to the balance."""
    fig, (top, bottom) = _figure(9.0, 6.0, 2, sharex=True)
    f, before = smoothed_db(t.before)
    top.semilogx(f, before, color=BEFORE, label="before")
    if t.after is not None:
        _, after = smoothed_db(t.after)
        top.semilogx(f, after, color=AFTER, label="after")
        diff = after - before
        diff -= np.nanmedian(diff)
        bottom.semilogx(f, diff, color=AFTER, label="after - before (level change removed)")
    if t.reference is not None:
        fr, ref = smoothed_db(t.reference)
        top.semilogx(fr, ref, color=REFERENCE, label="reference")
    bottom.axhline(0.0, color=BEFORE, linewidth=0.8)
    top.set_ylabel("level (dB, 1/6 octave)")
    bottom.set_ylabel("change (dB)")
    bottom.set_xlabel("frequency (Hz)")
    top.set_title("long-term spectrum")
    for ax in (top, bottom):
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower left", fontsize=8)
    bottom.set_xlim(20.0, f[-1] if f.size else 20000.0)
    return _png(fig)


def _times(values: np.ndarray, step_s: float, offset_steps: int) -> np.ndarray:
    return (np.arange(values.size) + offset_steps) * step_s


def loudness_png(t: Timeline) -> bytes:
    """Short-term (3 s) and momentary (400 ms) loudness every 100 ms, before and after, with the target."""
    fig, (ax,) = _figure(9.0, 3.6)
    for trace, colour, label in ((t.before, BEFORE, "before"), (t.after, AFTER, "after")):
        if trace is None:
            continue
        if trace.momentary_lufs is not None:
            m = np.where(trace.momentary_lufs > -70.0, trace.momentary_lufs, np.nan)
            ax.plot(_times(m, t.step_s, MOMENTARY_STEPS), m, color=colour, linewidth=0.6, alpha=0.45)
        values = np.where(trace.short_term_lufs > -70.0, trace.short_term_lufs, np.nan)
        ax.plot(_times(values, t.step_s, SHORT_TERM_STEPS), values, color=colour, linewidth=1.8,
                label=f"{label}: short-term (thin: momentary)")
    ax.axhline(t.target_lufs, color=LINE, linestyle="--", label=f"target {t.target_lufs:g} LUFS")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("LUFS")
    ax.set_title("short-term loudness")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def peaks_png(t: Timeline) -> bytes:
    """The output's true peak every 100 ms against the ceiling, and the limiter's reduction."""
    fig, (top, bottom) = _figure(9.0, 5.0, 2, sharex=True)
    if t.after is not None and t.after.true_peak_dbtp is not None:
        peaks = t.after.true_peak_dbtp
        top.plot(_times(peaks, t.step_s, 1), peaks, color=AFTER, label="true peak (4x, per 100 ms)")
    top.axhline(t.ceiling_dbtp, color=LINE, linestyle="--", label=f"ceiling {t.ceiling_dbtp:g} dBTP")
    top.set_ylim(bottom=max(-60.0, top.get_ylim()[0]))
    top.set_ylabel("dBTP")
    top.set_title("true peak and limiter gain reduction")
    if t.limiting_db is not None:
        bottom.fill_between(_times(t.limiting_db, t.step_s, 1), -t.limiting_db, 0.0, color=AFTER, alpha=0.6,
                            step="pre", label="limiter gain reduction")
    deepest = float(t.limiting_db.max()) if t.limiting_db is not None and t.limiting_db.size else 0.0
    bottom.set_ylim(-max(1.0, 1.1 * deepest), 0.1)  # a readable scale when the limiter barely worked
    bottom.set_ylabel("dB")
    bottom.set_xlabel("time (s)")
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def batch_png(names: list[str], lufs: list[float], peaks_dbtp: list[float], target_lufs: float | None) -> bytes:
    """Each finished item's measured loudness and true peak (one bar pair an item)."""
    fig, (ax,) = _figure(9.0, max(2.5, 0.3 * len(names) + 1.5))
    y = np.arange(len(names))
    ax.barh(y - 0.2, lufs, height=0.4, color=AFTER, label="integrated loudness (LUFS)")
    ax.barh(y + 0.2, peaks_dbtp, height=0.4, color=REFERENCE, label="true peak (dBTP)")
    if target_lufs is not None:
        ax.axvline(target_lufs, color=LINE, linestyle="--", label=f"target {target_lufs:g} LUFS")
    ax.set_yticks(y, labels=names, fontsize=8)
    ax.invert_yaxis()
    ax.set_title("batch: loudness and true peak per item, measured on the written files")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return _png(fig)


__all__ = ["smoothed_db", "spectrum_png", "loudness_png", "peaks_png", "batch_png"]
