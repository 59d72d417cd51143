"""The employment guarantee: one member of each zero-employment household, posts kept for them alone."""

from __future__ import annotations

import numpy as np

from simulation.options import Option

from .helpers import model_with

ON = {"policies.employment_guarantee.enabled": True}


def test_no_zero_employment_household_is_left_in_the_community():
    model = model_with(ON)
    for _ in range(14):
        model.step()
        assert model.indicators["zero_employment_households"] == 0
    assert model.indicators["guarantee_placements"] > 0


def test_created_posts_are_kept_for_their_holder_and_end_when_the_household_has_other_work():
    model = model_with({**ON, "policies.public_welfare_jobs.enabled": False}, months=3)
    unit = model.policies.unit("employment_guarantee")
    pop = model.pop
    holders = np.flatnonzero(unit.holder)
    assert holders.size > 0  # no welfare posts: the guarantee had to create posts
    assert (unit.holder == model.reserved).all()
    assert (pop.option[holders] == Option.PUBLIC_WELFARE).all() and model.reserved[holders].all()
    assert model.posts_held()[Option.PUBLIC_WELFARE] == 0  # created posts are not shared capacity
    # a holder whose household has another labour member (a one-worker household has none to find work)
    pairs = (
        (h, m)
        for h in holders
        for m in np.flatnonzero((pop.household == pop.household[h]) & pop.present & model.labour)
        if m != h
    )
    h, worker = next(pairs, (None, None))
    assert worker is not None
    pop.option[worker] = Option.LOCAL_SERVICES  # the household now has other work
    assert unit.released(model.view())[h] and not unit.holder[h]


def test_placement_picks_the_carer_then_the_oldest_and_fills_vacant_posts_first():
    model = model_with(ON, months=1)
    unit = model.policies.unit("employment_guarantee")
    (placement,) = unit.placements(model.view()) or [None]
    if placement is None:
        return
    pop = model.pop
    for m in placement.members[:50]:
        h = pop.household[m]
        labour = [x for x in np.flatnonzero((pop.household == h) & pop.present) if model.labour[x]]
        best = min(labour, key=lambda x: (not pop.care_duty[x], -pop.age[x], x))
        assert m == best
    assert placement.options[0] == Option.PUBLIC_WELFARE and placement.fallback == Option.PUBLIC_WELFARE


def test_holders_keep_searching_as_if_without_work():
    model = model_with({**ON, "policies.public_welfare_jobs.enabled": False}, months=4)
    holders = np.flatnonzero(model.policies.unit("employment_guarantee").holder)
    assert holders.size > 0
    # a stopgap holder leaves for better work: most holders of month 4 have moved on two years later
    model.run(24)
    still = model.policies.unit("employment_guarantee").holder[holders]
    assert still.mean() < 0.5
