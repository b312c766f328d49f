"""The simulation's outside world: the history to calibrate from (our store or an event-log
file), and replications run in parallel over the machine's cores.

Replication ``i`` of seed ``S`` draws from its own random streams (see
:mod:`workflow.simulation.draws`), so the results are identical whatever the number of worker
processes, and in whatever order they finish.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from adapters.bootstrap import App
from adapters.reports import calendar_of, history_of
from workflow.calendar import WorkingCalendar
from workflow.history import History, history_from_log
from workflow.metrics import Period
from workflow.simulation import Replication, SimulationModel, calibrate, open_dossiers, simulate


def calibration_history(
    app: App, log: str | None, tz: str | None
) -> tuple[History, WorkingCalendar]:
    """The history to calibrate from: ours, an event-log file (CSV or XES, plain or gzip), or
    an imported log by name; with the calendar read in ``tz`` if one is named."""
    calendar = calendar_of(app, tz)
    if log is None or not Path(log).is_file():
        return history_of(app, log, calendar), calendar
    from adapters.eventlog.reader import read_log  # noqa: PLC0415 (only files need it)

    now = app.engine.clock.now()
    offset = now.astimezone(calendar.tz).utcoffset() or dt.timedelta()
    return history_from_log(read_log(Path(log)), utc_offset=offset), calendar


def calibrated(
    app: App, period: Period, log: str | None = None, tz: str | None = None
) -> tuple[SimulationModel, History, WorkingCalendar]:
    """The baseline model of the dossiers received in ``period``, with its history."""
    history, calendar = calibration_history(app, log, tz)
    return calibrate(history, calendar, app.catalogue, period), history, calendar


def with_current_state(app: App, model: SimulationModel) -> SimulationModel:
    """``model`` starting today, loaded with the dossiers open now in our store."""
    from dataclasses import replace  # noqa: PLC0415

    now = app.engine.clock.now()
    history = history_of(app, None, app.calendar)
    start = now.astimezone(app.calendar.tz).date()
    return replace(
        model, start=start, open_dossiers=open_dossiers(history, app.calendar, now, model)
    )


def _one(job: tuple[SimulationModel, WorkingCalendar, int, int]) -> Replication:
    model, calendar, seed, index = job
    return simulate(model, calendar, seed, index)


def replicate(
    models: list[SimulationModel],
    calendar: WorkingCalendar,
    replications: int,
    seed: int,
    *,
    workers: int | None = None,
    done: Callable[[], None] | None = None,
) -> list[list[Replication]]:
    """``replications`` replications of each model (the same seeds for each: common random
    numbers), over ``workers`` processes (default: the cores; 1: in this process)."""
    jobs = [(model, calendar, seed, i) for model in models for i in range(replications)]
    workers = workers or os.cpu_count() or 1
    results: list[Replication] = []
    if workers == 1 or len(jobs) == 1:
        for job in jobs:
            results.append(_one(job))
            if done is not None:
                done()
    else:
        with cf.ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            futures = [pool.submit(_one, job) for job in jobs]
            for future in cf.as_completed(futures):
                future.result()
                if done is not None:
                    done()
            results = [future.result() for future in futures]
    return [results[i * replications : (i + 1) * replications] for i in range(len(models))]
