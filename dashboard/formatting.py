"""Turning stored values into what a person reads: local times, durations, percentages.

The database holds timezone-aware UTC; the dashboard shows the wall-clock time of the machine it runs on, which in
a school is the classroom's time zone.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os

import pandas as pd
from dateutil.tz import gettz, tzlocal


def local_tz() -> dt.tzinfo:
    """The server's time zone, DST-aware (a fixed offset taken today would be wrong for last winter's sessions).

    The zone file itself (``$TZ``, else ``/etc/localtime``) when there is one: pandas converts a whole column to a
    zone file's offsets at once, while ``tzlocal()`` asks the C library once per timestamp (6 ms instead of 1 for
    the 1,080 intervals of a 3-hour class, several times per Live draw)."""
    return _zone(os.environ.get("TZ"))


@functools.lru_cache(maxsize=8)
def _zone(name: str | None) -> dt.tzinfo:
    """The zone named ``$TZ`` (or the system's); ``gettz()`` without a name re-reads the file on every call."""
    return gettz(name) or tzlocal()


def to_local(when: dt.datetime, tz: dt.tzinfo | None = None) -> dt.datetime:
    """An aware datetime in ``tz`` (default: the server's zone); a naive one is taken to be UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(tz or local_tz())


def local_naive(times: pd.Series, tz: dt.tzinfo | None = None) -> pd.Series:
    """UTC timestamps as naive local wall-clock times, which Plotly draws as they are (it ignores offsets)."""
    utc = pd.to_datetime(times, utc=True)
    return utc.dt.tz_convert(tz or local_tz()).dt.tz_localize(None)


def fmt_datetime(when: dt.datetime | None, tz: dt.tzinfo | None = None) -> str:
    if when is None or pd.isna(when):
        return "—"
    return to_local(when, tz).strftime("%Y-%m-%d %H:%M")


def fmt_time(when: dt.datetime | None, tz: dt.tzinfo | None = None) -> str:
    if when is None or pd.isna(when):
        return "—"
    return to_local(when, tz).strftime("%H:%M:%S")


def fmt_duration(seconds: float | None) -> str:
    """``42 s``, ``12 min``, ``1 h 05 min``; ``—`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "—"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def fmt_share(share: float) -> str:
    return f"{share:.0%}" if math.isfinite(share) else "—"


def parse_clock(text: str, started_at: dt.datetime, tz: dt.tzinfo | None = None) -> dt.datetime | None:
    """``"09:41"`` or ``"9:41:30"`` typed for a session that started at ``started_at``: that wall-clock time in
    ``tz`` on the session's (local) day, as aware UTC; the next day when it would fall more than an hour before
    the start (a lesson across midnight). None when it is not a time of day."""
    parts = text.strip().split(":")
    if not 2 <= len(parts) <= 3 or not all(p.strip().isdigit() for p in parts):
        return None
    hour, minute, second = (int(p) for p in (*parts, "0")[:3])
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
        return None
    start_local = to_local(started_at, tz)
    when = start_local.replace(hour=hour, minute=minute, second=second, microsecond=0)
    if when < start_local - dt.timedelta(hours=1):
        when += dt.timedelta(days=1)
    return when.astimezone(dt.UTC)


def date_bounds(
    start: str | None, end: str | None, tz: dt.tzinfo | None = None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The picker's local dates (``YYYY-MM-DD``, both inclusive) as UTC bounds ``[since, until)``."""
    zone = tz or local_tz()

    def midnight(text: str | None, days: int = 0) -> dt.datetime | None:
        if not text or not isinstance(text, str):  # a forged callback may send a list or a number
            return None
        try:
            day = dt.date.fromisoformat(text[:10]) + dt.timedelta(days=days)
        except ValueError:
            return None
        return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)

    return midnight(start), midnight(end, days=1)


def parse_ids(text: str | None, limit: int) -> list[int]:
    """``"3,7, x,3"`` -> ``[3, 7]``: the numbers of a ``?ids=`` query, in order, without repeats or junk, at most
    ``limit`` of them."""
    found: list[int] = []
    for part in (text or "").split(","):
        part = part.strip()
        # at most 10 ASCII digits and within PostgreSQL's INTEGER: 2**70 is junk, not an overflow on the database
        if part.isascii() and part.isdigit() and len(part) <= 10 and 0 < int(part) < 2**31 and int(part) not in found:
            found.append(int(part))
    return found[:limit]
