"""``lienthong demo``: a simulated year of the catalogue's caseload through the real engine."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adapters.bootstrap import App, bootstrap
from adapters.cli.common import err, fail, out
from adapters.demo import (
    MAX_PER_DAY,
    DemoPlan,
    DemoSummary,
    check_bus,
    check_empty,
    check_plan,
    run_demo,
)
from workflow.errors import WorkflowError


def seed_demo(app: App, plan: DemoPlan, *, force: bool = False) -> DemoSummary:
    """Run ``plan`` into ``app`` with a progress bar over its days; print what it did."""
    check_plan(app, plan)  # a refusal comes before the bar
    check_bus(app)
    check_empty(app, force=force)
    columns = (
        TextColumn("[bold]demo[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[dossiers]} dossiers"),
    )
    days_done = 0
    stopped = False
    try:
        logging.getLogger(POOL_LOGGER).addFilter(_not_interrupts)
        with (
            interrupts_remembered() as pressed,
            Progress(*columns, console=out, transient=False) as progress,
        ):
            task = progress.add_task(f"from {plan.start}", total=plan.days, dossiers=0)

            def on_day(done: int, summary: DemoSummary) -> None:
                nonlocal days_done
                days_done = done
                progress.update(task, completed=done, dossiers=summary.submitted)

            summary = run_demo(app, plan, force=force, on_day=on_day, stopped=pressed.is_set)
    except KeyboardInterrupt:
        stopped = True  # handled below, once the interrupted work's frames are let go
    finally:
        logging.getLogger(POOL_LOGGER).removeFilter(_not_interrupts)
    if stopped:
        # Work the interrupt cut short can be left in reference cycles with its frames,
        # holding a connection in a transaction (and SQLite's write lock) until the collector
        # runs. Collect it now, so the connection goes back to the pool rolled back: without
        # this, the queue's restore of unacknowledged messages at exit could wait the busy
        # timeout (30 s) for the lock, in about one interrupt of three.
        gc.collect()
        raise interrupted(app, plan, days_done)
    print_summary(summary)
    return summary


@contextlib.contextmanager
def interrupts_remembered() -> Iterator[threading.Event]:
    """Ctrl-C (SIGINT) raises ``KeyboardInterrupt`` as usual, and is also kept in the event
    given, for the demo to stop at its next event.

    Python drops an interrupt that lands while a finalizer runs (the collector's, or a
    connection going back to its pool): it prints "Exception ignored" and carries on, and the
    demo would then run all its days. In the main thread only (where Python runs signal
    handlers), and not in a process started with SIGINT ignored, which stays so (as Python
    leaves it); elsewhere the event is never set. The handler before is put back after."""
    pressed = threading.Event()
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # started so (nohup, `&`): kept
    ):
        yield pressed
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        pressed.set()
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGINT, handler)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, before)


#: SQLAlchemy's pool logs an error, with its traceback, when an interrupt lands while it rolls
#: back a connection coming back to it; the interrupt is the person's own, not an error
POOL_LOGGER = "sqlalchemy.pool.impl.QueuePool"


def _not_interrupts(record: logging.LogRecord) -> bool:
    return not (record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt))


def interrupted(app: App, plan: DemoPlan, days_done: int) -> typer.Exit:
    """Say what an interrupted demo left in the store and how to start again; exit 130."""
    where = (
        f"remove {app.settings.var_dir} or set another LIENTHONG_VAR_DIR"
        if app.settings.embedded
        else "use another database"
    )
    err.print(
        f"[bold yellow]interrupted[/] after {days_done} of {plan.days} days: the store keeps "
        f"the {app.store.count_dossiers()} dossiers simulated so far (every step it took was "
        "committed whole; hand-overs not yet routed wait in the outbox for `lienthong run`). "
        f"A demo, and `make run`'s seed, start only on an empty store: to start again, {where}.",
        markup=True,
        highlight=False,
    )
    return typer.Exit(130)


def print_summary(s: DemoSummary) -> None:
    """The summary, in a few lines."""
    out.print(
        f"{s.days} days simulated in {s.seconds:.0f} s: {s.submitted} dossiers submitted "
        f"({s.online} online, {s.counter} at the counter), {s.finished} finished "
        f"({s.late} late), {s.returned} returned, {s.ratings} rated; {s.supplements} "
        f"supplement requests, {s.fees} fees, {s.apologies} apologies (form 04), "
        f"{s.transfers} dossiers transferred at the reorganisation; {s.messages_published} "
        f"hand-over messages routed, {s.messages_acknowledged} acknowledged; "
        f"{s.open_at_end} still open."
    )


def demo(
    days: int = typer.Option(365, min=1, help="how many days to simulate"),
    dossiers_per_day: float = typer.Option(
        300.0,
        "--dossiers-per-day",
        min=0.0,
        max=MAX_PER_DAY,
        help="mean dossiers received per working day",
    ),
    seed: int = typer.Option(1, help="the random seed: the same seed gives the same history"),
    start: str = typer.Option(
        "2025-01-02", help="the first day (the default year straddles 1 July 2025)"
    ),
    force: bool = typer.Option(False, "--force", help="add to a store that holds dossiers"),
) -> None:
    """Simulate a caseload through the real engine, store and bus on a simulated clock: online
    and counter dossiers, officers' work, supplements, fees, late dossiers with apologies, and
    the reorganisation of 1 July 2025. Refuses a store that already holds dossiers unless
    --force."""
    try:
        first = dt.date.fromisoformat(start)
    except ValueError:
        raise fail(ValueError(f"--start '{start}' is not a date; give it as 2025-01-02")) from None
    plan = DemoPlan(start=first, days=days, per_day=dossiers_per_day, seed=seed)
    try:
        seed_demo(bootstrap(), plan, force=force)
    except WorkflowError as error:
        raise fail(error) from None
    out.print(
        "Look at it: `lienthong metrics`, `lienthong scorecard`, `lienthong sla`, or "
        "`lienthong run` and the dashboard at http://127.0.0.1:8000/dashboard"
    )
