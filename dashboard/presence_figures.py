"""Presence mode's charts: students present and students with a visible face over time, instead of emotions.

Pure functions, DataFrame in, ``go.Figure`` out, like ``dashboard.figures``; no emotion is drawn because none was
inferred.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures import TIMELINE_HEIGHT, _base_layout, empty_figure, iso_times

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
