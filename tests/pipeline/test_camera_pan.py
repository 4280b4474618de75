"""A panning camera (a phone held by hand, a laptop turned on its desk) keeps every student in their seat: the room
layout moves its seats and tracked faces with the picture (``monitor.camera_motion``) before matching. Composed from
FER2013 faces and real YuNet through ``FrameAnalyser``, the worker's own per-frame path."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.analyse import FrameAnalyser
from monitor.detections import make_detector
from monitor.frame import Frame
from tests.helpers.classroom import background, compose_class

pytestmark = pytest.mark.pipeline

STEP = (120, -12)  # px the camera turns between two analysed frames: about 0.9 of a face's width here
FRAMES = 9
CLASS_AT = (990, 60)  # where the class sits in the scene: inside every view of the pan


def test_a_panning_camera_keeps_each_student_in_their_seat(fer) -> None:  # type: ignore[no-untyped-def]
    x, _ = fer
    seats = list(range(40, 52))
    room, placed = compose_class(x, seats, 900, 960, cols=4, seed=2)
    scene = background(1920 + STEP[0] * FRAMES, 1080 + abs(STEP[1]) * FRAMES, seed=5)
    scene[CLASS_AT[1] : CLASS_AT[1] + 960, CLASS_AT[0] : CLASS_AT[0] + 900] = room
    analyser = FrameAnalyser(make_detector("yunet", 0, 960), None, "room")
    seat_of: dict[int, set[str]] = {}
    found = 0
    for i in range(FRAMES):
        x0, y0 = STEP[0] * i, abs(STEP[1]) * (FRAMES - 1 - i)  # the view moves right and up: the picture left, down
        view = np.ascontiguousarray(scene[y0 : y0 + 1080, x0 : x0 + 1920])
        result = analyser.analyse(Frame(view, 0.5 * i, i))
        found = found or len(result.faces)  # FER2013's 48 px crops: YuNet misses one or two of them here
        # each student a face in their seat, or a head too weak to read there (present, face not visible)
        assert found >= 10 and len(result.faces) + len(result.presence) == found, f"frame {i}"
        for (bx, by, bw, bh), label in zip(result.faces.boxes.tolist(), result.students, strict=True):
            cx, cy = bx + bw / 2 + x0 - CLASS_AT[0], by + bh / 2 + y0 - CLASS_AT[1]  # in the class's own pixels
            near = min(placed, key=lambda p: np.hypot(p.x + p.size / 2 - cx, p.y + p.size / 2 - cy))
            if i > 0:  # a seat is numbered on its second sighting
                assert label is not None, f"frame {i}"
                seat_of.setdefault(near.face_index, set()).add(label)
    assert analyser.seats.seats == found == len(seat_of)
    assert analyser.room.tracked > 0  # the known faces moved with the picture: their windows found them
    assert all(len(labels) == 1 for labels in seat_of.values()), seat_of
    assert len({next(iter(labels)) for labels in seat_of.values()}) == found


def test_a_pan_that_takes_students_out_of_the_picture(fer) -> None:  # type: ignore[no-untyped-def]
    """The camera turns until the class's two right columns have left the picture at its right edge, then back: no
    frame fails, nobody still in the picture changes seat, and those who come back into it get their own seats back
    (faces moved past the edge are dropped from the search: ``test_room_search.py``)."""
    x, _ = fer
    room, _ = compose_class(x, list(range(40, 52)), 900, 960, cols=4, seed=2)
    scene = background(3700, 1080, seed=6)
    scene[60:1020, 2300:3200] = room
    analyser = FrameAnalyser(make_detector("yunet", 0, 960), None, "room")
    # the view turns left: the right columns leave the picture for four frames, then come back
    lefts = [1700, 1500, 1300, 1100, 900, 700, 900, 1100, 1300, 1500, 1700]
    labels_at: dict[tuple[int, int], set[str]] = {}
    for i, x0 in enumerate(lefts):
        view = np.ascontiguousarray(scene[:, x0 : x0 + 1920])
        result = analyser.analyse(Frame(view, 0.5 * i, i))
        for (bx, by, bw, bh), label in zip(result.faces.boxes.tolist(), result.students, strict=True):
            if i > 0 and label is not None:  # the seat of the face at this place of the scene
                place = (round((bx + bw / 2 + x0) / 100), round((by + bh / 2) / 100))
                labels_at.setdefault(place, set()).add(label)
    assert labels_at and all(len(labels) == 1 for labels in labels_at.values()), labels_at
    assert analyser.seats.seats == len({next(iter(v)) for v in labels_at.values()})
