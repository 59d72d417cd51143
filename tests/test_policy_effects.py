"""Every policy, as a researcher would test it: its target moves, and it does no harm.

Each policy file's `[policies]` tables are put on top of a base community and compared
with that base over `SEEDS` paired seeds (common random numbers), at the typical community
(1/4 size) and at two calibrated communities (scaled to `PEOPLE` relocated people; policy
amounts are densities, so they mean the same at any size), over ten years. Outcomes are
means over the tenth year (the final month alone adds month-to-month churn to the noise;
at 1,500 people the paired differences spread almost as much as unpaired ones, at 3,000
and 4,000 people half as much: community size is what narrows the intervals). For each:

- the target indicator moves the intended way: the paired 95 % confidence interval of the
  difference excludes 0 on the intended side, in every community;
- no harm: poverty does not rise and mean income per person does not fall. The 95 %
  interval must exclude a rise in poverty of more than `POVERTY_MARGIN` and a fall in
  income of more than `INCOME_MARGIN` of the base (non-inferiority), and neither
  difference may be significant in the harmful direction at the family-wise level
  (`HARM_LEVEL`: Bonferroni over the 2 x policies x communities no-harm checks; at the
  plain 95 % level a policy with no effect fails one of those 66 checks by chance about
  every second run: monitoring in Huanjiang was -67 yuan [-128, -6] over seeds 1-10 and
  -6 [-52, +40] over seeds 1-20). The exceptions are the trade-offs docs/MODEL.md (7.9)
  states with their source (`TRADE_OFFS`).

The defects the policy issue listed are regression tests below. Measured results of a
full run are in docs/MODEL.md, 7.9.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.compare import run_experiment
from analysis.executors import default_workers
from scenarios.loader import SCENARIO_DIR, apply_overrides, deep_merge, read_toml, resolve_extends, validate
from scenarios.schema import Scenario
from simulation.indicators import INDICATORS
from simulation.policies import FOLLOW_UP_NAMES  # the relocation terms are tested against other terms (test_relocation)

SEEDS = 24  # 16 left start-up support's small effect in Liujiang (+0.011 [+0.006, +0.016] over 32 seeds) undetected
YEARS = 10
PEOPLE = (
    3_000  # relocated people in a calibrated community, scaled up or down (the typical one runs at 1/4 size: 2,950)
)
COMMUNITIES = ("typical", "liujiang_xingliu", "huanjiang_chengxi")
# the calibrated communities' files: the point fit (docs/FIT.md says why not yet the
# posterior's central particle, which `python -m tests.test_policy_effects central` runs)
CALIBRATED = SCENARIO_DIR / "calibrated"
POSTERIOR = False  # `python -m tests.test_policy_effects posterior`: one posterior draw per seed
POVERTY_MARGIN = 0.01  # a rise of one percentage point
INCOME_MARGIN = 0.02  # a fall of 2 % of the base income
TARGETS: dict[str, tuple[str, int]] = {  # policy -> (target indicator, +1 up / -1 down)
    "skills_training": ("income_per_capita_mean", +1),
    "public_welfare_jobs": ("share_public_welfare", +1),
    "workshops": ("share_workshop", +1),  # posts near home taken (income: docs/MODEL.md 7.9; carers: tests/policies)
    "labour_export": ("share_out_of_county", +1),
    "community_services": ("integration_index", +1),
    "transition_period": ("returned_households", +1),
    "origin_resources": ("income_per_capita_mean", +1),
    "employment_guarantee": ("zero_employment_households", -1),
    "subsistence_allowance": ("poverty_rate", -1),
    "startup_support": ("share_local_services", +1),  # the businesses and the jobs they create
    "monitoring": (
        "fell_back_cumulative",
        -1,
    ),  # shocks off here: the churn of jobs alone (tests/policies: with shocks)
}
HARM_LEVEL = 1 - 0.05 / (2 * len(FOLLOW_UP_NAMES) * len(COMMUNITIES))  # two-sided confidence of the harm check
# (policy, indicator) -> the largest harm the trade-off docs/MODEL.md 7.9 states allows
# (poverty in points, income as a share of the base): a longer transition keeps households
# farming from the old house and makes going back easier; organised labour export moves
# members from local work, whose pay the household counts in full, to work outside, of
# which it counts what is remitted (Liujiang, the best-paid county: -96 yuan [-132, -61]
# over 32 seeds, poverty unchanged)
TRADE_OFFS = {
    ("transition_period", "poverty_rate"): 0.02,
    ("transition_period", "income_per_capita_mean"): 0.04,
    ("labour_export", "income_per_capita_mean"): 0.02,
}


def base_data(community: str, calibrated: Path | None = None) -> dict:
    """Raw scenario data of a base community: the typical one at 1/4 size, or a calibrated one
    (its file in `calibrated`, by default `CALIBRATED`) scaled to `PEOPLE`."""
    if community == "typical":
        data = resolve_extends(SCENARIO_DIR / "baseline.toml")
    else:
        data = resolve_extends((calibrated or CALIBRATED) / f"{community}.toml")
    c = data["community"]
    people = round(c["relocated_population"] / 4) if community == "typical" else PEOPLE
    factor = people / c["relocated_population"]
    data = apply_overrides(
        data,
        {
            "community.relocated_population": people,
            "community.relocated_labour_force": round(c["relocated_labour_force"] * factor),
            "community.source_villages": max(1, round(c["source_villages"] * factor)),
        },
    )
    return apply_overrides(data, {"simulation.years": YEARS, "ties.metrics_at_end": False})


def with_policy(data: dict, policy: str | None) -> Scenario:
    """The base with one policy file's `[policies]` tables on top."""
    if policy is not None:
        data = deep_merge(data, {"policies": read_toml(SCENARIO_DIR / "policies" / f"{policy}.toml")["policies"]})
    return validate(data, f"{policy} on a base community")


@cache
def finals() -> pd.DataFrame:
    """Mean over the tenth year of every run: community x (base and each policy) x seed, in one pool of workers."""
    scenarios = {}
    for community in COMMUNITIES:
        data = base_data(community)
        for policy in (None, *FOLLOW_UP_NAMES):
            scenarios[f"{community}/{policy or 'base'}"] = with_policy(data, policy)
    draw_settings = None
    if POSTERIOR:  # replicate r of every scenario at posterior draw r (shared + the community's own)
        from analysis.bayes import read_posterior
        from analysis.compare import posterior_settings

        draw_settings = posterior_settings(read_posterior(), SEEDS, seed=1)
    exp = run_experiment(
        scenarios, replicates=SEEDS, seed=1, workers=default_workers(), networks=False, draw_settings=draw_settings
    )
    last_year = exp.tidy[exp.tidy["month"] > 12 * (YEARS - 1)]
    return last_year.groupby(["scenario", "replicate"], sort=False).mean(numeric_only=True).reset_index()


def differences(community: str, policy: str, key: str) -> tuple[float, np.ndarray]:
    """(base mean, policy minus base of `key` seed by seed)."""
    f = finals()
    base = f[f["scenario"] == f"{community}/base"].set_index("replicate")[key]
    other = f[f["scenario"] == f"{community}/{policy}"].set_index("replicate")[key]
    return float(base.mean()), (other - base.reindex(other.index)).to_numpy(dtype=float)


def paired(community: str, policy: str, key: str, level: float = 0.95) -> tuple[float, float, float, float]:
    """(base mean, mean paired difference, CI low, high at the two-sided `level`) of `key`."""
    base_mean, d = differences(community, policy, key)
    half = stats.t.ppf(0.5 + level / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    return base_mean, float(d.mean()), float(d.mean() - half), float(d.mean() + half)


@pytest.mark.parametrize("community", COMMUNITIES)
@pytest.mark.parametrize("policy", FOLLOW_UP_NAMES)
def test_policy_moves_its_target(policy, community):
    holds, why = target_moves(policy, community)
    assert holds, why


def target_moves(policy: str, community: str) -> tuple[bool, tuple]:
    """Whether the policy's target moves the intended way (the paired interval excludes 0 on
    that side), and the figures behind the verdict."""
    key, sign = TARGETS[policy]
    _, mean, low, high = paired(community, policy, key)
    if policy == "public_welfare_jobs" and base_fill(community) < 0.9 and low <= 0:
        # more posts are taken only where today's are: where jobless weak labour leaves some
        # of the baseline's posts empty, the extra posts may stay empty (and change nothing)
        return low <= 0 <= high and fill(community, "public_welfare_jobs") < base_fill(community), (mean, low, high)
    return (low > 0) if sign > 0 else (high < 0), (policy, community, key, mean, low, high)


def fill(community: str, policy: str) -> float:
    """Share of the funded public-welfare posts that are held, over the last year and the seeds."""
    f = finals()
    runs = f[f["scenario"] == f"{community}/{policy}"]
    return float(runs["public_welfare_posts_filled"].sum() / runs["public_welfare_posts"].sum())


def base_fill(community: str) -> float:
    """`fill` in the base community."""
    return fill(community, "base")


@pytest.mark.parametrize("community", COMMUNITIES)
@pytest.mark.parametrize("policy", FOLLOW_UP_NAMES)
def test_policy_does_no_harm(policy, community):
    for holds, why in (no_poverty_harm(policy, community), no_income_harm(policy, community)):
        assert holds, why


def no_poverty_harm(policy: str, community: str) -> tuple[bool, tuple]:
    """Poverty does not rise beyond the margin (or the stated trade-off), nor significantly at the family-wise level."""
    _, mean, low, high = paired(community, policy, "poverty_rate")
    if (policy, "poverty_rate") in TRADE_OFFS:
        return high <= TRADE_OFFS[policy, "poverty_rate"], ("poverty beyond the trade-off", mean, low, high)
    _, _, wide_low, _ = paired(community, policy, "poverty_rate", HARM_LEVEL)
    return wide_low <= 0 and high <= POVERTY_MARGIN, ("poverty rises", policy, community, mean, low, high)


def no_income_harm(policy: str, community: str) -> tuple[bool, tuple]:
    """Mean income does not fall beyond the margin (or the stated trade-off), nor significantly at the family-wise level."""
    base, mean, low, high = paired(community, policy, "income_per_capita_mean")
    if (policy, "income_per_capita_mean") in TRADE_OFFS:
        allowed = TRADE_OFFS[policy, "income_per_capita_mean"] * base
        return low >= -allowed, ("income beyond the trade-off", mean, low, high)
    _, _, _, wide_high = paired(community, policy, "income_per_capita_mean", HARM_LEVEL)
    return wide_high >= 0 and low >= -INCOME_MARGIN * base, ("income falls", policy, community, mean, low, high)


def test_every_policy_has_a_file_a_target_and_the_three_communities():
    assert set(TARGETS) == set(FOLLOW_UP_NAMES)
    assert {p.stem for p in (SCENARIO_DIR / "policies").glob("*.toml")} == set(FOLLOW_UP_NAMES)
    f = finals()
    assert f.groupby("scenario").size().eq(SEEDS).all() and f["scenario"].nunique() == 3 * (len(FOLLOW_UP_NAMES) + 1)


# ----------------------------------------------------------------------------- the defects, as regressions
def test_more_welfare_posts_go_to_weak_labour_and_do_not_raise_poverty():
    """Was: four times the posts raised poverty (+0.7 points), taken by able young workers."""
    f = finals()
    runs = f[f["scenario"].str.endswith("/public_welfare_jobs")]
    assert runs["welfare_posts_to_weak_labour"].min() > 0.9
    for community in COMMUNITIES:
        _, mean, low, high = paired(community, "public_welfare_jobs", "poverty_rate")
        assert high < POVERTY_MARGIN and low < 0, (community, mean, low, high)


def test_guarantee_in_calibrated_liujiang_does_not_raise_poverty():
    """Was: +0.74 points [+0.20, +1.29]; the posts it created stayed open to everyone."""
    _, mean, low, high = paired("liujiang_xingliu", "employment_guarantee", "poverty_rate")
    assert low < 0 < high + 1e-12 and high < POVERTY_MARGIN, (mean, low, high)


def test_care_services_keep_carers_near_home():
    """Was: carers went out of the county (+15 points) and away from local work (-9 points).
    Now their work near home does not fall and rises where there are posts near home to take
    (in Huanjiang, with about one local post per 100 workers, there are hardly any)."""
    for community in COMMUNITIES:
        _, near, low, high = paired(community, "community_services", "carers_near_home_work")
        _, out, _, out_high = paired(community, "community_services", "carers_out_of_county")
        assert high > 0 and out_high < 0.06, (community, near, low, high, out, out_high)
    _, near, low, _ = paired("typical", "community_services", "carers_near_home_work")
    assert low > 0, (near, low)


def test_start_ups_stay_within_the_share_of_labour_that_runs_a_business():
    """Was: owners reached about 19 % of the labour force. Nationally 2-3.5 % of migrant
    workers ran a returnee business in 2015-2020 (MOA, Xinhua): supported owners stay below that."""
    f = finals()
    runs = f[f["scenario"].str.endswith("/startup_support")]
    share = runs["entrepreneurs"] / runs["labour_force"]
    assert share.max() < 0.035 and share.mean() > 0.003, share.describe()


def effects_table() -> str:
    """The measured effects as the markdown table in docs/MODEL.md 7.9 (python -m tests.test_policy_effects)."""
    rows = [
        "| policy | community | target | target change [95 % CI] | poverty change, points | income change, yuan |",
        "|---|---|---|---|---|---|",
    ]
    for policy in FOLLOW_UP_NAMES:
        key, _ = TARGETS[policy]
        fmt = INDICATORS[key].format
        for community in COMMUNITIES:
            _, t, tl, th = paired(community, policy, key)
            _, p, pl, ph = paired(community, policy, "poverty_rate")
            _, i, il, ih = paired(community, policy, "income_per_capita_mean")
            rows.append(
                f"| {policy} | {community} | {key} | {fmt(t)} [{fmt(tl)}, {fmt(th)}] "
                f"| {100 * p:+.2f} [{100 * pl:+.2f}, {100 * ph:+.2f}] | {i:+,.0f} [{il:+,.0f}, {ih:+,.0f}] |"
            )
    return "\n".join(rows)


def direction_share(community: str, policy: str, key: str, sign: int) -> float:
    """Share of the seeds whose paired difference points the intended way (`sign`), a zero counting half."""
    from analysis.compare import same_direction

    return same_direction(differences(community, policy, key)[1], float(sign))


def checks_table() -> str:
    """Every policy test's verdict, with the share of seeds (with `posterior`: of posterior
    draws, one per seed) in which the target moved the intended way (python -m
    tests.test_policy_effects posterior checks)."""
    rows = [
        "| policy | community | target moves | seeds the intended way | no poverty harm | no income harm |",
        "|---|---|---|---|---|---|",
    ]
    mark = {True: "holds", False: "**fails**"}
    for policy in FOLLOW_UP_NAMES:
        key, sign = TARGETS[policy]
        for community in COMMUNITIES:
            verdicts = [f(policy, community)[0] for f in (target_moves, no_poverty_harm, no_income_harm)]
            share = direction_share(community, policy, key, sign)
            rows.append(
                f"| {policy} | {community} | {mark[verdicts[0]]} | {100 * share:.0f} % "
                f"| {mark[verdicts[1]]} | {mark[verdicts[2]]} |"
            )
    return "\n".join(rows)


if __name__ == "__main__":
    import sys

    # central: the posterior's central particle; posterior: one posterior draw per seed
    # (the calibrated communities' own parameters and the shared ones, the typical
    # community the shared ones); checks: the verdicts too
    args = sys.argv[1:]
    if "central" in args:
        CALIBRATED = SCENARIO_DIR / "calibrated" / "central"
    POSTERIOR = "posterior" in args
    print(effects_table())
    if "checks" in args:
        print()
        print(checks_table())
