"""Calibration: the survey as read, the fitted quantities, the loss, the saved files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.calibration import (
    CALIBRATED_DIR,
    CALIBRATION_PEOPLE,
    COMMUNITIES,
    PER_COMMUNITY,
    SHARED,
    SURVEY_YEARS,
    CalibrationResult,
    _evaluate,
    best_out_industry,
    calibrate,
    community_data,
    community_loss,
    employment_loss,
    fit_community,
    grid_values,
    observed,
    predicted_shares,
    write_calibrated,
)
from scenarios import load_scenario
from scenarios.loader import validate

ROOT = Path(__file__).resolve().parents[1]


def test_observed_survey_figures():
    obs = observed()
    qianxi = obs.loc["qianxi_jinxiu"]
    assert qianxi["share_industry"] == pytest.approx(0.492) and qianxi["share_out_of_county"] == pytest.approx(0.582)
    assert qianxi["employment_rate"] == pytest.approx((3848 + 2759) / 7963)
    assert obs.loc["yunyang_qinglongquan", "employment_rate"] == 1.0  # 8,547 workers of 8,545: capped
    assert obs.loc["huanjiang_chengxi", "income_after_yuan"] == 9450
    pooled = obs.loc["all_six_pooled"]
    assert pooled["share_agriculture"] == pytest.approx(0.096) and pooled["share_out_of_county"] == pytest.approx(
        15471 / 29501, abs=1e-4
    )  # from the rounded percentages
    sectors = obs.loc[list(COMMUNITIES), ["share_agriculture", "share_industry", "share_services", "share_part_time"]]
    assert np.allclose(sectors.sum(axis=1), 1.0, atol=0.002)


def test_best_out_of_county_industry_share_is_the_least_squares_one():
    sim = {
        "share_agriculture": 0.1,
        "share_part_time": 0.05,
        "share_out_of_county": 0.5,
        "share_local_industry": 0.2,
        "share_local_services": 0.15,
    }
    obs = pd.Series(
        {
            "share_agriculture": 0.1,
            "share_industry": 0.5,
            "share_services": 0.35,
            "share_part_time": 0.05,
            "share_out_of_county": 0.5,
        }
    )
    q = best_out_industry(sim, obs)
    assert q == pytest.approx(0.6)  # industry 0.2 + 0.6 x 0.5 = 0.5; services 0.15 + 0.4 x 0.5 = 0.35
    loss, q2 = community_loss(sim, obs)
    assert loss == pytest.approx(0.0) and q2 == q
    grid = [sum((100 * (predicted_shares(sim, x)[k] - obs[k])) ** 2 for k in obs.index) for x in np.linspace(0, 1, 101)]
    assert min(grid) >= loss - 1e-9


def test_community_data_scales_and_keeps_ratios():
    data = community_data("kaili_qingquan", scaled=True)
    scenario = validate(data, "kaili")
    c = scenario.community
    assert c.relocated_population == CALIBRATION_PEOPLE
    assert c.relocated_labour_force / c.relocated_population == pytest.approx(8955 / 17492, rel=0.01)
    assert scenario.simulation.years == SURVEY_YEARS
    assert scenario.policies == load_scenario(None).policies  # policy amounts are densities: nothing to scale
    full = validate(community_data("liujiang_xingliu", scaled=True), "liujiang").community
    assert full.relocated_population == 1558  # already small: not scaled


def test_fitting_a_community_lowers_its_loss():
    start = {
        "labour_demand.industry_posts_per_100_workers": 20.0,
        "labour_demand.services_posts_per_100_workers": 10.0,
        "choice.constant.part_time": 2.3,
        "population.land_mu_per_person": 1.0,
    }
    shared = {"choice.constant.out_of_county": 0.3, "choice.constant.farming_origin": 2.1}
    before, _, _ = _evaluate(("liujiang_xingliu", shared | start, (1,), None))
    params, after, q, employment = fit_community("liujiang_xingliu", shared, start, (1,), max_evals=12)
    assert after < before
    for key, (lo, hi) in PER_COMMUNITY.items():
        assert lo <= params[key] <= hi
    assert 0 <= q <= 1 and 0.5 < employment <= 1


def test_calibrated_files_are_complete_and_load():
    record = json.loads((CALIBRATED_DIR / "calibration.json").read_text())
    assert set(record["per_community"]) == set(COMMUNITIES) and set(record["shared"]) == set(SHARED)
    for community in COMMUNITIES:
        scenario = load_scenario(CALIBRATED_DIR / f"{community}.toml")
        profile = load_scenario(None, community=community).community
        assert scenario.community == profile  # the survey's input columns only
        assert scenario.simulation.years == SURVEY_YEARS
        fitted = record["per_community"][community]["choice.constant.part_time"]
        assert scenario.choice.constant.part_time == pytest.approx(fitted, abs=1e-3)
        assert scenario.choice.constant.out_of_county == pytest.approx(
            record["shared"]["choice.constant.out_of_county"], abs=1e-3
        )
        assert scenario.wages.casual_local == 1300  # the baseline's: pay is not a fitted lever
        assert record["loss"][community] >= 0


def test_calibrated_files_written_elsewhere_still_load(tmp_path):
    """`--out DIR` anywhere: the files point back at the baseline by a path that resolves."""
    record = json.loads((CALIBRATED_DIR / "calibration.json").read_text())
    result = CalibrationResult(
        shared=record["shared"],
        per_community=record["per_community"],
        out_industry=record["out_of_county_industry_share"],
        loss=record["loss"],
        seeds=tuple(record["seeds"]),
    )
    written = write_calibrated(result, tmp_path / "deep" / "fit")
    assert len(written) == len(COMMUNITIES) + 1
    here = load_scenario(tmp_path / "deep" / "fit" / "huanjiang_chengxi.toml")
    there = load_scenario(CALIBRATED_DIR / "huanjiang_chengxi.toml")
    assert here.extends != there.extends  # each a path from its own folder to the baseline
    assert here.model_dump(exclude={"extends"}) == there.model_dump(exclude={"extends"})


def test_calibrate_grid_then_refine_never_raises_the_loss():
    """A tiny calibration of the smallest community: the grid and the refinement only
    keep moves that lower the total loss, and every value stays in its bounds."""
    result = calibrate(
        rounds=1, seeds=(1,), community_evals=6, refit_evals=3, grid_evals=4, communities=("liujiang_xingliu",)
    )
    stages = [h["stage"] for h in result.history]
    assert stages[0] == "grid" and stages[-1] == "shared" and "communities" in stages
    first = sum(result.history[0]["loss"].values()) + result.history[0]["employment_loss"]
    assert result.total_loss <= first
    assert result.total_loss == pytest.approx(sum(result.loss.values()) + employment_loss(result.employment))
    grid = [h["shared"] for h in result.history if h["stage"] == "grid"]
    assert len(grid) >= 5  # the start and at least four trial values
    for key, bounds in SHARED.items():  # each constant's trials are centred on its start
        start = grid[0][key]
        assert {round(g[key], 9) for g in grid} == {round(v, 9) for v in [start, *grid_values(start, 0.6, bounds)]}
    for key, (lo, hi) in SHARED.items():
        assert lo <= result.shared[key] <= hi
    for key, (lo, hi) in PER_COMMUNITY.items():
        assert lo <= result.per_community["liujiang_xingliu"][key] <= hi


def test_grid_values_are_centred_and_bounded():
    assert grid_values(0.3, 0.6, (-2, 3)) == pytest.approx([-0.9, -0.3, 0.9, 1.5])
    assert grid_values(1.5, 0.6, (0, 5)) == pytest.approx([0.3, 0.9, 2.1, 2.7])
    assert grid_values(0.2, 0.6, (0, 5)) == pytest.approx([0.8, 1.4])  # below 0 left out
    assert grid_values(4.0, 0.6, (0, 5)) == pytest.approx([2.8, 3.4, 4.6])


def test_employment_loss_pools_by_labour_force():
    obs = observed()
    exact = {c: float(obs.loc[c, "employment_rate"]) for c in COMMUNITIES}
    assert employment_loss(exact) == pytest.approx(0.0)
    # every community 2 points above the survey: the pooled rate is 2 points above too
    assert employment_loss({c: r + 0.02 for c, r in exact.items()}) == pytest.approx(4.0)
    # one small community off by 10 points moves the pooled rate by its labour-force weight
    weight = (
        obs.loc["liujiang_xingliu", "relocated_labour_force"]
        / obs.loc[list(COMMUNITIES), "relocated_labour_force"].sum()
    )
    off = exact | {"liujiang_xingliu": exact["liujiang_xingliu"] - 0.10}
    assert employment_loss(off) == pytest.approx((10 * weight) ** 2)


def test_calibrate_starts_from_a_saved_fit():
    record = json.loads((CALIBRATED_DIR / "calibration.json").read_text())
    result = calibrate(rounds=0, seeds=(1,), grid_evals=3, start=record, communities=("liujiang_xingliu",))
    assert result.history[0]["shared"] == {k: pytest.approx(v) for k, v in record["shared"].items()}
    assert [h["stage"] for h in result.history] == ["grid"] * len(result.history)
    assert result.total_loss <= sum(result.history[0]["loss"].values()) + result.history[0]["employment_loss"]


def test_calibrate_runs_on_the_whole_chain_and_writes_it_into_the_files(tmp_path):
    """`calibrate --set policies.relocation_terms.enabled=true`: every community is fitted with
    the stage before the move, and the calibrated files keep it on."""
    chain = {"policies.relocation_terms.enabled": True}
    data = community_data("liujiang_xingliu", scaled=True, overrides=chain)
    assert data["policies"]["relocation_terms"]["enabled"] is True
    result = calibrate(
        rounds=0, seeds=(1,), grid_evals=3, start=json.loads((CALIBRATED_DIR / "calibration.json").read_text()),
        communities=("liujiang_xingliu",), overrides=chain,
    )  # fmt: skip
    assert result.overrides == chain and result.total_loss >= 0
    write_calibrated(result, tmp_path)
    scenario = load_scenario(tmp_path / "liujiang_xingliu.toml")
    assert scenario.policies.relocation_terms.enabled
    assert json.loads((tmp_path / "calibration.json").read_text())["overrides"] == chain


def test_calibrate_command_rejects_a_bad_set(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "calibrate", "--set", "policies.relocation_terms.enabled=maybe",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode == 2 and "policies.relocation_terms.enabled" in completed.stderr
    assert not (tmp_path / "out").exists()


def test_calibrate_command_rejects_a_bad_start(tmp_path):
    bad = tmp_path / "start.json"
    bad.write_text('{"shared": {"choice.constant.out_of_county": 0.3}}', encoding="utf-8")
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "calibrate",
            "--method",
            "point",
            "--start",
            str(bad),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 2
    assert "start.json" in completed.stderr and "per_community" in completed.stderr
    assert not (tmp_path / "out").exists()
    bayes = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "calibrate", "--start", str(bad), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert bayes.returncode == 2 and "use it with --method point" in bayes.stderr
