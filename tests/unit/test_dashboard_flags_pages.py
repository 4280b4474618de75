"""The flag parts of the pages on a real database, without a browser: the live panel and badges, Acknowledge and
Save through Dash's own callback endpoint, the review page's flags, the Settings page.

Marked ``db``: SQLite and, with ``CLASSMOOD_TEST_PG_URL``, PostgreSQL. Acknowledge and Save are posted to
``/_dash-update-component`` as the browser would post them, so the pattern-matching ids and ``ctx`` are the real
ones; the browser tests (``tests/browser/test_flags.py``) click the same buttons in Chromium.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from dash import Dash, no_update, page_registry
from sqlalchemy import Engine, select

from dashboard import ids
from dashboard.data import install
from dashboard.rules import form_sections
from db.engine import session_factory
from db.schema import ClassSession, Flag, Setting
from db.settings import FLAGS_KEY, FlagSettings, load_flag_settings, save_flag_settings
from tests.browser.seed import SeededFlags, add_flag, seed_classroom, seed_flags
from tests.helpers.dash_pages import page, text_of

pytestmark = pytest.mark.db


@pytest.fixture
def seeded(engine: Engine) -> tuple[Any, SeededFlags]:
    sessions = session_factory(engine)
    classroom = seed_classroom(sessions)
    return classroom, seed_flags(sessions, classroom)


def id_text(component_id: dict[str, Any] | str) -> str:
    """Dash's string form of a (pattern-matching) id: compact JSON with sorted keys."""
    return (
        component_id
        if isinstance(component_id, str)
        else json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    )


def prop_id(component_id: dict[str, Any] | str, prop: str) -> str:
    return f"{id_text(component_id)}.{prop}"


def post_callback(app: Dash, engine: Engine, first_input: str | dict[str, Any], body: dict[str, Any]) -> Any:
    """POST ``body`` to the callback whose first input is ``first_input``, as the browser does; the response."""
    install(app.server, session_factory(engine))
    client = app.server.test_client()
    dependencies = client.get("/_dash-dependencies").json
    (output,) = [d["output"] for d in dependencies if d["inputs"][0]["id"] == id_text(first_input)]
    return client.post("/_dash-update-component", json={"output": output, **body})


# --- Live -------------------------------------------------------------------------------------------------------


def live_flags(shown: str | None = None, acknowledged: Any = None) -> tuple[Any, Any]:
    """The "Needs attention" panel and its fingerprint as the Live page's one refresh sends them."""
    out = page("live").refresh(0, None, None, None, acknowledged, shown)
    return out[10], out[11]


def test_live_panel_lists_the_open_flags_as_text_and_is_not_resent_unchanged(
    ctx: None, seeded: tuple[Any, SeededFlags]
) -> None:
    _classroom, flags = seeded
    panel, shown = live_flags()
    text = text_of(panel)
    for flag in flags.live_open:
        assert json.dumps(flag.reason, ensure_ascii=False) in text  # a plain string child: rendered as text
        assert f"based on {flag.frames} analysed frames" in text
    assert flags.live_closed[0].reason not in text
    assert "Whole class" in text and '"children": "<b>Ana</b>"' in text
    order = [text.index(json.dumps(f.reason, ensure_ascii=False)) for f in flags.live_open]
    assert order == sorted(order)  # alert, warning, info
    assert live_flags(shown) == (no_update, no_update)


def test_live_panel_on_an_empty_database_is_empty(ctx: None) -> None:
    assert live_flags() == (None, None)


def test_live_refresh_badges_flagged_students_and_resends_only_the_table_when_flags_change(
    ctx: None, engine: Engine, seeded: tuple[Any, SeededFlags]
) -> None:
    classroom, _flags = seeded
    out = page("live").refresh(0, None, None)
    students, fingerprint = out[6], out[-1]
    assert text_of(students).count("needs attention") == 2  # Seat 4 and <b>Ana</b>; the class-wide flag has no row
    with session_factory(engine)() as s, s.begin():
        add_flag(s, classroom.live, student="Seat 7", rule="not_visible", start_interval=9, end_interval=None,
                 severity="warning", reason="Seat 7: face not visible for 3 minutes", frames=60)  # fmt: skip
    (_banner, _style, _status, timeline, distribution, caption, students, _mood, _seen, _notes, _flags, _flags_fp,
     *headings, sid, new) = page("live").refresh(1, None, fingerprint)
    assert sid is no_update  # the same session: not re-sent
    assert headings == [no_update] * 4  # nor its mode's headings, sent with the session
    assert (timeline, distribution, caption) == (no_update, no_update, no_update)  # the charts keep their state
    assert text_of(students).count("needs attention") == 3 and new != fingerprint
    assert page("live").refresh(2, None, new)[6] is no_update


def test_one_poll_fills_the_page_and_the_flags_panel_through_dash(
    app: Dash, engine: Engine, seeded: tuple[Any, SeededFlags]
) -> None:
    """The panel used to have its own callback on the same timer, which looked the shown session up a second time
    every poll. Now one callback fills both; posted as the browser posts it, its inputs and states (interleaved in
    the decorator) reach it in order: the panel is sent once, then not again while its fingerprint holds."""
    install(app.server, session_factory(engine))
    client = app.server.test_client()
    (dep,) = [d for d in client.get("/_dash-dependencies").json if d["inputs"][0]["id"] == ids.LIVE_INTERVAL]
    assert ids.LIVE_FLAGS in dep["output"]

    def poll(flags_shown: str | None, target: dict[str, int] | None = None) -> dict[str, Any]:
        values = {ids.LIVE_INTERVAL: 1, ids.LIVE_FLAGS_FINGERPRINT: flags_shown, ids.LIVE_TARGET: target}
        body = {
            "output": dep["output"],
            "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]}
                        for o in dep["output"].strip(".").split("...")],
            "inputs": [{**i, "value": values.get(i["id"])} for i in dep["inputs"]],
            "state": [{**st, "value": values.get(st["id"])} for st in dep["state"]],
            "changedPropIds": [f"{ids.LIVE_INTERVAL}.n_intervals"],
        }
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        result: dict[str, Any] = response.json["response"]
        return result

    first = poll(None)
    shown = first[ids.LIVE_FLAGS_FINGERPRINT]["data"]
    assert "Acknowledge" in json.dumps(first[ids.LIVE_FLAGS]) and shown
    again = poll(shown)
    assert ids.LIVE_FLAGS not in again and ids.LIVE_BANNER in again  # unchanged: the panel is not re-sent
    missing = poll(shown, {"session": -1})  # the target, a state between two inputs, reaches its parameter
    assert "Nothing to show" in json.dumps(missing[ids.LIVE_BANNER]) and missing[ids.LIVE_FLAGS]["children"] is None


def ack_body(flag_id: int, clicks: int) -> dict[str, Any]:
    button = {"type": ids.LIVE_FLAG_ACK, "index": flag_id}
    return {
        "outputs": {"id": ids.LIVE_ACKNOWLEDGED, "property": "data"},
        "inputs": [[{"id": button, "property": "n_clicks", "value": clicks}]],
        "changedPropIds": [prop_id(button, "n_clicks")],
        "state": [],
    }


def test_acknowledge_sets_acknowledged_at_and_mutes_the_flag(
    app: Dash, engine: Engine, seeded: tuple[Any, SeededFlags]
) -> None:
    _classroom, flags = seeded
    seat4 = flags.live_open[0]
    before = dt.datetime.now(dt.UTC)
    response = post_callback(app, engine, {"index": ["ALL"], "type": ids.LIVE_FLAG_ACK}, ack_body(seat4.id, 1))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["response"][ids.LIVE_ACKNOWLEDGED]["data"]["flag"] == seat4.id
    with session_factory(engine)() as s:
        acknowledged = {f.id: f.acknowledged_at for f in s.scalars(select(Flag))}
    at = acknowledged[seat4.id]
    assert at is not None and before - dt.timedelta(seconds=1) <= at <= dt.datetime.now(dt.UTC)
    assert [i for i, at in acknowledged.items() if at is not None] == [seat4.id]

    with app.server.test_request_context("/"):
        panel, _shown = live_flags(acknowledged={"flag": seat4.id})
    items = panel.children.children
    assert [i.to_plotly_json()["props"]["data-flag-id"] for i in items][-1] == str(seat4.id)  # acknowledged: last
    assert items[-1].className.endswith("flag-muted") and "Acknowledged at" in text_of(items[-1])


def test_a_redrawn_button_acknowledges_nothing(app: Dash, engine: Engine, seeded: tuple[Any, SeededFlags]) -> None:
    """The panel is redrawn with fresh buttons (n_clicks 0), which fires the ALL callback: that is not a click."""
    _classroom, flags = seeded
    response = post_callback(
        app, engine, {"index": ["ALL"], "type": ids.LIVE_FLAG_ACK}, ack_body(flags.live_open[0].id, 0)
    )
    assert response.status_code == 204
    with session_factory(engine)() as s:
        assert s.scalars(select(Flag).where(Flag.acknowledged_at.is_not(None))).all() == []


# --- Review -----------------------------------------------------------------------------------------------------


def test_review_lists_the_sessions_flags_and_shades_them_on_the_timeline(
    ctx: None, seeded: tuple[Any, SeededFlags]
) -> None:
    classroom, flags = seeded
    layout = page("review").layout(session_id=str(classroom.past.id))
    text = text_of(layout)
    assert f'"id": "{ids.REVIEW_FLAGS}"' in text
    for flag in flags.past:
        assert json.dumps(flag.reason) in text
    assert '"children": "open"' in text  # the flag left open when the class ended
    assert flags.live_open[0].reason not in text  # another session's flags stay out

    def find(component: Any, component_id: str) -> Any:
        if getattr(component, "id", None) == component_id:
            return component
        children = getattr(component, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if child is not None and not isinstance(child, str) and (hit := find(child, component_id)) is not None:
                return hit
        return None

    figure = find(layout, ids.REVIEW_TIMELINE).figure
    rects = [s for s in figure.layout.shapes if s.type == "rect"]  # the seeded teacher notes are dashed lines
    assert [s.label.text for s in rects] == [str(n) for n in range(1, len(flags.past) + 1)]


def test_review_of_a_session_without_flags_says_so(ctx: None, engine: Engine) -> None:
    classroom = seed_classroom(session_factory(engine))
    assert "No attention flags were raised in this session." in text_of(
        page("review").layout(session_id=str(classroom.past.id))
    )


# --- Settings ---------------------------------------------------------------------------------------------------


def test_settings_page_is_in_the_navbar_and_registered(app: Dash) -> None:
    assert "/settings" in {p["path"] for p in page_registry.values()}
    assert '"href": "/settings"' in text_of(app.layout)


def test_settings_page_shows_the_stored_values_and_the_reflag_note(ctx: None, engine: Engine) -> None:
    custom = FlagSettings.model_validate({"not_visible": {"enabled": False, "minutes": 7.5}, "min_frames": 25})
    with session_factory(engine)() as s, s.begin():
        save_flag_settings(s, custom)
    layout = page("settings").layout()
    values: dict[str, Any] = {}
    classes: dict[str, str] = {}
    enabled: dict[str, Any] = {}
    for comp in layout._traverse():
        cid = getattr(comp, "id", None)
        if isinstance(cid, dict) and cid["type"] == ids.SETTINGS_NUMBER:
            values[cid["field"]] = comp.value
            classes[cid["field"]] = comp.className
        if isinstance(cid, dict) and cid["type"] == ids.SETTINGS_ENABLED:
            enabled[cid["rule"]] = comp.value
    assert values["not_visible.minutes"] == 7.5 and values["min_frames"] == 25
    # -/+ steppers move by 1: kept for minutes and frame counts, hidden for a 0..1 threshold
    assert "input-no-steppers" in classes["sustained_negative.threshold"]
    assert "input-no-steppers" not in classes["not_visible.minutes"] + classes["min_frames"]
    assert enabled["not_visible"] == [] and enabled["sustained_negative"] == ["on"]
    assert "python -m monitor reflag --session ID" in text_of(layout)


def test_settings_page_with_an_invalid_stored_value_shows_the_defaults_and_says_why(ctx: None, engine: Engine) -> None:
    with session_factory(engine)() as s, s.begin():
        s.add(Setting(key=FLAGS_KEY, value={"min_frames": 0}, updated_at=dt.datetime.now(dt.UTC)))
    text = text_of(page("settings").layout())
    assert "The stored settings are not valid" in text and "min_frames" in text
    assert "Traceback" not in text


def save_body(numbers: dict[str, Any], enabled: dict[str, bool]) -> dict[str, Any]:
    rules, top = form_sections(FlagSettings())
    keys = [f.key for r in rules for f in r.fields] + [f.key for f in top]
    number = [{"id": {"type": ids.SETTINGS_NUMBER, "field": k}, "property": "value", "value": numbers[k]} for k in keys]
    switches = [
        {
            "id": {"type": ids.SETTINGS_ENABLED, "rule": r.key},
            "property": "value",
            "value": ["on"] if enabled[r.key] else [],
        }
        for r in rules
    ]
    return {
        "outputs": [
            {"id": ids.SETTINGS_MESSAGE, "property": "children"},
            [{"id": {"type": ids.SETTINGS_ERROR, "field": k}, "property": "children"} for k in keys],
            [{"id": {"type": ids.SETTINGS_NUMBER, "field": k}, "property": "className"} for k in keys],
        ],
        "inputs": [{"id": ids.SETTINGS_SAVE, "property": "n_clicks", "value": 1}],
        "changedPropIds": [prop_id(ids.SETTINGS_SAVE, "n_clicks")],
        "state": [number, switches],
    }


def defaults() -> tuple[dict[str, Any], dict[str, bool]]:
    rules, top = form_sections(FlagSettings())
    return {f.key: f.default for r in rules for f in r.fields} | {f.key: f.default for f in top}, {
        r.key: True for r in rules
    }


def test_settings_save_stores_the_changed_threshold_and_the_disabled_rule(app: Dash, engine: Engine) -> None:
    numbers, enabled = defaults()
    numbers["sustained_negative.threshold"] = 0.8
    enabled["class_mood_drop"] = False
    response = post_callback(app, engine, ids.SETTINGS_SAVE, save_body(numbers, enabled))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Saved at" in json.dumps(response.json["response"][ids.SETTINGS_MESSAGE])
    with session_factory(engine)() as s:
        stored = load_flag_settings(s)
    assert stored.sustained_negative.threshold == 0.8 and stored.class_mood_drop.enabled is False
    assert stored.baseline_shift == FlagSettings().baseline_shift


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("sustained_negative.threshold", 1.5, "Input should be less than or equal to 1."),
        ("not_visible.minutes", None, "Enter a number from 0.5 to 120."),  # what the browser sends for 500
    ],
)
def test_settings_save_rejects_a_bad_value_with_the_fields_message_and_stores_nothing(
    app: Dash, engine: Engine, key: str, value: Any, message: str
) -> None:
    numbers, enabled = defaults()
    numbers[key] = value
    response = post_callback(app, engine, ids.SETTINGS_SAVE, save_body(numbers, enabled))
    assert response.status_code == 200, response.get_data(as_text=True)
    out = response.json["response"]
    assert "Not saved" in json.dumps(out[ids.SETTINGS_MESSAGE]) and "Traceback" not in json.dumps(out)
    field = id_text({"type": ids.SETTINGS_ERROR, "field": key})
    assert out[field]["children"] == message
    others = [v["children"] for k, v in out.items() if ids.SETTINGS_ERROR in k and k != field]
    assert others and all(m == "" for m in others)
    assert "input-invalid" in out[id_text({"type": ids.SETTINGS_NUMBER, "field": key})]["className"].split()
    with session_factory(engine)() as s:
        assert s.get(Setting, FLAGS_KEY) is None


def test_review_and_live_ignore_another_sessions_flags(ctx: None, engine: Engine) -> None:
    """A flag of the ended session does not badge a student of the running one with the same label."""
    sessions = session_factory(engine)
    classroom = seed_classroom(sessions)
    with sessions() as s, s.begin():
        add_flag(s, classroom.past, student="Seat 1", rule="not_visible", start_interval=0, end_interval=None,
                 severity="alert", reason="Seat 1: old session", frames=10)  # fmt: skip
        assert s.get(ClassSession, classroom.live.id) is not None
    assert "needs attention" not in text_of(page("live").refresh(0, None, None)[6])
    panel, _ = live_flags()
    assert "old session" not in text_of(panel)
