"""Load the working calendar's settings and overrides from ``procedures/calendar.yaml``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from procedures.loader import HERE, read_yaml, validate_model
from workflow.calendar import DEFAULT_CUTOFF, Override, OverrideKind, WorkingCalendar
from workflow.errors import CalendarError, DefinitionError, Problem

DEFAULT_CALENDAR = HERE / "calendar.yaml"


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    day: dt.date = Field(alias="date")
    kind: OverrideKind
    reason: str = ""


class _CalendarFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "Asia/Ho_Chi_Minh"
    working_hours: list[Annotated[list[dt.time], Field(min_length=2, max_length=2)]] = Field(
        default_factory=lambda: [[dt.time(8), dt.time(12)], [dt.time(13), dt.time(17)]],
        min_length=1,
    )
    cutoff: dt.time = DEFAULT_CUTOFF
    overrides: list[_Entry] = Field(default_factory=list)


def load_calendar(path: Path = DEFAULT_CALENDAR) -> WorkingCalendar:
    """The working calendar described by ``path``; :class:`DefinitionError` on any problem."""
    parsed: _CalendarFile | None = None
    data, problems = read_yaml(path)
    if not problems:
        parsed, problems = validate_model(_CalendarFile, data if data is not None else {}, path)
    if problems:
        raise DefinitionError(problems, "calendar file")
    assert parsed is not None
    return _build(parsed, path)


def _build(parsed: _CalendarFile, path: Path) -> WorkingCalendar:
    seen: dict[dt.date, int] = {}
    problems: list[Problem] = []
    for index, entry in enumerate(parsed.overrides):
        if entry.day in seen:
            problems.append(
                Problem(
                    f"overrides[{index}].date",
                    f"{entry.day} is already given in overrides[{seen[entry.day]}]",
                    str(path),
                )
            )
        seen[entry.day] = index
    try:
        zone = ZoneInfo(parsed.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(Problem("timezone", f"unknown time zone '{parsed.timezone}'", str(path)))
    if problems:
        raise DefinitionError(problems, "calendar file")
    try:
        return WorkingCalendar(
            overrides=[Override(e.day, e.kind, e.reason) for e in parsed.overrides],
            hours=[(a, b) for a, b in parsed.working_hours],
            tz=zone,
            cutoff=parsed.cutoff,
        )
    except CalendarError as error:
        raise DefinitionError(
            [Problem("working_hours", str(error), str(path))], "calendar file"
        ) from error
