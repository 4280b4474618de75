"""``python -m dashboard notice --out FILE.pdf|FILE.html [--db URL]``: the one-page notice for students.

The same notice the dashboard shows at ``/notice``, with the school's stored settings (mode, retention, contact),
written to a file to print or send. Errors are one ``error: ...`` line and exit status 2.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.cli_parser import OneLineParser, add_document_arguments, write_document
from db.settings import PrivacySettings, load_privacy_settings


def main(argv: Sequence[str]) -> int:
    parser = OneLineParser(prog="python -m dashboard notice", description="Write the notice for students.")
    add_document_arguments(parser)
    args = parser.parse_args(argv)
    return write_document(args.out, args.db, load_privacy_settings, _render, "no settings",
                          lambda settings: f"the notice ({settings.mode} mode)")


def _render(settings: PrivacySettings, pdf: bool) -> bytes | str:
    from dashboard.notice import render_html, render_pdf

    return render_pdf(settings) if pdf else render_html(settings)
