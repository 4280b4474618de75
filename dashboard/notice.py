"""The notice for the people being measured: one page, plain language, built from the school's stored settings.

What is measured in the school's mode, what is stored and what never is (no images, ever), who can see it, how
long it is kept, how to ask for a copy or for erasure, and the law it follows (EU AI Act Article 5(1)(f): no
emotion recognition in education in the EU; presence mode is the mode for EU schools). The same sections become the
``/notice`` page, the standalone HTML served at ``/notice.html`` and ``/notice.pdf`` (open without a login: students
have no account, and the notice holds no personal data), and ``python -m dashboard notice --out FILE.pdf|html``.
"""

from __future__ import annotations

import html
import io
import logging
import textwrap
from dataclasses import dataclass

from flask import Flask, Response

from db.settings import PrivacySettings

log = logging.getLogger(__name__)

NOTICE_HTML = "/notice.html"
NOTICE_PDF = "/notice.pdf"

TITLE = "How ClassMood is used in your class"
AI_ACT = (
    "The EU AI Act (Article 5(1)(f)) has prohibited, since 2 February 2025, using AI to infer the emotions of people "
    "in education institutions, except for medical or safety reasons; consent does not change this. Schools in the "
    "EU use presence mode, which infers no emotion at all."
)


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...]


def notice_sections(settings: PrivacySettings) -> list[Section]:
    """The notice's content for ``settings``, in reading order."""
    presence = settings.mode == "presence"
    school = settings.school.strip() or "Your school"
    locked = " The school has fixed this mode for every class." if settings.mode_locked else ""
    if presence:
        measured = (
            f"{school} runs ClassMood in presence mode.{locked} A camera or the video call is analysed a few times "
            "a second only to tell whether each student is there and whether their face is visible: seen, camera "
            "off, or face not visible. No emotion, expression or mood is inferred: the emotion model is not even "
            "loaded."
        )
    else:
        measured = (
            f"{school} runs ClassMood in expressions mode.{locked} A camera or the video call is analysed a few "
            "times a second; a computer model estimates from each visible face which of seven facial expressions "
            "(angry, disgust, fear, happy, sad, surprise, neutral) it looks most like. These are guesses about "
            "expressions, not facts about feelings, and they are never used to grade anyone."
        )
    if settings.per_student:
        stored = (
            "Stored: for each short interval (about 10 seconds) and each student label (a seat number or the name "
            "shown in the video call), "
            + ("whether the student was seen, had the camera off or the face not visible, and for how much of it."
               if presence else "the averaged expression estimates and whether the student was seen.")
            + " Also the class totals for each interval, and notes a teacher adds."
        )
    else:
        stored = (
            "Stored: only totals for the whole class per interval (how many students were there"
            + (" and visible)." if presence else " and their most frequent expressions).")
            + " Nothing about any one student is kept, not even a label."
        )
    never = (
        "Never stored: no photo, no video, no face image, no face measurement or biometric template. Video frames "
        "are analysed in memory and dropped at once."
    )
    who = (
        "Who can see it: the teacher of the class sees their own classes; the school's ClassMood administrators see "
        "all of them. Nobody outside the school does; ClassMood sends nothing anywhere."
    )
    if settings.retention_days is None:
        kept = "How long: until the school deletes it; no automatic deletion is set."
    elif settings.retention_days == 0:
        kept = "How long: a class's data is deleted as soon as the class has ended."
    else:
        kept = (
            f"How long: {settings.retention_days} day{'s' if settings.retention_days != 1 else ''} after the class "
            "ended; then it is deleted automatically."
        )
    contact = settings.contact.strip() or "your teacher or the school office"
    rights = (
        f"Your rights: ask {contact} for a copy of everything stored under your label, or for its erasure. Erasure "
        "removes every row about you; the class totals of past intervals stay, because they say how many students, "
        "never who."
    )
    notes = (
        "Teachers' notes are free text pinned to a moment of a class, not to a student, so a copy or an erasure does "
        "not search them; if you think a note names you, ask your teacher, who can read and delete their notes."
    )
    return [
        Section("What is measured", (measured,)),
        Section("What is stored, and what never is", (stored, never)),
        Section("Who can see it, and for how long", (who, kept)),
        Section("Your copy and erasure", (rights, notes)),
        Section("The law", (AI_ACT,)),
    ]


def mode_line(mode: str) -> str:
    """One line for a page header: which mode a class runs in."""
    if mode == "presence":
        return "Presence mode: who is seen, camera off or face not visible; no emotion is inferred."
    return "Expressions mode: facial expressions are estimated by a model (not allowed in EU schools)."


def render_html(settings: PrivacySettings) -> str:
    """A standalone HTML page (no script, no external resource) of the notice."""
    body = "\n".join(
        f"<h2>{html.escape(sec.heading)}</h2>\n" + "\n".join(f"<p>{html.escape(p)}</p>" for p in sec.paragraphs)
        for sec in notice_sections(settings)
    )
    school = html.escape(settings.school.strip())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(TITLE)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>body{{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:44rem;margin:2rem auto;
padding:0 1rem;line-height:1.45;color:#1f2937}} h1{{font-size:1.5rem}} h2{{font-size:1.1rem;margin-top:1.4rem}}
.muted{{color:#6b7280}}</style></head>
<body><main id="notice">
<h1>{html.escape(TITLE)}</h1>
{f'<p class="muted" id="notice-school">{school}</p>' if school else ''}
{body}
</main></body></html>
"""


def render_pdf(settings: PrivacySettings) -> bytes:
    """The notice as a one-page A4 PDF, drawn with matplotlib as the session report is."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.27, 11.69))
    y = 0.95
    fig.text(0.08, y, TITLE, fontsize=16, fontweight="bold", va="top", parse_math=False)
    y -= 0.035
    if settings.school.strip():
        fig.text(0.08, y, settings.school.strip(), fontsize=10, color="#555555", va="top", parse_math=False)
        y -= 0.03
    for sec in notice_sections(settings):
        y -= 0.01
        fig.text(0.08, y, sec.heading, fontsize=12, fontweight="bold", va="top", parse_math=False)
        y -= 0.025
        for paragraph in sec.paragraphs:
            lines = textwrap.wrap(paragraph, 95)
            fig.text(0.08, y, "\n".join(lines), fontsize=9.5, va="top", linespacing=1.4, parse_math=False)
            y -= 0.0175 * len(lines) + 0.012
    buffer = io.BytesIO()
    fig.savefig(buffer, format="pdf", metadata={"Title": TITLE, "Creator": "ClassMood"})
    return buffer.getvalue()


def school_settings() -> PrivacySettings:
    """The stored settings inside a request; the defaults (and a log line) if they cannot be read."""
    from sqlalchemy.exc import SQLAlchemyError

    from dashboard.data import read_session
    from db.settings import SettingsError, load_privacy_settings

    try:
        with read_session() as s:
            return load_privacy_settings(s)
    except (SQLAlchemyError, SettingsError) as exc:
        log.warning("the notice shows the defaults: cannot read the school's settings (%s)", exc)
        return PrivacySettings()


def _notice_html() -> Response:
    response = Response(render_html(school_settings()), mimetype="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return response


def _notice_pdf() -> Response:
    response = Response(render_pdf(school_settings()), mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'inline; filename="classmood-notice.pdf"'
    return response


def install_notice(server: Flask) -> None:
    """``/notice.html`` and ``/notice.pdf``; ``dashboard.access`` lets them through without a login."""
    server.add_url_rule(NOTICE_HTML, "classmood_notice_html", _notice_html)
    server.add_url_rule(NOTICE_PDF, "classmood_notice_pdf", _notice_pdf)
