"""Ports: the small abstract classes through which the core reaches the outside world.

``adapters`` implements them (SQLAlchemy store, in-memory store, system clock, kombu bus); tests
subclass them with fakes.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Self

from workflow.dossier import Dossier
from workflow.messages import Outgoing


class Clock(abc.ABC):
    """Where the engine gets the current instant. Always timezone-aware."""

    @abc.abstractmethod
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware."""


class DossierRepository(abc.ABC):
    """Dossiers by code, with their full control sheet."""

    @abc.abstractmethod
    def add(self, dossier: Dossier) -> None:
        """Stage a new dossier; it is written when the unit of work commits."""

    @abc.abstractmethod
    def get(self, code: str, *, latest: bool = True) -> Dossier:
        """The dossier with ``code`` as last committed; raises ``DossierNotFound``.

        The unit of work tracks it: changes made to it are saved on commit, provided nobody
        saved it meanwhile (otherwise ``ConcurrentUpdate``).

        ``latest=False`` lets a store hand out a copy it kept from an earlier unit of work
        without first asking whether it is still the latest. The unit of work confirms it
        later: by the version check of its save, or, if the work raises instead, by reading
        the version then. A copy that was not the latest raises ``StaleCopy`` (nothing is
        written, whatever the work raised on it): run the work again.
        """


class Outbox(abc.ABC):
    """Messages to send, written in the same transaction as the change that caused them."""

    @abc.abstractmethod
    def add(self, message: Outgoing) -> None:
        """Stage a message; it is stored when the unit of work commits, and only then."""


class Submissions(abc.ABC):
    """Submissions taken under an idempotency key, so that a caller's retry never makes a
    second dossier. Keys are scoped per caller (the principal that submits)."""

    @abc.abstractmethod
    def find(self, caller: str, key: str) -> tuple[str, str] | None:
        """(fingerprint of the request, dossier code) of a committed submission, or None."""

    @abc.abstractmethod
    def add(self, caller: str, key: str, fingerprint: str, code: str) -> None:
        """Stage the key with the dossier it made; stored on commit, with the dossier. If
        another submission stored the same key first, the commit raises ``ConcurrentUpdate``
        and writes nothing."""


class UnitOfWork(abc.ABC):
    """One atomic piece of work against the store.

    Use it as a context manager: leaving the block without :meth:`commit` rolls back, so nothing
    is half-written. Codes allocated with :meth:`next_code` are part of the transaction: a
    rolled-back submission leaves no gap.
    """

    dossiers: DossierRepository
    outbox: Outbox
    submissions: Submissions

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def next_code(self, agency: str, day: dt.date) -> str:
        """The next dossier code ``{agency}-{yyMMdd}-{NNNN}``: no gap, no duplicate."""

    @abc.abstractmethod
    def commit(self) -> None:
        """Write every staged and changed dossier, with their new control-sheet rows."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Forget everything not committed."""


class Outcome(StrEnum):
    """What a message handler decided about one message."""

    DONE = "done"  # effect committed (or a duplicate): acknowledge
    DEAD = "dead"  # rejected for a reason: to the dead-letter queue, then acknowledge
    RETRY = "retry"  # failed for now: put back, delivered again later


@dataclass(frozen=True, slots=True)
class Handled:
    """A handler's decision, with the reason when the message is rejected."""

    outcome: Outcome
    reason: str = ""


Handler = Callable[[bytes], Handled]


class Bus(abc.ABC):
    """The agencies' queues: one inbound queue per agency, and one for its dead letters.

    Messages are serialised envelopes (bytes of canonical JSON). A consumer acknowledges a
    message only after its handler decided: ``DONE`` acks, ``DEAD`` moves it to the agency's
    dead-letter queue with the reason, then acks; ``RETRY`` puts it back.
    """

    @abc.abstractmethod
    def publish(self, raw: bytes, to_agency: str) -> None:
        """Send one message to an agency's queue, durably; return once the queue holds it."""

    def publish_many(self, messages: Sequence[tuple[bytes, str]]) -> list[bool]:
        """Send messages ``(raw, to_agency)``; for each, whether its queue now holds it. A
        transport that confirms publishes waits once for the whole batch; by default, one
        :meth:`publish` after another, a failed one reported ``False``."""
        sent = []
        for raw, agency in messages:
            try:
                self.publish(raw, agency)
            except Exception:
                sent.append(False)
            else:
                sent.append(True)
        return sent

    @abc.abstractmethod
    def dead_letter(self, raw: bytes, agency: str, reason: str) -> None:
        """Put a message in the agency's dead-letter queue with the reason it was rejected."""

    @abc.abstractmethod
    def consume(
        self,
        agencies: str | tuple[str, ...],
        handler: Callable[[str, bytes], Handled],
        *,
        limit: int | None = None,
        idle: float = 1.0,
    ) -> int:
        """Hand the messages of one or more agencies' queues to ``handler(queue agency, raw)``
        until ``limit`` were handled or none came for ``idle`` seconds; how many were handled."""

    @abc.abstractmethod
    def consume_batches(
        self,
        agencies: str | tuple[str, ...],
        handler: Callable[[list[tuple[str, bytes]]], list[Handled]],
        *,
        limit: int | None = None,
        idle: float = 1.0,
        batch: int = 50,
        linger: float = 0.005,
    ) -> int:
        """Like :meth:`consume`, handing up to ``batch`` messages at once to ``handler``, which
        returns one decision per message; each is settled only after the handler returns."""

    @abc.abstractmethod
    def dead_letters(self, agency: str, limit: int = 100) -> list[tuple[bytes, str]]:
        """Take up to ``limit`` dead letters of the agency: (message, reason)."""


def dossier_code(agency: str, day: dt.date, sequence: int) -> str:
    """``{agency code}-{yyMMdd}-{4-digit daily sequence}``, e.g. ``000.00.01.H26-251125-0001``."""
    return f"{agency}-{day:%y%m%d}-{sequence:04d}"
