"""Requests per second and latency of the back-office API under concurrent load, against the
HTTP floor of the same server stack, on SQLite and on PostgreSQL.

The server is ``lienthong serve --workers N`` (uvicorn), started as deployed, on a free loopback
port. The load generator runs ``--clients`` concurrent clients (threads spread over a few
processes, each with a keep-alive connection) and measures each request from send to answer:

- reads: ``GET /api/v1/dossiers/{code}`` (the dossier with its control sheet), by a supervisor;
- submissions: ``POST /api/v1/dossiers``, each with its own ``Idempotency-Key``, by an officer;
- actions: ``POST /api/v1/dossiers/{code}/actions`` (``accept``) on submitted dossiers.

The floor, in the same run: ``benchmarks/floor_app.py`` on the same stack (uvicorn, FastAPI,
a sync handler, a pydantic answer; the same workers and load generator) returning a constant
JSON body. It is what HTTP alone costs on this machine.

    python -m benchmarks.bench_api [--requests 2000] [--clients 16] [--workers 2]
        [--postgres URL] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from adapters.api.client import wait_until_up
from adapters.bootstrap import Settings, bootstrap, open_store
from adapters.store.principals import Role, create_principal
from benchmarks.args import count
from benchmarks.bench_store import DEFAULT_PG, postgres_database

LINKED = "2.000986"
PAPERS = ["birth_declaration", "birth_certificate", "residence_declaration"]
WARD, CITY = "000.00.71.H26", "000.00.00.H26"


@dataclass(frozen=True)
class Result:
    setup: str
    workload: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


Request = tuple[str, str, bytes | None, dict[str, str]]


def _client(port: int, requests: list[Request], out: Any) -> None:
    """One client: its requests in order on one keep-alive connection; latencies in ms."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, errors = [], 0
    for method, path, body, headers in requests:
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        errors += response.status >= 400
    connection.close()
    out.put((latencies, errors))


def _process(port: int, shares: list[list[Request]], out: Any) -> None:
    threads = [threading.Thread(target=_client, args=(port, share, out)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def load(port: int, requests: list[Request], clients: int) -> tuple[float, list[float], int]:
    """Run ``requests`` over ``clients`` concurrent clients (threads in up to 4 processes);
    (seconds, latencies in ms, error answers)."""
    shares = [requests[n::clients] for n in range(clients)]
    processes = min(4, clients)
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    workers = [
        context.Process(target=_process, args=(port, shares[p::processes], out))
        for p in range(processes)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    latencies: list[float] = []
    errors = 0
    for _ in range(clients):
        got, failed = out.get()
        latencies.extend(got)
        errors += failed
    seconds = time.perf_counter() - started
    for worker in workers:
        worker.join()
    return seconds, latencies, errors


@contextlib.contextmanager
def server(
    folder: Path, database_url: str | None, workers: int
) -> Iterator[tuple[int, dict[str, str]]]:
    """``lienthong serve`` on a fresh store; its port and a token per role."""
    env = {**os.environ, "LIENTHONG_VAR_DIR": str(folder / "var")}
    env.pop("LIENTHONG_BROKER_URL", None)
    env.pop("LIENTHONG_DATABASE_URL", None)
    if database_url:
        env["LIENTHONG_DATABASE_URL"] = database_url
    settings = Settings.from_env(env)
    open_store(settings).upgrade()
    app = bootstrap(settings)
    now = dt.datetime.now(dt.UTC)
    tokens = {}
    for role, agency in ((Role.OFFICER, WARD), (Role.SUPERVISOR, CITY)):
        _, tokens[role.value] = create_principal(
            app.store.engine, name=f"bench {role.value}", agency=agency, role=role, now=now
        )
    app.store.close()
    with socket_port() as port:
        pass
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "adapters.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        try:
            wait_until_up(f"http://127.0.0.1:{port}", alive=lambda: process.poll() is None)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}: {(folder / 'server.log').read_text()}") from None
        yield port, tokens
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextlib.contextmanager
def socket_port() -> Iterator[int]:
    import socket  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield probe.getsockname()[1]


def _json(token: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(extra or {})}


def _submissions(token: str, count: int) -> list[Request]:
    requests: list[Request] = []
    for _ in range(count):
        body = {
            "procedure": LINKED,
            "channel": "online",
            "applicant": {"ref": uuid.uuid4().hex[:16]},
            "documents": PAPERS,
        }
        headers = _json(token, {"Idempotency-Key": uuid.uuid4().hex})
        requests.append(("POST", "/api/v1/dossiers", json.dumps(body).encode(), headers))
    return requests


def _codes(port: int, token: str, count: int) -> list[str]:
    """``count`` submitted dossiers (through the API, not timed)."""
    _, _, errors = load(port, _submissions(token, count), 8)
    assert errors == 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        codes: list[str] = []
        page = 1
        while len(codes) < count:
            answer = http.get(
                "/api/v1/dossiers",
                params={"status": 1, "page": page, "page_size": 200},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            codes.extend(item["code"] for item in answer["items"])
            if not answer["items"]:
                break
            page += 1
    return codes[:count]


def bench(
    setup: str, database_url: str | None, requests: int, clients: int, workers: int
) -> list[Result]:
    results = []
    with (
        tempfile.TemporaryDirectory() as folder,
        server(Path(folder), database_url, workers) as (
            port,
            tokens,
        ),
    ):
        officer, supervisor = tokens["officer"], tokens["supervisor"]
        codes = _codes(port, officer, requests)
        auth = {"Authorization": f"Bearer {supervisor}"}
        workloads: dict[str, list[Request]] = {
            "reads": [
                ("GET", f"/api/v1/dossiers/{codes[n % len(codes)]}", None, auth)
                for n in range(requests)
            ],
            "submissions": _submissions(officer, requests),
            "actions (accept)": [
                (
                    "POST",
                    f"/api/v1/dossiers/{code}/actions",
                    b'{"trigger": "accept"}',
                    _json(officer),
                )
                for code in codes
            ],
        }
        load(port, workloads["reads"][: clients * 5], clients)  # warm up every worker
        for name, work in workloads.items():
            seconds, latencies, errors = load(port, work, clients)
            quantiles = statistics.quantiles(latencies, n=100)
            results.append(
                Result(
                    setup,
                    name,
                    len(work),
                    seconds,
                    statistics.median(latencies),
                    quantiles[98],
                    errors,
                )
            )
    return results


def floor(requests: int, clients: int, workers: int) -> Result:
    """The HTTP floor: a constant answer from the same server stack."""
    with socket_port() as port:
        pass
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.floor_app:app",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", path="/floor")
        work: list[Request] = [("GET", "/floor", None, {})] * requests
        load(port, work[: clients * 5], clients)
        seconds, latencies, errors = load(port, work, clients)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    quantiles = statistics.quantiles(latencies, n=100)
    return Result(
        "(floor)",
        "constant JSON",
        requests,
        seconds,
        statistics.median(latencies),
        quantiles[98],
        errors,
    )


def run(
    requests: int = 2000,
    clients: int = 16,
    workers: int = 2,
    postgres: str | None = DEFAULT_PG,
) -> list[Result]:
    results = [floor(requests, clients, workers)]
    results.extend(bench("SQLite", None, requests, clients, workers))
    if postgres:
        with postgres_database(postgres) as database:
            results.extend(bench("PostgreSQL", database, requests, clients, workers))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=count, default=2000)
    parser.add_argument("--clients", type=count, default=16)
    parser.add_argument("--workers", type=count, default=2)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    postgres = None if args.skip_postgres else args.postgres
    results = run(args.requests, args.clients, args.workers, postgres)
    print(f"{args.clients} clients, {args.workers} server workers, {args.requests} requests each")
    print(
        f"{'backend':<12}{'workload':<24}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
    )
    for r in results:
        print(
            f"{r.setup:<12}{r.workload:<24}{r.per_second:>12,.0f}{r.p50_ms:>9.1f}"
            f"{r.p99_ms:>9.1f}{r.errors:>8}"
        )
    print("targets on PostgreSQL: at least 500 reads/s and 200 submissions/s")


if __name__ == "__main__":
    main()
