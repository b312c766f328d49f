"""``lienthong simulate``: calibrate a baseline from history, and run what-if scenarios against
it (table or JSON, charts on request)."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from adapters.bootstrap import Settings, bootstrap, load
from adapters.cli.common import err, fail, out
from adapters.cli.metrics import From, To, ZoneOption, instant
from adapters.reports import plain
from procedures.calendar_file import load_calendar
from procedures.scenario import LoadedScenario, dump_baseline, load_scenario
from workflow.errors import WorkflowError
from workflow.metrics import Period
from workflow.simulation import Outcome, summarise, verdict
from workflow.simulation.report import Estimate, GoalVerdict

simulate_app = typer.Typer(
    help="What-if simulation: project the processing time of changed procedures.",
    no_args_is_help=True,
)


class SimulationOutput(StrEnum):
    TABLE = "table"
    JSON = "json"


@simulate_app.command("calibrate")
def calibrate(
    out_file: Annotated[Path, typer.Option("--out", help="the baseline file to write")],
    start: From = None,
    end: To = None,
    log: Annotated[
        str | None,
        typer.Option("--log", help="an event-log file (CSV/XES) or imported log's name"),
    ] = None,
    tz: ZoneOption = None,
) -> None:
    """Fit the baseline model (arrivals, work times, supplements, hand-overs, staff) from the
    dossiers received in the period, in our history or an event log, and write it as YAML."""
    from adapters.simulation import calibrated  # noqa: PLC0415 (simpy loads only here)

    try:
        app = bootstrap()
        zone = app.calendar.tz
        period = Period(instant(start, "--from", zone), instant(end, "--to", zone, end=True))
        model, _, _ = calibrated(app, period, log, tz)
        out_file.write_text(dump_baseline(model), encoding="utf-8")
    except (WorkflowError, OSError) as error:
        raise fail(error) from None
    err.print(
        f"baseline of {len(model.procedures)} procedure(s) and {len(model.agencies)} agencies "
        f"written to {out_file} ({model.source})",
        highlight=False,
    )


def _horizon(text: str | None) -> int | None:
    if text is None:
        return None
    found = re.fullmatch(r"\s*(\d+)\s*([dwy]?)\s*", text)
    if not found or int(found[1]) < 1:
        raise fail(ValueError(f"--horizon '{text}' is not a duration such as 365d, 8w or 1y"))
    return int(found[1]) * {"": 1, "d": 1, "w": 7, "y": 365}[found[2]]


@simulate_app.command("run")
def run(
    scenario: Annotated[Path, typer.Argument(help="a scenario or baseline file")],
    replications: Annotated[int, typer.Option("--replications", "-n", min=1)] = 10,
    seed: Annotated[int, typer.Option("--seed", help="the same seed gives the same figures")] = 1,
    horizon: Annotated[
        str | None, typer.Option("--horizon", help="arrivals over this long, e.g. 365d")
    ] = None,
    current: Annotated[
        bool,
        typer.Option("--from-current-state", help="start today, with the dossiers open now"),
    ] = False,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="processes")] = None,
    output: Annotated[SimulationOutput, typer.Option("--format")] = SimulationOutput.TABLE,
    plot: Annotated[Path | None, typer.Option("--plot", file_okay=False)] = None,
    plot_format: Annotated[str, typer.Option("--plot-format", help="png or svg")] = "png",
) -> None:
    """Simulate the baseline and the scenario (N replications each, on the cores in parallel)
    and show them side by side: median and p90 processing time with 95% intervals, on-time
    rate, staff utilisation, and the 20% goal against each procedure's baseline."""
    from adapters.simulation import replicate, with_current_state  # noqa: PLC0415

    days = _horizon(horizon)
    try:
        settings = Settings.from_env()
        catalogue = load(settings)
        calendar = load_calendar(settings.calendar_file)
        loaded = load_scenario(scenario, catalogue, day_hours=calendar.day_length / 3.6e9)
        models = [loaded.baseline, loaded.scenario] if loaded.changes else [loaded.baseline]
        if days is not None:
            models = [replace(model, horizon_days=days) for model in models]
        if current:
            app = bootstrap(settings)
            models = [with_current_state(app, model) for model in models]
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            auto_refresh=False,  # no refresh thread while worker processes are forked
        ) as progress:
            task = progress.add_task("replications", total=replications * len(models))
            runs = replicate(
                models,
                calendar,
                replications,
                seed,
                workers=workers,
                done=lambda: progress.update(task, advance=1, refresh=True),
            )
        outcomes = [
            summarise(model, found, keep_durations=plot is not None)
            for model, found in zip(models, runs, strict=True)
        ]
        if plot is not None:
            from adapters.simulation_plots import plot_simulation  # noqa: PLC0415

            written = plot_simulation(
                outcomes[0], outcomes[-1], plot, plot_format, loaded.scenario.goal
            )
    except (WorkflowError, OSError) as error:
        raise fail(error) from None
    baseline, changed = outcomes[0], outcomes[-1]
    if output is SimulationOutput.JSON:
        data = report_json(loaded, baseline, changed, replications, seed)
        data |= {"start": models[-1].start.isoformat(), "horizon_days": models[-1].horizon_days}
        data["open_dossiers"] = len(models[-1].open_dossiers)
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        out.print(procedures_table(loaded, baseline, changed))
        out.print(agencies_table(baseline, changed))
    if plot is not None:
        typer.echo(f"{len(written)} chart(s) written to {plot}", err=True)


def _verdicts(loaded: LoadedScenario, outcome: Outcome) -> dict[str, GoalVerdict]:
    goal = loaded.scenario.goal
    return {p.procedure: verdict(p, goal) for p in outcome.procedures}


def report_json(
    loaded: LoadedScenario, baseline: Outcome, scenario: Outcome, replications: int, seed: int
) -> dict[str, Any]:
    """The figures of both models, per procedure and per agency, as JSON-able data."""
    before, after = _verdicts(loaded, baseline), _verdicts(loaded, scenario)
    procedures = []
    for mine in scenario.procedures:
        theirs = baseline.procedure(mine.procedure)
        row = {k: v for k, v in plain(mine).items() if k != "durations_days"}
        procedures.append(
            {
                "procedure": mine.procedure,
                "baseline": None
                if theirs is None
                else {k: v for k, v in plain(theirs).items() if k != "durations_days"},
                "scenario": row,
                "goal_baseline": plain(before.get(mine.procedure)),
                "goal_scenario": plain(after[mine.procedure]),
            }
        )
    staff = {a.agency: a for a in baseline.agencies}
    agencies = [
        {"agency": a.agency, "baseline": plain(staff.get(a.agency)), "scenario": plain(a)}
        for a in scenario.agencies
    ]
    return {
        "file": str(loaded.path),
        "baseline": loaded.baseline.name,
        "scenario": loaded.scenario.name,
        "changes": [{"change": type(c).__name__, **plain(c)} for c in loaded.changes],
        "start": loaded.scenario.start.isoformat(),
        "horizon_days": loaded.scenario.horizon_days,
        "replications": replications,
        "seed": seed,
        "goal": loaded.scenario.goal,
        "procedures": procedures,
        "agencies": agencies,
    }


def _d(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ci(e: Estimate | None, percent: bool = False) -> str:
    if e is None or e.value is None:
        return "-"

    def show(value: float) -> str:
        return f"{value:.1%}" if percent else f"{value:.2f}"

    if e.low is None or e.high is None:
        return show(e.value)
    return f"{show(e.value)} [{show(e.low)}, {show(e.high)}]"


def procedures_table(loaded: LoadedScenario, baseline: Outcome, scenario: Outcome) -> Table:
    """Per procedure, the baseline's and the scenario's figures side by side."""
    title = (
        f"Baseline '{baseline.name}' | scenario '{scenario.name}': working days, "
        f"{scenario.replications} replication(s), 95% intervals"
    )
    table = Table(title=title, title_justify="left")
    for column in (
        "procedure",
        "dossiers/run",
        "median base",
        "median scenario",
        "p90 base",
        "p90 scenario",
        "on time base",
        "on time scenario",
        "baseline",
        "reduction",
        "20% goal base | scenario",
    ):
        table.add_column(column, overflow="fold")
    before, after = _verdicts(loaded, baseline), _verdicts(loaded, scenario)
    for mine in scenario.procedures:
        theirs = baseline.procedure(mine.procedure)
        goal = after[mine.procedure]
        old = before.get(mine.procedure)
        reduction = "-"
        if goal.reduction is not None:
            reduction = f"{goal.reduction:.1%}"
            if goal.reduction_low is not None and goal.reduction_high is not None:
                reduction += f" [{goal.reduction_low:.1%}, {goal.reduction_high:.1%}]"
        verdicts = " | ".join(
            "-" if v is None else v.goal.value.replace("_", " ") + (" ✓" if v.confirmed else "")
            for v in (old, goal)
        )
        source = f" ({mine.baseline_source})" if mine.baseline_source else ""
        table.add_row(
            f"{mine.procedure} @ {mine.version}",
            f"{theirs.dossiers:.0f} | {mine.dossiers:.0f}" if theirs else f"{mine.dossiers:.0f}",
            _ci(theirs.median_days if theirs else None),
            _ci(mine.median_days),
            _ci(theirs.p90_days if theirs else None),
            _ci(mine.p90_days),
            _ci(theirs.on_time_rate if theirs else None, percent=True),
            _ci(mine.on_time_rate, percent=True),
            _d(mine.baseline_days) + source,
            reduction,
            verdicts,
        )
    return table


def agencies_table(baseline: Outcome, scenario: Outcome) -> Table:
    """Per agency: officers, utilisation and the mean queue, baseline and scenario."""
    table = Table(title="Agencies (officers; utilisation; mean wait for an officer, working hours)")
    for column in ("agency", "staff", "utilisation base", "utilisation scenario", "queue h"):
        table.add_column(column)
    before = {a.agency: a for a in baseline.agencies}
    for mine in scenario.agencies:
        theirs = before.get(mine.agency)
        table.add_row(
            mine.agency,
            f"{theirs.staff} → {mine.staff}" if theirs else str(mine.staff),
            _ci(theirs.utilisation if theirs else None, percent=True),
            _ci(mine.utilisation, percent=True),
            f"{theirs.queue_hours:.2f} → {mine.queue_hours:.2f}"
            if theirs
            else _d(mine.queue_hours),
        )
    return table
