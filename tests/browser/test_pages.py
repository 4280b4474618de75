"""Each page in headless Chromium on a seeded database: it loads, logs no console error, and shows the seeded data.

The charts are checked through the data Plotly actually drew (``gd.data`` of the graph's ``.js-plotly-plot``), so
a figure that is built right but never reaches the page fails here.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By

from dashboard import ids
from dashboard.mood import MoodShares
from db.emotions import EMOTIONS
from db.export import export_class_csv, export_student_csv
from tests.browser.conftest import Dashboard
from tests.browser.helpers import graph_data, graph_layout, wait_for
from tests.browser.seed import CAMERA_OFF, LIVE_NOTE, LIVE_STUDENTS, NEVER_SEEN, PAST_STUDENTS, SeededSession

pytestmark = pytest.mark.browser


def drawn_traces(driver: Chrome, graph_id: str, n_traces: int, n_points: int) -> dict[str, dict[str, list]]:
    """Wait until the graph shows ``n_traces`` traces of ``n_points`` points; return them by name."""

    def ready() -> dict[str, dict[str, list]] | None:
        data = graph_data(driver, graph_id) or []
        if len(data) == n_traces and all(len(t["y"] or []) == n_points for t in data):
            return {t["name"] or str(i): t for i, t in enumerate(data)}
        return None

    return wait_for(ready, what=f"{graph_id} to show {n_traces} traces x {n_points} points")


def assert_timeline_matches(driver: Chrome, graph_id: str, session: SeededSession) -> None:
    traces = drawn_traces(driver, graph_id, len(EMOTIONS), len(session.intervals))
    assert list(traces) == list(EMOTIONS)
    for emotion in EMOTIONS:
        assert traces[emotion]["y"] == pytest.approx([i.shares()[emotion] for i in session.intervals]), emotion
        assert traces[emotion]["customdata"] == [i.counts[emotion] for i in session.intervals], emotion


def student_cards(driver: Chrome) -> dict[str, dict[str, Any]]:
    """The live page's cards by label: label, emotion, presence, text, sparkline bars and gaps."""
    cards = {}
    for card in driver.find_elements(By.CSS_SELECTOR, f"#{ids.LIVE_STUDENTS} .student-card"):
        label = card.find_element(By.CSS_SELECTOR, ".student-label").text
        presence = card.find_elements(By.CSS_SELECTOR, ".presence")
        cards[label] = {
            "label": label,
            "emotion": card.get_attribute("data-emotion"),
            "presence": presence[0].text if presence else "",
            "text": card.text,
            "bars": len(card.find_elements(By.CSS_SELECTOR, ".spark-bar")),
            "gaps": len(card.find_elements(By.CSS_SELECTOR, ".spark-gap")),
        }
    return cards


def note_names(driver: Chrome, graph_id: str) -> list[str]:
    """The names of the note lines drawn on a graph (``note 1``...)."""
    return [s for s in graph_layout_shapes(driver, graph_id) if s.startswith("note")]


def graph_layout_shapes(driver: Chrome, graph_id: str) -> list[str]:
    shapes = graph_layout(driver, graph_id, "shapes") or []
    return [str(s.get("name", "")) for s in shapes]


def table_rows(driver: Chrome, container_id: str) -> list[list[str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{container_id} tbody tr")
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def test_live_page_shows_the_running_session(page: Chrome, seeded_dashboard: Dashboard) -> None:
    live = seeded_dashboard.seeded.live  # type: ignore[union-attr]
    page.get(seeded_dashboard.url + "/")
    assert_timeline_matches(page, ids.LIVE_TIMELINE, live)

    (bars,) = drawn_traces(page, ids.LIVE_DISTRIBUTION, 1, len(EMOTIONS)).values()
    latest = live.intervals[-1]
    assert bars["customdata"] == [latest.counts[e] for e in EMOTIONS]
    assert bars["y"] == pytest.approx([latest.shares()[e] for e in EMOTIONS])

    banner = page.find_element(By.ID, ids.LIVE_BANNER).text
    assert "LIVE" in banner and live.name in banner
    status = page.find_element(By.ID, ids.LIVE_STATUS).text
    assert "online" in status and "frames analysed" in status and "frames skipped" in status

    cards = wait_for(lambda: student_cards(page), what="the student cards")
    assert sorted(cards) == sorted(LIVE_STUDENTS)
    for student, emotion in latest.dominants.items():  # those seen in the latest interval: its emotion
        assert cards[student]["emotion"] == emotion, student
    assert cards["<b>Ana</b>"]["label"] == "<b>Ana</b>"  # the label shown literally...
    assert not page.find_elements(By.CSS_SELECTOR, f"#{ids.LIVE_STUDENTS} .student-label b")  # ...not as HTML
    assert cards[CAMERA_OFF]["presence"] == "camera off" and "last seen" in cards[CAMERA_OFF]["text"]
    # a sparkline bar per recent interval (all 10 here), a gap where the student was not seen
    assert all(c["bars"] == len(live.intervals) for c in cards.values())
    assert cards["Seat 4"]["gaps"] == len(live.intervals) // 2  # every 4th student misses odd intervals

    mood = page.find_element(By.ID, ids.LIVE_MOOD).text
    shares = MoodShares.from_counts(latest.counts)
    for share in (shares.positive, shares.neutral, shares.negative):
        assert f"{share:.0%}" in mood
    assert "pts against the 5 minutes before" in mood
    seen = page.find_element(By.ID, ids.LIVE_ATTENDANCE).text
    expected = len(LIVE_STUDENTS) + len(NEVER_SEEN)
    assert f"{latest.students_seen} of {expected}" in seen and f"{len(LIVE_STUDENTS)}\nseen this session" in seen
    assert all(name in seen for name in NEVER_SEEN)
    assert note_names(page, ids.LIVE_TIMELINE) == ["note 1"]  # the seeded note, as a line on the chart
    assert LIVE_NOTE[0] in page.find_element(By.ID, ids.LIVE_NOTES).text


def test_sessions_page_lists_sessions_newest_first_and_links_to_review(
    page: Chrome, seeded_dashboard: Dashboard
) -> None:
    seeded = seeded_dashboard.seeded
    assert seeded is not None
    page.get(seeded_dashboard.url + "/sessions")
    rows = wait_for(lambda: table_rows(page, ids.SESSIONS_TABLE), what="the sessions table")
    assert [r[1] for r in rows] == [seeded.live.name, seeded.past.name]
    assert rows[1][3:5] == [str(len(PAST_STUDENTS)), str(len(seeded.past.intervals))]
    assert rows[1][2] == "24 min"

    page.find_element(By.LINK_TEXT, seeded.past.name).click()
    wait_for(lambda: page.current_url.endswith(f"/sessions/{seeded.past.id}"), what="navigation to the review page")
    assert_timeline_matches(page, ids.REVIEW_TIMELINE, seeded.past)


def test_review_page_shows_the_whole_session(page: Chrome, seeded_dashboard: Dashboard) -> None:
    past = seeded_dashboard.seeded.past  # type: ignore[union-attr]
    page.get(f"{seeded_dashboard.url}/sessions/{past.id}")
    assert_timeline_matches(page, ids.REVIEW_TIMELINE, past)

    (bars,) = drawn_traces(page, ids.REVIEW_DISTRIBUTION, 1, len(EMOTIONS)).values()
    totals = past.totals()
    assert bars["customdata"] == [totals[e] for e in EMOTIONS]
    assert bars["y"] == pytest.approx([totals[e] / sum(totals.values()) for e in EMOTIONS])

    assert past.name in page.find_element(By.ID, ids.REVIEW_HEADER).text
    rows = table_rows(page, ids.REVIEW_STUDENTS)
    assert [r[0] for r in rows] == list(PAST_STUDENTS)
    assert {r[1] for r in rows} <= {str(len(past.intervals)), str(len(past.intervals) // 2)}


@pytest.mark.parametrize("session_id", ["999999", "not-a-number"])
def test_review_of_an_unknown_session_says_not_found(
    page: Chrome, seeded_dashboard: Dashboard, session_id: str
) -> None:
    page.get(f"{seeded_dashboard.url}/sessions/{session_id}")
    message = wait_for(lambda: page.find_element(By.ID, ids.REVIEW_NOT_FOUND).text, what="the not-found message")
    assert "Session not found" in message


def downloaded(directory: Path, name: str) -> str:
    """The text of ``name`` once Chromium has finished writing it."""

    def done() -> str | None:
        path = directory / name
        partial = list(directory.glob("*.crdownload"))
        return path.read_text(encoding="utf-8") if path.exists() and not partial else None

    return wait_for(done, what=f"download of {name} (folder has {sorted(p.name for p in directory.iterdir())})")


@pytest.mark.parametrize(
    ("where", "button", "kind"),
    [
        ("live", ids.CSV_CLASS_BUTTON, "class"),
        ("review", ids.CSV_CLASS_BUTTON, "class"),
        ("review", ids.CSV_STUDENTS_BUTTON, "students"),
    ],
)
def test_csv_download_buttons_save_the_export(
    page: Chrome, seeded_dashboard: Dashboard, download_dir: Path, where: str, button: str, kind: str
) -> None:
    seeded = seeded_dashboard.seeded
    assert seeded is not None
    session = seeded.live if where == "live" else seeded.past
    for old in download_dir.iterdir():
        old.unlink()
    if where == "live":
        page.get(seeded_dashboard.url + "/")
        drawn_traces(page, ids.LIVE_TIMELINE, len(EMOTIONS), len(session.intervals))  # the session id is known now
    else:
        page.get(f"{seeded_dashboard.url}/sessions/{session.id}")
    wait_for(lambda: page.find_element(By.ID, button).is_displayed(), what=f"{button} to be shown")
    page.find_element(By.ID, button).click()

    slug = session.name.lower().replace(" ", "-")
    text = downloaded(download_dir, f"classmood-{session.id}-{slug}-{kind}.csv")
    with seeded_dashboard.sessions() as s:
        expected = export_student_csv(s, session.id) if kind == "students" else export_class_csv(s, session.id)
    assert text == expected
    time.sleep(0.2)
    assert len(list(download_dir.iterdir())) == 1  # one click, one file
