"""The fast model agrees with the plain per-household specification (the oracle).

At 2,000 households, each employment share averaged over months 13-24 and over six seeds
must agree between the batched model and the plain model within `TOLERANCE` (0.004 for
the capacity-bound public-welfare and workshop shares, whose noise is tiny), and so must
the poverty rate (within 0.02) and, where going back is made frequent, the households gone
back. Both models start from the same population (the same seed: generation is shared
code), so the comparison is of the monthly rules, not of two draws of households.
Measured spread of the difference across seeds: 0.01-0.02 per seed for most shares
(social influence makes runs path-dependent), so 0.02 on the mean of six is about three
standard errors. Rules that differ (inertia 1.5 vs 0.5, welfare posts open to everyone
instead of targeted, the care relief applied to every option) move a share by 0.015-0.045.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.reference_model import PlainModel
from scenarios import load_scenario
from simulation import ResettlementModel
from simulation.indicators import SHARE_KEYS, employment_shares

TOLERANCE = {key: 0.02 for key in SHARE_KEYS} | {"share_public_welfare": 0.004, "share_workshop": 0.004}
SEEDS = (11, 12, 13, 14, 15, 16)
MONTHS = 24
AVERAGED = 12  # the last months, averaged
CONFIGURATIONS = {
    "baseline": {},  # welfare posts, the allowance and the transition period, as the baseline has them
    "variant": {
        "policies.public_welfare_jobs.priority_zero_employment": False,
        "wages.out_of_county": 5500,
        "community.minimum_wage_yuan_month": 1810,  # a county that pays more than the reference
    },
    "targeting": {  # the guarantee, workshops and care, with frequent going back
        "policies.employment_guarantee.enabled": True,
        "policies.workshops.enabled": True,
        "policies.community_services.enabled": True,
        "return_to_origin.base_rate": 0.03,
    },
}


def scenario(extra: dict):
    return load_scenario(
        None,
        {
            "community.relocated_population": 7200,
            "community.relocated_labour_force": 3840,
            "community.source_villages": 360,
            "ties.enabled": False,  # the plain model has the core rules: contacts are fellow villagers
            **extra,
        },
    )


def plain_shares(model: PlainModel) -> list[float]:
    counts = model.employment_counts()
    shares = employment_shares(counts[None, :-1], counts[-1:])
    return [float(shares[k][0]) for k in SHARE_KEYS]


KEYS = (*SHARE_KEYS, "poverty_rate", "returned_households")


def mean_outcomes(spec) -> tuple[dict[str, float], dict[str, float]]:
    """Shares and poverty averaged over the last months and the seeds, and households gone
    back at the end: (fast, plain)."""
    fast, plain = [], []
    for seed in SEEDS:
        f = ResettlementModel(spec, seed=seed)
        f.run(MONTHS)
        monthly = f.datacollector.get_model_vars_dataframe()[[*SHARE_KEYS, "poverty_rate"]].tail(AVERAGED).mean()
        fast.append([*monthly.to_numpy(), f.indicators["returned_households"]])
        p = PlainModel(spec, seed=seed)  # the same households; the months draw their own numbers
        rows = []
        for month in range(MONTHS):
            p.step()
            if month >= MONTHS - AVERAGED:
                rows.append([*plain_shares(p), p.poverty_rate()])
        plain.append([*np.mean(rows, axis=0), p.returned_households()])
    return (
        dict(zip(KEYS, np.mean(fast, axis=0), strict=True)),
        dict(zip(KEYS, np.mean(plain, axis=0), strict=True)),
    )


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_fast_model_matches_the_plain_specification(name):
    spec = scenario(CONFIGURATIONS[name])
    assert 1900 < ResettlementModel(spec, seed=0).pop.next_household < 2100
    fast, plain = mean_outcomes(spec)
    for key in SHARE_KEYS:
        assert fast[key] == pytest.approx(plain[key], abs=TOLERANCE[key]), key
    # poverty: measured +0.010 (baseline), +0.002 (targeting), +0.010 (variant). With the plain
    # model on other households (seed + 1000, as before) the differences were +0.014, +0.010
    # and +0.028: most of the "gap" was two draws of households compared over six seeds.
    # Over 16 seeds on the same households the batched model is +0.002 [-0.008, +0.012]
    # above at month 18 (baseline) and +0.006 [-0.003, +0.015] at month 24 (variant):
    # a difference of about half a point cannot be told from zero.
    assert fast["poverty_rate"] == pytest.approx(plain["poverty_rate"], abs=0.02)
    if name == "targeting":
        assert fast["share_workshop"] > 0.02 and fast["returned_households"] > 50
        assert fast["returned_households"] == pytest.approx(plain["returned_households"], rel=0.15)
