"""Monitoring and assistance against falling back: detection after the delay, assistance
as stated, and what it does over paired seeds (a shorter delay, less falling back)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from simulation.options import Option

from .helpers import model_with

ON = {"policies.monitoring.enabled": True, "shocks.enabled": True}


def test_nobody_is_found_before_the_delay_and_everyone_at_risk_is_found_after_it_at_full_rate():
    delay = 4
    model = model_with(
        {**ON, "policies.monitoring.detection_delay_months": delay, "policies.monitoring.detection_rate": 1.0}
    )
    unit = model.policies.unit("monitoring")
    for month in range(1, 9):
        model.step()
        if month <= delay:
            assert not unit.monitored.any(), month
        else:
            waited = unit.risk_months > delay
            assert unit.monitored[waited & model.living_households()].all(), month
    assert unit.monitored.sum() > 20


def test_top_ups_bring_monitored_net_income_to_the_line_for_at_most_the_stated_months():
    months = 2
    model = model_with(
        {**ON, "policies.monitoring.top_up_months": months, "policies.monitoring.detection_delay_months": 0}
    )
    unit = model.policies.unit("monitoring")
    line = model.config.income.poverty_line_yuan
    for _ in range(10):
        model.step()
        topped = unit.top_ups > 0
        if topped.any():
            net = model.household_income.net[topped] * 12 / model.pop.size[topped]
            assert np.allclose(net, line), net[:5]
        assert (unit.topped <= months).all()
    assert unit.topped.max() == months


def test_temporary_posts_go_to_jobless_monitored_households_and_end_when_they_leave_monitoring():
    model = model_with(
        {**ON, "policies.public_welfare_jobs.enabled": False, "policies.monitoring.detection_delay_months": 0}
    )
    unit = model.policies.unit("monitoring")
    pop = model.pop
    ended = 0
    for _ in range(36):
        before = unit.holder.copy()
        model.step()
        holders = np.flatnonzero(unit.holder)
        assert unit.monitored[pop.household[holders]].all()  # a post only while the household is monitored
        assert (pop.option[holders] == Option.PUBLIC_WELFARE).all() and model.reserved[holders].all()
        left = np.flatnonzero(before & ~unit.monitored[pop.household])
        assert not unit.holder[left].any()
        ended += left.size
    assert holders.size > 0 and ended > 0


def test_medical_assistance_pays_its_share_of_monitored_households_costs():
    model = model_with({**ON, "policies.monitoring.detection_delay_months": 0}, months=12)
    unit = model.policies.unit("monitoring")
    assert unit.medical_paid > 0
    assert (unit.bills[unit.monitored] == 0).all()  # monitored households' bills are paid, 67 % of them
    paid = model.policies.lines["monitoring"]["medical_assistance"]
    assert paid > 0
    assert model.policies.lines["monitoring"]["medical_assistance"] > 0


LARGER = {  # four times the small community: the effects on falling back are small beside seed noise
    "community.relocated_population": 14_400,
    "community.relocated_labour_force": 7_680,
    "community.source_villages": 720,
}


def fell_back(overrides: dict, seeds=range(1, 11), years: int = 5) -> np.ndarray:
    """Households fallen back at least once in `years`, per seed, at four times the small size."""
    out = []
    for seed in seeds:
        model = model_with({**LARGER, **overrides, "simulation.years": years}, seed=seed)
        model.run()
        out.append(model.flat_indicators["fell_back_cumulative"])
    return np.array(out, dtype=float)


def test_a_shorter_detection_delay_lowers_falling_back():
    slow = fell_back({**ON, "policies.monitoring.detection_delay_months": 12})
    fast = fell_back({**ON, "policies.monitoring.detection_delay_months": 0})
    d = fast - slow
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    assert d.mean() + half < 0, (d.mean(), half)


def test_monitoring_lowers_falling_back_against_no_monitoring():
    off = fell_back({"shocks.enabled": True})
    on = fell_back(ON)
    d = on - off
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    assert d.mean() + half < 0, (d.mean(), half)
