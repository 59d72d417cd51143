"""The policy contract (simulation/policies): one unit per policy, hooks that cannot write
model state, costs booked per policy and line, windows, densities, scenario files."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios import ScenarioError, load_scenario
from scenarios.loader import SCENARIO_DIR, read_toml
from scenarios.schema import POLICY_NAMES, Scenario
from simulation import ResettlementModel
from simulation.indicators import INDICATORS
from simulation.options import Option
from simulation.policies import FOLLOW_UP_NAMES, REGISTRY, UNITS, FollowUpPolicy, MonthView, PolicySet

from .conftest import SMALL

ALL_ON = {f"policies.{name}.enabled": True for name in FOLLOW_UP_NAMES}  # the stage before the move: test_relocation


def run(overrides: dict | None = None, path=None, months: int = 24, seed: int = 3) -> ResettlementModel:
    model = ResettlementModel(load_scenario(path, {**SMALL, **(overrides or {})}), seed=seed)
    model.run(months)
    return model


def test_the_catalogue_is_the_units_and_the_schema_is_built_from_them():
    assert POLICY_NAMES == tuple(REGISTRY) == tuple(u.NAME for u in UNITS)
    for unit in UNITS:
        assert Scenario.model_fields["policies"].annotation.model_fields[unit.NAME].annotation is unit.Params
        assert issubclass(unit, FollowUpPolicy) and unit.COST_LINES, unit.NAME
        assert f"policy_cost_{unit.NAME}" in INDICATORS and f"policy_cost_month_{unit.NAME}" in INDICATORS
        for indicator in unit.INDICATORS:
            assert INDICATORS[indicator.name] == indicator
    # the baseline file documents every parameter of every policy
    documented = read_toml(SCENARIO_DIR / "baseline.toml")["policies"]
    for unit in UNITS:
        assert set(documented[unit.NAME]) == set(unit.Params.model_fields), unit.NAME


def test_a_policy_cannot_write_model_state():
    model = ResettlementModel(load_scenario(None, SMALL), seed=1)
    view = MonthView(model)
    with pytest.raises(ValueError, match="read-only"):
        view.option[0] = Option.OUT_OF_COUNTY
    with pytest.raises(ValueError, match="read-only"):
        view.pop.skill[:] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        view.living[0] = False


def test_hooks_leave_the_model_state_alone():
    model = ResettlementModel(load_scenario(None, {**SMALL, **ALL_ON}), seed=2)
    model.run(13)  # past a yearly review, cohorts and the transition
    before = {name: getattr(model.pop, name).copy() for name in ("option", "skill", "age", "care_duty")}
    view = model.view()
    seekers = np.flatnonzero(model.labour)[:200]
    earn = np.zeros((seekers.size, len(Option)))
    for unit in model.policies.units:
        for hook in ("demand", "reserved", "going_back_factor", "demolished", "activity_participation"):
            getattr(unit, hook)(view)
        unit.priority(view, seekers)
        unit.utility_terms(view, seekers, earn)
        unit.money_terms(view, seekers, earn)
        unit.job_finding(view, seekers)
    for name, array in before.items():
        assert (getattr(model.pop, name) == array).all(), name


def test_costs_add_up_per_policy_and_line_and_are_zero_for_policies_that_are_off():
    model = run(path=SCENARIO_DIR / "combined.toml")
    ind = model.indicators
    per_policy = [ind[f"policy_cost_{name}"] for name in POLICY_NAMES]
    assert sum(per_policy) == pytest.approx(ind["policy_cost_total"])
    spent = dict(zip(POLICY_NAMES, per_policy, strict=True))
    # every follow-up policy of the package spends; the relocation terms (not in it: the stage before the move) nothing
    assert all(v > 0 for name, v in spent.items() if name != "relocation_terms"), spent
    assert spent["relocation_terms"] == 0.0
    for name, lines in model.policies.lines.items():
        assert sum(lines.values()) == pytest.approx(ind[f"policy_cost_{name}"]), name
    monthly = model.datacollector.get_model_vars_dataframe()
    assert monthly["policy_cost_month_total"].sum() == pytest.approx(ind["policy_cost_total"])
    for name in POLICY_NAMES:
        assert monthly[f"policy_cost_month_{name}"].sum() == pytest.approx(ind[f"policy_cost_{name}"])
    off = run({f"policies.{name}.enabled": False for name in POLICY_NAMES})
    assert off.indicators["policy_cost_total"] == 0.0 and off.policies.units == []


def test_booking_an_undeclared_cost_line_is_an_error():
    model = ResettlementModel(load_scenario(None, SMALL), seed=1)
    unit = model.policies.unit("public_welfare_jobs")
    unit.costs = lambda view: {"bribes": 1.0}  # type: ignore[method-assign]
    with pytest.raises(KeyError, match="undeclared cost line 'bribes'"):
        model.step()


def test_policies_act_only_inside_their_months_and_their_posts_end_with_them():
    model = ResettlementModel(
        load_scenario(
            None,
            {
                **SMALL,
                "policies.workshops.enabled": True,
                "policies.workshops.start_month": 5,
                "policies.workshops.end_month": 8,
            },
        ),
        seed=3,
    )
    held = []
    for _ in range(10):
        model.step()
        held.append(int((model.pop.option == Option.WORKSHOP).sum()))
    cost = model.datacollector.get_model_vars_dataframe()["policy_cost_month_workshops"].to_numpy()
    assert (cost[:4] == 0).all() and (cost[4:8] > 0).all() and (cost[8:] == 0).all()
    assert held[:4] == [0, 0, 0, 0] and min(held[4:8]) > 0 and held[8:] == [0, 0]  # ended posts are left


def test_policy_draws_do_not_depend_on_which_other_policies_are_on():
    a = ResettlementModel(load_scenario(None, {**SMALL, "policies.community_services.enabled": True}), seed=5)
    b = ResettlementModel(load_scenario(None, {**SMALL, **ALL_ON}), seed=5)
    assert (a.policies.unit("community_services").covered == b.policies.unit("community_services").covered).all()
    assert (a.pop.age == b.pop.age).all()  # the population is drawn before any policy


def test_amounts_are_densities_and_mean_the_same_at_any_size():
    small = ResettlementModel(load_scenario(None, SMALL), seed=1)
    big = ResettlementModel(load_scenario(None, {}), seed=1)
    for model in (small, big):
        posts = model.policies.unit("public_welfare_jobs").posts
        assert posts / model.pop.relocated.sum() * 100 == pytest.approx(4.0)


def test_the_baseline_puts_a_small_share_of_workers_in_welfare_posts_in_any_community():
    """Was: 150 posts in every community put 8.9 % of Liujiang's employed in welfare posts."""
    model = ResettlementModel(load_scenario(SCENARIO_DIR / "baseline.toml", community="liujiang_xingliu"), seed=1)
    model.run(36)
    assert 0.005 < model.indicators["share_public_welfare"] < 0.04


def test_the_same_scenario_and_seed_give_the_same_numbers_with_every_policy_on():
    a, b = run(ALL_ON, months=14, seed=9), run(ALL_ON, months=14, seed=9)
    assert a.flat_indicators == pytest.approx(b.flat_indicators, nan_ok=True)


def test_every_policy_file_loads_and_applies_to_any_community():
    for path in (SCENARIO_DIR / "policies").glob("*.toml"):
        scenario = load_scenario(path, community="kaili_qingquan")
        assert scenario.name == path.stem and scenario.community.id == "kaili_qingquan"
    assert isinstance(PolicySet(load_scenario(None, SMALL), ResettlementModel(load_scenario(None, SMALL))), PolicySet)


def test_cross_field_checks_and_clear_errors(tmp_path):
    with pytest.raises(ScenarioError, match=r"policies.workshops`: start_month must be <= end_month \(30 > 10\)"):
        load_scenario(None, {"policies.workshops.start_month": 30, "policies.workshops.end_month": 10})
    with pytest.raises(
        ScenarioError, match=r"policies.labour_export.coverage`: Input should be less than or equal to 1"
    ):
        load_scenario(None, {"policies.labour_export.coverage": 1.5})
    with pytest.raises(
        ScenarioError, match=r"policies.transition_period.years`: Input should be less than or equal to 3"
    ):
        load_scenario(None, {"policies.transition_period.years": 4})
    with pytest.raises(ScenarioError, match=r"unknown key `policies.public_welfare_jobs.posts`"):
        load_scenario(None, {"policies.public_welfare_jobs.posts": 150})
    path = tmp_path / "p.toml"
    path.write_text(f'extends = "{SCENARIO_DIR / "baseline.toml"}"\n[policies.skill_training]\nenabled = true\n')
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert "unknown key `policies.skill_training`. Did you mean `policies.skills_training`?" in str(err.value)


def test_every_shipped_scenario_and_community_loads():
    for path in SCENARIO_DIR.rglob("*.toml"):
        if path.parent.name == "communities":
            scenario = load_scenario(SCENARIO_DIR / "policies" / "workshops.toml", community=path.stem)
            assert scenario.community.id == path.stem and scenario.policies.workshops.enabled
        elif "calibrated" in path.parts:  # the posterior's presets and the point fit
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


# ------------------------------------------------------------------ phasing out: taper and intensity


def test_intensity_is_one_then_falls_linearly_to_nothing_over_the_taper():
    from simulation.policies.base import PolicyParams

    p = PolicyParams(enabled=True, start_month=3, end_month=10, taper_months=3)
    assert [p.intensity(m) for m in range(1, 13)] == [0, 0, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0]
    abrupt = PolicyParams(enabled=True, start_month=1, end_month=10)
    assert [abrupt.intensity(m) for m in (1, 10, 11)] == [1, 1, 0]
    assert PolicyParams(enabled=False, end_month=10, taper_months=2).intensity(5) == 0
    whole = PolicyParams(enabled=True, start_month=1, end_month=4, taper_months=4)  # tapered from its first month
    assert [whole.intensity(m) for m in range(1, 6)] == [0.8, 0.6, 0.4, 0.2, 0]


def test_a_taper_longer_than_the_window_and_a_tapered_transition_are_clean_errors():
    with pytest.raises(ScenarioError, match=r"taper_months \(12\) must be at most .* = 10"):
        load_scenario(None, {"policies.workshops.start_month": 1, "policies.workshops.end_month": 10,
                             "policies.workshops.taper_months": 12})  # fmt: skip
    with pytest.raises(ScenarioError, match="transition period cannot be tapered"):
        load_scenario(None, {"policies.transition_period.taper_months": 3})


TAPERED = [unit.NAME for unit in UNITS if unit.PHASED]
# a second cohort of start-ups in a small community at month 13, to see the taper
TAPER_EXTRA = {
    "startup_support": {
        "policies.startup_support.target": "all",
        "policies.startup_support.coverage": 0.1,
        "policies.startup_support.niches_per_100_households": 50.0,  # room left for the second cohort
    }
}


@pytest.mark.parametrize("name", TAPERED)
def test_tapering_a_unit_lowers_its_cost_and_never_raises_it(name):
    """Same end month, with and without a six-month taper before it: the tapered policy has
    spent no more by any month, and less by the end of the taper (a cohort month included)."""
    base = {**SMALL, f"policies.{name}.enabled": True, "simulation.years": 2, f"policies.{name}.end_month": 18}
    base |= TAPER_EXTRA.get(name, {})
    spent = {}
    for taper in (0, 6):
        model = ResettlementModel(load_scenario(None, {**base, f"policies.{name}.taper_months": taper}), seed=4)
        model.run()
        spent[taper] = model.datacollector.get_model_vars_dataframe()[f"policy_cost_{name}"].to_numpy()
    assert (spent[6] <= spent[0] * (1 + 1e-9) + 1e-6).all(), name
    assert spent[6][17] < spent[0][17], name
    assert (spent[6][:12] == spent[0][:12]).all()  # identical before the taper


def test_sum_of_adds_the_units_terms_in_order_and_is_zeros_without_any():
    model = run(months=1)
    policies, view = model.policies, model.view()

    class Term:
        def __init__(self, value):
            self.value = value

        def bonus(self, _view):
            return self.value

    a, b = np.array([0.1, -np.inf, 2.0]), np.array([0.2, 1.0, 3.0], dtype=np.float32)
    policies.units = [Term(None), Term(a), Term(None), Term(b)]
    total = policies.sum_of("bonus", view, (3,))
    expected = np.zeros(3)
    expected += a
    expected += b
    assert total.dtype == float and np.array_equal(total, expected)
    assert total is not a and a[0] == 0.1  # a unit's own array is not written to
    policies.units = [Term(np.True_)]  # a scalar term fills the shape
    assert np.array_equal(policies.sum_of("bonus", view, (2,)), [1.0, 1.0])
    policies.units = [Term(None)]
    assert np.array_equal(policies.sum_of("bonus", view, (2, 2)), np.zeros((2, 2)))
