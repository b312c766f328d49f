"""API principals: who calls the HTTP API, for which agency, in which role, with which token.

A token is ``lt_<id>_<secret>`` with 256 random bits of secret. Only its SHA-256 is stored (a
fast hash is enough for a random secret of that size; a slow one would only slow every request);
the token itself is shown once, when it is created. Revoked principals no longer authenticate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine, select, update

from adapters.store import tables as t
from adapters.store.database import read_connection, translated
from workflow.errors import StoreError


class Role(StrEnum):
    """What a principal may do (the authorization matrix is in the README)."""

    OFFICER = "officer"  # receives and acts on dossiers at its own agency
    SUPERVISOR = "supervisor"  # reads everything
    PLANNER = "planner"  # reads everything
    ADMIN = "admin"  # everything


class UnknownPrincipal(StoreError):
    """No principal with that id."""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    id: str
    name: str
    agency: str
    role: Role


def token_hash(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_principal(
    engine: Engine, *, name: str, agency: str, role: Role | str, now: dt.datetime
) -> tuple[Principal, str]:
    """A new principal and its token (shown now, never again)."""
    principal = Principal(secrets.token_hex(6), name, agency, Role(role))
    token = f"lt_{principal.id}_{secrets.token_urlsafe(32)}"
    with translated(str(engine.url)), engine.begin() as connection:
        connection.execute(
            t.principals.insert().values(
                id=principal.id,
                name=name,
                agency=agency,
                role=principal.role.value,
                token_hash=token_hash(token),
                created_at=now,
            )
        )
    return principal, token


def revoke(engine: Engine, principal_id: str, now: dt.datetime) -> None:
    """Stop a principal's token from authenticating."""
    p = t.principals.c
    with translated(str(engine.url)), engine.begin() as connection:
        done = connection.execute(
            update(t.principals)
            .where(p.id == principal_id, p.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    if done.rowcount != 1:
        raise UnknownPrincipal(
            f"no active principal '{principal_id}'; `lienthong tokens list` shows them"
        )


def list_principals(engine: Engine) -> list[tuple[Principal, dt.datetime, dt.datetime | None]]:
    """Every principal, with when it was created and revoked."""
    p = t.principals.c
    with translated(str(engine.url)), read_connection(engine) as connection:
        rows = connection.execute(
            select(p.id, p.name, p.agency, p.role, p.created_at, p.revoked_at).order_by(
                p.created_at
            )
        ).all()
    return [
        (Principal(r.id, r.name, r.agency, Role(r.role)), r.created_at, r.revoked_at) for r in rows
    ]


class Authenticator:
    """Finds the principal of a bearer token. A found principal is remembered for ``ttl``
    seconds, so a revocation takes effect within that time."""

    def __init__(self, engine: Engine, ttl: float = 10.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._known: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> Principal | None:
        """The principal if it was found within ``ttl`` (no I/O); else None."""
        with self._lock:
            found = self._known.get(token_hash(token))
        if found is not None and found[0] > time.monotonic():
            return found[1]
        return None

    def __call__(self, token: str) -> Principal | None:
        if not token.startswith("lt_") or len(token) > 128:
            return None
        found = self.cached(token)
        if found is not None:
            return found
        digest = token_hash(token)
        principal = self._lookup(digest)
        if principal is not None:
            with self._lock:
                if len(self._known) > 10_000:
                    self._known.clear()
                self._known[digest] = (time.monotonic() + self.ttl, principal)
        return principal

    def _lookup(self, digest: str) -> Principal | None:
        p = t.principals.c
        with translated(str(self.engine.url)), read_connection(self.engine) as connection:
            row = connection.execute(
                select(p.id, p.name, p.agency, p.role, p.token_hash).where(
                    p.token_hash == digest, p.revoked_at.is_(None)
                )
            ).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        return Principal(row.id, row.name, row.agency, Role(row.role))
