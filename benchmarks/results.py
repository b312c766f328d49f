"""``benchmarks/RESULTS.md``: what each benchmark printed, with the machine, the versions, the
command and the date.

:func:`capture` runs one benchmark's ``main()`` with its output echoed and kept;
:func:`write` renders the runs under the machine and versions sections. Nothing here names a
path or host of the machine: the CPU model, core count, memory, operating system and versions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TextIO

from kombu.connection import Connection
from sqlalchemy import create_engine, text

from benchmarks.bench_routing import DEFAULT_BROKER
from benchmarks.bench_store import DEFAULT_PG

DEFAULT_PATH = Path(__file__).with_name("RESULTS.md")
#: distributions whose versions the results name
PACKAGES = ("numpy", "SQLAlchemy", "transitions", "SpiffWorkflow", "pm4py", "simpy", "psycopg")


@dataclass(frozen=True)
class Run:
    """One benchmark's run: its command, what it printed, how long it took, how it failed."""

    name: str
    command: str
    output: str
    seconds: float
    error: str | None = None


class _Tee(io.TextIOBase):
    """Writes to the real stream and keeps a copy."""

    def __init__(self, echo: TextIO) -> None:
        self.echo = echo
        self.kept = io.StringIO()

    def write(self, text: str) -> int:
        self.echo.write(text)
        return self.kept.write(text)

    def flush(self) -> None:
        self.echo.flush()


def capture(name: str, main: Callable[[], None], args: Sequence[str] = ()) -> Run:
    """Run ``main`` as ``python -m <name> <args>``, echoing and keeping its standard output.
    A failure is kept in the run (with its traceback) rather than raised."""
    tee = _Tee(sys.stdout)
    saved_argv, sys.argv = sys.argv, [name, *args]
    started, error = time.perf_counter(), None
    try:
        with contextlib.redirect_stdout(tee):
            main()
    except Exception:  # one benchmark failing must not lose the others' figures
        error = traceback.format_exc(limit=3)
        print(error, file=sys.stderr)
    finally:
        sys.argv = saved_argv
    command = " ".join(("python -m", name, *args))
    return Run(name, command, tee.kept.getvalue(), time.perf_counter() - started, error)


def machine() -> dict[str, str]:
    """CPU model, cores, memory and operating system (no host name)."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(ValueError, OSError, AttributeError):
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        memory = f"{total / 2**30:.1f} GiB"
    return {
        "CPU": model,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "OS": f"{platform.system()} {platform.release()} ({platform.machine()})",
    }


def _postgres_version(url: str) -> str:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


def _rabbitmq_version(url: str) -> str:
    with Connection(url, connect_timeout=3) as connection:
        connection.ensure_connection(max_retries=1)
        properties = connection.connection.server_properties
        return str(properties.get("version", "unknown"))


def _probe(read: Callable[[str], str], url: str | None) -> str:
    if url is None:
        return "not probed"
    try:
        return read(url)
    except Exception as error:  # a server that is down is a fact to report, not a failure
        return f"not reachable ({type(error).__name__})"


def versions(
    postgres: str | None = DEFAULT_PG, broker: str | None = DEFAULT_BROKER
) -> dict[str, str]:
    """Python, the packages the benchmarks use, and the servers' versions (``None``: not
    probed; a server that does not answer is reported as not reachable)."""
    found = {"Python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    found["PostgreSQL server"] = _probe(_postgres_version, postgres)
    found["RabbitMQ server"] = _probe(_rabbitmq_version, broker)
    return found


def _short(name: str) -> str:
    return f"`{name.rsplit('.', 1)[-1]}`"


def render(
    runs: Sequence[Run],
    machine: dict[str, str],
    versions: dict[str, str],
    at: dt.datetime,
    *,
    command: str = "python -m benchmarks",
    not_run: Sequence[str] = (),
) -> str:
    """The Markdown text of RESULTS.md; ``not_run`` names the benchmarks this run left out."""
    held = ", ".join(_short(run.name) for run in runs) or "none"
    left = f" Not run this time: {', '.join(_short(name) for name in not_run)}." if not_run else ""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}` on {at:%Y-%m-%d %H:%M %Z}. It holds: {held}.{left}",
        "Methods and targets: README.md beside this file. Figures are from one run on one "
        "machine; compare ratios within a run, not figures across machines.",
        "",
    ]
    for title, table in (("Machine", machine), ("Versions", versions)):
        lines += [f"## {title}", "", "| | |", "|---|---|"]
        lines += [f"| {key} | {value} |" for key, value in table.items()]
        lines.append("")
    for run in runs:
        lines += [
            f"## {run.name.rsplit('.', 1)[-1]}",
            "",
            "```sh",
            run.command,
            "```",
            "",
            f"Took {run.seconds:,.0f} s."
            + (" **Failed**; the error is below." if run.error else ""),
            "",
            "```text",
            (run.output.rstrip() or "(no output)"),
            "```",
            "",
        ]
        if run.error:
            lines += ["```text", run.error.rstrip(), "```", ""]
    return "\n".join(lines)


def write(
    runs: Sequence[Run],
    path: Path = DEFAULT_PATH,
    *,
    machine_facts: dict[str, str] | None = None,
    version_facts: dict[str, str] | None = None,
    at: dt.datetime | None = None,
    command: str = "python -m benchmarks",
    not_run: Sequence[str] = (),
) -> Path:
    """Write RESULTS.md for ``runs`` at ``path``; the facts default to this machine's."""
    text = render(
        runs,
        machine_facts if machine_facts is not None else machine(),
        version_facts if version_facts is not None else versions(),
        at if at is not None else dt.datetime.now(dt.UTC),
        command=command,
        not_run=not_run,
    )
    path.write_text(text, encoding="utf-8")
    return path
