"""Errors of the engine core.

Every error a caller can meet names what was wrong and what to do about it. The tree::

    WorkflowError
    ├── DefinitionError          a procedure or agency definition is not valid (lists problems)
    ├── UnknownProcedure         no procedure with that code (or version, or in force on a date)
    ├── UnknownAgency            no agency with that code in the directory
    ├── InvalidDossier           a dossier cannot be opened as asked (channel, procedure, ...)
    │   └── IdempotencyConflict  an idempotency key reused for a different submission
    ├── CalendarError            time cannot be counted as asked
    │   ├── NaiveDatetime        an instant without a timezone
    │   ├── InvalidLimit         a limit that is negative or not a whole number of half days
    │   ├── InvalidPause         a pause that ends before it starts or overlaps another
    │   └── DueResetRefused      the return date was already reset once
    ├── InvalidLog               an event log cannot be read (names the line or field)
    ├── MetricsError             metrics cannot be computed as asked (a period, an option)
    ├── StoreError               the store could not do what was asked; nothing was written
    │   ├── DossierNotFound      no dossier with that code
    │   ├── ConcurrentUpdate     another writer changed the dossier first: reload and retry
    │   │   └── StaleCopy        a kept copy of the dossier was not the latest: run again
    │   ├── CatalogueMismatch    a stored procedure version differs from its file
    │   └── StoreUnavailable     the database cannot be reached or refused the connection
    └── TransitionError          a trigger could not be applied; the dossier is left unchanged
        ├── TriggerNotAllowed    the trigger is not allowed in the dossier's current state
        ├── GuardRejected        every transition of the trigger was refused by a guard
        ├── InvalidPayload       the payload of the trigger is missing or malformed
        └── ActionFailed         an action raised an unexpected error
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class WorkflowError(Exception):
    """Root of every error raised by the engine core."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a definition: where (``file``, ``field``) and why."""

    field: str
    reason: str
    file: str = ""

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.field}: {self.reason}"


class DefinitionError(WorkflowError):
    """A procedure or agency definition is invalid; ``problems`` lists every finding."""

    def __init__(self, problems: Sequence[Problem], what: str = "definition") -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{len(self.problems)} problem(s) in the {what}; nothing was loaded. "
            f"Fix these and load again:\n{lines}"
        )


class UnknownProcedure(WorkflowError):
    """No procedure matches the code, version or date asked for."""


class UnknownAgency(WorkflowError):
    """No agency with that code exists in the directory."""


class InvalidDossier(WorkflowError):
    """A dossier cannot be opened with the values given."""


class IdempotencyConflict(InvalidDossier):
    """An idempotency key already made a dossier from a different request."""


class CalendarError(WorkflowError):
    """Working time cannot be counted with the values given."""


class NaiveDatetime(CalendarError):
    """An instant has no timezone; every instant the engine handles must be aware."""


class InvalidLimit(CalendarError):
    """A limit in working days is negative or not a multiple of 0.5."""


class InvalidPause(CalendarError):
    """A pause ends before it starts, or overlaps another pause."""


class DueResetRefused(CalendarError):
    """The return date of a dossier may be reset once only (form 04)."""


class InvalidLog(WorkflowError):
    """An event log cannot be imported: the message names the line or field and the fix."""


class MetricsError(WorkflowError):
    """Metrics cannot be computed as asked: the message names the option and the fix."""


class StoreError(WorkflowError):
    """The store could not do what was asked; the unit of work was rolled back."""


class DossierNotFound(StoreError):
    """No dossier with that code exists."""


class ConcurrentUpdate(StoreError):
    """Another writer changed the dossier since it was read. Reload it and try again."""


class StaleCopy(ConcurrentUpdate):
    """The work ran on a copy of a dossier that a store kept from an earlier unit of work
    (``get(code, latest=False)``), and another writer had saved the dossier since; nothing was
    written. Run the work again: the next read is of the stored dossier."""


class CatalogueMismatch(StoreError):
    """A procedure version in the store differs from the file of the same code and version."""


class StoreUnavailable(StoreError):
    """The database cannot be reached, or refused the connection."""


class TransitionError(WorkflowError):
    """A trigger could not be applied. The dossier is left exactly as it was."""

    def __init__(self, message: str, *, dossier: str, state: str, trigger: str) -> None:
        super().__init__(message)
        self.dossier = dossier
        self.state = state
        self.trigger = trigger


class TriggerNotAllowed(TransitionError):
    """The trigger is not allowed in the dossier's current state."""

    def __init__(self, *, dossier: str, state: str, trigger: str, allowed: Sequence[str]) -> None:
        self.allowed = tuple(allowed)
        choices = ", ".join(self.allowed) if self.allowed else "none (the dossier is closed)"
        super().__init__(
            f"dossier {dossier}: trigger '{trigger}' is not allowed in state '{state}'; "
            f"allowed now: {choices}",
            dossier=dossier,
            state=state,
            trigger=trigger,
        )


class GuardRejected(TransitionError):
    """Every transition of the trigger from the current state was refused by a guard."""

    def __init__(self, *, dossier: str, state: str, trigger: str, reasons: Sequence[str]) -> None:
        self.reasons = tuple(reasons)
        super().__init__(
            f"dossier {dossier}: trigger '{trigger}' refused in state '{state}': "
            + "; ".join(self.reasons),
            dossier=dossier,
            state=state,
            trigger=trigger,
        )


class InvalidPayload(TransitionError):
    """The trigger's payload lacks a field an action needs, or has it in the wrong form."""


class ActionFailed(TransitionError):
    """An action or guard raised an unexpected error; nothing was applied."""
