"""Ordering of student labels (and file names): one natural sort for the worker, the queries and the dashboard."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"([0-9]+)")


def natural_key(label: str) -> tuple[tuple[str | int, ...], str]:
    """Sort key putting ``Seat 2`` before ``Seat 10`` and ``tile 3`` next to ``Tile 3``.

    Only ASCII digits count as numbers: ``int()`` rejects characters like ``²`` that ``str.isdigit`` accepts, and
    labels can be any Zoom display name. The label itself breaks ties so the order is total.
    """
    parts = _DIGITS.split(label)
    return tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)), label
