"""The school overview page and the Live page's ``?classroom=``/``?session=`` targets on a real database, without
a browser: the callbacks run in a request context on the test's database (SQLite and PostgreSQL). The browser test
(``tests/browser/test_school.py``) opens the same pages in Chromium."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine

from db.engine import session_factory
from tests.db.test_school import seed_school
from tests.helpers.dash_pages import page, text_of

pytestmark = pytest.mark.db


def rows_of(component: Any) -> list[dict[str, Any]]:
    """The ``room-row`` rows of the table (sent as plain JSON): their data attributes and the link of their first
    cell."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        props = node.get("props") if isinstance(node, dict) else None
        if props is None:
            return
        if props.get("className") == "room-row":
            link = props["children"][0]["props"]["children"][0]
            assert link["type"] == "Link"
            found.append(
                {"state": props["data-state"], "classroom": props["data-classroom"], "href": link["props"]["href"]}
            )
            return
        children = props.get("children")
        for child in children if isinstance(children, list) else [children]:
            walk(child)

    walk(component)
    return found


def test_school_page_lists_every_room_needing_a_look_first(ctx: None, engine: Engine) -> None:
    room_ids = seed_school(session_factory(engine), now=dt.datetime.now(dt.UTC))
    summary, table = page("school").refresh(0)
    assert summary == "10 classrooms · 8 running · 5 need a look"
    rows = rows_of(table)
    assert [(r["classroom"], r["state"]) for r in rows] == [
        ("Lab 1", "offline"),
        ("Room 10", "offline"),
        ("Room 3", "alert"),
        ("Room 4", "flagged"),
        ("Room 5", "behind"),
        ("Room 2", "running"),
        ("Room 7", "running"),
        ("unassigned", "running"),
        ("Room 6", "ended"),
        ("Room 8", "ended"),
    ]
    assert rows[2]["href"] == "/?classroom=Room+3"
    assert rows[7]["href"] == f"/?session={room_ids['unassigned']}"
    text = text_of(table)
    assert "2 open (1 alert)" in text and "no heartbeat for 5 min" in text and "4 of 6" in text


def test_school_page_on_an_empty_database_says_how_to_start(ctx: None) -> None:
    summary, empty = page("school").refresh(0)
    assert summary == "" and '--classroom \\"Room 12\\"' in text_of(empty)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, None),
        ({"session": "12"}, {"session": 12}),
        ({"session": "12abc"}, {"session": -1}),  # not a number: a session that does not exist
        ({"classroom": "Room 7"}, {"classroom": "Room 7"}),
        ({"session": "3", "classroom": "Room 7"}, {"session": 3}),
    ],
)
def test_live_target_from_the_query_string(query: dict[str, str], expected: dict[str, Any] | None) -> None:
    assert page("live").live_target(query) == expected


def test_live_page_shows_the_session_or_classroom_asked_for(ctx: None, engine: Engine) -> None:
    room_ids = seed_school(session_factory(engine), now=dt.datetime.now(dt.UTC))
    live = page("live")
    assert live.refresh(0, None, None, None)[-2] == room_ids["unassigned"]  # no target: the latest running session
    assert live.refresh(0, None, None, {"classroom": "Room 7"})[-2] == room_ids["Room 7"]  # running, not the newest
    assert live.refresh(0, None, None, {"classroom": "Room 6"})[-2] == room_ids["Room 6"]  # ended: the latest
    assert live.refresh(0, None, None, {"session": room_ids["Room 3"]})[-2] == room_ids["Room 3"]
    banner = live.refresh(0, None, None, {"session": room_ids["Room 3"]})[0]
    assert "Room 3" in text_of(banner) and "LIVE" in text_of(banner)
    for missing in ({"session": -1}, {"classroom": "Room 99"}):
        banner, style, *_rest, session_id, _fingerprint = live.refresh(0, None, None, missing)
        assert "Nothing to show" in text_of(banner) and style == {"display": "none"} and session_id is None
    panel = live.refresh(0, None, None, {"classroom": "Room 3"})[10]
    assert text_of(panel).count("Acknowledge") == 2  # Room 3's two open flags
