"""The stage before the move (simulation/relocation.py, docs/MODEL.md 7.12): candidates,
the sign-up and follow-through decisions, the patterns of the seeds over paired seeds, the
chain into the community, and a community without the stage equal to the model before it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from scenarios import load_scenario
from scenarios.loader import SCENARIO_DIR
from simulation import ResettlementModel
from simulation.relocation import Candidates, decide, draw_candidates, handover_weight, relocation_chain

from .conftest import SMALL

TERMS = SCENARIO_DIR / "relocation"
ON = {"policies.relocation_terms.enabled": True}
SEEDS = range(1, 13)
COMMUNITIES = ("typical", "kaili_qingquan", "yunyang_qinglongquan", "fengning_rencai", "qianxi_jinxiu")


def terms(name: str = "terms_2016", community: str | None = None, **overrides) -> object:
    """A scenario of the relocation folder, with dotted overrides."""
    return load_scenario(TERMS / f"{name}.toml", overrides or None, community=community)


def decided(scenario, seed: int) -> tuple[Candidates, object]:
    c = draw_candidates(scenario, np.random.default_rng(seed))
    return c, decide(c, scenario)


def paired_ci(d: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of paired differences and its t interval."""
    half = stats.t.ppf(0.5 + level / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


# ------------------------------------------------------------------ candidates and the decision
def test_candidates_are_the_same_whatever_the_terms():
    """Everything is drawn before the terms are read: common random numbers across terms."""
    a = draw_candidates(terms(), np.random.default_rng(3))
    b = draw_candidates(terms("no_handover"), np.random.default_rng(3))
    c = draw_candidates(terms("small_household_flats"), np.random.default_rng(3))
    for field in ("size", "poor", "income_per_capita", "land_mu", "u_sign", "u_follow", "wave", "village"):
        assert np.array_equal(getattr(a, field), getattr(b, field)) and np.array_equal(
            getattr(a, field), getattr(c, field)
        ), field


def test_candidates_look_like_the_origin_villages():
    c = draw_candidates(terms(), np.random.default_rng(1))
    s = terms()
    assert c.size.sum() == round(s.community.relocated_population * s.decision.pool_people_per_relocated)
    assert 0.18 < c.elderly_only.mean() < 0.26  # pool: about one household in five of old people only
    assert 0.5 < c.poor.mean() < 0.6
    assert np.median(c.income_per_capita[~c.poor]) > 1.8 * np.median(c.income_per_capita[c.poor])
    assert set(np.unique(c.wave)) == set(range(s.community.arrival_years))
    assert (c.distance_km >= s.community.distance_min_km).all() and (c.distance_km <= s.community.distance_max_km).all()


def test_what_a_household_pays_follows_the_terms():
    s = terms()
    c, d = decided(s, 2)
    price = 1_250 * d.flat_m2
    assert np.allclose(d.own_cost_yuan + d.subsidy_yuan, price)
    assert (d.own_cost_yuan[c.poor] <= 10_000).all()  # the self-financing cap (004)
    four = ~c.poor & (c.size == 4)
    assert np.allclose(d.own_cost_yuan[four], 125_000)  # 002: 120-130 thousand yuan for a non-poor family
    assert np.allclose(d.flat_m2, np.clip(25 * c.size, 25, 125))
    bigger = decide(c, terms("small_household_flats"))
    assert (bigger.flat_m2[c.size == 1] == 50).all() and (bigger.flat_m2[c.size >= 2] == d.flat_m2[c.size >= 2]).all()


def test_the_handover_weighs_less_with_a_longer_transition_and_nothing_without_it():
    assert handover_weight(terms()) == pytest.approx(0.8)  # one year of transition
    assert handover_weight(terms("longer_transition")) == pytest.approx(0.4)
    assert handover_weight(terms(**{"policies.transition_period.enabled": False})) == 1.0  # demolished on moving in
    assert handover_weight(terms("no_handover")) == 0.0


def test_better_terms_move_a_superset_of_households_on_the_same_draws():
    s = terms()
    c, base = decided(s, 4)
    for better in ("no_handover", "longer_transition", "dual_registration"):
        d = decide(c, terms(better))
        assert (d.p_follow >= base.p_follow).all(), better
        assert (d.moved >= base.moved).all() and d.moved.sum() > base.moved.sum(), better
    assert not (base.moved & ~base.signed_up).any()


def test_a_farther_site_puts_households_off_and_is_the_distance_they_live_at():
    near, far = terms(), terms(**{"policies.relocation_terms.site_distance_factor": 2.0})
    c, d = decided(near, 6)
    e = decide(c, far)
    assert (e.p_sign < d.p_sign).all() and e.signed_up.sum() < d.signed_up.sum()
    a = relocation_chain(near, np.random.default_rng(6))
    b = relocation_chain(far, np.random.default_rng(6))
    assert np.allclose(b.distance_km.mean() / 2.0, c.distance_km[e.moved].mean(), rtol=1e-5)
    assert np.allclose(a.distance_km.mean(), c.distance_km[d.moved].mean(), rtol=1e-5)


def test_the_counts_add_up_by_stage_and_household_type():
    c, d = decided(terms(), 5)
    n = d.counts(c)
    assert n["decision_candidates"] == c.n == n["decision_moved"] + n["decision_stayed_at_origin"]
    assert n["decision_signed_up"] == n["decision_moved"] + n["decision_withdrew"]
    for stage in ("candidates", "signed_up", "moved", "withdrew", "stayed_at_origin"):
        by_size = sum(n[f"decision_{stage}_{g}"] for g in ("size_1_2", "size_3_4", "size_5_plus"))
        assert by_size == n[f"decision_{stage}"] == n[f"decision_{stage}_poor"] + n[f"decision_{stage}_nonpoor"]
    assert n["decision_moved_size_1_2"] == (d.moved & (c.size <= 2)).sum()


# ------------------------------------------------------------------ the patterns of the seeds, over paired seeds
@pytest.mark.parametrize("community", COMMUNITIES)
def test_one_and_two_person_households_are_under_represented_among_movers(community):
    """002: among those who applied, poor households of one or two persons basically did not exist."""
    s = terms(community=None if community == "typical" else community)
    diff = []
    for seed in SEEDS:
        c, d = decided(s, seed)
        diff.append((c.size[d.moved] <= 2).mean() - (c.size <= 2).mean())
    mean, low, high = paired_ci(np.array(diff))
    assert high < -0.08, (mean, low, high)


def test_a_minimum_flat_for_small_households_brings_more_of_them():
    base, bigger = terms(), terms("small_household_flats")
    diff = []
    for seed in SEEDS:
        c, d = decided(base, seed)
        e = decide(c, bigger)
        small = c.size <= 2
        diff.append(e.signed_up[small].mean() - d.signed_up[small].mean())
    mean, low, _ = paired_ci(np.array(diff))
    assert low > 0.02, (mean, low)  # measured +0.039 in the typical community (+0.03 to +0.06 across the six)


@pytest.mark.parametrize("community", COMMUNITIES)
def test_requiring_the_homestead_lowers_follow_through(community):
    """002: households agreed at the start of the year and refused when the homestead agreement came."""
    name = None if community == "typical" else community
    base, without = terms(community=name), terms("no_handover", community=name)
    diff = []
    for seed in SEEDS:
        c, d = decided(base, seed)
        e = decide(c, without)
        diff.append(e.moved.sum() / e.signed_up.sum() - d.moved.sum() / d.signed_up.sum())
    mean, low, high = paired_ci(np.array(diff))
    assert low > 0.03 and high < 0.25, (mean, low, high)


@pytest.mark.parametrize("community", COMMUNITIES)
def test_about_half_of_the_willing_non_poor_move_and_nearly_all_poor(community):
    """002, Song County: 780 of 1,625 willing non-poor households moved (0.48); 004: all 980
    willing poor households moved. The non-poor constant is set from the first figure in
    the typical community (MODEL.md 7.12); this checks that it holds across communities
    and seeds, and that the poor's follow-through stays near 004's."""
    s = terms(community=None if community == "typical" else community)
    nonpoor, poor = [], []
    for seed in SEEDS:
        c, d = decided(s, seed)
        nonpoor.append(d.moved[~c.poor].sum() / d.signed_up[~c.poor].sum())
        poor.append(d.moved[c.poor].sum() / d.signed_up[c.poor].sum())
    # of the order of half: 0.65 in Qianxi, whose incomes before the move were twice the typical (cheaper flats in years of income)
    assert 0.35 < np.mean(nonpoor) < 0.7 and 0.85 < np.mean(poor) < 1.0, (np.mean(nonpoor), np.mean(poor))


# ------------------------------------------------------------------ the chain into the community
def test_the_movers_are_the_community_with_their_waves_land_and_flats():
    s = load_scenario(None, {**SMALL, **ON})
    model = ResettlementModel(s, seed=6)
    pop, movers = model.pop, model.pop.decision
    n = int(pop.relocated.sum())
    assert n == movers.counts["decision_moved"] == movers.village.size
    assert (pop.size[:n] == np.bincount(movers.member_household)).all()
    assert (pop.cohort[:n] == movers.cohort).all() and (pop.land_mu[:n] == movers.land_mu).all()
    assert (pop.flat_people[:n] == np.maximum(np.rint(np.clip(25 * pop.size[:n], 25, 125) / 25), 1)).all()
    assert pop.active[:n].sum() == (movers.cohort == 0).sum()  # only the first wave has moved in at the start
    model.run(4 * 12 + 1)
    booked = model.policies.lines["relocation_terms"]["housing_subsidy"]
    assert booked == pytest.approx(movers.subsidy_yuan.sum())  # each household's subsidy paid when it moved in


def test_the_chain_is_deterministic():
    s = load_scenario(None, {**SMALL, **ON})
    a, b = ResettlementModel(s, seed=8), ResettlementModel(s, seed=8)
    a.run(14)
    b.run(14)
    assert a.flat_indicators == pytest.approx(b.flat_indicators, nan_ok=True)
    c = ResettlementModel(s, seed=9)
    assert c.pop.decision.counts["decision_moved"] != a.pop.decision.counts["decision_moved"]


def test_without_the_handover_old_houses_stay_and_their_reclamation_is_booked():
    s = load_scenario(TERMS / "no_handover.toml", SMALL)
    model = ResettlementModel(s, seed=2)
    model.run(14)
    assert not model.policies.demolished(model.view())[model.pop.relocated].any()
    assert model.policies.lines["relocation_terms"]["reclamation_forgone"] > 0
    kept = ResettlementModel(load_scenario(TERMS / "terms_2016.toml", SMALL), seed=2)
    kept.run(14)
    first_wave = kept.pop.relocated & (kept.pop.cohort == 0)
    assert kept.policies.demolished(kept.view())[first_wave].all()  # after the one-year transition
    assert kept.policies.lines["relocation_terms"]["reclamation_forgone"] == 0


# Today's model (commit 968bdb0, before the stage existed), seed 7, the small community:
# relocated households, people, sum of ages, of schooling levels, of waves, of villages,
# carers; then after 24 months the members in each option, households gone back, people.
# The 24-month part was re-taken when the ties' draws were keyed (simulation/keyed.py:
# the same law, other numbers) and ties at strength 0 were dropped without a month's
# float32 grace; at 968bdb0 it read 4331, 223, 111, 16, 165, 91, 327, 0, 3, 4003.
# Rules added since are switched back to that model's (`BEFORE`), so the comparison stays
# with the commit: the household's strategy off, the allowance's withdrawal at 0.5.
TODAY = [851, 4000, 124559, 3959, 1340, 83509, 109, 4327, 223, 111, 14, 163, 93, 333, 0, 7, 4005]
BEFORE = {"choice.household_strategy": False, "policies.subsistence_allowance.benefit_withdrawal": 0.5}


def fingerprint(model: ResettlementModel) -> list[int]:
    p = model.pop
    out = [int(p.relocated.sum()), int(p.present.sum()), int(p.age[p.present].sum())]
    out += [int(p.education[p.present].sum()), int(p.cohort[p.relocated].sum()), int(p.village[p.relocated].sum())]
    out.append(int(p.care_duty.sum()))
    model.run(24)
    out += [int((p.option == k).sum()) for k in range(8)] + [int(model.returned.sum()), int(p.present.sum())]
    return out


def test_without_the_stage_the_community_is_todays():
    """Existing results stay reproducible: the stage off (the default) draws nothing and reads
    none of `[decision]`, so the community and its first two years equal the model before it."""
    assert fingerprint(ResettlementModel(load_scenario(None, {**SMALL, **BEFORE}), seed=7)) == TODAY
    changed = {"decision.poor_share": 0.9, "decision.pool_people_per_relocated": 5.0, "decision.sign_push": 9.0}
    assert fingerprint(ResettlementModel(load_scenario(None, {**SMALL, **BEFORE, **changed}), seed=7)) == TODAY
    # and with today's rules the stage off still changes nothing
    today = fingerprint(ResettlementModel(load_scenario(None, SMALL), seed=7))
    assert fingerprint(ResettlementModel(load_scenario(None, {**SMALL, **changed}), seed=7)) == today


def test_the_stage_for_100000_candidate_households_runs():
    """Size only (the time is a benchmark: benchmarks/bench_core.py decision)."""
    s = load_scenario(
        None, {**ON, "community.relocated_population": 160_000, "community.relocated_labour_force": 85_000}
    )
    movers = relocation_chain(s, np.random.default_rng(1))
    assert movers.counts["decision_candidates"] > 100_000
