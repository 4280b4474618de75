"""Analysis options stored by the dashboard and read by the worker at its next session, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from db.schema import Setting
from db.settings import ANALYSIS_KEY, AnalysisSettings, SettingsError, load_analysis_settings, save_analysis_settings
from monitor.worker import read_db_settings

pytestmark = pytest.mark.db
Factory = sessionmaker[OrmSession]


def test_round_trip_and_the_worker_reads_it(Session: Factory, engine: Engine) -> None:
    with Session() as s:
        assert load_analysis_settings(s) == AnalysisSettings()
    wanted = AnalysisSettings(interval_s=20, fps=1.5, layout="gallery")
    with Session() as s, s.begin():
        save_analysis_settings(s, wanted)
    with Session() as s:
        assert load_analysis_settings(s) == wanted
    assert read_db_settings(engine)[1] == wanted


def test_a_stored_value_out_of_range_is_reported_with_its_key(Session: Factory, engine: Engine) -> None:
    with Session() as s, s.begin():
        s.add(Setting(key=ANALYSIS_KEY, value={"interval_s": 0}, updated_at=dt.datetime.now(dt.UTC)))
    with Session() as s, pytest.raises(SettingsError, match=r"analysis\.interval_s"):
        load_analysis_settings(s)
    assert read_db_settings(engine)[1] == AnalysisSettings()  # the worker falls back to the defaults
