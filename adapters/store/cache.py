"""A bounded, version-checked cache of dossiers this process has read or saved.

A back office acts on the same dossier several times in a row. Reading its whole row and control
sheet each time is most of an action's cost, yet every save bumps the dossier's ``version``. So
the repository keeps what it last read or saved, with that version, and on the next read asks
the database for the version only: if it is unchanged, the row and control sheet are exactly
what was cached (every write goes through a unit of work, which bumps the version), and the
cached copy is used; otherwise the dossier is read in full.

An action (``services.act``) skips even that read (``get(code, latest=False)``): the save's
``UPDATE ... WHERE version = <cached version>`` is the check. It matches nothing if another
process saved the dossier since, and if the action fails instead, the unit of work reads the
version then; either way a stale copy raises ``StaleCopy`` before anything is written, and the
action runs again on the stored dossier. One process alone never meets a stale copy: every
save of its own updates the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from workflow.dossier import Dossier


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A dossier as stored at ``version``: never mutated; :meth:`fresh` hands out copies."""

    version: int
    dossier: Dossier
    row: dict[str, Any]  # the stored row without ``version``
    head: str
    applicant: tuple[str | None, str | None]

    @classmethod
    def of(
        cls,
        version: int,
        dossier: Dossier,
        row: dict[str, Any],
        head: str,
        applicant: tuple[str | None, str | None],
    ) -> Snapshot:
        """A snapshot holding its own copy of ``dossier`` (the caller may go on changing it)."""
        copy = dossier.copy()
        copy.version = version
        return cls(version, copy, row, head, applicant)

    def fresh(self) -> Dossier:
        """A new dossier object equal to the stored one; changing it leaves the snapshot alone."""
        return self.dossier.copy()


class DossierCache:
    """Least-recently-used snapshots by dossier code, safe to share between threads."""

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 0:
            raise ValueError(f"cache capacity must be 0 or more, not {capacity}")
        self.capacity = capacity
        self._entries: OrderedDict[str, Snapshot] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, code: str) -> Snapshot | None:
        with self._lock:
            snapshot = self._entries.get(code)
            if snapshot is not None:
                self._entries.move_to_end(code)
            return snapshot

    def count(self, *, hit: bool) -> None:
        """Record whether a version check let the cached snapshot be used."""
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def put(self, code: str, snapshot: Snapshot) -> None:
        if self.capacity == 0:
            return
        with self._lock:
            current = self._entries.get(code)
            if current is not None and current.version > snapshot.version:
                return  # another thread already cached a newer version
            self._entries[code] = snapshot
            self._entries.move_to_end(code)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def drop(self, code: str) -> None:
        with self._lock:
            self._entries.pop(code, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
