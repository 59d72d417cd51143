"""Organised labour export: who is reached, better job finding, cheaper migration, paid per placement."""

from __future__ import annotations

import numpy as np

from simulation.options import Option

from .helpers import model_with

ON = {"policies.labour_export.enabled": True}


def test_reached_young_workers_find_work_outside_more_easily_and_migrate_cheaper():
    model = model_with(ON, months=1)
    unit = model.policies.unit("labour_export")
    view = model.view()
    seekers = np.flatnonzero(model.labour & model.member_relocated)
    covered = unit.covered(view, seekers)
    assert covered.any() and (model.pop.age[seekers[covered]] <= 45).all()
    gain = unit.job_finding(view, seekers)
    assert np.allclose(gain[covered], 0.6 * 0.3) and (gain[~covered] == 0).all()
    terms = unit.money_terms(view, seekers, np.zeros((seekers.size, len(Option))))
    entering = covered & (model.pop.option[seekers] != Option.OUT_OF_COUNTY)
    c = model.config.choice
    saving = c.migration_cost_yuan * 0.6 / c.planning_horizon_months  # yuan a month
    assert np.allclose(terms[entering, Option.OUT_OF_COUNTY], saving)
    assert (terms[~entering] == 0).all()


def test_paid_per_covered_worker_newly_outside():
    model = model_with({**ON, "policies.labour_export.coverage": 0.0}, months=6)
    assert model.indicators["policy_cost_labour_export"] == 0.0
    model = model_with(ON, months=6)
    cost = model.indicators["policy_cost_labour_export"]
    assert cost > 0 and cost % 2000 == 0
