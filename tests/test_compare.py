"""Comparing scenarios: intervals, paired differences, executors, the report and the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.compare import (
    compare,
    comparison_json,
    cost_effectiveness,
    mean_ci,
    parameter_differences,
    run_experiment,
    summarise,
)
from scenarios import load_scenario

from .conftest import SMALL_SET, small_scenario

ROOT = Path(__file__).resolve().parents[1]


def test_mean_ci_matches_the_t_interval():
    mean, lo, hi = mean_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    # t(0.975, 3) = 3.182446; sd = 1.290994; half width = 3.182446 * 1.290994 / 2
    assert mean == 2.5 and hi - mean == pytest.approx(2.0542, abs=1e-4) and mean - lo == pytest.approx(hi - mean)
    assert mean_ci(np.array([5.0])) == (5.0, 5.0, 5.0)


def finals_frame(values: dict[str, list[float]], key: str = "x") -> pd.DataFrame:
    rows = [
        {"scenario": label, "replicate": r, key: v, "month": 1}
        for label, vals in values.items()
        for r, v in enumerate(vals)
    ]
    return pd.DataFrame(rows)


def test_differences_are_paired_by_replicate():
    finals = finals_frame({"a": [1.0, 5.0, 9.0], "b": [2.0, 6.0, 10.0]})
    table = compare(finals, "a", ("x",)).set_index("scenario")
    assert table.loc["b", "diff"] == 1.0
    assert table.loc["b", "diff_ci_low"] == table.loc["b", "diff_ci_high"] == 1.0  # constant paired difference
    assert table.loc["a", "diff"] == 0.0
    assert table.loc["b", "ci_high"] - table.loc["b", "ci_low"] > 10  # unpaired spread is wide


def test_cost_effectiveness_divides_extra_cost_by_extra_gains():
    finals = pd.DataFrame(
        {
            "scenario": ["base", "base", "p", "p"],
            "replicate": [0, 1, 0, 1],
            "policy_cost_total": [100.0, 100.0, 1100.0, 1300.0],
            "employed": [10, 12, 20, 22],
            "households_in_poverty": [30, 30, 25, 25],
        }
    )
    row = cost_effectiveness(finals, "base").iloc[0]
    assert row.extra_cost_yuan == 1100 and row.extra_employed == 10
    assert row.cost_per_extra_employed_yuan == 110 and row.cost_per_household_above_poverty_line_yuan == 220
    finals.loc[finals.scenario == "p", "employed"] = [9, 11]
    assert np.isnan(cost_effectiveness(finals, "base").iloc[0].cost_per_extra_employed_yuan)


def test_parameter_differences_lists_only_what_differs():
    a = load_scenario(None)
    b = load_scenario(None, {"wages.out_of_county": 5000, "policies.workshops.enabled": True})
    diff = parameter_differences({"a": a, "b": b})
    assert set(diff["parameter"]) == {"wages.out_of_county", "policies.workshops.enabled"}
    assert parameter_differences({"a": a, "b": a}).empty


def test_confidence_interval_narrows_as_replicates_grow():
    spec = small_scenario(years=1)
    widths = []
    for n in (3, 12):
        exp = run_experiment({"s": spec}, replicates=n, networks=False)
        row = summarise(exp.finals, ("share_out_of_county",)).iloc[0]
        widths.append(row.ci_high - row.ci_low)
    assert widths[1] < 0.7 * widths[0]


def test_identical_scenarios_differ_by_nothing_real():
    spec = small_scenario(years=1)
    paired = run_experiment({"a": spec, "b": spec}, replicates=4, networks=False)
    assert (compare(paired.finals, "a").query("scenario == 'b'")["diff"] == 0).all()
    unpaired = run_experiment({"a": spec, "b": spec}, replicates=6, networks=False, common_random_numbers=False)
    table = compare(unpaired.finals, "a").query("scenario == 'b'")
    # fourteen 95 % intervals exclude 0 by chance about half the time: judge the family with
    # Bonferroni intervals (each at 1 - 0.05/14), which all hold with 95 % probability
    from scipy import stats

    scale = stats.t.ppf(1 - 0.025 / len(table), 5) / stats.t.ppf(0.975, 5)
    for row in table.itertuples():
        half = (row.diff_ci_high - row.diff_ci_low) / 2 * scale
        assert row.diff - half <= 0 <= row.diff + half, row.indicator
    assert (table["diff"] != 0).any()  # different seeds really were used


def test_parallel_and_serial_runs_give_identical_numbers():
    specs = {"base": small_scenario(years=1), "more": small_scenario({"policies.workshops.enabled": True}, years=1)}
    serial = run_experiment(specs, replicates=2, workers=1)
    parallel = run_experiment(specs, replicates=2, workers=2)
    pd.testing.assert_frame_equal(serial.tidy, parallel.tidy)
    assert serial.networks == parallel.networks


def test_compare_cli_writes_a_self_contained_report_with_the_printed_numbers(tmp_path):
    args = [sys.executable, str(ROOT / "run.py"), "compare"]
    files = [str(ROOT / "scenarios" / "baseline.toml"), str(ROOT / "scenarios" / "policies" / "workshops.toml")]
    common = ["--replicates", "3", "--years", "1", "--workers", "2"]
    sets = [a for s in SMALL_SET for a in ("--set", s)]
    result = subprocess.run([*args, *files, *common, *sets, "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    # nothing loaded from elsewhere: no external URLs, every image inline
    assert not re.search(r"(src|href)\s*=\s*[\"'](?!data:)", report)
    assert "http://" not in report and "https://" not in report and "<script" not in report
    assert report.count("data:image/png;base64,") == 3
    # the numbers printed on the terminal are in the report
    printed = re.findall(r"\d[\d,]*\.\d+ \[[^\]]+\]", result.stdout)
    assert len(printed) >= 20
    for text in printed:
        mean = text.split(" [")[0]
        assert mean in report, text
    assert "cost per extra employed" in result.stdout and "cost per extra employed" in report
    for name in ("runs.csv", "figures/timeseries.png", "figures/structure.png", "figures/network.png"):
        assert (tmp_path / name).exists(), name
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert len(runs) == 2 * 3 * 12 and {"scenario", "replicate", "seed", "run_id", "month"} <= set(runs.columns)
    assert runs.groupby("scenario")["seed"].apply(lambda s: sorted(s.unique())).tolist() == [[1, 2, 3]] * 2
    # --json: scenario -> indicator -> mean, ci_low, ci_high, diff, diff_ci_low, diff_ci_high
    result = subprocess.run(
        [*args, *files, *common, *sets, "--out", str(tmp_path / "j"), "--json"], capture_output=True, text=True
    )
    data = json.loads(result.stdout)
    assert set(data) == {"baseline", "workshops"}
    entry = data["workshops"]["share_local"]
    assert set(entry) == {"mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high"}
    assert entry["ci_low"] <= entry["mean"] <= entry["ci_high"] and data["baseline"]["share_local"]["diff"] == 0


def test_comparison_json_turns_nan_into_null():
    table = pd.DataFrame(
        [
            {
                "scenario": "a",
                "indicator": "x",
                "mean": 1.0,
                "ci_low": np.nan,
                "ci_high": 2.0,
                "diff": 0.0,
                "diff_ci_low": 0.0,
                "diff_ci_high": 0.0,
            }
        ]
    )
    assert comparison_json(table) == {
        "a": {"x": {"mean": 1.0, "ci_low": None, "ci_high": 2.0, "diff": 0.0, "diff_ci_low": 0.0, "diff_ci_high": 0.0}}
    }


def test_compare_rejects_bad_input(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "compare", str(ROOT / "scenarios" / "baseline.toml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "at least one other" in result.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[policies.workshop]\nenabled = true\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "compare", str(ROOT / "scenarios" / "baseline.toml"), str(bad)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "Did you mean `policies.workshops`?" in result.stderr
    assert "Traceback" not in result.stderr
