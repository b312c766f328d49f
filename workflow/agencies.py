"""The agency directory: who exists, from when to when, and who takes over their work.

Agencies carry effective dates. When one ceases (as the district tier did on 1 July 2025), its
``successor`` takes over its open dossiers; :meth:`AgencyDirectory.successor_on` follows that
chain to the agency in force on a given day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from enum import StrEnum

from pydantic import Field, model_validator

from workflow.definition import Frozen, Name
from workflow.errors import DefinitionError, Problem, UnknownAgency


class Level(StrEnum):
    """Tier of government the agency belongs to."""

    NATIONAL = "national"
    CITY = "city"
    DISTRICT = "district"
    WARD = "ward"


class Agency(Frozen):
    """One agency (cơ quan, đơn vị) that handles steps of procedures."""

    code: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z.]*$", max_length=32)
    name: Name
    level: Level
    kind: str = Field(min_length=1, description="e.g. people's committee, police, tax")
    parent: str | None = None
    effective_from: dt.date
    effective_to: dt.date | None = Field(default=None, description="last day in force")
    successor: str | None = None

    @model_validator(mode="after")
    def _dates(self) -> Agency:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        if self.successor is not None and self.effective_to is None:
            raise ValueError("a successor is named but effective_to is not set")
        return self

    def in_force(self, day: dt.date) -> bool:
        """True when the agency exists on ``day``."""
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


class AgencyDirectory:
    """A validated set of agencies, looked up by code and by date."""

    def __init__(self, agencies: Iterable[Agency]) -> None:
        self._by_code: dict[str, Agency] = {}
        problems: list[Problem] = []
        for index, agency in enumerate(agencies):
            if agency.code in self._by_code:
                problems.append(
                    Problem(f"agencies[{index}].code", f"duplicate agency code '{agency.code}'")
                )
                continue
            self._by_code[agency.code] = agency
        problems.extend(self._check_links())
        if problems:
            raise DefinitionError(problems, "agency directory")

    def _check_links(self) -> list[Problem]:
        problems = []
        for agency in self._by_code.values():
            for field in ("parent", "successor"):
                target = getattr(agency, field)
                if target is not None and target not in self._by_code:
                    problems.append(
                        Problem(f"{agency.code}.{field}", f"unknown agency code '{target}'")
                    )
            if agency.successor in self._by_code and agency.effective_to is not None:
                heir = self._by_code[agency.successor]
                handover = agency.effective_to + dt.timedelta(days=1)
                if not heir.in_force(handover):
                    problems.append(
                        Problem(
                            f"{agency.code}.successor",
                            f"successor '{heir.code}' is not in force on {handover}, "
                            "the day it must take over",
                        )
                    )
        return problems

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[Agency]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def get(self, code: str) -> Agency:
        """The agency with ``code``; raises :class:`UnknownAgency` if there is none."""
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownAgency(
                f"unknown agency code '{code}'; see `lienthong agencies list` for the directory"
            ) from None

    def on(self, day: dt.date) -> list[Agency]:
        """The agencies in force on ``day``, ordered by code."""
        return sorted((a for a in self._by_code.values() if a.in_force(day)), key=lambda a: a.code)

    def successor_on(self, code: str, day: dt.date) -> Agency:
        """The agency that holds ``code``'s work on ``day``: itself, or its heir down the chain."""
        agency = self.get(code)
        seen = {agency.code}
        while not agency.in_force(day):
            if day < agency.effective_from or agency.successor is None:
                raise UnknownAgency(
                    f"agency '{code}' is not in force on {day} and no successor covers that day"
                )
            agency = self.get(agency.successor)
            if agency.code in seen:
                raise UnknownAgency(f"agency '{code}': successor chain loops at '{agency.code}'")
            seen.add(agency.code)
        return agency

    def predecessors(self, code: str) -> list[str]:
        """The agencies whose work passed, directly or down a chain, to ``code`` once they
        were replaced, ordered by code."""
        found = []
        for other in self._by_code.values():
            if other.code == code or other.effective_to is None or other.successor is None:
                continue
            try:
                heir = self.successor_on(other.code, other.effective_to + dt.timedelta(days=1))
            except UnknownAgency:
                continue
            if heir.code == code:
                found.append(other.code)
        return sorted(found)
