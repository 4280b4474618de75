"""The dashboard shared on the network (``--host 0.0.0.0``) in headless Chromium: a login is required and enforced
on every route, a wrong password is refused, failed logins are limited, a teacher sees only their own sessions and
an admin sees all; the session report is served, scoped, and prints on one page.

The server listens on 0.0.0.0 (so the login is in force) but every request goes to 127.0.0.1. Accounts are made with
the real command, ``python -m dashboard users add NAME --password-stdin``.
"""

from __future__ import annotations

import base64
import http.client
import io
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from sqlalchemy.orm import Session, sessionmaker

from dashboard import ids
from db.engine import make_engine, session_factory, upgrade
from db.schema import ClassSession
from tests.browser.helpers import ROOT, Server, run_dashboard, wait_for
from tests.browser.seed import Seeded, seed_classroom

pytestmark = pytest.mark.browser

PASSWORDS = {"root": "admin password 1", "alice": "alice password 1", "bob": "bob password 12", "carol": "carol pw 123"}
ROLES = {"root": "admin", "alice": "teacher", "bob": "teacher", "carol": "teacher"}


@dataclass
class Shared:
    server: Server
    sessions: sessionmaker[Session]
    seeded: Seeded

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def add_account(db_url: str, name: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "users", "add", name, "--role", ROLES[name], "--password-stdin",
         "--db", db_url],
        cwd=ROOT, input=PASSWORDS[name] + "\n", capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"added {ROLES[name]} {name!r}"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, browser: Chrome) -> Iterator[Shared]:
    """Yesterday's Biology 2A belongs to Alice, the running Maths 3B to Bob; root is an admin."""
    tmp = tmp_path_factory.mktemp("shared")
    url = f"sqlite:///{tmp / 'classmood.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    seeded = seed_classroom(sessions)
    with sessions() as s, s.begin():
        for sid, teacher in ((seeded.past.id, "alice"), (seeded.live.id, "bob")):
            row = s.get(ClassSession, sid)
            assert row is not None
            row.teacher = teacher
    for name in PASSWORDS:
        add_account(url, name)
    with run_dashboard(url, tmp / "dashboard.log", host="0.0.0.0", ready_path="/login") as server:
        yield Shared(server, sessions, seeded)
    browser.delete_all_cookies()  # cookies ignore the port: leave none behind for other modules' dashboards
    engine.dispose()


@pytest.fixture
def fresh(page: Chrome, shared: Shared) -> Chrome:
    """The browser, logged out."""
    page.get(shared.url + "/login")
    page.delete_all_cookies()
    return page


def log_in(driver: Chrome, shared: Shared, name: str, password: str | None = None, path: str = "/") -> None:
    driver.get(shared.url + path)
    wait_for(lambda: "/login" in driver.current_url, what="the redirect to the login page")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password or PASSWORDS[name])
    driver.find_element(By.ID, "login").click()


def table_rows(driver: Chrome, container_id: str) -> list[list[str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{container_id} tbody tr")
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def request(
    shared: Shared, method: str, path: str, *, cookie: str | None = None, body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """One request to 127.0.0.1 that follows no redirect."""
    conn = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=30)
    all_headers = dict(headers or {})
    if cookie:
        all_headers["Cookie"] = f"classmood_session={cookie}"
    conn.request(method, path, body=body, headers=all_headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def test_every_route_needs_a_login(shared: Shared) -> None:
    status, headers, _ = request(shared, "GET", "/sessions", headers={"Accept": "text/html"})
    assert status == 302 and headers["location"].endswith("/login?next=%2Fsessions")
    callback = b'{"output":"_pages_content.children","outputs":{},"inputs":[],"changedPropIds":[],"state":[]}'
    for method, path, body in (
        ("POST", "/_dash-update-component", callback),
        ("GET", "/_dash-layout", None),
        ("GET", "/_dash-dependencies", None),
        ("GET", f"/report/{shared.seeded.past.id}.pdf", None),
        ("GET", f"/report/{shared.seeded.past.id}.html", None),
        ("GET", "/assets/style.css", None),
    ):
        status, _, data = request(shared, method, path, body=body, headers={"Content-Type": "application/json"})
        assert status == 401, (path, status)
        assert b"Biology" not in data and b"Maths" not in data
    forged = "eyJ1c2VyIjoicm9vdCJ9.forged.signature"  # {"user": "root"} with a made-up signature
    assert request(shared, "GET", "/_dash-layout", cookie=forged)[0] == 401


def test_wrong_password_is_refused(fresh: Chrome, shared: Shared) -> None:
    log_in(fresh, shared, "alice", "not alice's password", path="/sessions")
    error = wait_for(lambda: fresh.find_element(By.ID, "login-error").text, what="the login error")
    assert "Wrong account name or password" in error
    assert "/login" in fresh.current_url and not fresh.get_cookie("classmood_session")


def test_failed_logins_are_limited(shared: Shared) -> None:
    def attempt(password: str) -> tuple[int, bool, bool]:
        form = urllib.parse.urlencode({"name": "carol", "password": password}).encode()
        ctype = {"Content-Type": "application/x-www-form-urlencoded"}
        status, headers, body = request(shared, "POST", "/login", body=form, headers=ctype)
        return status, b"Wrong account name or password" in body, "set-cookie" in headers

    assert [attempt(f"guess {n}") for n in range(5)] == [(200, True, False)] * 5
    status, _, cookie = attempt(PASSWORDS["carol"])  # even the right password, until the window has passed
    assert status == 429 and not cookie


def test_teacher_sees_only_their_own_sessions(fresh: Chrome, shared: Shared) -> None:
    past, live = shared.seeded.past, shared.seeded.live
    log_in(fresh, shared, "alice", path="/sessions")
    wait_for(lambda: fresh.current_url.endswith("/sessions"), what="the way back to /sessions")
    rows = wait_for(lambda: table_rows(fresh, ids.SESSIONS_TABLE), what="the sessions table")
    assert [r[1] for r in rows] == [past.name]
    assert "alice (teacher)" in fresh.find_element(By.ID, ids.NAVBAR).text

    # Bob's running class is not Alice's: the live page shows her latest session instead, and says it ended
    fresh.get(shared.url + "/")
    banner = wait_for(lambda: fresh.find_element(By.ID, ids.LIVE_BANNER).text, what="the live banner")
    assert past.name in banner and live.name not in banner and "No class is running" in banner

    # Bob's session by id: "not found", exactly like an id that does not exist
    fresh.get(shared.url + f"/sessions/{live.id}")
    wait_for(lambda: fresh.find_element(By.ID, ids.REVIEW_NOT_FOUND), what="not found")
    assert live.name not in fresh.find_element(By.TAG_NAME, "body").text

    cookie = fresh.get_cookie("classmood_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    value = str(cookie["value"])
    assert request(shared, "GET", f"/report/{live.id}.pdf", cookie=value)[0] == 404
    status, headers, pdf = request(shared, "GET", f"/report/{past.id}.pdf", cookie=value)
    assert status == 200 and headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1 and past.name.replace(" ", "") in reader.pages[0].extract_text().replace(" ", "")

    # the flag rules apply to every class: a teacher may look at them but not change them
    fresh.get(shared.url + "/settings")
    wait_for(lambda: fresh.find_element(By.ID, ids.SETTINGS_SAVE), what="the settings form").click()
    message = wait_for(lambda: fresh.find_element(By.ID, ids.SETTINGS_MESSAGE).text, what="the save message")
    assert message == "Not saved: only an admin account can change the settings."
    fresh.find_element(By.ID, ids.ANALYSIS_SAVE).click()  # the analysis options too
    message = wait_for(lambda: fresh.find_element(By.ID, ids.ANALYSIS_MESSAGE).text, what="the analysis message")
    assert message == "Not saved: only an admin account can change the settings."

    fresh.find_element(By.ID, "logout").click()
    wait_for(lambda: "/login" in fresh.current_url, what="the login page after logging out")
    assert request(shared, "GET", "/_dash-layout", cookie=None)[0] == 401


def test_admin_sees_every_session_and_the_report_prints_on_one_page(fresh: Chrome, shared: Shared) -> None:
    past, live = shared.seeded.past, shared.seeded.live
    log_in(fresh, shared, "root", path="/sessions")
    rows = wait_for(lambda: table_rows(fresh, ids.SESSIONS_TABLE), what="the sessions table")
    assert [r[1] for r in rows] == [live.name, past.name]

    fresh.get(shared.url + f"/sessions/{past.id}")
    link = wait_for(lambda: fresh.find_element(By.ID, "report-html-link"), what="the report link")
    assert link.get_attribute("href") == f"{shared.url}/report/{past.id}.html"
    fresh.get(link.get_attribute("href") or "")
    title = wait_for(lambda: fresh.find_element(By.ID, "report-title").text, what="the report")
    assert title == past.name
    flags = fresh.find_element(By.ID, "report-flags").text
    assert "No attention flags" in flags
    printed = fresh.execute_cdp_cmd("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69})
    assert len(PdfReader(io.BytesIO(base64.b64decode(printed["data"]))).pages) == 1


def test_refuses_to_start_on_the_network_without_an_account(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "--host", "0.0.0.0", "--port", "1", "--db",
         f"sqlite:///{tmp_path / 'new.sqlite3'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "python -m dashboard users add" in lines[0]
