"""The Live page following the monitor while it is open: from no session at all, through a running class whose
chart grows interval by interval without losing the user's zoom, to the class ending.

The test writes to the database through the ORM exactly as the monitor's storage thread does; the page only polls.
"""

from __future__ import annotations

import datetime as dt

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from dashboard import ids
from db.emotions import EMOTIONS
from db.schema import ClassSession, LiveRender, SourceStatus
from tests.browser.conftest import Dashboard
from tests.browser.helpers import graph_data, graph_layout, wait_for
from tests.browser.seed import LIVE_STUDENTS, add_interval, add_session

pytestmark = pytest.mark.browser

REFRESH_WAIT_S = 15.0  # the page polls every 3 s; leave room for a slow CI machine


def points(driver: Chrome) -> int:
    data = graph_data(driver, ids.LIVE_TIMELINE) or []
    return len(data[0]["y"]) if len(data) == len(EMOTIONS) else 0


def test_live_page_follows_the_monitor(page: Chrome, empty_dashboard: Dashboard) -> None:
    sessions = empty_dashboard.sessions
    page.get(empty_dashboard.url + "/")
    empty = wait_for(lambda: page.find_element(By.ID, ids.LIVE_BANNER).text, what="the empty state")
    assert "No class sessions yet" in empty and "python -m monitor run --source" in empty

    # the monitor starts a class: the page picks it up by itself
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    with sessions() as s, s.begin():
        seeded = add_session(s, name="Chemistry 1C", started_at=started, n_intervals=3, students=LIVE_STUDENTS,
                             running=True)  # fmt: skip
    wait_for(lambda: points(page) == 3, timeout=REFRESH_WAIT_S, what="the new session's 3 intervals")
    assert "Chemistry 1C" in page.find_element(By.ID, ids.LIVE_BANNER).text

    # the teacher drags across the first part of the chart to zoom in (a GUI edit, which uirevision preserves;
    # a Plotly.relayout call from a script would not count as one)
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

    # ...and the monitor stores the next interval: one more point, same zoom
    with sessions() as s, s.begin():
        session = s.get(ClassSession, seeded.id)
        assert session is not None
        new = add_interval(s, session, 3, LIVE_STUDENTS, interval_s=30.0)
    wait_for(lambda: points(page) == 4, timeout=REFRESH_WAIT_S, what="a 4th point after the new interval")
    traces = {t["name"]: t for t in graph_data(page, ids.LIVE_TIMELINE) or []}
    assert [traces[e]["y"][-1] for e in EMOTIONS] == pytest.approx([new.shares()[e] for e in EMOTIONS])
    assert graph_layout(page, ids.LIVE_TIMELINE, "xaxis.range") == zoomed, "the refresh reset the user's zoom"

    # the class ends: the page keeps showing it and says it is over
    with sessions() as s, s.begin():
        session = s.get(ClassSession, seeded.id)
        status = s.get(SourceStatus, seeded.id)
        assert session is not None and status is not None
        session.ended_at = dt.datetime.now(dt.UTC)
        status.state = "ended"

    def ended_banner() -> str | None:
        text: str = page.find_element(By.ID, ids.LIVE_BANNER).text
        return text if "No class is running" in text else None

    banner = wait_for(ended_banner, timeout=REFRESH_WAIT_S, what="the 'no class is running' banner")
    assert "showing the last session from" in banner and "Chemistry 1C" in banner
    assert points(page) == 4


def test_a_page_load_is_served_the_render_drawn_ahead_and_a_new_interval_arrives_with_the_next_poll(
    page: Chrome, empty_dashboard: Dashboard
) -> None:
    """The dashboard's renderer draws a running class's Live page when its data changes and stores it
    (``dashboard.live_render``); a teacher opening the page is shown that render, and must still see each new
    interval on the first poll after it lands (a poll is answered from the database, never from a render).

    "The first poll" without timing the machine: the page's update requests after the interval is committed are
    grouped into polls (a poll and the callbacks it sets off come within a moment, polls 3 s apart); the new point
    must be drawn before a second poll starts."""
    sessions = empty_dashboard.sessions
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3)
    with sessions() as s, s.begin():
        seeded = add_session(s, name="Physics 2A", started_at=started, n_intervals=5, students=LIVE_STUDENTS,
                             running=True)  # fmt: skip

    def rendered() -> bool:
        with sessions() as s, s.begin():
            render = s.get(LiveRender, seeded.id)
            return render is not None and render.payload is not None and render.version.split("|")[4] == "5"

    wait_for(rendered, timeout=REFRESH_WAIT_S, what="the renderer to store the class's page")
    page.get(empty_dashboard.url + f"/?session={seeded.id}")
    wait_for(lambda: points(page) == 5, timeout=REFRESH_WAIT_S, what="the rendered page's 5 intervals")
    assert "Physics 2A" in page.find_element(By.ID, ids.LIVE_BANNER).text
    assert len(page.find_elements(By.CSS_SELECTOR, ".student-card")) == len(LIVE_STUDENTS)

    with sessions() as s, s.begin():
        session = s.get(ClassSession, seeded.id)
        assert session is not None
        new = add_interval(s, session, 5, LIVE_STUDENTS, interval_s=30.0)
    committed = page.execute_script("return performance.now();")  # after the commit: a poll from here on reads it
    wait_for(lambda: points(page) == 6, timeout=REFRESH_WAIT_S, what="a 6th point after the new interval")
    seen = page.execute_script("return performance.now();")
    traces = {t["name"]: t for t in graph_data(page, ids.LIVE_TIMELINE) or []}
    assert [traces[e]["y"][-1] for e in EMOTIONS] == pytest.approx([new.shares()[e] for e in EMOTIONS])

    starts = sorted(
        page.execute_script(
            "return performance.getEntriesByType('resource')"
            ".filter(e => e.name.includes('_dash-update-component')).map(e => e.startTime);"
        )
    )
    polls = 0
    last = None
    for start in (t for t in starts if committed < t < seen):
        if last is None or start - last > 2000:  # a new poll (3 s apart), not a callback the previous one set off
            polls += 1
        last = start
    assert polls <= 1, f"the new interval took {polls} polls to arrive"
