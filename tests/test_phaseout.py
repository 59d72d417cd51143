"""Phasing out policies (analysis/phaseout.py and `run.py phaseout`): branched runs equal
fresh ones, ending the allowance raises poverty, an abrupt end raises falling back more
than a taper of the same cost, and the command's output and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.compare import run_experiment
from analysis.inference import TSummary
from analysis.phaseout import FELL_BACK, OUTCOMES, PhaseoutError, phased_scenario, run_phaseout
from scenarios import load_scenario, override
from simulation.indicators import INDICATORS

from .conftest import SMALL

ROOT = Path(__file__).resolve().parents[1]
COMBINED = ROOT / "scenarios" / "combined.toml"
ALLOWANCE = (
    ROOT / "scenarios" / "policies" / "subsistence_allowance.toml"
)  # a threshold that lifts net income above the line
TINY = {
    "community.relocated_population": 1200,
    "community.relocated_labour_force": 640,
    "community.source_villages": 60,
}
TINY_ARGS = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]
HAS_FELL_BACK = FELL_BACK in INDICATORS.names()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=ROOT)


def test_the_outcomes_include_falling_back_exactly_when_the_model_reports_it():
    assert OUTCOMES[:5] == (
        "policy_cost_total",
        "poverty_rate",
        "households_in_poverty",
        "income_per_capita_mean",
        "returned_households",
    )
    assert (FELL_BACK in OUTCOMES) == HAS_FELL_BACK


def test_branched_runs_equal_fresh_runs_of_each_variant():
    """Copying the package's model at the phase-out month and changing one policy gives
    exactly the run a fresh model of the variant gives (every indicator, every month)."""
    package = load_scenario(COMBINED, {**TINY, "simulation.years": 2})
    names = ["subsistence_allowance", "employment_guarantee", "labour_export"]
    branched = run_phaseout(package, at=9, taper=4, replicates=2, policies=names)
    fresh = run_phaseout(package, at=9, taper=4, replicates=2, policies=names, branch=False)
    a, b = branched.experiment.tidy, fresh.experiment.tidy
    assert a.shape == b.shape and list(a["scenario"].unique()) == [package.name, *names]
    assert a.equals(b)
    assert branched.ranking.equals(fresh.ranking)


def test_posterior_draws_are_shared_by_the_package_and_its_variants_and_branching_still_equals_fresh_runs():
    """Replicate r of the package and of every variant runs at draw r (a copied model keeps
    its draw), so the branched and fresh runs agree exactly, and the draws change the runs."""
    from analysis.bayes import Posterior
    from analysis.compare import posterior_settings
    from analysis.phaseout import posterior_table

    sample = pd.DataFrame({"weight": [0.5, 0.5], "out_of_county_constant": [-4.0, 3.0]})
    post = Posterior(
        sample,
        {"out_of_county_constant": "choice.constant.out_of_county"},
        {"out_of_county_constant": "shared"},
        (),
        Path("."),
    )
    package = load_scenario(COMBINED, {**TINY, "simulation.years": 1})
    names = ["labour_export", "workshops"]
    draws = posterior_settings(post, 3, seed=2)
    used = [draws(r, package)["choice.constant.out_of_county"] for r in range(3)]
    assert len(set(used)) == 2  # both particles drawn (seed 2), so the replicates differ in their parameters
    branched = run_phaseout(package, at=6, replicates=3, policies=names, draw_settings=draws)
    fresh = run_phaseout(package, at=6, replicates=3, policies=names, branch=False, draw_settings=draws)
    assert branched.experiment.tidy.equals(fresh.experiment.tidy) and branched.posterior_draws
    fixed = run_phaseout(package, at=6, replicates=3, policies=names)
    final = branched.outcomes.set_index(["scenario", "replicate"])
    assert not final.equals(fixed.outcomes.set_index(["scenario", "replicate"]))
    # within a replicate the package and the variants ran at the same draw: out-of-county shares
    # of the package follow the draw's constant, replicate by replicate
    tidy = branched.experiment.tidy
    out = tidy[(tidy["scenario"] == package.name) & (tidy["month"] == 12)].set_index("replicate")["share_out_of_county"]
    low, high = [r for r in range(3) if used[r] < 0], [r for r in range(3) if used[r] > 0]
    assert out[low].max() < out[high].min(), (used, out.tolist())
    table = posterior_table(fixed, branched)
    assert set(table["scenario"]) == set(names) and set(table["indicator"]) == set(OUTCOMES)
    shares = table[["same_direction_seed_only", "same_direction_posterior"]].stack()  # NaN: no seed-only sign
    assert shares.notna().sum() >= 8 and shares.dropna().between(0, 1).all()
    with pytest.raises(PhaseoutError, match="same package and seeds"):
        posterior_table(fixed, run_phaseout(package, at=6, replicates=3, policies=["workshops"]))


def test_ending_the_subsistence_allowance_raises_poverty():
    """The allowance of the policy file (a threshold of 5,962 yuan, which lifts a recipient's
    income net of living costs above the 4,000-yuan line) ended after month 12. (The
    baseline's 4,800 tops gross income up to a level that, net of about 1,300 yuan of living
    costs, stays below the line: ending it lifts no one into poverty; docs/PHASEOUT.md.)"""
    package = load_scenario(
        ROOT / "scenarios" / "policies" / "subsistence_allowance.toml", {**SMALL, "simulation.years": 3}
    )
    result = run_phaseout(package, at=12, replicates=8, policies=["subsistence_allowance"])
    assert result.package == "subsistence_allowance (package)"  # a label apart from the policy's
    row = result.ranking.iloc[0]
    assert row["policy"] == "subsistence_allowance" and result.ranking["adjustment"].iloc[0] == "none"
    assert row["extra_poverty_points_low"] > 0  # the paired 95 % interval excludes 0
    assert row["money_saved_low"] > 0
    assert row["verdict"] == "more poverty" and row["ratio_status"] == "estimated"
    assert row["saved_per_extra_poor_household_low"] <= row["saved_per_extra_poor_household"]


def test_a_phase_out_month_outside_the_run_or_a_long_taper_is_refused():
    package = load_scenario(None, {"simulation.years": 2})
    with pytest.raises(PhaseoutError, match="within the run, 1 to 23"):
        phased_scenario(package, "subsistence_allowance", 24)
    with pytest.raises(PhaseoutError, match="after the run's last month 24"):
        phased_scenario(package, "subsistence_allowance", 20, taper=6)
    spec = phased_scenario(package, "subsistence_allowance", 12, taper=6)
    assert (spec.policies.subsistence_allowance.end_month, spec.policies.subsistence_allowance.taper_months) == (18, 6)


@pytest.mark.skipif(
    not HAS_FELL_BACK,
    reason=f"the model does not report `{FELL_BACK}` yet (the monitoring unit adds it); runs after that merge",
)
@pytest.mark.xfail(
    strict=False,
    reason="open finding (2026-12-06, re-run 2026-12-07 with keyed tie draws): with households, demography "
    "and the smaller slot reserve, the abrupt end's extra falling back is +0.6 households [-1.7, +2.9] over 24 "
    "replicates (-0.6 [-6.1, +4.9] before the keyed draws); the difference earlier measured (PHASEOUT.md) "
    "does not hold in the present model",
)
def test_an_abrupt_end_raises_falling_back_more_than_a_taper_of_the_same_cost():
    """The policy file's allowance ended abruptly after month 24 against a 12-month taper centred there
    (full strength through month 18, ending at 30): the same months of allowance in total,
    (12/2 taper months at full cost either way), but the abrupt end pushes more households
    that had left poverty back into it."""
    base = {
        **SMALL,
        "simulation.years": 4,
        "shocks.enabled": True,
        "community.arrival_years": 1,
    }  # all there before the end
    abrupt = load_scenario(ALLOWANCE, {**base, "policies.subsistence_allowance.end_month": 24})
    tapered = override(
        abrupt, {"policies.subsistence_allowance.end_month": 30, "policies.subsistence_allowance.taper_months": 12}
    )
    experiment = run_experiment({"abrupt": abrupt, "tapered": tapered}, replicates=24, networks=False)
    finals = experiment.finals.set_index(["scenario", "replicate"])
    cost = finals["policy_cost_subsistence_allowance"]
    assert cost["tapered"].mean() == pytest.approx(cost["abrupt"].mean(), rel=0.15)  # about the same money
    extra = (finals[FELL_BACK]["abrupt"] - finals[FELL_BACK]["tapered"]).to_numpy()
    low, _ = TSummary.of(extra).interval()
    assert low > 0, extra


# ------------------------------------------------------------------ the command


def test_the_default_command_at_a_tiny_size_gives_json_and_a_report(tmp_path):
    out = tmp_path / "po"
    result = cli(
        "phaseout", "--replicates", "2", "--years", "2", "--at", "12", "--workers", "2", *TINY_ARGS,
        "--json", "--report", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["package"] == "combined" and data["at"] == 12 and data["taper"] == 0 and data["replicates"] == 2
    assert data["posterior_intervals"] is None and data["outcomes"] == list(OUTCOMES)
    policies = [row["policy"] for row in data["policies"]]
    assert sorted(policies) == sorted(
        n for n, p in load_scenario(COMBINED).policies if p.enabled and n != "transition_period"
    )
    assert [row["rank"] for row in data["policies"]] == list(range(1, len(policies) + 1))
    first = data["policies"][0]
    for key in ("money_saved", "money_saved_low", "extra_poverty_points", "extra_gone_back", "income_change"):
        assert key in first
    assert (out / "phaseout.html").exists() and (out / "phaseout.csv").exists()
    assert (out / "figures" / "phaseout.png").exists()
    assert "Money saved against extra poverty" in (out / "phaseout.html").read_text(encoding="utf-8")


def test_phaseout_with_posterior_draws_shows_both_rankings_and_both_intervals(tmp_path):
    out = tmp_path / "po"
    result = cli(
        "phaseout", "--posterior", "2", "--years", "1", "--at", "6", "--workers", "1", *TINY_ARGS,
        "--policy", "workshops", "--report", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "with one posterior draw per replicate" in text and "Differences with calibration uncertainty" in text
    for name in ("phaseout_posterior.csv", "comparison_posterior.csv", "runs_posterior.csv"):
        assert (out / name).exists(), name
    page = (out / "phaseout.html").read_text(encoding="utf-8")
    assert "Ranked again, with one posterior draw per replicate" in page and "seed noise only" in page
    as_json = cli(
        "phaseout", "--posterior", "2", "--years", "1", "--at", "6", "--workers", "1", *TINY_ARGS,
        "--policy", "workshops", "--report", str(tmp_path / "po2"), "--json",
    )  # fmt: skip
    data = json.loads(as_json.stdout)
    assert data["posterior_intervals"] is None and data["replicates"] == 2
    assert data["with_posterior"]["posterior_intervals"] == "one posterior draw per replicate"
    assert {row["indicator"] for row in data["calibration_uncertainty"]} == set(OUTCOMES)


def test_the_ranked_table_on_the_terminal(tmp_path):
    result = cli(
        "phaseout", "--replicates", "2", "--years", "1", "--at", "6", "--taper", "3", "--workers", "1", *TINY_ARGS,
        "--policy", "subsistence_allowance", "--policy", "workshops", "--report", str(tmp_path / "po"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "tapered over 3 months after month 6" in result.stdout
    assert "subsistence_allowance" in result.stdout and "workshops" in result.stdout
    assert "Report:" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "no_such_policy"], "unknown policy 'no_such_policy'"),
        (["--at", "0"], "--at 0: the month must be within the run"),
        (["--at", "120"], "--at 120: the month must be within the run, 1 to 119"),
        (["--at", "110", "--taper", "24"], "would end at month 134, after the run's last month 120"),
        (["scenarios/baseline.toml", "--policy", "workshops"], "workshops is not enabled in scenario 'baseline'"),
        (["--policy", "transition_period"], "transition_period cannot be phased out"),
        (["--adjust", "sideways"], "--adjust 'sideways'"),
    ],
    ids=["unknown", "month-0", "month-end", "taper", "not-enabled", "transition", "adjust"],
)
def test_bad_input_is_a_one_paragraph_error(args, message, tmp_path):
    result = cli("phaseout", *args, "--replicates", "2", "--report", str(tmp_path / "po"))
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert message in " ".join(result.stderr.split())
    assert not (tmp_path / "po").exists()


def test_money_saved_is_the_whole_package_cost_difference():
    """Money saved is the package's total cost difference, other programmes' included:
    ending the welfare posts saves money; ending the workshops in this package costs more
    than it saves (measured -11,000 yuan over 18 months), because their workers, back in
    zero-employment households, most likely cost the package's guarantee and allowance
    more (not yet decomposed)."""
    package = load_scenario(COMBINED, {**TINY, "simulation.years": 2})
    result = run_phaseout(package, at=6, replicates=2, policies=["public_welfare_jobs", "workshops"])
    saved = result.ranking.set_index("policy")["money_saved"]
    assert np.isfinite(saved).all() and saved["public_welfare_jobs"] > 0
    assert saved["workshops"] < saved["public_welfare_jobs"]
    assert result.ranking["adjustment"].iloc[0] == "holm"  # two policies: adjusted as compare does
