"""Public-welfare posts: who may take one, one per household, the yearly review, the priority."""

from __future__ import annotations

import numpy as np

from simulation.options import Education, Option
from simulation.policies.public_welfare_jobs import weak_labour
from simulation.population import care_needs

from .helpers import model_with


def test_only_jobless_weak_labour_or_zero_employment_households_may_take_a_post():
    model = model_with(months=3)
    unit = model.policies.unit("public_welfare_jobs")
    pop = model.pop
    seekers = np.flatnonzero(model.labour & model.member_relocated)
    view = model.view()
    eligible = unit.eligible(view, seekers)
    weak = weak_labour(view, seekers, unit.params)
    jobless = pop.option[seekers] == Option.NOT_WORKING
    zero = model.zero_employment()[pop.household[seekers]]
    assert eligible.any()
    assert (weak[eligible] & jobless[eligible] | zero[eligible]).all()
    terms = unit.utility_terms(view, seekers, np.zeros((seekers.size, len(Option))))
    assert np.isneginf(terms[~eligible, Option.PUBLIC_WELFARE]).all()
    assert np.isfinite(terms[eligible, Option.PUBLIC_WELFARE]).all()
    # officials urge weak labour of zero-employment households, not able members
    urged = terms[:, Option.PUBLIC_WELFARE] == unit.params.zero_employment_encouragement
    assert (weak[urged] & zero[urged]).all() and not (urged & ~weak).any()


def test_weak_labour_is_older_workers_carers_and_low_schooling_with_low_skill():
    model = model_with()
    pop, unit = model.pop, model.policies.unit("public_welfare_jobs")
    members = np.flatnonzero(model.labour)
    weak = weak_labour(model.view(), members, unit.params)
    old = pop.age[members] >= 50
    carer = pop.care_duty[members]
    low = (pop.education[members] == Education.PRIMARY_OR_LESS) & (pop.skill[members] < 0.15)
    assert (weak == (old | carer | low)).all() and 0.2 < weak.mean() < 0.7


def test_one_post_per_household_and_one_candidate_per_household_a_month():
    model = model_with(months=2)
    unit = model.policies.unit("public_welfare_jobs")
    pop = model.pop
    seekers = np.flatnonzero(model.labour & model.member_relocated)
    eligible = unit.eligible(model.view(), seekers)
    assert np.bincount(pop.household[seekers[eligible]]).max() == 1
    holder = unit.holders(model.view())
    if holder.size:
        h = pop.household[holder[0]]
        others = seekers[pop.household[seekers] == h]
        assert not unit.eligible(model.view(), others).any()  # the household already holds a post
    model.run(24)
    welfare = (pop.option == Option.PUBLIC_WELFARE) & model.labour & ~model.reserved
    assert np.bincount(pop.household[welfare]).max(initial=0) <= 1


def test_the_yearly_review_ends_posts_of_holders_who_no_longer_qualify():
    model = model_with(months=12)
    unit = model.policies.unit("public_welfare_jobs")
    pop = model.pop
    holders = unit.holders(model.view())
    assert holders.size > 0
    # make one holder able-bodied and young, with another household member at work, in a
    # household where nobody needs care (month 13 is also a demographic step, at which the
    # household chooses its carer again: a holder who became the carer would rightly stay)
    needs = care_needs(pop, model.config.population)
    mates_at_work = {}
    for holder in holders:
        hh = pop.household[holder]
        if needs[hh]:
            continue
        mates = np.flatnonzero((pop.household == hh) & pop.present & model.labour)
        mates = mates[mates != holder]
        if mates.size:
            mates_at_work[int(holder)] = int(mates[0])
            break
    assert mates_at_work, "no holder in a household without care needs and with another worker"
    ((h, worker),) = mates_at_work.items()
    pop.age[h], pop.care_duty[h], pop.skill[h], pop.female[h] = 30, False, 0.5, False  # not the one who cares
    pop.option[worker] = Option.OUT_OF_COUNTY
    assert unit.released(model.view()) is None  # month 12: not a review month
    model.step()  # month 13: the review
    assert pop.option[h] != Option.PUBLIC_WELFARE or model.reserved[h]


def test_zero_employment_households_are_served_first():
    model = model_with(months=4)
    unit = model.policies.unit("public_welfare_jobs")
    seekers = np.flatnonzero(model.labour)
    score = unit.priority(model.view(), seekers)
    assert (score == model.zero_employment()[model.pop.household[seekers]]).all()


def test_posts_per_100_households_and_the_wage_bill():
    model = model_with(months=6)
    unit = model.policies.unit("public_welfare_jobs")
    assert model.economy.capacity[Option.PUBLIC_WELFARE] == round(0.04 * model.pop.relocated.sum())
    monthly = model.datacollector.get_model_vars_dataframe()
    filled = monthly["public_welfare_posts_filled"].iloc[-1]
    assert monthly["policy_cost_month_public_welfare_jobs"].iloc[-1] == filled * unit.params.wage_yuan_month
