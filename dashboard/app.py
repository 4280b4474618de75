"""The Dash app: a navbar over Dash Pages' ``page_container``; the pages live in ``dashboard/pages``.

Everything is served from this process (``serve_locally``, no external stylesheets or scripts) because a
classroom machine may have no internet access.
"""

from __future__ import annotations

from pathlib import Path

from dash import Dash, dcc, html, page_container
from sqlalchemy.orm import Session, sessionmaker

from dashboard import data, ids
from dashboard.access import AccessConfig, account_links, install_login, install_security
from dashboard.notice import install_notice
from dashboard.reports import install_reports

HERE = Path(__file__).resolve().parent


def navbar() -> html.Nav:
    return html.Nav(
        [
            html.Span("ClassMood", className="brand"),
            dcc.Link("Live", href="/", className="nav-link"),
            dcc.Link("School", href="/school", className="nav-link"),
            dcc.Link("Sessions", href="/sessions", className="nav-link"),
            dcc.Link("Compare", href="/compare", className="nav-link"),
            dcc.Link("Settings", href="/settings", className="nav-link"),
            *account_links(),
        ],
        id=ids.NAVBAR,
        className="navbar",
    )


def create_app(
    sessions: sessionmaker[Session], *, require_login: bool = False, access: AccessConfig | None = None
) -> Dash:
    """Build the app on ``sessions`` (a factory from ``db.engine.session_factory``). Call once per process:
    Dash Pages imports the page modules, which register their callbacks globally. ``require_login``: every route
    needs a login (``dashboard.access``), for a dashboard bound beyond this machine; ``access``: trusted proxies and
    cookie settings."""
    app = Dash(
        "dashboard",  # a package name, so the pages import as dashboard.pages.<name>
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        serve_locally=True,
        title="ClassMood",
        update_title="",  # the live page polls every 3 s; a flickering tab title would be noise
        suppress_callback_exceptions=True,
        add_log_handler=False,  # "Dash is running on" goes through our logging once, not also through Dash's own
    )
    # the download callback serves two pages; importing it registers it before the server starts
    from dashboard import downloads  # noqa: F401

    data.install(app.server, sessions)
    install_reports(app.server)
    install_notice(app.server)
    if require_login:
        install_login(app.server, sessions, access)
    install_security(app.server, app.csp_hashes, access)  # headers and origin checks, login or not

    def shell() -> html.Div:
        return html.Div([navbar(), html.Main(page_container, className="page")])

    # with a login, a function, so the navbar names the logged-in account on every page load
    app.layout = shell if require_login else shell()
    return app
