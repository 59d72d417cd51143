"""Indicator definitions on hand-made counts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.indicators import employment_shares, flatten, group_breakdown, weighted_median


def test_shares_follow_the_survey_definitions():
    # not working, industry, services, welfare, farming, part-time, out of county, workshop
    counts = np.array([[10, 30, 10, 5, 10, 5, 30, 4]])
    s = {k: v[0] for k, v in employment_shares(counts, np.array([20])).items()}
    assert s["employment_rate"] == pytest.approx(94 / 104)
    assert s["share_not_working"] == pytest.approx(10 / 104)
    assert s["share_agriculture"] == pytest.approx(10 / 94)
    assert s["share_industry"] == pytest.approx((30 + 4 + 20) / 94)  # workshops are industry
    assert s["share_services"] == pytest.approx((10 + 5 + 10) / 94)
    assert s["share_part_time"] == pytest.approx(5 / 94)
    assert s["share_public_welfare"] == pytest.approx(5 / 94)
    assert s["share_workshop"] == pytest.approx(4 / 94)
    assert s["share_local"] == pytest.approx(64 / 94)
    assert s["share_out_of_county"] == pytest.approx(30 / 94)
    sector = s["share_agriculture"] + s["share_industry"] + s["share_services"] + s["share_part_time"]
    assert sector == pytest.approx(1.0)


def test_empty_groups_give_nan_not_errors():
    s = employment_shares(np.zeros((1, 8)), np.zeros(1))
    assert np.isnan(s["employment_rate"][0]) and np.isnan(s["share_local"][0])
    only_idle = employment_shares(np.array([[4, 0, 0, 0, 0, 0, 0, 0]]), np.zeros(1))
    assert only_idle["employment_rate"][0] == 0 and np.isnan(only_idle["share_local"][0])


def test_group_breakdown_by_label():
    group = np.array([0, 0, 1, 1, 1])
    option = np.array([6, 1, 0, 4, 6])
    out_ind = np.array([True, False, False, False, False])
    b = group_breakdown(group, ("young", "old"), option, out_ind)
    assert b["young"]["share_out_of_county"] == 0.5 and b["young"]["share_industry"] == 1.0
    assert b["old"]["employment_rate"] == pytest.approx(2 / 3)
    assert b["old"]["share_agriculture"] == 0.5


def test_weighted_median_counts_people():
    values = np.array([100.0, 200.0, 300.0])
    assert weighted_median(values, np.array([1.0, 1.0, 1.0])) == 200.0
    assert weighted_median(values, np.array([5.0, 1.0, 1.0])) == 100.0
    assert np.isnan(weighted_median(np.array([]), np.array([])))


def test_flatten_uses_dotted_keys():
    assert flatten({"a": 1, "by": {"x": {"s": 0.5}}}) == {"a": 1, "by.x.s": 0.5}


def test_every_reported_indicator_is_declared_once_and_every_declared_one_is_reported():
    from scenarios import load_scenario
    from scenarios.loader import SCENARIO_DIR
    from simulation import ResettlementModel
    from simulation.indicators import INDICATORS

    from .conftest import SMALL

    model = ResettlementModel(load_scenario(SCENARIO_DIR / "combined.toml", {**SMALL, "simulation.years": 1}), seed=1)
    model.run()
    assert list(model.flat_indicators) == list(INDICATORS.names())
    reported = {k for k, v in model.flat_indicators.items() if v == v}  # not NaN
    assert reported >= set(INDICATORS.key())
    off = ResettlementModel(load_scenario(None, {**SMALL, "ties.enabled": False}), seed=1)
    off.step()
    assert list(off.flat_indicators) == list(INDICATORS.names())
    assert np.isnan(off.flat_indicators["mean_degree"])


def test_the_table_formats_by_kind_and_knows_its_key_indicators():
    from simulation.indicators import INDICATORS

    assert INDICATORS.format("poverty_rate", 0.12345) == "0.123"
    assert INDICATORS.format("income_per_capita_mean", 9450.4) == "9,450"
    assert INDICATORS.format("returned_households", 12.0) == "12"
    assert INDICATORS.format("poverty_rate", float("nan")) == "-"
    assert INDICATORS["poverty_rate"].better == "lower" and INDICATORS["poverty_rate"].label_in("zh") == "贫困发生率"
    assert "poverty_rate" in INDICATORS.key() and "ties" not in INDICATORS.names("summary")
    assert set(INDICATORS.key()) <= set(INDICATORS.names("summary"))
    assert INDICATORS["income_per_capita_mean_in_community"].observed == "income_after_yuan"
    with pytest.raises(KeyError, match="unknown indicator 'poverty'"):
        INDICATORS["poverty"]


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.integers(0, 40), min_size=1, max_size=300),
    seed=st.integers(0, 1000),
)
def test_weighted_median_by_selection_equals_the_sorted_definition(values, seed):
    """Quickselect gives the value at which the weights, counted in ascending order, first reach half."""
    v = np.array(values, dtype=float)
    w = np.random.default_rng(seed).integers(1, 9, v.size).astype(float)
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    assert weighted_median(v, w) == v[order][np.searchsorted(cum, 0.5 * cum[-1])]
