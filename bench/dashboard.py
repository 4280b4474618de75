"""Does every dashboard page answer in under a second on a big database? ``python bench/dashboard.py``

Seeds a database (a fresh SQLite file by default, ``--db URL`` for an empty PostgreSQL database) with 500 class
sessions: one 3-hour session with 40 students at 10-second intervals (1,080 intervals, 43,200 per-student rows), the
newest and still running, so the Live page shows it; and 499 smaller ones (30 to 60 minutes, 12 to 30 students,
30-second intervals), each with a few flags and notes. Seeding uses bulk ``INSERT``s with ids assigned up front.

Then it times, best and worst of ``--repeat`` runs:

* the queries behind the pages, on their own;
* each page as the browser gets it, through the real Flask/Dash stack in-process (``test_client``): the Dash Pages
  router callback that returns the page's layout, then every callback the page fires on load (found generically from
  ``/_dash-dependencies``, so a rewritten page is measured the same way), and the report's HTML and PDF;
* with ``--http``, the same requests over HTTP against a real ``python -m dashboard`` process.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, func, insert, select, text

from db.emotions import EMOTIONS
from db.engine import make_engine, redact, session_factory, upgrade
from db.schema import ClassSession, Flag, Interval, Note, SourceStatus, StudentInterval

ROOT = Path(__file__).resolve().parents[1]
BIG_NAME = "Bench: 3-hour lesson, 40 students"
BATCH = 20_000


# --- seeding ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    sessions: int
    intervals: int
    student_rows: int
    big_id: int
    big_rows: int
    seconds: float


def _probabilities(rng: random.Random, dominant: str) -> dict[str, float]:
    rest = [rng.random() for _ in EMOTIONS]
    total = sum(rest)
    probs = {f"p_{e}": 0.4 * r / total for e, r in zip(EMOTIONS, rest, strict=True)}
    probs[f"p_{dominant}"] += 0.6
    return probs


def seed(engine: Engine, *, n_sessions: int, big_students: int, big_hours: float, big_interval_s: float) -> Seeded:
    t0 = time.perf_counter()
    rng = random.Random(4)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sessions: list[dict[str, Any]] = []
    intervals: list[dict[str, Any]] = []
    students: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    interval_id = student_id = 0
    big_id = n_sessions
    weights = (1, 0.3, 1, 4, 1.5, 1.5, 8)

    def flush(conn: Any) -> None:
        for model, rows in ((ClassSession, sessions), (Interval, intervals), (StudentInterval, students)):
            if rows:
                conn.execute(insert(model), rows)
                rows.clear()

    with engine.begin() as conn:
        for k in range(1, n_sessions + 1):
            big = k == big_id
            if big:
                n_students, interval_s = big_students, big_interval_s
                n_intervals = round(big_hours * 3600 / interval_s)
                started = now - dt.timedelta(seconds=n_intervals * interval_s)
            else:
                n_students, interval_s = rng.randint(12, 30), 30.0
                n_intervals = rng.randint(60, 120)
                started = now - dt.timedelta(days=n_sessions - k + 1, hours=rng.randint(0, 6))
            ended = None if big else started + dt.timedelta(seconds=n_intervals * interval_s)
            sessions.append({"id": k, "name": BIG_NAME if big else f"Lesson {k}", "source": "video: lesson.mp4",
                             "layout": "room", "interval_s": interval_s, "fps": 2.0, "detector": "mtcnn",
                             "model": "emotion.keras", "started_at": started, "ended_at": ended,
                             "teacher": f"teacher{k % 10}", "classroom": f"Room {k % 7}"})  # fmt: skip
            statuses.append({"session_id": k, "state": "online" if big else "ended", "updated_at": now,
                             "frames_analysed": int(n_intervals * interval_s * 2), "frames_skipped": 3,
                             "reconnects": 0})  # fmt: skip
            labels = [f"Seat {n}" for n in range(1, n_students + 1)]
            for i in range(n_intervals):
                interval_id += 1
                start = started + dt.timedelta(seconds=i * interval_s)
                present = [s for s in labels if rng.random() > (0.005 if big else 0.05)]
                dominants = rng.choices(EMOTIONS, weights=weights, k=len(present))
                counts = {f"n_{e}": dominants.count(e) for e in EMOTIONS}
                intervals.append({"id": interval_id, "session_id": k, "start": start,
                                  "end": start + dt.timedelta(seconds=interval_s), "students_seen": len(present),
                                  "frames_analysed": int(interval_s * 2), "frames_skipped": i % 2, **counts})  # fmt: skip
                for label, dom in zip(present, dominants, strict=True):
                    student_id += 1
                    students.append({"id": student_id, "interval_id": interval_id, "student": label,
                                     "frames_seen": int(interval_s * 2), "dominant": dom,
                                     **_probabilities(rng, dom)})  # fmt: skip
            for j in range(rng.randint(1, 5) * (4 if big else 1)):
                start = started + dt.timedelta(seconds=rng.randint(0, n_intervals - 1) * interval_s)
                closed = rng.random() > 0.2 or not big
                who = rng.choice([*labels, None])
                flags.append({"session_id": k, "student": who, "rule": "sustained_negative", "severity": "warning",
                              "reason": f"{who or 'The class'}: sad or angry in 6 of the last 10 minutes",
                              "start": start, "end": start + dt.timedelta(minutes=5) if closed else None,
                              "evidence": {"share": 0.6}, "frames": 240})  # fmt: skip
                if j % 2 == 0:
                    notes.append({"session_id": k, "at": start, "text": f"note {j}", "author": None,
                                  "created_at": now})  # fmt: skip
            if len(students) >= BATCH:
                flush(conn)
        flush(conn)
        for model, rows in ((Flag, flags), (Note, notes), (SourceStatus, statuses)):
            conn.execute(insert(model), rows)
        if engine.dialect.name == "postgresql":  # ids were given explicitly: move the sequences past them
            for table in ("class_session", "interval", "student_interval"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
        big_rows = conn.scalar(
            select(func.count(StudentInterval.id)).join(Interval).where(Interval.session_id == big_id)
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return Seeded(n_sessions, interval_id, student_id, big_id, int(big_rows or 0), time.perf_counter() - t0)


# --- timing -----------------------------------------------------------------------------------------------------------


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Best and worst wall time of ``repeat`` calls, and the best CPU time of this process, in milliseconds (after
    one warm-up call). On a busy machine the CPU time is the honest cost; over HTTP the work happens in the server
    process, so the CPU column there is only the client's."""
    fn()
    times, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return min(times), max(times), min(cpu)


def query_times(engine: Engine, big_id: int, repeat: int) -> list[tuple[str, float, float, float]]:
    from db.queries import class_timeline, latest_students, list_sessions, session_flags, student_intervals
    from db.report import session_report

    factory = session_factory(engine)

    def run(fn: Callable[..., object], *args: object) -> Callable[[], object]:
        def call() -> object:
            with factory() as s, s.begin():
                return fn(s, *args)

        return call

    cases = [
        ("list_sessions (200 newest of 500)", run(list_sessions)),
        ("class_timeline (1,080 intervals)", run(class_timeline, big_id)),
        ("latest_students (40 of 43,000 rows)", run(latest_students, big_id)),
        ("student_intervals (43,000 rows)", run(student_intervals, big_id)),
        ("session_flags", run(session_flags, big_id)),
        ("session_report (data only)", run(session_report, big_id, None)),
    ]
    return [(name, *timed(fn, repeat)) for name, fn in cases]


class Client:
    """GET and POST JSON against the dashboard, either in-process (Flask's test client) or over HTTP."""

    def __init__(self, base: str | None = None, flask_client: Any = None) -> None:
        self.base, self.flask = base, flask_client

    def get(self, path: str) -> bytes:
        if self.flask is not None:
            response = self.flask.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return bytes(response.data)
        with urllib.request.urlopen(self.base + path, timeout=60) as response:
            return bytes(response.read())

    def post(self, path: str, body: dict[str, Any], *, parse: bool = True) -> Any:
        """The answer as JSON; with ``parse=False`` it is read whole but not decoded (None): what the browser does
        with it happens on the viewer's machine, not beside the server whose time this measures."""
        data = json.dumps(body).encode()
        if self.flask is not None:
            response = self.flask.post(path, data=data, content_type="application/json")
            assert response.status_code in (200, 204), (path, response.status_code, response.data[:300])
            return response.get_json(silent=True) if parse else None
        request = urllib.request.Request(self.base + path, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return json.loads(raw) if raw and parse else None


def _outputs(spec: str) -> list[dict[str, str]] | dict[str, str]:
    def one(part: str) -> dict[str, str]:
        ident, prop = part.rsplit(".", 1)
        return {"id": ident, "property": prop}

    if spec.startswith(".."):
        return [one(p) for p in spec[2:-2].split("...")]
    return one(spec)


def _components(node: Any, found: dict[str, dict[str, Any]]) -> None:
    """Every component with a plain string id in a layout's JSON, id -> props."""
    if isinstance(node, list):
        for child in node:
            _components(child, found)
    elif isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict):
            if isinstance(props.get("id"), str):
                found[props["id"]] = props
            node = props
        for value in node.values():
            _components(value, found)


def _is_pattern(ident: str) -> bool:
    return ident.startswith("{")


def load_page(client: Client, deps: list[dict[str, Any]], path: str) -> int:
    """What the browser does for ``path``: the Pages router callback, then the page's initial callbacks. Returns how
    many callbacks ran."""
    router = next(d for d in deps if any(i["id"] == "_pages_location" for i in d["inputs"]))
    pathname, _, search = path.partition("?")
    values = {"pathname": pathname, "search": f"?{search}" if search else ""}
    body = {
        "output": router["output"],
        "outputs": _outputs(router["output"]),
        "inputs": [{**i, "value": values[i["property"]]} for i in router["inputs"]],
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }
    answer = client.post("/_dash-update-component", body)
    found: dict[str, dict[str, Any]] = {}
    _components(answer, found)
    ran = 1
    for dep in deps:
        if dep.get("prevent_initial_call") or dep is router:
            continue
        ids = [i["id"] for i in dep["inputs"]] + [s["id"] for s in dep["state"]]
        if any(_is_pattern(i) for i in ids) or not all(i in found for i in ids):
            continue
        if _is_pattern(dep["output"]) or "{" in dep["output"]:
            continue
        body = {
            "output": dep["output"],
            "outputs": _outputs(dep["output"]),
            "inputs": [{**i, "value": found[i["id"]].get(i["property"])} for i in dep["inputs"]],
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in dep["inputs"]],
            "state": [{**s, "value": found[s["id"]].get(s["property"])} for s in dep["state"]],
        }
        client.post("/_dash-update-component", body, parse=False)  # only the router's answer is needed here
        ran += 1
    return ran


def page_times(client: Client, big_id: int, repeat: int) -> list[tuple[str, float, float, float]]:
    client.get("/")
    deps = json.loads(client.get("/_dash-dependencies"))
    rows = []
    for name, path in (
        ("Live (/), the 3-hour session running", "/"),
        ("Sessions (/sessions)", "/sessions"),
        (f"Review (/sessions/{big_id})", f"/sessions/{big_id}"),
        ("Compare (the 3-hour class and 2 others)", f"/compare?ids={big_id},{big_id - 1},{big_id - 2}"),
        ("Settings (/settings)", "/settings"),
    ):
        n = load_page(client, deps, path)
        rows.append(
            (f"{name} [{n} callback{'s' if n != 1 else ''}]", *timed(lambda p=path: load_page(client, deps, p), repeat))
        )
    for kind in ("html", "pdf"):
        path = f"/report/{big_id}.{kind}"
        rows.append((f"Report {path}", *timed(lambda p=path: client.get(p), repeat)))
    return rows


@contextlib.contextmanager
def dashboard_process(url: str, workers: int | None = None) -> Iterator[str]:
    """A real ``python -m dashboard`` on 127.0.0.1: Flask's development server, or with ``workers`` gunicorn with
    that many processes (``--workers N``, the documented way to serve a school)."""
    from tests.browser.helpers import free_port

    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench-dashboard-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "--port", str(port), "--db", url,
         *(["--workers", str(workers)] if workers else [])], cwd=ROOT, stdout=log,
        stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dashboard did not start; see {log.name}") from None
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)  # gunicorn lets its workers finish their requests (--graceful-timeout 10)


def table(title: str, rows: list[tuple[str, float, float, float]], *, cpu: bool = True) -> None:
    print(f"\n{title}\n")
    print("| what | best ms | worst ms | CPU ms |" if cpu else "| what | best ms | worst ms |")
    print("|---|---|---|---|" if cpu else "|---|---|---|")
    for name, best, worst, cpu_ms in rows:
        print(
            f"| {name} | {best:.0f} | {worst:.0f} | {cpu_ms:.0f} |" if cpu else f"| {name} | {best:.0f} | {worst:.0f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an empty database URL (default: a new SQLite file in a temporary folder)")
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--big-students", type=int, default=40)
    parser.add_argument("--big-hours", type=float, default=3.0)
    parser.add_argument("--interval", type=float, default=10.0, help="the big session's interval in seconds")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--http", action="store_true", help="also time a real python -m dashboard over HTTP")
    parser.add_argument(
        "--no-cache", action="store_true",
        help="serve without the shared page cache (CLASSMOOD_SHARED_CACHE=0): every Live and Review load is a fresh "
        "draw, as a room's or a session's first viewer gets it; with the cache, their repeats are served from it",
    )  # fmt: skip
    args = parser.parse_args()
    if args.no_cache:
        os.environ["CLASSMOOD_SHARED_CACHE"] = "0"  # read by create_app here and by the dashboard process below
    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='classmood-bench-')}/bench.sqlite3"
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        if conn.scalar(select(func.count(ClassSession.id))):
            print(f"error: {redact(url)} already holds sessions; give an empty database", file=sys.stderr)
            return 2
    seeded = seed(engine, n_sessions=args.sessions, big_students=args.big_students, big_hours=args.big_hours,
                  big_interval_s=args.interval)  # fmt: skip
    print(
        f"database {redact(url)} ({engine.dialect.name}): {seeded.sessions} sessions, {seeded.intervals:,} intervals, "
        f"{seeded.student_rows:,} student rows; session {seeded.big_id} has {seeded.big_rows:,}; "
        f"seeded in {seeded.seconds:.1f} s; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before timing"
    )
    table("Queries (one unit of work each)", query_times(engine, seeded.big_id, args.repeat))

    from dashboard.app import create_app

    app = create_app(session_factory(engine))
    table(
        "Pages in-process (Flask test client: router callback + the page's initial callbacks)",
        page_times(Client(flask_client=app.server.test_client()), seeded.big_id, args.repeat),
    )
    print(f"\nload average {os.getloadavg()[0]:.1f}")
    if args.http:
        with dashboard_process(url) as base:
            table(
                f"Pages over HTTP ({base}, python -m dashboard)",
                page_times(Client(base), seeded.big_id, args.repeat),
                cpu=False,
            )
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
