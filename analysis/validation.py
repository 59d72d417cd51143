"""Validate the calibrated communities against the 2020 survey (docs/FIT.md).

Each calibrated community runs several replicates at full size. Simulated (mean and 95 %
CI) stands beside observed for the sector shares, the local and out-of-county shares, the
employment rate and income per person after relocation; income was not used in the
calibration, so it is an out-of-sample check. Stylised facts from the seeds are checked
and reported as pass or fail with their figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scenarios import load_scenario
from simulation.indicators import INDICATORS

from .calibration import CALIBRATED_DIR, COMMUNITIES, SECTOR_KEYS, observed, pooled_employment_rate
from .compare import mean_ci, run_experiment

VALIDATED = INDICATORS.observed()  # every indicator with a survey column, as the indicator table declares
OBSERVED_COLUMN = {name: INDICATORS[name].observed for name in VALIDATED}
INCOME = "income_per_capita_mean_in_community"  # the survey asked the households living there
TOLERANCE = {  # targets (issue 7), absolute for shares
    **dict.fromkeys(SECTOR_KEYS, 0.05),
    "share_local": 0.03,
    "share_out_of_county": 0.03,
}
POOLED_TOLERANCE = 0.02
INCOME_MAPE_TARGET = 0.20


@dataclass
class Validation:
    """Simulated against observed, per community and pooled, with the stylised facts."""

    table: pd.DataFrame  # community, indicator, simulated, ci_low, ci_high, observed, error, target, within
    pooled: pd.DataFrame  # indicator, simulated, ci_low, ci_high, observed, error, within
    income_mape: float
    facts: list[dict[str, Any]]
    replicates: int
    income_mape_floor: float = float("nan")  # see `uniform_earnings_floor`
    floor_earnings: float = float("nan")

    def summary(self) -> dict[str, Any]:
        """Everything as plain data (for --json)."""
        return {
            "replicates": self.replicates,
            "communities": self.table.to_dict("records"),
            "pooled": self.pooled.to_dict("records"),
            "income_mape": self.income_mape,
            "income_mape_target": INCOME_MAPE_TARGET,
            "income_mape_uniform_earnings_floor": self.income_mape_floor,
            "uniform_earnings_yuan_month": self.floor_earnings,
            "stylised_facts": self.facts,
        }


def calibrated_scenarios(directory: Path = CALIBRATED_DIR) -> dict[str, Any]:
    """The calibrated scenario of each surveyed community."""
    return {c: load_scenario(directory / f"{c}.toml") for c in COMMUNITIES}


def validate(
    replicates: int = 10,
    seed: int = 1,
    workers: int = 1,
    directory: Path = CALIBRATED_DIR,
    on_done: Callable[[Any], None] | None = None,
) -> Validation:
    """Run the calibrated communities and compare them with the survey."""
    scenarios = calibrated_scenarios(directory)
    exp = run_experiment(scenarios, replicates=replicates, seed=seed, workers=workers, networks=False, on_done=on_done)
    finals = exp.finals
    obs = observed()
    rows = []
    for community in COMMUNITIES:
        runs = finals[finals["scenario"] == community]
        for key in VALIDATED:
            mean, lo, hi = mean_ci(runs[key].to_numpy())
            target = obs.loc[community, OBSERVED_COLUMN[key]]
            tolerance = TOLERANCE.get(key)
            rows.append(
                {
                    "community": community,
                    "indicator": key,
                    "simulated": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "observed": float(target),
                    "error": mean - float(target),
                    "target": tolerance,
                    "within": None if tolerance is None else bool(abs(mean - target) <= tolerance),
                }
            )
    table = pd.DataFrame(rows)
    income = table[table["indicator"] == INCOME]
    mape = float((income["error"].abs() / income["observed"]).mean())
    floor, earnings = uniform_earnings_floor(obs)
    return Validation(table, pooled_shares(finals, obs), mape, stylised_facts(finals, obs), replicates, floor, earnings)


def uniform_earnings_floor(obs: pd.DataFrame) -> tuple[float, float]:
    """The lowest income MAPE any model can reach in which every employed worker brings
    home the same income, with employment exactly as observed: (MAPE, that income in
    yuan per worker per month).

    Income per person is then c x employed / population; the mean absolute percentage
    error is convex and piecewise linear in c, so its minimum lies where one community
    is matched exactly. It measures how much of the observed spread in income comes from
    earnings per worker, which the survey does not report and the model's wages (the
    same in every community) cannot produce.
    """
    rows = obs.loc[list(COMMUNITIES)]
    employed = rows["employment_rate"] * rows["relocated_labour_force"]
    per_person = employed / rows["relocated_population"]  # employed workers per person
    income = rows["income_after_yuan"]
    candidates = (income / per_person).to_numpy()
    mapes = [float((np.abs(c * per_person - income) / income).mean()) for c in candidates]
    best = int(np.argmin(mapes))
    return mapes[best], float(candidates[best] / 12)


def pooled_shares(finals: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """All six together, per replicate, then mean and CI: shares weighted by employed
    workers, the employment rate by the labour force (observed: capped rates weighted by
    the survey's labour force, as the calibration pools it)."""
    rows = []
    observed_employment = pooled_employment_rate(obs.loc[list(COMMUNITIES), "employment_rate"].to_dict(), obs)
    for key in (*SECTOR_KEYS, "share_out_of_county", "employment_rate"):
        weight = "labour_force" if key == "employment_rate" else "employed"
        per_replicate = finals.groupby("replicate").apply(
            lambda g, k=key, w=weight: float((g[k] * g[w]).sum() / g[w].sum()), include_groups=False
        )
        mean, lo, hi = mean_ci(per_replicate.to_numpy())
        target = observed_employment if key == "employment_rate" else float(obs.loc["all_six_pooled", key])
        rows.append(
            {
                "indicator": key,
                "simulated": mean,
                "ci_low": lo,
                "ci_high": hi,
                "observed": target,
                "error": mean - target,
                "within": bool(abs(mean - target) <= POOLED_TOLERANCE) if key in SECTOR_KEYS else None,
            }
        )
    return pd.DataFrame(rows)


def stylised_facts(finals: pd.DataFrame, obs: pd.DataFrame) -> list[dict[str, Any]]:
    """The seeds' stylised facts, each with its figures and pass or fail."""
    means = finals.groupby("scenario").mean(numeric_only=True).reindex(list(COMMUNITIES))
    facts = []
    agriculture = means["share_agriculture"]
    non_farm = means["share_industry"] + means["share_services"]
    facts.append(
        {
            "fact": "Non-farm work dominates: full-time farming at the origin is under 15 % of employed workers "
            "and below industry plus services in every community (survey: 5.6-14 %)",
            "figures": {
                c: f"agriculture {agriculture[c]:.3f}, industry+services {non_farm[c]:.3f}" for c in COMMUNITIES
            },
            "passed": bool(((agriculture < 0.15) & (agriculture < non_farm)).all()),
        }
    )
    ages = [f"by_age_group.{g}.share_out_of_county" for g in ("16-29", "30-44", "45+")]
    edu = [
        f"by_education.{e}.share_out_of_county" for e in ("primary_or_less", "junior_middle", "senior_high", "college")
    ]
    age_values = [float(finals[k].mean()) for k in ages]
    edu_values = [float(finals[k].mean()) for k in edu]
    facts.append(
        {
            "fact": "Younger and better-educated workers work outside the county more (000): the out-of-county "
            "share falls with age group and rises with education, all six communities together",
            "figures": {
                "by age 16-29 / 30-44 / 45+": " / ".join(f"{v:.3f}" for v in age_values),
                "by education primary / junior / senior / college": " / ".join(f"{v:.3f}" for v in edu_values),
            },
            "passed": bool(np.all(np.diff(age_values) < 0) and np.all(np.diff(edu_values) > 0)),
        }
    )
    before = obs.loc[list(COMMUNITIES), "income_before_yuan"]
    after = means[INCOME]
    facts.append(
        {
            "fact": "Income per person rises after relocation in every community (survey: in all six)",
            "figures": {c: f"{before[c]:,.0f} -> {after[c]:,.0f} yuan" for c in COMMUNITIES},
            "passed": bool((after > before).all()),
        }
    )
    return facts


def fit_figure(validation: Validation):
    """Observed against simulated, a point per community and indicator, with the 45-degree line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = validation.table
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5.6))
    shares = table[table["indicator"] != INCOME]
    markers = dict(zip(COMMUNITIES, "osD^vP", strict=True))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    indicators = list(dict.fromkeys(shares["indicator"]))
    for i, key in enumerate(indicators):
        part = shares[shares["indicator"] == key]
        for row in part.itertuples():
            ax1.errorbar(
                row.observed,
                row.simulated,
                yerr=[[row.simulated - row.ci_low], [row.ci_high - row.simulated]],
                fmt=markers[row.community],
                color=colours[i % len(colours)],
                ms=6,
                label=key.removeprefix("share_") if row.community == COMMUNITIES[0] else None,
            )
    ax1.plot([0, 1], [0, 1], color="black", lw=0.8)
    ax1.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="observed (2020 survey)", ylabel="simulated (mean, 95% CI)")
    ax1.set_title("Shares (fitted: sectors, out-of-county; employment rate: pooled only)", fontsize=10)
    ax1.legend(fontsize=8, loc="upper left")
    income = table[table["indicator"] == INCOME]
    for row in income.itertuples():
        ax2.errorbar(
            row.observed,
            row.simulated,
            yerr=[[row.simulated - row.ci_low], [row.ci_high - row.simulated]],
            fmt=markers[row.community],
            ms=7,
            label=row.community,
        )
    top = max(income["observed"].max(), income["ci_high"].max()) * 1.1
    ax2.plot([0, top], [0, top], color="black", lw=0.8)
    ax2.set(xlim=(0, top), ylim=(0, top), xlabel="observed income per person after relocation (yuan/year)")
    ax2.set_title(f"Income: out of sample, MAPE {100 * validation.income_mape:.0f} %", fontsize=10)
    ax2.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
