"""Workshops: care-compatible posts near home, a density of the labour force, set-up and subsidy costs."""

from __future__ import annotations

import pytest

from simulation.options import Option

from .helpers import final_values, model_with

ON = {"policies.workshops.enabled": True}


def test_posts_per_100_workers_at_their_own_wage_and_costs():
    model = model_with(ON, months=2)
    workers = (model.labour & model.member_relocated).sum()
    assert model.economy.capacity[Option.WORKSHOP] == round(0.06 * workers)
    assert model.economy.wage[Option.WORKSHOP] == 1600
    monthly = model.datacollector.get_model_vars_dataframe()["policy_cost_month_workshops"]
    filled = (model.pop.option == Option.WORKSHOP).sum()
    assert monthly.iloc[-1] == pytest.approx(150 * filled)
    assert monthly.iloc[0] > 1000 * round(0.06 * workers)  # set-up in the first month
    assert model.indicators["share_workshop"] > 0.02


def test_workshops_are_easier_to_combine_with_care_than_a_factory():
    c = model_with().config.choice.care_penalty
    assert c.workshop < c.local_industry
    off = final_values({}, "carers_near_home_work")
    on = final_values(ON, "carers_near_home_work")
    assert sum(on) > sum(off)
