"""Figure builders: pure functions from a ``db.queries`` DataFrame to a ``go.Figure``.

They touch neither the database nor Dash, so they are unit-tested without a browser. Per-point numbers go into the
figures as NumPy arrays and times as ISO strings: Plotly checks a Python list element by element, which for a
3-hour session's 1,080 intervals x 7 traces took half a second per chart (timestamps were the worst); arrays are
taken as they are. The browser decodes them into typed arrays, which the browser tests read back with
``Array.from``.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import plotly.graph_objects as go

from dashboard.colours import EMOTION_COLOURS, SEVERITY_COLOURS
from dashboard.formatting import local_naive
from dashboard.mood import mood_series
from db.emotions import EMOTIONS

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
TIMELINE_HEIGHT = 380
DISTRIBUTION_HEIGHT = 320
STUDENT_HEIGHT = 300
COMPARE_HEIGHT = 360
NOTE_COLOUR = "#374151"
NOTE_LABEL_CHARS = 28
MEASURES: dict[str, str] = {
    "score": "mood score (positive − negative)",
    "positive": "positive share (happy)",
    "neutral": "neutral share (neutral, surprise)",
    "negative": "negative share (angry, disgust, fear, sad)",
    **{e: f"{e} share" for e in EMOTIONS},
}


def iso_times(times: pd.Series, tz: dt.tzinfo | None = None) -> Any:
    """UTC times as local wall-clock times to the second, which Plotly draws as they are and sends as ISO strings
    (``2026-01-15T10:00:00``). A ``datetime64[s]`` array: Plotly takes it without checking each element (a list of
    strings costs it three times as long) and copies it in one go (an object array of strings was deep-copied one
    string at a time, ~3 ms per chart of a 3-hour class)."""
    return local_naive(times, tz).to_numpy(dtype="datetime64[s]")


def plotly_text(text: str, max_chars: int | None = None) -> str:
    """User text (a student label, a note, a session name) made safe for Plotly's labels, legends and hovers.

    Plotly reads a small subset of HTML in those strings (``<b>``, ``<br>``, ``<a href>``); escaping ``&``, ``<``
    and ``>`` as entities makes it draw the characters as typed. ``max_chars`` shortens it with an ellipsis first.
    """
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return html.escape(text, quote=False)


GRID = "#EBF0F8"
# plotly_white's look in the few settings these charts use: assigning the full built-in template copies and checks
# all of it (every trace type's defaults), about 30 ms per figure, five figures per review page
TEMPLATE = go.layout.Template(
    layout={
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"color": "#2a3f5f"},
        "hovermode": "closest",
        "hoverlabel": {"align": "left"},
        "colorway": ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880"],
        "xaxis": {"gridcolor": GRID, "linecolor": GRID, "zerolinecolor": GRID, "ticks": "", "automargin": True},
        "yaxis": {"gridcolor": GRID, "linecolor": GRID, "zerolinecolor": GRID, "ticks": "", "automargin": True,
                  "zerolinewidth": 2},
    }
)  # fmt: skip


def _base_layout(fig: go.Figure, *, height: int) -> go.Figure:
    fig.update_layout(**_layout(height))
    return fig


def _layout(height: int, **extra: Any) -> dict[str, Any]:
    """The charts' common layout as a plain dict with ``extra`` merged in (a dict value one level deep, as
    ``update_layout`` would), for :func:`_figure`."""
    layout: dict[str, Any] = {
        "template": TEMPLATE,
        "height": height,
        "margin": {"l": 56, "r": 16, "t": 32, "b": 40},  # the top margin keeps the mode bar off the plot
        "font": {"family": FONT, "size": 13},
    }
    for key, value in extra.items():
        old = layout.get(key)
        layout[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
    return layout


def _figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    """A figure built in one go from plain dicts in Plotly's own JSON form, taken as they are.

    Building it step by step (``add_trace``, ``update_layout``, ``update_yaxes``...) validated and deep-copied it
    at each step, and even one validation copies every point: the Live timeline of a 3-hour class cost ~20 ms of
    CPU, of a Live draw's budget of ~40 ms with 20 viewers on two cores; unvalidated it is ~2 ms, with the same
    JSON. So the dicts must be what validation would have produced (``title`` as ``{"text": ...}``, no shorthand):
    ``tests/unit/test_figures.py`` rebuilds every builder's figure with validation and compares the JSON."""
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def empty_figure(message: str, *, height: int = DISTRIBUTION_HEIGHT) -> go.Figure:
    """A blank chart that says why it is blank, instead of empty axes."""
    annotation = {
        "text": message, "showarrow": False, "font": {"size": 15, "color": "#666"}, "x": 0.5, "y": 0.5,
        "xref": "paper", "yref": "paper",
    }  # fmt: skip
    return _figure(
        [], _layout(height, annotations=[annotation], xaxis={"visible": False}, yaxis={"visible": False})
    )


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


LABEL_PAD_PX = 3
LABEL_LANE_PX = 16  # one line of the 12-px bold label
LABEL_MIN_PLOT_PX = 500  # the narrowest the timeline's plot area gets (a 1366-px screen with the page's margins)
LABEL_CHAR_PX = 8


def label_lanes(spans: list[FlagSpan], timeline: pd.DataFrame, *, tz: dt.tzinfo | None = None) -> list[int]:
    """For each flag span, the lane (0 = top) of its number so that no two numbers overlap: a label takes about
    ``LABEL_CHAR_PX`` per character of the narrowest plot's width, and one starting before the previous label in
    its lane has ended goes one lane lower (``padding`` moves a top-left label down and right by the same amount,
    so that shift counts in its extent too)."""
    if not spans:
        return []
    points = local_naive(timeline["interval_start"], tz)
    extent = max((points.max() - points.min()).total_seconds(), 1.0)
    seconds_per_px = extent / LABEL_MIN_PLOT_PX
    lane_ends: list[float] = []
    lanes = []
    origin = points.min()
    for span in spans:
        start = (span.x0 - origin).total_seconds()
        lane = next((i for i, end in enumerate(lane_ends) if end <= start), len(lane_ends))
        shift = LABEL_PAD_PX + lane * LABEL_LANE_PX
        end = start + (shift + LABEL_CHAR_PX * len(str(span.number)) + LABEL_PAD_PX) * seconds_per_px
        if lane == len(lane_ends):
            lane_ends.append(end)
        else:
            lane_ends[lane] = end
        lanes.append(lane)
    return lanes


def _translucent(hex_colour: str, alpha: float) -> str:
    """``#b91c1c`` -> ``rgba(185,28,28,0.16)``: a see-through fill with the line and label kept opaque."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _stacked_emotions(
    x: Any,
    values: dict[str, npt.NDArray[Any]],
    *,
    group: str,
    height: int,
    legend_y: float,
    hover: str = "%{y:.0%}",
    customdata: dict[str, npt.NDArray[Any]] | None = None,
    **layout: Any,
) -> go.Figure:
    """The seven emotions as stacked areas in their colours, legend below the plot in ``EMOTIONS`` order;
    ``layout``: more layout settings (merged as ``update_layout`` would)."""
    traces = []
    for emotion in EMOTIONS:
        colour = EMOTION_COLOURS[emotion]
        trace: dict[str, Any] = {
            "type": "scatter",
            "x": x,
            "y": values[emotion],
            "name": emotion,
            "mode": "lines",
            "stackgroup": group,
            "line": {"width": 0.5, "color": colour},
            "fillcolor": colour,
            "hovertemplate": f"{emotion}: {hover}<extra></extra>",
        }
        if customdata is not None:
            trace["customdata"] = customdata[emotion]
        traces.append(trace)
    return _figure(
        traces,
        _layout(
            height,
            hovermode="x unified",
            # below the plot, in EMOTIONS order (Plotly reverses stacked traces by default)
            legend={"orientation": "h", "traceorder": "normal", "yanchor": "top", "y": legend_y, "xanchor": "left",
                    "x": 0},
            margin={"b": 80},
            **layout,
        ),
    )  # fmt: skip


def timeline_figure(
    timeline: pd.DataFrame,
    *,
    tz: dt.tzinfo | None = None,
    uirevision: Hashable | None = None,
    flags: pd.DataFrame | None = None,
    notes: pd.DataFrame | None = None,
) -> go.Figure:
    """Stacked area of the seven emotions' shares of the class per interval (``db.queries.class_timeline``).

    ``uirevision`` should stay the same while one session is shown: Plotly then keeps the user's zoom, pan and
    hidden legend entries when the live page swaps in a figure with a new interval.

    ``flags`` (``db.queries.session_flags``) are drawn as shaded ranges in their severity's colour, each labelled
    with its number in the flags table. Only the number: a student's label never goes into the chart, where Plotly
    would read tags like ``<b>`` in it as formatting. ``notes`` (``db.queries.session_notes``) are dashed lines.
    """
    if timeline.empty:
        return empty_figure("No intervals recorded yet", height=TIMELINE_HEIGHT)
    x = iso_times(timeline["interval_start"], tz)
    shares = emotion_shares(timeline)
    shapes = flag_shapes(flags, timeline, tz=tz) + (note_shapes(notes, tz=tz) if notes is not None else [])
    return _stacked_emotions(
        x,
        {e: shares[e].to_numpy(dtype=float) for e in EMOTIONS},
        group="mood",
        height=TIMELINE_HEIGHT,
        legend_y=-0.12,
        hover="%{y:.0%} (%{customdata} students)",
        customdata={e: timeline[e].to_numpy(dtype=int) for e in EMOTIONS},
        uirevision=uirevision,
        yaxis={"title": {"text": "share of students"}, "tickformat": ".0%", "range": [0, 1], "fixedrange": True},
        **({"shapes": shapes} if shapes else {}),
    )


def flag_shapes(
    flags: pd.DataFrame | None, timeline: pd.DataFrame, *, tz: dt.tzinfo | None = None
) -> list[dict[str, Any]]:
    """The timeline's shaded flag ranges (see :func:`timeline_figure`) as plain dicts, so a page can patch a drawn
    timeline's shapes without building the figure again."""
    shapes: list[dict[str, Any]] = []
    spans = flag_spans(flags, timeline, tz=tz) if flags is not None else []
    lanes = label_lanes(spans, timeline, tz=tz)
    for span, lane in zip(spans, lanes, strict=True):
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
                    # flags starting close together: their numbers go one lane lower each, never on top of each other
                    "padding": LABEL_PAD_PX + lane * LABEL_LANE_PX,
                    "font": {"size": 12, "color": colour, "weight": "bold"},
                },
                "name": f"flag {span.number}",
            }
        )
    return shapes


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
    bar = {
        "type": "bar",
        "x": list(EMOTIONS),
        "y": shares,
        "customdata": counts,
        "text": [str(c) for c in counts],
        "textposition": "outside",
        "marker": {"color": [EMOTION_COLOURS[e] for e in EMOTIONS]},
        "hovertemplate": "%{x}: %{y:.0%} (%{customdata})<extra></extra>",
        "cliponaxis": False,
    }
    # headroom so the count printed above the tallest bar is not clipped
    yaxis = {"tickformat": ".0%", "range": [0, max(shares) * 1.18], "fixedrange": True}
    return _figure([bar], _layout(DISTRIBUTION_HEIGHT, showlegend=False, yaxis=yaxis, xaxis={"fixedrange": True}))


# --- teacher notes on every chart -------------------------------------------------------------------------------------


def note_shapes(notes: pd.DataFrame, *, tz: dt.tzinfo | None = None) -> list[dict[str, Any]]:
    """A dashed vertical line per note of ``db.queries.session_notes``, labelled with its (escaped, shortened) text.

    Plain dicts with ISO times, so the live page can send them as a ``Patch`` of ``layout.shapes`` alone.
    """
    if notes.empty:
        return []
    times = local_naive(notes["at"], tz)
    return [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": at.isoformat(),
            "x1": at.isoformat(),
            "y0": 0,
            "y1": 1,
            "layer": "above",
            "line": {"color": NOTE_COLOUR, "width": 1.5, "dash": "dash"},
            "label": {
                "text": plotly_text(f"✎ {text}", NOTE_LABEL_CHARS),
                "textposition": "end",
                "textangle": 0,  # level, to the right of the line's top: readable without tilting one's head
                "xanchor": "left",
                "yanchor": "top",
                "padding": 4,
                "font": {"size": 11, "color": NOTE_COLOUR},
            },
            "name": f"note {number}",
        }
        for number, (at, text) in enumerate(zip(times, notes["text"], strict=True), start=1)
    ]


def add_notes(fig: go.Figure, notes: pd.DataFrame | None, *, tz: dt.tzinfo | None = None) -> go.Figure:
    """``fig`` with the notes' lines added to whatever shapes it has (flag ranges stay).

    One assignment of the whole list: ``add_shape`` deep-copies every shape already there on each call, which cost
    a 3-hour session's review page about 0.3 s."""
    new = note_shapes(notes, tz=tz) if notes is not None else []
    if new:
        fig.layout.shapes = [*fig.layout.shapes, *new]
    return fig


# --- review: students x time, one student -----------------------------------------------------------------------------


def _emotion_colourscale() -> list[list[Any]]:
    """A stepped colour scale over the emotion indices 0..6: each index gets exactly its emotion's colour."""
    n = len(EMOTIONS)
    scale: list[list[Any]] = []
    for i, emotion in enumerate(EMOTIONS):
        scale.append([i / n, EMOTION_COLOURS[emotion]])
        scale.append([(i + 1) / n, EMOTION_COLOURS[emotion]])
    return scale


def heatmap_figure(
    grid: pd.DataFrame, students: Sequence[str], *, tz: dt.tzinfo | None = None, notes: pd.DataFrame | None = None
) -> go.Figure:
    """Students (rows, in ``students``' order, top down) x interval start, each cell in the colour of the student's
    dominant emotion there (``db.queries.student_grid``); blank where the student was not seen.

    Rows are numbered 0.. on the y axis and labelled with the escaped labels, so a click reports a row number the
    page maps back to ``students`` and no label is ever read as markup.
    """
    if grid.empty or not students:
        return empty_figure("No students were seen", height=STUDENT_HEIGHT)
    # each row's cell found by index arithmetic on whole columns (no loop over the 43,000 cells of a 3-hour class of
    # 40, nor a pandas unstack, which was most of the page's time); numpy arrays, which Plotly passes on as they are
    known = grid[grid["student"].isin(students) & grid["dominant"].isin(EMOTIONS)]
    starts = pd.DatetimeIndex(grid["interval_start"]).unique().sort_values()
    rows = pd.Index(list(students)).get_indexer(known["student"])
    cols = starts.get_indexer(pd.DatetimeIndex(known["interval_start"]))
    codes = pd.Categorical(known["dominant"], categories=list(EMOTIONS)).codes.astype(float)
    z = np.full((len(students), len(starts)), np.nan)  # NaN where the student was not seen
    z[rows[::-1], cols[::-1]] = codes[::-1]  # reversed: a duplicate cell keeps its first row, as before
    # a fixed-width string array, not an object one: Plotly copies it in one go instead of string by string
    names = np.array([*EMOTIONS, ""])[np.nan_to_num(z, nan=len(EMOTIONS)).astype(int)]
    x = iso_times(pd.Series(starts), tz)
    labels = [plotly_text(s, 24) for s in students]
    heatmap = {
        "type": "heatmap",
        "x": x,
        "y": list(range(len(students))),
        "z": z,
        "customdata": names,
        "zmin": -0.5,
        "zmax": len(EMOTIONS) - 0.5,
        "colorscale": _emotion_colourscale(),
        "showscale": True,
        "colorbar": {
            "tickvals": list(range(len(EMOTIONS))),
            "ticktext": list(EMOTIONS),
            "thickness": 12,
            "len": 1,
            "outlinewidth": 0,
        },
        "xgap": 1 if len(starts) <= 120 else 0,
        "ygap": 2,
        "hoverongaps": False,
        "hovertemplate": "%{customdata} at %{x|%H:%M:%S}<extra></extra>",
    }
    yaxis = {
        "tickvals": list(range(len(students))), "ticktext": labels, "autorange": "reversed", "fixedrange": True,
    }  # fmt: skip
    shapes = note_shapes(notes, tz=tz) if notes is not None else []
    return _figure(
        [heatmap],
        _layout(
            max(STUDENT_HEIGHT, 60 + 26 * len(students)), yaxis=yaxis, margin={"l": 110}, clickmode="event",
            **({"shapes": shapes} if shapes else {}),
        ),
    )  # fmt: skip


def student_figure(rows: pd.DataFrame, *, tz: dt.tzinfo | None = None, notes: pd.DataFrame | None = None) -> go.Figure:
    """One student's mean probability of each emotion per interval (``db.queries.student_timeline``), stacked."""
    if rows.empty:
        return empty_figure("Pick a student to see their timeline", height=STUDENT_HEIGHT)
    x = iso_times(rows["interval_start"], tz)
    shapes = note_shapes(notes, tz=tz) if notes is not None else []
    extra: dict[str, Any] = {"shapes": shapes} if shapes else {}
    return _stacked_emotions(
        x, {e: rows[f"p_{e}"].to_numpy(dtype=float) for e in EMOTIONS}, group="p", height=STUDENT_HEIGHT,
        legend_y=-0.2, yaxis={"title": {"text": "probability"}, "tickformat": ".0%", "range": [0, 1], "fixedrange": True},
        **extra,
    )  # fmt: skip


def probabilities_figure(rows: pd.DataFrame) -> go.Figure:
    """One student's probabilities averaged over the intervals in ``rows`` (frames-weighted), one bar per emotion."""
    if rows.empty:
        return empty_figure("No intervals for this student", height=STUDENT_HEIGHT)
    weights = rows["frames_seen"].astype(float)
    total = float(weights.sum()) or float(len(rows))
    if not weights.sum():
        weights = pd.Series(1.0, index=rows.index)
    means = [float((rows[f"p_{e}"].astype(float) * weights).sum() / total) for e in EMOTIONS]
    bar = {
        "type": "bar",
        "x": list(EMOTIONS),
        "y": means,
        "text": [f"{m:.0%}" for m in means],
        "textposition": "outside",
        "marker": {"color": [EMOTION_COLOURS[e] for e in EMOTIONS]},
        "hovertemplate": "%{x}: %{y:.1%}<extra></extra>",
        "cliponaxis": False,
    }
    yaxis = {"tickformat": ".0%", "range": [0, max(max(means) * 1.2, 0.05)], "fixedrange": True}
    return _figure([bar], _layout(STUDENT_HEIGHT, showlegend=False, yaxis=yaxis, xaxis={"fixedrange": True}))


# --- compare ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComparedSession:
    """One session on the Compare page: its legend label (user text, escaped when drawn), start and timeline."""

    label: str
    started_at: dt.datetime
    timeline: pd.DataFrame


def compare_distribution_figure(sessions: Sequence[ComparedSession]) -> go.Figure:
    """Grouped bars: per emotion, its share of each session's student-intervals, one colour per session."""
    shown = [c for c in sessions if not c.timeline.empty and int(c.timeline[list(EMOTIONS)].to_numpy().sum())]
    if not shown:
        return empty_figure("Pick sessions with recorded intervals", height=COMPARE_HEIGHT)
    fig = go.Figure()
    for c in shown:
        totals = c.timeline[list(EMOTIONS)].sum()
        total = float(totals.sum())
        fig.add_trace(
            go.Bar(
                x=list(EMOTIONS),
                y=[float(totals[e]) / total for e in EMOTIONS],
                customdata=[int(totals[e]) for e in EMOTIONS],
                name=plotly_text(c.label, 40),
                hovertemplate="%{x}: %{y:.0%} (%{customdata})<extra></extra>",
            )
        )
    _base_layout(fig, height=COMPARE_HEIGHT)
    fig.update_layout(
        barmode="group",
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0},
        margin={"b": 80},
    )
    fig.update_yaxes(tickformat=".0%", title="share of student-intervals", fixedrange=True)
    fig.update_xaxes(fixedrange=True)
    return fig


def compare_timeline_figure(sessions: Sequence[ComparedSession], measure: str = "score") -> go.Figure:
    """One line per session: ``measure`` (see ``dashboard.mood.mood_series`` and ``MEASURES``) against minutes
    since the session started, so lessons recorded on different days line up."""
    shown = [c for c in sessions if not c.timeline.empty]
    if not shown:
        return empty_figure("Pick sessions with recorded intervals", height=COMPARE_HEIGHT)
    fig = go.Figure()
    for c in shown:
        started = pd.Timestamp(c.started_at)
        minutes = ((pd.to_datetime(c.timeline["interval_start"], utc=True) - started).dt.total_seconds() / 60).round(2)
        fig.add_trace(
            go.Scatter(
                x=minutes.to_numpy(dtype=float),
                y=np.asarray(mood_series(c.timeline, measure), dtype=float),
                name=plotly_text(c.label, 40),
                mode="lines",
                line={"width": 2},
                hovertemplate="%{x:.1f} min: %{y:.0%}<extra></extra>",
            )
        )
    _base_layout(fig, height=COMPARE_HEIGHT)
    fig.update_layout(
        hovermode="x",
        legend={"orientation": "h", "yanchor": "top", "y": -0.28, "xanchor": "left", "x": 0},
        margin={"b": 110},
    )
    fig.update_xaxes(title="minutes since the start of the lesson", rangemode="tozero")
    if measure == "score":
        fig.update_yaxes(title="mood score", tickformat="+.0%", range=[-1, 1], zeroline=True)
    else:
        fig.update_yaxes(title=MEASURES.get(measure, measure), tickformat=".0%", range=[0, 1])
    return fig
