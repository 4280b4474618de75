"""Any path no page claims: say so and offer the way back (Dash Pages looks this module up by name)."""

from typing import Any

from dash import dcc, html, register_page

register_page(__name__, path="/404", title="ClassMood · Not found")


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [html.H1("Page not found"), dcc.Link("Go to the live view", href="/")],
        className="empty-state",
    )
