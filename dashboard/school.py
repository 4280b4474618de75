"""The school overview's judgement: what state each classroom is in, and which rooms need a look first.

Pure functions on :func:`db.queries.school_overview`'s DataFrame and the time now, unit-tested without a browser or
a database. A room's state is the first of these that holds for the session it shows:

==========  ====================================================================================================
state       when
==========  ====================================================================================================
offline     running, and the source is offline, or its heartbeat is older than ``STALE_AFTER_S`` (the worker or
            its machine stopped without closing the session), or it never sent one since it started
alert       running, with an open flag of severity ``alert``
flagged     running, with other open flags
behind      running, and the latest interval ended more than two intervals and ``LAG_SLACK_S`` ago: the worker
            is alive but its analysis is falling behind the class
running     running, and none of the above
ended       the room's latest session has ended, or it has sent no heartbeat for ``ABANDONED_AFTER_S`` (a
            session left open by a crash long ago is history, not an emergency)
==========  ====================================================================================================

Rooms are listed in that order (``STATE_ORDER``), then by classroom label in natural order, unassigned last.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from dashboard.formatting import fmt_datetime, fmt_duration, fmt_time, to_local
from dashboard.mood import MoodShares
from db.emotions import EMOTIONS
from db.queries import UNASSIGNED

STALE_AFTER_S = 90.0  # as the live page's source panel: the worker's heartbeat is every 2 s by default, 60 s at most
ABANDONED_AFTER_S = 6 * 3600.0
LAG_SLACK_S = 30.0
STATE_ORDER: tuple[str, ...] = ("offline", "alert", "flagged", "behind", "running", "ended")
STATE_LABELS: dict[str, str] = {
    "offline": "Source offline",
    "alert": "Alert",
    "flagged": "Flagged",
    "behind": "Analysis behind",
    "running": "Running",
    "ended": "Ended",
}
NEEDS_A_LOOK = frozenset({"offline", "alert", "flagged", "behind"})


def _when(value: Any) -> dt.datetime | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def _int(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def room_state(room: dict[str, Any], now: dt.datetime) -> str:
    """The state of one row of ``school_overview`` (see the module's table)."""
    if _when(room["ended_at"]) is not None:
        return "ended"
    heartbeat = _when(room["status_updated_at"])
    beat_age = (now - (heartbeat or _when(room["started_at"]) or now)).total_seconds()
    if beat_age > ABANDONED_AFTER_S:
        return "ended"
    if room["state"] == "offline" or beat_age > STALE_AFTER_S:
        return "offline"
    if _int(room["open_alerts"]):
        return "alert"
    if _int(room["open_flags"]):
        return "flagged"
    lag = analysis_lag_s(room, now)
    if lag is not None and lag > 2 * float(room["interval_s"]) + LAG_SLACK_S:
        return "behind"
    return "running"


def analysis_lag_s(room: dict[str, Any], now: dt.datetime) -> float | None:
    """Seconds from the end of the latest interval written (or the session's start, before the first) to now, for
    a running session; None for an ended one. Up to one interval is normal: an interval is written when it ends."""
    if _when(room["ended_at"]) is not None:
        return None
    since = _when(room["interval_end"]) or _when(room["started_at"])
    return max(0.0, (now - since).total_seconds()) if since is not None else None


def last_update(room: dict[str, Any]) -> dt.datetime | None:
    """The latest of the heartbeat, the latest interval's end and the session's end."""
    times = [t for t in (_when(room[c]) for c in ("status_updated_at", "interval_end", "ended_at")) if t is not None]
    return max(times, default=None)


def expected(room: dict[str, Any]) -> int | None:
    """The class size the teacher gave (``--expected``, or the roster's length), None when unknown."""
    given = room["expected_students"]
    if given is not None and not pd.isna(given) and int(given) > 0:
        return int(given)
    return _int(room["roster_size"]) or None


def live_href(room: dict[str, Any]) -> str:
    """The Live page of the room: by classroom, so it follows the room's next session; the unassigned group has no
    room to follow, so it opens its session."""
    if room["classroom"] is None:
        return "/?" + urlencode({"session": int(room["session_id"])})
    return "/?" + urlencode({"classroom": str(room["classroom"])})


def _source_text(room: dict[str, Any], state: str, now: dt.datetime) -> str:
    heartbeat = _when(room["status_updated_at"])
    if state == "ended":
        return "ended" if _when(room["ended_at"]) is not None else "not closed"
    if heartbeat is None:
        return "no heartbeat yet"
    age = (now - heartbeat).total_seconds()
    if age > STALE_AFTER_S:
        return f"no heartbeat for {fmt_duration(age)}"
    return str(room["state"] or "starting")


def room_rows(overview: pd.DataFrame, now: dt.datetime, tz: dt.tzinfo | None = None) -> list[dict[str, Any]]:
    """One dict per room, rooms needing a look first: what the page draws, every value already text except
    ``mood`` (a :class:`MoodShares`, or None before the first interval) and ``href``."""
    rows = []
    for room in overview.to_dict("records"):
        state = room_state(room, now)
        seen = _int(room["students_seen"])
        size = expected(room)
        has_interval = _when(room["interval_end"]) is not None
        mood = MoodShares.from_counts({e: _int(room[e]) for e in EMOTIONS}) if has_interval else None
        lag = analysis_lag_s(room, now)
        updated = last_update(room)
        flags, alerts = _int(room["open_flags"]), _int(room["open_alerts"])
        today = updated is not None and to_local(updated, tz).date() == to_local(now, tz).date()
        rows.append(
            {
                "classroom": UNASSIGNED if room["classroom"] is None else str(room["classroom"]),
                "assigned": room["classroom"] is not None,
                "session_id": int(room["session_id"]),
                "session": str(room["name"]),
                "teacher": "" if room["teacher"] is None or pd.isna(room["teacher"]) else str(room["teacher"]),
                "state": state,
                "state_label": STATE_LABELS[state],
                "mood": mood,
                "seen": (f"{seen} of {size}" if size else str(seen)) if has_interval else "—",
                "flags": (f"{flags} open" + (f" ({alerts} alert)" if alerts else "")) if flags else "none",
                "source": _source_text(room, state, now),
                "lag": fmt_duration(lag) if lag is not None and state != "ended" and math.isfinite(lag) else "—",
                "updated": (fmt_time(updated, tz) if today else fmt_datetime(updated, tz)) if updated else "—",
                "href": live_href(room),
            }
        )
    rank = {state: i for i, state in enumerate(STATE_ORDER)}
    # the query already sorted by classroom (natural order, unassigned last); a stable sort keeps that within a state
    return sorted(rows, key=lambda r: rank[r["state"]])


def school_summary(rows: list[dict[str, Any]]) -> str:
    """``12 classrooms · 9 running · 2 need a look``."""
    running = sum(r["state"] != "ended" for r in rows)
    look = sum(r["state"] in NEEDS_A_LOOK for r in rows)
    rooms = f"{len(rows)} classroom{'s' if len(rows) != 1 else ''}"
    return f"{rooms} · {running} running · {look} need{'s' if look == 1 else ''} a look"
