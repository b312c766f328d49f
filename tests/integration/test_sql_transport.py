"""The embedded durable kombu transport: nothing lost when a consumer dies, nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from freezegun import freeze_time
from kombu import Connection
from sqlalchemy import create_engine, func, select, text

from adapters.bus.sqltransport import messages, register

register()


def _url(tmp_path: Path) -> str:
    return f"lienthong+sqlite:///{tmp_path / 'bus.sqlite3'}"


def _rows(tmp_path: Path) -> int:
    engine = create_engine(f"sqlite:///{tmp_path / 'bus.sqlite3'}")
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(messages)).scalar_one()
    engine.dispose()
    return int(count)


def test_publish_consume_ack(tmp_path: Path) -> None:
    with Connection(_url(tmp_path)) as connection:
        queue = connection.SimpleQueue("agency.000.09.71.H26")
        queue.put({"dossier": "D-1", "note": "Hồ sơ"})
        queue.put({"dossier": "D-2"})
        assert queue.qsize() == 2
        first = queue.get(timeout=2)
        assert first.payload == {"dossier": "D-1", "note": "Hồ sơ"}
        assert queue.qsize() == 1  # delivered, invisible until acked or timed out
        first.ack()
        queue.get(timeout=2).ack()
        queue.close()
    assert _rows(tmp_path) == 0


def test_reject_requeue_and_drop(tmp_path: Path) -> None:
    with Connection(_url(tmp_path)) as connection:
        queue = connection.SimpleQueue("q")
        queue.put({"n": 1})
        queue.get(timeout=2).reject(requeue=True)
        again = queue.get(timeout=2)
        assert again.payload == {"n": 1}
        again.reject()
        assert queue.qsize() == 0
        queue.close()
    assert _rows(tmp_path) == 0


def test_unacked_messages_come_back_on_a_clean_close_without_copies(tmp_path: Path) -> None:
    with Connection(_url(tmp_path)) as connection:
        queue = connection.SimpleQueue("q")
        queue.put({"n": 1})
        queue.get(timeout=2)  # never acked
        queue.close()
    assert _rows(tmp_path) == 1
    with Connection(_url(tmp_path)) as connection:
        queue = connection.SimpleQueue("q")
        assert queue.get(timeout=2).payload == {"n": 1}
        queue.close()


CONSUMER = textwrap.dedent(
    """
    import sys
    from kombu import Connection
    from adapters.bus.sqltransport import register
    register()
    connection = Connection(sys.argv[1], transport_options={"visibility_timeout": 60})
    queue = connection.SimpleQueue("q")
    message = queue.get(timeout=5)
    print("got", message.payload["n"], flush=True)
    import time; time.sleep(60)  # killed before it acks
    """
)


def test_a_consumer_killed_before_its_ack_loses_nothing(tmp_path: Path) -> None:
    url = _url(tmp_path)
    with Connection(url) as connection:
        connection.SimpleQueue("q").put({"n": 7})
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    with subprocess.Popen(
        [sys.executable, "-c", CONSUMER, url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        line = child.stdout.readline()
        if line.strip() != "got 7":
            child.kill()
            pytest.fail(f"the consumer did not get the message: {child.stderr.read()}")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    with Connection(url) as connection:
        queue = connection.SimpleQueue("q")
        assert queue.qsize() == 0  # still hidden: the dead consumer's timeout runs
        with freeze_time(tz_offset=0) as frozen:
            frozen.tick(61)  # past the visibility timeout
            message = queue.get(timeout=2)
            assert message.payload == {"n": 7}
            message.ack()
        queue.close()
    assert _rows(tmp_path) == 0


def test_database_errors_are_raised_not_swallowed(tmp_path: Path) -> None:
    url = _url(tmp_path)
    with Connection(url) as connection:
        queue = connection.SimpleQueue("q")
        engine = create_engine(f"sqlite:///{tmp_path / 'bus.sqlite3'}")
        with engine.begin() as raw:
            raw.execute(text("DROP TABLE bus_messages"))
        engine.dispose()
        with pytest.raises(Exception, match="no such table"):
            queue.put({"n": 1})
        queue.close()


def test_a_url_without_a_database_is_refused() -> None:
    with Connection("lienthong://") as connection, pytest.raises(ValueError, match="database URL"):
        connection.SimpleQueue("q")
