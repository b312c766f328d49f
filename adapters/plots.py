"""Charts of the metrics and the scorecard, written as PNG or SVG files (matplotlib, no screen).

- ``processing-<code>-<version>.<fmt>``: a procedure's processing-time distribution in working
  days, with its median, its statutory limit and its baseline (and the 20% goal line under it);
- ``scorecard-trend.<fmt>``: each indicator of the plan by month, against its target.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window

import matplotlib.pyplot as plt

from workflow.errors import MetricsError
from workflow.metrics import ProcedureMetrics
from workflow.scorecard import Scorecard

FORMATS = ("png", "svg")


def _checked(folder: Path, fmt: str) -> Path:
    if fmt not in FORMATS:
        raise MetricsError(f"plot format '{fmt}' is not known; use one of {', '.join(FORMATS)}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MetricsError(f"cannot create the plot folder {folder}: {error.strerror}") from None
    return folder


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.@-]+", "_", text)


def plot_procedures(
    metrics: list[ProcedureMetrics], folder: Path, fmt: str = "png", goal: float = 0.20
) -> list[Path]:
    """One distribution chart per procedure version with finished dossiers (their
    ``durations_days`` must have been kept); returns the files written."""
    folder = _checked(folder, fmt)
    written = []
    for m in metrics:
        if not m.durations_days:
            continue
        figure, axes = plt.subplots(figsize=(8, 4.5), layout="constrained")
        bins = min(60, max(10, len(m.durations_days) // 20))
        axes.hist(m.durations_days, bins=bins, color="#4C72B0", alpha=0.8, label="dossiers")
        if m.median_days is not None:
            axes.axvline(m.median_days, color="black", label=f"median {m.median_days:.2f} d")
        if m.limit_days is not None:
            axes.axvline(m.limit_days, color="#C44E52", linestyle="--", label="statutory limit")
        if m.baseline_days is not None:
            axes.axvline(m.baseline_days, color="#8172B2", linestyle=":", label="baseline")
            axes.axvline(
                m.baseline_days * (1 - goal),
                color="#55A868",
                linestyle="-.",
                label=f"goal: {goal:.0%} under baseline",
            )
        axes.set_xlabel("processing time (working days, pauses excluded)")
        axes.set_ylabel("finished dossiers")
        axes.set_title(f"{m.procedure} @ {m.version}: {m.name}"[:90] + f"  (n = {m.finished})")
        axes.legend(fontsize="small")
        path = folder / f"processing-{_slug(m.procedure)}-{_slug(m.version)}.{fmt}"
        figure.savefig(path)
        plt.close(figure)
        written.append(path)
    return written


def plot_scorecard(card: Scorecard, folder: Path, fmt: str = "png") -> Path:
    """The scorecard's monthly trends, one panel per indicator; returns the file written."""
    folder = _checked(folder, fmt)
    figure, panels = plt.subplots(
        len(card.indicators), 1, figsize=(9, 2.2 * len(card.indicators)), layout="constrained"
    )
    for axes, indicator in zip(panels, card.indicators, strict=True):
        months = [m.month for m in indicator.trend]
        values = [None if m.value is None else m.value * 100 for m in indicator.trend]
        axes.plot(months, [float("nan") if v is None else v for v in values], marker="o")
        axes.axhline(indicator.target * 100, color="#C44E52", linestyle="--", label="target")
        axes.set_ylim(0, 105)
        axes.set_ylabel("%")
        axes.set_title(indicator.name_en, fontsize="medium", loc="left")
        axes.tick_params(axis="x", labelsize="small", rotation=45)
        axes.legend(fontsize="small", loc="lower right")
    figure.suptitle(f"Reform scorecard: {card.source}")
    path = folder / f"scorecard-trend.{fmt}"
    figure.savefig(path)
    plt.close(figure)
    return path
