"""Can one PostgreSQL and one dashboard serve a whole school? ``python bench/school.py --rooms 100 --viewers 20``

1. Starts its own PostgreSQL as the tests do (``.ci/postgres.sh`` on a free port and its own data folder, removed
   afterwards), with ``fsync``, ``synchronous_commit`` and ``full_page_writes`` back on (the tests' server turns
   them off) and room for every worker's connection.
2. Replays ``--rooms`` classrooms in as many separate processes, each writing through the real storage layer
   (``monitor.storage.StorageWriter``, its own connection) what a worker writes: a session with a roster of
   ``--students``, one interval of ``--students`` per-student rows every ``--interval`` seconds of class time (the
   clock compressed ``--speed`` times; rooms start out of step, as real ones do), a heartbeat with each, and now
   and then an attention flag opened and closed. Write latency is the time from handing an interval to the storage
   thread to its commit.
3. While the classes run, ``--viewers`` concurrent clients load ``/school`` and then a Live page each
   (``/?classroom=Room N``) in bounded loops over HTTP on 127.0.0.1, against a real ``python -m dashboard``
   (``--workers N``: under gunicorn with N processes, as a school serves it; 0: Flask's development server): each
   load is the page's router callback plus every callback it fires on load (``bench/dashboard.py``'s
   ``load_page``), which is what a browser waits for. Then each viewer keeps its Live page open and polls it every
   3 s ``--polls`` times, sending back what the page shows (its fingerprint) as the browser does.
4. Counts every room's intervals and student rows (none lost, none duplicated) and reports the database size per
   classroom-hour, with what a school year takes at ``--hours-per-day`` x ``--days`` per room.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text

from bench.dashboard import Client, _outputs, dashboard_process, load_page
from dashboard import ids
from db.emotions import EMOTIONS
from db.engine import make_engine, upgrade
from db.schema import ClassSession, Interval, StudentInterval

ROOT = Path(__file__).resolve().parents[1]
PG_OPTS = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections={n}"


# --- PostgreSQL -------------------------------------------------------------------------------------------------------


def start_postgres(port: int, data: Path, max_connections: int) -> str:
    env = {
        **os.environ,
        "CLASSMOOD_PG_PORT": str(port),
        "CLASSMOOD_PG_DATA": str(data),
        "CLASSMOOD_PG_OPTS": PG_OPTS.format(n=max_connections),
    }
    out = subprocess.run(["bash", str(ROOT / ".ci/postgres.sh")], env=env, check=False, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"PostgreSQL did not start:\n{out.stderr[-2000:]}")
    admin = out.stdout.strip().splitlines()[-1].split("=", 1)[1]
    engine = make_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE DATABASE school"))
    engine.dispose()
    return admin.rsplit("/", 1)[0] + "/school"


def stop_postgres(port: int, data: Path) -> None:
    env = {**os.environ, "CLASSMOOD_PG_PORT": str(port), "CLASSMOOD_PG_DATA": str(data)}
    subprocess.run(["bash", str(ROOT / ".ci/postgres.sh"), "stop"], env=env, check=False, capture_output=True)


# --- one classroom's worker -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomPlan:
    index: int
    db_url: str
    students: int
    intervals: int
    interval_s: float
    speed: float
    start_at: float  # time.time() at which interval 0 of every room begins
    phase_s: float  # this room's offset within one (compressed) interval
    seed: int


def _interval(rng: random.Random, bases: list[list[float]], start: dt.datetime, interval_s: float) -> Any:
    from monitor.aggregate import IntervalAggregate, StudentAggregate

    students = []
    for n, base in enumerate(bases, start=1):
        noisy = [b * rng.uniform(0.6, 1.4) for b in base]
        total = sum(noisy)
        students.append(StudentAggregate(f"Seat {n}", rng.randint(15, 20), tuple(p / total for p in noisy)))
    return IntervalAggregate(
        start=start,
        end=start + dt.timedelta(seconds=interval_s),
        frames_analysed=int(interval_s * 2),
        frames_skipped=rng.randint(0, 1),
        students=tuple(students),
    )


def _timed_writer() -> type:
    """The product's ``StorageWriter``, noting the moment each interval's commit returned (the latency's end) as
    its storage thread counts it, so the room's own loop sleeps until its next interval is due instead of polling
    the count every 2 ms: a hundred polling rooms were a load of their own on the machine they measure."""
    from monitor.storage import StorageWriter

    class TimedWriter(StorageWriter):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.done_at: list[float] = []
            self._written = 0
            super().__init__(*args, **kwargs)

        @property
        def intervals_written(self) -> int:
            return self._written

        @intervals_written.setter
        def intervals_written(self, n: int) -> None:
            if n > self._written:
                self.done_at.append(time.perf_counter())
            self._written = n

    return TimedWriter


def run_room(plan: RoomPlan, results: Any) -> None:
    """One classroom's worker: open a session, write ``plan.intervals`` intervals on the compressed clock, close."""
    from monitor.startup import startup_frozen
    from monitor.storage import probe_writable

    # as the worker's start-up does (monitor.worker.prepare, then monitor.cli): the database opened and brought to
    # head, then what is loaded kept out of the collector's walks for the class
    engine = make_engine(plan.db_url)
    try:
        try:
            migrated = probe_writable(engine)
        except Exception as exc:  # noqa: BLE001 - reported with the room's result, never left for the parent to wait out
            results.put({"room": plan.index, "session_id": None, "latencies": [], "written": 0, "failures": 1,
                         "error": f"{type(exc).__name__}: {exc}"})
            return
        writer = _timed_writer()(plan.db_url, shutdown_timeout_s=120.0, engine=engine, migrated=migrated)
        with startup_frozen():
            _run_class(plan, writer, results)
    finally:
        engine.dispose()


def _run_class(plan: RoomPlan, writer: Any, results: Any) -> None:
    from monitor.storage import FlagOp, OpenSession, Status

    rng = random.Random(plan.seed)
    bases = [[rng.random() ** 2 + (3.0 if e == "neutral" else 0.0) for e in EMOTIONS] for _ in range(plan.students)]
    period = plan.interval_s / plan.speed
    class_start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=plan.intervals * plan.interval_s)
    writer.start()
    roster = tuple(f"Seat {n}" for n in range(1, plan.students + 1))
    writer.put(
        OpenSession(
            name=f"Lesson in Room {plan.index}",
            source=f"rtsp://camera-{plan.index}/stream",
            layout="room",
            interval_s=plan.interval_s,
            fps=2.0,
            detector="mtcnn",
            model="models/emotion.keras",
            started_at=class_start,
            classroom=f"Room {plan.index}",
            roster=roster,
        )
    )
    put_at: list[float] = []
    flag_open: str | None = None
    for i in range(plan.intervals):
        time.sleep(max(0.0, plan.start_at + plan.phase_s + (i + 1) * period - time.time()))
        start = class_start + dt.timedelta(seconds=i * plan.interval_s)
        end = start + dt.timedelta(seconds=plan.interval_s)
        put_at.append(time.perf_counter())
        writer.put(_interval(rng, bases, start, plan.interval_s))
        writer.put(Status("online", end, frames_analysed=(i + 1) * 20, frames_skipped=i // 10, reconnects=0))
        if i % 30 == 10:  # a flag every 5 minutes of class, closed a minute later
            flag_open = f"Seat {rng.randint(1, plan.students)}"
            writer.put(
                FlagOp(
                    "open",
                    "sustained_negative",
                    flag_open,
                    end,
                    None,
                    "warning",
                    f"{flag_open}: sad or angry",
                    {"share": 0.6},
                    120,
                )
            )
        elif i % 30 == 16 and flag_open is not None:
            writer.put(
                FlagOp(
                    "close",
                    "sustained_negative",
                    flag_open,
                    end - dt.timedelta(minutes=1),
                    end,
                    "warning",
                    f"{flag_open}: sad or angry",
                    {"share": 0.3},
                    120,
                )
            )
            flag_open = None
    while writer.intervals_written < plan.intervals and writer.is_alive():
        time.sleep(0.05)
    writer.close(class_start + dt.timedelta(seconds=plan.intervals * plan.interval_s))
    writer.join(timeout=150)
    latencies = [d - p for p, d in zip(put_at, writer.done_at, strict=False)]
    results.put(
        {
            "room": plan.index,
            "session_id": writer.session_id,
            "latencies": latencies,
            "written": writer.intervals_written,
            "failures": writer.failures,
            "error": writer.last_error,
        }
    )


# --- viewers ----------------------------------------------------------------------------------------------------------


def view(base: str, deps: list[dict[str, Any]], path: str) -> float:
    t0 = time.perf_counter()
    load_page(Client(base), deps, path)
    return time.perf_counter() - t0


def live_poll(client: Client, dep: dict[str, Any], n: int, room: int, fingerprint: Any) -> tuple[float, Any]:
    """One 3-s poll of an open Live page, as the browser sends it (with what the page shows now, its fingerprint);
    returns the time it took and the new fingerprint."""
    values = {"n_intervals": n, "data": None}
    body = {
        "output": dep["output"],
        "outputs": _outputs(dep["output"]),
        "inputs": [{**i, "value": values.get(i["property"])} for i in dep["inputs"]],
        "changedPropIds": [f"{ids.LIVE_INTERVAL}.n_intervals"],
        "state": [
            {**st, "value": fingerprint if st["id"] == ids.LIVE_FINGERPRINT else {"classroom": f"Room {room}"}}
            for st in dep["state"]
        ],
    }
    t0 = time.perf_counter()
    answer = client.post("/_dash-update-component", body)
    elapsed = time.perf_counter() - t0
    sent = (answer or {}).get("response", {}).get(ids.LIVE_FINGERPRINT, {})
    return elapsed, sent.get("data", fingerprint)


def viewers(
    base: str, n_viewers: int, loads: int, rooms: int, live_rooms: int, polls: int, poll_s: float
) -> dict[str, list[float]]:
    """``n_viewers`` threads, each loading ``/school`` then a room's Live page ``loads`` times (bounded), the rooms
    taken in turn from the first ``live_rooms``; then each keeps its last room open and polls it ``polls`` times
    every ``poll_s`` seconds, the viewers out of step as real browsers are."""
    client = Client(base)
    client.get("/")
    deps = json.loads(client.get("/_dash-dependencies"))
    refresh = next(
        d for d in deps if f"{ids.LIVE_FINGERPRINT}.data" in d["output"] and any(
            i["id"] == ids.LIVE_INTERVAL for i in d["inputs"])
    )  # fmt: skip
    times: dict[str, list[float]] = {"school": [], "live": [], "poll": []}
    lock = threading.Lock()

    def one(viewer: int) -> None:
        room = 1
        for k in range(loads):
            school = view(base, deps, "/school")
            room = 1 + (viewer * loads + k) % min(rooms, live_rooms)
            live = view(base, deps, f"/?classroom=Room+{room}")
            with lock:
                times["school"].append(school)
                times["live"].append(live)
        if not polls:
            return
        own = Client(base)
        _first, fingerprint = live_poll(own, refresh, 0, room, None)  # what the page load drew
        time.sleep(poll_s * viewer / n_viewers)
        for n in range(1, polls + 1):
            t0 = time.monotonic()
            took, fingerprint = live_poll(own, refresh, n, room, fingerprint)
            with lock:
                times["poll"].append(took)
            time.sleep(max(0.0, poll_s - (time.monotonic() - t0)))

    with concurrent.futures.ThreadPoolExecutor(n_viewers) as pool:
        list(pool.map(one, range(n_viewers)))
    return times


# --- report -----------------------------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=20, help="classrooms, one writer process each")
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds of class time per interval")
    parser.add_argument("--intervals", type=int, default=30, help="intervals each room writes")
    parser.add_argument("--speed", type=float, default=5.0, help="class time runs this many times faster")
    parser.add_argument("--viewers", type=int, default=20, help="concurrent dashboard clients (0: writes only)")
    parser.add_argument("--loads", type=int, default=3, help="/school + Live loads per viewer")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="dashboard processes under gunicorn, as a school runs it (0: Flask's one-process development server)",
    )
    parser.add_argument("--hours-per-day", type=float, default=6.0)
    parser.add_argument("--days", type=int, default=190, help="school days in a year")
    parser.add_argument(
        "--live-rooms", type=int, default=0, help="Live loads go to the first K rooms only (default 0: every room)"
    )
    parser.add_argument("--polls", type=int, default=5, help="3-s polls of the open Live page per viewer afterwards")
    parser.add_argument(
        "--no-cache", action="store_true", help="serve without the shared page cache (CLASSMOOD_SHARED_CACHE=0)"
    )
    args = parser.parse_args()
    if args.viewers < 0 or args.polls < 0 or args.live_rooms < 0 or not 0 <= args.workers <= 64:
        print("error: --viewers, --polls and --live-rooms must be 0 or more, --workers 0 to 64", file=sys.stderr)
        return 2
    for name in ("rooms", "students", "intervals", "loads", "days"):
        if getattr(args, name) < 1:
            print(f"error: --{name} must be at least 1", file=sys.stderr)
            return 2
    if args.interval <= 0 or args.speed <= 0 or args.hours_per_day <= 0:
        print("error: --interval, --speed and --hours-per-day must be positive", file=sys.stderr)
        return 2

    from tests.browser.helpers import free_port

    port = free_port()
    data = Path(tempfile.gettempdir()) / f"classmood-school-pg-{port}"  # readable by the postgres user, like the tests'

    try:
        url = start_postgres(port, data, max_connections=args.rooms + 60)
        engine = make_engine(url)
        upgrade(engine)
        with engine.connect() as conn:
            size_before = conn.scalar(text("SELECT pg_database_size(current_database())"))
        engine.dispose()
        return run(args, url, size_before)
    finally:
        stop_postgres(port, data)


def run(args: argparse.Namespace, url: str, size_before: int) -> int:
    period = args.interval / args.speed
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    start_at = time.time() + 3.0
    plans = [
        RoomPlan(
            k,
            url,
            args.students,
            args.intervals,
            args.interval,
            args.speed,
            start_at,
            (k - 1) * period / args.rooms,
            seed=k,
        )
        for k in range(1, args.rooms + 1)
    ]
    procs = [ctx.Process(target=run_room, args=(p, results), daemon=True) for p in plans]
    for p in procs:
        p.start()
    print(
        f"{args.rooms} rooms x {args.students} students, {args.intervals} intervals of {args.interval:g} s "
        f"at {args.speed:g}x ({period:.2f} s apart per room, {args.rooms / period:.1f} intervals/s in all); "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    view_times: dict[str, list[float]] = {}
    view_wall, writes_running = 0.0, False
    if args.viewers:
        if args.no_cache:
            os.environ["CLASSMOOD_SHARED_CACHE"] = "0"  # inherited by the dashboard process
        with dashboard_process(url, args.workers or None) as base:
            # the viewers start once every room has a few intervals, while the classes go on
            time.sleep(max(0.0, start_at + 3 * period - time.time()))
            t0 = time.perf_counter()
            view_times = viewers(
                base, args.viewers, args.loads, args.rooms, args.live_rooms or args.rooms, args.polls, 3.0
            )
            view_wall = time.perf_counter() - t0
            writes_running = any(p.is_alive() for p in procs)
            outcomes = [results.get(timeout=args.intervals * period + 300) for _ in procs]
    else:
        outcomes = [results.get(timeout=args.intervals * period + 300) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    write_wall = time.time() - start_at

    latencies = [x for o in outcomes for x in o["latencies"]]
    engine = make_engine(url)
    with engine.connect() as conn:
        n_intervals = conn.scalar(select(func.count(Interval.id)))
        n_distinct = conn.scalar(
            select(func.count()).select_from(select(Interval.session_id, Interval.start).distinct().subquery())
        )
        n_rows = conn.scalar(select(func.count(StudentInterval.id)))
        n_sessions = conn.scalar(select(func.count(ClassSession.id)))
        size_after = conn.scalar(text("SELECT pg_database_size(current_database())"))
        per_row = {
            table: (
                conn.scalar(text(f"SELECT pg_table_size('{table}')")),
                conn.scalar(text(f"SELECT pg_indexes_size('{table}')")),
            )
            for table in ("interval", "student_interval")
        }
    engine.dispose()
    expected_intervals = args.rooms * args.intervals
    rows = n_intervals + n_rows
    hours = expected_intervals * args.interval / 3600
    per_hour = (size_after - size_before) / hours
    year = per_hour * args.hours_per_day * args.days * args.rooms

    print(f"\n| writes ({args.rooms} processes, PostgreSQL with fsync on) | value |\n|---|---|")
    print(
        f"| intervals written / expected | {n_intervals:,} / {expected_intervals:,} "
        f"({expected_intervals - n_intervals} lost, {n_intervals - n_distinct} duplicated) |"
    )
    print(f"| student rows written / expected | {n_rows:,} / {expected_intervals * args.students:,} |")
    print(f"| sessions | {n_sessions} |")
    print(
        f"| write latency p50 / p95 / max (put to commit) | {pct(latencies, 50) * 1000:.0f} / "
        f"{pct(latencies, 95) * 1000:.0f} / {max(latencies, default=float('nan')) * 1000:.0f} ms |"
    )
    print(f"| rows per second (intervals + student rows, over {write_wall:.0f} s) | {rows / write_wall:,.0f} |")
    print(f"| storage retries (transient errors) | {sum(o['failures'] for o in outcomes)} |")
    print(
        f"| database size per classroom-hour ({args.students} students, {args.interval:g}-s intervals) | "
        f"{per_hour / 2**20:.2f} MiB |"
    )
    for table, (heap, indexes) in per_row.items():
        count = n_intervals if table == "interval" else n_rows
        print(
            f"| {table}: bytes per row, table + indexes | {heap / max(count, 1):.0f} + {indexes / max(count, 1):.0f} |"
        )
    print(
        f"| a school year: {args.rooms} rooms x {args.hours_per_day:g} h x {args.days} days | {year / 2**30:.1f} GiB |"
    )
    errors = {o["error"] for o in outcomes if o["error"]}
    if errors:
        print(f"storage errors seen: {sorted(errors)}")
    ok = n_intervals == n_distinct == expected_intervals and n_rows == expected_intervals * args.students
    if not args.viewers:
        print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
        return 0 if ok else 1
    print(
        f"\n| pages over HTTP ({args.viewers} concurrent viewers, python -m dashboard "
        f"{f'--workers {args.workers} (gunicorn)' if args.workers else '(development server)'}"
        f"{', shared cache off' if args.no_cache else ''}, "
        f"{'while the rooms write' if writes_running else 'writes had ended before the viewers did'}) "
        f"| loads | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|"
    )
    live_label = "Live (/?classroom=Room N)" + (f", first {args.live_rooms} rooms" if args.live_rooms else "")
    for name, label in (
        ("school", "/school"),
        ("live", live_label),
        ("poll", "Live, one 3-s poll of the open page"),
    ):
        values = view_times.get(name, [])
        if not values:
            continue
        print(
            f"| {label} | {len(values)} | {statistics.median(values) * 1000:.0f} | {pct(values, 95) * 1000:.0f} | "
            f"{max(values) * 1000:.0f} |"
        )
    print(f"\nviewers took {view_wall:.1f} s; load average {os.getloadavg()[0]:.1f} at the end")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
