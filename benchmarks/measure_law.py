"""Means and standard errors of key outcomes over seeds: does a change alter the model's law?

    python benchmarks/measure_law.py [--root PATH] [--seeds 12]

Runs the baseline scaled to 4,000 households for 48 months, seeds 1..N, and prints each
outcome's mean and standard error over the seeds. `--root` imports the model from another
checkout (e.g. a `git worktree` of an earlier commit), so two versions can be compared on
the same settings (docs/MODEL.md 4, "Stochasticity": the check of the keyed draws).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

KEYS = (
    "mean_degree",
    "cross_origin_tie_share",
    "integration_index",
    "poverty_rate",
    "share_out_of_county",
    "returned_households",
    "income_per_capita_mean",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--seeds", type=int, default=12)
    args = parser.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    from benchmarks.bench_core import scenario_for
    from simulation.model import ResettlementModel

    rows = []
    for seed in range(1, args.seeds + 1):
        model = ResettlementModel(scenario_for(4000, {"ties.metrics_at_end": False}), seed=seed)
        model.run(48)
        rows.append([model.flat_indicators[k] for k in KEYS])
    values = np.array(rows)
    for key, mean, se in zip(KEYS, values.mean(0), values.std(0, ddof=1) / np.sqrt(len(values)), strict=True):
        print(f"{key:26s} {mean:10.4f} +- {se:.4f}")


if __name__ == "__main__":
    main()
