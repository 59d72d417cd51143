"""Compare scenarios: replicates with common random numbers, confidence intervals,
paired differences from a base scenario, and cost-effectiveness.

Usable from a notebook:

    from analysis.compare import run_experiment, compare, cost_effectiveness
    exp = run_experiment({"baseline": base, "combined": package}, replicates=10)
    table = compare(exp.finals, base="baseline")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from scenarios.schema import Scenario
from simulation.indicators import INDICATORS, flatten

from .executors import RunOutput, RunTask, run_tasks

KEY_INDICATORS = INDICATORS.key()  # declared in simulation.indicators
ID_COLUMNS = ("scenario", "replicate", "seed", "run_id")
SEED_STRIDE = 1_000_003  # seed offset between scenarios when random numbers are not shared


@dataclass
class Experiment:
    """Replicated runs of several scenarios.

    Attributes:
        tidy: one row per scenario x replicate x month, with every indicator.
        finals: the last month of each run (one row per scenario x replicate).
        networks: a drawable network sample of replicate 0 of each scenario.
    """

    scenarios: dict[str, Scenario]
    replicates: int
    seed: int
    common_random_numbers: bool
    tidy: pd.DataFrame
    networks: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        """Scenario labels in the order given."""
        return list(self.scenarios)

    @property
    def finals(self) -> pd.DataFrame:
        """The final month of every run."""
        last = self.tidy.groupby(["scenario", "replicate"], sort=False)["month"].transform("max")
        return self.tidy[self.tidy["month"] == last].reset_index(drop=True)


def unique_labels(scenarios: list[Scenario]) -> list[str]:
    """Scenario names, made unique by a suffix where two share a name."""
    labels: list[str] = []
    for scenario in scenarios:
        label, k = scenario.name, 2
        while label in labels:
            label = f"{scenario.name}#{k}"
            k += 1
        labels.append(label)
    return labels


def seed_for(seed: int, replicate: int, scenario_index: int, common_random_numbers: bool) -> int:
    """Replicate i of every scenario uses the same seed (common random numbers) unless told not to."""
    return seed + replicate + (0 if common_random_numbers else SEED_STRIDE * scenario_index)


def run_experiment(
    scenarios: dict[str, Scenario],
    replicates: int = 10,
    seed: int = 1,
    months: int | None = None,
    workers: int = 1,
    common_random_numbers: bool = True,
    on_done: Callable[[RunOutput], None] | None = None,
    networks: bool = True,
) -> Experiment:
    """Run every scenario `replicates` times and collect the monthly indicators."""
    tasks = [
        RunTask(
            label=label,
            scenario=scenario,
            seed=seed_for(seed, r, k, common_random_numbers),
            replicate=r,
            months=months,
            keep_network=networks and r == 0,
        )
        for k, (label, scenario) in enumerate(scenarios.items())
        for r in range(replicates)
    ]
    outputs = run_tasks(tasks, workers=workers, on_done=on_done)
    frames = []
    for out in outputs:
        frame = out.monthly.copy()
        for name, value in zip(
            ID_COLUMNS, (out.task.label, out.task.replicate, out.task.seed, out.run_id), strict=True
        ):
            frame.insert(ID_COLUMNS.index(name), name, value)
        frames.append(frame)
    tidy = pd.concat(frames, ignore_index=True)
    nets = {out.task.label: out.network for out in outputs if out.task.keep_network}
    return Experiment(dict(scenarios), replicates, seed, common_random_numbers, tidy, nets)


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t confidence interval; the interval is the mean itself for one value."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (float("nan"),) * 3
    mean = float(values.mean())
    if values.size < 2:
        return mean, mean, mean
    half = float(stats.t.ppf(0.5 + level / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))
    return mean, mean - half, mean + half


def summarise(finals: pd.DataFrame, indicators: tuple[str, ...] = KEY_INDICATORS) -> pd.DataFrame:
    """Mean and 95 % CI across replicates, per scenario and indicator."""
    rows = []
    for label, group in finals.groupby("scenario", sort=False):
        for key in indicators:
            if key in group:
                mean, lo, hi = mean_ci(group[key].to_numpy())
                rows.append({"scenario": label, "indicator": key, "mean": mean, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def compare(finals: pd.DataFrame, base: str, indicators: tuple[str, ...] = KEY_INDICATORS) -> pd.DataFrame:
    """Summary plus the difference from `base`, paired by replicate, with its own 95 % CI."""
    table = summarise(finals, indicators)
    base_rows = finals[finals["scenario"] == base].set_index("replicate")
    diffs = []
    for row in table.itertuples():
        other = finals[finals["scenario"] == row.scenario].set_index("replicate")
        paired = other[row.indicator] - base_rows[row.indicator].reindex(other.index)
        diffs.append(mean_ci(paired.to_numpy()))
    table["diff"], table["diff_ci_low"], table["diff_ci_high"] = zip(*diffs, strict=True) if diffs else ([], [], [])
    return table


def cost_effectiveness(finals: pd.DataFrame, base: str) -> pd.DataFrame:
    """Extra policy cost relative to `base` per extra person employed and per extra
    household above the poverty line (means of paired differences; NaN without a gain)."""
    rows = []
    base_rows = finals[finals["scenario"] == base].set_index("replicate")
    for label, group in finals.groupby("scenario", sort=False):
        if label == base:
            continue
        other = group.set_index("replicate")
        d_cost = mean_ci((other["policy_cost_total"] - base_rows["policy_cost_total"]).to_numpy())
        d_emp = mean_ci((other["employed"] - base_rows["employed"]).to_numpy())
        d_out_of_poverty = mean_ci((base_rows["households_in_poverty"] - other["households_in_poverty"]).to_numpy())
        rows.append(
            {
                "scenario": label,
                "extra_cost_yuan": d_cost[0],
                "extra_employed": d_emp[0],
                "extra_employed_ci_low": d_emp[1],
                "extra_employed_ci_high": d_emp[2],
                "cost_per_extra_employed_yuan": d_cost[0] / d_emp[0] if d_emp[0] > 0 else float("nan"),
                "extra_households_above_poverty_line": d_out_of_poverty[0],
                "extra_households_ci_low": d_out_of_poverty[1],
                "extra_households_ci_high": d_out_of_poverty[2],
                "cost_per_household_above_poverty_line_yuan": (
                    d_cost[0] / d_out_of_poverty[0] if d_out_of_poverty[0] > 0 else float("nan")
                ),
            }
        )
    return pd.DataFrame(rows)


def comparison_json(table: pd.DataFrame) -> dict[str, dict[str, dict[str, float | None]]]:
    """scenario -> indicator -> mean, ci_low, ci_high, diff, diff_ci_low, diff_ci_high."""
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    fields = ("mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high")
    for row in table.itertuples():
        values = {f: getattr(row, f) for f in fields}
        out.setdefault(row.scenario, {})[row.indicator] = {
            k: (float(v) if np.isfinite(v) else None) for k, v in values.items()
        }
    return out


def parameter_differences(scenarios: dict[str, Scenario]) -> pd.DataFrame:
    """Every parameter whose value is not the same in all scenarios (one row per key)."""
    flat = {label: flatten(s.model_dump(mode="json")) for label, s in scenarios.items()}
    keys = sorted(set().union(*flat.values()))
    rows = []
    for key in keys:
        values = [flat[label].get(key) for label in scenarios]
        if any(v != values[0] for v in values[1:]):
            rows.append({"parameter": key, **dict(zip(scenarios, values, strict=True))})
    return pd.DataFrame(rows, columns=["parameter", *scenarios])


def format_value(indicator: str, value: float | None) -> str:
    """One way to print a number, shared by the terminal table and the report: the
    indicator table's format for a declared indicator, a plain number otherwise."""
    if indicator in INDICATORS:
        return INDICATORS.format(indicator, value)
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def format_interval(indicator: str, low: float, high: float) -> str:
    """'[low, high]' with the indicator's format."""
    return f"[{format_value(indicator, low)}, {format_value(indicator, high)}]"
