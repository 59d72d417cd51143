"""Phasing out a package's policies one at a time: the money saved against the harm done.

For each enabled policy of a package (default: scenarios/combined.toml on the typical
community), one scenario in which that policy alone is ended at month `at` (it runs at full
strength through `at`), or tapered over `taper` months after it (docs/MODEL.md 7.9,
"Phasing out"). The package and every variant run over the same paired seeds (common random
numbers), and each variant is compared with the package, replicate by replicate:

- money saved: policy cost over the whole run, package minus variant (yuan; > 0 is saved);
- extra poverty: poverty rate over the final year, variant minus package (points), and the
  extra households in poverty (final-year mean);
- extra falling back (`fell_back_cumulative`, where the model reports it) and extra
  households gone back (`returned_households`), at the end of the run;
- income change: mean income per person over the final year (yuan a year).

Intervals are `analysis.compare.compare`'s: paired t intervals, adjusted by Holm over the
family of variants x outcomes when more than one policy is phased out (as `compare` does by
default). Yuan saved per extra household in poverty is a Fieller ratio, "not estimable"
where the extra households' interval contains 0. The ranking rule is `rank` below and
docs/PHASEOUT.md. Intervals are over seed noise at fixed parameters unless `draw_settings`
gives each replicate its own parameters (one posterior draw shared by the package and
every variant of the replicate: `phaseout --posterior N`, `posterior_table`).

Speed: every variant is the package until month `at`, so each replicate runs the package
once and, at month `at`, copies the model for each variant and runs only the rest of the
run with that policy changed (`branch=True`; `tests/test_phaseout.py` checks that a copied
run equals a fresh run of the variant exactly). The end-of-run network statistics
(`ties.metrics_at_end`), which no outcome here uses, are switched off.

No printing, no files (the command line and `analysis.report` do that).
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scenarios import ScenarioError, override
from scenarios.schema import Scenario
from simulation import ResettlementModel
from simulation.indicators import INDICATORS
from simulation.policies import REGISTRY

from .compare import Experiment, compare, run_experiment, seed_for, tidy_frame, uncertainty_table
from .executors import RunOutput, RunTask, run_tasks
from .inference import ALPHA, ESTIMATED, NO_GAIN, FewReplicatesWarning, fieller_ratio, resolve_adjust

DEFAULT_SCENARIO = "scenarios/combined.toml"
DEFAULT_AT = 60  # the five-year transition period after relocation ended (2021-2025): docs/PHASEOUT.md
NOT_PHASED = tuple(
    name for name, unit in REGISTRY.items() if not unit.PHASED
)  # rules of the relocation, not programmes

COST = "policy_cost_total"
FELL_BACK = "fell_back_cumulative"
# the outcomes compared: falling back only where the model reports it (the monitoring unit adds it)
OUTCOMES: tuple[str, ...] = (
    COST,
    "poverty_rate",
    "households_in_poverty",
    "income_per_capita_mean",
    "returned_households",
    *((FELL_BACK,) if FELL_BACK in INDICATORS.names() else ()),
)
FINAL_YEAR = ("poverty_rate", "households_in_poverty", "income_per_capita_mean")  # means over the last 12 months
HARMS = ("poverty_rate", FELL_BACK, "returned_households")  # higher is harm
POVERTY_FELL = "poverty fell"  # the ratio's status when the extra households' interval lies below 0


class PhaseoutError(ValueError):
    """A phase-out that cannot be built: unknown or disabled policy, month outside the run, taper too long."""


# ------------------------------------------------------------------ the scenarios


def phased_policies(package: Scenario, policies: list[str] | tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The policies to phase out: those named (checked), or every enabled one but the transition period."""
    enabled = [name for name in REGISTRY if getattr(package.policies, name).enabled]
    if not policies:
        chosen = tuple(name for name in enabled if name not in NOT_PHASED)
        if not chosen:
            raise PhaseoutError(f"scenario {package.name!r} has no enabled policy to phase out.")
        return chosen
    for name in policies:
        if name not in REGISTRY:
            raise PhaseoutError(f"unknown policy {name!r}; the policies are {', '.join(REGISTRY)}.")
        if name in NOT_PHASED:
            hint = {
                "transition_period": "it ends by itself `years` after moving in (change "
                "policies.transition_period.years to shorten or lengthen it)",
                "relocation_terms": "the terms are fixed when households sign up (compare scenarios with other "
                "terms instead)",
            }.get(name, "it is not a programme that runs for a time")
            raise PhaseoutError(f"{name} cannot be phased out: it is a rule of the relocation itself; {hint}.")
        if name not in enabled:
            raise PhaseoutError(
                f"{name} is not enabled in scenario {package.name!r}, so there is nothing to phase out; the enabled "
                f"policies are {', '.join(n for n in enabled if n not in NOT_PHASED) or 'none'}."
            )
    return tuple(dict.fromkeys(policies))


def phased_scenario(package: Scenario, policy: str, at: int, taper: int = 0) -> Scenario:
    """The package with `policy` at full strength through month `at`, then ended (taper 0) or
    falling linearly to nothing over the next `taper` months (end_month = at + taper)."""
    months = package.months
    params = getattr(package.policies, policy)
    if not 1 <= at < months:
        raise PhaseoutError(
            f"--at {at}: the month must be within the run, 1 to {months - 1} (the run has {months} months; "
            "ending a policy in its last month changes nothing)."
        )
    if taper < 0:
        raise PhaseoutError(f"--taper {taper}: the taper must be 0 or more months.")
    if at + taper > months:
        raise PhaseoutError(
            f"--taper {taper}: a taper after month {at} would end at month {at + taper}, after the run's last "
            f"month {months}; use at most {months - at} months, or an earlier --at."
        )
    if params.start_month > at:
        raise PhaseoutError(
            f"{policy} starts at month {params.start_month} in scenario {package.name!r}, after --at {at}: it "
            "cannot end before it starts."
        )
    if params.end_month <= at + taper:
        raise PhaseoutError(
            f"{policy} already ends at month {params.end_month} in scenario {package.name!r}, by --at {at}"
            f"{f' + --taper {taper}' if taper else ''}: phasing it out there changes nothing."
        )
    try:
        return override(
            package,
            {
                f"policies.{policy}.end_month": at + taper,
                f"policies.{policy}.taper_months": taper,
                "name": f"{package.name}, {policy} {'ended' if not taper else 'tapered'}",
            },
        )
    except ScenarioError as exc:
        raise PhaseoutError(str(exc)) from None


# ------------------------------------------------------------------ running


@dataclass(frozen=True)
class BranchTask:
    """One replicate: the package, and the variants that copy it after month `branch_after`."""

    package_label: str
    package: Scenario
    variants: tuple[tuple[str, str, Scenario], ...]  # (label, policy, scenario)
    seed: int
    replicate: int
    branch_after: int


def _switch(model: ResettlementModel, scenario: Scenario, policy: str) -> None:
    """Give a copied model the variant's scenario: only the phased policy's months differ,
    which only that unit's `params` (active, intensity) read from here on."""
    model.config = scenario
    for unit in model.policies.units:
        unit.scenario = scenario
        if policy == unit.NAME:
            unit.params = getattr(scenario.policies, policy)


def run_branches(task: BranchTask) -> list[RunOutput]:
    """Run the package to month `branch_after`, then each variant from a copy, then the
    package to the end (top-level, so worker processes can run it)."""
    start = time.perf_counter()
    months = task.package.months
    model = ResettlementModel(task.package, seed=task.seed)
    model.run(task.branch_after)
    outputs = []
    for label, policy, scenario in task.variants:
        began = time.perf_counter()
        branch = copy.deepcopy(model)
        _switch(branch, scenario, policy)
        branch.run(months - branch.month)
        monthly = branch.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        run = RunTask(label, scenario, task.seed, task.replicate)
        outputs.append(RunOutput(run, monthly, branch.indicators, None, time.perf_counter() - began))
    model.run(months - model.month)
    monthly = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    run = RunTask(task.package_label, task.package, task.seed, task.replicate)
    return [RunOutput(run, monthly, model.indicators, None, time.perf_counter() - start), *outputs]


@dataclass
class Phaseout:
    """A phase-out experiment and its comparison.

    Attributes:
        experiment: the runs (package first, then one scenario per policy).
        policies: label -> policy name, for the variants.
        outcomes: one row per scenario x replicate with the compared outcomes.
        table: `compare` of the outcomes against the package (paired, adjusted).
        ranking: one row per policy, ranked (`rank`).
        posterior_draws: whether each replicate ran at its own parameter set (`draw_settings`).
    """

    experiment: Experiment
    package: str
    policies: dict[str, str]
    at: int
    taper: int
    outcomes: pd.DataFrame
    table: pd.DataFrame
    ranking: pd.DataFrame
    settings: dict[str, str] = field(default_factory=dict)
    posterior_draws: bool = False


def run_phaseout(
    package: Scenario,
    at: int = DEFAULT_AT,
    taper: int = 0,
    replicates: int = 20,
    seed: int = 1,
    workers: int = 1,
    policies: list[str] | tuple[str, ...] | None = None,
    adjust: str = "auto",
    on_done: Callable[[object], None] | None = None,
    branch: bool = True,
    draw_settings: Callable[[int, Scenario], dict[str, Any]] | None = None,
) -> Phaseout:
    """Phase out each policy of `package` alone and compare with the package (see the module).

    `on_done` is called once per finished replicate with `branch` (all its runs), once per
    run without. `branch=False` runs every scenario from month 1 (`run_experiment`): the same
    numbers, slower. `draw_settings` (replicate, scenario) -> overrides: parameters per
    replicate, the same for the package and its variants (`analysis.compare.posterior_settings`)."""
    if replicates < 1:
        raise PhaseoutError(f"--replicates {replicates}: at least 1 (2 or more for intervals).")
    package = override(package, {"ties.metrics_at_end": False})
    names = phased_policies(package, policies)
    variants = {name: phased_scenario(package, name, at, taper) for name in names}
    label = package.name if package.name not in variants else f"{package.name} (package)"  # unique labels
    scenarios = {label: package, **variants}
    if branch:

        def drawn(r: int, scenario: Scenario) -> Scenario:
            return override(scenario, draw_settings(r, package)) if draw_settings else scenario

        tasks = [
            BranchTask(
                label,
                drawn(r, package),
                tuple((name, name, drawn(r, s)) for name, s in variants.items()),
                seed_for(seed, r, 0, True),
                r,
                at,
            )
            for r in range(replicates)
        ]
        done = run_tasks(tasks, workers=workers, on_done=on_done, function=run_branches)
        outputs = [out for replicate in done for out in replicate]
        order = {name: k for k, name in enumerate(scenarios)}
        outputs.sort(key=lambda o: (order[o.task.label], o.task.replicate))
        experiment = Experiment(scenarios, replicates, seed, True, tidy_frame(outputs), {})
    else:
        experiment = run_experiment(
            scenarios,
            replicates=replicates,
            seed=seed,
            workers=workers,
            on_done=on_done,
            networks=False,
            draw_settings=(lambda r, _: draw_settings(r, package)) if draw_settings else None,
        )
    outcomes = outcome_frame(experiment.tidy, package.months)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewReplicatesWarning)
        table = compare(outcomes, label, OUTCOMES, adjust=adjust)
        ranking = rank(outcomes, table, label, adjust)
    return Phaseout(
        experiment,
        label,
        {n: n for n in names},
        at,
        taper,
        outcomes,
        table,
        ranking,
        posterior_draws=bool(draw_settings),
    )


def posterior_table(fixed: Phaseout, drawn: Phaseout) -> pd.DataFrame:
    """Each variant's difference from the package twice, paired by replicate: at fixed
    parameters and with one posterior draw per replicate (`analysis.compare.uncertainty_table`
    over the phase-out's outcomes; the two runs must share package, variants and seeds)."""
    if (
        fixed.package != drawn.package
        or fixed.policies != drawn.policies
        or fixed.experiment.seed != drawn.experiment.seed
    ):
        raise PhaseoutError("the fixed-parameter and posterior phase-outs must phase out the same package and seeds")
    return uncertainty_table(fixed.outcomes, drawn.outcomes, fixed.package, OUTCOMES)


def outcome_frame(tidy: pd.DataFrame, months: int) -> pd.DataFrame:
    """One row per scenario x replicate: final-year means of the rates and income, end-of-run
    values of the cumulative outcomes (cost, gone back, fallen back)."""
    keys = ["scenario", "replicate"]
    last = tidy[tidy["month"] == months].set_index(keys)
    year = tidy[tidy["month"] > months - 12].groupby(keys, sort=False)[list(FINAL_YEAR)].mean()
    frame = last[[k for k in OUTCOMES if k not in FINAL_YEAR]].join(year)
    return frame.reset_index()[[*keys, *OUTCOMES]]


# ------------------------------------------------------------------ ranking


def _diff(table: pd.DataFrame, label: str, key: str) -> tuple[float, float, float, bool]:
    """(difference, stated interval low, high, significant) of one variant and outcome."""
    row = table[(table["scenario"] == label) & (table["indicator"] == key)].iloc[0]
    return float(row["diff"]), float(row["diff_adj_low"]), float(row["diff_adj_high"]), bool(row["significant"])


TIERS = (
    "no significant harm",
    "more falling or going back",
    "more poverty",
)


def rank(outcomes: pd.DataFrame, table: pd.DataFrame, package: str, adjust: str = "auto") -> pd.DataFrame:
    """One row per phased policy, ranked for a researcher deciding what to end first:

    1. no significant harm (no harm outcome's adjusted test rejects), by money saved, most first;
    2. significantly more falling back or going back, but not more poverty, by money saved;
    3. significantly more poverty, by yuan saved per extra household in poverty, most first
       (a not-estimable ratio last).

    A positive money saved and extra harm have the signs their names say; the intervals
    are those `table` states; the ratio's Fieller interval is Bonferroni over the policies
    when more than one is phased out (as `compare.cost_effectiveness`).
    """
    labels = [label for label in dict.fromkeys(outcomes["scenario"]) if label != package]
    method = resolve_adjust(adjust, len(labels))
    level = 1 - ALPHA / len(labels) if method != "none" and labels else 1 - ALPHA
    wide = {k: outcomes.pivot(index="replicate", columns="scenario", values=k) for k in OUTCOMES}
    rows = []
    for label in labels:
        cost, cost_low, cost_high, _ = _diff(table, label, COST)
        row: dict[str, object] = {
            "policy": label,
            "money_saved": -cost,
            "money_saved_low": -cost_high,
            "money_saved_high": -cost_low,
        }
        harmed = {}
        for key, name, scale in (
            ("poverty_rate", "extra_poverty_points", 100.0),
            ("households_in_poverty", "extra_households_in_poverty", 1.0),
            (FELL_BACK, "extra_fell_back", 1.0),
            ("returned_households", "extra_gone_back", 1.0),
            ("income_per_capita_mean", "income_change", 1.0),
        ):
            if key not in OUTCOMES:
                continue
            d, low, high, significant = _diff(table, label, key)
            row[name], row[f"{name}_low"], row[f"{name}_high"] = d * scale, low * scale, high * scale
            harmed[key] = significant and d > 0
        saved = (wide[COST][package] - wide[COST][label]).to_numpy()
        extra = (wide["households_in_poverty"][label] - wide["households_in_poverty"][package]).to_numpy()
        ratio = fieller_ratio(saved, extra, level)
        row["saved_per_extra_poor_household"] = ratio.estimate
        row["saved_per_extra_poor_household_low"] = ratio.low
        row["saved_per_extra_poor_household_high"] = ratio.high
        row["ratio_status"] = POVERTY_FELL if ratio.status == NO_GAIN else ratio.status
        row["ratio_level"] = level
        tier = 2 if harmed["poverty_rate"] else 1 if any(harmed.get(k, False) for k in HARMS) else 0
        row["tier"] = tier
        row["verdict"] = TIERS[tier]
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame

    def order(row: pd.Series) -> tuple[int, float]:
        if row["tier"] < 2:
            return int(row["tier"]), -float(row["money_saved"])
        estimated = row["ratio_status"] == ESTIMATED
        return 2, -float(row["saved_per_extra_poor_household"]) if estimated else np.inf

    frame = frame.iloc[sorted(range(len(frame)), key=lambda i: order(frame.iloc[i]))].reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame["adjustment"] = str(table["adjustment"].iloc[0]) if len(table) else method
    frame["family"] = int(table[table["scenario"] != package]["family"].max()) if len(table) else 0
    frame["diff_level"] = float(table[table["scenario"] != package]["diff_level"].min()) if len(table) else 1 - ALPHA
    return frame


def _num(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return number if np.isfinite(number) else None


def phaseout_json(result: Phaseout) -> dict[str, object]:
    """The ranking as plain JSON: settings, then one record per policy (null where no interval)."""
    records = []
    for row in result.ranking.to_dict("records"):
        records.append(
            {
                k: (v if isinstance(v, str) else int(v) if k in ("rank", "tier", "family") else _num(v))
                for k, v in row.items()
            }
        )
    return {
        "package": result.package,
        "at": result.at,
        "taper": result.taper,
        "replicates": result.experiment.replicates,
        "outcomes": list(OUTCOMES),
        # fixed parameters (null), or one posterior draw per replicate (`phaseout --posterior`)
        "posterior_intervals": "one posterior draw per replicate" if result.posterior_draws else None,
        "policies": records,
    }
