"""The posterior predictive check and the pre-registered holdout (analysis/predictive.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.bayes import POOLED_EMPLOYMENT, STAT_KEYS, Posterior, PriorError, read_priors
from analysis.calibration import COMMUNITIES, observed
from analysis.predictive import (
    EACH,
    HOLDOUT_PATH,
    POOLED,
    Holdout,
    HoldoutObservation,
    holdout_check,
    interval,
    pooled_by_draw,
    predictive_runs,
    read_holdout,
)

HOLDOUT = read_holdout()


def test_the_holdout_names_income_and_an_outside_pattern_with_their_targets():
    names = [o.name for o in HOLDOUT.observations]
    assert names[0] == "income_after_relocation" and len(names) >= 2
    income = HOLDOUT.observations[0]
    survey = observed()
    assert income.targets == {c: float(survey.loc[c, "income_after_yuan"]) for c in COMMUNITIES}
    assert income.mape_max == 0.20
    outside = [o for o in HOLDOUT.observations if o.scope == POOLED]
    assert any("NBS" in o.source for o in outside)
    assert HOLDOUT.interval == 0.90 and HOLDOUT.registered == "2026-12-06"


def test_nothing_held_out_is_fitted():
    fitted = {k for k in STAT_KEYS} | {"employment_rate", POOLED_EMPLOYMENT}
    held = {o.indicator for o in HOLDOUT.observations}
    assert not held & fitted
    assert not any(p.path.startswith(("income", "demography")) for p in read_priors())


def test_a_bad_holdout_file_is_named(tmp_path):
    bad = tmp_path / "holdout.toml"
    bad.write_text(
        'registered = "x"\ninterval = 0.9\n[[observation]]\nname = "a"\nindicator = "no_such"\nscope = "six communities pooled"\n'
        'source = "s"\nrule = "r"\ntarget = 1\n'
    )
    with pytest.raises(PriorError, match=r"holdout.toml: \[\[observation\]\] 1 \(a\): indicator `no_such`"):
        read_holdout(bad)
    bad.write_text('registered = "x"\ninterval = 90.0\n[[observation]]\n')
    with pytest.raises(PriorError, match=r"`interval` = 90.0; expected a number between 0 and 1"):
        read_holdout(bad)


def synthetic_runs(draws: int = 30, seed: int = 0) -> pd.DataFrame:
    """Draw-by-community final months with the columns the checks read."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(draws):
        for c in COMMUNITIES:
            out = int(rng.integers(400, 600))
            rows.append(
                {
                    "community": c,
                    "draw": d,
                    "income_per_capita_mean_in_community": 7000 + 300 * rng.standard_normal(),
                    "mean_age_out_of_county": 30 + rng.standard_normal(),
                    "share_over_50_out_of_county": 0.05 + 0.01 * rng.standard_normal(),
                    "mean_age_local_nonfarm": 36 + rng.standard_normal(),
                    "out_of_county_workers": out,
                    "employed": 1000,
                    "labour_force": 1100,
                    "share_local_industry": 0.25,
                    "share_local_services": 0.2,
                    **dict.fromkeys(("share_agriculture", "share_industry", "share_services", "share_part_time"), 0.25),
                    "share_out_of_county": out / 1000,
                    "employment_rate": 1000 / 1100,
                }
            )
    return pd.DataFrame(rows)


def test_the_holdout_fails_on_a_planted_miss_and_passes_on_a_hit():
    runs = synthetic_runs()
    pooled = pooled_by_draw(runs)
    hit = float(pooled["mean_age_out_of_county"].mean())
    planted = Holdout(
        "t",
        0.9,
        (
            HoldoutObservation("age_hit", "mean_age_out_of_county", POOLED, "s", "inside", target=hit),
            HoldoutObservation("age_miss", "mean_age_out_of_county", POOLED, "s", "inside", target=hit + 5),
            HoldoutObservation(
                "income",
                "income_per_capita_mean_in_community",
                EACH,
                "s",
                "mape",
                targets=dict.fromkeys(COMMUNITIES, 7000.0),
                mape_max=0.2,
            ),
            HoldoutObservation(
                "income_miss",
                "income_per_capita_mean_in_community",
                EACH,
                "s",
                "mape",
                targets={**dict.fromkeys(COMMUNITIES, 7000.0), "kaili_qingquan": 20000.0},
                mape_max=0.2,
            ),
        ),
        HOLDOUT_PATH,
    )
    table, verdicts = holdout_check(runs, planted)
    passed = {v["observation"]: v["passed"] for v in verdicts}
    assert passed == {"age_hit": True, "age_miss": False, "income": True, "income_miss": False}
    miss = next(v for v in verdicts if v["observation"] == "income_miss")
    assert miss["mape"] == pytest.approx((20000 - 7000) / 20000 / 6, abs=0.01)
    assert len(table) == 2 + 2 * len(COMMUNITIES)


def test_pooling_weights_ages_by_the_workers_they_are_over():
    runs = synthetic_runs(draws=1)
    g = runs[runs["draw"] == 0]
    expected = np.average(g["mean_age_out_of_county"], weights=g["out_of_county_workers"])
    pooled = pooled_by_draw(runs).iloc[0]
    assert pooled["mean_age_out_of_county"] == pytest.approx(expected)
    local = np.average(g["mean_age_local_nonfarm"], weights=(g["share_local_industry"] + g["share_local_services"]))
    assert pooled["age_gap_local_nonfarm_minus_out_of_county"] == pytest.approx(local - expected)


def test_interval_is_the_central_share_of_the_draws():
    mean, lo, hi = interval(np.arange(101.0), 0.9)
    assert (mean, lo, hi) == pytest.approx((50.0, 5.0, 95.0))


def test_predictive_runs_use_each_draws_parameters():
    names = ["out_of_county_constant", *(f"{c}.industry_posts" for c in COMMUNITIES)]
    sample = pd.DataFrame({"weight": [0.5, 0.5], **{n: [-2.0, 3.0] for n in names}})
    sample.loc[:, [n for n in names if n != "out_of_county_constant"]] = 20.0
    paths = {
        n: ("choice.constant.out_of_county" if "." not in n else "labour_demand.industry_posts_per_100_workers")
        for n in names
    }
    scopes = {n: ("shared" if "." not in n else "per_community") for n in names}
    post = Posterior(sample, paths, scopes, COMMUNITIES, HOLDOUT_PATH)
    runs = predictive_runs(post, draws=4, seed=5, people=400, months=4)
    assert len(runs) == 4 * len(COMMUNITIES)
    low = runs[runs["particle"] == 0]["share_out_of_county"].mean()
    high = runs[runs["particle"] == 1]["share_out_of_county"].mean()
    assert runs["particle"].nunique() == 2 and high > low + 0.2
