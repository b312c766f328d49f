"""Distributions of durations, in working hours: what a step's work, a hand-over or a wait for
the applicant takes.

Each is frozen data that checks its parameters when made (:class:`SimulationError` naming the
impossible one), gives its quantile function (``quantile(u)``, vectorised: draws are quantiles of
uniform numbers, so that a dossier's draws can be correlated), and scales (a step made 30%
faster is its distribution scaled by 0.7). :class:`Empirical` is what calibration fits from
history: the
quantiles at evenly spaced probabilities, drawn by inverse transform with linear interpolation
between them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from workflow.simulation.errors import SimulationError

F64 = npt.NDArray[np.float64]


def _finite(**values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise SimulationError(f"{name} must be a finite number, not {value}")


@dataclass(frozen=True, slots=True)
class Fixed:
    """Always ``hours``."""

    hours: float

    def __post_init__(self) -> None:
        _finite(hours=self.hours)
        if self.hours < 0:
            raise SimulationError(f"a fixed duration cannot be negative ({self.hours:g} hours)")

    def quantile(self, u: F64) -> F64:
        return np.full(len(u), self.hours)

    def sample(self, rng: np.random.Generator, size: int) -> F64:
        return self.quantile(rng.random(size))

    def scaled(self, factor: float) -> Fixed:
        return Fixed(self.hours * factor)

    def mean(self) -> float:
        return self.hours


@dataclass(frozen=True, slots=True)
class Exponential:
    """Exponential with mean ``mean`` hours."""

    mean_hours: float

    def __post_init__(self) -> None:
        _finite(mean=self.mean_hours)
        if self.mean_hours <= 0:
            raise SimulationError(f"an exponential's mean must be above 0, not {self.mean_hours:g}")

    def quantile(self, u: F64) -> F64:
        return -self.mean_hours * np.log1p(-u)

    def sample(self, rng: np.random.Generator, size: int) -> F64:
        return self.quantile(rng.random(size))

    def scaled(self, factor: float) -> Exponential | Fixed:
        return Exponential(self.mean_hours * factor) if factor > 0 else Fixed(0.0)

    def mean(self) -> float:
        return self.mean_hours


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Log-normal with median ``median`` hours and shape ``sigma`` (of the log)."""

    median: float
    sigma: float

    def __post_init__(self) -> None:
        _finite(median=self.median, sigma=self.sigma)
        if self.median <= 0:
            raise SimulationError(f"a log-normal's median must be above 0, not {self.median:g}")
        if self.sigma < 0:
            raise SimulationError(f"a log-normal's sigma cannot be negative ({self.sigma:g})")

    def quantile(self, u: F64) -> F64:
        return self.median * np.exp(self.sigma * normal_quantile(u))

    def sample(self, rng: np.random.Generator, size: int) -> F64:
        return self.quantile(rng.random(size))

    def scaled(self, factor: float) -> LogNormal | Fixed:
        return LogNormal(self.median * factor, self.sigma) if factor > 0 else Fixed(0.0)

    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)


@dataclass(frozen=True, slots=True)
class Triangular:
    """Triangular from ``low`` to ``high`` with its peak at ``mode``."""

    low: float
    mode: float
    high: float

    def __post_init__(self) -> None:
        _finite(low=self.low, mode=self.mode, high=self.high)
        if not 0 <= self.low <= self.mode <= self.high or self.low == self.high:
            raise SimulationError(
                f"a triangular needs 0 <= low <= mode <= high and low < high, not "
                f"low {self.low:g}, mode {self.mode:g}, high {self.high:g}"
            )

    def quantile(self, u: F64) -> F64:
        low, mode, high = self.low, self.mode, self.high
        peak = (mode - low) / (high - low)
        left = low + np.sqrt(u * (high - low) * (mode - low))
        right = high - np.sqrt((1 - u) * (high - low) * (high - mode))
        found: F64 = np.where(u < peak, left, right)
        return found

    def sample(self, rng: np.random.Generator, size: int) -> F64:
        return self.quantile(rng.random(size))

    def scaled(self, factor: float) -> Triangular | Fixed:
        if factor <= 0:
            return Fixed(0.0)
        return Triangular(self.low * factor, self.mode * factor, self.high * factor)

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3


@dataclass(frozen=True, slots=True)
class Uniform:
    """Uniform from ``low`` to ``high``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _finite(low=self.low, high=self.high)
        if not 0 <= self.low <= self.high:
            raise SimulationError(
                f"a uniform needs 0 <= low <= high, not low {self.low:g}, high {self.high:g}"
            )

    def quantile(self, u: F64) -> F64:
        return self.low + u * (self.high - self.low)

    def sample(self, rng: np.random.Generator, size: int) -> F64:
        return self.quantile(rng.random(size))

    def scaled(self, factor: float) -> Uniform:
        factor = max(factor, 0.0)
        return Uniform(self.low * factor, self.high * factor)

    def mean(self) -> float:
        return (self.low + self.high) / 2


@dataclass(frozen=True, slots=True)
class Empirical:
    """Fitted from history: ``quantiles[i]`` is the value at probability i / (n - 1)."""

    quantiles: tuple[float, ...]

    def __post_init__(self) -> None:
        values = self.quantiles
        if len(values) < 2:
            raise SimulationError(
                f"an empirical distribution needs at least 2 quantiles, not {len(values)}"
            )
        _finite(**{f"quantile {i}": v for i, v in enumerate(values)})
        if values[0] < 0:
            raise SimulationError(f"a duration cannot be negative (first quantile {values[0]:g})")
        if any(b < a for a, b in itertools.pairwise(values)):
            raise SimulationError("an empirical distribution's quantiles must not decrease")

    @classmethod
    def fit(cls, values: F64, points: int = 101) -> Empirical:
        """The quantiles of ``values`` (hours, at least one) at ``points`` probabilities.

        The last one is not the maximum but what keeps the top slice's mean (between the last
        two knots the draw is linear, so its mean is their midpoint): one outlier of a
        thousand hours would otherwise weigh as a hundredth of all the draws."""
        if len(values) == 0:
            raise SimulationError("cannot fit a distribution to no values")
        values = np.maximum(values, 0.0)
        found = np.quantile(values, np.linspace(0, 1, points))
        top = np.sort(values)[-max(1, len(values) // (points - 1)) :]  # the top slice's mass
        found[-1] = max(float(found[-2]), 2 * float(top.mean()) - float(found[-2]))
        return cls(tuple(round(float(v), 4) for v in np.maximum.accumulate(found)))

    def quantile(self, u: F64) -> F64:
        grid = np.asarray(self.quantiles)
        found: F64 = np.interp(u * (len(grid) - 1), np.arange(len(grid)), grid)
        return found

    def sample(self, rng: np.random.Generator, size: int) -> F64:
        return self.quantile(rng.random(size))

    def scaled(self, factor: float) -> Empirical:
        factor = max(factor, 0.0)
        return Empirical(tuple(v * factor for v in self.quantiles))

    def mean(self) -> float:
        grid = np.asarray(self.quantiles)
        return float((grid[1:] + grid[:-1]).sum() / 2 / (len(grid) - 1))


def normal_quantile(u: F64) -> F64:
    """The standard normal's quantile function, vectorised (Acklam's rational approximation,
    relative error below 1.2e-9); ``u`` in (0, 1), clipped away from the ends."""
    u = np.clip(u, 1e-12, 1 - 1e-12)
    a = (
        -39.69683028665376,
        220.9460984245205,
        -275.9285104469687,
        138.3577518672690,
        -30.66479806614716,
        2.506628277459239,
    )
    b = (
        -54.47609879822406,
        161.5858368580409,
        -155.6989798598866,
        66.80131188771972,
        -13.28068155288572,
    )
    c = (
        -7.784894002430293e-03,
        -0.3223964580411365,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    )
    d = (7.784695709041462e-03, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    low = 0.02425
    q = np.sqrt(-2 * np.log(np.where(u < 0.5, u, 1 - u)))
    tail = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
        (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
    )
    tail = np.where(u < 0.5, tail, -tail)
    r = (u - 0.5) ** 2
    centre = (
        (u - 0.5)
        * (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    )
    found: F64 = np.where((u < low) | (u > 1 - low), tail, centre)
    return found


Distribution = Fixed | Exponential | LogNormal | Triangular | Uniform | Empirical
"""Any duration distribution (hours of working time)."""

ZERO = Fixed(0.0)
