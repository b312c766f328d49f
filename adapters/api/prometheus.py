"""Prometheus metrics at ``GET /metrics`` (prometheus-client), read from the store at each
scrape, so that every server process answers the same figures:

- ``lienthong_open_dossiers{agency, procedure, standing}``: open dossiers by where their clock
  stands (on_track, at_risk, overdue, paused, not_started), from the SLA board;
- ``lienthong_open_steps{agency, standing}``: their current steps likewise;
- ``lienthong_handover_latency_seconds``: from a hand-over's commit to its receipt, over the
  hand-overs acknowledged in the last day (a summary: quantiles 0.5, 0.9, 0.99, count, sum);
- ``lienthong_outbox_messages{agency, state}``: the queue depth of each sending agency:
  messages waiting to be published (``pending``), published and awaiting their receipt
  (``unacknowledged``), and given up (``undeliverable``).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select

from adapters.bootstrap import App
from adapters.store import tables as t
from adapters.store.database import read_connection, translated
from adapters.store.sla_board import sla_board

STANDINGS = ("on_track", "at_risk", "overdue", "paused", "not_started")


class LienthongCollector(Collector):
    """Collects the engine's figures from the store when scraped."""

    def __init__(self, app: App) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        app = self.app
        now = app.engine.clock.now()
        board = sla_board(
            app.store.engine, app.settings.url, now, app.catalogue, app.calendar,
            app.engine.policy, limit=0,
        )  # fmt: skip
        dossiers = GaugeMetricFamily(
            "lienthong_open_dossiers",
            "Open dossiers by agency, procedure version and SLA standing",
            labels=["agency", "procedure", "standing"],
        )
        for cell in board.cells:
            for standing in STANDINGS:
                value = getattr(cell.dossiers, standing)
                dossiers.add_metric([cell.agency, cell.procedure, standing], value)
        yield dossiers
        steps = GaugeMetricFamily(
            "lienthong_open_steps",
            "Current steps of open dossiers by agency and SLA standing",
            labels=["agency", "standing"],
        )
        for group in board.by_agency:
            for standing in STANDINGS[:4]:
                steps.add_metric([group.key, standing], getattr(group.steps, standing))
        yield steps
        yield from self._outbox(now)

    def _outbox(self, now: dt.datetime) -> Iterator[Metric]:
        o = t.outbox.c
        state = case(
            (o.undeliverable_at.is_not(None), "undeliverable"),
            (o.published_at.is_(None), "pending"),
            else_="unacknowledged",
        )
        depth_query = (
            select(o.from_agency, state.label("state"), func.count())
            .where(o.acknowledged_at.is_(None))
            .group_by(o.from_agency, state)
        )
        latency_query = select(o.created_at, o.acknowledged_at).where(
            o.acknowledged_at >= now - dt.timedelta(days=1)
        )
        engine = self.app.store.engine
        with translated(self.app.settings.url), read_connection(engine) as connection:
            depth = list(connection.execute(depth_query))
            latencies = [
                (done - made).total_seconds() for made, done in connection.execute(latency_query)
            ]
        queue = GaugeMetricFamily(
            "lienthong_outbox_messages",
            "Inter-agency messages not yet acknowledged, by sending agency and state",
            labels=["agency", "state"],
        )
        for agency, kind, count in depth:
            queue.add_metric([agency, kind], count)
        yield queue
        summary = SummaryMetricFamily(
            "lienthong_handover_latency_seconds",
            "From a hand-over's commit to its receipt, hand-overs acknowledged in the last day",
        )
        summary.add_metric([], len(latencies), sum(latencies))
        yield summary
        if len(latencies) >= 2:
            cuts = statistics.quantiles(latencies, n=100, method="inclusive")
            quantiles = GaugeMetricFamily(
                "lienthong_handover_latency_quantile_seconds",
                "Quantiles of the hand-over latency over the last day",
                labels=["quantile"],
            )
            for q in (50, 90, 99):
                quantiles.add_metric([f"0.{q}"], cuts[q - 1])
            yield quantiles


def metrics_text(app: App) -> bytes:
    """The exposition text of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LienthongCollector(app))
    return generate_latest(registry)
