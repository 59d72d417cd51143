"""What a policy file does to poverty and falling back with shocks off and on (docs/MODEL.md 7.10).

    python benchmarks/measure_shocks.py [--seeds 5] [--policy monitoring]

The typical community at 1/4 size, baseline vs the policy file, with shocks off and on,
ten years; prints the base mean of the tenth year and the paired difference (policy minus
base) with its standard deviation over the seeds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.runner import simulate
from scenarios.loader import load_scenario

QUARTER = {
    "community.relocated_population": 2950,
    "community.relocated_labour_force": 1575,
    "community.source_villages": 150,
}
KEYS = (
    "poverty_rate",
    "poverty_rate_annual",
    "income_per_capita_mean",
    "fell_back_cumulative",
    "at_risk_households",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--policy", default="monitoring", help="a file of scenarios/policies/ (without .toml)")
    args = parser.parse_args()
    base = load_scenario("scenarios/baseline.toml")
    policy = load_scenario(f"scenarios/policies/{args.policy}.toml")
    cost = f"policy_cost_{args.policy}"
    for shocks in (False, True):
        values = {}
        for name, scenario in (("base", base), ("policy", policy)):
            rows = []
            for seed in range(1, args.seeds + 1):
                monthly = simulate(scenario, seed=seed, overrides={**QUARTER, "shocks.enabled": shocks}).monthly
                rows.append([float(monthly[k].iloc[-12:].mean()) for k in (*KEYS, cost)])
            values[name] = np.array(rows)
        diff = values["policy"] - values["base"]
        print(f"shocks {'on' if shocks else 'off'}")
        for i, key in enumerate((*KEYS, cost)):
            print(
                f"  {key:26s} base {np.nanmean(values['base'][:, i]):14.3f}"
                f"  {args.policy} - base {diff[:, i].mean():14.3f} (sd {diff[:, i].std(ddof=1):.3f})"
            )


if __name__ == "__main__":
    main()
