"""The session report's routes on the dashboard's Flask server: ``/report/<id>.html`` and ``/report/<id>.pdf``.

Scoped like every page: with a login in force, ``dashboard.access``'s guard has refused anonymous requests before
these run, and a session the viewer may not see answers 404 exactly like one that does not exist.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, abort
from sqlalchemy.exc import SQLAlchemyError

from dashboard.access import current_viewer
from dashboard.data import read_session
from dashboard.downloads import csv_filename
from db.report import SessionReport, session_report

log = logging.getLogger(__name__)


def _report(session_id: int) -> SessionReport:
    viewer = current_viewer()
    try:
        with read_session() as s:
            report = session_report(s, session_id, viewer)
    except SQLAlchemyError as exc:
        log.warning("reading the report of session %s failed: %s", session_id, exc)
        abort(503)
    if report is None:
        abort(404)
    return report


def report_html(session_id: int) -> Response:
    from dashboard.report import render_html  # matplotlib loads on the first report, not at start-up

    response = Response(render_html(_report(session_id)), mimetype="text/html")
    # the report is our own static HTML: no script may run in it, whatever a label contains
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return response


def report_pdf(session_id: int) -> Response:
    from dashboard.report import render_pdf

    report = _report(session_id)
    filename = csv_filename(session_id, report.name, "report").removesuffix(".csv") + ".pdf"
    response = Response(render_pdf(report), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def install_reports(server: Flask) -> None:
    server.add_url_rule("/report/<int:session_id>.html", "classmood_report_html", report_html)
    server.add_url_rule("/report/<int:session_id>.pdf", "classmood_report_pdf", report_pdf)
