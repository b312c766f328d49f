"""The file format of simulation baselines and scenarios (pydantic), and its conversion to the
simulation model of :mod:`workflow.simulation`.

A **baseline** file (``kind: baseline``, written by ``lienthong simulate calibrate``) holds a
whole model: procedures with their arrivals, steps and paths, agencies with their staff, the
hand-over delays. A **scenario** file (``kind: scenario``) names a baseline file and lists the
changes to make to it. Durations are working hours; a distribution is one of
``{fixed: H}``, ``{exponential: {mean: H}}``, ``{lognormal: {median: H, sigma: S}}``,
``{triangular: {low: H, mode: H, high: H}}``, ``{uniform: {low: H, high: H}}`` or
``{empirical: [quantiles at evenly spaced probabilities]}``. Shares are numbers from 0 to 1 or
percentages (``30%``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from workflow.simulation import changes as c
from workflow.simulation import distributions as d
from workflow.simulation import model as m


def _percent(value: object) -> object:
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100
        except ValueError:
            return value
    return value


Share = Annotated[float, BeforeValidator(_percent)]


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class LogNormalSpec(Spec):
    median: float
    sigma: float


class TriangularSpec(Spec):
    low: float
    mode: float
    high: float


class UniformSpec(Spec):
    low: float
    high: float


class ExponentialSpec(Spec):
    mean: float


class DistributionSpec(Spec):
    """Exactly one kind of distribution, with its parameters (working hours)."""

    fixed: float | None = None
    exponential: ExponentialSpec | None = None
    lognormal: LogNormalSpec | None = None
    triangular: TriangularSpec | None = None
    uniform: UniformSpec | None = None
    empirical: list[float] | None = None

    @model_validator(mode="after")
    def _one(self) -> DistributionSpec:
        given = [k for k, v in self.__dict__.items() if v is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of fixed, exponential, lognormal, triangular, uniform, "
                f"empirical (found: {', '.join(given) or 'none'})"
            )
        return self

    def build(self) -> d.Distribution:
        """The distribution (:class:`SimulationError` for impossible parameters)."""
        if self.fixed is not None:
            return d.Fixed(self.fixed)
        if self.exponential is not None:
            return d.Exponential(self.exponential.mean)
        if self.lognormal is not None:
            return d.LogNormal(self.lognormal.median, self.lognormal.sigma)
        if self.triangular is not None:
            t = self.triangular
            return d.Triangular(t.low, t.mode, t.high)
        if self.uniform is not None:
            return d.Uniform(self.uniform.low, self.uniform.high)
        assert self.empirical is not None
        return d.Empirical(tuple(self.empirical))


class SupplementSpec(Spec):
    probability: Share
    delay: DistributionSpec


class StepSpec(Spec):
    id: str
    agency: str
    work: DistributionSpec | list[DistributionSpec]
    share_days: float = 0.0
    electronic_share: Share = 0.0
    supplement: SupplementSpec | None = None


class PathSpec(Spec):
    steps: list[str]
    weight: float = 1.0


class ArrivalsSpec(Spec):
    per_year: float = Field(ge=0)
    channels: dict[str, Share] = Field(default_factory=lambda: {"counter": 1.0})
    weekdays: list[float] = Field(default_factory=lambda: list(m.Arrivals(0).weekdays))
    hours: list[float] = Field(default_factory=lambda: list(m.Arrivals(0).hours))


class ProcedureSpec(Spec):
    code: str
    version: str
    name: str = ""
    limit_days: float | None = Field(default=None, ge=0)
    cutoff: dt.time | None = None
    baseline_days: float | None = Field(default=None, gt=0)
    baseline_source: str | None = None
    case_correlation: Share = 0.0
    arrivals: ArrivalsSpec
    steps: list[StepSpec] = Field(min_length=1)
    paths: list[PathSpec] | None = None


class AgencySpec(Spec):
    code: str
    staff: int


class HandoverSpec(Spec):
    paper: DistributionSpec = DistributionSpec(fixed=4.0)
    electronic: DistributionSpec = DistributionSpec(fixed=0.0)


class BaselineSpec(Spec):
    """A whole model (``kind: baseline``)."""

    kind: Literal["baseline"]
    name: str = "baseline"
    source: str = ""
    start: dt.date
    horizon_days: int = Field(ge=1, le=3660)
    goal: Share = 0.20
    handover: HandoverSpec = HandoverSpec()
    agencies: list[AgencySpec]
    procedures: list[ProcedureSpec] = Field(min_length=1)


class ShortenSpec(Spec):
    procedure: str
    by: Share
    step: str | None = None


class StepRefSpec(Spec):
    procedure: str
    step: str


class MergeSpec(Spec):
    procedure: str
    steps: list[str]


class StaffSpec(Spec):
    agency: str
    set: int | None = None
    add: int = 0


class MoveSpec(Spec):
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    count: int


class ElectronicSpec(Spec):
    procedure: str | None = None
    step: str | None = None
    share: Share = 1.0


class DemandSpec(Spec):
    by: Share
    procedure: str | None = None
    channel: str | None = None


class VersionSpec(Spec):
    procedure: str
    version: str


class ChangeSpec(Spec):
    """Exactly one change."""

    shorten_work: ShortenSpec | None = None
    shorten_limit: ShortenSpec | None = None
    remove_step: StepRefSpec | None = None
    merge_steps: MergeSpec | None = None
    staff: StaffSpec | None = None
    move_staff: MoveSpec | None = None
    electronic_handover: ElectronicSpec | None = None
    demand: DemandSpec | None = None
    switch_version: VersionSpec | None = None

    @model_validator(mode="after")
    def _one(self) -> ChangeSpec:
        given = [k for k, v in self.__dict__.items() if v is not None]
        if len(given) != 1:
            kinds = ", ".join(ChangeSpec.model_fields)
            raise ValueError(f"give exactly one change of: {kinds}")
        return self

    def build(self) -> c.Change:  # noqa: PLR0911 (one return per kind of change)
        if (s := self.shorten_work) is not None:
            return c.ShortenWork(s.procedure, s.by, s.step)
        if (s := self.shorten_limit) is not None:
            return c.ShortenLimit(s.procedure, s.by, s.step)
        if (r := self.remove_step) is not None:
            return c.RemoveStep(r.procedure, r.step)
        if (g := self.merge_steps) is not None:
            return c.MergeSteps(g.procedure, tuple(g.steps))
        if (f := self.staff) is not None:
            return c.SetStaff(f.agency, f.set, f.add)
        if (v := self.move_staff) is not None:
            return c.MoveStaff(v.source, v.target, v.count)
        if (e := self.electronic_handover) is not None:
            return c.ElectronicHandover(e.procedure, e.step, e.share)
        if (n := self.demand) is not None:
            return c.Demand(n.by, n.procedure, n.channel)
        assert self.switch_version is not None
        return c.SwitchVersion(self.switch_version.procedure, self.switch_version.version)


class ScenarioSpec(Spec):
    """Changes to a baseline file (``kind: scenario``); ``baseline`` is relative to this file."""

    kind: Literal["scenario"]
    name: str
    baseline: str
    changes: list[ChangeSpec] = Field(default_factory=list)


def as_data(value: Any) -> Any:
    """Plain YAML-able data of a spec (aliases used, defaults and ``None`` left out)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return value
