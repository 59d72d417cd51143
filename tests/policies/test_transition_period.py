"""The transition period: old houses stand for `years`, at a cost per household and month."""

from __future__ import annotations

import pytest

from .helpers import model_with


def test_houses_are_demolished_after_the_transition_and_cost_until_then():
    model = model_with({"policies.transition_period.years": 2})
    houses = int(model.pop.relocated.sum())  # before couples set up households of their own (month 13 on)
    model.run(24)
    unit = model.policies.unit("transition_period")
    assert not unit.demolished(model.view()).any()
    monthly = model.datacollector.get_model_vars_dataframe()["policy_cost_month_transition_period"]
    per_household = 20 + 50_000 * 0.045 / 12
    assert monthly.iloc[0] == pytest.approx(houses * per_household)
    model.step()
    assert unit.demolished(model.view())[model.pop.relocated].all()
    assert model.indicators["policy_cost_month_transition_period"] == 0


def test_without_a_transition_period_the_old_house_is_gone_at_once():
    model = model_with({"policies.transition_period.enabled": False}, months=1)
    assert model.policies.demolished(model.view()).all() and model.config.transition_months == 0
    assert model.indicators["policy_cost_transition_period"] == 0
