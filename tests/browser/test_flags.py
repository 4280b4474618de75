"""Attention flags in headless Chromium: the live "Needs attention" list and its Acknowledge button, the students
table's badges, the review page's flag table and shaded timeline, and the Settings page saving and rejecting values.

The flags are written through the ORM as the worker writes them (``seed.seed_flags``); what the pages did is checked
in the database. The ``page`` fixture fails a test on any browser console error.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from sqlalchemy import select

from dashboard import ids
from db.emotions import EMOTIONS
from db.engine import make_engine, session_factory, upgrade
from db.schema import Flag
from db.settings import FlagSettings, load_flag_settings
from tests.browser.conftest import Dashboard
from tests.browser.helpers import graph_data, graph_layout, run_dashboard, wait_for
from tests.browser.seed import SeededFlags, add_flag, seed_classroom, seed_flags

pytestmark = pytest.mark.browser

REFRESH_WAIT_S = 15.0  # the live page polls every 3 s; leave room for a slow CI machine


@pytest.fixture(scope="module")
def flagged(tmp_path_factory: pytest.TempPathFactory, browser: Chrome) -> Iterator[tuple[Dashboard, SeededFlags]]:
    """The dashboard on the seeded classroom (``seed.seed_classroom``) with flags on both sessions."""
    tmp = tmp_path_factory.mktemp("flags")
    url = f"sqlite:///{tmp / 'classmood.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    seeded = seed_classroom(sessions)
    flags = seed_flags(sessions, seeded)
    with run_dashboard(url, tmp / "dashboard.log") as server:
        yield Dashboard(server, sessions, seeded), flags
    engine.dispose()


def dom_id(component_id: dict[str, Any]) -> str:
    """The DOM id Dash gives a pattern-matching id: compact JSON with sorted keys."""
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def by_dom_id(driver: Chrome, component_id: dict[str, Any]) -> WebElement:
    # an attribute selector in single quotes: By.ID would put the JSON's double quotes inside double quotes
    return driver.find_element(By.CSS_SELECTOR, f"[id='{dom_id(component_id)}']")


def flag_items(driver: Chrome) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, f"#{ids.LIVE_FLAGS} li[data-flag-id]")


def flag_item(driver: Chrome, flag_id: int) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'#{ids.LIVE_FLAGS} li[data-flag-id="{flag_id}"]')


def listed_ids(driver: Chrome) -> list[int]:
    """The flags the teacher can see, in order (the page's content is hidden until its first refresh)."""
    return [int(li.get_attribute("data-flag-id") or 0) for li in flag_items(driver) if li.is_displayed()]


def table_rows(driver: Chrome, container_id: str) -> list[list[str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{container_id} tbody tr")
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def timeline_points(driver: Chrome, graph_id: str) -> int:
    data = graph_data(driver, graph_id) or []
    return len(data[0]["y"]) if len(data) == len(EMOTIONS) else 0


# --- Live -------------------------------------------------------------------------------------------------------


def test_live_page_lists_open_flags_with_reason_frames_and_badges(
    page: Chrome, flagged: tuple[Dashboard, SeededFlags]
) -> None:
    dashboard, flags = flagged
    page.get(dashboard.url + "/")
    expected = [f.id for f in flags.live_open]
    wait_for(lambda: listed_ids(page) == expected, what=f"the open flags {expected} in severity order")

    seat4, whole, ana = (flag_item(page, f.id).text for f in flags.live_open)
    assert "alert" in seat4 and "Seat 4" in seat4
    assert flags.live_open[0].reason in seat4 and "based on 184 analysed frames" in seat4 and "since" in seat4
    assert "Whole class" in whole and flags.live_open[1].reason in whole and "based on 240 analysed frames" in whole
    # a Zoom display name and a reason built from it are shown as typed, never parsed as HTML
    assert "<b>Ana</b>" in ana and flags.live_open[2].reason in ana
    assert not page.find_elements(By.CSS_SELECTOR, f"#{ids.LIVE_FLAGS} li b, #{ids.LIVE_FLAGS} li img")
    assert flags.live_closed[0].reason not in page.find_element(By.ID, ids.LIVE_FLAGS).text
    for f in flags.live_open:
        assert by_dom_id(page, {"type": ids.LIVE_FLAG_ACK, "index": f.id}).is_displayed()

    honesty = page.find_element(By.ID, ids.LIVE_HONESTY)
    assert honesty.is_displayed() and "probabilistic" in honesty.text and "frames" in honesty.text

    cards = wait_for(lambda: page.find_elements(By.CSS_SELECTOR, f"#{ids.LIVE_STUDENTS} .student-card"),
                     what="the student cards")  # fmt: skip
    flagged_cards = page.find_elements(By.CSS_SELECTOR, f"#{ids.LIVE_STUDENTS} .student-card.student-flagged")
    assert sorted(c.find_element(By.CSS_SELECTOR, ".student-head").text for c in flagged_cards) == [
        "<b>Ana</b>\nneeds attention",
        "Seat 4\nneeds attention",
    ]
    badge = flagged_cards[0].find_element(By.CSS_SELECTOR, ".badge")
    assert badge.is_displayed() and badge.text == "needs attention"
    labels = {c.find_element(By.CSS_SELECTOR, ".student-label").text for c in cards}
    assert labels >= {"Seat 1", "Seat 12"}  # unflagged cards unchanged
    assert timeline_points(page, ids.LIVE_TIMELINE) == len(dashboard.seeded.live.intervals)  # type: ignore[union-attr]


def test_acknowledge_records_the_time_and_mutes_the_flag_which_stays_listed(
    page: Chrome, flagged: tuple[Dashboard, SeededFlags]
) -> None:
    dashboard, flags = flagged
    seat4 = flags.live_open[0]
    page.get(dashboard.url + "/")
    wait_for(lambda: listed_ids(page) == [f.id for f in flags.live_open], what="the open flags")
    before = dt.datetime.now(dt.UTC)
    by_dom_id(page, {"type": ids.LIVE_FLAG_ACK, "index": seat4.id}).click()

    # well inside one poll: the click itself redraws the list, the acknowledged flag muted and moved last
    wait_for(lambda: "flag-muted" in (flag_item(page, seat4.id).get_attribute("class") or ""), timeout=5,
             what="the acknowledged flag to turn muted")  # fmt: skip
    item = flag_item(page, seat4.id)
    assert "Acknowledged at" in item.text and flags.live_open[0].reason in item.text
    assert not item.find_elements(By.TAG_NAME, "button")
    assert listed_ids(page)[-1] == seat4.id and len(listed_ids(page)) == len(flags.live_open)

    with dashboard.sessions() as s:
        acknowledged = {f.id: f.acknowledged_at for f in s.scalars(select(Flag))}
    at = acknowledged[seat4.id]
    assert at is not None and before - dt.timedelta(seconds=2) <= at <= dt.datetime.now(dt.UTC)
    assert all(at is None for fid, at in acknowledged.items() if fid != seat4.id)

    # still there, still muted, after the next polls
    page.refresh()
    wait_for(lambda: "flag-muted" in (flag_item(page, seat4.id).get_attribute("class") or ""), what="muted on reload")


def test_a_new_flag_arrives_with_the_poll_without_resetting_the_zoomed_chart(
    page: Chrome, flagged: tuple[Dashboard, SeededFlags]
) -> None:
    dashboard, flags = flagged
    live = dashboard.seeded.live  # type: ignore[union-attr]
    page.get(dashboard.url + "/")
    wait_for(lambda: timeline_points(page, ids.LIVE_TIMELINE) == len(live.intervals), what="the live timeline")
    wait_for(lambda: len(listed_ids(page)) == len(flags.live_open), what="the open flags")

    plot_area = page.find_element(By.CSS_SELECTOR, f"#{ids.LIVE_TIMELINE} .nsewdrag")
    width = plot_area.size["width"]
    ActionChains(page).move_to_element_with_offset(plot_area, -width // 2 + 10, 0).click_and_hold().move_by_offset(
        width // 3, 0
    ).release().perform()
    zoomed = wait_for(
        lambda: (
            graph_layout(page, ids.LIVE_TIMELINE, "xaxis.autorange") is False
            and graph_layout(page, ids.LIVE_TIMELINE, "xaxis.range")
        ),
        what="the zoom",
    )

    with dashboard.sessions() as s, s.begin():
        new = add_flag(s, live, student="Seat 7", rule="not_visible", start_interval=8, end_interval=None,
                       severity="warning", reason="Seat 7: face not visible for 3 minutes", frames=33)  # fmt: skip
    wait_for(lambda: new.id in listed_ids(page), timeout=REFRESH_WAIT_S, what="the new flag in the list")
    assert "based on 33 analysed frames" in flag_item(page, new.id).text
    wait_for(
        lambda: any(
            "Seat 7" in c.text
            for c in page.find_elements(By.CSS_SELECTOR, f"#{ids.LIVE_STUDENTS} .student-card.student-flagged")
        ),
        timeout=REFRESH_WAIT_S,
        what="Seat 7's badge on its card",
    )
    assert graph_layout(page, ids.LIVE_TIMELINE, "xaxis.range") == zoomed, "the flag update reset the user's zoom"
    assert timeline_points(page, ids.LIVE_TIMELINE) == len(live.intervals)


# --- Review -----------------------------------------------------------------------------------------------------


def test_review_page_lists_the_flags_and_shades_them_on_the_timeline(
    page: Chrome, flagged: tuple[Dashboard, SeededFlags]
) -> None:
    dashboard, flags = flagged
    past = dashboard.seeded.past  # type: ignore[union-attr]
    page.get(f"{dashboard.url}/sessions/{past.id}")
    rows = wait_for(lambda: table_rows(page, ids.REVIEW_FLAGS), what="the flags table")
    header = [th.text for th in page.find_elements(By.CSS_SELECTOR, f"#{ids.REVIEW_FLAGS} thead th")]
    assert header == ["#", "Student", "Rule", "Start", "End", "Severity", "Reason", "Frames"]
    assert [(r[0], r[1], r[5], r[6], r[7]) for r in rows] == [
        (str(n), f.student or "Whole class", f.severity, f.reason, f"{f.frames:,}")
        for n, f in enumerate(flags.past, start=1)
    ]
    assert [r[4] == "open" for r in rows] == [f.end is None for f in flags.past]

    wait_for(lambda: timeline_points(page, ids.REVIEW_TIMELINE) == len(past.intervals), what="the review timeline")
    shapes = graph_layout(page, ids.REVIEW_TIMELINE, "shapes")
    rects = [s for s in shapes if s["type"] == "rect"]  # the flags; the seeded teacher notes are dashed lines
    assert [s["label"]["text"] for s in rects] == [str(n) for n in range(1, len(flags.past) + 1)]
    assert [s["name"] for s in shapes if s["type"] == "line"] == ["note 1", "note 2"]
    # drawn, not just in the figure: one shape path per flag in the plot's shape layer
    drawn = page.find_elements(By.CSS_SELECTOR, f"#{ids.REVIEW_TIMELINE} .shapelayer path")
    assert len(drawn) >= len(flags.past)


# --- Settings ---------------------------------------------------------------------------------------------------


def number_input(driver: Chrome, key: str) -> WebElement:
    return by_dom_id(driver, {"type": ids.SETTINGS_NUMBER, "field": key})


def type_into(element: WebElement, text: str) -> None:
    element.click()
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.BACKSPACE)
    element.send_keys(text)


def rule_switch(driver: Chrome, rule: str) -> WebElement:
    return by_dom_id(driver, {"type": ids.SETTINGS_ENABLED, "rule": rule}).find_element(By.TAG_NAME, "input")


def field_error(driver: Chrome, key: str) -> str:
    return by_dom_id(driver, {"type": ids.SETTINGS_ERROR, "field": key}).text


def save_message(driver: Chrome) -> str:
    return driver.find_element(By.ID, ids.SETTINGS_MESSAGE).text


def stored(dashboard: Dashboard) -> FlagSettings:
    with dashboard.sessions() as s:
        return load_flag_settings(s)


def test_settings_page_is_in_the_navbar_and_saves_a_threshold_and_a_disabled_rule(
    page: Chrome, flagged: tuple[Dashboard, SeededFlags]
) -> None:
    dashboard, _flags = flagged
    page.get(dashboard.url + "/")
    wait_for(lambda: page.find_element(By.LINK_TEXT, "Settings"), what="the navbar's Settings link").click()
    wait_for(lambda: page.current_url.endswith("/settings"), what="navigation to /settings")
    threshold = wait_for(lambda: number_input(page, "sustained_negative.threshold"), what="the settings form")
    assert threshold.get_attribute("value") == "0.6"
    assert (threshold.get_attribute("min"), threshold.get_attribute("max")) == ("0", "1")
    note = page.find_element(By.ID, ids.SETTINGS_NOTE).text
    assert "start of each session" in note and "python -m monitor reflag --session ID" in note

    type_into(threshold, "0.8")
    switch = rule_switch(page, "class_mood_drop")
    assert switch.is_selected()
    switch.click()
    page.find_element(By.ID, ids.SETTINGS_SAVE).click()
    wait_for(lambda: "Saved at" in save_message(page), what="the saved message")

    expected = FlagSettings().model_dump()
    expected["sustained_negative"]["threshold"] = 0.8
    expected["class_mood_drop"]["enabled"] = False
    assert stored(dashboard).model_dump() == expected  # those two changes and nothing else

    page.refresh()  # the page shows what is stored
    wait_for(lambda: number_input(page, "sustained_negative.threshold").get_attribute("value") == "0.8",
             what="the stored threshold after a reload")  # fmt: skip
    assert not rule_switch(page, "class_mood_drop").is_selected()


@pytest.mark.parametrize(
    ("key", "typed", "message"),
    [
        # above the input's max: the browser marks it invalid and Dash sends no value; the allowed range is shown
        ("not_visible.minutes", "500", "Enter a number from 0.5 to 120."),
        # inside the input's min but not the model's "above 0": the model's own message
        ("class_negative.threshold", "0", "Input should be greater than 0."),
    ],
)
def test_settings_page_rejects_an_out_of_bounds_value_with_the_fields_message(
    page: Chrome, flagged: tuple[Dashboard, SeededFlags], key: str, typed: str, message: str
) -> None:
    dashboard, _flags = flagged
    before = stored(dashboard)
    page.get(dashboard.url + "/settings")
    field = wait_for(lambda: number_input(page, key), what="the settings form")
    type_into(field, typed)
    page.find_element(By.ID, ids.SETTINGS_SAVE).click()
    wait_for(lambda: field_error(page, key) == message, what=f"the message under {key}")
    assert "Not saved" in save_message(page) and "Traceback" not in page.find_element(By.TAG_NAME, "body").text
    box = number_input(page, key).find_element(By.XPATH, "..")  # dcc.Input's container carries the className
    assert "input-invalid" in (box.get_attribute("class") or "")
    assert stored(dashboard) == before

    type_into(number_input(page, key), "5" if key == "not_visible.minutes" else "0.4")  # fixed: saved, message gone
    page.find_element(By.ID, ids.SETTINGS_SAVE).click()
    wait_for(lambda: "Saved at" in save_message(page), what="the saved message")
    assert field_error(page, key) == ""
    rule, name = key.split(".")
    assert getattr(getattr(stored(dashboard), rule), name) == (5 if key == "not_visible.minutes" else 0.4)
