"""``python -m monitor run --teacher NAME --classroom ROOM``: the session's owner through the one config tree."""

from __future__ import annotations

import pytest

from monitor.cli import _overrides, build_parser
from monitor.config import ConfigError, load_config

pytestmark = pytest.mark.unit


def test_teacher_and_classroom_reach_the_analysis_config() -> None:
    args = build_parser().parse_args(["run", "--source", "x.mp4", "--teacher", "alice", "--classroom", "Room 12"])
    cfg = load_config(None, _overrides(args))
    assert (cfg.analysis.teacher, cfg.analysis.classroom) == ("alice", "Room 12")
    plain = load_config(None, _overrides(build_parser().parse_args(["run", "--source", "x.mp4"])))
    assert (plain.analysis.teacher, plain.analysis.classroom) == (None, None)


def test_an_empty_teacher_is_refused_with_its_key() -> None:
    with pytest.raises(ConfigError, match="analysis.teacher"):
        load_config(None, {"analysis": {"teacher": ""}})
