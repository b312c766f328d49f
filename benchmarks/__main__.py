"""Run every benchmark in turn and write ``benchmarks/RESULTS.md``: ``python -m benchmarks``
(``make bench``).

    python -m benchmarks [--only NAME ...] [--output FILE]

``--only`` runs a subset (``bench_peers`` or ``peers``; repeatable). Each benchmark runs with its
default options; its table is echoed and kept, and RESULTS.md holds the tables of this run with
the machine, the versions, each command and the date. A benchmark that fails is reported there
and makes the exit status 1; the others still run.

The SLA-query benchmark generates 1,000,000 dossiers on each backend and takes about a quarter
of an hour; the others take a minute or two. PostgreSQL is the local server (see each module).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from types import ModuleType

from benchmarks import (
    bench_api,
    bench_calendar,
    bench_metrics,
    bench_peers,
    bench_reads_beside_writes,
    bench_routing,
    bench_simulation,
    bench_sla_board,
    bench_sla_queries,
    bench_store,
    bench_transitions,
    results,
)

MODULES: tuple[ModuleType, ...] = (
    bench_transitions,
    bench_calendar,
    bench_store,
    bench_routing,
    bench_api,
    bench_metrics,
    bench_simulation,
    bench_sla_queries,
    bench_sla_board,
    bench_reads_beside_writes,
    bench_peers,
)


def selected(only: list[str] | None) -> list[ModuleType]:
    """The benchmarks named in ``only`` (short or full names), in run order; all without it."""
    if not only:
        return list(MODULES)
    short = {module.__name__.rsplit(".", 1)[-1]: module for module in MODULES}
    wanted = []
    for name in only:
        key = name.rsplit(".", 1)[-1]
        key = key if key in short else f"bench_{key}"
        if key not in short:
            raise SystemExit(f"unknown benchmark '{name}'; choose from: {', '.join(short)}")
        wanted.append(short[key])
    return [module for module in MODULES if module in wanted]


def unwritable(path: Path) -> str | None:
    """Why the results could not be written to ``path``, or None if they can."""
    folder = path.parent
    if not folder.is_dir():
        return f"the folder {folder} does not exist; create it or choose another file"
    if path.is_dir():
        return f"{path} is a folder; name a file, such as {path / 'RESULTS.md'}"
    if not os.access(path if path.exists() else folder, os.W_OK):
        return f"{path} cannot be written (permissions); choose another file"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only this benchmark (repeatable)"
    )
    parser.add_argument("--output", type=Path, default=results.DEFAULT_PATH)
    args = parser.parse_args()
    problem = unwritable(args.output)
    if problem:  # found now, not after the whole run
        parser.error(f"argument --output: {problem}")
    chosen = selected(args.only)
    runs = []
    for module in chosen:
        print(f"\n== {module.__name__} ==", flush=True)
        runs.append(results.capture(module.__name__, module.main))
    command = " ".join(["python -m benchmarks", *(f"--only {name}" for name in args.only or ())])
    not_run = [module.__name__ for module in MODULES if module not in chosen]
    path = results.write(runs, args.output, command=command, not_run=not_run)
    print(f"\nwrote {path.name}: {', '.join(run.name for run in runs)}")
    if any(run.error for run in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
