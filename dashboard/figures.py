"""Figure builders: pure functions from a ``db.queries`` DataFrame to a ``go.Figure``.

They touch neither the database nor Dash, so they are unit-tested without a browser. Numbers go into the figures
as plain lists (not NumPy arrays, which Plotly would ship base64-encoded) so the browser and the tests see the same
values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from dashboard.colours import EMOTION_COLOURS, SEVERITY_COLOURS
from dashboard.formatting import local_naive
from db.emotions import EMOTIONS

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
TIMELINE_HEIGHT = 380
DISTRIBUTION_HEIGHT = 320


def _base_layout(fig: go.Figure, *, height: int) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 56, "r": 16, "t": 32, "b": 40},  # the top margin keeps the mode bar off the plot
        font={"family": FONT, "size": 13},
    )
    return fig


def empty_figure(message: str, *, height: int = DISTRIBUTION_HEIGHT) -> go.Figure:
    """A blank chart that says why it is blank, instead of empty axes."""
    fig = go.Figure()
    fig.add_annotation(
        text=message, showarrow=False, font={"size": 15, "color": "#666"}, x=0.5, y=0.5, xref="paper", yref="paper"
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base_layout(fig, height=height)


def emotion_shares(timeline: pd.DataFrame) -> pd.DataFrame:
    """Each interval's emotion counts divided by the students seen in it; 0 where nobody was seen."""
    counts = timeline[list(EMOTIONS)].astype(float)
    seen = timeline["students_seen"].astype(float)
    return counts.div(seen.where(seen > 0), axis=0).fillna(0.0)


@dataclass(frozen=True)
class FlagSpan:
    """A flag's time range as drawn: local naive times clipped to the chart's points, and its table number."""

    number: int
    x0: pd.Timestamp
    x1: pd.Timestamp
    severity: str


def flag_spans(flags: pd.DataFrame, timeline: pd.DataFrame, *, tz: dt.tzinfo | None = None) -> list[FlagSpan]:
    """Where each flag of ``db.queries.session_flags`` lies on the timeline, numbered 1.. in the frame's order.

    Ranges are clipped to the chart's points (interval starts): an open flag runs to the last point, and no flag
    stretches the x axis past the data. One that starts in the last interval is a zero-width range, drawn as its
    border line. A flag starting after the last interval or ending before the first is left out (the others keep
    their numbers).
    """
    if flags.empty or timeline.empty:
        return []
    points = local_naive(timeline["interval_start"], tz)
    first, last = points.min(), points.max()
    recorded_end = local_naive(timeline["interval_end"], tz).max()
    starts = local_naive(flags["start"], tz)
    ends = local_naive(flags["end"], tz)
    spans = []
    for number, (start, end, severity) in enumerate(zip(starts, ends, flags["severity"], strict=True), start=1):
        if start > recorded_end or (not pd.isna(end) and end < first):
            continue
        x0 = min(max(start, first), last)
        x1 = last if pd.isna(end) else min(max(end, first), last)
        spans.append(FlagSpan(number, x0, max(x0, x1), str(severity)))
    return spans


def _translucent(hex_colour: str, alpha: float) -> str:
    """``#b91c1c`` -> ``rgba(185,28,28,0.16)``: a see-through fill with the line and label kept opaque."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def timeline_figure(
    timeline: pd.DataFrame,
    *,
    tz: dt.tzinfo | None = None,
    uirevision: Hashable | None = None,
    flags: pd.DataFrame | None = None,
) -> go.Figure:
    """Stacked area of the seven emotions' shares of the class per interval (``db.queries.class_timeline``).

    ``uirevision`` should stay the same while one session is shown: Plotly then keeps the user's zoom, pan and
    hidden legend entries when the live page swaps in a figure with a new interval.

    ``flags`` (``db.queries.session_flags``) are drawn as shaded ranges in their severity's colour, each labelled
    with its number in the flags table. Only the number: a student's label never goes into the chart, where Plotly
    would read tags like ``<b>`` in it as formatting.
    """
    if timeline.empty:
        return empty_figure("No intervals recorded yet", height=TIMELINE_HEIGHT)
    x = local_naive(timeline["interval_start"], tz).tolist()
    shares = emotion_shares(timeline)
    fig = go.Figure()
    for emotion in EMOTIONS:
        colour = EMOTION_COLOURS[emotion]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=shares[emotion].tolist(),
                customdata=timeline[emotion].astype(int).tolist(),
                name=emotion,
                mode="lines",
                stackgroup="mood",
                line={"width": 0.5, "color": colour},
                fillcolor=colour,
                hovertemplate=f"{emotion}: %{{y:.0%}} (%{{customdata}} students)<extra></extra>",
            )
        )
    _base_layout(fig, height=TIMELINE_HEIGHT)
    fig.update_layout(
        hovermode="x unified",
        uirevision=uirevision,
        # below the plot, in EMOTIONS order (Plotly reverses stacked traces by default)
        legend={"orientation": "h", "traceorder": "normal", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0},
        margin={"b": 80},
    )
    fig.update_yaxes(title="share of students", tickformat=".0%", range=[0, 1], fixedrange=True)
    fig.update_xaxes(title=None)
    shapes = []
    for span in flag_spans(flags, timeline, tz=tz) if flags is not None else []:
        colour = SEVERITY_COLOURS.get(span.severity, SEVERITY_COLOURS["info"])
        # above the traces: the stacked areas fill the whole plot, so a shape below them would be hidden
        shapes.append(
            {
                "type": "rect",  # what fig.add_vrect makes, set in one go: add_vrect copies the figure per call
                "xref": "x",
                "yref": "y domain",
                "x0": span.x0,
                "x1": span.x1,
                "y0": 0,
                "y1": 1,
                "layer": "above",
                "fillcolor": _translucent(colour, 0.16),
                "line": {"color": colour, "width": 1.5, "dash": "dot"},
                "label": {
                    "text": str(span.number),
                    "textposition": "top left",
                    "font": {"size": 12, "color": colour, "weight": "bold"},
                },
                "name": f"flag {span.number}",
            }
        )
    if shapes:
        fig.update_layout(shapes=shapes)
    return fig


def distribution_figure(timeline: pd.DataFrame) -> go.Figure:
    """Bar per emotion: its share of all student-intervals in ``timeline``'s rows, with the count on the bar.

    Pass the last row for "right now", or the whole timeline for a session's overall mood.
    """
    totals = timeline[list(EMOTIONS)].sum() if not timeline.empty else pd.Series(0, index=list(EMOTIONS))
    total = int(totals.sum())
    if total == 0:
        return empty_figure("No students seen yet")
    counts = [int(totals[e]) for e in EMOTIONS]
    shares = [c / total for c in counts]
    fig = go.Figure(
        go.Bar(
            x=list(EMOTIONS),
            y=shares,
            customdata=counts,
            text=[str(c) for c in counts],
            textposition="outside",
            marker={"color": [EMOTION_COLOURS[e] for e in EMOTIONS]},
            hovertemplate="%{x}: %{y:.0%} (%{customdata})<extra></extra>",
            cliponaxis=False,
        )
    )
    _base_layout(fig, height=DISTRIBUTION_HEIGHT)
    fig.update_layout(showlegend=False)
    # headroom so the count printed above the tallest bar is not clipped
    fig.update_yaxes(tickformat=".0%", range=[0, max(shares) * 1.18], fixedrange=True)
    fig.update_xaxes(fixedrange=True)
    return fig
