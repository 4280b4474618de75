"""The one-page session report (``db.report`` + ``dashboard.report``) checked against the database it came from,
on SQLite and PostgreSQL: the PDF's text (read back with pypdf), one page, the HTML's escaping, and scoping."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from dashboard.__main__ import main as dashboard_main
from dashboard.formatting import fmt_duration, to_local
from dashboard.report import MAX_FLAGS, render_html, render_pdf
from db.accounts import Viewer
from db.emotions import EMOTIONS
from db.report import session_report
from db.schema import ClassSession, Flag, Interval, Note, StudentInterval
from tests.db.builders import INJECTION, T0, Seeded

pytestmark = pytest.mark.db

SCRIPT = "<script>alert('x')</script>"
DOLLARS = "Tile $x^2$ costs $5"  # matplotlib would read $...$ as a formula unless told not to


def add_details(Session: sessionmaker[OrmSession], seeded: Seeded, *, extra_flags: int = 0) -> None:
    """Notes and flags on Maths (Alice's session), labels written to break HTML, spreadsheets and mathtext."""
    with Session() as s, s.begin():
        maths = s.get(ClassSession, seeded.maths)
        assert maths is not None
        maths.teacher, maths.classroom = "alice", "Room 12"
        now = T0 + dt.timedelta(hours=3)
        s.add(Note(session_id=seeded.maths, at=T0 + dt.timedelta(seconds=12), text="quiz started", created_at=now))
        s.add(Note(session_id=seeded.maths, at=T0 + dt.timedelta(seconds=20), text=f"note {SCRIPT}", author="alice",
                   created_at=now))  # fmt: skip
        flags = [
            (SCRIPT, "sustained_negative", f"{SCRIPT}: sad in 7 of 10 minutes", 0, 20),
            (INJECTION, "not_visible", f"{INJECTION}: face not visible", 10, None),
            (DOLLARS, "baseline_shift", f"{DOLLARS}: differs from their start", 5, 30),
            (None, "class_negative", "half the class looked sad", 0, 10),
        ] + [(f"Seat {k}", "not_visible", f"Seat {k}: gone", 1, 2) for k in range(extra_flags)]
        for student, rule, reason, start, end in flags:
            s.add(Flag(session_id=seeded.maths, student=student, rule=rule, reason=reason, severity="warning",
                       start=T0 + dt.timedelta(seconds=start),
                       end=None if end is None else T0 + dt.timedelta(seconds=end), evidence={}, frames=12))  # fmt: skip


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), " ".join(page.extract_text() for page in reader.pages)


def squash(text: str) -> str:
    """Without white space: pypdf puts spaces where the font's kerning leaves gaps ("T eacher")."""
    return re.sub(r"\s+", "", text)


def test_report_matches_the_database(Session: sessionmaker[OrmSession], seeded: Seeded) -> None:
    add_details(Session, seeded)
    with Session() as s:
        report = session_report(s, seeded.maths, Viewer("alice", "teacher"))
        assert report is not None
        # what the report says, against the database directly
        students = s.scalar(
            select(func.count(StudentInterval.student.distinct()))
            .join(Interval)
            .where(Interval.session_id == seeded.maths)
        )
        totals = {e: s.scalar(select(func.sum(getattr(Interval, f"n_{e}"))).where(Interval.session_id == seeded.maths))
                  for e in EMOTIONS}  # fmt: skip
        n_notes = s.scalar(select(func.count(Note.id)).where(Note.session_id == seeded.maths))
        n_flags = s.scalar(select(func.count(Flag.id)).where(Flag.session_id == seeded.maths))
    assert report.students == students == 4
    assert report.totals == totals
    assert len(report.notes) == n_notes == 2 and len(report.flags) == n_flags == 4
    assert report.duration_s == 35.0

    pages, text = pdf_text(render_pdf(report))
    assert pages == 1
    flat = squash(text)
    start = to_local(T0)
    for expected in ("Maths", f"Date: {start:%Y-%m-%d}", f"Duration: {fmt_duration(35.0)}", "Students: 4",
                     "Teacher: alice", "Classroom: Room 12", "quiz started", f"note {SCRIPT}",
                     f"{SCRIPT}: sad in 7 of 10 minutes", INJECTION, DOLLARS, "Whole class",
                     "half the class looked sad"):  # fmt: skip
        assert squash(expected) in flat, expected
    total = sum(totals.values())
    for e in EMOTIONS:  # the distribution's labels: share and count of student-intervals per emotion
        assert squash(f"{totals[e] / total:.0%} ({totals[e]:,})") in flat, e
    flag_start = to_local(T0 + dt.timedelta(seconds=10))
    assert f"{flag_start:%H:%M}–open" in flat  # the open flag


def test_html_report_escapes_every_label_and_runs_no_script(Session: sessionmaker[OrmSession], seeded: Seeded) -> None:
    add_details(Session, seeded)
    with Session() as s:
        report = session_report(s, seeded.maths, None)
    assert report is not None
    page = render_html(report)
    assert "<script" not in page.lower()  # neither ours nor a label's
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;: sad in 7 of 10 minutes" in page
    assert "=HYPERLINK(&quot;http://evil&quot;,&quot;x&quot;)" in page
    assert page.count("<svg") == 2  # timeline and distribution, inline
    assert "<img" not in page  # charts only: no picture of anyone
    assert "@page" in page and "size: A4" in page


def test_long_flag_lists_are_cut_to_stay_on_one_page(Session: sessionmaker[OrmSession], seeded: Seeded) -> None:
    add_details(Session, seeded, extra_flags=40)
    with Session() as s:
        report = session_report(s, seeded.maths, None)
    assert report is not None
    pages, text = pdf_text(render_pdf(report))
    assert pages == 1
    assert squash(f"and {44 - MAX_FLAGS} more flags") in squash(text)


def test_report_is_scoped_like_the_pages(Session: sessionmaker[OrmSession], seeded: Seeded) -> None:
    add_details(Session, seeded)
    with Session() as s:
        assert session_report(s, seeded.maths, Viewer("bob", "teacher")) is None
        assert session_report(s, seeded.maths, Viewer("root", "admin")) is not None
        assert session_report(s, 999_999, None) is None


def test_report_command_writes_pdf_and_html(
    db_url: str, Session: sessionmaker[OrmSession], seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_details(Session, seeded)
    pdf, page = tmp_path / "r.pdf", tmp_path / "r.html"
    assert dashboard_main(["report", "--session", str(seeded.maths), "--out", str(pdf), "--db", db_url]) == 0
    assert dashboard_main(["report", "--session", str(seeded.maths), "--out", str(page), "--db", db_url]) == 0
    assert pdf_text(pdf.read_bytes())[0] == 1 and "quiz started" in page.read_text()
    capsys.readouterr()
    assert dashboard_main(["report", "--session", "999999", "--out", str(pdf), "--db", db_url]) == 2
    assert dashboard_main(["report", "--session", "1", "--out", str(tmp_path / "r.docx"), "--db", db_url]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: no session with id 999999", "error: --out must end in .pdf or .html, not 'r.docx'"]


def test_presence_session_report_counts_presence_students_and_draws_no_emotion(
    Session: sessionmaker[OrmSession],
) -> None:
    """The bug: a presence-mode session's report said "Students: 0" (it counted StudentInterval rows, which presence
    mode never writes) and drew an empty mood chart. Now its students come from the presence rows and its charts
    show presence; on SQLite and PostgreSQL."""
    from db.schema import StudentPresence

    with Session() as s, s.begin():
        cs = ClassSession(name="Presence", source="camera 0", layout="room", interval_s=10, fps=2, detector="haar",
                          model="none (presence mode)", started_at=T0, ended_at=T0 + dt.timedelta(seconds=20),
                          mode="presence")
        s.add(cs)
        s.flush()
        for k, states in enumerate((("seen", "seen", "camera_off"), ("seen", "face_not_visible", "camera_off"))):
            iv = Interval(session_id=cs.id, start=T0 + dt.timedelta(seconds=10 * k),
                          end=T0 + dt.timedelta(seconds=10 * (k + 1)), students_seen=states.count("seen"),
                          students_present=3, frames_analysed=20, frames_skipped=0)
            s.add(iv)
            s.flush()
            for i, state in enumerate(states):
                s.add(StudentPresence(interval_id=iv.id, student=f"Seat {i + 1}", state=state,
                                      frames_visible=20 if state == "seen" else 0))
        sid = cs.id
    with Session() as s:
        report = session_report(s, sid, None)
    assert report is not None and report.mode == "presence"
    assert report.students == 3 and report.intervals == 2
    assert report.presence_totals == {"seen": 3, "camera_off": 2, "face_not_visible": 1}
    assert report.presence is not None and report.presence["students_visible"].tolist() == [2, 1]
    pages, text = pdf_text(render_pdf(report, dt.UTC))
    assert pages == 1
    flat = squash(text)
    for fragment in ("Presenceovertime", "Presenceoverall", "Students:3", "50%(3)", "33%(2)", "17%(1)"):
        assert fragment in flat, fragment
    assert not any(e in text.lower() for e in EMOTIONS) and "class mood" not in text.lower()
    page = render_html(report, dt.UTC)
    assert "<h2>Presence over time</h2>" in page and "mood over time" not in page.lower()
