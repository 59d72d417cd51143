"""Skills training: eligibility with a waiting time, a gain that refreshes rather than stacks and
fades out of use, an effect within the evaluations' range."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.labour import member_earnings
from simulation.options import Option

from .helpers import model_with

ON = {"policies.skills_training.enabled": True, "policies.skills_training.coverage": 1.0}


def test_a_cohort_a_year_with_a_waiting_time_of_three_years():
    model = model_with(ON, months=1)
    unit = model.policies.unit("skills_training")
    enrolled = unit.until > 0
    assert enrolled.sum() > 0 and (unit.until[enrolled] == 2).all()
    assert model.labour[enrolled].all()  # (a trainee's household may have gone back at the end of the month)
    model.run(12)  # month 13: the next cohort; last year's trainees are still waiting
    again = unit.until > 0
    assert again.any() and not (again & (unit.last_trained == 2)).any()
    model.run(24)  # month 37: three years after their first course, they may enrol again
    assert ((unit.until > 0) & (unit.last_trained == 2)).any()
    assert model.indicators["policy_cost_skills_training"] == pytest.approx(
        1500 * unit.trained + 1500 * (unit.until > 0).sum()
    )


def test_the_gain_refreshes_rather_than_stacks_and_fades_out_of_use():
    model = model_with(ON, months=2)  # month 2: the first cohort completes
    unit = model.policies.unit("skills_training")
    trained = unit.last_trained == 2
    assert trained.any() and (unit.held[trained] <= 0.2 + 1e-9).all()
    idle = trained & (model.pop.option == Option.NOT_WORKING)
    held_before = unit.held[idle].copy()
    model.run(12)
    still_idle = model.pop.option[idle] == Option.NOT_WORKING
    # out of non-farm work the gain fades by 15 % a year (never faster)
    assert (unit.held[idle] >= held_before * 0.85 - 1e-9).all()
    assert (unit.held[idle][still_idle] < held_before[still_idle]).any()
    assert (unit.held <= 0.2 + 1e-9).all()  # a refresher never takes the gain above one course's worth


def test_trainees_earn_about_eight_percent_more_in_non_farm_work():
    """Evaluations: +8-12 % pay (Zhao & Geng 2020, about 11 %; Attanasio et al. 2017, 11.8 %)."""
    model = model_with(ON, months=3)
    unit = model.policies.unit("skills_training")
    pop = model.pop
    trained = np.flatnonzero(unit.held > 0.19)
    earn = member_earnings(
        model.config,
        model.economy,
        pop.education[trained],
        pop.skill[trained],
        model.land_share[trained],
        pop.distance_km[pop.household[trained]],
    )
    untrained = member_earnings(
        model.config,
        model.economy,
        pop.education[trained],
        pop.skill[trained] - unit.held[trained],
        model.land_share[trained],
        pop.distance_km[pop.household[trained]],
    )
    ratio = earn[:, Option.LOCAL_INDUSTRY] / untrained[:, Option.LOCAL_INDUSTRY]
    assert ratio == pytest.approx(np.exp(0.4 * unit.held[trained]))  # the return to skill on the gain held
    assert 1.05 < ratio.mean() < 1.12 and 1.07 < ratio.max() <= np.exp(0.08) + 1e-6  # float32 skill
