"""Charts of a simulation: per procedure, the processing-time distribution of the baseline and of
the scenario overlaid, with both medians, the statutory limit and the 20% goal line
(``simulation-<code>.<fmt>``; matplotlib, files only)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from adapters.plots import _checked, _slug  # the metrics charts' folder check and file names
from workflow.simulation.report import Outcome


def plot_simulation(
    baseline: Outcome, scenario: Outcome, folder: Path, fmt: str = "png", goal: float = 0.20
) -> list[Path]:
    """One chart per procedure simulated in the scenario (its durations must have been kept);
    returns the files written."""
    folder = _checked(folder, fmt)
    written = []
    for mine in scenario.procedures:
        theirs = baseline.procedure(mine.procedure)
        if not mine.durations_days:
            continue
        figure, axes = plt.subplots(figsize=(8, 4.5), layout="constrained")
        values = [mine.durations_days] + ([theirs.durations_days] if theirs else [])
        # up to the 99th percentile (and the limit): a long tail would squash the rest
        top = max(float(np.quantile(v, 0.99)) for v in values if v)
        top = max(top, mine.limit_days or 0.0) or 1.0
        bins = [top * i / 60 for i in range(61)]
        if theirs is not None and theirs.durations_days:
            axes.hist(theirs.durations_days, bins=bins, alpha=0.55, color="#8C8C8C",
                      label=f"baseline ({baseline.name})", density=True)  # fmt: skip
            if theirs.median_days.value is not None:
                axes.axvline(theirs.median_days.value, color="#4D4D4D", linestyle="--",
                             label=f"baseline median {theirs.median_days.value:.2f} d")  # fmt: skip
        axes.hist(mine.durations_days, bins=bins, alpha=0.6, color="#4C72B0",
                  label=f"scenario ({scenario.name})", density=True)  # fmt: skip
        if mine.median_days.value is not None:
            axes.axvline(mine.median_days.value, color="#1F3A66",
                         label=f"scenario median {mine.median_days.value:.2f} d")  # fmt: skip
        if mine.limit_days:
            axes.axvline(mine.limit_days, color="#C44E52", linestyle=":", label="statutory limit")
        if mine.baseline_days is not None:
            axes.axvline(mine.baseline_days * (1 - goal), color="#55A868", linestyle="-.",
                         label=f"goal: {goal:.0%} under the baseline")  # fmt: skip
        axes.set_xlim(0, top)
        axes.set_xlabel("processing time (working days, pauses excluded; to the 99th percentile)")
        axes.set_ylabel("share of dossiers (density)")
        axes.set_title(f"{mine.procedure} @ {mine.version}: {mine.name}"[:90])
        axes.legend(fontsize="small")
        path = folder / f"simulation-{_slug(mine.procedure)}.{fmt}"
        figure.savefig(path)
        plt.close(figure)
        written.append(path)
    return written
