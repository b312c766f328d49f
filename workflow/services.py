"""Handlers: each takes a frozen command, does one unit of work, and commits it or nothing.

Entry points (HTTP, CLI, queue consumers) only translate their input into these commands.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from workflow.calendar import require_aware
from workflow.definition import Channel
from workflow.dossier import Actor, ControlEvent, Dossier
from workflow.engine import Engine
from workflow.errors import ConcurrentUpdate, IdempotencyConflict, InvalidDossier, StaleCopy
from workflow.messages import messages_for
from workflow.ports import UnitOfWork

T = TypeVar("T")
_IDENTITY = re.compile(r"^(\d{9}|\d{12})$")


@dataclass(frozen=True, slots=True)
class Submit:
    """Receive a new dossier."""

    procedure: str
    channel: Channel | str
    applicant_ref: str
    actor: Actor
    applicant_id: str | None = field(default=None, repr=False)
    documents: tuple[str, ...] = ()
    received_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Act:
    """Fire a trigger on a dossier, optionally only if it is still at ``expected_version``."""

    code: str
    trigger: str
    actor: Actor
    note: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    expected_version: int | None = None
    at: dt.datetime | None = None


def submit(
    command: Submit,
    uow: UnitOfWork,
    engine: Engine,
    *,
    remember: tuple[str, str] | None = None,
) -> Dossier:
    """Allocate the next dossier code of the receiving agency and store the new dossier (and,
    with ``remember`` = (idempotency key, fingerprint), the key, in the same transaction)."""
    _check_identity(command)
    with uow:
        dossier = _open(command, uow, engine, remember)
        uow.commit()
    return dossier


def _check_identity(command: Submit) -> None:
    if command.applicant_id is not None and not _IDENTITY.match(command.applicant_id):
        raise InvalidDossier(
            "the applicant identity number must be 9 or 12 digits (CMND or CCCD); "
            "the value given was not"
        )


def _open(
    command: Submit, uow: UnitOfWork, engine: Engine, remember: tuple[str, str] | None
) -> Dossier:
    """The new dossier, staged in the open ``uow`` (with its idempotency key if any)."""
    received = require_aware(command.received_at or engine.clock.now(), "received_at")
    local_day = received.astimezone(engine.calendar.tz).date()
    definition = engine.catalogue.get(command.procedure, on=local_day)
    code = uow.next_code(definition.steps[0].agency, local_day)
    dossier = engine.open(
        code=code,
        procedure=definition.code,
        version=definition.version,
        channel=command.channel,
        applicant_ref=command.applicant_ref,
        actor=command.actor,
        documents=command.documents,
        received_at=received,
    )
    dossier.applicant_id = command.applicant_id
    uow.dossiers.add(dossier)
    if remember is not None:
        uow.submissions.add(command.actor.principal, *remember, code)
    return dossier


def submit_once(
    command: Submit, key: str, fingerprint: str, uow: UnitOfWork, engine: Engine
) -> tuple[Dossier, bool]:
    """Submit under an idempotency ``key`` of the caller: the dossier, and whether it was made
    now. A retry with the same key and the same request (``fingerprint``) gets the dossier the
    first one made; with another request it raises :class:`IdempotencyConflict`. Run it in
    :func:`retrying`: a concurrent retry that loses the race finds the winner's dossier."""
    _check_identity(command)
    caller = command.actor.principal
    with uow:  # one transaction: look the key up, and if it is new, submit
        known = uow.submissions.find(caller, key)
        if known is not None:
            if known[0] != fingerprint:
                raise IdempotencyConflict(
                    f"idempotency key '{key}' was already used for a different submission "
                    f"(dossier {known[1]}); use a new key for a new dossier"
                )
            return uow.dossiers.get(known[1]), False
        dossier = _open(command, uow, engine, (key, fingerprint))
        uow.commit()
    return dossier, True


def act(
    command: Act,
    uow: UnitOfWork,
    engine: Engine,
    *,
    check: Callable[[Dossier], None] | None = None,
) -> tuple[Dossier, ControlEvent]:
    """Load the dossier, fire the trigger, save the dossier and its new control-sheet row.

    ``check``, if given, sees the loaded dossier first and may refuse by raising (an entry
    point's rule of who may act on it): nothing is then written.

    The dossier may be a copy the store kept from an earlier unit of work, not yet confirmed
    as the latest (a read less per action); if it was not, the store says so (``StaleCopy``)
    before anything is written or refused, and the action runs once more on the stored one."""
    try:
        return _act(command, uow, engine, check, latest=command.expected_version is not None)
    except StaleCopy:
        return _act(command, uow, engine, check, latest=True)


def _act(
    command: Act,
    uow: UnitOfWork,
    engine: Engine,
    check: Callable[[Dossier], None] | None,
    *,
    latest: bool,
) -> tuple[Dossier, ControlEvent]:
    with uow:
        dossier = uow.dossiers.get(command.code, latest=latest)
        if check is not None:
            check(dossier)
        if command.expected_version is not None and dossier.version != command.expected_version:
            raise ConcurrentUpdate(
                f"dossier {command.code} is at version {dossier.version}, not the expected "
                f"{command.expected_version}: reload it and decide again"
            )
        event = engine.fire(
            dossier,
            command.trigger,
            actor=command.actor,
            note=command.note,
            payload=command.payload,
            at=command.at,
        )
        for message in messages_for(dossier, event, _reception(engine, dossier)):
            uow.outbox.add(message)
        uow.commit()
    return dossier, event


def apologise(
    code: str,
    new_due: dt.datetime,
    reason: str,
    actor: Actor,
    uow: UnitOfWork,
    engine: Engine,
    *,
    check: Callable[[Dossier], None] | None = None,
) -> Dossier:
    """Issue the apology (form 04): reset the dossier's return date to ``new_due``, once.
    ``check`` may refuse first (who may do it); the dossier is unchanged on any error."""
    with uow:
        dossier = uow.dossiers.get(code)
        if check is not None:
            check(dossier)
        engine.apologise(dossier, new_due=new_due, actor=actor, note=reason)
        uow.commit()
    return dossier


def transfer(code: str, actor: Actor, uow: UnitOfWork, engine: Engine) -> ControlEvent | None:
    """Hand one open dossier of a replaced agency to its successor, with a hand-over message
    in the outbox; ``None`` (and nothing written) if it needs no transfer."""
    with uow:
        dossier = uow.dossiers.get(code)
        event = engine.transfer(dossier, actor=actor)
        if event is None:
            return None
        for message in messages_for(dossier, event, _reception(engine, dossier)):
            uow.outbox.add(message)
        uow.commit()
    return event


def _reception(engine: Engine, dossier: Dossier) -> str:
    return engine.reception_of(dossier)  # the successor, once a reorganisation replaced it


def retrying(work: Callable[[], T], attempts: int = 5) -> T:
    """Run ``work`` (a whole unit of work) again when another writer got there first."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except ConcurrentUpdate:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")
