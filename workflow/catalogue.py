"""The procedure catalogue: every checked procedure version and its shared machine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from workflow.agencies import AgencyDirectory
from workflow.checks import check_definition
from workflow.definition import ProcedureDefinition
from workflow.errors import DefinitionError, Problem, UnknownProcedure
from workflow.machine import ProcedureMachine
from workflow.registry import DEFAULT_REGISTRY, Registry


class Catalogue:
    """Procedure versions by code, each compiled once into a :class:`ProcedureMachine`.

    Construction checks every definition against the agency directory and the registry, and
    rejects duplicate ``(code, version)`` pairs; on any problem it raises
    :class:`DefinitionError` and no catalogue exists: nothing loads half.
    """

    def __init__(
        self,
        definitions: Iterable[ProcedureDefinition],
        agencies: AgencyDirectory,
        registry: Registry = DEFAULT_REGISTRY,
    ) -> None:
        self.agencies = agencies
        self.registry = registry
        found: dict[tuple[str, str], ProcedureDefinition] = {}
        problems: list[Problem] = []
        for definition in definitions:
            where = f"{definition.code}@{definition.version}"
            if definition.key in found:
                problems.append(Problem(where, f"duplicate code and version {definition.key}"))
                continue
            found[definition.key] = definition
            problems += [
                Problem(f"{where}.{p.field}", p.reason)
                for p in check_definition(definition, agencies, registry)
            ]
        if problems:
            raise DefinitionError(problems, "procedure catalogue")
        self._versions: dict[str, list[ProcedureDefinition]] = {}
        for definition in sorted(found.values(), key=lambda d: d.effective_from):
            self._versions.setdefault(definition.code, []).append(definition)
        self._machines = {key: ProcedureMachine(d, registry) for key, d in found.items()}

    def __len__(self) -> int:
        return len(self._machines)

    def codes(self) -> list[str]:
        """Procedure codes, sorted."""
        return sorted(self._versions)

    def versions(self, code: str) -> list[ProcedureDefinition]:
        """Every version of ``code``, oldest first."""
        try:
            return list(self._versions[code])
        except KeyError:
            raise UnknownProcedure(
                f"unknown procedure code '{code}'; see `lienthong procedures list`"
            ) from None

    def get(
        self, code: str, *, version: str | None = None, on: dt.date | None = None
    ) -> ProcedureDefinition:
        """The version of ``code`` named by ``version``, else the one in force ``on`` a day.

        With neither, the newest version. A dossier is tied to the version in force on the day
        it was received, so callers pass ``on=received_at.date()``.
        """
        versions = self.versions(code)
        if version is not None:
            for definition in versions:
                if definition.version == version:
                    return definition
            known = ", ".join(d.version for d in versions)
            raise UnknownProcedure(
                f"procedure '{code}' has no version '{version}'; known versions: {known}"
            )
        if on is None:
            return versions[-1]
        in_force = [d for d in versions if d.effective_from <= on]
        if not in_force:
            raise UnknownProcedure(
                f"procedure '{code}' is not in force on {on}; its first version starts "
                f"{versions[0].effective_from}"
            )
        return in_force[-1]

    def current(self, on: dt.date | None = None) -> list[ProcedureDefinition]:
        """One definition per code: the newest, or the one in force ``on`` a day."""
        result = []
        for code in self.codes():
            try:
                result.append(self.get(code, on=on))
            except UnknownProcedure:
                continue
        return result

    def machine(self, code: str, version: str) -> ProcedureMachine:
        """The shared machine of one procedure version."""
        try:
            return self._machines[(code, version)]
        except KeyError:
            self.get(code, version=version)  # raises the precise error
            raise
