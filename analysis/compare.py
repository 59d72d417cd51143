"""Compare scenarios: replicates with common random numbers, confidence intervals,
paired differences from a base scenario, and cost-effectiveness.

Usable from a notebook:

    from analysis.compare import run_experiment, compare, cost_effectiveness
    exp = run_experiment({"baseline": base, "combined": package}, replicates=10)
    table = compare(exp.finals, base="baseline")
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scenarios.loader import override
from scenarios.schema import Scenario
from simulation.indicators import INDICATORS, flatten

from .executors import RunOutput, RunTask, run_tasks
from .inference import (
    ALPHA,
    FewReplicatesWarning,
    Precision,
    TSummary,
    adjust_family,
    equivalence_pvalues,
    equivalence_verdict,
    fieller_ratio,
    replicate_until_precise,
    resolve_adjust,
)

if TYPE_CHECKING:
    from .bayes import Posterior

KEY_INDICATORS = INDICATORS.key()  # declared in simulation.indicators


def indicators_for(scenarios: Iterable[Scenario]) -> tuple[str, ...]:
    """The key indicators, plus those a unit enabled in any of `scenarios` asks to be compared
    (the relocation terms: households moved, follow-through, small households among movers)."""
    from simulation.policies import UNITS

    scenarios = list(scenarios)
    extra = [
        name
        for unit in UNITS
        if any(getattr(s.policies, unit.NAME).enabled for s in scenarios)
        for name in unit.COMPARED
    ]
    return KEY_INDICATORS + tuple(name for name in dict.fromkeys(extra) if name not in KEY_INDICATORS)


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
    first_replicate: int = 0,
    draw_settings: Callable[[int, Scenario], dict[str, Any]] | None = None,
) -> Experiment:
    """Run every scenario `replicates` times and collect the monthly indicators.

    Replicates are numbered from `first_replicate` (replicate i has seed `seed + i`), so a
    later call with `first_replicate` = the replicates already run extends an experiment
    with the runs a single larger call would have made (see `extend`). `draw_settings`
    (replicate, scenario) -> overrides sets parameters per replicate, e.g. one posterior
    draw shared by every scenario of a replicate (`posterior_settings`).
    """
    tasks = [
        RunTask(
            label=label,
            scenario=override(scenario, draw_settings(r, scenario)) if draw_settings else scenario,
            seed=seed_for(seed, r, k, common_random_numbers),
            replicate=r,
            months=months,
            keep_network=networks and r == 0,
        )
        for k, (label, scenario) in enumerate(scenarios.items())
        for r in range(first_replicate, first_replicate + replicates)
    ]
    outputs = run_tasks(tasks, workers=workers, on_done=on_done)
    nets = {out.task.label: out.network for out in outputs if out.task.keep_network}
    return Experiment(dict(scenarios), replicates, seed, common_random_numbers, tidy_frame(outputs), nets)


def posterior_settings(posterior: Posterior, replicates: int, seed: int) -> Callable[[int, Scenario], dict[str, Any]]:
    """Replicate r of every scenario takes the same parameter set, drawn by weight from the
    posterior (the draws fixed by `seed`): the shared parameters everywhere, a community's
    own where the scenario is one of the fitted communities."""
    rows = posterior.draw(replicates, seed)

    def settings(replicate: int, scenario: Scenario) -> dict[str, Any]:
        return posterior.settings(int(rows[replicate % replicates]), scenario.community.id)

    return settings


def uncertainty_table(
    seed_only: pd.DataFrame, with_posterior: pd.DataFrame, base: str, indicators: tuple[str, ...] = KEY_INDICATORS
) -> pd.DataFrame:
    """Each difference from `base` twice, paired by replicate: with every parameter at its
    point value (seed noise only) and with one posterior draw per replicate (seed noise and
    calibration uncertainty). Unadjusted 95 % t intervals; `width_ratio` = posterior / seed-only width;
    `same_direction_*` = the share of replicates whose difference points the way the seed-only
    mean does (`same_direction`): how often a policy's sign holds from one posterior draw to
    the next, against what seed noise alone gives."""
    rows = []
    for label in dict.fromkeys(seed_only["scenario"]):
        if label == base:
            continue
        for key in indicators:
            if key not in seed_only or key not in with_posterior:
                continue
            a_diffs = _paired(seed_only, base, label, key).to_numpy()
            b_diffs = _paired(with_posterior, base, label, key).to_numpy()
            a, b = TSummary.of(a_diffs), TSummary.of(b_diffs)
            (a_lo, a_hi), (b_lo, b_hi) = a.interval(), b.interval()
            rows.append(
                {
                    "scenario": label,
                    "indicator": key,
                    "n": a.n,
                    "diff_seed_only": a.mean,
                    "seed_only_low": a_lo,
                    "seed_only_high": a_hi,
                    "diff_posterior": b.mean,
                    "posterior_low": b_lo,
                    "posterior_high": b_hi,
                    "width_ratio": (b_hi - b_lo) / (a_hi - a_lo) if a_hi > a_lo else np.nan,
                    "same_direction_seed_only": same_direction(a_diffs, a.mean),
                    "same_direction_posterior": same_direction(b_diffs, a.mean),
                }
            )
    return pd.DataFrame(rows)


def same_direction(differences: np.ndarray, reference: float) -> float:
    """Share of `differences` with the sign of `reference`, a zero difference counting half
    (so a policy that changes nothing scores about 0.5); NaN when `reference` is 0 or
    there is no difference."""
    values = np.asarray(differences, dtype=float)
    values = values[np.isfinite(values)]
    if not values.size or not np.isfinite(reference) or reference == 0:
        return float("nan")
    signs = np.sign(values) * np.sign(reference)
    return float(np.mean((signs > 0) + 0.5 * (signs == 0)))


def tidy_frame(outputs: list[RunOutput]) -> pd.DataFrame:
    """One row per run x month: the runs' monthly indicators after the ID columns."""
    frames = []
    for out in outputs:
        frame = out.monthly.copy()
        for name, value in zip(
            ID_COLUMNS, (out.task.label, out.task.replicate, out.task.seed, out.run_id), strict=True
        ):
            frame.insert(ID_COLUMNS.index(name), name, value)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def extend(experiment: Experiment, more: Experiment) -> Experiment:
    """`experiment` followed by the further replicates of `more` (same scenarios and seed),
    rows ordered scenario by scenario, then by replicate, as one call would give them."""
    if list(more.scenarios) != list(experiment.scenarios) or more.seed != experiment.seed:
        raise ValueError("can only extend an experiment by more replicates of the same scenarios and seed")
    order = {label: k for k, label in enumerate(experiment.scenarios)}
    tidy = pd.concat([experiment.tidy, more.tidy], ignore_index=True)
    tidy = tidy.sort_values(
        ["scenario", "replicate", "month"], key=lambda c: c.map(order) if c.name == "scenario" else c, kind="stable"
    ).reset_index(drop=True)
    networks = {**more.networks, **experiment.networks}
    return Experiment(
        experiment.scenarios,
        experiment.replicates + more.replicates,
        experiment.seed,
        experiment.common_random_numbers,
        tidy,
        networks,
    )


def run_until_precise(
    scenarios: dict[str, Scenario],
    targets: dict[str, float],
    batch: int = 10,
    maximum: int = 100,
    adjust: str = "auto",
    margins: dict[str, float] | None = None,
    indicators: tuple[str, ...] = KEY_INDICATORS,
    **run: Any,
) -> tuple[Experiment, Precision]:
    """`run_experiment` in batches of `batch` replicates until every compared scenario's
    difference interval of each indicator in `targets` is narrower than its target, or
    `maximum` replicates; the first scenario is the base. The intervals judged are those
    `compare(..., indicators, adjust, margins)` states (adjusted over the same family).
    `run` goes to `run_experiment` (seed, workers, months, on_done, ...)."""
    base = next(iter(scenarios))
    runs: list[Experiment] = []

    def run_batch(first: int, count: int) -> pd.DataFrame:
        runs.append(run_experiment(scenarios, replicates=count, first_replicate=first, **run))
        return runs[-1].finals

    def evaluate(finals: pd.DataFrame) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewReplicatesWarning)
            return compare(finals, base, indicators, adjust=adjust, margins=margins)

    _, precision = replicate_until_precise(run_batch, evaluate, base, targets, batch, maximum)
    experiment = runs[0]
    for more in runs[1:]:
        experiment = extend(experiment, more)
    return experiment, precision


def mean_ci(values: np.ndarray, level: float = 1 - ALPHA) -> tuple[float, float, float]:
    """Mean and two-sided t confidence interval; no interval (NaN, NaN) with fewer than
    two values: one replicate says nothing about the spread."""
    summary = TSummary.of(values)
    return (summary.mean, *summary.interval(level))


def summarise(finals: pd.DataFrame, indicators: tuple[str, ...] = KEY_INDICATORS) -> pd.DataFrame:
    """Replicates, mean and 95 % CI across replicates, per scenario and indicator."""
    rows = []
    for label, group in finals.groupby("scenario", sort=False):
        for key in indicators:
            if key in group:
                summary = TSummary.of(group[key].to_numpy())
                lo, hi = summary.interval()
                rows.append(
                    {
                        "scenario": label,
                        "indicator": key,
                        "n": summary.n,
                        "mean": summary.mean,
                        "ci_low": lo,
                        "ci_high": hi,
                    }
                )
    return pd.DataFrame(rows, columns=["scenario", "indicator", "n", "mean", "ci_low", "ci_high"])


def default_margins() -> dict[str, float]:
    """Equivalence margins declared in the indicator table."""
    return INDICATORS.margins()


def _paired(finals: pd.DataFrame, base: str, label: str, key: str) -> pd.Series:
    """`label` minus `base` for one indicator, replicate by replicate."""
    base_rows = finals[finals["scenario"] == base].set_index("replicate")[key]
    other = finals[finals["scenario"] == label].set_index("replicate")[key]
    return other - base_rows.reindex(other.index)


def _columns(pairs: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """(low, high) pairs as two columns (also when there are none)."""
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _warn_if_few(n: int, what: str) -> None:
    if n < 2:
        warnings.warn(
            f"{what} rests on {n} replicate(s): no interval, no test, no equivalence (at least 2 are needed)",
            FewReplicatesWarning,
            stacklevel=3,
        )


def compare(
    finals: pd.DataFrame,
    base: str,
    indicators: tuple[str, ...] = KEY_INDICATORS,
    adjust: str = "auto",
    margins: dict[str, float] | None = None,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Summary plus the difference from `base`, paired by replicate, with its intervals,
    tests and equivalence verdicts.

    Columns, besides `summarise`'s: diff and diff_ci_low/high (the unadjusted 95 % t
    interval of the paired differences); diff_p (paired t test of no difference);
    diff_p_adjusted, significant, diff_level and diff_adj_low/high (the test and interval
    after adjusting the family of every scenario other than the base x every indicator by
    `adjust`: "none", "holm", "bh", or "auto" = holm when more than one scenario is compared
    with the base); adjustment and family (the method and the family's size); margin,
    better and equivalence (two one-sided tests against the margin, adjusted the same way,
    for the indicators with a margin: the indicator table's, or `margins`).
    """
    labels = list(dict.fromkeys(finals["scenario"]))
    method = resolve_adjust(adjust, len(labels) - 1)
    margins = {**default_margins(), **(margins or {})}
    table = summarise(finals, indicators)
    wide = {k: finals.set_index(["replicate", "scenario"])[k].unstack("scenario") for k in table["indicator"].unique()}
    paired = [
        TSummary.of(wide[k][label] - wide[k][base])
        for label, k in zip(table["scenario"], table["indicator"], strict=True)
    ]
    other = (table["scenario"] != base).to_numpy()
    _warn_if_few(min((p.n for p in paired), default=2), "the comparison")
    table["diff"] = [p.mean for p in paired]
    table["diff_ci_low"], table["diff_ci_high"] = _columns([p.interval() for p in paired])
    pvalues = np.array([p.pvalue() if o else np.nan for p, o in zip(paired, other, strict=True)])
    family = adjust_family(pvalues, method, alpha)
    table["diff_p"], table["diff_p_adjusted"], table["significant"] = pvalues, family.p_adjusted, family.reject
    table["diff_level"] = np.where(other, family.level, 1 - alpha)
    adjusted = [p.interval(level) for p, level in zip(paired, table["diff_level"], strict=True)]
    table["diff_adj_low"], table["diff_adj_high"] = _columns(adjusted)
    table["adjustment"], table["family"] = method, family.family
    table["margin"] = [margins.get(k, np.nan) if o else np.nan for k, o in zip(table["indicator"], other, strict=True)]
    table["better"] = [INDICATORS[k].better if k in INDICATORS else None for k in table["indicator"]]
    table["equivalence"] = _equivalence(table, paired, other, method, alpha)
    return table


def _equivalence(table: pd.DataFrame, paired: list[TSummary], other: np.ndarray, method: str, alpha: float) -> list:
    """Equivalence verdict per row (None where there is no margin or for the base): the
    three one-sided p-value families of `equivalence_pvalues`, each adjusted by `method`."""
    tested = other & np.isfinite(table["margin"].to_numpy(dtype=float))
    p = {k: np.full(len(table), np.nan) for k in ("tost", "no_harm", "harm")}
    for i in np.flatnonzero(tested):
        for k, v in equivalence_pvalues(paired[i], table["margin"].iat[i], table["better"].iat[i]).items():
            p[k][i] = v
    decided = {k: adjust_family(v, method, alpha).reject for k, v in p.items()}
    return [
        equivalence_verdict(decided["tost"][i], decided["no_harm"][i], decided["harm"][i], table["better"].iat[i])
        if tested[i]
        else None
        for i in range(len(table))
    ]


COST = "policy_cost_total"
GAINS = {
    # ratio name -> (gain column, sign: +1 when more is a gain, -1 when less is a gain)
    "cost_per_extra_employed_yuan": ("employed", 1),
    "cost_per_household_above_poverty_line_yuan": ("households_in_poverty", -1),
}
GAIN_NAMES = {"employed": "extra_employed", "households_in_poverty": "extra_households_above_poverty_line"}


def cost_effectiveness(finals: pd.DataFrame, base: str, adjust: str = "auto", alpha: float = ALPHA) -> pd.DataFrame:
    """Extra policy cost relative to `base` per extra person employed and per extra
    household above the poverty line, with Fieller intervals from the paired replicates.

    A ratio is "not estimable" where its gain's interval contains 0 and "no gain" where
    the interval lies below 0 (estimate and interval NaN in both cases). The ratios of all
    scenarios form one family: with any adjustment (`auto` adjusts when more than one
    scenario is compared) each of the 2k intervals is at 1 - alpha/2k (Bonferroni), and so
    is the gain interval that decides whether the ratio is estimable.
    """
    labels = [label for label in dict.fromkeys(finals["scenario"]) if label != base]
    method = resolve_adjust(adjust, len(labels))
    family = len(GAINS) * len(labels)
    level = 1 - alpha / family if method != "none" and family else 1 - alpha
    rows = []
    for label in labels:
        cost = _paired(finals, base, label, COST)
        _warn_if_few(TSummary.of(cost).n, f"the cost-effectiveness of {label}")
        extra_cost = TSummary.of(cost)
        row: dict[str, object] = {"scenario": label, "extra_cost_yuan": extra_cost.mean}
        row["extra_cost_ci_low"], row["extra_cost_ci_high"] = extra_cost.interval(level)
        for ratio_name, (column, sign) in GAINS.items():
            gain = sign * _paired(finals, base, label, column)
            ratio = fieller_ratio(cost.to_numpy(), gain.to_numpy(), level)
            name = GAIN_NAMES[column]
            row[name] = ratio.gain.mean
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = ratio.gain.interval(level)
            row[ratio_name], row[f"{ratio_name}_ci_low"], row[f"{ratio_name}_ci_high"] = (
                ratio.estimate,
                ratio.low,
                ratio.high,
            )
            row[f"{ratio_name}_status"] = ratio.status
        row["level"], row["adjustment"], row["family"] = level, method, family
        rows.append(row)
    return pd.DataFrame(rows)


def _num(value: object) -> float | None:
    value = float(value)  # type: ignore[arg-type]
    return value if np.isfinite(value) else None


def comparison_json(
    table: pd.DataFrame, costs: pd.DataFrame | None = None
) -> dict[str, dict[str, dict[str, float | str | bool | None]]]:
    """scenario -> indicator -> mean, ci_low, ci_high, diff, diff_ci_low, diff_ci_high (the
    unadjusted 95 % intervals; null where there is none), and, where the table has them,
    n, diff_p, diff_p_adjusted, significant, diff_level, diff_adj_low, diff_adj_high,
    adjustment, family, margin, equivalence. With `costs`, each compared scenario also has
    cost_per_extra_employed_yuan and cost_per_household_above_poverty_line_yuan ->
    estimate, ci_low, ci_high, level, status."""
    out: dict[str, dict[str, dict[str, float | str | bool | None]]] = {}
    numbers = ("mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high")
    more_numbers = ("diff_p", "diff_p_adjusted", "diff_level", "diff_adj_low", "diff_adj_high", "margin")
    for row in table.to_dict("records"):
        entry: dict[str, float | str | bool | None] = {k: _num(row[k]) for k in numbers}
        if "n" in row:
            entry["n"] = int(row["n"])
        entry.update({k: _num(row[k]) for k in more_numbers if k in row})
        if "significant" in row:
            entry["significant"] = bool(row["significant"])
        for key in ("adjustment", "equivalence"):
            if key in row:
                entry[key] = row[key] if isinstance(row[key], str) else None
        if "family" in row:
            entry["family"] = int(row["family"])
        out.setdefault(row["scenario"], {})[row["indicator"]] = entry
    for row in [] if costs is None else costs.to_dict("records"):
        for ratio in GAINS:
            out.setdefault(row["scenario"], {})[ratio] = {
                "estimate": _num(row[ratio]),
                "ci_low": _num(row[f"{ratio}_ci_low"]),
                "ci_high": _num(row[f"{ratio}_ci_high"]),
                "level": _num(row["level"]),
                "status": row[f"{ratio}_status"],
            }
    return out


NONE = "(none)"  # a parameter a scenario does not set


def parameter_differences(scenarios: dict[str, Scenario]) -> pd.DataFrame:
    """Every parameter whose value is not the same in all scenarios (one row per key);
    a value a scenario does not set (None) is shown as "(none)"."""
    flat = {label: flatten(s.model_dump(mode="json")) for label, s in scenarios.items()}
    keys = sorted(set().union(*flat.values()))
    rows = []
    for key in keys:
        values = [flat[label].get(key) for label in scenarios]
        if any(v != values[0] for v in values[1:]):
            shown = [NONE if v is None else v for v in values]  # e.g. `extends` of a base that extends nothing
            rows.append({"parameter": key, **dict(zip(scenarios, shown, strict=True))})
    return pd.DataFrame(rows, columns=["parameter", *scenarios])


def format_value(indicator: str, value: float | None) -> str:
    """One way to print a number, shared by the terminal table and the report: the
    indicator table's format for a declared indicator, a plain number otherwise."""
    if indicator in INDICATORS:
        return INDICATORS.format(indicator, value)
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def format_interval(indicator: str, low: float | None, high: float | None) -> str:
    """'[low, high]' with the indicator's format; a dash where there is no interval."""
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return "-"
    return f"[{format_value(indicator, low)}, {format_value(indicator, high)}]"
