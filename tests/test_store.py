"""A sweep's results folder: one writer at a time, one design, each run read once, and
clean errors for an --out that cannot hold results (nothing stored is lost)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from analysis.folder_lock import LOCK_FILE, FolderLock, FolderLocked
from analysis.sensitivity import analyse, point_outputs
from analysis.sweep import (
    DesignMismatch,
    StoreError,
    load_sweep,
    read_results,
    run_sweep,
    stored_run_ids,
    write_part,
)

ROOT = Path(__file__).resolve().parents[1]
RUN = str(ROOT / "run.py")
TINY = (
    "community.relocated_population=600",
    "community.relocated_labour_force=320",
    "community.source_villages=30",
    "simulation.years=1",
)
GRID = """
method = "grid"
replicates = 2
indicators = ["share_out_of_county", "income_per_capita_mean"]
[parameters."wages.out_of_county"]
levels = [3500, 4500, 5500]
"""


def sweep_file(tmp_path: Path, body: str = GRID, name: str = "s.toml") -> Path:
    sets = ", ".join(f'"{s}"' for s in TINY)
    path = tmp_path / name
    path.write_text(f'base = "{ROOT / "scenarios" / "baseline.toml"}"\nset = [{sets}]\n{body}', encoding="utf-8")
    return path


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, RUN, *args], capture_output=True, text=True, cwd=cwd)


def one_paragraph_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return " ".join(result.stderr.split())


def dead_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_lock_body(folder: Path, pid: int, host: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    body = {"pid": pid, "host": host, "started": "2026-01-01T00:00:00+00:00", "command": "run.py sweep s.toml"}
    (folder / LOCK_FILE).write_text(json.dumps(body), encoding="utf-8")


# ---------------------------------------------------------------------------- one writer
def test_a_second_writer_is_refused_naming_the_folder_and_the_holder(tmp_path):
    """The same sweep started twice into one folder (two terminals): the second is refused
    while the first runs, and every run is stored once."""
    # 1,200 runs: a minute or more in one process, so that the first writer is still running
    # when it is stopped, even on a loaded machine (it is stopped long before it ends)
    many = GRID.replace("replicates = 2", "replicates = 400")
    path = sweep_file(tmp_path, many)
    out = tmp_path / "out"
    args = ["sweep", str(path), "--out", str(out), "--workers", "1", "--batch-size", "5"]
    first = subprocess.Popen([sys.executable, RUN, *args], stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while '"pid"' not in ((out / LOCK_FILE).read_text() if (out / LOCK_FILE).exists() else ""):
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read() if first.stderr else ""
            time.sleep(0.02)
        second = cli(*args)
        assert first.poll() is None, "the first writer finished before the second tried: make the sweep longer"
        message = one_paragraph_error(second)
        assert f"{out} is being written by another process: pid {first.pid} on host {socket.gethostname()} since " in (
            message
        )
        assert "run.py sweep" in message and "One writer per results folder" in message
        os.kill(first.pid, signal.SIGTERM)  # no need to wait for all 120 runs
        assert first.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    stored = read_results(out)
    assert len(stored) == len(set(stored["run_id"])) == len(stored_run_ids(out))
    assert (out / LOCK_FILE).read_text() == ""  # released


def test_a_lock_left_by_a_dead_writer_on_this_host_is_taken_over(tmp_path):
    path = sweep_file(tmp_path)
    out = tmp_path / "out"
    gone = dead_pid()
    write_lock_body(out, gone, socket.gethostname())
    counts = run_sweep(load_sweep(path), out, workers=1)
    assert counts["run_now"] == 6
    session = json.loads((out / "manifest.json").read_text())["sessions"][-1]
    assert session["took_over_lock_of"].startswith(f"pid {gone} on host {socket.gethostname()}")
    assert (out / LOCK_FILE).read_text() == ""


def test_a_lock_from_another_host_is_refused_with_what_to_do(tmp_path):
    out = tmp_path / "out"
    write_lock_body(out, 4242, "compute-node-7")
    with pytest.raises(FolderLocked) as err, FolderLock(out):
        pass
    message = str(err.value)
    assert "pid 4242 on host compute-node-7 since 2026-01-01T00:00:00+00:00 (run.py sweep s.toml)" in message
    assert f"delete {out / LOCK_FILE}" in message and "another host" in message
    assert json.loads((out / LOCK_FILE).read_text())["host"] == "compute-node-7"  # left as it was


def test_a_lock_is_held_across_processes_and_released_when_its_holder_dies(tmp_path):
    """The kernel's lock, not the file's body, decides on this host: a live holder refuses
    others; when it is killed (no clean-up at all), the next writer takes over."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom analysis.folder_lock import FolderLock\n"
            "with FolderLock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)",
            str(tmp_path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderLocked, match=f"pid {holder.pid} on host"), FolderLock(tmp_path):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        with FolderLock(tmp_path) as lock:
            assert lock.took_over is not None and lock.took_over.pid == holder.pid
            assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_without_kernel_locks_a_live_holder_refuses_and_a_dead_one_is_taken_over(tmp_path, monkeypatch):
    import errno

    import analysis.folder_lock as folder_lock

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(folder_lock.fcntl, "flock", no_locks)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        body = {"pid": sleeper.pid, "host": socket.gethostname(), "started": pd.Timestamp.now("UTC").isoformat()}
        (tmp_path / LOCK_FILE).write_text(json.dumps(body))
        with pytest.raises(FolderLocked, match=f"pid {sleeper.pid}"), FolderLock(tmp_path):
            pass
    finally:
        sleeper.kill()
        sleeper.wait()
    with FolderLock(tmp_path) as lock:
        assert lock.took_over is not None and lock.took_over.pid == sleeper.pid


def test_a_run_stored_twice_is_read_once(tmp_path):
    """Readers de-duplicate defensively (two writers before folders were locked)."""
    sweep = load_sweep(sweep_file(tmp_path, GRID.replace('method = "grid"', 'method = "grid"\nrecord = "monthly"')))
    out = tmp_path / "out"
    run_sweep(sweep, out, workers=1)
    once = read_results(out)
    assert len(once) == 6 * 12
    write_part(once[once["replicate"] == 0].to_dict("records"), out)  # half the runs again, as a second writer did
    twice = read_results(out)
    assert len(twice) == len(once) and not twice.duplicated(["run_id", "month"]).any()
    pd.testing.assert_frame_equal(twice, once)


# ---------------------------------------------------------------------------- one design
def test_a_sweep_of_another_design_is_refused_with_the_differences_named(tmp_path):
    out = tmp_path / "out"
    run_sweep(load_sweep(sweep_file(tmp_path)), out, workers=1)
    before = sorted(p.name for p in (out / "runs").iterdir())
    one_replicate = sweep_file(tmp_path, GRID.replace("replicates = 2", "replicates = 1"), "r1.toml")
    with pytest.raises(DesignMismatch) as err:
        run_sweep(load_sweep(one_replicate), out, workers=1)
    assert "replicates 2 in the folder vs 1 here" in str(err.value) and "--add-to-existing" in str(err.value)
    new_level = sweep_file(tmp_path, GRID.replace("5500]", "6000]"), "l.toml")
    with pytest.raises(
        DesignMismatch,
        match=r"parameter wages.out_of_county levels \[3500, 4500, 5500\] in the folder "
        r"vs \[3500, 4500, 6000\] here",
    ):
        run_sweep(load_sweep(new_level), out, workers=1)
    more = sweep_file(
        tmp_path, GRID.replace('"income_per_capita_mean"]', '"income_per_capita_mean", "poverty_rate"]'), "i.toml"
    )
    with pytest.raises(DesignMismatch, match="indicators"):
        run_sweep(load_sweep(more), out, workers=1)
    assert sorted(p.name for p in (out / "runs").iterdir()) == before  # nothing written, nothing lost
    result = cli("sweep", str(new_level), "--out", str(out))
    message = one_paragraph_error(result)
    assert f"{out} holds the runs of another design" in message and "6000" in message


def test_adding_a_design_explicitly_counts_and_reads_only_its_own_runs(tmp_path):
    out = tmp_path / "out"
    first = load_sweep(sweep_file(tmp_path))
    run_sweep(first, out, workers=1)
    one_replicate = load_sweep(sweep_file(tmp_path, GRID.replace("replicates = 2", "replicates = 1"), "r1.toml"))
    counts = run_sweep(one_replicate, out, workers=1, add_to_existing=True)
    assert counts == {"total": 3, "stored_before": 3, "run_now": 0, "failed_now": 0}  # not "6 already stored"
    new_level = load_sweep(sweep_file(tmp_path, GRID.replace("5500]", "6000]"), "l.toml"))
    counts = run_sweep(new_level, out, workers=1, add_to_existing=True)
    assert counts == {"total": 6, "stored_before": 4, "run_now": 2, "failed_now": 0}
    assert len(json.loads((out / "manifest.json").read_text())["designs"]) == 3
    assert len(read_results(out)) == 8
    for sweep in (first, one_replicate, new_level):
        assert set(read_results(out, sweep=sweep)["run_id"]) == sweep.run_ids
    run_sweep(first, out, workers=1)  # a design already in the folder runs again without the flag


def test_a_folder_written_before_designs_were_recorded_is_checked_by_its_sweep_file(tmp_path):
    out = tmp_path / "out"
    path = sweep_file(tmp_path)
    run_sweep(load_sweep(path), out, workers=1)
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["designs"]  # as the manifest of an older version
    (out / "manifest.json").write_text(json.dumps(manifest))
    one_replicate = sweep_file(tmp_path, GRID.replace("replicates = 2", "replicates = 1"), "r1.toml")
    with pytest.raises(DesignMismatch, match="replicates 2 in the folder vs 1 here"):
        run_sweep(load_sweep(one_replicate), out, workers=1)
    assert run_sweep(load_sweep(path), out, workers=1)["stored_before"] == 6
    assert len(json.loads((out / "manifest.json").read_text())["designs"]) == 1


def test_sensitivity_reads_exactly_its_designs_runs(tmp_path):
    body = """
method = "sobol"
samples = 4
seed = 2
indicators = ["share_out_of_county"]
[parameters."wages.out_of_county"]
range = [3500, 6000]
[parameters."choice.social"]
range = [0.0, 4.0]
"""
    sobol = load_sweep(sweep_file(tmp_path, body, "sobol.toml"))
    clean = tmp_path / "clean"
    run_sweep(sobol, clean, workers=1)
    expected = analyse(sobol, read_results(clean, sweep=sobol))
    mixed = tmp_path / "mixed"
    run_sweep(load_sweep(sweep_file(tmp_path, body.replace("seed = 2", "seed = 5"), "other.toml")), mixed, workers=1)
    run_sweep(sobol, mixed, workers=1, add_to_existing=True)
    stored = read_results(mixed)
    assert len(set(stored["run_id"])) > len(sobol.run_ids)  # the folder holds another design too
    write_part(stored.head(5).to_dict("records"), mixed)  # and some runs twice
    foreign = stored[~stored["run_id"].isin(sobol.run_ids)].head(1)
    write_part([{**foreign.iloc[0].to_dict(), "run_id": "0" * 16, "status": "failed", "error": "not ours"}], mixed)
    pd.testing.assert_frame_equal(analyse(sobol, read_results(mixed, sweep=sobol)), expected)
    pd.testing.assert_frame_equal(analyse(sobol, read_results(mixed)), expected)  # whatever it is handed
    y = point_outputs(sobol, read_results(mixed), "share_out_of_county")
    assert len(y) == len(sobol.design) and pd.notna(y).all()


# ---------------------------------------------------------------------------- --out errors
def test_an_out_that_is_a_file_is_a_clean_error(tmp_path):
    path = sweep_file(tmp_path)
    afile = tmp_path / "results.txt"
    afile.write_text("keep me")
    message = one_paragraph_error(cli("sweep", str(path), "--out", str(afile)))
    assert f"{afile} is a file, not a folder" in message
    with pytest.raises(StoreError, match="cannot create the results folder \\(Not a directory\\)"):
        run_sweep(load_sweep(path), afile / "sub")
    assert afile.read_text() == "keep me"


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in: read-only permissions, or, for root
    (whom permissions do not stop), a sysfs folder."""
    if os.geteuid() != 0:
        folder = tmp_path / "readonly"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    folder = Path("/sys/kernel")
    try:
        (folder / LOCK_FILE).open("w").close()
    except OSError:
        return folder
    pytest.skip("no folder here that root cannot write")


def test_an_unwritable_out_is_a_clean_error(tmp_path):
    folder = unwritable_folder(tmp_path)
    message = one_paragraph_error(cli("sweep", str(sweep_file(tmp_path)), "--out", str(folder)))
    assert f"{folder}: cannot write there (" in message
    assert not (folder / LOCK_FILE).exists()


FULL_DISK = """
import errno, sys
import pandas as pd
real, written = pd.DataFrame.to_parquet, []
def to_parquet(self, path, *args, **kwargs):  # the disk fills up half-way through part {parts} + 1
    if len(written) >= {parts}:
        with open(path, "wb") as f:
            f.write(b"PAR1 and no room for the rest")
        raise OSError(errno.ENOSPC, "No space left on device")
    written.append(1)
    return real(self, path, *args, **kwargs)
pd.DataFrame.to_parquet = to_parquet
sys.argv = ["run.py", *sys.argv[1:]]
import runpy
runpy.run_path({run!r}, run_name="__main__")
"""


def test_a_full_disk_is_a_clean_error_and_loses_nothing_stored(tmp_path):
    path = sweep_file(tmp_path, GRID.replace("replicates = 2", "replicates = 4"))
    out = tmp_path / "out"
    args = ["sweep", str(path), "--out", str(out), "--workers", "1", "--batch-size", "2"]
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FULL_DISK.format(parts=2, run=RUN)), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    message = one_paragraph_error(result)
    assert f"{out}: cannot store results (No space left on device). The 4 run(s) stored before are kept" in message
    assert "run the same command to resume" in message
    assert len(read_results(out)) == 4 and not list((out / "runs").glob(".*"))  # two whole parts, no debris
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sessions"][-1]["interrupted"] is True
    counts = run_sweep(load_sweep(path), out, workers=1)  # space again: resume
    assert counts["stored_before"] == 4 and counts["run_now"] == 8
    final = read_results(out)
    assert set(final["run_id"]) == load_sweep(path).run_ids and final["run_id"].is_unique
