"""Fixtures for the pipeline layer: the shipped model, real FER2013 faces, and running the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.classifier import DEFAULT_MODEL
from tests.helpers.classroom import FER_DIR, fer_publictest

REPO = Path(__file__).resolve().parents[2]


def _need_data() -> None:
    if not (FER_DIR / "fer2013_publictest.npz").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"FER2013 data missing at {FER_DIR} under CI")
        pytest.skip(f"FER2013 data not found at {FER_DIR}")


@pytest.fixture(scope="session")
def fer() -> tuple[np.ndarray, np.ndarray]:
    _need_data()
    return fer_publictest()


@pytest.fixture(scope="session")
def classifier():  # type: ignore[no-untyped-def]
    from models.classifier import EmotionClassifier

    assert DEFAULT_MODEL.is_file(), f"the shipped model {DEFAULT_MODEL} is missing"
    return EmotionClassifier(DEFAULT_MODEL)


def run_cli(*args: str, timeout: float = 240, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ARGS`` from the repository root, as a user would."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    full_env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, env=full_env,
        check=False,
    )
