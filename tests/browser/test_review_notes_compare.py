"""The pages added for issue 4 in headless Chromium on the seeded database: the review page's heatmap and one
student's view, teacher notes added live and afterwards (drawn on every chart, shown as typed), the sessions list's
filters and deletion, the Compare page and the analysis settings. The ``page`` fixture fails any test that leaves
a SEVERE entry in the browser console.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from dashboard.formatting import fmt_time
from db.emotions import EMOTIONS
from db.schema import ClassSession, Note
from db.settings import AnalysisSettings, load_analysis_settings
from tests.browser.conftest import Dashboard
from tests.browser.helpers import graph_data, graph_layout, wait_for
from tests.browser.seed import PAST_NOTES, PAST_STUDENTS, add_session

pytestmark = pytest.mark.browser

REFRESH_WAIT_S = 15.0


def shape_names(driver: Chrome, graph_id: str) -> list[str]:
    return [str(s.get("name", "")) for s in graph_layout(driver, graph_id, "shapes") or []]


def note_label_texts(driver: Chrome, graph_id: str) -> list[str]:
    """The text Plotly drew for the note lines' labels (SVG text nodes, as a reader sees them)."""
    texts: list[str] = driver.execute_script(
        """
        return Array.from(document.querySelectorAll('#' + arguments[0] + ' .shapelayer text, #'
            + arguments[0] + ' .shape-label')).map(t => t.textContent);
        """,
        graph_id,
    )
    return [t for t in texts if t.startswith("✎")]


def table_rows(driver: Chrome, container_id: str) -> list[list[str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{container_id} tbody tr")
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def dropdown_text(driver: Chrome, dropdown_id: str) -> str:
    return str(driver.find_element(By.ID, dropdown_id).text)


# --- review ---------------------------------------------------------------------------------------------------------


def test_review_heatmap_and_one_student(page: Chrome, seeded_dashboard: Dashboard) -> None:
    past = seeded_dashboard.seeded.past  # type: ignore[union-attr]
    page.get(f"{seeded_dashboard.url}/sessions/{past.id}")
    wait_for(lambda: graph_data(page, ids.REVIEW_HEATMAP), what="the heatmap")
    # one row per student in natural order, one column per interval, each cell the dominant emotion's index
    z = (graph_data(page, ids.REVIEW_HEATMAP) or [{}])[0]["z"]
    assert len(z) == len(PAST_STUDENTS) and all(len(row) == len(past.intervals) for row in z)
    for k, interval in enumerate(past.intervals):
        for i, student in enumerate(PAST_STUDENTS):
            expected = EMOTIONS.index(interval.dominants[student]) if student in interval.dominants else None
            got = None if z[i][k] is None or z[i][k] != z[i][k] else z[i][k]  # NaN or null: not seen
            assert got == expected, (student, k)
    ticks = graph_layout(page, ids.REVIEW_HEATMAP, "yaxis.ticktext")
    assert ticks == list(PAST_STUDENTS)
    # the seeded notes are drawn on every chart of the page
    for graph in (ids.REVIEW_TIMELINE, ids.REVIEW_HEATMAP):
        assert [n for n in shape_names(page, graph) if n.startswith("note")] == ["note 1", "note 2"], graph
    assert [r[2] for r in table_rows(page, ids.REVIEW_NOTES)] == [text for text, _k in PAST_NOTES]

    # the first student is shown at first; a click on the heatmap's third row shows the third student
    wait_for(lambda: len(graph_data(page, ids.REVIEW_STUDENT_TIMELINE) or []) == len(EMOTIONS), what="a student")
    assert PAST_STUDENTS[0] in dropdown_text(page, ids.REVIEW_STUDENT_SELECT)
    plot = page.find_element(By.CSS_SELECTOR, f"#{ids.REVIEW_HEATMAP} .nsewdrag")
    height = plot.size["height"]
    row = 2
    y = int((row + 0.5) / len(PAST_STUDENTS) * height - height / 2)
    ActionChains(page).move_to_element_with_offset(plot, 0, y).pause(0.5).click().perform()
    wait_for(lambda: PAST_STUDENTS[row] in dropdown_text(page, ids.REVIEW_STUDENT_SELECT), what="the clicked student")

    # seeded probabilities: 0.6 for the dominant emotion, the rest shared
    seen = [iv for iv in past.intervals if PAST_STUDENTS[row] in iv.dominants]
    expected = {e: [0.6 if iv.dominants[PAST_STUDENTS[row]] == e else 0.4 / 6 for iv in seen] for e in EMOTIONS}

    def student_points() -> bool:
        traces = {t["name"]: t["y"] for t in graph_data(page, ids.REVIEW_STUDENT_TIMELINE) or []}
        return set(traces) == set(EMOTIONS) and all(traces[e] == pytest.approx(expected[e]) for e in EMOTIONS)

    wait_for(student_points, what="the third student's probabilities on their timeline")
    assert [n for n in shape_names(page, ids.REVIEW_STUDENT_TIMELINE) if n.startswith("note")] == ["note 1", "note 2"]
    (bars,) = graph_data(page, ids.REVIEW_STUDENT_PROBABILITIES) or [None]
    assert bars is not None and sum(bars["y"]) == pytest.approx(1.0)
    assert page.find_element(By.ID, ids.REPORT_LINKS) is not None  # the report links' place is there


def test_a_note_added_afterwards_is_drawn_on_every_chart_as_typed(page: Chrome, seeded_dashboard: Dashboard) -> None:
    """Typed markup in a note must show as those characters on the charts and in the list, never as formatting."""
    sessions = seeded_dashboard.sessions
    with sessions() as s, s.begin():
        extra = add_session(s, name="Notes lesson", started_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
                            n_intervals=12, students=PAST_STUDENTS, interval_s=60.0, running=False)  # fmt: skip
    page.get(f"{seeded_dashboard.url}/sessions/{extra.id}")
    wait_for(lambda: graph_data(page, ids.REVIEW_HEATMAP), what="the heatmap")

    # a time that is not a time is refused, and nothing is stored
    page.find_element(By.ID, ids.REVIEW_NOTE_TIME).send_keys("soon")
    page.find_element(By.ID, ids.REVIEW_NOTE_INPUT).send_keys("ignored")
    page.find_element(By.ID, ids.REVIEW_NOTE_ADD).click()
    wait_for(lambda: "HH:MM" in page.find_element(By.ID, ids.REVIEW_NOTE_MESSAGE).text, what="the refusal")

    # clicking the timeline puts that time into the form
    plot = page.find_element(By.CSS_SELECTOR, f"#{ids.REVIEW_TIMELINE} .nsewdrag")
    # hover first (Plotly reports a click on the point it hovers, within 20 px): the 4th of 12 points; then click
    width = plot.size["width"]
    x = int(width * 3 / (len(extra.intervals) - 1) - width / 2)
    chain = ActionChains(page).move_to_element_with_offset(plot, x, 0).pause(0.5).move_by_offset(1, 0).pause(0.5)
    chain.click().perform()
    clicked = wait_for(
        lambda: (v := page.find_element(By.ID, ids.REVIEW_NOTE_TIME).get_attribute("value")) != "soon" and v,
        what="the clicked time in the form",
    )
    assert clicked == fmt_time(extra.intervals[3].start)  # HH:MM:SS of the clicked point

    box = page.find_element(By.ID, ids.REVIEW_NOTE_TIME)
    box.send_keys(Keys.CONTROL, "a")
    at = extra.intervals[4].start
    box.send_keys(fmt_time(at))
    text_box = page.find_element(By.ID, ids.REVIEW_NOTE_INPUT)
    text_box.send_keys(Keys.CONTROL, "a")
    text_box.send_keys("<b>quiz</b> & test")
    page.find_element(By.ID, ids.REVIEW_NOTE_ADD).click()
    wait_for(lambda: "Added" in page.find_element(By.ID, ids.REVIEW_NOTE_MESSAGE).text, what="the note added")

    rows = wait_for(lambda: table_rows(page, ids.REVIEW_NOTES), what="the notes list")
    assert [r[1:3] for r in rows] == [[fmt_time(at), "<b>quiz</b> & test"]]
    assert not page.find_elements(By.CSS_SELECTOR, f"#{ids.REVIEW_NOTES} td b")
    for graph in (ids.REVIEW_TIMELINE, ids.REVIEW_HEATMAP):
        wait_for(lambda g=graph: "note 1" in shape_names(page, g), what=f"the note line on {graph}")
        assert set(note_label_texts(page, graph)) == {"✎ <b>quiz</b> & test"}, graph  # drawn literally
    wait_for(lambda: "note 1" in shape_names(page, ids.REVIEW_STUDENT_TIMELINE), what="the note on the student chart")
    with sessions() as s:
        notes = s.query(Note).filter_by(session_id=extra.id).all()
    assert [(n.text, n.at) for n in notes] == [("<b>quiz</b> & test", at)]


def test_a_note_added_live_is_pinned_to_now(page: Chrome, seeded_dashboard: Dashboard) -> None:
    live = seeded_dashboard.seeded.live  # type: ignore[union-attr]
    page.get(seeded_dashboard.url + "/")
    wait_for(lambda: len(graph_data(page, ids.LIVE_TIMELINE) or []) == len(EMOTIONS), what="the live chart")
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    box = page.find_element(By.ID, ids.LIVE_NOTE_INPUT)
    box.send_keys("group work starts")
    box.send_keys(Keys.ENTER)
    wait_for(lambda: "Added" in page.find_element(By.ID, ids.LIVE_NOTE_MESSAGE).text, what="the note added")
    assert page.find_element(By.ID, ids.LIVE_NOTE_INPUT).get_attribute("value") == ""
    wait_for(lambda: "group work starts" in page.find_element(By.ID, ids.LIVE_NOTES).text, what="the notes list")
    wait_for(lambda: "note 2" in shape_names(page, ids.LIVE_TIMELINE), timeout=REFRESH_WAIT_S, what="the line")
    with seeded_dashboard.sessions() as s:
        note = s.query(Note).filter_by(session_id=live.id, text="group work starts").one()
    assert before <= note.at <= dt.datetime.now(dt.UTC)
    with seeded_dashboard.sessions() as s, s.begin():
        s.delete(s.get(Note, note.id))  # leave the module's seeded data as it was


# --- sessions -------------------------------------------------------------------------------------------------------


def test_sessions_filters_and_delete_with_confirmation(page: Chrome, seeded_dashboard: Dashboard) -> None:
    seeded = seeded_dashboard.seeded
    assert seeded is not None
    with seeded_dashboard.sessions() as s, s.begin():
        doomed = add_session(s, name="Delete me", started_at=dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC),
                             n_intervals=3, students=PAST_STUDENTS, running=False)  # fmt: skip
    page.get(seeded_dashboard.url + "/sessions")
    wait_for(lambda: len(table_rows(page, ids.SESSIONS_TABLE)) >= 3, what="the sessions table")
    names = [r[1] for r in table_rows(page, ids.SESSIONS_TABLE)]
    assert names[:2] == [seeded.live.name, seeded.past.name] and "Delete me" in names
    mood = table_rows(page, ids.SESSIONS_TABLE)[1][5]
    assert mood.startswith("😊 ") and "☹" in mood  # the overall mood column

    page.find_element(By.ID, ids.SESSIONS_TITLE_FILTER).send_keys("bio")
    wait_for(lambda: [r[1] for r in table_rows(page, ids.SESSIONS_TABLE)] == [seeded.past.name], what="the filter")
    page.find_element(By.ID, ids.SESSIONS_TITLE_FILTER).send_keys(Keys.CONTROL, "a", Keys.DELETE)
    wait_for(lambda: len(table_rows(page, ids.SESSIONS_TABLE)) == len(names), what="the filter cleared")

    def delete_button() -> Any:
        return page.find_element(By.CSS_SELECTOR, f"#{ids.SESSIONS_TABLE} button[id*='\"index\":{doomed.id}']")

    delete_button().click()  # cancel first: nothing happens
    alert = WebDriverWait(page, 10).until(expected_conditions.alert_is_present())
    assert "Delete me" in alert.text and "cannot be undone" in alert.text
    alert.dismiss()
    with seeded_dashboard.sessions() as s:
        assert s.get(ClassSession, doomed.id) is not None
    delete_button().click()
    WebDriverWait(page, 10).until(expected_conditions.alert_is_present()).accept()
    wait_for(lambda: "Delete me" not in [r[1] for r in table_rows(page, ids.SESSIONS_TABLE)], what="the row gone")
    assert "Deleted" in page.find_element(By.ID, ids.SESSIONS_MESSAGE).text
    with seeded_dashboard.sessions() as s:
        assert s.get(ClassSession, doomed.id) is None


# --- compare --------------------------------------------------------------------------------------------------------


def test_compare_two_sessions_on_lesson_time(page: Chrome, seeded_dashboard: Dashboard) -> None:
    seeded = seeded_dashboard.seeded
    assert seeded is not None
    page.get(f"{seeded_dashboard.url}/compare?ids={seeded.past.id},{seeded.live.id}")
    timeline = wait_for(lambda: len(graph_data(page, ids.COMPARE_TIMELINE) or []) == 2 and graph_data(
        page, ids.COMPARE_TIMELINE), what="two timelines")  # fmt: skip
    bars = graph_data(page, ids.COMPARE_DISTRIBUTION) or []
    assert len(bars) == 2
    for trace, session in zip(bars, (seeded.past, seeded.live), strict=True):
        totals = session.totals()
        assert trace["y"] == pytest.approx([totals[e] / sum(totals.values()) for e in EMOTIONS])
    # minutes since each lesson's start: the past session every minute, the live one every half minute
    assert timeline[0]["x"][:3] == [0, 1, 2] and timeline[1]["x"][:3] == [0, 0.5, 1]
    first = seeded.past.intervals[0]
    expected_score = first.counts["happy"] - sum(first.counts[e] for e in ("angry", "disgust", "fear", "sad"))
    assert timeline[0]["y"][0] == pytest.approx(expected_score / first.students_seen)
    summary = [r[0] for r in table_rows(page, ids.COMPARE_SUMMARY + "-table")]
    assert summary == [seeded.past.name, seeded.live.name]


# --- settings -------------------------------------------------------------------------------------------------------


def test_analysis_settings_are_saved_to_the_database(page: Chrome, seeded_dashboard: Dashboard) -> None:
    page.get(seeded_dashboard.url + "/settings")
    note = wait_for(lambda: page.find_element(By.ID, ids.ANALYSIS_NOTE).text, what="the analysis section")
    assert "next session" in note and "wins" in note
    interval = page.find_element(By.ID, ids.ANALYSIS_INTERVAL)
    assert interval.get_attribute("value") == "10"
    interval.send_keys(Keys.CONTROL, "a")
    interval.send_keys("0")  # below the minimum of 1: refused, nothing stored
    page.find_element(By.ID, ids.ANALYSIS_SAVE).click()
    wait_for(lambda: "Not saved" in page.find_element(By.ID, ids.ANALYSIS_MESSAGE).text, what="the refusal")
    with seeded_dashboard.sessions() as s:
        assert load_analysis_settings(s) == AnalysisSettings()

    interval.send_keys(Keys.CONTROL, "a")
    interval.send_keys("15")
    page.find_element(By.CSS_SELECTOR, f"#{ids.ANALYSIS_LAYOUT} input[value='gallery']").click()
    page.find_element(By.ID, ids.ANALYSIS_SAVE).click()
    wait_for(lambda: "Saved" in page.find_element(By.ID, ids.ANALYSIS_MESSAGE).text, what="the saved message")
    with seeded_dashboard.sessions() as s:
        assert load_analysis_settings(s) == AnalysisSettings(interval_s=15, fps=2, layout="gallery")
    page.refresh()  # the page shows what is stored
    wait_for(lambda: page.find_element(By.ID, ids.ANALYSIS_INTERVAL).get_attribute("value") == "15", what="reload")
