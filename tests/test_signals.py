"""Stop signals to a command's main process: the whole process tree is gone within seconds,
the command says in one line what it kept, and an interrupted sweep resumes to exactly
its run ids.

Each test starts a command in its own session with a tag in its environment (inherited by
every process it starts, Dask workers included), waits until the command's signal
handlers are in place and its workers are busy, sends one signal to the main process
alone, and then looks for any process still carrying the tag.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from analysis.sweep import load_sweep, read_results, run_sweep

ROOT = Path(__file__).resolve().parents[1]
RUN = str(ROOT / "run.py")
TAG = "RELOCATION_TEST_TREE"
TINY = (
    "community.relocated_population=600",
    "community.relocated_labour_force=320",
    "community.source_villages=30",
)
TINY_ARGS = [arg for item in TINY for arg in ("--set", item)]
GONE_WITHIN = 15.0  # seconds from the signal until no process of the tree is left

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc to see signal handlers")


def tagged(tag: str) -> list[psutil.Process]:
    """Live processes whose environment carries `tag`."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(TAG) == tag and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            continue
    return found


def catches(pid: int, signum: int) -> bool:
    """Whether process `pid` has a handler for `signum` (the command's handlers are in place)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


def workers_of(pid: int) -> list[psutil.Process]:
    """The main process's worker processes (local or Dask), not multiprocessing's resource tracker."""
    workers = []
    try:
        for child in psutil.Process(pid).children(recursive=True):
            if child.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(child.cmdline()):
                workers.append(child)
    except psutil.Error:
        pass
    return workers


def default_stop_signals() -> None:
    """In the child, before exec: the stop signals as a terminal would give them, whatever
    this test process inherited (a background job in a script ignores SIGINT, and the command
    respects signals it was started with ignored)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def stop(
    args: list[str], signum: int, ready: Callable[[int], bool], cwd: Path, again_after: float | None = None
) -> tuple[int, str]:
    """Run `run.py ARGS`, send `signum` to its main process once `ready(pid)` (and once more
    `again_after` seconds later), and check that the whole tree is gone within GONE_WITHIN
    seconds. Returns the exit code and stderr."""
    tag = uuid.uuid4().hex
    proc = subprocess.Popen(
        [sys.executable, RUN, *args],
        env=dict(os.environ, **{TAG: tag}),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_stop_signals,
    )
    try:
        deadline = time.monotonic() + 120
        while not (catches(proc.pid, signal.SIGTERM) and ready(proc.pid)):
            assert proc.poll() is None, f"ended before the signal: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "never became ready"
            time.sleep(0.02)
        tree = {p.pid for p in tagged(tag)}
        assert len(tree) >= 2 or args[0] == "run", tree
        os.kill(proc.pid, signum)
        sent = time.monotonic()
        if again_after is not None:
            time.sleep(again_after)
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signum)
        proc.wait(timeout=GONE_WITHIN)
        while tagged(tag) and time.monotonic() - sent < GONE_WITHIN:
            time.sleep(0.1)
        left = tagged(tag)
        assert not left, f"left running {time.monotonic() - sent:.1f} s after the signal: {[p.cmdline() for p in left]}"
        return proc.returncode, proc.stderr.read()
    finally:
        for process in [*tagged(tag), *([psutil.Process(proc.pid)] if proc.poll() is None else [])]:
            with contextlib.suppress(psutil.Error):
                process.kill()
        proc.wait()


def one_line_message(stderr: str, signum: int) -> str:
    """The command's last line: `stopped by SIGxxx: ...`; no traceback anywhere."""
    assert "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"stopped by {signal.Signals(signum).name}: "), stderr
    return last


def sweep_file(tmp_path: Path, method: str = "grid") -> Path:
    """40 (grid) or 32 (Sobol) tiny two-year runs: long enough to stop mid-way on two workers,
    quick to finish."""
    sets = ", ".join(f'"{s}"' for s in (*TINY, "simulation.years=2"))
    if method == "grid":
        body = 'method = "grid"\nreplicates = 4\n[parameters."wages.out_of_county"]\nlevels = [3500, 4000, 4500, 5000, 5500]\n'
        body += '[parameters."labour_demand.industry_posts_per_100_workers"]\nlevels = [10, 30]\n'
    else:
        body = f'method = "{method}"\nsamples = 8\n[parameters."wages.out_of_county"]\nrange = [3500, 6000]\n'
        body += '[parameters."choice.social"]\nrange = [0.0, 4.0]\n'
    path = tmp_path / "stop.toml"
    path.write_text(
        f'base = "{ROOT / "scenarios" / "baseline.toml"}"\nset = [{sets}]\n'
        f'indicators = ["share_out_of_county", "income_per_capita_mean"]\n{body}',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("command", "executor", "signum", "again_after"),
    [
        ("sweep", "local", signal.SIGTERM, None),
        # the hang: `timeout -s INT` signals the command, then its process group (the command
        # again); a second SIGINT during the clean-up left the workers waiting for work for ever
        ("sweep", "local", signal.SIGINT, 0.05),
        ("sweep", "dask-local", signal.SIGINT, None),
        ("sensitivity", "local", signal.SIGHUP, None),
    ],
    ids=["sweep-local-SIGTERM", "sweep-local-SIGINT-twice", "sweep-dask-local-SIGINT", "sensitivity-local-SIGHUP"],
)
def test_a_stopped_sweep_keeps_its_runs_and_resumes_to_exactly_its_run_ids(
    tmp_path, command, executor, signum, again_after
):
    path = sweep_file(tmp_path, "grid" if command == "sweep" else "sobol")
    sweep = load_sweep(path)
    assert len(sweep.run_ids) >= 32
    out = tmp_path / "out"
    parts = out / "runs"
    args = [command, str(path), "--out", str(out), "--workers", "2", "--executor", executor, "--batch-size", "1"]

    def some_runs_stored(pid: int) -> bool:
        return len(workers_of(pid)) >= 2 and any(parts.glob("part-*.parquet"))

    code, stderr = stop(args, signum, some_runs_stored, tmp_path, again_after)
    assert code == 128 + signum
    last = one_line_message(stderr, signum)
    kept = read_results(out)
    assert 0 < len(kept) < len(sweep.run_ids) and kept["run_id"].is_unique
    assert f"{len(kept)} of {len(sweep.run_ids)} runs are stored in {out}; run the same command to resume." in last
    assert not list(parts.glob(".*.tmp"))  # no half-written part
    counts = run_sweep(sweep, out, workers=1)  # resume
    assert counts["stored_before"] == len(kept) and counts["run_now"] == len(sweep.run_ids) - len(kept)
    final = read_results(out)
    assert set(final["run_id"]) == sweep.run_ids and final["run_id"].is_unique


def started_workers(pid: int) -> bool:
    """Two worker processes are up and have been working for a moment."""
    workers = workers_of(pid)
    return len(workers) >= 2 and all(time.time() - w.create_time() > 1.0 for w in workers)


@pytest.mark.parametrize(
    ("args", "signum", "lost"),
    [
        (
            ["run", "scenarios/baseline.toml", "--years", "3", "--out", "{tmp}/run"],
            signal.SIGINT,
            "nothing was written",
        ),
        (
            ["compare", "--replicates", "6", "--years", "1", *TINY_ARGS, "--workers", "2", "--out", "{tmp}/cmp"],
            signal.SIGTERM,
            "no report was written",
        ),
        (
            [
                "phaseout",
                "--replicates",
                "6",
                "--years",
                "2",
                "--at",
                "12",
                *TINY_ARGS,
                "--workers",
                "2",
                "--report",
                "{tmp}/po",
            ],
            signal.SIGTERM,
            "no report was written",
        ),
        (
            ["validate", "--method", "point", "--replicates", "2", "--workers", "2", "--out", "{tmp}/val"],
            signal.SIGINT,
            "nothing was written",
        ),
        (
            [
                "calibrate",
                "--method",
                "point",
                "--rounds",
                "0",
                "--seeds",
                "1",
                "--grid-evals",
                "3",
                "--workers",
                "2",
                "--out",
                "{tmp}/cal",
            ],
            signal.SIGHUP,
            "no calibrated files were written",
        ),
        (
            [
                "calibrate",
                "--population",
                "20",
                "--people",
                "200",
                "--workers",
                "2",
                "--db",
                "{tmp}/fit/abc.db",
                "--out",
                "{tmp}/cal",
            ],
            signal.SIGTERM,
            "continue with --resume",
        ),
    ],
    ids=["run", "compare", "phaseout", "validate", "calibrate-point", "calibrate-bayes"],
)
def test_a_stopped_command_ends_its_whole_tree_with_one_line(tmp_path, args, signum, lost):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    ready = (lambda pid: True) if args[0] == "run" else started_workers
    code, stderr = stop(args, signum, ready, ROOT)
    assert code == 128 + signum
    assert lost in one_line_message(stderr, signum)
    assert not Path(args[args.index("--out" if "--out" in args else "--report") + 1]).exists()


def test_an_abruptly_left_dask_cluster_does_not_restart_the_workers_it_loses():
    """A stopped Bayesian fit leaves its cluster to `end_process_tree`; a nanny that still
    thought itself running restarted each worker ended there, and a worker spawned while the
    process exited died half-started with a traceback on stderr (seen in CI)."""
    from analysis.executors import dask_client
    from analysis.stopping import end_process_tree

    stopping = [False]
    context = dask_client(2, None, stopping, abrupt=True)
    client = context.__enter__()
    assert client.submit(sum, [1, 2], pure=False).result() == 3
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    stopping[0] = True
    context.__exit__(None, None, None)
    assert end_process_tree() >= 2
    seen: set[int] = set()
    for _ in range(20):  # two seconds: a restart shows within one
        seen |= {
            p.pid for p in psutil.Process().children(recursive=True) if "resource_tracker" not in " ".join(p.cmdline())
        }
        time.sleep(0.1)
    assert not seen - before, "a nanny restarted a worker after the tree was ended"
