"""A small per-process cache for what every viewer allowed to see it would compute alike.

Twenty teachers watching one room, or the head polling ``/school``, used to run the same queries and build the same
figures every 3 s each: one Live load is ~140 ms of CPU, one ``/school`` load ~50 ms, most of it identical work. This
cache lets one request do it and the others in the same process reuse it for a few seconds.

What goes in is never per viewer: scoping stays where it was. A key always names what was already checked for the
viewer (a session id that ``_shown_session`` let this viewer see, or the teacher scope of ``/school``), so a
teacher can only ever be served an entry computed for a session, or a scope, that is theirs too.

Freshness: each entry lives at most ``ttl_s`` seconds (measured from when its computation *started*, so the data is
never older than that), and Live keys also carry the session's data version (its newest interval, flags and
notes, read by one cheap query each poll), so a new interval is shown by the first poll after it is committed. Only
one thread computes a given key at a time; the others wait for its result instead of all computing it at once.
Values are shared between requests and must be treated as read-only.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class SharedCache:
    """A thread-safe TTL cache with at most ``max_entries`` entries (the least recently used go first)."""

    def __init__(
        self, max_entries: int = 512, clock: Callable[[], float] = time.monotonic, *, enabled: bool = True
    ) -> None:
        self.enabled = enabled  # off: every get() computes (bench/school.py --no-cache measures the difference)
        self.max_entries = max_entries
        self.clock = clock
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, float, Any]] = OrderedDict()  # key -> (born, ttl, value)
        self._computing: dict[Hashable, threading.Lock] = {}

    def _fresh(self, key: Hashable) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        born, ttl, value = entry
        if self.clock() - born >= ttl:
            del self._entries[key]
            return False, None
        self._entries.move_to_end(key)
        return True, value

    def get(self, key: Hashable, compute: Callable[[], T], ttl_s: float) -> T:
        """The value cached under ``key`` if it is under ``ttl_s`` seconds old, else ``compute()`` (cached).

        An exception from ``compute`` is raised to the caller and nothing is cached."""
        if not self.enabled:
            return compute()
        with self._lock:
            found, value = self._fresh(key)
            if found:
                self.hits += 1
                return value
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:  # another thread may have computed it while this one waited
                found, value = self._fresh(key)
                if found:
                    self.hits += 1
                    return value
            born = self.clock()
            try:
                value = compute()
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            with self._lock:
                self.misses += 1
                # drop what has expired, so a school's worth of superseded versions does not sit in memory
                now = self.clock()
                for old in [k for k, (b, t, _v) in self._entries.items() if now - b >= t]:
                    del self._entries[old]
                self._entries[key] = (born, ttl_s, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return value

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
