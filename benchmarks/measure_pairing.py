"""How paired are paired runs? The spread of paired tenth-year differences (docs/MODEL.md 4).

    python benchmarks/measure_pairing.py [--community huanjiang_chengxi] [--seeds 8] [--workers 2]

The community's posterior central particle (scenarios/calibrated/central/), scaled to
3,000 relocated people as in the policy tests, ten years; each policy file against the
base over common seeds. Prints the mean and the standard deviation over seeds of the
paired difference of tenth-year means: the smaller the standard deviation of a policy
that changes few households, the better the pairs stay paired.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.compare import run_experiment
from scenarios.loader import SCENARIO_DIR
from tests.test_policy_effects import base_data, with_policy

POLICIES = ("public_welfare_jobs", "workshops", "skills_training", "employment_guarantee", "monitoring")
KEYS = {"poverty_rate": ("points", 100.0), "income_per_capita_mean": ("yuan", 1.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--community", default="huanjiang_chengxi")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    data = base_data(args.community, SCENARIO_DIR / "calibrated" / "central")
    scenarios = {"base": with_policy(data, None), **{p: with_policy(data, p) for p in POLICIES}}
    exp = run_experiment(scenarios, replicates=args.seeds, seed=1, workers=args.workers, networks=False)
    last_year = exp.tidy[exp.tidy["month"] > 108].groupby(["scenario", "replicate"]).mean(numeric_only=True)
    for key, (unit, scale) in KEYS.items():
        base = last_year.loc["base"][key]
        for policy in POLICIES:
            d = (last_year.loc[policy][key] - base).to_numpy() * scale
            print(f"{key:24s} {policy:22s} mean {d.mean():+9.2f} {unit}, sd {d.std(ddof=1):7.2f}")


if __name__ == "__main__":
    main()
