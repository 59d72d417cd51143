"""The subsistence allowance: a means test at reviews, take-up by need, a top-up, a response of work."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.options import Option

from .helpers import model_with


def test_only_households_below_the_threshold_at_a_review_receive_it_and_it_tops_up_to_the_threshold():
    model = model_with(months=1)  # month 1 is a review
    unit = model.policies.unit("subsistence_allowance")
    pop = model.pop
    income = model.household_income
    before = (income.total - unit.paid) * 12 / np.maximum(pop.size, 1)  # per-capita income before the allowance
    assert (before[unit.recipient] < 4800).all()
    assert model.income_per_capita[unit.recipient] == pytest.approx(4800.0)
    assert (unit.paid[~unit.recipient] == 0).all() and not unit.recipient[~pop.relocated].any()


def test_take_up_rises_with_need():
    model = model_with({"policies.subsistence_allowance.take_up": 1.0}, months=1)
    unit = model.policies.unit("subsistence_allowance")
    pop = model.pop
    before = (model.household_income.total - unit.paid) * 12 / np.maximum(pop.size, 1)
    eligible = pop.relocated & (before < 4800)
    gap = (4800 - before) / 4800
    needy, near = eligible & (gap >= 0.5), eligible & (gap < 0.2)
    assert unit.recipient[needy].all()  # full take-up at half the threshold or further below
    assert unit.recipient[near].mean() < 0.4  # proportionally less close to the line
    chance = np.minimum(1.0, gap[eligible] / 0.5)
    assert (unit.recipient[eligible] == (unit.draw[eligible] < chance)).all()


def test_recipients_are_kept_until_the_next_review():
    model = model_with(months=1)
    unit = model.policies.unit("subsistence_allowance")
    first = unit.recipient.copy()
    model.run(4)  # months 2-5: no review
    assert not (unit.recipient & ~first).any()
    model.step()  # month 7 would be next; month 6 is not a review either
    model.step()
    assert unit.review_due(7)


def test_the_allowance_lowers_the_work_of_recipients_by_an_evaluated_amount():
    """The work-effort response (Han 2019: a reduction where benefits are high; Tan-Soo et al.
    2025: at most 46 %): members of recipient households work 5-46 % less than without it
    (measured over eight seeds with the household's income weight and the statutory
    withdrawal of 1.0: 17 % at month 12, 21 % at month 24; 0.5 gave 3-5 %)."""
    rates = {}
    for withdrawal in (0.0, 1.0):
        employed, labour = 0, 0
        for seed in range(1, 9):
            model = model_with({"policies.subsistence_allowance.benefit_withdrawal": withdrawal}, seed=seed, months=24)
            unit = model.policies.unit("subsistence_allowance")
            members = model.labour & unit.recipient[model.pop.household]
            employed += int((model.pop.option[members] != Option.NOT_WORKING).sum())
            labour += int(members.sum())
        rates[withdrawal] = employed / labour
    reduction = 1 - rates[1.0] / rates[0.0]
    assert 0.05 < reduction < 0.46, rates
