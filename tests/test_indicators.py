"""Indicator definitions on hand-made counts."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.indicators import employment_shares, flatten, group_breakdown, weighted_median


def test_shares_follow_the_survey_definitions():
    # not working, industry, services, welfare, farming, part-time, out of county
    counts = np.array([[10, 30, 10, 5, 10, 5, 30]])
    s = {k: v[0] for k, v in employment_shares(counts, np.array([20])).items()}
    assert s["employment_rate"] == pytest.approx(90 / 100)
    assert s["share_not_working"] == pytest.approx(10 / 100)
    assert s["share_agriculture"] == pytest.approx(10 / 90)
    assert s["share_industry"] == pytest.approx((30 + 20) / 90)
    assert s["share_services"] == pytest.approx((10 + 5 + 10) / 90)
    assert s["share_part_time"] == pytest.approx(5 / 90)
    assert s["share_public_welfare"] == pytest.approx(5 / 90)
    assert s["share_local"] == pytest.approx(60 / 90)
    assert s["share_out_of_county"] == pytest.approx(30 / 90)
    sector = s["share_agriculture"] + s["share_industry"] + s["share_services"] + s["share_part_time"]
    assert sector == pytest.approx(1.0)


def test_empty_groups_give_nan_not_errors():
    s = employment_shares(np.zeros((1, 7)), np.zeros(1))
    assert np.isnan(s["employment_rate"][0]) and np.isnan(s["share_local"][0])
    only_idle = employment_shares(np.array([[4, 0, 0, 0, 0, 0, 0]]), np.zeros(1))
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
