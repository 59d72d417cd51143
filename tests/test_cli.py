"""The command line, run as a real process: output formats, overrides, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulation.indicators import SHARE_KEYS

from .conftest import SMALL, SMALL_SET

ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(ROOT / "scenarios" / "baseline.toml")
SET_ARGS = [arg for item in SMALL_SET for arg in ("--set", item)]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=ROOT)


def test_run_json_has_the_survey_keys_and_groups(tmp_path):
    result = cli("run", BASELINE, "--years", "1", "--seed", "4", "--json", *SET_ARGS, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in (*SHARE_KEYS, "income_per_capita_mean", "income_per_capita_median", "poverty_rate"):
        assert isinstance(data[key], float), key
    assert isinstance(data["zero_employment_households"], int) and "zero_employment_share" in data
    for key in ("mean_degree", "cross_origin_tie_share", "local_resident_tie_share", "integration_index"):
        assert isinstance(data[key], float), key
    assert isinstance(data["returned_households"], int)
    assert 0 <= data["clustering"] <= 1 and 0 < data["largest_component_share"] <= 1
    assert data["policy_cost_total"] == pytest.approx(
        sum(
            v
            for k, v in data.items()
            if k.startswith("policy_cost_") and not k.startswith(("policy_cost_month", "policy_cost_total"))
        )
    )
    assert data["policy_cost_public_welfare_jobs"] > 0 and data["policy_cost_workshops"] == 0
    assert set(data["by_age_group"]) == {"16-29", "30-44", "45+"}
    assert set(data["by_education"]) == {"primary_or_less", "junior_middle", "senior_high", "college"}
    assert set(data["by_age_group"]["16-29"]) == set(SHARE_KEYS)
    monthly = pd.read_csv(tmp_path / "monthly.csv")
    assert len(monthly) == 12 and monthly["share_out_of_county"].iloc[-1] == pytest.approx(data["share_out_of_county"])


def test_json_is_the_same_as_the_library_call():
    from analysis import run_scenario
    from scenarios import load_scenario

    result = cli(
        "run", BASELINE, "--years", "1", "--seed", "9", "--json", *SET_ARGS, "--set", "wages.out_of_county=5000"
    )
    spec = load_scenario(BASELINE, {**SMALL, "wages.out_of_county": 5000, "simulation.years": 1})
    expected = run_scenario(spec, seed=9).final
    assert json.loads(result.stdout)["share_out_of_county"] == expected["share_out_of_county"]


def test_summary_table_and_monthly_file(tmp_path):
    result = cli("run", BASELINE, "--years", "1", *SET_ARGS, "--out", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    assert "employment_rate" in result.stdout and "By age group and education" in result.stdout
    assert (tmp_path / "o" / "monthly.csv").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[choice]\nintertia = 2\n", "unknown key `choice.intertia`. Did you mean `choice.inertia`?"),
        (
            "[community]\nrelocated_population = -10\n",
            "key `community.relocated_population`: Input should be greater than 0",
        ),
        (
            "[community]\nlocal_resident_share = 1.5\n",
            "key `community.local_resident_share`: Input should be less than 1",
        ),
        ("[wages]\nlocal_industry = = 3\n", "not valid TOML"),
    ],
)
def test_bad_input_is_one_clear_paragraph(tmp_path, content, expected):
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    result = cli("run", str(path), "--years", "1")
    assert result.returncode == 2
    assert expected in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_file_and_bad_override(tmp_path):
    result = cli("run", str(tmp_path / "missing.toml"))
    assert result.returncode == 2 and "no such scenario file" in result.stderr
    result = cli("run", BASELINE, "--set", "wages.out_of_county=-1")
    assert result.returncode == 2 and "wages.out_of_county" in result.stderr
    assert "Traceback" not in result.stderr


def test_scenarios_lists_files_and_communities():
    result = cli("scenarios")
    assert result.returncode == 0, result.stderr
    for name in (
        "baseline.toml",
        "no_support.toml",
        "combined.toml",
        "labour_export.toml",
        "kaili_qingquan",
        "fengning_rencai",
    ):
        assert name in result.stdout


def test_policy_file_applied_to_a_community():
    policy = str(ROOT / "scenarios" / "policies" / "workshops.toml")
    result = cli("run", policy, "--community", "liujiang_xingliu", "--years", "1", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["policy_cost_workshops"] > 0
    assert data["labour_force"] < 1000  # Liujiang: 874 relocated workers


def test_compare_refuses_a_set_that_makes_the_scenarios_equal():
    files = [BASELINE, str(ROOT / "scenarios" / "policies" / "public_welfare_jobs.toml")]
    erase = ["--set", "policies.public_welfare_jobs.posts_per_100_households=4"]
    result = cli("compare", *files, *erase, "--replicates", "1", "--years", "1", *SET_ARGS)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "would erase a difference" in result.stderr and "public_welfare_jobs.toml 16.0" in result.stderr


def _no_traceback_error(result: subprocess.CompletedProcess, *expected: str) -> str:
    """The command failed with one paragraph (exit 2, no traceback) containing `expected`."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    message = " ".join(result.stderr.split())  # rich wraps long lines
    for text in expected:
        assert text in message, (text, message)
    return message


def test_a_scenario_saved_in_gbk_says_it_is_not_utf8_and_how_to_save_it(tmp_path):
    path = tmp_path / "gbk.toml"
    text = '# 基线情景：典型集中安置社区\nextends = "baseline.toml"\nname = "基线（GBK）"\n'
    path.write_bytes(text.encode("gbk"))
    (tmp_path / "baseline.toml").write_text(Path(BASELINE).read_text(encoding="utf-8"), encoding="utf-8")
    message = _no_traceback_error(cli("run", str(path), "--years", "1"), str(path), "not UTF-8", "GBK")
    assert "Save it as UTF-8" in message and "iconv -f GB18030 -t UTF-8" in message


def test_a_binary_file_passed_as_a_scenario_is_not_a_toml_scenario(tmp_path):
    path = tmp_path / "fit.toml"
    path.write_bytes((ROOT / "docs" / "figures" / "fit.png").read_bytes())
    _no_traceback_error(cli("run", str(path), "--years", "1"), str(path), "binary file, not a TOML scenario")


def test_a_bad_set_is_reported_even_when_a_flag_sets_the_same_key():
    result = cli("run", BASELINE, "--set", "simulation.years=abc", "--years", "1")
    _no_traceback_error(result, "simulation.years")
    help_text = " ".join(cli("run", "--help").stdout.split())
    assert "--set" in help_text and "flag wins" in help_text


def test_run_and_compare_work_on_the_whole_chain_from_the_decision_to_move(tmp_path):
    """`run` and `compare` on the relocation terms' files (MODEL.md 7.12): the decision's
    indicators come out, and keeping the homestead raises follow-through in the comparison."""
    terms = ROOT / "scenarios" / "relocation"
    result = cli("run", str(terms / "terms_2016.toml"), "--years", "1", "--json", *SET_ARGS)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["decision_moved"] + data["decision_stayed_at_origin"] == data["decision_candidates"] > 0
    assert 0 < data["decision_follow_through"] < 1 and data["policy_cost_relocation_terms"] > 0
    result = cli(
        "compare", str(terms / "terms_2016.toml"), str(terms / "no_handover.toml"), "--replicates", "2",
        "--years", "1", "--workers", "1", *SET_ARGS, "--out", str(tmp_path), "--json",
        "--margin", "decision_follow_through=0.05",  # a margin for an indicator the stage adds
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    compared = json.loads(result.stdout)["no_handover"]  # the key indicators and, with the stage on, the decision's
    assert {"poverty_rate", "decision_moved", "decision_follow_through", "decision_small_share_movers"} <= set(compared)
    runs = pd.read_csv(tmp_path / "runs.csv")
    last = runs[runs["month"] == runs["month"].max()].groupby("scenario")["decision_follow_through"].mean()
    assert last["no_handover"] > last["terms_2016"]


def test_bayesian_calibrate_then_validate_with_a_planted_holdout_miss(tmp_path):
    """The whole chain from the command line, tiny: a one-generation posterior, then the
    posterior predictive check; a holdout target planted far outside fails, the rest of the
    output is there."""
    out, db = tmp_path / "cal", tmp_path / "fit" / "abc.db"
    done = cli(
        "calibrate", "--population", "10", "--generations", "1", "--people", "200", "--workers", "1",
        "--db", str(db), "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "allow no shared out_of_county_industry_share" in " ".join(done.stderr.split())  # said before the fit
    assert (out / "posterior.csv").exists() and (db.parent / "identifiability.csv").exists()
    assert "Posterior (weighted)" in done.stdout
    presets = sorted(p.name for p in (out / "central").glob("*.toml"))
    assert len(presets) == 6 and "kaili_qingquan.toml" in presets  # the central particle, one file per community
    (out / "central" / "kaili_qingquan.toml").unlink()
    rewritten = cli("calibrate", "--presets", "--out", str(out))
    assert rewritten.returncode == 0 and (out / "central" / "kaili_qingquan.toml").exists(), rewritten.stderr
    nothing = cli("calibrate", "--presets", "--out", str(tmp_path / "empty"))
    assert nothing.returncode != 0 and "posterior.csv: not found" in nothing.stderr
    again = cli("calibrate", "--resume", "--generations", "1", "--people", "200", "--db", str(db), "--out", str(out))
    assert again.returncode == 0, again.stderr  # nothing left to run: the stored fit is written again
    wrong = cli("calibrate", "--resume", "--people", "300", "--db", str(db), "--out", str(out))
    assert wrong.returncode != 0 and "differs from this one in ['people']" in wrong.stderr
    stored = db.read_bytes()
    kernel = cli("calibrate", "--overwrite", "--kernel", "wide", "--people", "200", "--db", str(db), "--out", str(out))
    assert kernel.returncode != 0 and "kernel 'wide': expected one of reflected, normal" in kernel.stderr
    assert db.read_bytes() == stored  # refused before the stored fit was touched
    holdout = (ROOT / "data" / "holdout.toml").read_text(encoding="utf-8").replace("target = 36.6", "target = 99.0")
    (tmp_path / "holdout.toml").write_text(holdout, encoding="utf-8")
    checked = cli(
        "validate", "--calibrated", str(out), "--draws", "2", "--holdout", str(tmp_path / "holdout.toml"),
        "--out", str(tmp_path / "v"), "--json",
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    verdicts = {v["observation"]: v["passed"] for v in report["verdicts"]}
    assert verdicts["out_of_county_workers_mean_age"] is False
    assert report["holdout_passed"] is False
    assert len(report["fitted"]) == 7 * 6  # six communities and the pooled row, six figures each
    assert "at most 0.43 in huanjiang_chengxi" in report["sector_mix_conflict"]
    assert (tmp_path / "v" / "holdout.csv").exists()


def test_a_killed_bayesian_fit_resumes_from_its_last_generation(tmp_path):
    import os
    import signal
    import sqlite3
    import time

    out, db = tmp_path / "cal", tmp_path / "abc.db"
    args = ["--population", "10", "--people", "200", "--workers", "1", "--db", str(db), "--out", str(out)]
    command = [sys.executable, str(ROOT / "run.py"), "calibrate", "--generations", "4", *args]
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=ROOT
    )

    def finished_generations() -> int:
        if not db.exists():
            return 0
        try:
            with sqlite3.connect(db) as con:
                return int(con.execute("select count(*) from populations where t >= 0").fetchone()[0])
        except sqlite3.Error:  # tables not made yet, or locked by the writer
            return 0

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and finished_generations() < 1:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # no clean-up at all
    proc.wait()
    kept = finished_generations()
    assert 1 <= kept < 4
    with sqlite3.connect(db) as con:
        first = con.execute("select nr_samples from populations where t = 0").fetchone()[0]
    resumed = cli("calibrate", "--resume", "--generations", str(kept + 1), *args)
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(db) as con:
        rows = con.execute("select t, nr_samples from populations where t >= 0 order by t").fetchall()
    assert [t for t, _ in rows] == list(range(kept + 1))
    assert rows[0][1] == first  # the finished generations are kept, not redone
    assert len(pd.read_csv(out / "posterior.csv")) == 10
