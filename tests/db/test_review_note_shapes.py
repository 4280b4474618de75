"""Adding a note on the review page patches the charts' shapes without reloading the session's student grid: the
patched shapes must be exactly those of the charts built anew (flag ranges and note lines), on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from dash import Patch
from plotly.utils import PlotlyJSONEncoder
from sqlalchemy import Engine

from dashboard.figures import heatmap_figure, timeline_figure
from db import queries
from db.engine import session_factory
from tests.browser.seed import seed_classroom, seed_flags
from tests.db.builders import T0, add_session

pytestmark = pytest.mark.db


def plain(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=PlotlyJSONEncoder))


def patched_shapes(patch: Patch) -> Any:
    (operation,) = patch.to_plotly_json()["operations"]
    assert operation["location"] == ["layout", "shapes"]
    return plain(operation["params"]["value"])


def test_added_note_patches_the_same_shapes_as_a_fresh_figure(ctx: None, engine: Engine) -> None:
    factory = session_factory(engine)
    seeded = seed_classroom(factory)
    seed_flags(factory, seeded)
    review = sys.modules["dashboard.pages.review"]
    sid = seeded.past.id
    with factory() as s:
        clock = queries.get_session(s, sid).started_at.astimezone().strftime("%H:%M:%S")  # the server's local time
    message, _listing, _input, timeline_patch, heatmap_patch = review.add_review_note(1, None, clock, "quiz", sid)
    assert "Added" in json.dumps(message.to_plotly_json(), cls=PlotlyJSONEncoder)
    with factory() as s:
        timeline, flags, notes = (
            queries.class_timeline(s, sid),
            queries.session_flags(s, sid),
            queries.session_notes(s, sid),
        )
        grid, students = queries.student_grid(s, sid), queries.session_students(s, sid)
    fresh_timeline = timeline_figure(timeline, uirevision=sid, flags=flags, notes=notes)
    fresh_heatmap = heatmap_figure(grid, students, notes=notes)
    assert patched_shapes(timeline_patch) == plain([shape.to_plotly_json() for shape in fresh_timeline.layout.shapes])
    assert patched_shapes(heatmap_patch) == plain([shape.to_plotly_json() for shape in fresh_heatmap.layout.shapes])
    assert len(patched_shapes(heatmap_patch)) == len(notes) == 3  # two seeded notes and the new one
    assert len(patched_shapes(timeline_patch)) == len(notes) + len(flags)


def test_a_note_on_a_session_without_intervals_draws_no_lines(ctx: None, engine: Engine) -> None:
    factory = session_factory(engine)
    with factory() as s, s.begin():
        empty = add_session(s, "Empty", T0).id
    review = sys.modules["dashboard.pages.review"]
    clock = T0.astimezone().strftime("%H:%M:%S")
    _message, _listing, _input, timeline_patch, heatmap_patch = review.add_review_note(1, None, clock, "x", empty)
    assert patched_shapes(timeline_patch) == [] and patched_shapes(heatmap_patch) == []
