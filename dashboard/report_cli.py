"""``python -m dashboard report --session ID --out FILE.pdf|FILE.html [--db URL]``: a session's one-page report.

The same report the dashboard serves at ``/report/<id>.pdf`` and ``.html``, written to a file without starting the
server (for a cron job or an email). Run on the server's own machine it sees every session, like the loopback
dashboard. Errors are one ``error: ...`` line and exit status 2.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.cli_parser import OneLineParser, add_document_arguments, write_document
from db.report import SessionReport, session_report


def main(argv: Sequence[str]) -> int:
    parser = OneLineParser(prog="python -m dashboard report", description="Write a session's one-page report.")
    parser.add_argument("--session", type=int, required=True, metavar="ID")
    add_document_arguments(parser)
    args = parser.parse_args(argv)
    return write_document(args.out, args.db, lambda s: session_report(s, args.session, None), _render,
                          f"no session with id {args.session}", lambda _: f"the report of session {args.session}")


def _render(report: SessionReport, pdf: bool) -> bytes | str:
    from dashboard.report import render_html, render_pdf

    return render_pdf(report) if pdf else render_html(report)
