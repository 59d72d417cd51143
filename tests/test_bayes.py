"""The Bayesian calibration (analysis/bayes.py): priors, the problem's shape, determinism,
the posterior files, resuming, and a coverage test of the method on data the model made
from known parameters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.bayes import (
    POOLED_EMPLOYMENT,
    STAT_KEYS,
    Posterior,
    Prior,
    PriorError,
    Problem,
    Simulator,
    central_particle,
    fit,
    identifiability,
    out_of_county_sector_bounds,
    pair_figure,
    read_posterior,
    read_priors,
    sector_mix_conflict,
    seed_of,
    survey_problem,
    survey_statistics,
    write_posterior,
)
from analysis.calibration import COMMUNITIES, observed
from scenarios import ScenarioError, load_scenario, override

PRIORS = read_priors()


def _priors(*names: str):
    return tuple(p for p in PRIORS if p.name in names)


def test_every_prior_has_a_reason_and_sets_a_scenario_key_at_both_bounds():
    base = load_scenario(None)
    for prior in PRIORS:
        assert prior.reason and prior.low < prior.high
        for value in (prior.low, prior.high):
            changed = override(base, {prior.path: value}).model_dump()
            for part in prior.path.split("."):
                changed = changed[part]
            assert changed == pytest.approx(value), prior.path
    with pytest.raises(ScenarioError):
        override(base, {"choice.constant.no_such_option": 1.0})


def test_land_kept_cannot_exceed_the_land_held_before_the_move():
    land = next(p for p in PRIORS if p.path == "population.land_mu_per_person")
    assert land.high <= load_scenario(None).origin.reference_land_mu_per_person


def test_fewer_free_parameters_than_targets_per_community_and_in_all():
    problem = survey_problem()
    per_community = [p for p in PRIORS if p.scope == "per_community"]
    assert len(per_community) == 3 < len(STAT_KEYS) == 4  # four independent shares per community
    assert len(problem.names) == 4 + 3 * 6 == 22
    assert len(problem.observed) == 4 * 6 + 1 == 25
    assert POOLED_EMPLOYMENT in problem.observed


def test_survey_statistics_are_the_survey():
    problem = survey_problem()
    obs = observed()
    assert problem.observed["huanjiang_chengxi.share_part_time"] == pytest.approx(0.459)
    assert problem.observed["kaili_qingquan.share_out_of_county"] == pytest.approx(
        obs.loc["kaili_qingquan", "share_out_of_county"]
    )
    assert 0.85 < problem.observed[POOLED_EMPLOYMENT] < 0.95


def test_no_shared_sector_mix_of_out_of_county_jobs_fits_every_community_with_part_time_work_local():
    """The survey's own identities, no simulation: with part-timers all local, Huanjiang's
    out-of-county workers (41.2 %) can hold at most its 17.8 % in industry, a share of at
    most 0.43, while Yunyang's (52.8 %) must hold at least 58.6 - 26.3 points of industry
    beyond its local non-farm work, a share of at least 0.61. If part-timers may work
    outside the county (000's 兼业 is farm plus non-farm work, anywhere), a shared range
    opens that holds the NBS share for migrants working away from home (0.60-0.62) and
    not the share for all migrant workers (0.49)."""
    local = out_of_county_sector_bounds()
    assert local.loc["huanjiang_chengxi", "high"] == pytest.approx(0.178 / 0.412)
    assert local.loc["yunyang_qinglongquan", "low"] == pytest.approx(1 - (1 - 0.14 - 0.586 - 0.069) / 0.528)
    assert local.loc["kaili_qingquan", "low"] == pytest.approx(0.549, abs=0.001)
    assert local.loc["shared", "low"] > local.loc["shared", "high"] + 0.15
    away = out_of_county_sector_bounds(part_time_away=1.0)
    assert away.loc["huanjiang_chengxi", "non_farm_away"] == 0.0  # its part-timers outnumber those away
    low, high = away.loc["shared", ["low", "high"]]
    assert low == pytest.approx(0.553, abs=0.001) and high == pytest.approx(0.784, abs=0.001)
    assert low < 0.602 < 0.618 < high and not low < 0.486 < high
    planted = dict.fromkeys((f"x.{k}" for k in STAT_KEYS), 0.0) | {
        "x.share_industry": 0.3,
        "x.share_out_of_county": 0.5,
    }
    one = out_of_county_sector_bounds(planted, ("x",))  # services 0.7: only the industry bound binds
    assert one.loc["x", ["low", "high"]].tolist() == pytest.approx([0.0, 0.6])
    with pytest.raises(ValueError, match="part_time_away"):
        out_of_county_sector_bounds(part_time_away=1.5)


def test_calibrate_says_before_the_fit_when_no_shared_sector_mix_can_fit():
    """The survey problem gets the sentence (naming both ends); a problem whose sector mix
    is not shared, or whose statistics are a simulation's own, does not."""
    problem = survey_problem()
    said = sector_mix_conflict(problem)
    assert said is not None and "at least 0.61 in yunyang_qinglongquan" in said
    assert "at most 0.43 in huanjiang_chengxi" in said
    local = tuple(
        Prior(p.name, p.path, "per_community", p.distribution, p.low, p.high, p.a, p.b, p.reason)
        if p.path == "wages.out_of_county_industry_share"
        else p
        for p in problem.priors
    )
    assert sector_mix_conflict(Problem(problem.communities, local, problem.observed)) is None
    two = ("qianxi_jinxiu", "liujiang_xingliu")  # both allow 0.24-0.77
    assert sector_mix_conflict(Problem(two, problem.priors, survey_statistics(two))) is None
    assert sector_mix_conflict(Problem(problem.communities, problem.priors, {"x": 0.5})) is None


def test_bad_priors_are_named(tmp_path):
    bad = tmp_path / "priors.toml"
    bad.write_text(
        '[shared.x]\npath = "choice.constant.out_of_county"\ndistribution = "normal"\nlow = 0\nhigh = 1\nreason = "r"\n'
    )
    with pytest.raises(PriorError, match=r"priors.toml: \[shared.x\]: distribution \"normal\""):
        read_priors(bad)
    bad.write_text('[per_community.y]\npath = "a.b"\ndistribution = "uniform"\nlow = 2\nhigh = 1\nreason = "r"\n')
    with pytest.raises(PriorError, match=r"\[per_community.y\]: low \(2\) must be below high \(1\)"):
        read_priors(bad)
    bad.write_text('[shared.z]\npath = "a.b"\ndistribution = "uniform"\nlow = 0\nhigh = 1\n')
    with pytest.raises(PriorError, match="key `reason` missing"):
        read_priors(bad)


def test_seed_depends_on_every_value_and_nothing_else():
    a = {"x": 1.0, "y": 2.0}
    assert seed_of(a) == seed_of({"y": 2.0, "x": 1.0})
    assert seed_of(a) != seed_of({"x": 1.0, "y": 2.0000001})


def tiny(observed_stats: dict[str, float] | None = None) -> Problem:
    """One community, two parameters, a few hundred people for six months."""
    names = [f"kaili_qingquan.{k}" for k in STAT_KEYS] + [POOLED_EMPLOYMENT]
    return Problem(
        ("kaili_qingquan",),
        _priors("out_of_county_constant", "industry_posts"),
        observed_stats or dict.fromkeys(names, 0.0),
        people=500,
        months=9,
    )


def test_the_simulator_is_a_function_of_the_parameters():
    sim = Simulator(tiny())
    params = {"out_of_county_constant": 0.4, "kaili_qingquan.industry_posts": 25.0}
    first = sim(params)
    assert first == sim(dict(params))
    assert set(first) == set(tiny().observed)
    assert first != sim({**params, "out_of_county_constant": 2.5})
    # a larger taste for leaving the county sends more out
    assert (
        sim({**params, "out_of_county_constant": 2.5})["kaili_qingquan.share_out_of_county"]
        > first["kaili_qingquan.share_out_of_county"]
    )


def test_posterior_files_round_trip_and_bad_files_are_named(tmp_path):
    problem = tiny()
    result = fit(problem, tmp_path / "abc.db", population=20, generations=1)
    written = write_posterior(result, tmp_path / "cal")
    assert [p.name for p in written] == ["posterior.csv", "posterior.json", "kaili_qingquan.toml"]
    post = read_posterior(tmp_path / "cal")
    # the central particle's file, on top of the community's full-size profile
    preset = load_scenario(tmp_path / "cal" / "central" / "kaili_qingquan.toml")
    centre = central_particle(post)
    assert preset.choice.constant.out_of_county == pytest.approx(
        post.sample.at[centre, "out_of_county_constant"], abs=1e-4
    )
    assert preset.labour_demand.industry_posts_per_100_workers == pytest.approx(
        post.sample.at[centre, "kaili_qingquan.industry_posts"], abs=1e-4
    )
    assert preset.community == load_scenario(None, community="kaili_qingquan").community
    assert preset.name == "calibrated_kaili_qingquan"
    assert len(post.sample) == 20 and post.sample["weight"].sum() == pytest.approx(1.0)
    row = int(post.draw(1, seed=3)[0])
    settings = post.settings(row, "kaili_qingquan")
    assert set(settings) == {"choice.constant.out_of_county", "labour_demand.industry_posts_per_100_workers"}
    assert set(post.settings(row, "typical")) == {"choice.constant.out_of_county"}  # shared only elsewhere
    assert list(post.draw(5, seed=3)) == list(post.draw(5, seed=3))
    record = json.loads((tmp_path / "cal" / "posterior.json").read_text())
    assert record["priors"]["industry_posts"]["reason"]
    sample = pd.read_csv(tmp_path / "cal" / "posterior.csv")
    sample.drop(columns=["kaili_qingquan.industry_posts"]).to_csv(tmp_path / "cal" / "posterior.csv", index=False)
    with pytest.raises(PriorError, match=r"posterior.csv: column\(s\) \['kaili_qingquan.industry_posts'\] missing"):
        read_posterior(tmp_path / "cal")


def test_a_stopped_fit_resumes_where_it_was_and_only_the_same_fit(tmp_path):
    db = tmp_path / "abc.db"
    problem = tiny()
    first = fit(problem, db, population=15, generations=1)
    assert list(first.generations["generation"]) == [0]
    more = fit(problem, db, population=15, generations=2, resume=True)
    assert list(more.generations["generation"]) == [0, 1]
    ess = more.generations["effective_sample_size"]
    assert ess.iloc[0] == pytest.approx(15.0)  # drawn from the prior: equal weights
    assert 1.0 <= ess.iloc[1] <= 15.0
    assert more.generations["simulations"].iloc[0] == first.generations["simulations"].iloc[0]  # kept, not redone
    other = Problem(problem.communities, problem.priors, problem.observed, people=600, months=9)
    with pytest.raises(PriorError, match="differs from this one in \\['people'\\]"):
        fit(other, db, population=15, generations=3, resume=True)
    with pytest.raises(PriorError, match="holds a fit already; continue it with --resume"):
        fit(problem, db, population=15, generations=1)


def test_posterior_covers_the_truth_on_data_the_model_made(tmp_path):
    """Coverage: for known parameters, simulate the statistics, fit them, and check the
    truth lies in the 90 % posterior interval in at least 5 of 6 cases (each case passes with
    probability 0.9 if the intervals are calibrated, so 5 of 6 fails by chance 11 % of the
    time for an exact method; ABC with a few generations is wider, so it fails far less; the
    seeds are fixed, so the outcome is too); and that the data taught something: the
    posterior is narrower than the prior."""
    truths = [(-0.5, 15.0), (0.5, 40.0), (1.5, 25.0), (0.0, 60.0), (1.0, 10.0), (2.0, 50.0)]
    inside, shrink = 0, []
    for k, (const, posts) in enumerate(truths):
        truth = {"out_of_county_constant": const, "kaili_qingquan.industry_posts": posts}
        data = Simulator(tiny())({**truth})
        problem = tiny(data)
        result = fit(problem, tmp_path / f"coverage-{k}.db", population=40, generations=3, seed=k + 1)
        post = Posterior(result.posterior, {n: n for n in problem.names}, {}, problem.communities, Path("."))
        summary = post.summary().set_index("parameter")
        hits = [summary.loc[n, "q05"] <= truth[n] <= summary.loc[n, "q95"] for n in problem.names]
        inside += all(hits)
        for n in problem.names:
            lo, hi = problem.prior_of(n).interval()
            shrink.append((summary.loc[n, "q95"] - summary.loc[n, "q05"]) / (hi - lo))
    assert inside >= 5, f"truth inside the 90 % interval in {inside} of 6"
    assert np.median(shrink) < 0.75, f"posterior/prior width ratios {np.round(shrink, 2)}"


def test_the_six_communities_are_fitted_with_shared_behaviour():
    problem = survey_problem()
    shared = [n for n in problem.names if "." not in n]
    assert shared == ["out_of_county_constant", "farming_constant", "land_kept", "out_of_county_industry_share"]
    for community in COMMUNITIES:
        params = dict.fromkeys(problem.names, 1.0)
        settings = problem.settings_for(params, community)
        assert len(settings) == 7


def test_the_central_particle_is_the_one_nearest_the_medians():
    names = ["a", "kaili_qingquan.b"]
    sample = pd.DataFrame(
        {"weight": [0.1, 0.3, 0.3, 0.3], "a": [0.0, 1.0, 2.0, 9.0], "kaili_qingquan.b": [5.0, 0.0, 1.0, 2.0]}
    )
    scopes = {"a": "shared", "kaili_qingquan.b": "per_community"}
    post = Posterior(sample, dict.fromkeys(names, "x.y"), scopes, ("kaili_qingquan",), Path("posterior.csv"))
    # weighted medians: a 2.0, b 1.0; the row at both medians is row 2
    assert central_particle(post) == 2
    sample.loc[2, "kaili_qingquan.b"] = 5.0  # medians now a 2, b 2: row 1 (1, 0) is nearest in sd units
    assert central_particle(post) == 1


def test_the_committed_central_files_are_the_committed_posteriors_central_particle():
    post = read_posterior()
    centre = central_particle(post)
    for community in COMMUNITIES:
        preset = load_scenario(Path(post.source).parent / "central" / f"{community}.toml")
        for path, value in post.settings(centre, community).items():
            section, *rest = path.split(".")
            got = getattr(preset, section)
            for part in rest:
                got = getattr(got, part)
            assert got == pytest.approx(value, abs=1e-4), (community, path)
        assert preset.population.land_mu_per_person <= 1.0  # never more land than before the move


def test_identifiability_reports_narrowing_and_trade_offs():
    rng = np.random.default_rng(1)
    a = rng.uniform(0.0, 1.0, 400)
    sample = pd.DataFrame(
        {
            "weight": np.full(400, 1 / 400),
            "out_of_county_constant": -2 + 5 * a,  # spans the prior
            "farming_constant": 2.5 + 0.25 * (a - 0.5) + 0.01 * rng.standard_normal(400),  # narrow, tied to the first
        }
    )
    names = list(sample.columns[1:])
    priors = {p.name: p for p in PRIORS}
    post = Posterior(sample, {n: priors[n].path for n in names}, dict.fromkeys(names, "shared"), (), Path("."), priors)
    table = identifiability(post).set_index("parameter")
    assert table.loc["out_of_county_constant", "width_ratio"] == pytest.approx(1.0, abs=0.05)
    assert table.loc["farming_constant", "width_ratio"] < 0.1
    assert table.loc["farming_constant", "most_correlated_with"] == "out_of_county_constant"
    assert table.loc["farming_constant", "correlation"] > 0.95
    fig = pair_figure(post, names)
    assert len(fig.axes) == 4


def test_pyabc_out_of_bounds_warning_is_shown_once_and_other_warnings_always(caplog):
    import logging

    abc = logging.getLogger("ABC")
    message = (
        "Unusually many (model, parameter) samples have prior density zero. The transition might be inappropriate."
    )
    (once,) = [f for f in abc.filters if type(f).__name__ == "_OutOfBoundsOnce"]
    once.warned = False  # as in a fresh process
    with caplog.at_level(logging.WARNING, logger="ABC"):
        for _ in range(5):
            abc.warning(message)
        abc.warning("something else")
        abc.warning("something else")
    texts = [r.getMessage() for r in caplog.records]
    assert texts.count(message) == 1 and texts.count("something else") == 2


def test_the_fast_prior_and_kernel_are_the_distributions_pyabc_would_use():
    """The fit's prior densities and proposal draws are plain arithmetic (pyabc's own took
    longer than a simulation per valid proposal), with the same distributions."""
    import pyabc
    from scipy import stats

    from analysis.bayes import BoundedRV, _fast_transition_class

    beta, uniform = BoundedRV(0.05, 1.0, 4.8, 5.2), BoundedRV(-2.0, 3.0)
    for x in (-2.5, -2.0, 0.06, 0.3, 0.5, 0.99, 2.9, 3.5):
        assert beta.pdf(x) == pytest.approx(stats.beta.pdf(x, 4.8, 5.2, loc=0.05, scale=0.95))
        assert uniform.pdf(x) == pytest.approx(stats.uniform.pdf(x, -2.0, 5.0))
    np.random.seed(3)
    draws = np.array([beta.rvs() for _ in range(4000)])
    assert draws.mean() == pytest.approx(0.05 + 0.95 * 0.48, abs=0.01)
    rng = np.random.default_rng(1)
    particles = pd.DataFrame(rng.uniform(size=(60, 4)), columns=list("abcd"))
    w = rng.uniform(size=60)
    w /= w.sum()
    fast, slow = _fast_transition_class()(scaling=3.0), pyabc.MultivariateNormalTransition(scaling=3.0)
    fast.fit(particles, w)
    slow.fit(particles, w)
    drawn = np.array([list(fast.rvs().values()) for _ in range(20000)])
    expected_mean = w @ particles.to_numpy()
    expected_cov = np.cov(particles.to_numpy().T, aweights=w, bias=True) + slow.cov
    assert np.abs(drawn.mean(axis=0) - expected_mean).max() < 0.01
    assert np.abs(np.cov(drawn.T) - expected_cov).max() < 0.05 * np.abs(expected_cov).max()
    x = fast.rvs()
    assert fast.pdf(x) == pytest.approx(slow.pdf(x))


def test_the_reflected_kernel_is_a_density_on_the_box_and_flat_to_its_bounds():
    """Proposals never leave the prior's box and their density integrates to one over it;
    where the population fills the box evenly, so does the proposal, up to the bounds,
    where pyabc's normal kernel (proposals outside redrawn) falls to about half: the
    variance of the importance weights that collapsed the fits (docs/FIT.md)."""
    from analysis.bayes import transition

    rng = np.random.default_rng(4)
    bounds = {"a": (0.0, 1.0), "b": (-2.0, 3.0), "c": (0.0, 80.0)}
    low, high = np.array([0.0, -2.0, 0.0]), np.array([1.0, 3.0, 80.0])
    particles = pd.DataFrame(
        {"a": rng.uniform(0, 1, 200), "b": rng.normal(1.6, 0.3, 200).clip(-2, 3), "c": rng.uniform(0, 80, 200)}
    )
    w = np.full(200, 1 / 200)
    reflected = transition("reflected", bounds, 3.0)
    reflected.fit(particles, w)
    np.random.seed(5)
    drawn = np.array([list(reflected.rvs().values()) for _ in range(5000)])
    assert ((drawn >= low) & (drawn <= high)).all()
    assert drawn[:, 1].mean() == pytest.approx(particles["b"].mean(), abs=0.02)
    uniform = pd.DataFrame(rng.uniform(low, high, size=(20000, 3)), columns=list("abc"))
    assert reflected.pdf(uniform).mean() * np.prod(high - low) == pytest.approx(1.0, abs=0.05)
    assert reflected.pdf(pd.Series({"a": 1.01, "b": 0.0, "c": 1.0})) == 0.0

    # a population spread evenly over its box: the proposal should be as even
    even = pd.DataFrame({"a": (np.arange(200) + 0.5) / 200})
    edge_to_middle = {}
    for kind in ("reflected", "normal"):
        kernel = transition(kind, {"a": (0.0, 1.0)}, 3.0)
        kernel.fit(even, w)
        edge_to_middle[kind] = kernel.pdf(pd.Series({"a": 0.01})) / kernel.pdf(pd.Series({"a": 0.5}))
    assert edge_to_middle["reflected"] == pytest.approx(1.0, abs=0.02)
    assert edge_to_middle["normal"] < 0.7
    with pytest.raises(PriorError, match="kernel 'wide': expected one of reflected, normal"):
        transition("wide", bounds)
