"""Global sensitivity indices of a Sobol or Morris sweep, computed with SALib.

Each point's output is the mean over its replicates of the indicator in the final month.
Sobol gives first-order (S1) and total (ST) indices with bootstrap 95 % intervals; Morris
gives mu* (mean absolute elementary effect, with its interval) and sigma.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .sweep import Sweep


class SensitivityError(ValueError):
    """The sweep cannot be analysed (wrong method, missing or failed runs)."""


def point_outputs(sweep: Sweep, results: pd.DataFrame, indicator: str) -> np.ndarray:
    """Mean over replicates of `indicator` in the final month, one value per design point.

    Reads exactly the runs of `sweep`'s design, each once, whatever else `results` holds
    (another design's runs, a run stored twice). A run can belong to several points: a
    Morris design may visit one point in two trajectories.
    """
    wanted = sweep.run_ids
    results = results[results["run_id"].isin(wanted)] if len(results) else results
    if not len(results):
        raise SensitivityError(f"0 of {len(wanted)} runs are stored: run the sweep to completion first")
    results = results.drop_duplicates(["run_id", "month"])
    final = results[results["month"] == results.groupby("run_id")["month"].transform("max")]
    failed = final[final["status"] != "ok"]
    if len(failed):
        raise SensitivityError(f"{len(failed)} run(s) failed, e.g. {failed['error'].iloc[0]!r}: fix and re-run them")
    missing = wanted - set(final["run_id"])
    if missing:
        raise SensitivityError(f"{len(missing)} of {len(wanted)} runs are missing: run the sweep to completion first")
    tasks = pd.DataFrame({"run_id": [t.run_id for t in sweep.tasks], "point": [t.point for t in sweep.tasks]})
    values = tasks.merge(final[["run_id", indicator]], on="run_id", how="left", validate="many_to_one")
    means = values.groupby("point")[indicator].mean()
    return means.reindex(range(len(sweep.design))).to_numpy(dtype=float)


def analyse(sweep: Sweep, results: pd.DataFrame) -> pd.DataFrame:
    """Indices for every recorded indicator and parameter (one row per pair)."""
    spec = sweep.spec
    if spec.method not in ("sobol", "morris"):
        raise SensitivityError(f"sensitivity needs method 'sobol' or 'morris' in the sweep file, not {spec.method!r}")
    rows = []
    for indicator in spec.indicators:
        y = point_outputs(sweep, results, indicator)
        if np.ptp(y) == 0 or not np.isfinite(y).all():
            for name in sweep.problem["names"]:  # a constant output: nothing to attribute
                rows.append({"indicator": indicator, "parameter": name} | _zero(spec.method))
            continue
        if spec.method == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(sweep.problem, y, calc_second_order=False, conf_level=0.95, seed=spec.seed)
            for i, name in enumerate(sweep.problem["names"]):
                rows.append(
                    {
                        "indicator": indicator,
                        "parameter": name,
                        "S1": res["S1"][i],
                        "S1_conf": res["S1_conf"][i],
                        "ST": res["ST"][i],
                        "ST_conf": res["ST_conf"][i],
                    }
                )
        else:
            from SALib.analyze import morris

            x = np.asarray(sweep.design, dtype=float)
            res = morris.analyze(sweep.problem, x, y, conf_level=0.95, num_levels=spec.morris_levels, seed=spec.seed)
            for i, name in enumerate(sweep.problem["names"]):
                rows.append(
                    {
                        "indicator": indicator,
                        "parameter": name,
                        "mu_star": res["mu_star"][i],
                        "mu_star_conf": res["mu_star_conf"][i],
                        "sigma": res["sigma"][i],
                    }
                )
    return pd.DataFrame(rows)


def _zero(method: str) -> dict[str, float]:
    if method == "sobol":
        return {"S1": 0.0, "S1_conf": 0.0, "ST": 0.0, "ST_conf": 0.0}
    return {"mu_star": 0.0, "mu_star_conf": 0.0, "sigma": 0.0}


def sensitivity_figure(table: pd.DataFrame, method: str):
    """One panel per indicator: bars per parameter with 95 % intervals (ST and S1, or mu*)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    indicators = list(dict.fromkeys(table["indicator"]))
    fig, axes = plt.subplots(
        len(indicators), 1, figsize=(8, 1.0 + 0.45 * table["parameter"].nunique() * len(indicators)), squeeze=False
    )
    for ax, indicator in zip(axes[:, 0], indicators, strict=True):
        part = table[table["indicator"] == indicator]
        y = np.arange(len(part))
        if method == "sobol":
            ax.barh(y - 0.2, part["ST"], 0.4, xerr=part["ST_conf"], label="total (ST)", color="#3182bd")
            ax.barh(y + 0.2, part["S1"], 0.4, xerr=part["S1_conf"], label="first order (S1)", color="#9ecae1")
            ax.set_xlim(left=min(0.0, float(part["S1"].min()) - 0.05))
        else:
            ax.barh(y, part["mu_star"], 0.6, xerr=part["mu_star_conf"], label="mu*", color="#3182bd")
        ax.set_yticks(y, part["parameter"])
        ax.invert_yaxis()
        ax.set_title(indicator, fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
