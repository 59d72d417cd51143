"""Community services: care relieves carers for work near home only; activities."""

from __future__ import annotations

import numpy as np

from simulation.options import IS_NEAR_HOME, Option

from .helpers import model_with

ON = {"policies.community_services.enabled": True}


def test_care_relieves_covered_carers_for_near_home_work_only():
    model = model_with(ON, months=2)
    unit = model.policies.unit("community_services")
    seekers = np.flatnonzero(model.labour)
    terms = unit.utility_terms(model.view(), seekers, np.zeros((seekers.size, len(Option))))
    helped = model.pop.care_duty[seekers] & unit.covered[seekers]
    assert helped.any() and (terms[~helped] == 0).all()
    penalty = np.asarray(model.config.choice.care_penalty.as_tuple())
    assert np.allclose(terms[helped][:, IS_NEAR_HOME], 0.7 * penalty[IS_NEAR_HOME])
    for option in (Option.OUT_OF_COUNTY, Option.FARMING_ORIGIN, Option.PART_TIME, Option.NOT_WORKING):
        assert (terms[:, option] == 0).all()  # no help while away or farming far off
    assert 0.45 < unit.covered.mean() < 0.55


def test_activities_raise_participation_and_cost_per_participant_and_carer():
    model = model_with(ON, months=3)
    assert model.policies.activity_participation(model.view(), 0.05) == 0.25
    ind = model.indicators
    unit = model.policies.unit("community_services")
    carers = (model.pop.care_duty & unit.covered & model.living_members()).sum()
    participants = model.social.participates.sum()
    assert ind["policy_cost_month_community_services"] == participants * 20 + carers * 300
