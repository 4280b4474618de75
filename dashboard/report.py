"""The printable one-page session report, as HTML (inline SVG charts, print CSS) and as PDF, without a browser.

Both come from ``db.report.SessionReport`` and show the same things: title, date, times and duration, students,
the overall mood distribution, the class timeline, the teacher's notes and the flags (who needed attention, why,
from when to when). Charts are drawn by matplotlib (already a dependency): SVG for the HTML, the same figure code on
one A4 page for the PDF. No image of a student appears anywhere; the charts show class-wide shares only. A
presence-mode session's report shows presence instead: students present and visible over time, and its
student-intervals seen / camera off / face not visible; no emotion chart, no word of mood.

Student labels, notes and reasons can be text typed by participants. In the HTML every one goes through
``html.escape``; in the PDF they are drawn by matplotlib with ``parse_math=False`` (a ``$`` in a name must not
start a formula) and never reach a chart. Long lists are cut so the report stays on one page, saying how many rows
were left out and where to find them all (the CSV export).
"""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")  # no display; must come before pyplot's first import anywhere in the process

import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dashboard.colours import EMOTION_COLOURS
from dashboard.figures import emotion_shares
from dashboard.formatting import fmt_datetime, fmt_duration, fmt_time, local_naive, to_local
from dashboard.rules import rule_label
from db.emotions import EMOTIONS
from db.report import ReportFlag, ReportNote, SessionReport

MAX_NOTES = 8
MAX_FLAGS = 14
MAX_CHARS = 100
MAX_POINTS = 240  # a printed chart is ~7 inches wide: a 3-hour class's 1,080 intervals are drawn as 216 bins
HONESTY = (
    "Emotion estimates are probabilistic: the model guesses from facial expressions and is often wrong about one "
    "face at one moment. Read a flag as a reason to look back, not a verdict."
)
PRESENCE_HONESTY = (
    "Presence mode: no emotion, expression or mood was inferred. A face can be missed (turned away, poor light, a "
    "small tile), so \"face not visible\" is not \"absent\". Read a flag as a reason to look back, not a verdict."
)
PRESENCE_LABELS = {"seen": "seen", "camera_off": "camera off", "face_not_visible": "face not visible"}
PRESENCE_COLOURS = {"seen": "#16a34a", "camera_off": "#9ca3af", "face_not_visible": "#f59e0b"}
RC: Any = {"pdf.fonttype": 3, "svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 8}


@dataclass(frozen=True)
class Line:
    """One row of the notes or flags list, as plain strings."""

    when: str
    who: str
    text: str


def clip(text: str, limit: int = MAX_CHARS) -> str:
    text = " ".join(text.split())  # a pasted newline must not break the one-page layout
    return text if len(text) <= limit else text[: limit - 1] + "…"


def facts(report: SessionReport, tz: dt.tzinfo | None = None) -> list[tuple[str, str]]:
    """The header's label/value pairs, in order."""
    start = to_local(report.started_at, tz)
    end = report.ended_at or report.last_interval_end
    times = f"{start:%H:%M}–{to_local(end, tz):%H:%M}" if end is not None else f"from {start:%H:%M}"
    pairs = [
        ("Date", f"{start:%Y-%m-%d}"),
        ("Time", times + ("" if report.ended_at else " (still running)")),
        ("Duration", fmt_duration(report.duration_s)),
        ("Students", str(report.students)),
        ("Intervals", str(report.intervals)),
        ("Mode", "presence (no emotion inferred)" if report.mode == "presence" else "expressions"),
    ]
    if report.teacher:
        pairs.append(("Teacher", report.teacher))
    if report.classroom:
        pairs.append(("Classroom", report.classroom))
    return pairs


def note_lines(notes: Sequence[ReportNote], tz: dt.tzinfo | None = None) -> list[Line]:
    return [Line(fmt_time(n.at, tz)[:5], n.author or "", clip(n.text)) for n in notes]


def flag_lines(flags: Sequence[ReportFlag], tz: dt.tzinfo | None = None) -> list[Line]:
    lines = []
    for f in flags:
        end = fmt_time(f.end, tz)[:5] if f.end is not None else "open"
        who = f.student if f.student is not None else "Whole class"
        lines.append(
            Line(f"{fmt_time(f.start, tz)[:5]}–{end}", clip(who, 24), clip(f"{rule_label(f.rule)}: {f.reason}"))
        )
    return lines


def _more(n: int, what: str) -> str:
    return f"… and {n} more {what} (all of them in the CSV export)" if n > 0 else ""


# --- charts -----------------------------------------------------------------------------------------------------------


def coarsen(timeline: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """At most ``max_points`` rows: runs of consecutive intervals merged, their counts and students seen summed (so
    each bin's shares are the shares of all its student-intervals), starting at the run's first interval."""
    n = len(timeline)
    if n <= max_points:
        return timeline
    size = -(-n // max_points)
    bins = np.arange(n) // size
    counted = timeline[["students_seen", *EMOTIONS]].groupby(bins).sum()
    counted.insert(0, "interval_start", timeline["interval_start"].groupby(bins).first())
    return counted.reset_index(drop=True)


def draw_timeline(ax: Axes, report: SessionReport, tz: dt.tzinfo | None = None) -> None:
    timeline = report.timeline
    if timeline.empty:
        ax.text(0.5, 0.5, "No intervals recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    timeline = coarsen(timeline, MAX_POINTS)
    x = local_naive(timeline["interval_start"], tz).tolist()
    shares = emotion_shares(timeline)
    ax.stackplot(
        x,
        *(shares[e].to_numpy() for e in EMOTIONS),
        labels=list(EMOTIONS),
        colors=[EMOTION_COLOURS[e] for e in EMOTIONS],
        linewidth=0,
    )
    _note_markers(ax, report, tz)
    ax.set_ylim(0, 1)
    ax.set_xlim(x[0], x[-1] if len(x) > 1 else x[0] + dt.timedelta(seconds=1))
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_ylabel("share of students")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=len(EMOTIONS), frameon=False, fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)


def headings(report: SessionReport) -> tuple[str, str]:
    """The two charts' headings: a presence-mode session's report never speaks of mood."""
    if report.mode == "presence":
        return "Presence over time", "Presence overall"
    return "Class mood over time", "Overall mood"


def honesty(report: SessionReport) -> str:
    return PRESENCE_HONESTY if report.mode == "presence" else HONESTY


def _note_markers(ax: Axes, report: SessionReport, tz: dt.tzinfo | None) -> None:
    for note in report.notes:  # the teacher's notes as markers on the chart (times only: the text is listed below)
        ax.axvline(
            mdates.date2num(to_local(note.at, tz).replace(tzinfo=None)), color="#111827", linewidth=0.8, linestyle="--"
        )


def draw_presence_timeline(ax: Axes, report: SessionReport, tz: dt.tzinfo | None = None) -> None:
    """Presence mode: students present and students with a visible face, per interval (step lines)."""
    timeline = report.presence
    if timeline is None or timeline.empty:
        ax.text(0.5, 0.5, "No intervals recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    x = local_naive(timeline["interval_start"], tz).tolist()
    visible = timeline["students_visible"].astype(float)
    present = timeline["students_present"].astype(float).fillna(visible)
    ax.step(x, present.to_numpy(), where="post", color="#2563eb", linewidth=1.5, label="present")
    ax.step(x, visible.to_numpy(), where="post", color="#16a34a", linewidth=1.5, label="face visible")
    _note_markers(ax, report, tz)
    ax.set_ylim(0, max(1.0, float(present.max())) * 1.1)
    ax.set_xlim(x[0], x[-1] if len(x) > 1 else x[0] + dt.timedelta(seconds=1))
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_ylabel("students")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False, fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)


def draw_presence_totals(ax: Axes, report: SessionReport) -> None:
    """Presence mode: the session's student-intervals by state (seen, camera off, face not visible)."""
    totals = report.presence_totals or {}
    total = sum(totals.values())
    states = list(PRESENCE_LABELS)[::-1]
    shares = [totals.get(k, 0) / total if total else 0.0 for k in states]
    ax.barh([PRESENCE_LABELS[k] for k in states], shares, color=[PRESENCE_COLOURS[k] for k in states])
    for i, k in enumerate(states):
        ax.text(shares[i] + 0.01, i, f"{shares[i]:.0%} ({totals.get(k, 0):,})", va="center", fontsize=7)
    ax.set_xlim(0, 1.15)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("share of student-intervals", fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=7)


def draw_charts(timeline_ax: Axes, distribution_ax: Axes, report: SessionReport, tz: dt.tzinfo | None) -> None:
    """Both charts, for the session's mode: no emotion chart for a presence-mode session."""
    if report.mode == "presence":
        draw_presence_timeline(timeline_ax, report, tz)
        draw_presence_totals(distribution_ax, report)
    else:
        draw_timeline(timeline_ax, report, tz)
        draw_distribution(distribution_ax, report)


def draw_distribution(ax: Axes, report: SessionReport) -> None:
    shares = report.shares()
    names = list(EMOTIONS)[::-1]
    ax.barh(names, [shares[e] for e in names], color=[EMOTION_COLOURS[e] for e in names])
    for i, e in enumerate(names):
        ax.text(shares[e] + 0.01, i, f"{shares[e]:.0%} ({report.totals[e]:,})", va="center", fontsize=7)
    ax.set_xlim(0, 1.15)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=7)


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # inline: drop the XML declaration and doctype


def chart_svgs(report: SessionReport, tz: dt.tzinfo | None = None) -> tuple[str, str]:
    with matplotlib.rc_context(RC):
        timeline = Figure(figsize=(7.2, 2.5))
        distribution = Figure(figsize=(3.4, 1.9))
        draw_charts(timeline.add_subplot(), distribution.add_subplot(), report, tz)
        return _svg(timeline), _svg(distribution)


# --- HTML -------------------------------------------------------------------------------------------------------------

CSS = """
@page { size: A4; margin: 10mm; }
body { font: 11px/1.35 system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif; color: #1f2933;
       max-width: 190mm; margin: 0 auto; }
h1 { font-size: 18px; margin: 0 0 2px; } h2 { font-size: 13px; margin: 10px 0 3px; }
.facts { display: flex; flex-wrap: wrap; gap: 2px 14px; margin: 0 0 6px; }
.facts dt { font-weight: 600; } .facts div { display: flex; gap: 4px; } .facts dd { margin: 0; }
svg { max-width: 100%; height: auto; }
.charts { display: flex; gap: 8px; align-items: flex-start; } .charts figure { margin: 0; }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 1px 6px 1px 0;
  vertical-align: top; border-bottom: 1px solid #e4e7eb; } th { font-weight: 600; }
.muted { color: #616e7c; } .honesty { font-size: 9px; color: #616e7c; margin-top: 8px; }
.print { margin: 6px 0; } @media print { .print { display: none; } body { max-width: none; } }
"""


def _table(headers: Sequence[str], lines: Sequence[Line], table_id: str, empty: str, more: str) -> str:
    if not lines:
        return f'<p class="muted" id="{table_id}">{html.escape(empty)}</p>'
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in (ln.when, ln.who, ln.text)) + "</tr>"
        for ln in lines
    )
    tail = f'<p class="muted">{html.escape(more)}</p>' if more else ""
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{tail}'


def render_html(report: SessionReport, tz: dt.tzinfo | None = None) -> str:
    """A self-contained page (no script, no external resource) that prints on one A4 page."""
    timeline_svg, distribution_svg = chart_svgs(report, tz)
    notes, flags = note_lines(report.notes, tz), flag_lines(report.flags, tz)
    fact_html = "".join(f"<div><dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd></div>" for k, v in facts(report, tz))
    title = html.escape(report.name)
    over_time, overall = (html.escape(h) for h in headings(report))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ClassMood report · {title}</title>
<link rel="icon" href="data:,"><style>{CSS}</style></head>
<body>
<h1 id="report-title">{title}</h1>
<dl class="facts" id="report-facts">{fact_html}</dl>
<div class="charts">
<figure id="report-timeline"><h2>{over_time}</h2>{timeline_svg}</figure>
</div>
<div class="charts">
<figure id="report-distribution"><h2>{overall}</h2>{distribution_svg}</figure>
<section style="flex:1"><h2>Teacher's notes</h2>
{
        _table(
            ("Time", "Author", "Note"),
            notes[:MAX_NOTES],
            "report-notes",
            "No notes.",
            _more(len(notes) - MAX_NOTES, "notes"),
        )
    }
</section>
</div>
<h2>Needed attention</h2>
{
        _table(
            ("Time", "Who", "Reason"),
            flags[:MAX_FLAGS],
            "report-flags",
            "No attention flags were raised.",
            _more(len(flags) - MAX_FLAGS, "flags"),
        )
    }
<p class="honesty">{html.escape(honesty(report))} Report generated {html.escape(fmt_datetime(dt.datetime.now(dt.UTC), tz))}.</p>
</body></html>
"""


# --- PDF --------------------------------------------------------------------------------------------------------------

A4 = (8.27, 11.69)
ROW = 0.0135  # height of one text row, in figure fraction


def _text(fig: Figure, x: float, y: float, s: str, **kwargs: object) -> None:
    fig.text(x, y, s, parse_math=False, va="top", **kwargs)  # type: ignore[arg-type]


def _rows(fig: Figure, y: float, lines: Sequence[Line], columns: tuple[float, float, float], more: str) -> float:
    for ln in lines:
        for x, cell in zip(columns, (ln.when, ln.who, ln.text), strict=True):
            _text(fig, x, y, cell, fontsize=7.5)
        y -= ROW
    if more:
        _text(fig, columns[0], y, more, fontsize=7.5, color="#616e7c")
        y -= ROW
    return y


def render_pdf(report: SessionReport, tz: dt.tzinfo | None = None, *, image_format: str = "pdf") -> bytes:
    """One A4 page: header, timeline, overall mood, notes, flags, the honesty note. ``image_format="png"`` draws the
    same page as an image (to look at the layout; the report itself is the PDF)."""
    notes, flags = note_lines(report.notes, tz), flag_lines(report.flags, tz)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=A4)
        _text(fig, 0.06, 0.965, clip(report.name, 70), fontsize=16, fontweight="bold")
        pairs = [f"{k}: {v}" for k, v in facts(report, tz)]
        _text(fig, 0.06, 0.943, clip("   ·   ".join(pairs[:5]), 140), fontsize=8.5)
        _text(fig, 0.06, 0.93, clip("   ·   ".join(pairs[5:]), 140), fontsize=8.5)
        over_time, overall = headings(report)
        _text(fig, 0.06, 0.912, over_time, fontsize=11, fontweight="bold")
        _text(fig, 0.06, 0.64, overall, fontsize=11, fontweight="bold")
        draw_charts(fig.add_axes((0.10, 0.70, 0.86, 0.19)), fig.add_axes((0.15, 0.49, 0.42, 0.13)), report, tz)
        y = 0.455
        _text(fig, 0.06, y, "Teacher's notes", fontsize=11, fontweight="bold")
        y -= 0.02
        if notes:
            y = _rows(fig, y, notes[:MAX_NOTES], (0.06, 0.13, 0.27), _more(len(notes) - MAX_NOTES, "notes"))
        else:
            _text(fig, 0.06, y, "No notes.", fontsize=7.5, color="#616e7c")
            y -= ROW
        y -= 0.012
        _text(fig, 0.06, y, "Needed attention", fontsize=11, fontweight="bold")
        y -= 0.02
        if flags:
            _rows(fig, y, flags[:MAX_FLAGS], (0.06, 0.15, 0.36), _more(len(flags) - MAX_FLAGS, "flags"))
        else:
            _text(fig, 0.06, y, "No attention flags were raised.", fontsize=7.5, color="#616e7c")
        generated = fmt_datetime(dt.datetime.now(dt.UTC), tz)
        _text(fig, 0.06, 0.035, f"{honesty(report)} Report generated {generated}.", fontsize=6.5, color="#616e7c", wrap=True)
        buffer = io.BytesIO()
        metadata = {"Title": f"ClassMood report: {report.name}"} if image_format == "pdf" else None
        fig.savefig(buffer, format=image_format, metadata=metadata, dpi=110)
    return buffer.getvalue()
