"""Responsible use in headless Chromium and over HTTP: the notice with the school's settings (page, HTML, PDF, open
without a login), the Live page's mode line and link, a presence-mode session on the Live and Review pages, and the
Settings page's responsible-use card and one student's erasure."""

from __future__ import annotations

import datetime as dt
import io
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from sqlalchemy import func, select

from dashboard import ids
from db.emotions import EMOTIONS
from db.engine import make_engine, session_factory, upgrade
from db.schema import ClassSession, Interval, SourceStatus, StudentPresence
from db.settings import PrivacySettings, load_privacy_settings, save_privacy_settings
from tests.browser.conftest import Dashboard
from tests.browser.helpers import graph_data, run_dashboard, wait_for

pytestmark = pytest.mark.browser

SCHOOL = "Lycée Jean-Moulin · 3e B"
CONTACT = "Mme Dupont, dpo@ecole.example"
STUDENT = "Zoë \"Z\" O'Brien"
SETTINGS = PrivacySettings(mode="presence", mode_locked=True, retention_days=30, school=SCHOOL, contact=CONTACT)


@pytest.fixture(scope="module")
def presence_dashboard(tmp_path_factory: pytest.TempPathFactory, browser: Chrome) -> Iterator[Dashboard]:
    """The school's settings stored, and one running presence-mode session of 6 intervals, two students."""
    tmp = tmp_path_factory.mktemp("presence")
    url = f"sqlite:///{tmp / 'classmood.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(seconds=60)
    with sessions() as s, s.begin():
        save_privacy_settings(s, SETTINGS)
        cs = ClassSession(name="Physics 3B", source="camera 0", layout="gallery", interval_s=10, fps=2,
                          detector="mtcnn", model="none (presence mode)", started_at=start, mode="presence")
        s.add(cs)
        s.flush()
        s.add(SourceStatus(session_id=cs.id, state="online", updated_at=now))
        for k in range(6):
            iv = Interval(session_id=cs.id, start=start + dt.timedelta(seconds=10 * k),
                          end=start + dt.timedelta(seconds=10 * (k + 1)), students_seen=1 + (k % 2),
                          students_present=2, frames_analysed=20, frames_skipped=0,
                          **{f"n_{e}": None for e in EMOTIONS})
            s.add(iv)
            s.flush()
            s.add(StudentPresence(interval_id=iv.id, student=STUDENT, state="seen", frames_visible=20,
                                  visible_share=1.0))
            s.add(StudentPresence(interval_id=iv.id, student="Tile 1-2",
                                  state="seen" if k % 2 else "camera_off", frames_visible=20 if k % 2 else 0,
                                  frames_camera_off=0 if k % 2 else 20, visible_share=1.0 if k % 2 else 0.0))
    with run_dashboard(url, tmp / "dashboard.log") as server:
        yield Dashboard(server, sessions, None)


def fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def assert_has_the_school_settings(text: str) -> None:
    flat = " ".join(text.split())
    for fragment in (SCHOOL, CONTACT, "presence mode", "No emotion", "30 days", "no face image",
                     "Article 5(1)(f)", "class totals", "notes are free text", "does not search them"):
        assert fragment in flat, fragment


def test_notice_page_shows_the_school_settings(page: Chrome, presence_dashboard: Dashboard) -> None:
    page.get(presence_dashboard.url + "/notice")
    notice = wait_for(lambda: page.find_elements(By.ID, ids.NOTICE) or None, what="the notice")[0]
    assert_has_the_school_settings(notice.text)
    assert "fixed this mode for every class" in notice.text  # the lock


def test_printable_notice_and_pdf(page: Chrome, presence_dashboard: Dashboard) -> None:
    status, kind, body = fetch(presence_dashboard.url + "/notice.pdf")
    assert status == 200 and kind == "application/pdf"
    reader = PdfReader(io.BytesIO(body))
    assert len(reader.pages) == 1
    assert_has_the_school_settings(reader.pages[0].extract_text())
    page.get(presence_dashboard.url + "/notice.html")
    assert_has_the_school_settings(page.find_element(By.ID, "notice").text)


def test_live_page_says_the_mode_and_links_to_the_notice(page: Chrome, presence_dashboard: Dashboard) -> None:
    page.get(presence_dashboard.url + "/")

    def text_of(element_id: str, expected: str) -> Callable[[], str | None]:
        """The element's text once it holds ``expected``, read afresh at every poll: the page's first callbacks
        replace nodes, and a node found once can be gone by the time it is read (StaleElementReference under load)."""

        def read() -> str | None:
            text = page.find_element(By.ID, element_id).text
            return text if expected in text else None

        return read

    line = wait_for(text_of(ids.LIVE_MODE, "Presence mode"), what="the mode line")
    assert "no emotion is inferred" in line
    wait_for(text_of(ids.LIVE_BANNER, "presence mode"), what="the banner")

    def drawn() -> dict[str, list[float]] | None:
        traces = {t.get("name"): t.get("y") for t in graph_data(page, ids.LIVE_TIMELINE) or []}
        return traces if set(traces) == {"present", "face visible"} else None

    traces = wait_for(drawn, what="the presence timeline")  # presence over time, not emotions
    assert traces["present"] == [2] * 6 and traces["face visible"] == [1, 2, 1, 2, 1, 2]
    seen = {t.get("name"): t.get("x") for t in graph_data(page, ids.LIVE_DISTRIBUTION) or []}
    assert list(seen.values()) == [[2, 0, 0]]  # latest interval: both seen
    # the page's own headings say presence too, not mood or emotion (sent with the session: waited for)
    assert wait_for(text_of(ids.LIVE_TIMELINE_TITLE, "Presence"), what="the presence heading") == "Presence over time"
    assert wait_for(text_of(ids.LIVE_MOOD_TITLE, "Presence"), what="the mood card's heading") == "Presence now"
    wait_for(text_of(ids.LIVE_STUDENTS_CAPTION, "no emotion is inferred"), what="the students' caption")
    honesty = wait_for(text_of(ids.LIVE_HONESTY, "Presence mode"), what="the honesty note")
    assert honesty.startswith("Presence mode") and "Emotion estimates" not in honesty

    def follow() -> bool:
        page.find_element(By.ID, ids.LIVE_MODE).find_element(By.LINK_TEXT, "What this means for students").click()
        return True

    wait_for(follow, what="the notice link")
    wait_for(lambda: page.find_elements(By.ID, ids.NOTICE) or None, what="the notice after the link")


def test_settings_card_saves_the_school_settings(page: Chrome, presence_dashboard: Dashboard) -> None:
    page.get(presence_dashboard.url + "/settings")
    retention = wait_for(lambda: page.find_elements(By.ID, ids.PRIVACY_RETENTION) or None, what="settings")[0]
    assert retention.get_attribute("value") == "30"
    retention.clear()
    retention.send_keys("14")
    page.find_element(By.ID, ids.PRIVACY_SAVE).click()
    message = wait_for(lambda: page.find_element(By.ID, ids.PRIVACY_MESSAGE).text or None, what="saved")
    assert "presence mode (locked)" in message and "kept 14 day(s)" in message
    with presence_dashboard.sessions() as s:
        assert load_privacy_settings(s) == SETTINGS.model_copy(update={"retention_days": 14})
    with presence_dashboard.sessions() as s, s.begin():
        save_privacy_settings(s, SETTINGS)  # as it was, for the other tests


def test_settings_erases_one_student_after_confirmation(page: Chrome, presence_dashboard: Dashboard) -> None:
    def count(label: str) -> int:
        with presence_dashboard.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(StudentPresence)
                                .where(StudentPresence.student == label)) or 0)

    assert (count(STUDENT), count("Tile 1-2")) == (6, 6)
    page.get(presence_dashboard.url + "/settings")
    name = wait_for(lambda: page.find_elements(By.ID, ids.STUDENT_NAME) or None, what="settings")[0]
    name.send_keys(STUDENT)
    page.find_element(By.ID, ids.STUDENT_FORGET).click()
    alert = wait_for(lambda: _alert(page), what="the confirmation")
    alert.accept()
    message = wait_for(lambda: page.find_element(By.ID, ids.STUDENT_MESSAGE).text or None, what="erased")
    assert "Erased 0 interval row(s), 6 presence row(s)" in message
    assert (count(STUDENT), count("Tile 1-2")) == (0, 6)


def _alert(page: Chrome):  # type: ignore[no-untyped-def]
    from selenium.common.exceptions import NoAlertPresentException

    try:
        alert = page.switch_to.alert
        _ = alert.text
        return alert
    except NoAlertPresentException:
        return None


def test_notice_cli_writes_pdf_and_html_with_the_settings(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.db.test_export import ROOT

    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as s, s.begin():
        save_privacy_settings(s, SETTINGS)
    engine.dispose()
    for out in (tmp_path / "notice.pdf", tmp_path / "notice.html"):
        done = subprocess.run([sys.executable, "-m", "dashboard", "notice", "--out", str(out), "--db", url],
                              cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    assert_has_the_school_settings(PdfReader(tmp_path / "notice.pdf").pages[0].extract_text())
    html_text = (tmp_path / "notice.html").read_text(encoding="utf-8")
    assert "presence mode" in html_text and "dpo@ecole.example" in html_text


def test_review_page_of_a_presence_session(page: Chrome, presence_dashboard: Dashboard) -> None:
    with presence_dashboard.sessions() as s:
        sid = s.scalars(select(ClassSession.id)).one()
    page.get(f"{presence_dashboard.url}/sessions/{sid}")
    header = wait_for(lambda: page.find_elements(By.ID, ids.REVIEW_HEADER) or None, what="the review header")[0]
    assert "presence mode" in header.text and "no emotion is inferred" in header.text

    def drawn() -> dict[str, list[float]] | None:
        traces = {t.get("name"): t.get("y") for t in graph_data(page, ids.REVIEW_TIMELINE) or []}
        return traces or None

    assert wait_for(drawn, what="the presence timeline") == {"present": [2] * 6, "face visible": [1, 2] * 3}


def test_sessions_list_says_presence_mode(page: Chrome, presence_dashboard: Dashboard) -> None:
    page.get(presence_dashboard.url + "/sessions")
    wait_for(lambda: "presence mode: none inferred" in page.find_element(By.TAG_NAME, "main").text or None,
             what="the session's mode in the list")


# --- a presence-mode and an expressions-mode session side by side: Compare and the session report ---------------------

EMOTION_WORDS = {*EMOTIONS, "mood", "emotion estimates"}


@pytest.fixture(scope="module")
def mixed_dashboard(tmp_path_factory: pytest.TempPathFactory, browser: Chrome) -> Iterator[Dashboard]:
    """Two ended sessions: "Presence 3B" (presence mode, 4 intervals, students present 3 and visible 3, 2, 1, 2;
    one student's camera off half the time) and "Expressions 3B" (4 intervals of happy and neutral students)."""
    tmp = tmp_path_factory.mktemp("mixed")
    url = f"sqlite:///{tmp / 'classmood.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    start = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    with sessions() as s, s.begin():
        presence = ClassSession(name="Presence 3B", source="camera 0", layout="room", interval_s=10, fps=2,
                                detector="haar", model="none (presence mode)", started_at=start,
                                ended_at=start + dt.timedelta(seconds=40), mode="presence")
        s.add(presence)
        s.flush()
        for k, visible in enumerate((3, 2, 1, 2)):
            iv = Interval(session_id=presence.id, start=start + dt.timedelta(seconds=10 * k),
                          end=start + dt.timedelta(seconds=10 * (k + 1)), students_seen=visible, students_present=3,
                          frames_analysed=20, frames_skipped=0, **{f"n_{e}": None for e in EMOTIONS})
            s.add(iv)
            s.flush()
            for i, student in enumerate((STUDENT, "Seat 2", "Seat 3")):
                seen = i < visible
                state = "seen" if seen else ("camera_off" if student == "Seat 3" else "face_not_visible")
                s.add(StudentPresence(interval_id=iv.id, student=student, state=state,
                                      frames_visible=20 if seen else 0, frames_camera_off=20 if state == "camera_off"
                                      else 0, visible_share=1.0 if seen else 0.0))
        later = start + dt.timedelta(days=3)
        expressions = ClassSession(name="Expressions 3B", source="camera 0", layout="room", interval_s=10, fps=2,
                                   detector="haar", model="models/fer.keras", started_at=later,
                                   ended_at=later + dt.timedelta(seconds=40), mode="expressions")
        s.add(expressions)
        s.flush()
        for k in range(4):
            s.add(Interval(session_id=expressions.id, start=later + dt.timedelta(seconds=10 * k),
                           end=later + dt.timedelta(seconds=10 * (k + 1)), students_seen=3, frames_analysed=20,
                           frames_skipped=0, **{f"n_{e}": {"happy": 2, "neutral": 1}.get(e, 0) for e in EMOTIONS}))
    with run_dashboard(url, tmp / "dashboard.log") as server:
        yield Dashboard(server, sessions, None)


def ids_by_name(dashboard: Dashboard) -> dict[str, int]:
    with dashboard.sessions() as s:
        return {name: sid for sid, name in s.execute(select(ClassSession.id, ClassSession.name))}


def trace_names(page: Chrome, graph_id: str) -> list[str] | None:
    data = graph_data(page, graph_id)
    return [str(t.get("name")) for t in data] if data else None


def test_compare_keeps_a_presence_session_out_of_the_emotion_charts(
    page: Chrome, mixed_dashboard: Dashboard
) -> None:
    sid = ids_by_name(mixed_dashboard)
    page.get(f"{mixed_dashboard.url}/compare?ids={sid['Presence 3B']},{sid['Expressions 3B']}")
    presence = wait_for(lambda: trace_names(page, ids.COMPARE_PRESENCE), what="the presence chart")
    assert len(presence) == 2 and all(n.startswith("Presence 3B") for n in presence), presence
    assert presence[0].endswith(": present") and presence[1].endswith(": face visible")
    visible = [t.get("y") for t in graph_data(page, ids.COMPARE_PRESENCE) or []]
    assert visible == [[3, 3, 3, 3], [3, 2, 1, 2]]
    for graph in (ids.COMPARE_DISTRIBUTION, ids.COMPARE_TIMELINE):  # the emotion charts: the expressions one only
        names = wait_for(lambda g=graph: trace_names(page, g), what=graph)  # type: ignore[misc]
        assert names == [n for n in names if n.startswith("Expressions 3B")] and names, (graph, names)
    summary = page.find_element(By.ID, ids.COMPARE_SUMMARY).text
    assert "none inferred (presence mode)" in summary and "not in the mood charts" in summary
    assert page.find_element(By.ID, ids.COMPARE_PRESENCE_CARD).is_displayed()
    assert page.find_element(By.ID, ids.COMPARE_EMOTION_CARDS).is_displayed()

    page.get(f"{mixed_dashboard.url}/compare?ids={sid['Presence 3B']}")  # presence only: no emotion card at all
    wait_for(lambda: trace_names(page, ids.COMPARE_PRESENCE), what="the presence chart alone")
    wait_for(lambda: not page.find_element(By.ID, ids.COMPARE_EMOTION_CARDS).is_displayed() or None,
             what="the emotion cards hidden")

    page.get(f"{mixed_dashboard.url}/compare?ids={sid['Expressions 3B']}")  # expressions only: no presence card
    wait_for(lambda: trace_names(page, ids.COMPARE_DISTRIBUTION), what="the mood distribution")
    assert not page.find_element(By.ID, ids.COMPARE_PRESENCE_CARD).is_displayed()


def assert_presence_report(text: str) -> None:
    flat = " ".join(text.split())
    for fragment in ("Presence over time", "Presence overall", "presence (no emotion inferred)", "camera off", "face not visible", "no emotion, expression or mood was inferred"):
        assert fragment in flat, fragment
    lowered = flat.lower()
    for word in ("class mood", "overall mood", "emotion estimates", *EMOTIONS):
        assert word not in lowered, word


def test_presence_session_report_shows_presence_not_emotions(page: Chrome, mixed_dashboard: Dashboard) -> None:
    sid = ids_by_name(mixed_dashboard)["Presence 3B"]
    page.get(f"{mixed_dashboard.url}/report/{sid}.html")
    assert_presence_report(page.find_element(By.TAG_NAME, "body").text)
    facts = {dt_.text: dd.text for dt_, dd in zip(page.find_elements(By.CSS_SELECTOR, "#report-facts dt"),
                                                  page.find_elements(By.CSS_SELECTOR, "#report-facts dd"), strict=True)}
    assert facts["Students"] == "3" and facts["Intervals"] == "4"  # the presence rows' students, not 0
    legend = page.find_element(By.ID, "report-timeline").text
    assert "present" in legend and "face visible" in legend
    status, kind, pdf = fetch(f"{mixed_dashboard.url}/report/{sid}.pdf")
    assert status == 200 and kind == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    assert_presence_report(reader.pages[0].extract_text())
    assert "Students: 3" in reader.pages[0].extract_text()

    other = ids_by_name(mixed_dashboard)["Expressions 3B"]  # the expressions report is unchanged
    text = PdfReader(io.BytesIO(fetch(f"{mixed_dashboard.url}/report/{other}.pdf")[2])).pages[0].extract_text()
    assert "Class mood over time" in text and "Overall mood" in text and "Presence over time" not in text
