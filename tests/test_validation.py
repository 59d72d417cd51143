"""Validation against the survey: structure, figures, facts, and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.calibration import COMMUNITIES, observed
from analysis.validation import VALIDATED, fit_figure, uniform_earnings_floor, validate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def result():
    return validate(replicates=2, workers=2)


def test_table_has_every_community_and_indicator(result):
    table = result.table
    assert len(table) == len(COMMUNITIES) * len(VALIDATED)
    assert (table["ci_low"] <= table["simulated"] + 1e-12).all() and (
        table["simulated"] <= table["ci_high"] + 1e-12
    ).all()
    income = table[table["indicator"] == "income_per_capita_mean_in_community"].set_index("community")
    assert income.loc["yunyang_qinglongquan", "observed"] == 5046
    assert income["within"].isna().all()  # income is out of sample: no target band, a MAPE instead
    assert result.income_mape == pytest.approx((income["error"].abs() / income["observed"]).mean())
    shares = table[table["indicator"] == "share_industry"]
    assert shares["within"].notna().all()


def test_pooled_and_facts(result):
    assert set(result.pooled["indicator"]) == {
        "share_agriculture",
        "share_industry",
        "share_services",
        "share_part_time",
        "share_out_of_county",
        "employment_rate",
    }
    employment = result.pooled.set_index("indicator").loc["employment_rate"]
    assert employment["observed"] == pytest.approx(29_499 / 32_594, abs=0.001)  # capped workers / labour force
    assert 0.7 < employment["simulated"] < 1.0
    assert result.pooled.set_index("indicator").loc["share_agriculture", "observed"] == pytest.approx(0.096)
    assert len(result.facts) == 3 and all(isinstance(f["passed"], bool) for f in result.facts)
    facts = {f["fact"].split(":")[0]: f for f in result.facts}
    assert "Non-farm work dominates" in facts
    fig = fit_figure(result)
    assert len(fig.axes) == 2


def test_validate_command_json(tmp_path):
    out = tmp_path / "v"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "validate", "--replicates", "2", "--out", str(out), "--json"],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    data = json.loads(completed.stdout)
    assert {"communities", "pooled", "income_mape", "stylised_facts", "replicates"} <= set(data)
    assert len(data["communities"]) == len(COMMUNITIES) * len(VALIDATED)
    assert (out / "fit.png").exists() and (out / "validation.csv").exists()


def test_uniform_earnings_floor():
    obs = observed()
    floor, earnings = uniform_earnings_floor(obs)
    rows = obs.loc[list(COMMUNITIES)]
    per_person = rows["employment_rate"] * rows["relocated_labour_force"] / rows["relocated_population"]

    def mape(c: float) -> float:
        return float((abs(c * per_person - rows["income_after_yuan"]) / rows["income_after_yuan"]).mean())

    assert floor == pytest.approx(mape(12 * earnings))
    assert floor == pytest.approx(0.276, abs=0.001)  # the survey's spread of earnings per worker
    assert 1_000 < earnings < 2_000
    assert all(mape(12 * earnings * f) >= floor for f in (0.8, 0.95, 1.05, 1.25))
    proportional = obs.copy()
    proportional.loc[list(COMMUNITIES), "income_after_yuan"] = 12 * 1_500 * per_person
    assert uniform_earnings_floor(proportional) == pytest.approx((0.0, 1_500))
