"""The attention-flag rules as a teacher sees them: names, plain-language descriptions, and the Settings form.

The form is derived from ``db.settings.FlagSettings`` itself (every rule section, every numeric field with its
description and bounds), so a rule or threshold added there shows up on the Settings page without a change here;
only the friendly names below are written by hand, and an unknown rule falls back to its key. Pure functions: no
Dash, no database, unit-tested directly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from db.settings import FlagSettings

SEVERITIES: tuple[str, ...] = ("info", "warning", "alert")  # mildest first; the rank orders lists and badges
RULE_LABELS: dict[str, str] = {
    "sustained_negative": "Sustained negative mood",
    "baseline_shift": "Change from their own start",
    "not_visible": "Not visible",
    "class_negative": "Class negative or confused",
    "class_mood_drop": "Class mood drop",
}
RULE_HELP: dict[str, str] = {
    "sustained_negative": "A student looks angry, sad, afraid or disgusted in most of the recent minutes.",
    "baseline_shift": "A student's recent mix of expressions differs clearly from their own mix early in the class.",
    "not_visible": "A student seen earlier has had no visible face (camera off, looking away, left) for a while.",
    "class_negative": "Many students at once look afraid, surprised or sad, which can mean the class is lost.",
    "class_mood_drop": "The class as a whole looks clearly less positive than at the start of the lesson.",
}
HYSTERESIS_TITLE = "Timing (all rules)"
HYSTERESIS_HELP = (
    "These keep flags from flickering on and off: a condition must last a while before a flag is raised and be gone "
    "a while before it is cleared, and no judgement is made from too few analysed frames, nor about a student seen "
    "for too little of a rule's window."
)


def rule_label(rule: str) -> str:
    return RULE_LABELS.get(rule, rule.replace("_", " ").capitalize())


def severity_rank(severity: str) -> int:
    """0 for info up to 2 for alert; an unknown severity ranks as info rather than failing the page."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


@dataclass(frozen=True)
class NumberField:
    """One numeric setting as the form shows it: ``key`` is its dotted path in FlagSettings."""

    key: str
    label: str
    default: float
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    integer: bool = False

    def bounds(self) -> str:
        """``from 1 to 120``, ``above 0, up to 1``: the allowed range in words."""
        low = None if self.minimum is None else f"{'above' if self.exclusive_minimum else 'from'} {self.minimum:g}"
        if self.maximum is None:
            high = None
        elif self.exclusive_maximum:
            high = f"below {self.maximum:g}"
        else:
            high = f"{'up to' if self.exclusive_minimum else 'to'} {self.maximum:g}"
        if low and high:
            return f"{low}, {high}" if self.exclusive_minimum or self.exclusive_maximum else f"{low} {high}"
        return low or high or "any value"

    @property
    def whole_steps(self) -> bool:
        """Whether stepping by 1 makes sense (minutes, frame counts) rather than for a 0..1 share or distance."""
        if self.integer or self.minimum is None or self.maximum is None:
            return True
        return self.maximum - self.minimum >= 5

    def missing_message(self) -> str:
        """What to say when the browser sends no number (empty, or outside the input's min/max, which Dash's
        ``dcc.Input`` reports as no value at all)."""
        return f"Enter a {'whole number' if self.integer else 'number'} {self.bounds()}."


@dataclass(frozen=True)
class RuleSection:
    key: str
    label: str
    help: str
    enabled: bool
    fields: tuple[NumberField, ...]


def number_field(key: str, info: Any, value: Any) -> NumberField:
    """The form's view of one numeric pydantic field: label, default and bounds read from the model itself."""
    minimum = maximum = None
    exclusive_min = exclusive_max = False
    for m in info.metadata:  # pydantic keeps Field(ge=..., gt=..., le=..., lt=...) as annotated_types markers
        if getattr(m, "ge", None) is not None:
            minimum = float(m.ge)
        elif getattr(m, "gt", None) is not None:
            minimum, exclusive_min = float(m.gt), True
        elif getattr(m, "le", None) is not None:
            maximum = float(m.le)
        elif getattr(m, "lt", None) is not None:
            maximum, exclusive_max = float(m.lt), True
    description = info.description or key.rsplit(".", 1)[-1].replace("_", " ")
    if key.endswith("_min") and "minute" not in description:
        description += " (minutes)"
    return NumberField(
        key=key,
        label=description[:1].upper() + description[1:],
        default=value,
        minimum=minimum,
        maximum=maximum,
        exclusive_minimum=exclusive_min,
        exclusive_maximum=exclusive_max,
        integer=info.annotation in (int, int | None),  # int | None: a whole number or empty (retention)
    )


def _clean_doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").replace("``", "").split())


def form_sections(settings: FlagSettings) -> tuple[list[RuleSection], list[NumberField]]:
    """The rule sections (in FlagSettings' order) and the top-level numeric fields, filled with ``settings``."""
    rules: list[RuleSection] = []
    top: list[NumberField] = []
    for name, info in type(settings).model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            fields = tuple(
                number_field(f"{name}.{sub}", sub_info, getattr(value, sub))
                for sub, sub_info in type(value).model_fields.items()
                if sub != "enabled"
            )
            help_text = RULE_HELP.get(name) or _clean_doc(type(value))
            rules.append(RuleSection(name, rule_label(name), help_text, bool(getattr(value, "enabled", True)), fields))
        else:
            top.append(number_field(name, info, value))
    return rules, top


def _set(tree: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def parse_settings(
    numbers: Mapping[str, float | int | None], enabled: Mapping[str, bool]
) -> tuple[FlagSettings | None, dict[str, str]]:
    """The form's values as FlagSettings, or ``None`` and one message per bad field keyed by its dotted path.

    ``numbers`` maps each numeric field's path to what the browser sent (``None`` when it sent no number);
    ``enabled`` maps each rule to its switch. The messages are pydantic's for a value the model rejects and a
    "enter a number from … to …" one for a missing value, so the teacher learns what is allowed, never a traceback.
    """
    specs = {f.key: f for f in number_fields()}
    errors: dict[str, str] = {}
    tree: dict[str, Any] = {}
    for rule, on in enabled.items():
        _set(tree, f"{rule}.enabled", bool(on))
    for key, value in numbers.items():
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            spec = specs.get(key)
            errors[key] = spec.missing_message() if spec else "Enter a number."
        else:
            _set(tree, key, value)
    try:
        settings = FlagSettings.model_validate(tree)
    except ValidationError as exc:
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"])
            errors.setdefault(key, f"{err['msg']}.")
        return None, errors
    return (None, errors) if errors else (settings, {})


def number_fields() -> list[NumberField]:
    """Every numeric field of FlagSettings with its default, rule fields first."""
    rules, top = form_sections(FlagSettings())
    return [f for section in rules for f in section.fields] + top
