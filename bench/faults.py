"""Fault cases of issue 13 against the real storage layer: ``python bench/faults.py [--intervals N]``.

Each case runs a worker's storage side (the real ``StorageWriter`` with its journal, fed one closed interval every
``--period`` seconds) in a child process, inflicts the fault on it for real, recovers as a user would (the database
back, the disk freed, ``python -m monitor replay --pending``), and prints one row: intervals closed before the fault,
intervals in the database after recovery, duplicates, and sessions left running. The target is "closed before" ==
"in the database", 0 duplicates, 0 running.

Faults: kill -9 with SQLite and with PostgreSQL up; kill -9 during a PostgreSQL outage; PostgreSQL down for the
whole class; the disk full at session start (a file-size limit, RLIMIT_FSIZE, on the worker: every write past it
fails as on a full disk) and freed later; PostgreSQL restarted mid-class (a private server on its own port, never the
shared test server); a read-only PostgreSQL database at start. PostgreSQL comes from ``.ci/postgres.sh`` as in the
tests; everything runs on 127.0.0.1 and in a temporary folder, removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, func, select, text

from db.engine import make_engine, normalise_url, session_factory, upgrade
from db.schema import ClassSession, Interval

PRIVATE_PG_PORT = 55491

CHILD = textwrap.dedent(
    """
    import datetime as dt, resource, signal, sys, time, uuid
    url, n, period, fsize, lift_after, pause_after, shutdown = sys.argv[1], *map(float, sys.argv[2:])
    if fsize:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit a write fails with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(fsize), resource.RLIM_INFINITY))
    from db.emotions import EMOTIONS
    from monitor.aggregate import IntervalAggregate, StudentAggregate
    from monitor.journal import open_journal
    from monitor.storage import OpenSession, StorageWriter

    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0)
    probs = tuple(0.7 if e == "happy" else 0.05 for e in EMOTIONS)
    uid = uuid.uuid4().hex
    w = StorageWriter(url, retry_initial_s=0.2, retry_max_s=1.0, shutdown_timeout_s=shutdown,
                      journal=open_journal(uid, url))
    w.start()
    w.put(OpenSession("fault case", "bench", "room", 10.0, 2.0, "haar", "m", t0, uid=uid))
    for k in range(int(n)):
        start = t0 + dt.timedelta(seconds=10 * k)
        w.put(IntervalAggregate(start, start + dt.timedelta(seconds=10), 20, 0,
                                tuple(StudentAggregate(f"Seat {i}", 20, probs) for i in range(1, 31))))
        print("closed", k + 1, flush=True)
        if lift_after and k + 1 == lift_after:
            resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        if pause_after and k + 1 == pause_after:
            print("paused", flush=True)
            sys.stdin.readline()
        time.sleep(period)
    w.close(t0 + dt.timedelta(seconds=10 * int(n)))
    w.join()
    print("done", w.intervals_written, w.unwritten_intervals(), flush=True)
    """
)


@dataclass
class Row:
    case: str
    closed: int
    stored: int
    duplicates: int
    running: int
    note: str = ""


class Child:
    def __init__(self, url: str, home: Path, n: int, period: float, *, fsize: int = 0, lift_after: int = 0,
                 pause_after: int = 0, shutdown: float = 5.0) -> None:
        env = {**os.environ, "CLASSMOOD_HOME": str(home), "PYTHONPATH": str(REPO)}
        args = [url, n, period, fsize, lift_after, pause_after, shutdown]
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, *map(str, args)], cwd=REPO, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        self.closed = 0

    def until(self, word: str, count: int | None = None) -> list[str]:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the child ended before {word!r}")
            parts = line.split()
            if parts[0] == "closed":
                self.closed = int(parts[1])
            if parts[0] == word and (count is None or int(parts[1]) >= count):
                return parts

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()


def replay(home: Path) -> None:
    env = {**os.environ, "CLASSMOOD_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "monitor", "replay", "--pending"], cwd=REPO, env=env, check=False,
                   capture_output=True, timeout=300)


def tally(url: str) -> tuple[int, int, int]:
    eng = make_engine(url)
    try:
        with session_factory(eng)() as s:
            starts = list(s.scalars(select(Interval.start)))
            running = int(s.scalar(select(func.count()).select_from(ClassSession)
                                   .where(ClassSession.ended_at.is_(None))) or 0)
    finally:
        eng.dispose()
    return len(starts), len(starts) - len(set(starts)), running


def create_db(admin_url: str, name: str) -> str:
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return normalise_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_dbs(admin_url: str, names: list[str]) -> None:
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def postgres(port: int, data: Path | None = None) -> str:
    env = {**os.environ, "CLASSMOOD_PG_PORT": str(port)}
    if data is not None:
        env["CLASSMOOD_PG_DATA"] = str(data)
    out = subprocess.run(["bash", ".ci/postgres.sh"], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1].split("=", 1)[1]


def restart_private_pg(data: Path) -> None:
    bindir = max(Path("/usr/lib/postgresql").glob("*/bin"))  # the newest major version, as .ci/postgres.sh picks
    as_pg = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    # -l: the restarted server logs to the file .ci/postgres.sh set up, not to a pipe of ours it would hold open
    subprocess.run([*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-l", f"{data}.log", "-s", "-m", "fast", "-w",
                    "restart"], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120)


def run_cases(n: int, period: float, home_root: Path, admin: str, private: tuple[str, Path]) -> list[Row]:
    rows: list[Row] = []
    made: list[str] = []

    def fresh_pg(url_admin: str = admin) -> tuple[str, str]:
        name = f"classmood_faults_{uuid.uuid4().hex[:8]}"
        made.append(name)
        return create_db(url_admin, name), name

    def home(case: str) -> Path:
        path = home_root / case
        path.mkdir()
        return path

    try:
        # kill -9, database up
        for backend in ("SQLite", "PostgreSQL"):
            h = home(f"kill-{backend}")
            url = f"sqlite:///{h / 'db.sqlite3'}" if backend == "SQLite" else fresh_pg()[0]
            upgrade_engine = make_engine(url)
            upgrade(upgrade_engine)
            upgrade_engine.dispose()
            child = Child(url, h, n, period)
            child.until("closed", n // 2)
            child.kill9()
            replay(h)
            rows.append(Row(f"kill -9, {backend} up", child.closed, *tally(url)))

        # kill -9 during a PostgreSQL outage (the database absent), then back
        h = home("kill-pg-down")
        name = f"classmood_faults_{uuid.uuid4().hex[:8]}"
        made.append(name)
        url = normalise_url(admin).set(database=name).render_as_string(hide_password=False)
        child = Child(url, h, n, period)
        child.until("closed", n // 2)
        child.kill9()
        create_db(admin, name)
        replay(h)
        rows.append(Row("kill -9 during a PostgreSQL outage", child.closed, *tally(url)))

        # PostgreSQL down for the whole class; the worker ends normally; replay later
        h = home("pg-down-all-class")
        name = f"classmood_faults_{uuid.uuid4().hex[:8]}"
        made.append(name)
        url = normalise_url(admin).set(database=name).render_as_string(hide_password=False)
        child = Child(url, h, n, period, shutdown=1.0)
        child.until("done")
        create_db(admin, name)
        replay(h)
        rows.append(Row("PostgreSQL down the whole class", child.closed, *tally(url), "replayed after"))

        # the disk full at session start (journal and database), freed after a third of the class
        h = home("disk-full")
        url = f"sqlite:///{h / 'db.sqlite3'}"
        eng = make_engine(url)
        upgrade(eng)
        with eng.begin() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        eng.dispose()
        child = Child(url, h, n, period, fsize=2048, lift_after=max(1, n // 3), shutdown=10.0)
        child.until("done")
        rows.append(Row("disk full at session start, then freed", child.closed, *tally(url)))

        # PostgreSQL restarted mid-class (a private server)
        private_admin, data = private
        h = home("pg-restart")
        url, _ = fresh_pg(private_admin)
        child = Child(url, h, n, period, pause_after=n // 2, shutdown=30.0)
        child.until("paused")
        restart_private_pg(data)
        child.go()
        child.until("done")
        rows.append(Row("PostgreSQL restarted mid-class", child.closed, *tally(url)))

        # a read-only database at start
        url, name = fresh_pg()
        eng = make_engine(url)
        upgrade(eng)
        eng.dispose()
        admin_eng = create_engine(normalise_url(admin), isolation_level="AUTOCOMMIT")
        with admin_eng.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        admin_eng.dispose()
        h = home("read-only")
        video = h / "x.avi"
        video.write_bytes(b"")
        done = subprocess.run([sys.executable, "-m", "monitor", "run", "--source", str(video), "--db", url],
                              cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
                              env={**os.environ, "CLASSMOOD_HOME": str(h)})
        refused = done.returncode == 2 and done.stderr.count("\n") == 1
        rows.append(Row("read-only PostgreSQL at start", 0, *tally(url),
                        "refused at start, exit 2, one line" if refused else f"NOT refused: {done.returncode}"))
    finally:
        drop_dbs(admin, made)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--intervals", type=int, default=12, help="intervals per case (default 12)")
    ap.add_argument("--period", type=float, default=0.2, help="seconds between closed intervals (default 0.2)")
    args = ap.parse_args()
    if args.intervals < 3 or args.period <= 0:
        print("error: --intervals must be at least 3 and --period positive", file=sys.stderr)
        return 2
    started = time.monotonic()
    admin = postgres(int(os.environ.get("CLASSMOOD_PG_PORT", "55432")))
    with tempfile.TemporaryDirectory(prefix="classmood-faults-") as tmp:
        data = Path(f"/tmp/classmood-faults-pg-{uuid.uuid4().hex[:8]}")  # the postgres user must reach it
        private_admin = postgres(PRIVATE_PG_PORT, data)
        try:
            rows = run_cases(args.intervals, args.period, Path(tmp), admin, (private_admin, data))
        finally:
            subprocess.run(["bash", ".ci/postgres.sh", "stop"], cwd=REPO, capture_output=True, check=False,
                           env={**os.environ, "CLASSMOOD_PG_PORT": str(PRIVATE_PG_PORT),
                                "CLASSMOOD_PG_DATA": str(data)})
    print(f"issue 13 fault cases, {args.intervals} intervals of 30 students each, real storage thread and journal, "
          f"{time.strftime('%Y-%m-%d')}")
    print(f"{'case':<40} {'closed before':>13} {'in database':>11} {'duplicates':>10} {'running':>7}  note")
    for r in rows:
        print(f"{r.case:<40} {r.closed:>13} {r.stored:>11} {r.duplicates:>10} {r.running:>7}  {r.note}")
    ok = all(r.stored == r.closed and r.duplicates == 0 and r.running == 0 for r in rows)
    print(f"{'all targets met' if ok else 'TARGETS MISSED'} in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
