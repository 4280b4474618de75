"""Rough edges of issue 13 item 13 and the CSP of item 9, in headless Chromium on the real dashboard.

* The Sessions page wrapped its "Delete" button as "Delet / e" at 1366 to 1920 px wide.
* On the review timeline, flags starting at the same time drew their numbers on top of each other.
* Every page is served with a Content-Security-Policy (no inline script but Dash's own, by hash); the ``page``
  fixture fails a test on any console error, a CSP violation included.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By

from dashboard import ids
from db.engine import make_engine, session_factory, upgrade
from db.schema import ClassSession
from tests.browser.conftest import Dashboard
from tests.browser.helpers import HEIGHT, WIDTH, run_dashboard, wait_for
from tests.browser.seed import SeededFlags, seed_classroom, seed_flags

pytestmark = pytest.mark.browser

LONG_TITLE = (
    "Year 10 Mathematics, set 3: simultaneous equations and their graphical solutions, revision lesson before the "
    "mock examinations"
)


@pytest.fixture(scope="module")
def flagged(tmp_path_factory: pytest.TempPathFactory, browser: Chrome) -> Iterator[tuple[Dashboard, SeededFlags]]:
    """The seeded classroom with flags; two of the ended session's flags start in the same interval."""
    tmp = tmp_path_factory.mktemp("edges")
    url = f"sqlite:///{tmp / 'classmood.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    seeded = seed_classroom(sessions)
    flags = seed_flags(sessions, seeded)
    with sessions() as s, s.begin():  # a real teacher's long title squeezes the table's last column
        row = s.get(ClassSession, seeded.live.id)
        assert row is not None
        row.name = LONG_TITLE
    with run_dashboard(url, tmp / "dashboard.log") as server:
        yield Dashboard(server, sessions, seeded), flags
    engine.dispose()


def set_width(driver: Chrome, width: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
    )


LINES_OF_TEXT = """
return Array.from(document.querySelectorAll(arguments[0])).map(el => {
  const range = document.createRange(); range.selectNodeContents(el);
  return new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size;
});
"""


@pytest.mark.parametrize("width", [1366, 1440, 1600, 1920])
def test_the_delete_button_never_wraps(page: Chrome, flagged: tuple[Dashboard, SeededFlags], width: int) -> None:
    dashboard, _flags = flagged
    set_width(page, width)
    try:
        page.get(f"{dashboard.url}/sessions")
        wait_for(lambda: page.find_elements(By.CSS_SELECTOR, f"#{ids.SESSIONS_TABLE} tbody tr"), what="the table")
        lines = page.execute_script(LINES_OF_TEXT, f"#{ids.SESSIONS_TABLE} button")
        assert lines and all(n == 1 for n in lines), f"at {width} px the buttons take {lines} lines"
    finally:
        set_width(page, WIDTH)


BOXES = """
return Array.from(document.querySelectorAll(arguments[0] + ' .shape-label'))
  .filter(el => /^[0-9]+$/.test(el.textContent.trim()))  // the flags' numbers, not the notes' labels
  .map(el => {
    const r = el.getBoundingClientRect(); return [el.textContent.trim(), r.left, r.top, r.right, r.bottom];
  });
"""


def overlaps(a: list[Any], b: list[Any]) -> bool:
    return bool(a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4])


def test_flag_numbers_on_the_review_timeline_do_not_overlap(
    page: Chrome, flagged: tuple[Dashboard, SeededFlags]
) -> None:
    dashboard, flags = flagged
    past = dashboard.seeded.past  # type: ignore[union-attr]
    page.get(f"{dashboard.url}/sessions/{past.id}")
    boxes = wait_for(
        lambda: (found := page.execute_script(BOXES, f"#{ids.REVIEW_TIMELINE}")) and len(found) == len(flags.past)
        and found,
        what="the flags' numbers on the timeline",
    )  # fmt: skip
    assert sorted(b[0] for b in boxes) == [str(n) for n in range(1, len(flags.past) + 1)]
    clashes = [(a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if overlaps(a, b)]
    assert clashes == []


def test_pages_are_served_with_a_csp_and_run_without_console_errors(
    page: Chrome, flagged: tuple[Dashboard, SeededFlags]
) -> None:
    dashboard, _flags = flagged
    with urllib.request.urlopen(dashboard.url + "/", timeout=30) as response:
        csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self' 'sha256-" in csp and "unsafe-eval" not in csp
    for path in ("/", "/sessions", "/compare", "/settings"):
        page.get(dashboard.url + path)
        wait_for(lambda: page.find_elements(By.ID, ids.NAVBAR), what=f"the navbar of {path}")
    # the page fixture then fails the test if Chromium logged any error (a blocked script or style included)
