"""SLA alerts on SQLite and PostgreSQL, sent to a real HTTP receiver: one signed webhook per
change to at risk or overdue, with freezegun moving "now" across the boundaries, a weekend and
Tết 2026; nothing lost and nothing repeated across a restart of the scheduler; retries with
backoff, giving up, the cooldown; the alerts file; ``lienthong sla watch`` and ``serve``."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from adapters.alerts import AlertConfigError, Hook, Scheduler, load_alerts
from adapters.bootstrap import App, Settings, bootstrap
from adapters.store import tables as t
from adapters.store.store import SqlStore
from tests.conftest import FixedClock
from tests.histories import OFFICER, PAPERS, VN, WARD
from workflow.agencies import AgencyDirectory
from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.engine import Engine
from workflow.errors import WorkflowError
from workflow.services import Act, Submit, act, submit
from workflow.sla import SlaPolicy, Standing

CALENDAR = WorkingCalendar()
POLICY = SlaPolicy()
SECRET = "a-long-test-secret-of-the-hooks"
MONDAY = dt.datetime(2026, 3, 2, 9, tzinfo=VN)  # accepted then: due Thursday 5 March, 09:00


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


class Receiver:
    """A webhook receiver on a loopback port: records every request, answers the statuses it
    is told to (in order), then ``status``."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answers: list[int] = []
        self.status = 200
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.arrived:
                    status = receiver.answers.pop(0) if receiver.answers else receiver.status
                    headers = dict(self.headers.items())
                    receiver.requests.append(Received(self.path, headers, body, status))
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, count: int, seconds: float = 60) -> None:
        with self.arrived:
            done = self.arrived.wait_for(lambda: len(self.requests) >= count, seconds)
        assert done, f"{len(self.requests)} requests arrived, not {count}"

    def delivered(self, path: str | None = None) -> list[dict[str, Any]]:
        """The alerts answered with a 2xx (on ``path``), each signature checked."""
        with self.arrived:
            requests = list(self.requests)
        return [
            verified(r) for r in requests if r.status < 300 and (path is None or r.path == path)
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def verified(request: Received, secret: str = SECRET) -> dict[str, Any]:
    """The alert in ``request``, after checking its signature and headers as a receiver does."""
    timestamp = request.headers["X-Lienthong-Timestamp"]
    signed = timestamp.encode() + b"." + request.body
    mac = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Lienthong-Signature"], f"sha256={mac}")
    # the timestamp is signed too: the same body under another timestamp does not verify
    forged = hmac.new(secret.encode(), b"1." + request.body, hashlib.sha256).hexdigest()
    assert timestamp == "1" or request.headers["X-Lienthong-Signature"] != f"sha256={forged}"
    alert: dict[str, Any] = json.loads(request.body)
    assert request.headers["X-Lienthong-Alert-Id"] == str(alert["id"])
    assert request.headers["Content-Type"] == "application/json"
    canonical = json.dumps(alert, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert request.body == canonical.encode()
    return alert


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def hooks_file(folder: Path, text: str) -> Path:
    path = folder / "alerts.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def hooks(folder: Path, receiver: Receiver, *lines: str) -> tuple[Hook, ...]:
    """Hooks to the receiver, each ``name: extra yaml`` (the path is /name)."""
    written = ["hooks:"]
    for line in lines:
        name, _, extra = line.partition(":")
        written += [
            f"  - name: {name}",
            f"    url: {receiver.url}/{name}",
            '    agencies: ["*"]',
            f"    secret: {SECRET}",
            *(f"    {part.strip()}" for part in extra.split(";") if part.strip()),
        ]
    return load_alerts(hooks_file(folder, "\n".join(written) + "\n"))


def scheduler(store: SqlStore, catalogue: Catalogue, found: tuple[Hook, ...]) -> Scheduler:
    """A scheduler on the system clock (frozen by freezegun)."""
    return Scheduler(store, found, catalogue=catalogue, calendar=CALENDAR, policy=POLICY)


def accepted(store: SqlStore, catalogue: Catalogue, at: dt.datetime, count: int = 2) -> list[str]:
    """``count`` dossiers of 2.000986 (3 working days) received and accepted at ``at``."""
    engine = Engine(catalogue, FixedClock(at), CALENDAR, POLICY)
    codes = []
    for n in range(count):
        command = Submit("2.000986", "online", f"REF-{n}", OFFICER, documents=PAPERS)
        code = submit(command, store.unit_of_work(), engine).code
        act(Act(code, "accept", OFFICER), store.unit_of_work(), engine)
        codes.append(code)
    return codes


def alert_rows(store: SqlStore) -> list[Any]:
    with store.engine.connect() as connection:
        return list(connection.execute(select(t.sla_alerts).order_by(t.sla_alerts.c.id)))


def counts(report: Any) -> tuple[int, int, int, int]:
    return (report.new, report.delivered, report.retrying, report.failed)


def test_one_alert_per_change_of_each_dossier_and_step(
    sql: SqlStore, catalogue: Catalogue, receiver: Receiver, tmp_path: Path
) -> None:
    codes = accepted(sql, catalogue, MONDAY)
    found = hooks(tmp_path, receiver, "dossiers: kinds: [dossier]", "steps: kinds: [step]")
    watch = scheduler(sql, catalogue, found)
    # the reception step has 1 working hour (to 10:00): at risk from 09:48
    with freeze_time(dt.datetime(2026, 3, 2, 9, 40, tzinfo=VN)) as frozen:
        assert counts(watch.run_once()) == (0, 0, 0, 0)
        frozen.move_to(dt.datetime(2026, 3, 2, 9, 50, tzinfo=VN))
        assert counts(watch.run_once()) == (2, 2, 0, 0)
        assert counts(watch.run_once()) == (0, 0, 0, 0)  # the same instant: nothing new
        frozen.move_to(dt.datetime(2026, 3, 2, 10, 51, tzinfo=VN))
        assert counts(watch.run_once()) == (2, 2, 0, 0)  # the steps are overdue
        # the dossiers: less than 4.8 of their 24 working hours left from Wednesday, 13:12
        frozen.move_to(dt.datetime(2026, 3, 4, 13, 10, tzinfo=VN))
        assert counts(watch.run_once()) == (0, 0, 0, 0)
        frozen.tick(dt.timedelta(minutes=5))
        assert counts(watch.run_once()) == (2, 2, 0, 0)
        assert counts(watch.run_once()) == (0, 0, 0, 0)
        sent_at = int(dt.datetime(2026, 3, 4, 13, 15, tzinfo=VN).timestamp())
        frozen.move_to(dt.datetime(2026, 3, 5, 8, 59, tzinfo=VN))
        assert counts(watch.run_once()) == (0, 0, 0, 0)
        frozen.tick(dt.timedelta(minutes=2))
        assert counts(watch.run_once()) == (2, 2, 0, 0)
        assert counts(watch.run_once()) == (0, 0, 0, 0)

    steps = receiver.delivered("/steps")
    assert sorted((a["dossier"], a["standing"]) for a in steps) == sorted(
        (code, standing) for code in codes for standing in ("at_risk", "overdue")
    )
    assert {(a["kind"], a["step"], a["due_at"]) for a in steps} == {
        ("step", "reception", "2026-03-02T10:00:00+07:00")
    }
    dossiers = receiver.delivered("/dossiers")
    at_risk = next(a for a in dossiers if a["standing"] == "at_risk" and a["dossier"] == codes[0])
    assert at_risk == {
        "id": at_risk["id"],
        "hook": "dossiers",
        "dossier": codes[0],
        "agency": WARD,
        "procedure": "2.000986",
        "step": "reception",
        "kind": "dossier",
        "standing": "at_risk",
        "due_at": "2026-03-05T09:00:00+07:00",
        "hours_left": 4.75,  # 13:15-17:00, then 08:00-09:00
        "detected_at": "2026-03-04T13:15:00+07:00",
    }
    header = next(r for r in receiver.requests if r.body and json.loads(r.body) == at_risk)
    assert header.headers["X-Lienthong-Timestamp"] == str(sent_at)
    overdue = [a for a in dossiers if a["standing"] == "overdue"]
    assert sorted(a["dossier"] for a in overdue) == codes
    assert all(a["hours_left"] == -0.02 for a in overdue)  # one working minute late
    ids = Counter(a["id"] for a in receiver.delivered())
    assert len(ids) == 8 and set(ids.values()) == {1}
    rows = alert_rows(sql)
    assert len(rows) == 8
    assert all(r.delivered_at is not None and r.attempts == 1 for r in rows)


@pytest.mark.parametrize(
    ("received", "quiet", "at_risk", "overdue"),
    [
        pytest.param(  # Friday 14:00: 3 + 8 + 8 + 5 working hours, due Wednesday 14:00
            dt.datetime(2026, 3, 6, 14, tzinfo=VN),
            [
                (2026, 3, 6, 16, 59),
                (2026, 3, 7, 12, 0),
                (2026, 3, 8, 12, 0),
                (2026, 3, 9, 16, 0),
                (2026, 3, 10, 17, 0),
                (2026, 3, 11, 8, 10),
            ],
            (2026, 3, 11, 8, 15),
            (2026, 3, 11, 14, 1),
            id="weekend",
        ),
        pytest.param(  # Friday 13 February 09:00: Tết (16-20 February), due Wednesday the 25th
            dt.datetime(2026, 2, 13, 9, tzinfo=VN),
            [
                (2026, 2, 13, 16, 0),
                (2026, 2, 16, 9, 0),
                (2026, 2, 18, 12, 0),
                (2026, 2, 20, 17, 0),
                (2026, 2, 22, 12, 0),
                (2026, 2, 23, 9, 0),
                (2026, 2, 24, 13, 10),
            ],
            (2026, 2, 24, 13, 15),
            (2026, 2, 25, 9, 1),
            id="tet-2026",
        ),
    ],
)
def test_time_off_does_not_bring_alerts_early(
    sql: SqlStore,
    catalogue: Catalogue,
    receiver: Receiver,
    tmp_path: Path,
    received: dt.datetime,
    quiet: list[tuple[int, ...]],
    at_risk: tuple[int, ...],
    overdue: tuple[int, ...],
) -> None:
    """Three calendar days after reception (a naive clock's deadline) nothing is sent: days
    off do not count. At risk 4.8 working hours before the due instant, then overdue."""
    [code] = accepted(sql, catalogue, received, count=1)
    watch = scheduler(sql, catalogue, hooks(tmp_path, receiver, "ward: kinds: [dossier]"))
    with freeze_time(received) as frozen:
        for moment in quiet:
            frozen.move_to(dt.datetime(*moment, tzinfo=VN))
            assert counts(watch.run_once()) == (0, 0, 0, 0), moment
        frozen.move_to(dt.datetime(*at_risk, tzinfo=VN))
        assert counts(watch.run_once()) == (1, 1, 0, 0)
        frozen.move_to(dt.datetime(*overdue, tzinfo=VN) - dt.timedelta(minutes=2))
        assert counts(watch.run_once()) == (0, 0, 0, 0)
        frozen.move_to(dt.datetime(*overdue, tzinfo=VN))
        assert counts(watch.run_once()) == (1, 1, 0, 0)
    alerts = receiver.delivered("/ward")
    assert [(a["dossier"], a["standing"]) for a in alerts] == [
        (code, "at_risk"),
        (code, "overdue"),
    ]
    assert (
        alerts[0]["due_at"]
        == (dt.datetime(*overdue, tzinfo=VN) - dt.timedelta(minutes=1)).isoformat()
    )


def test_a_restarted_scheduler_sends_what_was_pending_and_nothing_twice(
    sql: SqlStore, catalogue: Catalogue, receiver: Receiver, tmp_path: Path
) -> None:
    codes = accepted(sql, catalogue, MONDAY)
    found = hooks(tmp_path, receiver, "ward: kinds: [dossier]")
    receiver.answers = [503, 503]  # the receiver is down for the first attempts
    with freeze_time(dt.datetime(2026, 3, 4, 13, 15, tzinfo=VN)) as frozen:
        assert counts(scheduler(sql, catalogue, found).run_once()) == (2, 0, 2, 0)
        rows = alert_rows(sql)
        assert [(r.attempts, r.last_error, r.delivered_at) for r in rows] == [
            (1, "HTTP 503: ok", None)
        ] * 2
        # the scheduler stops; another starts over the same store
        again = scheduler(sql, catalogue, found)
        assert counts(again.run_once()) == (0, 0, 0, 0)  # recorded, and not due again yet
        frozen.tick(dt.timedelta(seconds=30))
        assert counts(again.run_once()) == (0, 2, 0, 0)
        frozen.tick(dt.timedelta(hours=1))
        assert counts(scheduler(sql, catalogue, found).run_once()) == (0, 0, 0, 0)
        frozen.move_to(dt.datetime(2026, 3, 5, 9, 1, tzinfo=VN))
        assert counts(scheduler(sql, catalogue, found).run_once()) == (2, 2, 0, 0)
        assert counts(scheduler(sql, catalogue, found).run_once()) == (0, 0, 0, 0)
    alerts = receiver.delivered()
    assert sorted((a["dossier"], a["standing"]) for a in alerts) == sorted(
        (code, standing) for code in codes for standing in ("at_risk", "overdue")
    )
    per_id = Counter(int(r.headers["X-Lienthong-Alert-Id"]) for r in receiver.requests)
    delivered = Counter(a["id"] for a in alerts)
    assert set(delivered.values()) == {1}  # none repeated
    assert set(delivered) == {r.id for r in alert_rows(sql)}  # none lost
    assert sorted(per_id.values()) == [1, 1, 2, 2]  # two refused, then each sent once


def run_in_threads(watches: list[Scheduler], passes: int) -> None:
    """Each scheduler's loop in a thread of its own, until each made ``passes`` passes."""
    stop = threading.Event()
    done = [threading.Event() for _ in watches]
    threads = []
    for watch, finished in zip(watches, done, strict=True):
        seen: list[Any] = []

        def count(
            report: Any, seen: list[Any] = seen, finished: threading.Event = finished
        ) -> None:
            seen.append(report)
            if len(seen) >= passes:
                finished.set()

        thread = threading.Thread(target=watch.run, args=(stop,), kwargs={"on_report": count})
        thread.start()
        threads.append(thread)
    assert all(finished.wait(60) for finished in done)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_the_scheduler_thread_runs_until_stopped_and_a_new_one_repeats_nothing(
    sql: SqlStore, catalogue: Catalogue, receiver: Receiver, tmp_path: Path
) -> None:
    accepted(sql, catalogue, MONDAY)
    found = hooks(tmp_path, receiver, "ward: kinds: [dossier]")
    with freeze_time(dt.datetime(2026, 3, 4, 13, 15, tzinfo=VN)):
        for _ in range(2):  # the first loop sends both alerts; the second, after it, nothing
            watch = Scheduler(
                sql, found, catalogue=catalogue, calendar=CALENDAR, policy=POLICY, interval=0.01
            )
            run_in_threads([watch], passes=3)
            assert len(receiver.requests) == 2


def test_two_schedulers_at_once_send_each_alert_once(
    sql: SqlStore, catalogue: Catalogue, receiver: Receiver, tmp_path: Path
) -> None:
    """Say ``serve`` and ``sla watch`` both run: each alert is recorded once and claimed by
    one of them before it is sent."""
    accepted(sql, catalogue, MONDAY, count=6)
    found = hooks(tmp_path, receiver, "ward")
    with freeze_time(dt.datetime(2026, 3, 5, 9, 1, tzinfo=VN)):
        watches = [
            Scheduler(
                sql, found, catalogue=catalogue, calendar=CALENDAR, policy=POLICY, interval=0.01
            )
            for _ in range(2)
        ]
        run_in_threads(watches, passes=5)
    assert len(alert_rows(sql)) == 12  # six dossiers and their steps, all overdue
    assert sorted(Counter(a["id"] for a in receiver.delivered()).values()) == [1] * 12
    assert len(receiver.requests) == 12


def test_retries_back_off_then_give_up_and_stay_visible(
    sql: SqlStore, catalogue: Catalogue, receiver: Receiver, tmp_path: Path
) -> None:
    accepted(sql, catalogue, MONDAY, count=1)
    receiver.status = 500
    found = hooks(tmp_path, receiver, "ward: kinds: [dossier]; max_attempts: 3")
    watch = scheduler(sql, catalogue, found)
    start = dt.datetime(2026, 3, 4, 13, 15, tzinfo=VN)
    with freeze_time(start) as frozen:
        assert counts(watch.run_once()) == (1, 0, 1, 0)
        [row] = alert_rows(sql)
        assert (row.attempts, row.next_attempt_at) == (1, start + dt.timedelta(seconds=30))
        frozen.tick(dt.timedelta(seconds=29))
        assert counts(watch.run_once()) == (0, 0, 0, 0)  # not yet
        frozen.tick(dt.timedelta(seconds=1))
        assert counts(watch.run_once()) == (0, 0, 1, 0)
        [row] = alert_rows(sql)
        assert (row.attempts, row.next_attempt_at) == (2, start + dt.timedelta(seconds=90))
        frozen.tick(dt.timedelta(seconds=60))
        assert counts(watch.run_once()) == (0, 0, 0, 1)
        frozen.tick(dt.timedelta(hours=2))
        assert counts(watch.run_once()) == (0, 0, 0, 0)
    [row] = alert_rows(sql)
    assert row.attempts == 3 and row.delivered_at is None and row.next_attempt_at is None
    assert row.failed_at == start + dt.timedelta(seconds=90)
    assert row.last_error == "HTTP 500: ok"
    assert len(receiver.requests) == 3


def test_an_unreachable_hook_counts_one_attempt_per_pass(
    sql: SqlStore, catalogue: Catalogue, tmp_path: Path
) -> None:
    accepted(sql, catalogue, MONDAY)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = (
        f"hooks:\n  - {{name: gone, url: 'http://127.0.0.1:{port}/x', agencies: ['*'], "
        f"secret: {SECRET}, kinds: [dossier], timeout: 5}}\n"
    )
    watch = scheduler(sql, catalogue, load_alerts(hooks_file(tmp_path, text)))
    with freeze_time(dt.datetime(2026, 3, 4, 13, 15, tzinfo=VN)):
        assert counts(watch.run_once()) == (2, 0, 1, 0)
    first, second = alert_rows(sql)
    assert first.attempts == 1 and "ConnectError" in first.last_error
    assert second.attempts == 0 and second.last_error is None  # waits for the next pass


def test_the_cooldown_holds_a_hooks_next_alert_back_without_losing_it(
    sql: SqlStore, catalogue: Catalogue, receiver: Receiver, tmp_path: Path
) -> None:
    [code] = accepted(sql, catalogue, MONDAY, count=1)
    found = hooks(tmp_path, receiver, "slow: kinds: [step]", "fast: kinds: [step]; cooldown: 0")
    watch = scheduler(sql, catalogue, found)
    with freeze_time(dt.datetime(2026, 3, 2, 9, 50, tzinfo=VN)) as frozen:
        assert counts(watch.run_once()) == (2, 2, 0, 0)  # the step is at risk: both hooks
        frozen.move_to(dt.datetime(2026, 3, 2, 10, 1, tzinfo=VN))
        assert counts(watch.run_once()) == (1, 1, 0, 0)  # overdue: "fast" only
        frozen.move_to(dt.datetime(2026, 3, 2, 10, 49, 59, tzinfo=VN))
        assert counts(watch.run_once()) == (0, 0, 0, 0)
        frozen.move_to(dt.datetime(2026, 3, 2, 10, 50, tzinfo=VN))  # 60 minutes after
        assert counts(watch.run_once()) == (1, 1, 0, 0)
        frozen.tick(dt.timedelta(hours=3))
        assert counts(watch.run_once()) == (0, 0, 0, 0)
    for path in ("/slow", "/fast"):
        assert [(a["dossier"], a["standing"]) for a in receiver.delivered(path)] == [
            (code, "at_risk"),
            (code, "overdue"),
        ]


def test_hooks_and_their_defaults(tmp_path: Path, agencies: AgencyDirectory) -> None:
    path = hooks_file(
        tmp_path,
        "hooks:\n"
        "  - name: ward\n"
        "    url: https://alerts.example.vn/sla\n"
        f"    agencies: ['{WARD}']\n"
        "    secret_env: WARD_HOOK_SECRET\n"
        "  - {name: police, url: 'http://127.0.0.1:9/x', agencies: ['*'], secret: "
        f"{SECRET}, standings: [overdue], kinds: [step], cooldown: 0.5, max_attempts: 2,"
        " timeout: 3}\n",
    )
    ward, police = load_alerts(path, agencies, env={"WARD_HOOK_SECRET": "s" * 16})
    assert (ward.name, ward.url, ward.secret, ward.agencies) == (
        "ward",
        "https://alerts.example.vn/sla",
        b"s" * 16,
        frozenset({WARD}),
    )
    assert (ward.cooldown, ward.max_attempts, ward.timeout) == (dt.timedelta(hours=1), 8, 10)
    assert ward.covers(WARD, "step", Standing.AT_RISK)
    assert not ward.covers("000.09.71.H26", "step", Standing.OVERDUE)
    assert police.agencies is None and police.cooldown == dt.timedelta(seconds=30)
    assert police.covers("000.09.71.H26", "step", Standing.OVERDUE)
    assert not police.covers("000.09.71.H26", "dossier", Standing.OVERDUE)
    assert not police.covers("000.09.71.H26", "step", Standing.AT_RISK)
    assert SECRET not in repr(police) and "s" * 16 not in repr(ward)
    assert load_alerts(hooks_file(tmp_path, "hooks: []\n")) == ()


HOOK = "hooks:\n  - name: ward\n    url: https://alerts.example.vn/sla\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "hooks:\n  - name: ward\n    agencies: ['*']\n    secret: " + SECRET,
            "hooks[0] (ward).url: is required",
        ),
        (
            HOOK + f"    agencies: ['*']\n    secret: {SECRET}\n    standings: [late]\n",
            "hooks[0] (ward).standings[0]: Input should be 'at_risk' or 'overdue'",
        ),
        (
            HOOK + f"    agencies: ['*']\n    secret: {SECRET}\n    retries: 3\n",
            "hooks[0] (ward).retries: is not a known field",
        ),
        (
            HOOK + "    agencies: ['*']\n    secret_env: NO_SUCH_VARIABLE_HERE\n",
            "hooks[0] (ward).secret_env: the environment variable NO_SUCH_VARIABLE_HERE is not set",
        ),
        (
            HOOK + "    agencies: ['*']\n    secret: short\n",
            "hooks[0] (ward).secret: is under 16 characters",
        ),
        (
            HOOK + "    agencies: ['*']\n",
            "hooks[0] (ward).secret: give exactly one of `secret` and `secret_env`",
        ),
        (
            HOOK + f"    agencies: ['NOPE']\n    secret: {SECRET}\n",
            "hooks[0] (ward).agencies: unknown agency 'NOPE'; use a code from the agency directory",
        ),
        (
            HOOK + f"    agencies: ['*']\n    secret: {SECRET}\n    cooldown: -1\n",
            "hooks[0] (ward).cooldown: Input should be greater than or equal to 0",
        ),
        (
            HOOK
            + f"    agencies: ['*']\n    secret: {SECRET}\n"
            + HOOK[7:]
            + f"    agencies: ['*']\n    secret: {SECRET}\n",
            "hooks[1] (ward).name: is used by another hook",
        ),
        (
            "hooks:\n  - {name: ward, url: 'ftp://host/x', agencies: ['*'], secret: "
            + SECRET
            + "}",
            "hooks[0] (ward).url: must be an http:// or https:// URL with a host",
        ),
        ("hooks: [\n", "(file): cannot be read as YAML"),
        ("hook: []\n", "hook: is not a known field"),
    ],
)
def test_a_bad_alerts_file_names_the_hook_and_field(
    tmp_path: Path, agencies: AgencyDirectory, text: str, expected: str
) -> None:
    path = hooks_file(tmp_path, text)
    with pytest.raises(AlertConfigError) as raised:
        load_alerts(path, agencies, env={})
    assert isinstance(raised.value, WorkflowError)
    assert f"{path}: {expected}" in str(raised.value)
    assert "problem(s) in the alerts file" in str(raised.value)


def test_a_missing_alerts_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(AlertConfigError, match="does not exist; create it, or unset"):
        load_alerts(tmp_path / "nowhere.yaml")


def test_settings_name_the_alerts_file(tmp_path: Path) -> None:
    var = tmp_path / "var"
    assert Settings.from_env({"LIENTHONG_VAR_DIR": str(var)}).alerts_file is None
    var.mkdir()
    (var / "alerts.yaml").write_text("hooks: []\n")
    settings = Settings.from_env({"LIENTHONG_VAR_DIR": str(var)})
    assert (settings.alerts_file, settings.alert_interval) == (var / "alerts.yaml", 60.0)
    named = Settings.from_env(
        {
            "LIENTHONG_VAR_DIR": str(var),
            "LIENTHONG_ALERTS_FILE": str(tmp_path / "mine.yaml"),
            "LIENTHONG_ALERT_INTERVAL": "15",
        }
    )
    assert (named.alerts_file, named.alert_interval) == (tmp_path / "mine.yaml", 15.0)


# --- the command line: `lienthong sla watch` and `lienthong serve` -----------------------------


def embedded(
    tmp_path: Path, receiver: Receiver, kinds: str = "[dossier, step]", path: str = "/ward"
) -> dict[str, str]:
    """The environment of a command on an embedded store under ``tmp_path``, with a hook to the
    receiver (at ``path``) whose secret is in an environment variable."""
    alerts = hooks_file(
        tmp_path,
        f"hooks:\n  - {{name: ward, url: '{receiver.url}{path}', agencies: ['{WARD}'], "
        f"secret_env: TEST_HOOK_SECRET, kinds: {kinds}}}\n",
    )
    env = {
        **os.environ,
        "LIENTHONG_VAR_DIR": str(tmp_path / "var"),
        "LIENTHONG_ALERTS_FILE": str(alerts),
        "TEST_HOOK_SECRET": SECRET,
        "PYTHONPATH": str(Path.cwd()),
    }
    for name in ("LIENTHONG_DATABASE_URL", "LIENTHONG_BROKER_URL", "LIENTHONG_SECRET_KEY"):
        env.pop(name, None)
    return env


def overdue_dossier(app: App) -> str:
    """A dossier accepted on 2 March 2026: overdue, its reception step too, ever since."""
    [code] = accepted(app.store, app.catalogue, MONDAY, count=1)
    return code


def lienthong(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_sla_watch_once(tmp_path: Path, receiver: Receiver) -> None:
    env = embedded(tmp_path, receiver)
    app = bootstrap(Settings.from_env(env))
    code = overdue_dossier(app)
    app.store.close()
    first = lienthong(env, "sla", "watch", "--once")
    assert first.returncode == 0, first.stderr
    assert "2 new, 2 delivered, 0 to retry, 0 failed" in first.stdout
    again = lienthong(env, "sla", "watch", "--once")
    assert "0 new, 0 delivered, 0 to retry, 0 failed" in again.stdout
    alerts = receiver.delivered("/ward")
    assert sorted((a["dossier"], a["kind"], a["standing"]) for a in alerts) == [
        (code, "dossier", "overdue"),
        (code, "step", "overdue"),
    ]


def test_sla_watch_refuses_a_bad_file_or_none(tmp_path: Path, receiver: Receiver) -> None:
    env = embedded(tmp_path, receiver, kinds="[letters]")
    bad = lienthong(env, "sla", "watch", "--once")
    assert bad.returncode == 2
    assert "hooks[0] (ward).kinds[0]" in " ".join(bad.stderr.split())
    env.pop("LIENTHONG_ALERTS_FILE")
    none = lienthong(env, "sla", "watch", "--once")
    assert none.returncode == 2
    assert "no alert hooks are configured" in " ".join(none.stderr.split())


def test_serve_runs_the_scheduler_and_stops_it(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.e2e.api_server import running  # noqa: PLC0415 (a real `lienthong serve`)

    # a receiver that takes its own secret in the URL: it must not reach the server's log
    path = "/ward?key=hook-url-secret"
    env = embedded(tmp_path, receiver, kinds="[dossier]", path=path)
    for name in ("LIENTHONG_ALERTS_FILE", "TEST_HOOK_SECRET"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.setenv("LIENTHONG_ALERT_INTERVAL", "0.2")
    codes: list[str] = []
    with running(tmp_path, prepare=lambda app: codes.append(overdue_dossier(app))) as server:
        receiver.wait_for(1)
    # uvicorn exits with 130 after a clean shutdown on SIGINT; -9 would mean it had to be killed
    assert server.process.returncode in (0, 130), server.printed()
    assert "Finished server process" in server.printed()
    assert [(a["dossier"], a["standing"]) for a in receiver.delivered(path)] == [
        (codes[0], "overdue")
    ]
    assert "alerts: " in server.printed()  # the scheduler's own lines are printed
    assert "hook-url-secret" not in server.printed()
