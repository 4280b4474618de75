"""Regression: a fresh gunicorn worker's first requests, arriving together, got HTTP 500 "Callback function not
found for output 'school-summary...'" (seen in ``bench/school.py``'s burst of twenty viewers). Dash fills the app's
callback map in a ``before_request`` hook that marks itself done before doing it, so a second concurrent first
request went on with an empty map. ``dashboard.data.set_up_before_serving`` runs that hook once before serving.

Dash keeps callbacks in a process-wide list, so each app is built in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

SCRIPT = """
import sys
from sqlalchemy import create_engine
from dashboard.app import create_app
from dashboard.data import set_up_before_serving
from db.engine import session_factory
app = create_app(session_factory(create_engine("sqlite://")))
before = len(app.callback_map)
if sys.argv[1] == "set-up":
    set_up_before_serving(app.server)
print(before, len(app.callback_map), "..school-summary.children...school-rooms.children.." in app.callback_map)
"""


@pytest.mark.parametrize(("mode", "expected"), [("plain", "0 0 False"), ("set-up", "True")])
def test_the_callback_map_is_filled_before_the_first_request(mode: str, expected: str) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip().endswith(expected), done.stdout + done.stderr
