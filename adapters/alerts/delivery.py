"""Delivering alerts: a signed JSON POST per pending row of ``sla_alerts``, retried with
exponential backoff, given up (``failed_at``, still visible) after the hook's ``max_attempts``.

The body is canonical JSON (sorted keys, no spaces, UTF-8) of the row's payload and its
``id``; the headers::

    Content-Type: application/json
    X-Lienthong-Alert-Id: 42
    X-Lienthong-Timestamp: <Unix seconds of this attempt>
    X-Lienthong-Signature: sha256=<hex HMAC-SHA256, keyed by the hook's secret, of the
                           timestamp, a dot, and the body>

The timestamp is signed with the body, so a receiver that refuses old timestamps (five minutes,
say) cannot be sent a recorded alert again later.

A row is claimed before it is sent (its next attempt moved past the request's time), so two
schedulers over one store do not both send it, and marked delivered in its own transaction
right after the receiver's 2xx. The one window for a repeat is a crash between that 2xx and
our commit: receivers deduplicate by ``X-Lienthong-Alert-Id``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import bindparam, select, text, update

from adapters.alerts.config import Hook
from adapters.bus.relay import Backoff
from adapters.store import tables as t
from adapters.store.database import read_connection, translated
from adapters.store.store import SqlStore
from workflow.messages import canonical  # the bytes sent and signed

log = logging.getLogger(__name__)

_A = t.sla_alerts.c
PENDING = text("delivered_at IS NULL AND failed_at IS NULL")  # the partial index's predicate
_LEASE = dt.timedelta(seconds=60)  # beyond the request's own timeout
_ERROR_CHARS = 500


ALERT_BACKOFF = Backoff(first=dt.timedelta(seconds=30), longest=dt.timedelta(hours=1))
"""The relay's retry rule with the alerts' own pace: 30 s, doubling, at most an hour apart."""


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one pass did: alerts delivered, attempts that failed and will be retried, alerts
    given up after their last attempt."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def signature(timestamp: str, body: bytes, secret: bytes) -> str:
    """The ``X-Lienthong-Signature`` header of an attempt sent at ``timestamp`` (the
    ``X-Lienthong-Timestamp`` header): ``sha256=`` and the hex HMAC of
    ``timestamp + "." + body``."""
    signed = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()


def request_of(
    alert_id: int, payload: Mapping[str, Any], hook: Hook, now: dt.datetime
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt to deliver alert ``alert_id``."""
    body = canonical({**payload, "id": alert_id})
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "lienthong-alerts/1",
        "X-Lienthong-Alert-Id": str(alert_id),
        "X-Lienthong-Timestamp": timestamp,
        "X-Lienthong-Signature": signature(timestamp, body, hook.secret),
    }
    return body, headers


def _due(store: SqlStore, hooks: Sequence[Hook], now: dt.datetime, limit: int) -> list[Any]:
    statement = (
        select(_A.id, _A.hook, _A.payload, _A.attempts, _A.next_attempt_at)
        .where(
            PENDING,
            _A.next_attempt_at <= bindparam("now", now, type_=t.Instant()),
            _A.hook.in_([h.name for h in hooks]),
        )
        .order_by(_A.next_attempt_at, _A.id)
        .limit(limit)
    )
    with translated(store.url), read_connection(store.engine) as connection:
        return list(connection.execute(statement))


def _claim(store: SqlStore, row: Any, until: dt.datetime) -> bool:
    """Take the row for this attempt (its next attempt moved to ``until``); False if another
    scheduler took it, or delivered it, first."""
    statement = (
        update(t.sla_alerts)
        .where(_A.id == row.id, _A.next_attempt_at == row.next_attempt_at, PENDING)
        .values(next_attempt_at=until)
    )
    with translated(store.url), store.engine.begin() as connection:
        return connection.execute(statement).rowcount == 1


def _outcome(
    row: Any, hook: Hook, now: dt.datetime, error: str | None, backoff: Backoff
) -> dict[str, Any]:
    attempts = int(row.attempts) + 1
    if error is None:
        return {"attempts": attempts, "delivered_at": now, "next_attempt_at": None}
    last = attempts >= hook.max_attempts
    return {
        "attempts": attempts,
        "last_error": error[:_ERROR_CHARS],
        "next_attempt_at": None if last else now + backoff.after(attempts),
        "failed_at": now if last else None,
    }


def _send(client: httpx.Client, row: Any, hook: Hook, now: dt.datetime) -> tuple[str | None, bool]:
    """POST the alert: (None, False) on a 2xx; else what went wrong, and whether the receiver
    could not be reached at all."""
    body, headers = request_of(int(row.id), dict(row.payload), hook, now)
    try:
        response = client.post(hook.url, content=body, headers=headers, timeout=hook.timeout)
    except httpx.HTTPError as error:
        name = type(error).__name__
        return (f"{name}: {error}" if str(error) else name), True
    if response.is_success:
        return None, False
    detail = response.text.strip()[:200]
    return f"HTTP {response.status_code}" + (f": {detail}" if detail else ""), False


def deliver(
    store: SqlStore,
    hooks: Sequence[Hook],
    now: dt.datetime,
    *,
    client: httpx.Client | None = None,
    backoff: Backoff = ALERT_BACKOFF,
    limit: int = 100,
    stop: threading.Event | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` pending alerts of ``hooks`` whose next attempt has come, oldest
    first; record each outcome in its own transaction right after its request. Alerts of hooks
    not in ``hooks`` are left alone. A hook that cannot be reached is not tried again in this
    pass (its other alerts wait for the next one, no attempt counted); ``stop`` ends the pass
    between two requests."""
    by_name = {hook.name: hook for hook in hooks}
    if not by_name:
        return DeliveryReport()
    delivered = retrying = failed = 0
    unreachable: set[str] = set()
    own = client is None
    http = client if client is not None else httpx.Client(follow_redirects=False)
    try:
        for row in _due(store, hooks, now, limit):
            if stop is not None and stop.is_set():
                break
            hook = by_name[row.hook]
            if hook.name in unreachable or not _claim(store, row, now + _LEASE + _timeout(hook)):
                continue
            error, down = _send(http, row, hook, now)
            if down:
                unreachable.add(hook.name)
            values = _outcome(row, hook, now, error, backoff)
            with translated(store.url), store.engine.begin() as connection:
                connection.execute(update(t.sla_alerts).where(_A.id == row.id).values(**values))
            if error is None:
                delivered += 1
            elif values["failed_at"] is not None:
                failed += 1
                log.warning("alert %s to %s given up: %s", row.id, hook.name, error)
            else:
                retrying += 1
                log.info("alert %s to %s failed, retried later: %s", row.id, hook.name, error)
    finally:
        if own:
            http.close()
    return DeliveryReport(delivered, retrying, failed)


def _timeout(hook: Hook) -> dt.timedelta:
    return dt.timedelta(seconds=hook.timeout)
