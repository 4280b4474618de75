"""Notice (``/notice``): the one-page notice for students, from the school's settings, with its printable forms.

The same text is served without a login at ``/notice.html`` and ``/notice.pdf`` for students, who have no account.
"""

from __future__ import annotations

from typing import Any

from dash import html, register_page

from dashboard import ids
from dashboard.notice import NOTICE_HTML, NOTICE_PDF, TITLE, notice_sections, school_settings

register_page(__name__, path="/notice", name="Notice", title="ClassMood · Notice for students", order=4)


def layout(**_query: Any) -> html.Div:
    settings = school_settings()
    body: list[Any] = [html.H1(TITLE)]
    if settings.school.strip():
        body.append(html.P(settings.school.strip(), className="muted", id="notice-school"))
    for section in notice_sections(settings):
        body.append(html.H2(section.heading, className="section-title"))
        body.extend(html.P(p) for p in section.paragraphs)
    body.append(
        html.P(
            [
                "To show or send to students: ",
                html.A("printable page", href=NOTICE_HTML, target="_blank"),
                " · ",
                html.A("PDF", href=NOTICE_PDF, target="_blank"),
                " (both open without a login).",
            ],
            className="muted",
        )
    )
    return html.Div(body, id=ids.NOTICE, className="notice")
