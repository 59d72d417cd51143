"""The statistics of a comparison, checked on synthetic data (no model runs): coverage of
the difference and ratio intervals, multiplicity adjustment, equivalence, and the
sequential rule of `--replicates auto`."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.weightstats import ttost_paired

from analysis.compare import compare, cost_effectiveness
from analysis.inference import (
    EQUIVALENT,
    INCONCLUSIVE,
    NO_GAIN,
    NO_WORSE,
    NOT_ESTIMABLE,
    WORSE,
    FewReplicatesWarning,
    TSummary,
    equivalence_pvalues,
    fieller_ratio,
    replicate_until_precise,
)


def synthetic_finals(
    effects: dict[str, float], n: int, rng: np.random.Generator, sd: float = 1.0, key: str = "x"
) -> pd.DataFrame:
    """Final-month rows of a base and scenarios with known true differences `effects`.

    Every replicate has a large shared component (what common random numbers share), so
    the paired differences are effect + independent noise of standard deviation `sd`.
    """
    shared = rng.normal(100.0, 10.0, n)
    rows = [{"scenario": "base", "replicate": r, key: shared[r], "month": 12} for r in range(n)]
    for label, effect in effects.items():
        noise = rng.normal(0.0, sd, n)
        rows += [{"scenario": label, "replicate": r, key: shared[r] + effect + noise[r], "month": 12} for r in range(n)]
    return pd.DataFrame(rows)


def covered(table: pd.DataFrame, effects: dict[str, float], low: str, high: str) -> np.ndarray:
    rows = table[table["scenario"] != "base"]
    truth = rows["scenario"].map(effects).to_numpy()
    return ((rows[low] <= truth) & (truth <= rows[high])).to_numpy()


@pytest.mark.parametrize("n", [3, 10])
def test_difference_interval_covers_the_true_difference_95_percent_of_the_time(n):
    rng = np.random.default_rng(20 + n)
    effects = {f"s{i}": float(e) for i, e in enumerate(rng.normal(0.0, 2.0, 4000))}
    table = compare(synthetic_finals(effects, n, rng), "base", ("x",), adjust="none")
    coverage = covered(table, effects, "diff_ci_low", "diff_ci_high").mean()
    # 4,000 independent intervals: the binomial standard error is 0.0034; a z interval
    # (0.83 at n = 3) or an unpaired one (about 1.0) would fail
    assert coverage == pytest.approx(0.95, abs=0.015), coverage


def test_holm_intervals_cover_the_whole_family_together():
    rng = np.random.default_rng(7)
    together = {"holm": [], "none": []}
    for _ in range(200):
        effects = {f"s{i}": float(e) for i, e in enumerate(rng.normal(0.0, 1.0, 10))}
        finals = synthetic_finals(effects, 8, rng)
        for method in together:
            table = compare(finals, "base", ("x",), adjust=method)
            together[method].append(covered(table, effects, "diff_adj_low", "diff_adj_high").all())
    # Bonferroni over 10: at least 95 %; ten unadjusted 95 % intervals all cover only ~60 % of the time
    assert np.mean(together["holm"]) >= 0.91, np.mean(together["holm"])
    assert np.mean(together["none"]) < 0.75, np.mean(together["none"])


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_an_adjusted_interval_is_never_narrower_than_the_unadjusted_one(method):
    rng = np.random.default_rng(3)
    for trial in range(60):
        k = int(rng.integers(2, 12))
        effects = {f"s{i}": float(e) for i, e in enumerate(rng.normal(0.0, rng.uniform(0.1, 3.0), k))}
        table = compare(synthetic_finals(effects, int(rng.integers(2, 15)), rng), "base", ("x",), adjust=method)
        rows = table[table["scenario"] != "base"]
        assert (rows["diff_adj_low"] <= rows["diff_ci_low"] + 1e-12).all(), trial
        assert (rows["diff_adj_high"] >= rows["diff_ci_high"] - 1e-12).all(), trial
        assert (rows["diff_level"] >= 0.95).all() and (rows["family"] == k).all()
        excludes_zero = (rows["diff_adj_low"] > 0) | (rows["diff_adj_high"] < 0)
        if method == "bh":  # FCR-adjusted intervals exclude 0 exactly where BH rejects
            assert (excludes_zero == rows["significant"]).all(), trial
        else:  # Holm rejects at least what the Bonferroni intervals exclude
            assert (~excludes_zero | rows["significant"]).all(), trial


def test_adjustment_is_on_by_default_only_with_more_than_one_scenario():
    rng = np.random.default_rng(5)
    one = compare(synthetic_finals({"a": 0.0}, 5, rng), "base", ("x",))
    two = compare(synthetic_finals({"a": 0.0, "b": 1.0}, 5, rng), "base", ("x",))
    assert set(one["adjustment"]) == {"none"} and set(two["adjustment"]) == {"holm"}
    assert np.allclose(two.loc[two["scenario"] != "base", "diff_level"], 1 - 0.05 / 2)


def test_one_replicate_gives_no_interval_no_star_and_a_warning():
    rng = np.random.default_rng(1)
    with pytest.warns(FewReplicatesWarning, match="1 replicate"):
        table = compare(synthetic_finals({"a": 5.0, "b": -5.0}, 1, rng), "base", ("x",))
    for column in ("ci_low", "ci_high", "diff_ci_low", "diff_ci_high", "diff_adj_low", "diff_adj_high", "diff_p"):
        assert table[column].isna().all(), column
    assert not table["significant"].any() and (table["family"] == 0).all()
    assert np.isfinite(table["mean"]).all()


# --- equivalence --------------------------------------------------------------------------


def test_tost_p_value_is_statsmodels_paired_tost():
    rng = np.random.default_rng(11)
    for _ in range(20):
        base = rng.normal(10, 3, 12)
        other = base + rng.normal(rng.normal(0, 0.3), 0.5, 12)
        margin = float(rng.uniform(0.1, 1.0))
        ours = equivalence_pvalues(TSummary.of(other - base), margin, "higher")["tost"]
        theirs = ttost_paired(other, base, -margin, margin)[0]
        assert ours == pytest.approx(theirs, rel=1e-9)


def equivalence_of(finals: pd.DataFrame, key: str, margin: float) -> str:
    table = compare(finals, "base", (key,), adjust="none", margins={key: margin})
    return table.loc[table["scenario"] != "base", "equivalence"].item()


def test_tost_says_equivalent_for_identical_scenarios_and_inconclusive_with_one_replicate():
    rng = np.random.default_rng(2)
    # poverty_rate: lower is better; margin 0.005 (half a point)
    same = synthetic_finals({"same": 0.0}, 10, rng, sd=0.001, key="poverty_rate")
    assert equivalence_of(same, "poverty_rate", 0.005) == EQUIVALENT
    exactly = same.copy()
    exactly.loc[exactly["scenario"] == "same", "poverty_rate"] = exactly.loc[
        exactly["scenario"] == "base", "poverty_rate"
    ].to_numpy()
    assert equivalence_of(exactly, "poverty_rate", 0.005) == EQUIVALENT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewReplicatesWarning)
        assert equivalence_of(exactly[exactly["replicate"] == 0], "poverty_rate", 0.005) == INCONCLUSIVE
        assert equivalence_of(same[same["replicate"] == 0], "poverty_rate", 0.005) == INCONCLUSIVE


def test_equivalence_follows_the_better_direction():
    rng = np.random.default_rng(4)
    cases = {"better": -0.05, "worse": 0.05, "noisy": 0.0}
    finals = synthetic_finals({"better": -0.05, "worse": 0.05}, 10, rng, sd=0.002, key="poverty_rate")
    finals = pd.concat([finals, synthetic_finals({"noisy": 0.0}, 10, rng, sd=0.5, key="poverty_rate")])
    finals = finals.drop_duplicates(["scenario", "replicate"])  # one base
    table = compare(finals, "base", ("poverty_rate",), adjust="none").set_index("scenario")
    assert set(cases) <= set(table.index)
    # lower poverty is better: a fall well beyond the margin is no worse, a rise beyond it is worse
    assert table.loc["better", "equivalence"] == NO_WORSE
    assert table.loc["worse", "equivalence"] == WORSE
    assert table.loc["noisy", "equivalence"] == INCONCLUSIVE
    # employment_rate: higher is better, so the same numbers read the other way round
    flipped = finals.rename(columns={"poverty_rate": "employment_rate"})
    table = compare(flipped, "base", ("employment_rate",), adjust="none", margins={"employment_rate": 0.005})
    table = table.set_index("scenario")
    assert table.loc["better", "equivalence"] == WORSE and table.loc["worse", "equivalence"] == NO_WORSE


# --- cost-effectiveness -------------------------------------------------------------------


def test_fieller_interval_covers_a_known_ratio_at_about_the_nominal_rate():
    rng = np.random.default_rng(8)
    mu_cost, mu_gain, ratio = 50_000.0, 10.0, 5_000.0
    cov = [[4.0e7, 6_000.0], [6_000.0, 9.0]]  # cost and gain per replicate, correlated
    hits, estimable = 0, 0
    sims = 3000
    for _ in range(sims):
        cost, gain = rng.multivariate_normal([mu_cost, mu_gain], cov, size=8).T
        r = fieller_ratio(cost, gain)
        if r.status == NOT_ESTIMABLE:
            continue
        estimable += 1
        hits += r.low <= ratio <= r.high
    assert estimable > 0.99 * sims
    assert hits / estimable == pytest.approx(0.95, abs=0.015), hits / estimable


def test_fieller_is_not_estimable_when_the_gain_interval_contains_zero():
    rng = np.random.default_rng(9)
    gain = rng.normal(0.5, 3.0, 10)
    gain -= gain.mean() - 0.5  # mean 0.5, standard error about 1: the interval contains 0
    r = fieller_ratio(rng.normal(1000, 100, 10), gain)
    assert r.status == NOT_ESTIMABLE and np.isnan(r.estimate) and np.isnan(r.low)
    assert fieller_ratio(np.full(10, 1000.0), -gain - 5).status == NO_GAIN
    assert fieller_ratio(np.array([1000.0]), np.array([5.0])).status == NOT_ESTIMABLE  # one replicate


def test_cost_effectiveness_gives_ratios_with_intervals_from_the_paired_replicates():
    rng = np.random.default_rng(10)
    n = 12
    employed = rng.normal(500, 30, n)
    poor = rng.normal(200, 20, n)
    rows = []
    for r in range(n):
        rows.append(
            {
                "scenario": "base",
                "replicate": r,
                "policy_cost_total": 1e6,
                "employed": employed[r],
                "households_in_poverty": poor[r],
            }
        )
        for label, fewer_poor in (("p", 20.0), ("q", 0.0)):  # p lifts 20 households above the line, q none
            rows.append(
                {
                    "scenario": label,
                    "replicate": r,
                    "policy_cost_total": 1e6 + 2e5 + rng.normal(0, 1e4),
                    "employed": employed[r] + 40 + rng.normal(0, 4),
                    "households_in_poverty": poor[r] - fewer_poor + rng.normal(0, 4),
                }
            )
    costs = cost_effectiveness(pd.DataFrame(rows), "base", adjust="none").set_index("scenario")
    p, q = costs.loc["p"], costs.loc["q"]
    assert p.cost_per_extra_employed_yuan_status == "estimated" and p.level == 0.95
    assert p.cost_per_extra_employed_yuan_ci_low < 5000 < p.cost_per_extra_employed_yuan_ci_high
    assert p.cost_per_extra_employed_yuan == pytest.approx(p.extra_cost_yuan / p.extra_employed)
    assert p.extra_employed_ci_low > 0
    # fewer households in poverty is the gain: about 2e5 / 20 = 10,000 yuan per household
    assert p.extra_households_above_poverty_line == pytest.approx(20, abs=3)
    assert p.cost_per_household_above_poverty_line_yuan_status == "estimated"
    assert (
        p.cost_per_household_above_poverty_line_yuan_ci_low
        < 10_000
        < p.cost_per_household_above_poverty_line_yuan_ci_high
    )
    assert q.extra_households_above_poverty_line_ci_low < 0 < q.extra_households_above_poverty_line_ci_high
    assert q.cost_per_household_above_poverty_line_yuan_status == NOT_ESTIMABLE
    assert np.isnan(q.cost_per_household_above_poverty_line_yuan)
    # two scenarios, with adjustment: four ratios, each at 1 - 0.05 / 4, and wider for it
    adjusted = cost_effectiveness(pd.DataFrame(rows), "base").set_index("scenario").loc["p"]
    assert adjusted.level == pytest.approx(1 - 0.05 / 4) and adjusted.adjustment == "holm"
    assert adjusted.cost_per_extra_employed_yuan_ci_low < p.cost_per_extra_employed_yuan_ci_low
    assert adjusted.cost_per_extra_employed_yuan_ci_high > p.cost_per_extra_employed_yuan_ci_high


# --- how many replicates --------------------------------------------------------------


def synthetic_batches(sd: float, seed: int = 1):
    """run_batch(first, count) for two scenarios, replicate r drawn from its own seed
    (seed + r): the rows of a replicate never depend on the batches it was run in."""
    calls: list[tuple[int, int]] = []

    def run_batch(first: int, count: int) -> pd.DataFrame:
        calls.append((first, count))
        rows = []
        for r in range(first, first + count):
            rng = np.random.default_rng(seed + r)
            shared = rng.normal(0.5, 0.1)
            rows.append({"scenario": "base", "replicate": r, "employment_rate": shared})
            rows.append({"scenario": "p", "replicate": r, "employment_rate": shared + 0.01 + rng.normal(0, sd)})
        return pd.DataFrame(rows)

    return run_batch, calls


def evaluate(finals: pd.DataFrame) -> pd.DataFrame:
    return compare(finals, "base", ("employment_rate",), adjust="none")


def test_replicates_auto_stops_at_the_first_batch_that_meets_the_target_and_is_deterministic():
    target = {"employment_rate": 0.01}  # sd 0.01: about (2 x 1.96 x 0.01 / 0.01)^2 = 15 replicates
    run_batch, calls = synthetic_batches(sd=0.01)
    finals, precision = replicate_until_precise(run_batch, evaluate, "base", target, batch=5, maximum=200)
    assert precision.reason == "target" and precision.widths["met"].all()
    assert (precision.widths["width"] < 0.01).all()
    n = precision.replicates
    assert 10 <= n <= 30 and n % 5 == 0 and calls == [(k, 5) for k in range(0, n, 5)]
    # one batch fewer had not met the target
    fewer = evaluate(finals[finals["replicate"] < n - 5])
    width = (fewer["diff_adj_high"] - fewer["diff_adj_low"]).iloc[-1]
    assert width >= 0.01
    # batches extend, they never reshuffle: the same rows as one run of n replicates
    whole, _ = synthetic_batches(sd=0.01)
    pd.testing.assert_frame_equal(finals, whole(0, n))
    again, precision_again = replicate_until_precise(synthetic_batches(0.01)[0], evaluate, "base", target, 5, 200)
    pd.testing.assert_frame_equal(finals, again)
    assert precision_again.replicates == n and precision_again.history == precision.history


def test_replicates_auto_stops_at_the_maximum_and_says_so():
    run_batch, calls = synthetic_batches(sd=0.05)
    finals, precision = replicate_until_precise(
        run_batch, evaluate, "base", {"employment_rate": 0.001}, batch=4, maximum=10
    )
    assert precision.reason == "maximum" and precision.replicates == 10 and finals["replicate"].nunique() == 10
    assert calls == [(0, 4), (4, 4), (8, 2)]
    assert "maximum of 10" in precision.describe() and "employment_rate" in precision.describe()
