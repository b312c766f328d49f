"""The SQL store as one object: engine, keys, units of work, schema, catalogue sync, audit."""

from __future__ import annotations

import datetime as dt
import weakref

from sqlalchemy import Engine, func, select

from adapters.store import tables as t
from adapters.store.audit import AuditReport, verify
from adapters.store.cache import DossierCache
from adapters.store.catalogue_sync import SyncReport, sync_catalogue
from adapters.store.checkpoint import Checkpointer
from adapters.store.database import (
    make_engine,
    read_connection,
    safe_url,
    translated,
    upgrade,
)
from adapters.store.pii import Keyring
from adapters.store.prepared import Spare
from adapters.store.uow import SqlUnitOfWork
from workflow.catalogue import Catalogue


class SqlStore:
    """Everything the application needs from one database."""

    def __init__(
        self, url: str, keyring: Keyring, engine: Engine | None = None, cache_size: int = 4096
    ) -> None:
        """``cache_size`` dossiers are kept between units of work (0: none); see ``cache``."""
        self.url = url
        self.keyring = keyring
        self.engine = engine if engine is not None else make_engine(url)
        self.cache = DossierCache(cache_size)
        self.spare = Spare(self.engine)  # the units of work's connection between them
        # an SQLite file's checkpoints, off the writers' commits (stopped by close, or when the
        # store is collected without it)
        self.checkpointer = Checkpointer.of(self.engine)
        self._stop_checkpoints = None
        if self.checkpointer is not None:
            self.checkpointer.start()
            self._stop_checkpoints = weakref.finalize(self, self.checkpointer.close)

    def __repr__(self) -> str:
        return f"SqlStore({safe_url(self.url)})"

    def unit_of_work(self) -> SqlUnitOfWork:
        """A new unit of work (use it in a ``with`` block)."""
        return SqlUnitOfWork(self.engine, self.keyring, self.cache, spare=self.spare)

    def reading(self) -> SqlUnitOfWork:
        """A read-only unit of work: no transaction, no lock (see :class:`SqlUnitOfWork`)."""
        return SqlUnitOfWork(
            self.engine, self.keyring, self.cache, read_only=True, spare=self.spare
        )

    def upgrade(self) -> None:
        """Apply every pending migration."""
        upgrade(self.engine)

    def sync(self, catalogue: Catalogue, now: dt.datetime) -> SyncReport:
        """Store the agency directory and freeze new procedure versions."""
        return sync_catalogue(self.engine, catalogue, now)

    def verify(self) -> AuditReport:
        """Check the control sheet's hash chain."""
        return verify(self.engine)

    def count_dossiers(self) -> int:
        """How many dossiers the store holds (what is committed: it waits for no writer)."""
        with translated(self.url), read_connection(self.engine) as connection:
            return int(
                connection.execute(select(func.count()).select_from(t.dossiers)).scalar_one()
            )

    def close(self) -> None:
        """Stop the checkpoints' thread and release every connection."""
        if self._stop_checkpoints is not None:
            self._stop_checkpoints()
        self.cache.clear()
        self.spare.close()
        self.engine.dispose()
