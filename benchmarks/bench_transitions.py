"""Cost per transition: the engine against a bare ``transitions`` machine with the same states.

Both run the birth-registration lifecycle (accept, hand_over, hand_over, finish, return_result)
on many dossiers. The engine does everything it does in production: checks the trigger, runs the
guards and actions, appends the control-sheet row and updates the dossier. The bare machine is
one shared ``transitions.Machine`` with the same states and transitions and no callbacks.

    python -m benchmarks.bench_transitions [--dossiers N] [--repeat R]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from transitions import Machine

from benchmarks.args import count
from procedures import load_catalogue
from workflow.definition import ProcedureDefinition
from workflow.dossier import Actor, Dossier
from workflow.engine import Engine
from workflow.ports import Clock

PROCEDURE, VERSION = "1.001193", "2025"
PATH = ("accept", "hand_over", "hand_over", "finish", "return_result")
PAYLOADS: dict[str, dict[str, object]] = {"finish": {"result": "KQ-1", "electronic": True}}
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


class _Clock(Clock):
    def now(self) -> dt.datetime:
        return START


class _Bare:
    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


@dataclass(frozen=True)
class Result:
    name: str
    transitions: int
    seconds: float

    @property
    def us_per_transition(self) -> float:
        return self.seconds / self.transitions * 1e6


def bare_machine(definition: ProcedureDefinition) -> Machine:
    """The baseline: one plain ``transitions`` machine with the procedure's states and
    transitions, no callbacks, shared by slotted models."""
    return Machine(
        model=None,
        states=[s.name for s in definition.states],
        transitions=[
            {"trigger": t.trigger, "source": t.source, "dest": t.dest}
            for t in definition.transitions
        ],
        initial=definition.initial,
        auto_transitions=False,
    )


def _timed(work: Callable[[], int]) -> tuple[int, float]:
    """One timed round; like ``timeit``, with the garbage collector off while timing."""
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        count = work()
        return count, time.perf_counter() - started
    finally:
        gc.enable()


def _race(
    repeat: int, sides: dict[str, Callable[[], Callable[[], int]]]
) -> dict[str, tuple[int, float]]:
    """Best round of each side; rounds interleave, so that machine noise hits both alike."""
    best: dict[str, tuple[int, float]] = {name: (0, float("inf")) for name in sides}
    for _ in range(repeat):
        for name, prepare in sides.items():
            count, seconds = _timed(prepare())
            if seconds < best[name][1]:
                best[name] = (count, seconds)
    return best


def run(dossiers: int = 20_000, repeat: int = 5) -> list[Result]:
    """Time both engines; the best of ``repeat`` rounds of ``dossiers`` dossiers each."""
    catalogue = load_catalogue()
    engine = Engine(catalogue, _Clock())
    definition = catalogue.get(PROCEDURE, version=VERSION)
    actor = Actor("bench", definition.steps[0].agency)
    papers = [d.kind for d in definition.documents]

    def engine_round() -> Callable[[], int]:
        batch: list[Dossier] = [
            engine.open(
                code=f"B-{i}",
                procedure=PROCEDURE,
                version=VERSION,
                channel="online",
                applicant_ref="R",
                actor=actor,
                documents=papers,
            )
            for i in range(dossiers)
        ]

        def work() -> int:
            fire = engine.fire
            for dossier in batch:
                for trigger in PATH:
                    fire(dossier, trigger, actor=actor, payload=PAYLOADS.get(trigger))
            return len(batch) * len(PATH)

        return work

    bare = bare_machine(definition)

    def bare_round() -> Callable[[], int]:
        batch = [_Bare(definition.initial) for _ in range(dossiers)]
        events = bare.events

        def work() -> int:
            for model in batch:
                for trigger in PATH:
                    events[trigger].trigger(model)
            return len(batch) * len(PATH)

        return work

    best = _race(repeat, {"bare transitions machine": bare_round, "lienthong engine": engine_round})
    return [Result(name, count, seconds) for name, (count, seconds) in best.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=count, default=20_000)
    parser.add_argument("--repeat", type=count, default=5)
    args = parser.parse_args()
    results = run(args.dossiers, args.repeat)
    bare, ours = results
    print(f"{'engine':<28}{'transitions':>12}{'µs/transition':>16}{'transitions/s':>16}")
    for r in results:
        print(
            f"{r.name:<28}{r.transitions:>12}{r.us_per_transition:>16.2f}"
            f"{r.transitions / r.seconds:>16,.0f}"
        )
    print(
        f"ratio engine/bare: {ours.us_per_transition / bare.us_per_transition:.2f}x "
        "(target: at most 2x)"
    )


if __name__ == "__main__":
    main()
