"""The alert scheduler: evaluate, then deliver, every ``interval`` seconds.

Everything it knows is in the store (``sla_alerts``), so a scheduler that stops and another
that starts (after a restart, or ``lienthong sla watch`` on another machine) carry on where it
left off: an alert recorded is never recorded again, one pending is sent by whichever runs next.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from adapters.alerts.config import Hook, load_alerts
from adapters.alerts.delivery import ALERT_BACKOFF, deliver
from adapters.alerts.outbox import evaluate
from adapters.bootstrap import App
from adapters.bus.relay import Backoff
from adapters.clock import SystemClock
from adapters.store.store import SqlStore
from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.ports import Clock
from workflow.sla import SlaPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlertReport:
    """One evaluation: when, alerts newly recorded, delivered, failed and to be retried, and
    given up after their last attempt."""

    at: dt.datetime
    new: int
    delivered: int
    retrying: int
    failed: int

    def line(self) -> str:
        return (
            f"{self.at:%Y-%m-%d %H:%M:%S %z}: {self.new} new, {self.delivered} delivered, "
            f"{self.retrying} to retry, {self.failed} failed"
        )


class Scheduler:
    """Evaluates and delivers the alerts of ``hooks`` over one store."""

    def __init__(
        self,
        store: SqlStore,
        hooks: Sequence[Hook],
        *,
        catalogue: Catalogue,
        calendar: WorkingCalendar,
        policy: SlaPolicy,
        clock: Clock | None = None,
        interval: float = 60.0,
        backoff: Backoff | None = None,
        batch: int = 100,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"the alert interval must be positive seconds, not {interval}")
        self.store = store
        self.hooks = tuple(hooks)
        self.catalogue = catalogue
        self.calendar = calendar
        self.policy = policy
        self.clock = clock if clock is not None else SystemClock()
        self.interval = interval
        self.backoff = backoff if backoff is not None else ALERT_BACKOFF
        self.batch = batch

    @classmethod
    def for_app(
        cls, app: App, hooks: Sequence[Hook], *, interval: float | None = None
    ) -> Scheduler:
        """A scheduler over the application's store, catalogue, calendar, policy and clock."""
        return cls(
            app.store,
            hooks,
            catalogue=app.catalogue,
            calendar=app.calendar,
            policy=app.engine.policy,
            clock=app.engine.clock,
            interval=interval if interval is not None else app.settings.alert_interval,
        )

    def run_once(
        self, now: dt.datetime | None = None, stop: threading.Event | None = None
    ) -> AlertReport:
        """Record the alerts due at ``now`` (default: the clock's now), then send what is
        pending; ``stop`` ends the sending early."""
        at = now if now is not None else self.clock.now()
        new = evaluate(
            self.store,
            self.hooks,
            at,
            catalogue=self.catalogue,
            calendar=self.calendar,
            policy=self.policy,
        )
        sent = deliver(
            self.store, self.hooks, at, backoff=self.backoff, limit=self.batch, stop=stop
        )
        return AlertReport(at, len(new), sent.delivered, sent.retrying, sent.failed)

    def run(
        self,
        stop: threading.Event,
        on_report: Callable[[AlertReport], None] | None = None,
    ) -> None:
        """Run once every ``interval`` seconds until ``stop`` is set; a failing run is logged
        and tried again at the next interval."""
        while not stop.is_set():
            try:
                report = self.run_once(stop=stop)
            except Exception:
                log.exception("alert run failed; trying again in %.0f s", self.interval)
            else:
                if on_report is not None:
                    on_report(report)
                elif report.new or report.delivered or report.retrying or report.failed:
                    log.info("alerts: %s", report.line())
            stop.wait(self.interval)


def open_alerts(app: App, *, interval: float | None = None) -> Scheduler | None:
    """The scheduler of the alerts file in the settings, or None when there is none (or it
    has no hook). Raises :class:`~adapters.alerts.config.AlertConfigError` for a bad file."""
    path = app.settings.alerts_file
    if path is None:
        return None
    hooks = load_alerts(path, app.catalogue.agencies)
    if not hooks:
        return None
    return Scheduler.for_app(app, hooks, interval=interval)
