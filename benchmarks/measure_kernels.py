"""Do the importance weights of ABC-SMC hold up with a given proposal kernel? (docs/FIT.md)

A test problem of the survey fit's shape, cheap enough to run in seconds: four shared
parameters and three per community for six communities (22, with the fit's prior boxes
and the Beta prior of the out-of-county industry share), four shares per community plus a
pooled employment rate (25 statistics), simulation noise of one distance unit (0.02) per
share, and observed values the model cannot reach exactly (as the survey's are: the real
fit's epsilon stays far above its noise). Most parameters are weakly identified, as in the
survey fit. Each kernel runs the same seeds; the table gives epsilon, simulations and the
effective sample size of every generation.

    python benchmarks/measure_kernels.py                      # reflected and normal, seeds 1-3
    python benchmarks/measure_kernels.py --kernels reflected --scales 2 3 5 --seeds 1 2
    python benchmarks/measure_kernels.py --kernels normal-diagonal   # which difference matters

`normal-diagonal` is the normal kernel with its covariance's correlations dropped: the
reflected kernel differs from the normal one in being diagonal and in folding proposals
back at the bounds, and this separates the two.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.bayes import KERNEL_SCALE, KERNELS, SHARE_SD, BoundedRV, seed_of, transition

COMMUNITIES = 6
SHARED = {"out_of_county": (-2.0, 3.0), "farming": (0.0, 5.0), "land": (0.05, 1.0), "industry_share": (0.0, 1.0)}
OWN = {"industry_posts": (0.0, 80.0), "services_posts": (0.0, 60.0), "part_time": (-3.0, 8.0)}
BOUNDS = {**SHARED, **{f"c{c}.{k}": b for c in range(COMMUNITIES) for k, b in OWN.items()}}


def _logistic(v: float) -> float:
    return 1.0 / (1.0 + np.exp(-v))


def shares(p: dict[str, float], rng: np.random.Generator | None) -> dict[str, float]:
    """The statistics at one parameter set (noise from `rng`; none if it is None)."""
    out: dict[str, float] = {}
    employment = []
    for c in range(COMMUNITIES):
        industry, services, part_time = p[f"c{c}.industry_posts"], p[f"c{c}.services_posts"], p[f"c{c}.part_time"]
        capacity = (industry + services) / 100.0
        away = _logistic(p["out_of_county"] - 1.5 * capacity + 0.5)
        farm = _logistic(p["farming"] - 3.0 - 2.0 * (1.0 - p["land"])) * (1.0 - away) * 0.3
        both = _logistic(part_time - 4.0) * (1.0 - away - farm)
        local = 1.0 - away - farm - both
        made = [farm, away * p["industry_share"] + local * industry / (industry + services + 1.0), both, away]
        for key, value in zip(("agriculture", "industry", "part_time", "out_of_county"), made, strict=True):
            out[f"c{c}.{key}"] = value + (rng.normal(0.0, SHARE_SD) if rng is not None else 0.0)
        employment.append(_logistic(2.0 + 3.0 * min(capacity, 1.0)))
    out["employment"] = float(np.mean(employment)) + (rng.normal(0.0, SHARE_SD / 4) if rng is not None else 0.0)
    return out


def observed() -> dict[str, float]:
    """Mid-box truth with a strong taste for leaving, moved off what the model can make."""
    truth = {name: (low + high) / 2 for name, (low, high) in BOUNDS.items()} | {"out_of_county": 1.6}
    data = shares(truth, None)
    for c in range(COMMUNITIES):
        data[f"c{c}.industry"] += 0.08 * (-1) ** c
        data[f"c{c}.part_time"] += 0.03
    return data


def diagonal_normal(scale: float):
    """pyabc's normal kernel (proposals outside the box redrawn) without its correlations."""
    from scipy import stats

    class DiagonalNormal(type(transition("normal", BOUNDS, scale))):
        def fit(self, X, w) -> None:
            super().fit(X, w)
            self.cov = np.diag(np.diag(self.cov))
            self._root = np.sqrt(self.cov)
            self.normal = stats.multivariate_normal(cov=self.cov)

    return DiagonalNormal(scaling=scale)


def run(kernel: str, scale: float, seed: int, population: int, generations: int) -> list[dict[str, float]]:
    """One fit; a row per generation."""
    import pyabc

    priors = pyabc.Distribution(
        **{
            n: BoundedRV(lo, hi, 4.8, 5.2) if n == "industry_share" else BoundedRV(lo, hi)
            for n, (lo, hi) in BOUNDS.items()
        }
    )
    data = observed()
    np.random.seed(seed)  # pyabc's proposals
    abc = pyabc.ABCSMC(
        lambda p: shares(dict(p), np.random.default_rng(seed_of(dict(p)) + seed)),
        priors,
        pyabc.PNormDistance(p=2, fixed_weights={k: 1.0 / SHARE_SD for k in data}),
        population_size=population,
        sampler=pyabc.SingleCoreSampler(),
        transitions=diagonal_normal(scale) if kernel == "normal-diagonal" else transition(kernel, BOUNDS, scale),
    )
    with tempfile.TemporaryDirectory() as tmp:
        abc.new(f"sqlite:///{Path(tmp) / 'kernels.db'}", data)
        history = abc.run(max_nr_populations=generations)
        pops = history.get_all_populations()
        rows = []
        for row in pops[pops["t"] >= 0].itertuples():
            _, w = history.get_distribution(t=int(row.t))
            w = np.asarray(w, dtype=float) / np.sum(w)
            rows.append(
                {
                    "generation": int(row.t),
                    "epsilon": row.epsilon,
                    "simulations": int(row.samples),
                    "ess": 1.0 / float(np.sum(w**2)),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernels", nargs="+", choices=[*KERNELS, "normal-diagonal"], default=list(KERNELS))
    parser.add_argument("--scales", nargs="+", type=float, default=[KERNEL_SCALE])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--population", type=int, default=200)
    parser.add_argument("--generations", type=int, default=8)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # pyabc reports every generation and the normal kernel's redraws
    print("kernel     scale seed  effective sample by generation (epsilon and simulations at the last)  seconds")
    for kernel in args.kernels:
        for scale in args.scales:
            for seed in args.seeds:
                start = time.perf_counter()
                rows = run(kernel, scale, seed, args.population, args.generations)
                ess = " ".join(f"{r['ess']:5.1f}" for r in rows)
                last = rows[-1]
                print(
                    f"{kernel:10s} {scale:5g} {seed:4d}  {ess}  (eps {last['epsilon']:.1f}, "
                    f"{sum(r['simulations'] for r in rows)} sims)  {time.perf_counter() - start:.0f}"
                )


if __name__ == "__main__":
    main()
