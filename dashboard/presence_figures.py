"""Presence mode's charts: students present and students with a visible face over time, instead of emotions.

Pure functions, DataFrame in, ``go.Figure`` out, like ``dashboard.figures``; no emotion is drawn because none was
inferred.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures import (
    COMPARE_HEIGHT,
    TIMELINE_HEIGHT,
    ComparedSession,
    _base_layout,
    empty_figure,
    iso_times,
    plotly_text,
)

PRESENT_COLOUR = "#2563eb"
VISIBLE_COLOUR = "#16a34a"


def presence_timeline_figure(
    timeline: pd.DataFrame, *, tz: dt.tzinfo | None = None, uirevision: Hashable | None = None
) -> go.Figure:
    """Two lines over time (``db.queries.presence_timeline``): students there, and those with a visible face."""
    if timeline.empty:
        return empty_figure("No intervals recorded yet", height=TIMELINE_HEIGHT)
    x = iso_times(timeline["interval_start"], tz)
    fig = go.Figure()
    present = timeline["students_present"].astype(float).fillna(timeline["students_visible"].astype(float))
    for name, values, colour in (
        ("present", present, PRESENT_COLOUR),
        ("face visible", timeline["students_visible"].astype(float), VISIBLE_COLOUR),
    ):
        fig.add_trace(go.Scatter(
            x=x, y=values.tolist(), name=name, mode="lines+markers", line={"color": colour, "shape": "hv"},
            hovertemplate=f"%{{y:d}} students {name}<extra></extra>",
        ))
    fig.update_layout(
        title={"text": "Presence mode: students present and visible (no emotion inferred)", "font": {"size": 13}},
        uirevision=uirevision, legend={"orientation": "h", "y": -0.15}, hovermode="x unified",
    )
    fig.update_yaxes(title="students", rangemode="tozero", dtick=1 if present.max() <= 12 else None)
    return _base_layout(fig, height=TIMELINE_HEIGHT)


def presence_now_figure(states: dict[str, str]) -> go.Figure:
    """Students of the latest interval by state: seen, camera off, face not visible."""
    if not states:
        return empty_figure("Nobody recorded in the latest interval")
    labels = {"seen": "seen", "camera_off": "camera off", "face_not_visible": "face not visible"}
    counts = [sum(1 for v in states.values() if v == key) for key in labels]
    fig = go.Figure(go.Bar(
        x=counts, y=list(labels.values()), orientation="h", marker_color=[VISIBLE_COLOUR, "#9ca3af", "#f59e0b"],
        hovertemplate="%{x:d} %{y}<extra></extra>",
    ))
    fig.update_xaxes(title="students", rangemode="tozero", dtick=1 if max(counts) <= 12 else None)
    fig.update_yaxes(autorange="reversed")
    return _base_layout(fig, height=320)


def compare_presence_figure(sessions: Sequence[ComparedSession]) -> go.Figure:
    """Compare page, presence-mode sessions (timelines from ``db.queries.presence_timeline``): per session, students
    present (solid) and with a visible face (dotted) against minutes since the session started."""
    shown = [c for c in sessions if not c.timeline.empty]
    if not shown:
        return empty_figure("No presence-mode session with recorded intervals", height=COMPARE_HEIGHT)
    fig = go.Figure()
    for i, c in enumerate(shown):
        started = pd.Timestamp(c.started_at)
        minutes = ((pd.to_datetime(c.timeline["interval_start"], utc=True) - started).dt.total_seconds() / 60).round(2)
        visible = c.timeline["students_visible"].astype(float)
        present = c.timeline["students_present"].astype(float).fillna(visible)
        label = plotly_text(c.label, 40)
        for what, values, dash in (("present", present, "solid"), ("face visible", visible, "dot")):
            fig.add_trace(go.Scatter(
                x=minutes.to_numpy(dtype=float), y=values.tolist(), name=f"{label}: {what}", legendgroup=str(i),
                mode="lines", line={"width": 2, "dash": dash, "shape": "hv"},
                hovertemplate=f"%{{x:.1f}} min: %{{y:d}} students {what}<extra></extra>",
            ))
    _base_layout(fig, height=COMPARE_HEIGHT)
    fig.update_layout(
        hovermode="x", legend={"orientation": "h", "yanchor": "top", "y": -0.28, "xanchor": "left", "x": 0},
        margin={"b": 110},
    )
    fig.update_xaxes(title="minutes since the start of the lesson", rangemode="tozero")
    fig.update_yaxes(title="students", rangemode="tozero")
    return fig
