"""Throughput of the Bayesian calibration (issue 15) on 1 or more local Dask workers.

    python benchmarks/bench_calibration.py [--workers 2] [--population 40] [--generations 2] [--people 1600] [--dask]
    python benchmarks/bench_calibration.py --proposals   # also the reflected kernel's draw and weight

Runs a short ABC-SMC fit of the six surveyed communities (the same problem as `run.py
calibrate`, fewer particles and generations) in a temporary database and prints the
simulations done, the wall time and simulations per second. Run it with `--workers 1`
and `--workers 2` to see how the fit scales with Dask workers; the figures are in
benchmarks/RESULTS.md. One worker runs in-process (pyabc's single-core sampler, as
`run.py calibrate --workers 1` does) unless `--dask`: then a local Dask cluster of
`--workers` workers is started before the clock starts, so 1 and 2 Dask workers compare
like with like. The whole fit (`run.py calibrate`, about 60 minutes budget) is
timed by its own output.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from contextlib import ExitStack  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.bayes import fit, survey_problem  # noqa: E402
from analysis.executors import dask_client  # noqa: E402


def proposals(repeats: int = 3000) -> None:
    """Time one proposal (kernel draw and prior check) with pyabc's own kernel and priors
    against the fit's (`analysis.bayes`), the kernel fitted to 200 particles drawn from the
    prior at the fit's kernel scale, as for the first generation."""
    import time

    import numpy as np
    import pandas as pd
    import pyabc

    from analysis.bayes import KERNEL_SCALE, _fast_transition_class, transition

    problem = survey_problem()
    np.random.seed(1)
    fast_prior = problem.distribution()
    slow_prior = pyabc.Distribution(
        **{
            n: pyabc.RV("uniform", p.low, p.high - p.low)
            if p.distribution == "uniform"
            else pyabc.RV("beta", p.a, p.b, loc=p.low, scale=p.high - p.low)
            for n in problem.names
            for p in [problem.prior_of(n)]
        }
    )
    particles = pd.DataFrame([fast_prior.rvs() for _ in range(200)])
    weights = np.full(200, 1 / 200)
    for label, kernel_class, prior in (
        ("pyabc", pyabc.MultivariateNormalTransition, slow_prior),
        ("fit", _fast_transition_class(), fast_prior),
    ):
        kernel = kernel_class(scaling=KERNEL_SCALE)
        kernel.fit(particles, weights)
        inside, start = 0, time.perf_counter()
        for _ in range(repeats):
            inside += prior.pdf(kernel.rvs()) > 0
        each = (time.perf_counter() - start) / repeats
        print(f"{label}: {each * 1e3:.3f} ms a proposal, {inside / repeats:.2%} inside the prior's bounds")
    reflected = transition("reflected", problem.bounds(), KERNEL_SCALE)  # the default kernel: never outside
    reflected.fit(particles, weights)
    start = time.perf_counter()
    drawn = [reflected.rvs() for _ in range(repeats)]
    each = (time.perf_counter() - start) / repeats
    start = time.perf_counter()
    for theta in drawn[:200]:
        reflected.pdf(theta)
    weight = (time.perf_counter() - start) / 200
    print(f"reflected: {each * 1e3:.3f} ms a proposal, {weight * 1e3:.2f} ms a particle's weight (its density)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--population", type=int, default=40)
    parser.add_argument("--generations", type=int, default=2)
    parser.add_argument("--people", type=int, default=1_600)
    parser.add_argument("--dask", action="store_true", help="a Dask cluster even for one worker, started untimed")
    parser.add_argument("--proposals", action="store_true", help="time proposals only (pyabc's against the fit's)")
    args = parser.parse_args()
    if args.proposals:
        proposals()
        return
    logging.getLogger("ABC").setLevel(logging.WARNING)
    logging.getLogger("distributed").setLevel(logging.ERROR)
    import pyabc

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        address = None
        if args.dask:
            address = stack.enter_context(dask_client(args.workers, None)).scheduler.address
        db = Path(tmp) / "abc.db"
        result = fit(
            survey_problem(people=args.people),
            db,
            population=args.population,
            generations=args.generations,
            workers=args.workers,
            address=address,
        )
        # every parameter set simulated, the calibration sample of the first epsilon included
        simulations = int(pyabc.History(f"sqlite:///{db}").get_all_populations()["samples"].sum())
    print(
        f"{'Dask ' if args.dask else ''}workers {args.workers}: {simulations} parameter sets ({6 * simulations} community runs) in "
        f"{result.seconds:.1f} s, {simulations / result.seconds:.2f} per second"
    )


if __name__ == "__main__":
    main()
