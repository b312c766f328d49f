"""What-if simulation: one replication of a year of a ward's caseload, against a plain SimPy
M/M/c model of the same size, and 30 replications over the cores.

The caseload (seeded): 100,000 dossiers a year over the catalogue's ten procedures in force on
1 January 2026, in the shares a ward sees (certified copies and signatures most, land and
construction least), received on weekdays in office hours (a fifth online at any hour). Each
step's work is log-normal, a quarter of its allotted share at the median (at least a quarter of
an hour), sigma 0.6; hand-overs between agencies are paper for half the dossiers (4 working
hours); a tenth of the residence and land dossiers wait for a supplement. Each agency has the
officers that keep it about 80% busy.

Timed, in the same run:

- **lienthong**: :func:`workflow.simulation.simulate`, one replication on one core (drawing the
  random numbers, the SimPy run on the working-time line, the verdicts);
- **floor**: plain SimPy, the same number of customers arriving as a Poisson process over the
  same working hours, each visiting as many stations as a dossier does (the same agencies, in
  the same shares), each station an M/M/c queue with that agency's officers and its mean work;
  nothing else (no calendar, no draws up front, no verdicts);
- **30 replications** of the lienthong model through ``adapters.simulation.replicate`` on
  ``--workers`` processes.

    python -m benchmarks.bench_simulation [--dossiers 100000] [--replications 30] [--workers 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
import simpy

from adapters.simulation import replicate
from benchmarks.args import count
from procedures import load_agencies, load_catalogue
from workflow.calendar import WorkingCalendar
from workflow.simulation import SimulationModel, simulate
from workflow.simulation.distributions import LogNormal
from workflow.simulation.draws import draw, horizon_hours
from workflow.simulation.model import AgencyModel, Arrivals, Supplement, from_definition

T = TypeVar("T")
START = dt.date(2026, 1, 1)
SHARES = {  # of a ward's dossiers
    "2.000815": 0.34,
    "2.000884": 0.18,
    "1.001193": 0.10,
    "1.004222": 0.10,
    "2.000986": 0.08,
    "1.001612": 0.06,
    "1.000894": 0.04,
    "1.000656": 0.04,
    "HN-XD-NORL": 0.03,
    "HN-DD-CGCN": 0.03,
}
BUSY = 0.8
TARGET = "target: one replication at most 5 s on one core; 30 replications at most 90 s on 2 cores"
OFFICE = tuple(1.0 if 8 <= h < 17 and h != 12 else 0.0 for h in range(24))
ANY_HOUR = tuple(0.2 / 24 + (0.8 / 8 if v else 0.0) for v in OFFICE)


@dataclass(frozen=True)
class Result:
    """One timed piece of work."""

    side: str
    work: str
    dossiers: int
    seconds: float


def ward_model(dossiers: int = 100_000) -> SimulationModel:
    """A year of a ward's caseload over the catalogue (see the module docstring)."""
    catalogue = load_catalogue(agencies=load_agencies())
    procedures = []
    for definition in catalogue.current(START):
        arrivals = Arrivals(
            dossiers * SHARES[definition.code],
            (("counter", 0.8), ("online", 0.2)),
            (1.0, 1.0, 1.0, 1.0, 1.0, 0.05, 0.05),
            ANY_HOUR,
        )
        work = {s.id: LogNormal(max(0.25, s.share_days * 8 * 0.25), 0.6) for s in definition.steps}
        procedure = from_definition(definition, arrivals, work)
        steps = tuple(
            replace(
                s,
                electronic_share=0.5,
                supplement=Supplement(0.1, LogNormal(16.0, 0.8))
                if s.id in ("residence_registration", "land_registration")
                else None,
            )
            for s in procedure.steps
        )
        procedures.append(replace(procedure, steps=steps))
    load: dict[str, float] = {}
    for p in procedures:
        per_day = p.arrivals.per_year / 250
        for s in p.steps:
            load[s.agency] = load.get(s.agency, 0.0) + per_day * sum(w.mean() for w in s.work) / 8
    agencies = tuple(AgencyModel(a, math.ceil(load[a] / BUSY)) for a in sorted(load))
    return SimulationModel("ward year", START, 365, tuple(procedures), agencies)


def mmc_floor(model: SimulationModel, calendar: WorkingCalendar, seed: int = 1) -> int:
    """The plain SimPy M/M/c network of the same size; returns the customers served."""
    draws = draw(model, calendar, seed, 0)
    start, end = horizon_hours(model, calendar)
    visits = np.concatenate(
        [np.repeat(np.asarray(r.agencies), len(r.dossiers)) for r in draws.routes]
    )
    per_customer = max(1, round(len(visits) / len(draws.arrival)))
    agencies = len(model.agencies)
    share = np.bincount(visits, minlength=agencies) / len(visits)
    mean = np.zeros(agencies)
    for route in draws.routes:
        for v, agency in enumerate(route.agencies):
            mean[agency] += route.work[:, v].sum()
    mean /= np.maximum(np.bincount(visits, minlength=agencies), 1)
    rng = np.random.default_rng(seed)
    customers = len(draws.arrival)
    gaps = rng.exponential((end - start) / customers, customers).tolist()
    stations = rng.choice(agencies, size=(customers, per_customer), p=share).tolist()
    service = (
        rng.exponential(1.0, (customers, per_customer)) * mean[np.asarray(stations)]
    ).tolist()
    env = simpy.Environment()
    servers = [simpy.Resource(env, capacity=a.staff) for a in model.agencies]
    served = [0]

    def customer(route: list[int], times: list[float]) -> Generator[simpy.Event, Any, None]:
        for station, hours in zip(route, times, strict=True):
            with servers[station].request() as request:
                yield request
                yield env.timeout(hours)
        served[0] += 1

    def source() -> Generator[simpy.Event, Any, None]:
        for i in range(customers):
            yield env.timeout(gaps[i])
            env.process(customer(stations[i], service[i]))

    env.process(source())
    env.run()
    return served[0]


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    gc.collect()
    started = time.perf_counter()
    value = work()
    return value, time.perf_counter() - started


def run(
    dossiers: int = 100_000, replications: int = 30, workers: int = 2, seed: int = 1
) -> list[Result]:
    """The three timings on the same model (the calendar's tables built before timing)."""
    model = ward_model(dossiers)
    calendar = WorkingCalendar()
    horizon_hours(model, calendar)
    one, ours = _timed(lambda: simulate(model, calendar, seed, 0))
    served, floor = _timed(lambda: mmc_floor(model, calendar, seed))
    runs, many = _timed(lambda: replicate([model], calendar, replications, seed, workers=workers))
    assert served == len(one.days), "the floor served another number of customers"
    assert all(len(r.days) > 0.9 * dossiers for r in runs[0]) or dossiers < 10_000
    return [
        Result("lienthong", "one replication, 1 core", len(one.days), ours),
        Result("SimPy M/M/c floor", "one replication, 1 core", served, floor),
        Result(
            "lienthong",
            f"{replications} replications, {workers} processes",
            sum(len(r.days) for r in runs[0]),
            many,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=count, default=100_000)
    parser.add_argument("--replications", type=count, default=30)
    parser.add_argument("--workers", type=count, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    results = run(args.dossiers, args.replications, args.workers, args.seed)
    print(f"{'side':<20}{'work':<34}{'dossiers':>12}{'seconds':>10}{'dossiers/s':>13}")
    for r in results:
        rate = r.dossiers / r.seconds
        print(f"{r.side:<20}{r.work:<34}{r.dossiers:>12,}{r.seconds:>10.2f}{rate:>13,.0f}")
    ours, floor, _ = results
    print(f"lienthong / floor: {ours.seconds / floor.seconds:.2f}x the plain M/M/c time")
    print(TARGET)


if __name__ == "__main__":
    main()
