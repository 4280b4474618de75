"""Regenerate the dashboard screenshots in ``docs/``: ``python -m tests.browser.screenshots [--out docs]``.

Seeds a temporary SQLite database (``seed.seed_classroom``), starts ``python -m dashboard`` on it and saves every
page as headless Chromium draws it, 1280 pixels wide: Live, Sessions, the review of the ended session, Compare and
Settings (the long pages whole); then adds attention flags (``seed.seed_flags``, one of them acknowledged) and saves
the Live page again with its "Needs attention" list as ``dashboard-flags.png``; and the school overview of ten
seeded classrooms (``seed.seed_school``) as ``dashboard-school.png`` (``--only school`` saves that one alone).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from selenium.webdriver import Chrome

from dashboard import ids
from db.emotions import EMOTIONS
from db.engine import make_engine, session_factory, upgrade
from db.schema import Flag
from tests.browser.helpers import HEIGHT, ROOT, WIDTH, graph_data, make_driver, run_dashboard, wait_for
from tests.browser.seed import PAST_STUDENTS, add_session, seed_classroom, seed_flags, seed_school

SHOTS = (
    "dashboard-live.png",
    "dashboard-sessions.png",
    "dashboard-review.png",
    "dashboard-compare.png",
    "dashboard-settings.png",
    "dashboard-flags.png",
    "dashboard-report.png",
    "dashboard-school.png",
)


def whole_page(driver: Chrome, path: Path) -> None:
    """Save the whole page, not just the first 900 pixels, then go back to the normal viewport."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    time.sleep(0.8)  # let Plotly redraw at the new size before the capture
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
    )


def trim(path: Path, margin: int = 24) -> None:
    """Cut the blank page around a short document (the report is one A4 page, the window is taller)."""
    from PIL import Image, ImageChops

    image = Image.open(path).convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, (255, 255, 255))).getbbox()
    if box is not None:
        left, top, right, bottom = box
        image.crop((max(0, left - margin), max(0, top - margin), min(image.width, right + margin),
                    min(image.height, bottom + margin))).save(path)  # fmt: skip


def school_shot(out: Path) -> None:
    """The school overview on its own database of ten classrooms, so no other page's sessions join it."""
    with tempfile.TemporaryDirectory(prefix="classmood-school-") as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'classmood.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        rooms = seed_school(session_factory(engine))
        engine.dispose()
        with run_dashboard(url, tmp / "dashboard.log") as server:
            driver = make_driver(tmp)
            try:
                driver.get(server.url + "/school")
                wait_for(
                    lambda: len(driver.find_elements("css selector", f"#{ids.SCHOOL_ROOMS} tr.room-row")) == len(rooms),
                    what="the school overview",
                )
                whole_page(driver, out / "dashboard-school.png")
            finally:
                driver.quit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--only", choices=["school"], help="save only this page's screenshot")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    school_shot(args.out)
    if args.only == "school":
        print(f"saved {args.out / 'dashboard-school.png'}")
        return 0
    with tempfile.TemporaryDirectory(prefix="classmood-shots-") as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'classmood.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        sessions = session_factory(engine)
        seeded = seed_classroom(sessions)
        with sessions() as s, s.begin():  # a few more past classes, so the Sessions page looks like a real week
            others = {}
            for days, name, n, offset in ((2, "History 4C", 40, 4), (3, "Maths 3B", 45, 9), (4, "Art 1A", 30, 13)):
                start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).replace(hour=9, minute=15, second=0)
                others[name] = add_session(s, name=name, started_at=start, n_intervals=n, students=PAST_STUDENTS,
                                           interval_s=60.0, running=False, source="rtsp://camera-3/stream",
                                           layout="room", offset=offset)  # fmt: skip
        engine.dispose()
        with run_dashboard(url, tmp / "dashboard.log") as server:
            driver = make_driver(tmp)
            try:
                driver.get(server.url + "/")
                wait_for(
                    lambda: (
                        len(graph_data(driver, ids.LIVE_TIMELINE) or []) == len(EMOTIONS)
                        and len(graph_data(driver, ids.LIVE_DISTRIBUTION) or []) == 1
                    ),
                    what="the live charts",
                )
                wait_for(lambda: driver.find_elements("css selector", ".student-card"), what="the student cards")
                whole_page(driver, args.out / "dashboard-live.png")
                driver.get(server.url + "/sessions")
                wait_for(lambda: driver.find_elements("css selector", f"#{ids.SESSIONS_TABLE} tbody tr"),
                         what="the sessions table")  # fmt: skip
                driver.save_screenshot(str(args.out / "dashboard-sessions.png"))

                driver.get(f"{server.url}/sessions/{seeded.past.id}")
                wait_for(
                    lambda: (
                        len(graph_data(driver, ids.REVIEW_HEATMAP) or []) == 1
                        and len(graph_data(driver, ids.REVIEW_STUDENT_TIMELINE) or []) == len(EMOTIONS)
                    ),
                    what="the review charts",
                )
                whole_page(driver, args.out / "dashboard-review.png")

                compared = ",".join(str(i) for i in (seeded.past.id, others["History 4C"].id, others["Art 1A"].id))
                driver.get(f"{server.url}/compare?ids={compared}")
                wait_for(lambda: len(graph_data(driver, ids.COMPARE_TIMELINE) or []) == 3, what="the compare charts")
                whole_page(driver, args.out / "dashboard-compare.png")

                driver.get(server.url + "/settings")
                wait_for(lambda: driver.find_elements("id", ids.ANALYSIS_SAVE), what="the settings form")
                whole_page(driver, args.out / "dashboard-settings.png")

                flags = seed_flags(sessions, seeded)
                with sessions() as s, s.begin():  # one acknowledged, to show how it looks
                    acknowledged = s.get(Flag, flags.live_open[-1].id)
                    assert acknowledged is not None
                    acknowledged.acknowledged_at = dt.datetime.now(dt.UTC)
                driver.get(server.url + "/")
                wait_for(
                    lambda: (
                        len(driver.find_elements("css selector", f"#{ids.LIVE_FLAGS} li[data-flag-id]"))
                        == len(flags.live_open)
                        and driver.find_element("id", ids.LIVE_CONTENT).is_displayed()
                        and len(graph_data(driver, ids.LIVE_TIMELINE) or []) == len(EMOTIONS)
                    ),
                    what="the live page with its flags",
                )
                # the whole page, so the students table's "needs attention" badges are in the picture too
                height = int(driver.execute_script("return document.documentElement.scrollHeight"))
                driver.execute_cdp_cmd(
                    "Emulation.setDeviceMetricsOverride",
                    {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False},
                )
                time.sleep(0.5)  # let the resize settle before the capture
                driver.save_screenshot(str(args.out / "dashboard-flags.png"))

                driver.get(f"{server.url}/report/{seeded.live.id}.html")  # the printable report, with the flags
                wait_for(lambda: driver.find_elements("css selector", "svg"), what="the report's charts")
                whole_page(driver, args.out / "dashboard-report.png")
                trim(args.out / "dashboard-report.png")
            finally:
                driver.quit()
    names = ", ".join(str(args.out / n) for n in SHOTS)
    print(f"saved {names} ({seeded.live.name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
