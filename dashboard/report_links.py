"""Links to a session's printable report (HTML to print from the browser, PDF to file or mail), for any page."""

from __future__ import annotations

from dash import html

from dashboard.ids import REPORT_LINKS


def report_links(session_id: int) -> html.Div:
    return html.Div(
        [
            html.Span("One-page report:", className="muted"),
            html.A("HTML (print)", href=f"/report/{session_id}.html", target="_blank", id="report-html-link"),
            html.A("PDF", href=f"/report/{session_id}.pdf", target="_blank", id="report-pdf-link"),
        ],
        id=REPORT_LINKS,  # the review page's header slot for it
        className="report-links",
    )
