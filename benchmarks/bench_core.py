"""Speed and memory of the core model, on one core.

    python benchmarks/bench_core.py speed  [--households 100000] [--months 120] [--repeats 3] [--set KEY=VALUE ...]
    python benchmarks/bench_core.py ratio  [--households 10000] [--months 120]
    python benchmarks/bench_core.py decision [--candidates 100000] [--repeats 5]

Core model alone (issue 2): `speed --set ties.enabled=false`. With ties (issue 3):
`speed --set ties.metrics_at_end=false` (the networkx clustering of a 100,000-node graph
at the end is an analysis step, timed separately by `speed --months 1`).

`speed` builds and runs the batched model and prints the run time (median of repeats),
the build time, and the peak resident memory above the interpreter's, per household.
`ratio` runs the same scenario with the batched model and with the plain per-household
specification (benchmarks/reference_model.py) and prints the speed ratio.
`decision` times the stage before the move (docs/MODEL.md 7.12: drawing the origin
villages' households and their two decisions) for about `--candidates` candidate households.
Targets (issue 2): 100,000 households x 120 months <= 20 s, <= 4 KB per household;
ratio at 10,000 households >= 30x; (issue 17) the decision for 100,000 candidate
households <= 2 s, and the whole chain (`speed --set policies.relocation_terms.enabled=true`)
within the core model's budgets. Recorded figures: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenarios import Scenario, load_scenario, parse_set  # noqa: E402
from simulation import ResettlementModel  # noqa: E402

PEOPLE_PER_HOUSEHOLD = 3.6  # relocated people per simulated household, incl. the 10 % local residents


def scenario_for(households: int, extra: dict | None = None) -> Scenario:
    """The baseline community scaled to about `households` households."""
    base = Scenario().community
    people = int(households * PEOPLE_PER_HOUSEHOLD)
    labour = int(people * base.relocated_labour_force / base.relocated_population)
    villages = max(1, int(base.source_villages * people / base.relocated_population))
    return load_scenario(
        None,
        {
            "community.relocated_population": people,
            "community.relocated_labour_force": labour,
            "community.source_villages": villages,
            **(extra or {}),
        },
    )


def pin_one_core() -> None:
    """Run on a single processor, as the targets are stated per core."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def speed(households: int, months: int, repeats: int, overrides: list[str]) -> None:
    scenario = scenario_for(households, parse_set(overrides))
    before = peak_rss_kb()
    runs, builds, n, members = [], [], 0, 0
    for seed in range(repeats):
        t0 = time.perf_counter()
        model = ResettlementModel(scenario, seed=seed)
        t1 = time.perf_counter()
        model.run(months)
        t2 = time.perf_counter()
        builds.append(t1 - t0)
        runs.append(t2 - t1)
        n, members = model.pop.next_household, model.pop.n_members
        del model
    per_household = (peak_rss_kb() - before) * 1024 / n
    print(f"households {n:,}  people {members:,}  months {months}  repeats {repeats}  set {overrides}")
    print(f"build  median {statistics.median(builds):.2f} s")
    print(f"run    median {statistics.median(runs):.2f} s  (min {min(runs):.2f}, max {max(runs):.2f})")
    print(f"total  median {statistics.median(b + r for b, r in zip(builds, runs, strict=True)):.2f} s")
    print(f"peak memory above interpreter: {per_household:,.0f} bytes per household")


def ratio(households: int, months: int) -> None:
    from benchmarks.reference_model import PlainModel

    scenario = scenario_for(households, {"ties.enabled": False})  # the plain model has the core rules
    t0 = time.perf_counter()
    fast = ResettlementModel(scenario, seed=1)
    fast.run(months)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    plain = PlainModel(scenario, seed=1)
    for _ in range(months):
        plain.step()
    t_plain = time.perf_counter() - t0
    print(f"households {fast.pop.next_household:,}  months {months}")
    print(f"batched model     {t_fast:8.2f} s (build + run)")
    print(f"plain per-agent   {t_plain:8.2f} s (build + run)")
    print(f"speed ratio       {t_plain / t_fast:8.1f} x")


def decision(candidates: int, repeats: int) -> None:
    import numpy as np

    from simulation.relocation import decide, draw_candidates

    pool_per_person = Scenario().decision.pool_people_per_relocated
    households = max(
        1, round(candidates * 3.65 / pool_per_person / PEOPLE_PER_HOUSEHOLD)
    )  # about 3.65 people a candidate
    scenario = scenario_for(households, {"policies.relocation_terms.enabled": True})
    times, n = [], 0
    for seed in range(repeats):
        t0 = time.perf_counter()
        c = draw_candidates(scenario, np.random.default_rng(seed))
        d = decide(c, scenario)
        times.append(time.perf_counter() - t0)
        n = c.n
    print(f"candidate households {n:,}  moved {int(d.moved.sum()):,}  repeats {repeats}")
    print(f"decision stage  median {statistics.median(times):.3f} s  (min {min(times):.3f}, max {max(times):.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_speed = sub.add_parser("speed")
    p_speed.add_argument("--households", type=int, default=100_000)
    p_speed.add_argument("--months", type=int, default=120)
    p_speed.add_argument("--repeats", type=int, default=3)
    p_speed.add_argument("--set", dest="overrides", action="append", default=[], help="scenario override")
    p_ratio = sub.add_parser("ratio")
    p_ratio.add_argument("--households", type=int, default=10_000)
    p_ratio.add_argument("--months", type=int, default=120)
    p_decision = sub.add_parser("decision")
    p_decision.add_argument("--candidates", type=int, default=100_000)
    p_decision.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    pin_one_core()
    if args.command == "speed":
        speed(args.households, args.months, args.repeats, args.overrides)
    elif args.command == "decision":
        decision(args.candidates, args.repeats)
    else:
        ratio(args.households, args.months)


if __name__ == "__main__":
    main()
