"""Validation against the survey: structure, figures, facts, and the command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.calibration import COMMUNITIES, observed
from analysis.validation import (
    INCOME,
    VALIDATED,
    fit_figure,
    pooled_shares,
    stylised_facts,
    uniform_earnings_floor,
    validate,
)

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
    assert len(result.facts) == 3
    facts = {f["fact"].split(":")[0]: f for f in result.facts}
    assert "Non-farm work dominates" in facts
    # each verdict is the one its own figures give (the figures are what the report prints)
    farm = facts["Non-farm work dominates"]
    shares = [[float(x) for x in re.findall(r"[\d.]+", text)] for text in farm["figures"].values()]
    assert farm["passed"] == all(a < 0.15 and a < rest for a, rest in shares)
    income = facts["Income per person rises after relocation in every community (survey"]
    pairs = [
        [float(x.replace(",", "")) for x in re.findall(r"[\d,]+(?:\.\d+)?", t)] for t in income["figures"].values()
    ]
    assert income["passed"] == all(after > before for before, after in pairs)
    fig = fit_figure(result)
    assert len(fig.axes) == 2


def test_validate_command_json(tmp_path):
    out = tmp_path / "v"
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "validate",
            "--method",
            "point",
            "--replicates",
            "2",
            "--out",
            str(out),
            "--json",
        ],
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


AGES = ("16-29", "30-44", "45+")
EDUCATION = ("primary_or_less", "junior_middle", "senior_high", "college")


def synthetic_finals(
    agriculture: float = 0.08,
    by_age: tuple[float, ...] = (0.6, 0.4, 0.2),
    by_education: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5),
    income_factor: float = 1.5,
) -> pd.DataFrame:
    """Final-month rows of two replicates per community, with chosen figures: the stylised
    facts hold for the defaults, and each argument can break one of them."""
    before = observed().loc[list(COMMUNITIES), "income_before_yuan"]
    rows = []
    for replicate in (0, 1):
        for community in COMMUNITIES:
            row = {
                "scenario": community,
                "replicate": replicate,
                "share_agriculture": agriculture,
                "share_industry": 0.5,
                "share_services": 0.3,
                INCOME: income_factor * float(before[community]),
            }
            row.update({f"by_age_group.{g}.share_out_of_county": v for g, v in zip(AGES, by_age, strict=True)})
            row.update(
                {f"by_education.{e}.share_out_of_county": v for e, v in zip(EDUCATION, by_education, strict=True)}
            )
            rows.append(row)
    return pd.DataFrame(rows)


def verdicts(finals: pd.DataFrame) -> list[bool]:
    return [fact["passed"] for fact in stylised_facts(finals, observed())]


def test_stylised_facts_pass_when_they_hold_and_each_fails_on_its_own_counterexample():
    assert verdicts(synthetic_finals()) == [True, True, True]
    assert verdicts(synthetic_finals(agriculture=0.2)) == [False, True, True]  # farming above 15 %
    assert verdicts(synthetic_finals(by_age=(0.2, 0.4, 0.6))) == [True, False, True]  # the old go out more
    assert verdicts(synthetic_finals(by_age=(0.6, 0.6, 0.2))) == [True, False, True]  # not strictly falling
    assert verdicts(synthetic_finals(by_education=(0.5, 0.4, 0.3, 0.2))) == [True, False, True]
    assert verdicts(synthetic_finals(income_factor=0.9)) == [True, True, False]  # income falls
    one_falls = synthetic_finals()
    last = one_falls["scenario"] == COMMUNITIES[-1]
    one_falls.loc[last, INCOME] = one_falls.loc[last, INCOME] / 1.5 * 0.99  # just below its income before
    assert verdicts(one_falls) == [True, True, False]  # "in every community"


def test_stylised_facts_need_every_community():
    """One community where farming dominates fails the first fact for all."""
    finals = synthetic_finals()
    finals.loc[finals["scenario"] == COMMUNITIES[2], ["share_agriculture", "share_industry", "share_services"]] = (
        0.12,
        0.05,
        0.05,
    )
    assert verdicts(finals) == [False, True, True]


def test_pooled_shares_weight_by_employed_workers_and_the_rate_by_the_labour_force():
    """Two communities with different sizes: the pooled share is the employed-weighted mean,
    the pooled employment rate the labour-force-weighted one, per replicate."""
    rows = []
    for replicate, bump in ((0, 0.0), (1, 0.02)):
        rows.append(
            {"replicate": replicate, "employed": 300, "labour_force": 400, "employment_rate": 0.75 + bump}
            | {k: 0.1 + bump for k in ("share_agriculture", "share_industry", "share_services", "share_part_time")}
            | {"share_out_of_county": 0.2 + bump}
        )
        rows.append(
            {"replicate": replicate, "employed": 100, "labour_force": 400, "employment_rate": 0.25 + bump}
            | {k: 0.5 + bump for k in ("share_agriculture", "share_industry", "share_services", "share_part_time")}
            | {"share_out_of_county": 0.6 + bump}
        )
    pooled = pooled_shares(pd.DataFrame(rows), observed()).set_index("indicator")
    # by hand: (300 x 0.1 + 100 x 0.5) / 400 = 0.2, and 0.22 in replicate 1: mean 0.21
    assert pooled.loc["share_industry", "simulated"] == pytest.approx(0.21)
    assert pooled.loc["share_out_of_county", "simulated"] == pytest.approx((0.3 + 0.32) / 2)
    assert pooled.loc["employment_rate", "simulated"] == pytest.approx((0.5 + 0.52) / 2)  # (0.75 + 0.25) / 2
    assert pooled.loc["share_industry", "ci_low"] < 0.21 < pooled.loc["share_industry", "ci_high"]
    observed_agriculture = observed().loc["all_six_pooled", "share_agriculture"]  # 0.096: 0.21 is outside 2 points
    assert pooled.loc["share_agriculture", "observed"] == pytest.approx(observed_agriculture)
    assert not pooled.loc["share_agriculture", "within"]
    assert pooled.loc["employment_rate", "within"] is None
