"""The simulation model on the real catalogue: deterministic, and each scenario change moves the
figures the way it must (common random numbers make even small runs comparable)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest

from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.simulation import (
    Outcome,
    SimulationModel,
    apply_changes,
    check_model,
    simulate,
    summarise,
)
from workflow.simulation import changes as c
from workflow.simulation.distributions import Empirical, Fixed, LogNormal, normal_quantile
from workflow.simulation.errors import ScenarioError, SimulationError
from workflow.simulation.model import AgencyModel, Arrivals, from_definition

CALENDAR = WorkingCalendar()
LINKED = "2.000986"
WARD, POLICE, INSURANCE = "000.00.71.H26", "000.09.71.H26", "000.08.71.H26"


@pytest.fixture(scope="module")
def model(catalogue: Catalogue) -> SimulationModel:
    """The linked birth procedure, 3,000 dossiers a year (about 12 a working day) for 60 days,
    paper hand-overs, every agency's officers about 85% busy (the police: 12 x 3.4 hours a day
    for 6 officers)."""
    definition = catalogue.get(LINKED, version="2025")
    work = {
        "reception": LogNormal(0.5, 0.4),
        "birth_registration": LogNormal(1.5, 0.5),
        "residence_registration": LogNormal(3.0, 0.5),
        "health_insurance": LogNormal(2.0, 0.5),
    }
    arrivals = Arrivals(3000, (("online", 0.6), ("counter", 0.4)))
    procedure = replace(
        from_definition(definition, arrivals, work), baseline_days=2.0, baseline_source="declared"
    )
    agencies = (AgencyModel(WARD, 5), AgencyModel(INSURANCE, 5), AgencyModel(POLICE, 6))
    return SimulationModel("test", dt.date(2026, 3, 2), 60, (procedure,), agencies)


def outcome(model: SimulationModel, replications: int = 2, seed: int = 11) -> Outcome:
    return summarise(model, [simulate(model, CALENDAR, seed, i) for i in range(replications)])


def median(result: Outcome) -> float:
    value = result.procedures[0].median_days.value
    assert value is not None
    return value


def test_the_model_follows_the_definitions_processing_steps(model: SimulationModel) -> None:
    [procedure] = model.procedures
    assert [s.id for s in procedure.steps] == [
        "reception",
        "birth_registration",
        "residence_registration",
        "health_insurance",
    ]  # the return counter comes after the finish: not processing time
    assert procedure.paths[0].steps == tuple(s.id for s in procedure.steps)
    assert procedure.limit_days == 3 and check_model(model) == []


def test_the_same_seed_gives_the_same_replication(model: SimulationModel) -> None:
    first, second = simulate(model, CALENDAR, 7, 1), simulate(model, CALENDAR, 7, 1)
    assert np.array_equal(first.days, second.days)
    assert np.array_equal(first.on_time, second.on_time)
    assert np.array_equal(first.busy_hours, second.busy_hours)
    other = simulate(model, CALENDAR, 7, 2)
    assert not np.array_equal(first.days[:50], other.days[:50])


def test_a_replication_counts_what_arrived_and_what_the_officers_did(
    model: SimulationModel,
) -> None:
    run = simulate(model, CALENDAR, 3, 0)
    expected = 3000 / 365.25 * 60
    assert 0.8 * expected < len(run.days) < 1.2 * expected
    assert (run.days > 0).all() and run.on_time.dtype == np.bool_
    assert (run.busy_hours <= run.available_hours).all()
    assert run.visits.tolist() == [2 * len(run.days), len(run.days), len(run.days)]


def test_shorter_work_shortens_the_processing_time(model: SimulationModel) -> None:
    faster = apply_changes(model, [c.ShortenWork(LINKED, 0.5, "residence_registration")])
    assert median(outcome(faster)) < median(outcome(model))


def test_a_shorter_limit_lowers_the_on_time_rate(model: SimulationModel) -> None:
    strict = apply_changes(model, [c.ShortenLimit(LINKED, 0.5)])
    assert strict.procedures[0].limit_days == 1.5
    before, after = outcome(model), outcome(strict)
    assert after.procedures[0].on_time_rate.value < before.procedures[0].on_time_rate.value  # type: ignore[operator]
    assert median(after) == pytest.approx(median(before))  # the work itself is as it was


def test_removing_or_merging_a_step_shortens_the_processing_time(
    model: SimulationModel,
) -> None:
    removed = apply_changes(model, [c.RemoveStep(LINKED, "health_insurance")])
    merged = apply_changes(model, [c.MergeSteps(LINKED, ("reception", "birth_registration"))])
    assert [s.id for s in merged.procedures[0].steps][:2] == [
        "reception",
        "residence_registration",
    ]
    assert len(merged.procedures[0].step("reception").work) == 2
    base = median(outcome(model))
    assert median(outcome(removed)) < base
    assert median(outcome(merged)) < base  # one queue less at the ward


def test_electronic_hand_overs_save_the_paper_delay(model: SimulationModel) -> None:
    electronic = apply_changes(model, [c.ElectronicHandover(LINKED)])
    assert all(s.electronic_share == 1 for s in electronic.procedures[0].steps)
    saved = median(outcome(model)) - median(outcome(electronic))
    assert saved > 0.5 * 8 / 8  # two paper hand-overs of 4 working hours: about a day


def test_staff_where_the_queue_is_shortens_it(model: SimulationModel) -> None:
    fewer = apply_changes(model, [c.SetStaff(POLICE, staff=5)])
    more = apply_changes(model, [c.SetStaff(POLICE, add=2)])
    moved = apply_changes(model, [c.MoveStaff(WARD, POLICE, 1)])
    assert moved.staff() == {WARD: 4, INSURANCE: 5, POLICE: 7}
    police = [a.agency for a in outcome(model).agencies].index(POLICE)
    queue = {
        name: outcome(m).agencies[police].queue_hours
        for name, m in (("fewer", fewer), ("base", model), ("more", more), ("moved", moved))
    }
    assert queue["fewer"] > queue["base"] > queue["more"]
    assert queue["moved"] < queue["base"]
    assert median(outcome(fewer)) > median(outcome(model)) > median(outcome(more))


def test_more_demand_brings_more_dossiers_and_busier_officers(model: SimulationModel) -> None:
    busier = apply_changes(model, [c.Demand(0.3, channel="online")])
    assert busier.procedures[0].arrivals.per_year == pytest.approx(3000 * (1 + 0.6 * 0.3))
    shares = dict(busier.procedures[0].arrivals.channels)
    assert shares["online"] == pytest.approx(0.6 * 1.3 / 1.18)
    before, after = outcome(model), outcome(busier)
    assert after.procedures[0].dossiers > before.procedures[0].dossiers
    assert all(
        b.utilisation.value < a.utilisation.value  # type: ignore[operator]
        for b, a in zip(before.agencies, after.agencies, strict=True)
    )


def test_switching_version_takes_the_versions_steps_and_keeps_the_work(
    model: SimulationModel, catalogue: Catalogue
) -> None:
    old = catalogue.get(LINKED, version="2018")
    switched = apply_changes(model, [c.SwitchVersion(LINKED, "2018")], catalogue)
    procedure = switched.procedures[0]
    assert procedure.version == "2018" and procedure.limit_days == old.limit_days
    assert {s.agency for s in procedure.steps} <= set(switched.staff())
    shared = {s.id for s in procedure.steps} & {s.id for s in model.procedures[0].steps}
    for step_id in shared:
        assert procedure.step(step_id).work == model.procedures[0].step(step_id).work
    assert procedure.baseline_days == 2.0  # the goal is still measured against the baseline
    outcome(switched, replications=1)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (c.ShortenWork("9.999999", 0.3), "changes[0].procedure", "unknown procedure '9.999999'"),
        (c.RemoveStep(LINKED, "nope"), "changes[0].step", "unknown step 'nope'"),
        (c.SetStaff("NOPE", add=1), "changes[0].agency", "unknown agency 'NOPE'"),
        (c.SetStaff(POLICE, add=-9), "changes[0].add", "negative staff (-3)"),
        (c.MoveStaff(WARD, POLICE, 6), "changes[0].count", "negative staff (-1)"),
        (c.ShortenWork(LINKED, 1.5), "changes[0].by", "between 0 and 1"),
        (c.Demand(0.3, LINKED, "post"), "changes[0].channel", "no 'post' arrivals"),
        (c.SwitchVersion(LINKED, "1999"), "changes[0].version", "no version '1999'"),
    ],
)
def test_a_change_naming_what_does_not_exist_is_refused(
    model: SimulationModel,
    catalogue: Catalogue,
    change: c.Change,
    field: str,
    words: str,
) -> None:
    with pytest.raises(ScenarioError) as raised:
        apply_changes(model, [c.Demand(0.1), change], catalogue)
    [problem] = raised.value.problems
    assert problem.field == field.replace("[0]", "[1]") and words in problem.reason


def test_every_bad_change_is_reported_at_once(model: SimulationModel) -> None:
    with pytest.raises(ScenarioError) as raised:
        apply_changes(model, [c.RemoveStep("x", "y"), c.SetStaff("z", 1)])
    assert [p.field for p in raised.value.problems] == [
        "changes[0].procedure",
        "changes[1].agency",
    ]


def test_impossible_distributions_are_refused() -> None:
    for make, words in (
        (lambda: LogNormal(2.0, -1.0), "sigma cannot be negative"),
        (lambda: LogNormal(0.0, 1.0), "median must be above 0"),
        (lambda: Fixed(-1.0), "cannot be negative"),
        (lambda: Empirical((3.0, 2.0)), "must not decrease"),
        (lambda: Empirical((1.0,)), "at least 2"),
    ):
        with pytest.raises(SimulationError, match=words):
            make()


def test_distributions_draw_what_they_say() -> None:
    rng = np.random.default_rng(1)
    assert np.median(LogNormal(2.0, 0.5).sample(rng, 20_000)) == pytest.approx(2.0, rel=0.03)
    fitted = Empirical.fit(np.arange(1001, dtype=np.float64))
    assert fitted.quantiles[50] == 500 and fitted.mean() == pytest.approx(500, rel=1e-3)
    outlier = Empirical.fit(np.array([1.0] * 999 + [10_000.0]))
    assert outlier.mean() == pytest.approx((999 + 10_000) / 1000, rel=0.01)  # the mean is kept
    u = np.array([0.001, 0.025, 0.5, 0.975])
    assert normal_quantile(u) == pytest.approx([-3.0902323, -1.959964, 0.0, 1.959964], abs=1e-6)


def test_a_model_with_negative_staff_or_an_unstaffed_agency_is_refused(
    model: SimulationModel,
) -> None:
    bad = replace(model, agencies=(AgencyModel(WARD, -1), AgencyModel(POLICE, 0)))
    reasons = {p.field: p.reason for p in check_model(bad)}
    assert "negative staff" in reasons["agencies[0].staff"]
    assert "no staff but steps need it" in reasons["agencies[1].staff"]
    assert "has no entry under agencies" in reasons["procedures[0].steps[3].agency"]
