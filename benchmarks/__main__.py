"""Run every benchmark in turn: ``python -m benchmarks`` (``make bench``)."""

from __future__ import annotations

import sys

from benchmarks import bench_calendar, bench_transitions


def main() -> None:
    for module in (bench_transitions, bench_calendar):
        print(f"\n== {module.__name__} ==", flush=True)
        sys.argv = [module.__name__]
        module.main()


if __name__ == "__main__":
    main()
