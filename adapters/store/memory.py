"""An in-memory store with the same contract as the SQL one (for tests and simulation)."""

from __future__ import annotations

import copy
import datetime as dt
import threading
from typing import Self

from workflow.dossier import Dossier
from workflow.errors import ConcurrentUpdate, DossierNotFound
from workflow.messages import Outgoing
from workflow.ports import DossierRepository, Outbox, Submissions, UnitOfWork, dossier_code


class MemoryStore:
    """Committed dossiers and code sequences, shared by the units of work made from it."""

    def __init__(self) -> None:
        self.dossiers: dict[str, Dossier] = {}
        self.sequences: dict[tuple[str, dt.date], int] = {}
        self.outbox: list[Outgoing] = []
        self.submissions: dict[tuple[str, str], tuple[str, str]] = {}
        self.lock = threading.Lock()

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)


def _content(dossier: Dossier) -> tuple[object, ...]:
    return tuple(getattr(dossier, name) for name in Dossier.__slots__ if name != "version")


class MemoryRepository(DossierRepository):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.seen: dict[str, tuple[Dossier, int]] = {}
        self.read: dict[str, tuple[object, ...]] = {}

    def add(self, dossier: Dossier) -> None:
        self.seen[dossier.code] = (dossier, 0)

    def get(self, code: str, *, latest: bool = True) -> Dossier:  # every read is the latest
        if code in self.seen:
            return self.seen[code][0]
        with self._store.lock:
            stored = self._store.dossiers.get(code)
            if stored is None:
                raise DossierNotFound(f"no dossier with code '{code}'")
            dossier = copy.deepcopy(stored)
        self.seen[code] = (dossier, dossier.version)
        self.read[code] = copy.deepcopy(_content(dossier))
        return dossier


class MemoryOutbox(Outbox):
    def __init__(self) -> None:
        self.staged: list[Outgoing] = []

    def add(self, message: Outgoing) -> None:
        self.staged.append(message)


class MemorySubmissions(Submissions):
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.staged: dict[tuple[str, str], tuple[str, str]] = {}

    def find(self, caller: str, key: str) -> tuple[str, str] | None:
        with self.store.lock:
            return self.store.submissions.get((caller, key))

    def add(self, caller: str, key: str, fingerprint: str, code: str) -> None:
        self.staged[(caller, key)] = (fingerprint, code)


class MemoryUnitOfWork(UnitOfWork):
    """All-or-nothing commits with the same version check as the SQL store."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.dossiers: MemoryRepository = MemoryRepository(store)
        self.outbox: MemoryOutbox = MemoryOutbox()
        self.submissions: MemorySubmissions = MemorySubmissions(store)
        self._codes: dict[tuple[str, dt.date], int] = {}

    def __enter__(self) -> Self:
        self.dossiers = MemoryRepository(self.store)
        self.outbox = MemoryOutbox()
        self.submissions = MemorySubmissions(self.store)
        self._codes = {}
        return self

    def next_code(self, agency: str, day: dt.date) -> str:
        with self.store.lock:
            last = self._codes.get((agency, day), self.store.sequences.get((agency, day), 0))
        self._codes[(agency, day)] = last + 1
        return dossier_code(agency, day, last + 1)

    def commit(self) -> None:
        with self.store.lock:
            for code, (_, version) in self.dossiers.seen.items():
                stored = self.store.dossiers.get(code)
                if (stored.version if stored else 0) != version:
                    raise ConcurrentUpdate(
                        f"dossier {code} was changed by another writer since it was read "
                        f"(version {version}); nothing was written: reload it and try again"
                    )
            for key, last in self._codes.items():
                if self.store.sequences.get(key, 0) >= last:
                    raise ConcurrentUpdate("another submission took the same dossier code; retry")
            if self.submissions.staged.keys() & self.store.submissions.keys():
                raise ConcurrentUpdate("another submission stored the same idempotency key")
            for code, (dossier, version) in self.dossiers.seen.items():
                if code in self.dossiers.read and _content(dossier) == self.dossiers.read[code]:
                    continue  # read, not changed: nothing to write
                saved = copy.deepcopy(dossier)
                saved.version = version + 1
                self.store.dossiers[code] = saved
                dossier.version = version + 1
            self.store.sequences.update(self._codes)
            self.store.outbox.extend(self.outbox.staged)
            self.store.submissions.update(self.submissions.staged)
        self.outbox.staged.clear()
        self.submissions.staged.clear()
        self.dossiers.seen.clear()
        self.dossiers.read.clear()
        self._codes = {}

    def rollback(self) -> None:
        self.outbox.staged.clear()
        self.submissions.staged.clear()
        self.dossiers.seen.clear()
        self.dossiers.read.clear()
        self._codes = {}
