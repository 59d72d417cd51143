"""The policy catalogue: each policy moves its target indicator, costs add up, files load.

Direction tests put one policy file's `[policies]` tables on top of the no-support
scenario and compare, seed by seed (common random numbers), with no support. Each policy
must move its target indicator the stated way in every seed, and by at least the stated
minimum on average.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from scenarios import ScenarioError, load_scenario
from scenarios.loader import SCENARIO_DIR, apply_overrides, deep_merge, read_toml, resolve_extends, validate
from scenarios.schema import POLICY_NAMES
from simulation import ResettlementModel
from simulation.options import Option

from .conftest import SMALL

SEEDS = (1, 2, 3, 4)
YEARS = 4
POLICY_DIR = SCENARIO_DIR / "policies"

# policy -> (target indicator, +1 up / -1 down, minimum mean effect)
TARGETS = {
    "skills_training": ("income_per_capita_mean", +1, 200.0),
    "public_welfare_jobs": ("zero_employment_households", -1, 5.0),
    "workshops": ("share_local", +1, 0.05),
    "labour_export": ("share_out_of_county", +1, 0.02),
    "community_services": ("integration_index", +1, 0.03),
    "transition_period": ("returned_households", +1, 5.0),
    "origin_resources": ("income_per_capita_mean", +1, 150.0),
    "employment_guarantee": ("zero_employment_households", -1, 10.0),
    "subsistence_allowance": ("poverty_rate", -1, 0.05),
    "startup_support": ("income_per_capita_mean", +1, 50.0),
}


@cache
def outcome(policy: str | None, key: str) -> np.ndarray:
    """Final-month `key` per seed: no support, plus `policy`'s file if given."""
    data = resolve_extends(SCENARIO_DIR / "no_support.toml")
    if policy is not None:
        data = deep_merge(data, {"policies": read_toml(POLICY_DIR / f"{policy}.toml")["policies"]})
    scenario = validate(apply_overrides(data, {**SMALL, "simulation.years": YEARS}), f"no_support + {policy}")
    values = []
    for seed in SEEDS:
        model = ResettlementModel(scenario, seed=seed)
        model.run()
        values.append(model.indicators[key])
    return np.array(values, dtype=float)


def test_every_policy_has_a_file_and_a_target():
    assert set(TARGETS) == set(POLICY_NAMES)
    assert {p.stem for p in POLICY_DIR.glob("*.toml")} == set(POLICY_NAMES)


@pytest.mark.parametrize("policy", sorted(TARGETS))
def test_policy_moves_its_target_indicator(policy):
    key, sign, minimum = TARGETS[policy]
    effect = sign * (outcome(policy, key) - outcome(None, key))
    assert (effect > 0).all(), (policy, key, effect)
    assert effect.mean() > minimum, (policy, key, effect)


def run(overrides: dict | None = None, path: Path | None = None, months: int = 24) -> ResettlementModel:
    model = ResettlementModel(load_scenario(path, {**SMALL, **(overrides or {})}), seed=3)
    model.run(months)
    return model


def test_costs_add_up_and_are_zero_for_policies_that_are_off():
    model = run(path=SCENARIO_DIR / "combined.toml")
    ind = model.indicators
    per_policy = [ind[f"policy_cost_{name}"] for name in POLICY_NAMES]
    assert sum(per_policy) == pytest.approx(ind["policy_cost_total"])
    assert ind["policy_cost_transition_period"] == 0.0
    on = [n for n in POLICY_NAMES if n != "transition_period"]
    assert all(ind[f"policy_cost_{n}"] > 0 for n in on), {n: ind[f"policy_cost_{n}"] for n in on}
    monthly = model.datacollector.get_model_vars_dataframe()
    assert monthly["policy_cost_month_total"].sum() == pytest.approx(ind["policy_cost_total"])
    for name in POLICY_NAMES:
        assert monthly[f"policy_cost_month_{name}"].sum() == pytest.approx(ind[f"policy_cost_{name}"])
    off = run(path=SCENARIO_DIR / "no_support.toml")
    assert off.indicators["policy_cost_total"] == 0.0
    assert all(off.indicators[f"policy_cost_{n}"] == 0.0 for n in POLICY_NAMES)


def test_welfare_cost_is_posts_filled_times_wage():
    model = run({"policies.subsistence_allowance.enabled": False}, months=6)
    monthly = model.datacollector.get_model_vars_dataframe()
    expected = monthly["public_welfare_posts_filled"].iloc[-1] * 800.0
    last = monthly["policy_cost_month_public_welfare_jobs"].iloc[-1]
    # posts held by long-standing residents are none (they cannot take welfare posts)
    assert last == pytest.approx(expected)


def test_policies_act_only_inside_their_months():
    model = run(
        {"policies.workshops.enabled": True, "policies.workshops.start_month": 5, "policies.workshops.end_month": 8},
        months=10,
    )
    cost = model.datacollector.get_model_vars_dataframe()["policy_cost_month_workshops"].to_numpy()
    assert (cost[:4] == 0).all() and (cost[4:8] > 0).all() and (cost[8:] == 0).all()


def test_employment_guarantee_leaves_no_zero_employment_household():
    model = run({"policies.employment_guarantee.enabled": True}, months=12)
    monthly = model.datacollector.get_model_vars_dataframe()
    assert (monthly["zero_employment_households"] == 0).all()
    assert model.indicators["guarantee_placements"] > 0
    for j in (Option.LOCAL_INDUSTRY, Option.LOCAL_SERVICES, Option.PUBLIC_WELFARE):
        assert model.posts_held()[j] <= model.economy.capacity[j]


def test_training_raises_skill_by_the_gain_on_completion():
    scenario = load_scenario(
        None, {**SMALL, "policies.skills_training.enabled": True, "policies.skills_training.coverage": 1}
    )
    model = ResettlementModel(scenario, seed=2)
    model.step()
    enrolled = model.policy.training_until > 0
    assert enrolled.sum() > 0 and (model.policy.training_until[enrolled] == 4).all()
    model.step()
    model.step()
    before = model.pop.skill[enrolled].copy()
    model.step()  # month 4: completion, before this month's learning
    gained = model.pop.skill[enrolled] - before
    assert (gained >= 0.2 - 1e-6).all() or (model.pop.skill[enrolled] == 1.0).any()
    assert model.indicators["trained_workers"] == int(enrolled.sum())
    assert model.indicators["policy_cost_skills_training"] == pytest.approx(enrolled.sum() * 1500)


def test_labour_export_is_paid_per_covered_placement():
    model = run({"policies.labour_export.enabled": True, "policies.labour_export.coverage": 0}, months=6)
    assert model.indicators["policy_cost_labour_export"] == 0.0
    model = run({"policies.labour_export.enabled": True}, months=6)
    assert model.indicators["policy_cost_labour_export"] > 0
    assert model.indicators["policy_cost_labour_export"] % 600 == 0


def test_cross_field_checks(tmp_path):
    with pytest.raises(ScenarioError, match=r"policies.workshops`: start_month must be <= end_month \(30 > 10\)"):
        load_scenario(None, {"policies.workshops.start_month": 30, "policies.workshops.end_month": 10})
    with pytest.raises(ScenarioError, match=r"policies.public_welfare_jobs.posts \(7000\) must not exceed"):
        load_scenario(None, {"policies.public_welfare_jobs.posts": 7000})
    with pytest.raises(
        ScenarioError, match=r"policies.labour_export.coverage`: Input should be less than or equal to 1"
    ):
        load_scenario(None, {"policies.labour_export.coverage": 1.5})
    with pytest.raises(
        ScenarioError, match=r"policies.transition_period.years`: Input should be less than or equal to 3"
    ):
        load_scenario(None, {"policies.transition_period.years": 4})


def test_misspelled_policy_name_suggests_the_right_one(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        'extends = "' + str(SCENARIO_DIR / "baseline.toml") + '"\n[policies.skill_training]\nenabled = true\n'
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert "unknown key `policies.skill_training`. Did you mean `policies.skills_training`?" in str(err.value)


def test_every_shipped_scenario_and_community_loads():
    for path in SCENARIO_DIR.rglob("*.toml"):
        if path.parent.name == "communities":
            scenario = load_scenario(SCENARIO_DIR / "policies" / "workshops.toml", community=path.stem)
            assert scenario.community.id == path.stem and scenario.policies.workshops.enabled
        elif path.parent.name == "calibrated":
            assert load_scenario(path).name == f"calibrated_{path.stem}"
        else:
            assert load_scenario(path).name == path.stem


def test_community_profiles_equal_the_survey():
    import pandas as pd

    survey = pd.read_csv(SCENARIO_DIR.parent / "data" / "survey" / "survey_communities.csv")
    for row in survey.itertuples():
        c = load_scenario(None, community=row.community_id).community
        assert c.relocated_population == row.relocated_poor_pop
        assert c.relocated_labour_force == row.relocated_labor_force
        assert c.junior_middle_or_below_share == pytest.approx(row.junior_middle_or_below_pct / 100)
        assert c.income_before_yuan == row.income_before_yuan
        assert (c.distance_min_km, c.distance_max_km) == (row.distance_min_km, row.distance_max_km)
        assert c.source_villages == row.source_villages
        assert c.local_resident_share == pytest.approx(1 - row.relocated_share_pct / 100)
    with pytest.raises(ScenarioError, match="Did you mean 'kaili_qingquan'"):
        load_scenario(None, community="kaili_qinquan")
