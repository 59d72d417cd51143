"""Throughput of a sweep on local processes and a local Dask cluster against serial.

    python benchmarks/bench_sweep.py [--runs 16] [--years 5] [--workers 2] [--only serial|local|dask-local]

Each run is the baseline community for `--years` years (about 0.6 s at 5 years on this
machine), so the figure answers: do runs of >= 0.5 s reach >= 1.7x the serial throughput
on 2 cores (issue 6)? Prints, per executor, the wall time, the time to the first result
(worker start-up: spawning interpreters and importing the model), and the steady-state
throughput over the last three quarters of the runs, with its ratio to serial.
Recorded figures: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from analysis.sweep import load_sweep, read_results, run_sweep


def sweep_file(directory: Path, runs: int, years: int) -> Path:
    path = directory / "bench.toml"
    base = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
    path.write_text(
        f'base = "{base}"\nset = ["simulation.years={years}", "ties.metrics_at_end=false"]\nmethod = "latin"\n'
        f'samples = {runs}\nseed = 5\n[parameters."wages.out_of_county"]\nrange = [3500, 6000]\n',
        encoding="utf-8",
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--only", choices=["serial", "local", "dask-local"], help="time one executor (for whole-process timing)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sweep = load_sweep(sweep_file(Path(tmp), args.runs, args.years))
        rates = {}
        executors = (
            ("serial", "local", 1),
            (f"local processes x{args.workers}", "local", args.workers),
            (f"Dask LocalCluster x{args.workers}", "dask-local", args.workers),
        )
        if args.only:
            executors = tuple(
                e
                for e in executors
                if (e[0] == "serial") == (args.only == "serial") and (args.only == "serial" or e[1] == args.only)
            )
        for label, executor, workers in executors:
            out = Path(tmp) / label.replace(" ", "_")
            stamps: list[float] = []
            start = time.perf_counter()
            run_sweep(
                sweep,
                out,
                workers=workers,
                executor=executor,
                on_progress=lambda d, t, s=stamps: s.append(time.perf_counter()),
            )
            elapsed = time.perf_counter() - start
            per_run = read_results(out)["seconds"].median()
            done = stamps[1:]  # the first call reports 0 done, before any run
            steady = len(done) // 4  # throughput once workers are up: the last three quarters of the runs
            # slope of runs done against time (a fit is robust to runs finishing in pairs)
            rate = float(np.polyfit(done[steady:], np.arange(steady, len(done)), 1)[0])
            rates[label] = rate
            print(
                f"{label:28s} wall {elapsed:6.2f} s, first result after {done[0] - start:5.2f} s, "
                f"steady {rate:5.2f} runs/s (median run {per_run:.2f} s)"
            )
        serial = rates.get("serial")
        for label, rate in rates.items():
            if serial and label != "serial":
                print(f"{label:28s} {rate / serial:5.2f}x serial throughput (steady state)")


if __name__ == "__main__":
    main()
