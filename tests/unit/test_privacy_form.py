"""The Settings page's retention input takes its bounds and step from ``PrivacySettings`` itself, through the form
helper every numeric setting uses (``dashboard.rules.number_field``), instead of numbers written twice."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard import ids
from dashboard.privacy_settings import privacy_cards
from dashboard.rules import number_field
from db.settings import PrivacySettings

pytestmark = pytest.mark.unit


def find(component: Any, component_id: str) -> Any:
    """The component with ``component_id`` in a layout tree, or None."""
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json"):
            found = find(child, component_id)
            if found is not None:
                return found
    return None


@pytest.mark.parametrize(("days", "shown"), [(30, 30), (None, "")])
def test_retention_input_has_the_models_bounds_and_whole_steps(days: int | None, shown: object) -> None:
    field = PrivacySettings.model_fields["retention_days"]
    retention = find(privacy_cards(PrivacySettings(retention_days=days)), ids.PRIVACY_RETENTION)
    assert retention is not None
    assert (retention.min, retention.max, retention.step, retention.value) == (0, 36500, 1, shown)
    assert number_field("retention_days", field, shown).integer  # int | None: a whole number, or empty
