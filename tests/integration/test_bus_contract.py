"""One contract for every transport of the agencies' queues: memory://, the embedded durable SQL
transport, and a real RabbitMQ.

RabbitMQ tests read ``LIENTHONG_TEST_BROKER_URL``: without it they skip and say why; with it
they run and fail if the broker cannot be reached. Each test uses its own queue prefix, and
deletes its queues afterwards, so that runs never collide.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.bus.kombu_bus import Handled, KombuBus, Outcome
from tests.integration.conftest import broker_url

POLICE, WARD = "000.09.71.H26", "000.00.71.H26"


@pytest.fixture(params=["memory", "embedded", "rabbitmq"])
def bus_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "embedded":
        return f"lienthong+sqlite:///{tmp_path / 'bus.sqlite3'}"
    return broker_url()


@pytest.fixture
def bus(bus_url: str) -> Iterator[KombuBus]:
    prefix = f"lt-test-{uuid.uuid4().hex[:10]}"
    bus = KombuBus(bus_url, prefix=prefix, delivery_limit=3)
    for agency in (POLICE, WARD):
        bus.declare(agency)
    yield bus
    bus.unsubscribe()
    with bus.connection.channel() as channel:
        for agency in (POLICE, WARD):
            for queue in (bus.queue(agency), bus.dead_queue(agency)):
                queue.bind(channel).delete()
    bus.close()


def _collect(bus: KombuBus, agency: str, outcome: Outcome = Outcome.DONE) -> list[bytes]:
    seen: list[bytes] = []

    def handler(_: str, raw: bytes) -> Handled:
        seen.append(raw)
        return Handled(outcome, "bad_signature" if outcome is Outcome.DEAD else "")

    bus.consume(agency, handler, idle=0.5)
    return seen


def test_messages_reach_only_their_agency_in_order(bus: KombuBus) -> None:
    for n in range(3):
        bus.publish(f'{{"n": {n}, "note": "Hồ sơ"}}'.encode(), POLICE)
    bus.publish(b'{"n": 9}', WARD)
    assert _collect(bus, POLICE) == [f'{{"n": {n}, "note": "Hồ sơ"}}'.encode() for n in range(3)]
    assert _collect(bus, WARD) == [b'{"n": 9}']
    assert _collect(bus, POLICE) == []  # acknowledged: gone


def test_a_rejected_message_goes_to_the_dead_letter_queue_with_its_reason(bus: KombuBus) -> None:
    bus.publish(b'{"forged": true}', POLICE)
    assert _collect(bus, POLICE, Outcome.DEAD) == [b'{"forged": true}']
    assert _collect(bus, POLICE) == []
    assert bus.dead_letters(POLICE) == [(b'{"forged": true}', "bad_signature")]


def test_a_message_that_fails_for_now_is_delivered_again(bus: KombuBus) -> None:
    bus.publish(b'{"n": 1}', POLICE)
    attempts: list[bytes] = []

    def flaky(_: str, raw: bytes) -> Handled:
        attempts.append(raw)
        return Handled(Outcome.RETRY if len(attempts) == 1 else Outcome.DONE)

    bus.consume(POLICE, flaky, limit=2, idle=2.0)
    assert attempts == [b'{"n": 1}', b'{"n": 1}']
    assert _collect(bus, POLICE) == []


@pytest.mark.parametrize("bus_url", ["embedded", "rabbitmq"], indirect=True)
def test_published_messages_survive_a_new_connection(bus: KombuBus, bus_url: str) -> None:
    """memory:// is left out: it keeps messages in one process, for unit tests only."""
    bus.publish(b'{"durable": true}', POLICE)
    later = KombuBus(bus_url, prefix=bus.prefix, delivery_limit=bus.delivery_limit)
    try:
        assert _collect(later, POLICE) == [b'{"durable": true}']
    finally:
        later.close()


def test_a_batch_is_confirmed_message_by_message(bus: KombuBus) -> None:
    """``publish_many`` waits once for the whole batch and reports each message."""
    batch = [(f'{{"n": {n}}}'.encode(), POLICE if n % 3 else WARD) for n in range(30)]
    assert bus.publish_many(batch) == [True] * 30
    assert _collect(bus, POLICE) == [raw for raw, agency in batch if agency == POLICE]
    assert _collect(bus, WARD) == [raw for raw, agency in batch if agency == WARD]


def test_a_batch_to_a_broker_that_is_down_is_reported_unsent() -> None:
    down = KombuBus("amqp://guest:guest@127.0.0.1:1//", prefix="lt-down")
    try:
        assert down.publish_many([(b'{"n": 1}', POLICE), (b'{"n": 2}', WARD)]) == [False, False]
    finally:
        down.close()
