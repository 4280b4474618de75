"""The configuration tree: defaults, TOML file, environment, overrides, and one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, load_config

pytestmark = pytest.mark.unit


def test_defaults_and_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    f = tmp_path / "c.toml"
    f.write_text('[capture]\nfps = 4\n[analysis]\ninterval_s = 30\n[storage]\ndb_url = "sqlite:///a.db"\n')
    monkeypatch.setenv("DATABASE_URL", "sqlite:///env.db")
    cfg = load_config(f, {"analysis": {"interval_s": 5}})
    assert cfg.capture.fps == 4 and cfg.analysis.interval_s == 5
    assert cfg.storage.db_url == "sqlite:///env.db"  # environment beats the file
    assert load_config(f, {"storage": {"db_url": "sqlite:///cli.db"}}).storage.db_url == "sqlite:///cli.db"


@pytest.mark.parametrize(("age", "interval", "applied"), [(2.0, 10.0, 2.0), (8.0, 10.0, 5.0), (0.0, 10.0, 0.0)])
def test_the_seat_age_is_at_most_half_an_interval(age: float, interval: float, applied: float) -> None:
    cfg = load_config(None, {"analysis": {"seat_min_age_s": age, "interval_s": interval}})
    assert cfg.analysis.seat_min_age == applied


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"capture": {"fps": 0}}, "capture.fps: Input should be greater than 0"),
        ({"capture": {"fps": "fast"}}, "capture.fps:"),
        ({"analysis": {"interval_s": 0.5}}, "analysis.interval_s: Input should be greater than or equal to 1"),
        ({"analysis": {"interval_s": float("nan")}}, "analysis.interval_s: Input should be a finite number"),
        ({"capture": {"fps": float("inf")}}, "capture.fps: Input should be a finite number"),
        ({"analysis": {"layout": "theatre"}}, "analysis.layout:"),
        ({"detector": {"kind": "yolo"}}, "detector.kind:"),
        ({"model": {"engine": "onnx"}}, "model.engine: Input should be 'quantized', 'lite' or 'tf'"),
        ({"storage": {"db_url": "mysql://u@h/db"}}, "storage.db_url: unsupported database 'mysql'"),
        ({"capture": {"colour": 1}}, "capture.colour: Extra inputs are not permitted"),
    ],
)
def test_invalid_values_name_their_key(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, overrides)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[capture\nfps=")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(bad)


class TestAnalysisSettingsFromTheDatabase:
    """The dashboard's analysis options replace built-in defaults only; explicit values always win."""

    def test_defaults_are_replaced(self) -> None:
        from db.settings import AnalysisSettings
        from monitor.worker import apply_analysis_settings

        cfg = apply_analysis_settings(load_config(), AnalysisSettings(interval_s=30, fps=1, layout="gallery"))
        assert (cfg.analysis.interval_s, cfg.capture.fps, cfg.analysis.layout) == (30, 1, "gallery")

    def test_explicit_values_win(self, tmp_path: Path) -> None:
        from db.settings import AnalysisSettings
        from monitor.worker import apply_analysis_settings

        file = tmp_path / "c.toml"
        file.write_text("[capture]\nfps = 4\n")
        cfg = load_config(file, {"analysis": {"interval_s": 5}})
        cfg = apply_analysis_settings(cfg, AnalysisSettings(interval_s=30, fps=1, layout="room"))
        assert (cfg.analysis.interval_s, cfg.capture.fps, cfg.analysis.layout) == (5, 4, "room")


@pytest.mark.parametrize("url", ["sqlite://", "mysql://u@h/db"])
def test_a_bad_database_url_in_the_environment_is_a_config_error_not_an_import_failure(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sections were made at import, the storage section reading DATABASE_URL: a bad one was a traceback on
    importing monitor.config, even for ``monitor analyse``, which stores nothing, or with ``--db`` given."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-c", "import monitor.config"], env=env, capture_output=True, text=True,
                          timeout=60, check=False, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ConfigError, match=r"^storage\.db_url: "):
        load_config()
    assert load_config(None, {"storage": {"db_url": "sqlite:///class.sqlite3"}}).storage.db_url.endswith("class.sqlite3")
