"""Inter-agency routing wired together: keys, allow-list, relay and receiver over one bus.

A :class:`Routing` serves a set of agencies (one, for ``lienthong worker --agency CODE``; all of
them, in embedded mode). Each :meth:`Routing.step` publishes those agencies' due outbox
messages, then handles what waits on their queues (and on the queues of agencies they replaced).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from adapters.bus.keys import ensure_keys, load_public_keys, load_signers
from adapters.bus.kombu_bus import KombuBus
from adapters.bus.receiver import Receiver
from adapters.bus.relay import Backoff, Relay, RelayReport
from adapters.bus.signing import KeyRegistry, routes_of, with_successors
from adapters.store.store import SqlStore
from workflow.engine import Engine

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StepReport:
    """What one step of a worker did."""

    relayed: RelayReport
    handled: int


class Routing:
    """The relay and receiver of ``agencies`` (all agencies of the directory if ``None``)."""

    def __init__(
        self,
        store: SqlStore,
        engine: Engine,
        bus: KombuBus,
        keys_dir: Path,
        agencies: list[str] | None = None,
        *,
        create_keys: bool = False,
        max_attempts: int = 8,
        backoff: Backoff | None = None,
    ) -> None:
        directory = engine.catalogue.agencies
        for code in agencies or ():
            directory.get(code)  # UnknownAgency names it
        every = [agency.code for agency in directory]
        if create_keys:
            ensure_keys(keys_dir, every)
        self.agencies = list(agencies) if agencies is not None else every
        self.store = store
        self.engine = engine
        self.bus = bus
        # a successor takes over its predecessors' queues and signs what they left to send
        self.queues = tuple(dict.fromkeys(q for a in self.agencies for q in self.queues_of(a)))
        signers = load_signers(keys_dir, list(self.queues))
        catalogue = engine.catalogue
        definitions = [d for code in catalogue.codes() for d in catalogue.versions(code)]
        successors = {a.code: a.successor for a in directory if a.successor is not None}
        self.registry = KeyRegistry(
            load_public_keys(keys_dir), with_successors(routes_of(definitions), successors)
        )
        self.relay = Relay(
            store.engine,
            bus,
            signers,
            engine.clock,
            max_attempts=max_attempts,
            backoff=backoff or Backoff(),
        )
        self.receiver = Receiver(
            store.engine,
            bus,
            self.registry,
            signers,
            engine.clock,
            directory,
            tz=engine.calendar.tz,
        )

    def queues_of(self, agency: str) -> tuple[str, ...]:
        """The agency's queue and those of the agencies it replaced (their in-flight messages)."""
        return (agency, *self.engine.catalogue.agencies.predecessors(agency))

    def declare(self) -> None:
        """Create the served agencies' queues (idempotent)."""
        for queue in self.queues:
            self.bus.declare(queue)

    def step(self, *, idle: float = 0.2, limit: int = 500, batch: int = 50) -> StepReport:
        """Publish what is due, then handle up to ``limit`` messages waiting on the queues,
        recording up to ``batch`` of them per transaction."""
        relayed = self.relay.run_once(limit=limit)
        try:
            handled = self.bus.consume_batches(
                self.queues, self.receiver.handle_batch, limit=limit, idle=idle, batch=batch
            )
        finally:
            self.receiver.send_receipts()
        return StepReport(relayed, handled)

    def run(self, stop: threading.Event, *, idle: float = 0.5) -> None:
        """Step until ``stop`` is set; a failing step is logged and tried again."""
        self.declare()
        while not stop.is_set():
            try:
                report = self.step(idle=idle)
            except Exception:
                log.exception("routing step failed; trying again")
                stop.wait(1.0)
                continue
            if report.handled or report.relayed.published:
                log.info("relayed %d, handled %d", report.relayed.published, report.handled)
