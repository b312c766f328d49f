"""Run every benchmark in turn: ``python -m benchmarks`` (``make bench``).

The SLA-query benchmark generates 1,000,000 dossiers on each backend and takes about a quarter
of an hour; the others take a minute or two. PostgreSQL is the local server (see each module).
"""

from __future__ import annotations

import sys

from benchmarks import (
    bench_api,
    bench_calendar,
    bench_metrics,
    bench_routing,
    bench_simulation,
    bench_sla_board,
    bench_sla_queries,
    bench_store,
    bench_transitions,
)


def main() -> None:
    modules = (
        bench_transitions,
        bench_calendar,
        bench_store,
        bench_routing,
        bench_api,
        bench_metrics,
        bench_simulation,
        bench_sla_queries,
        bench_sla_board,
    )
    for module in modules:
        print(f"\n== {module.__name__} ==", flush=True)
        sys.argv = [module.__name__]
        module.main()


if __name__ == "__main__":
    main()
