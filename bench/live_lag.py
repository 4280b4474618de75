"""Is the Live page's newest interval ever more than two intervals behind the wall clock with the CPU busy?

``python bench/live_lag.py [--seconds 180] [--fps 4] [--interval 5] [--busy 2]``

Writes a paced 1920x1080 MJPG file of a composed class (25 real FER2013 PublicTest faces from ../shared, 8 frames
cycled; nothing is kept), starts ``--busy`` processes that each spin one core, and runs the real worker on the file
with ``--realtime`` into a throwaway SQLite database, as the demo runs. Once a second it reads the newest stored
interval's end, as the Live page does, and at the end prints the largest and median lag behind the wall clock (in
seconds and in intervals) and each interval's analysed and skipped frames. Target (issue 12): never more than two
intervals behind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np

from tests.helpers.classroom import compose_class, fer_publictest, write_video

VIDEO_FPS = 4


def newest_end(db: Path) -> dt.datetime | None:
    """The end of the newest stored interval (UTC), or None before the first one is written."""
    try:
        con = sqlite3.connect(db)
        try:
            row = con.execute('select max("end") from interval').fetchone()
        finally:
            con.close()
    except sqlite3.Error:  # the worker is still creating the schema
        return None
    if not row or not row[0]:
        return None
    end = dt.datetime.fromisoformat(str(row[0]))
    return end.replace(tzinfo=dt.UTC) if end.tzinfo is None else end


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=180, help="length of the paced file (default 180)")
    ap.add_argument("--fps", type=float, default=4.0, help="worker --fps (default 4)")
    ap.add_argument("--interval", type=float, default=5.0, help="worker --interval in seconds (default 5)")
    ap.add_argument("--busy", type=int, default=2, help="processes spinning one core each (default 2)")
    args = ap.parse_args()
    if args.seconds < 10 or args.fps <= 0 or args.interval <= 0 or args.busy < 0:
        print("error: --seconds must be >= 10, --fps and --interval > 0, --busy >= 0", file=sys.stderr)
        return 2
    x, _ = fer_publictest()
    rng = np.random.default_rng(5)
    with tempfile.TemporaryDirectory() as tmp:
        frames = [compose_class(x, list(rng.choice(len(x), 25, replace=False)), 1920, 1080, jitter=4, seed=i)[0]
                  for i in range(8)]
        video = write_video(Path(tmp) / "class.avi", [frames[(i // 4) % 8] for i in range(args.seconds * VIDEO_FPS)],
                            fps=VIDEO_FPS)
        db = Path(tmp) / "lag.sqlite3"
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
        lags: list[float] = []
        try:
            worker = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "--source", str(video), "--realtime", "--fps", str(args.fps),
                 "--interval", str(args.interval), "--layout", "room", "--db", f"sqlite:///{db}"],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            while worker.poll() is None:
                time.sleep(1.0)
                end = newest_end(db) if db.exists() else None
                if end is not None:
                    lags.append((dt.datetime.now(dt.UTC) - end).total_seconds())
        finally:
            for p in busy:
                p.kill()
                p.wait()
        con = sqlite3.connect(db)
        rows = con.execute("select frames_analysed, frames_skipped from interval order by start").fetchall()
        con.close()
    if not lags:
        print("error: the worker stored no interval", file=sys.stderr)
        return 1
    worst = max(lags)
    print(f"{args.seconds} s paced 1920x1080 file, 25 faces, --fps {args.fps:g}, --interval {args.interval:g} s, "
          f"{args.busy} busy process(es), {dt.date.today()}")
    print(f"{len(rows)} intervals: {sum(r[0] for r in rows)} frames analysed, {sum(r[1] for r in rows)} skipped")
    print(f"newest interval behind the wall clock: max {worst:.1f} s ({worst / args.interval:.2f} intervals), "
          f"median {float(np.median(lags)):.1f} s, over {len(lags)} polls; target <= 2 intervals: "
          f"{'met' if worst <= 2 * args.interval else 'NOT met'}")
    print("analysed/skipped per interval:", " ".join(f"{a}/{s}" for a, s in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
