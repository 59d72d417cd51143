"""The schema: defaults valid, bounds enforced, cross-field checks, baseline file in sync."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from scenarios import Scenario, load_scenario
from scenarios.loader import SCENARIO_DIR
from scenarios.schema import OPTION_FIELDS, Community, OptionTable


def test_baseline_file_equals_built_in_defaults():
    assert load_scenario(SCENARIO_DIR / "baseline.toml") == Scenario()


def test_defaults_are_the_median_community():
    c = Scenario().community
    assert (c.relocated_population, c.relocated_labour_force, c.source_villages) == (11_800, 6_300, 600)
    assert Scenario().months == 120


def test_labour_force_cannot_exceed_population():
    with pytest.raises(ValidationError, match="must not exceed relocated_population"):
        Community(relocated_population=100, relocated_labour_force=101)


def test_nearest_distance_cannot_exceed_farthest():
    with pytest.raises(ValidationError, match="distance_min_km must not exceed"):
        Community(distance_min_km=50, distance_max_km=10)


@pytest.mark.parametrize("value", [-0.1, 1.01])
def test_shares_are_bounded(value):
    with pytest.raises(ValidationError):
        Community(junior_middle_or_below_share=value)


def test_scenarios_are_frozen():
    with pytest.raises(ValidationError):
        Scenario().community.relocated_population = 5  # type: ignore[misc]


def test_option_table_order_matches_model_options():
    from simulation.options import OPTION_NAMES

    assert OPTION_FIELDS == OPTION_NAMES
    table = OptionTable(**{name: float(i) for i, name in enumerate(OPTION_FIELDS)})
    assert table.as_tuple() == (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0)
