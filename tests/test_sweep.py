"""Sweeps: validation before any run, resumable atomic store, executors, sensitivity."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.executors import iterate_results
from analysis.sensitivity import SensitivityError, analyse
from analysis.sweep import SweepError, load_sweep, read_results, run_sweep

from .conftest import SMALL_SET

ROOT = Path(__file__).resolve().parents[1]
SETS = ", ".join(f'"{s}"' for s in (*SMALL_SET, "simulation.years=1"))


def sweep_file(tmp_path: Path, body: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'base = "{ROOT / "scenarios" / "baseline.toml"}"\nset = [{SETS}]\n{body}', encoding="utf-8")
    return path


GRID = """
method = "grid"
replicates = 2
indicators = ["share_out_of_county", "income_per_capita_mean"]
[parameters."wages.out_of_county"]
levels = [3500, 4500, 5500]
[parameters."ties.allocation"]
levels = ["village_clustered", "mixed"]
"""


def test_grid_expands_points_times_replicates_with_common_seeds(tmp_path):
    sweep = load_sweep(sweep_file(tmp_path, GRID))
    assert len(sweep.tasks) == 3 * 2 * 2
    assert {t.seed for t in sweep.tasks} == {1, 2}
    assert len({t.run_id for t in sweep.tasks}) == 12
    point = sweep.tasks[0]
    assert point.scenario.wages.out_of_county == 3500 and point.scenario.ties.allocation == "village_clustered"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '[parameters."wages.out_of_contry"]\nlevels = [1, 2]\n',
            "parameter `wages.out_of_contry` = 1: unknown key `wages.out_of_contry`. Did you mean `wages.out_of_county`?",
        ),
        ('method = "latin"\n[parameters."wages.out_of_county"]\nrange = [5000, 4000]\n', "`range` is empty"),
        (
            '[parameters."wages.out_of_county"]\nlevels = ["high", "low"]\n',
            "parameter `wages.out_of_county` = 'high': key `wages.out_of_county`: Input should be a valid number",
        ),
        ('[parameters."wages.out_of_county"]\nlevels = []\n', "`levels` is empty"),
        (
            '[parameters."community.local_resident_share"]\nlevels = [0.1, 1.5]\n',
            "= 1.5: key `community.local_resident_share`",
        ),
        (
            'method = "sobol"\n[parameters."wages.out_of_county"]\nlevels = [1, 2]\n',
            "needs `range` for every parameter",
        ),
        ('indicators = ["share_outside"]\n[parameters."wages.out_of_county"]\nlevels = [4000]\n', "unknown indicator"),
        ("parameters = {}\n", "`parameters` is empty"),
    ],
)
def test_malformed_sweep_fails_before_any_run(tmp_path, body, expected):
    path = sweep_file(tmp_path, body)
    with pytest.raises(SweepError) as err:
        load_sweep(path)
    assert expected in str(err.value) and str(path) in str(err.value)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "sweep", str(path), "--out", str(out)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_store_is_resumable_and_records_failures(tmp_path, monkeypatch):
    sweep = load_sweep(sweep_file(tmp_path, GRID))
    out = tmp_path / "out"
    import analysis.sweep as sweep_module

    real = sweep_module.simulate

    def flaky(scenario, seed):
        if scenario.wages.out_of_county == 4500 and seed == 2:
            raise RuntimeError("synthetic failure")
        return real(scenario, seed)

    monkeypatch.setattr(sweep_module, "simulate", flaky)
    counts = run_sweep(sweep, out, workers=1, batch_size=5)
    assert counts == {"total": 12, "stored_before": 0, "run_now": 12, "failed_now": 2}
    results = read_results(out)
    assert len(results) == 12 and results["run_id"].is_unique
    failed = results[results["status"] == "failed"]
    assert len(failed) == 2 and (failed["error"] == "RuntimeError: synthetic failure").all()
    assert len(list((out / "runs").glob("part-*.parquet"))) == 3  # batches of 5, 5, 2
    again = run_sweep(sweep, out, workers=1)
    assert again["run_now"] == 0 and len(read_results(out)) == 12
    manifest = (out / "manifest.json").read_text()
    for key in ('"sweep_file"', '"package_version"', '"git_commit"', '"started"', '"finished"', '"sessions"'):
        assert key in manifest


def test_killed_sweep_resumes_without_duplicates(tmp_path):
    path = sweep_file(tmp_path, GRID.replace("replicates = 2", "replicates = 4"))
    out = tmp_path / "out"
    command = [
        sys.executable,
        str(ROOT / "run.py"),
        "sweep",
        str(path),
        "--out",
        str(out),
        "--workers",
        "1",
        "--batch-size",
        "2",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "runs").glob("part-*.parquet"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = read_results(out)
    assert 0 < len(partial) < 24, len(partial)
    assert f'"pid": {proc.pid}' in (out / ".lock").read_text()  # a stale lock: its writer was killed
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "manifest.json").read_text())["sessions"][-1]["took_over_lock_of"].startswith(
        f"pid {proc.pid} on host"
    )
    final = read_results(out)
    assert len(final) == 24 and final["run_id"].is_unique
    assert set(final["run_id"]) == {t.run_id for t in load_sweep(path).tasks}
    assert f"{len(partial)} already stored" in " ".join(result.stderr.split())


def test_dask_local_cluster_and_local_processes_agree(tmp_path):
    sweep = load_sweep(sweep_file(tmp_path, GRID.replace("replicates = 2", "replicates = 1")))
    run_sweep(sweep, tmp_path / "local", workers=2, executor="local")
    run_sweep(sweep, tmp_path / "dask", workers=2, executor="dask-local")
    a = read_results(tmp_path / "local").drop(columns="seconds").sort_values("run_id").reset_index(drop=True)
    b = read_results(tmp_path / "dask").drop(columns="seconds").sort_values("run_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def die_once(marker: str) -> int:
    """Kill the process running this the first time (leaving a marker), then succeed."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os._exit(1)
    return os.getpid()


@pytest.mark.parametrize("executor", ["local", "dask-local"])
def test_a_run_whose_worker_dies_is_retried(tmp_path, executor):
    tasks = [str(tmp_path / "marker")] * 3
    results = dict(iterate_results(die_once, tasks, workers=2, executor=executor))
    assert sorted(results) == [0, 1, 2] and all(isinstance(pid, int) for pid in results.values())
    assert (tmp_path / "marker").read_text() == "died"


def test_sobol_gives_a_parameter_that_does_nothing_a_total_index_near_zero(tmp_path):
    body = """
method = "sobol"
samples = 16
seed = 2
indicators = ["share_out_of_county", "income_per_capita_mean"]
[parameters."wages.out_of_county"]
range = [3500, 6000]
[parameters."policies.workshops.wage_yuan_month"]   # workshops are off: this does nothing
range = [1000, 3000]
"""
    sweep = load_sweep(sweep_file(tmp_path, body))
    assert len(sweep.tasks) == 16 * (2 + 2)
    run_sweep(sweep, tmp_path / "out", workers=2)
    table = analyse(sweep, read_results(tmp_path / "out")).set_index(["indicator", "parameter"])
    for indicator in ("share_out_of_county", "income_per_capita_mean"):
        assert abs(table.loc[(indicator, "policies.workshops.wage_yuan_month"), "ST"]) < 0.02
        assert table.loc[(indicator, "wages.out_of_county"), "ST"] > 0.5
        assert table.loc[(indicator, "wages.out_of_county"), "ST_conf"] > 0


def test_morris_and_monthly_records(tmp_path):
    body = """
method = "morris"
samples = 4
record = "monthly"
indicators = ["share_out_of_county"]
[parameters."wages.out_of_county"]
range = [3500, 6000]
[parameters."choice.social"]
range = [0.0, 4.0]
"""
    sweep = load_sweep(sweep_file(tmp_path, body))
    assert len(sweep.tasks) == 4 * 3
    run_sweep(sweep, tmp_path / "out", workers=2)
    results = read_results(tmp_path / "out")
    # trajectories can visit the same point: such a run is done and stored once
    assert len(sweep.run_ids) < len(sweep.tasks)
    assert len(results) == len(sweep.run_ids) * 12 and set(results["month"]) == set(range(1, 13))
    assert not results.duplicated(["run_id", "month"]).any()
    table = analyse(sweep, results)
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(table.columns)
    assert (table["mu_star"] >= 0).all() and np.isfinite(table["mu_star"]).all()
    with pytest.raises(SensitivityError, match="needs method 'sobol' or 'morris'"):
        analyse(load_sweep(sweep_file(tmp_path, GRID, "g.toml")), results)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_separate_scheduler_and_worker_give_the_same_numbers(tmp_path):
    """The --scheduler path: a Dask scheduler and worker started as their own processes."""
    bin_dir = Path(sys.executable).parent
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON='{"OMP_NUM_THREADS": 1}')
    scheduler = subprocess.Popen(
        [str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [str(bin_dir / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "2", "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
        cwd=ROOT,
    )
    try:
        path = sweep_file(tmp_path, GRID.replace("replicates = 2", "replicates = 1"))
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "run.py"),
                "sweep",
                str(path),
                "--out",
                str(tmp_path / "remote"),
                "--scheduler",
                address,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        run_sweep(load_sweep(path), tmp_path / "local", workers=1)
        a = read_results(tmp_path / "local").drop(columns="seconds").sort_values("run_id").reset_index(drop=True)
        b = read_results(tmp_path / "remote").drop(columns="seconds").sort_values("run_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
        assert '"executor": "dask"' in (tmp_path / "remote" / "manifest.json").read_text()
    finally:
        for proc in (worker, scheduler):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).resolve().parents[1] / "sweeps").glob("*.toml")), ids=lambda p: p.name
)
def test_every_shipped_sweep_file_loads_and_its_points_are_valid_scenarios(path):
    """A sweep file names parameters by dotted key; a key the schema no longer has (a policy
    amount renamed to a density) must fail here, not in a user's first run."""
    spec = load_sweep(path)
    assert len(spec.run_ids) > 0


def test_a_sweep_with_the_posterior_shares_each_replicates_draw_across_points(tmp_path, monkeypatch):
    import analysis.bayes as bayes

    sample = pd.DataFrame({"weight": [0.5, 0.5], "out_of_county_constant": [-1.0, 2.0], "farming_constant": [0.5, 4.0]})
    paths = {
        "out_of_county_constant": "choice.constant.out_of_county",
        "farming_constant": "choice.constant.farming_origin",
    }
    post = bayes.Posterior(sample, paths, dict.fromkeys(paths, "shared"), (), tmp_path / "posterior.csv")
    monkeypatch.setattr(bayes, "read_posterior", lambda: post)
    body = GRID.replace('method = "grid"', 'method = "grid"\nposterior = true').replace(
        "replicates = 2", "replicates = 6"
    )
    body = body.replace('[parameters."ties.allocation"]', '[parameters."choice.constant.farming_origin"]')
    body = body.replace('levels = ["village_clustered", "mixed"]', "levels = [1.0, 2.0]")
    sweep = load_sweep(sweep_file(tmp_path, body))
    by_replicate: dict[int, set[float]] = {}
    for task in sweep.tasks:
        assert task.particle in (0, 1)
        constant = task.scenario.choice.constant.out_of_county
        assert constant == sample.at[task.particle, "out_of_county_constant"]
        by_replicate.setdefault(task.replicate, set()).add(constant)
        assert (
            task.scenario.choice.constant.farming_origin == task.params["choice.constant.farming_origin"]
        )  # swept wins
    assert all(len(v) == 1 for v in by_replicate.values())  # one draw per replicate, shared by every point
    assert len({t.particle for t in sweep.tasks}) == 2
    monkeypatch.setattr(
        bayes, "read_posterior", lambda: (_ for _ in ()).throw(bayes.PriorError("posterior.csv: not found"))
    )
    with pytest.raises(SweepError, match=r"key `posterior`: posterior\.csv: not found"):
        load_sweep(sweep_file(tmp_path, body))
