"""The school overview in headless Chromium: every classroom in its state, rooms needing a look first, and each
room's link opening that room's Live page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from sqlalchemy import delete

from dashboard import ids
from db.schema import ClassSession
from tests.browser.conftest import Dashboard, _database
from tests.browser.helpers import run_dashboard, wait_for
from tests.browser.seed import SCHOOL_ROOMS, SeededRoom, seed_school

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def school_dashboard(tmp_path_factory: pytest.TempPathFactory, browser: Chrome) -> Iterator[Dashboard]:
    tmp: Path = tmp_path_factory.mktemp("school")
    url, sessions = _database(tmp)
    with run_dashboard(url, tmp / "dashboard.log") as server:
        yield Dashboard(server, sessions, None)


@pytest.fixture
def school(school_dashboard: Dashboard) -> tuple[Dashboard, list[SeededRoom]]:
    """The school seeded afresh for each test, right before it looks: the rooms' heartbeats and intervals are only
    seconds old then, however long the dashboard took to start on a loaded machine."""
    with school_dashboard.sessions() as s, s.begin():
        s.execute(delete(ClassSession))  # ON DELETE CASCADE takes the rest
    return school_dashboard, seed_school(school_dashboard.sessions)


def shown_rooms(driver: Chrome) -> list[tuple[str, str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{ids.SCHOOL_ROOMS} tr.room-row")
    return [(str(r.get_attribute("data-classroom")), str(r.get_attribute("data-state"))) for r in rows]


def test_school_page_shows_every_room_in_its_state_needing_a_look_first(
    page: Chrome, school: tuple[Dashboard, list[SeededRoom]]
) -> None:
    dashboard, rooms = school
    page.get(dashboard.url + "/")
    # Dash draws the navbar after the page's load event: looking for it at once failed about one run in four
    link = f"#{ids.NAVBAR} a[href='/school']"
    wait_for(lambda: page.find_elements(By.CSS_SELECTOR, link), what="the navbar's School link")[0].click()
    expected = [(room, state) for room, _name, state in SCHOOL_ROOMS]
    assert wait_for(lambda: shown_rooms(page) == expected and shown_rooms(page), what="the ten rooms") == expected
    summary = page.find_element(By.ID, ids.SCHOOL_SUMMARY).text
    assert summary == "10 classrooms · 8 running · 4 need a look"
    first = page.find_element(By.CSS_SELECTOR, f"#{ids.SCHOOL_ROOMS} tr.room-row")
    assert "Physics 5A" in first.text and "Source offline" in first.text and "offline" in first.text
    alert = page.find_elements(By.CSS_SELECTOR, f"#{ids.SCHOOL_ROOMS} tr.room-row")[1]
    assert "1 open (1 alert)" in alert.text and f"{rooms[1].seen_now} of 26" in alert.text


def test_a_room_opens_its_live_page(page: Chrome, school: tuple[Dashboard, list[SeededRoom]]) -> None:
    dashboard, rooms = school
    history = next(r for r in rooms if r.classroom == "Room 3")
    page.get(dashboard.url + "/school")
    link = wait_for(
        lambda: page.find_elements(By.CSS_SELECTOR, "tr.room-row[data-classroom='Room 3'] a"), what="Room 3's link"
    )[0]
    link.click()
    banner = wait_for(
        lambda: (
            history.name in page.find_element(By.ID, ids.LIVE_BANNER).text and page.find_element(By.ID, ids.LIVE_BANNER)
        ),
        what="Room 3's live page",
    )
    assert "LIVE" in banner.text and "Room 3" in banner.text
    assert page.current_url.endswith("/?classroom=Room+3")
    flags = wait_for(lambda: page.find_elements(By.CSS_SELECTOR, f"#{ids.LIVE_FLAGS} li[data-flag-id]"), what="flag")
    assert len(flags) == 1 and "Seat 4" in flags[0].text
