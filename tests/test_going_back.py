"""Going back to the origin: the monthly chance, and that it works without the ties submodel."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios import load_scenario
from simulation import ResettlementModel
from simulation.going_back import going_back_chance, land_pull_factor

from .conftest import small_scenario


def test_the_chance_follows_its_terms():
    s = load_scenario(None)
    r = s.return_to_origin
    integration = np.array([0.0, 0.5, 0.0, 0.0, 0.0])
    income = np.array([1000.0, 1000.0, 9000.0, 1000.0, 1000.0])
    demolished = np.array([False, False, False, True, False])
    land = np.array([0.0, 0.0, 0.0, 0.0, 2.0])
    chance = going_back_chance(s, integration, income, demolished, land, np.ones(5))
    assert chance[0] == pytest.approx(r.base_rate)
    assert chance[1] == pytest.approx(r.base_rate * 0.5)
    assert chance[2] == pytest.approx(r.base_rate * r.higher_income_factor)
    assert chance[3] == pytest.approx(r.base_rate * r.after_demolition_factor)
    assert chance[4] == pytest.approx(r.base_rate * (1 + r.land_pull * 2.0))
    assert land_pull_factor(np.array([1.0]), s)[0] == pytest.approx(1.5)
    assert going_back_chance(s, integration, income, demolished, land, np.full(5, 0.0)).sum() == 0


def test_households_go_back_with_the_ties_submodel_off_and_ties_lower_the_rate():
    """Was: going back happened only with the ties submodel on."""
    off, on = [], []
    for seed in (1, 2, 3):
        for ties, out in ((False, off), (True, on)):
            model = ResettlementModel(
                small_scenario({"ties.enabled": ties, "return_to_origin.base_rate": 0.01}, years=3), seed=seed
            )
            model.run()
            out.append(model.indicators["returned_households"])
            if not ties:
                assert model.social is None and model.returned.sum() == out[-1]
    assert min(off) > 20 and np.mean(on) < np.mean(off)  # integration through ties lowers it
