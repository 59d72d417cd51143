"""The posterior predictive check and the pre-registered holdout (docs/FIT.md).

Each draw takes one parameter set from the posterior (by weight) and runs every surveyed
community once at full size with its own seed, so the spread of a simulated figure over
the draws carries both the calibration's uncertainty and the model's own noise: its
central 90 % is the posterior predictive interval. The fitted survey shares are reported
against it (a check of the fit), and every observation in `data/holdout.toml` is judged by
the rule written there before the fit.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scenarios.loader import apply_overrides
from scenarios.loader import validate as validate_scenario
from simulation.indicators import INDICATORS

from .bayes import Posterior, PriorError
from .calibration import COMMUNITIES, ROOT, SECTOR_KEYS, community_data, observed, scale_community
from .executors import RunTask, run_tasks
from .runner import simulate

HOLDOUT_PATH = ROOT / "data" / "holdout.toml"
FITTED = (*SECTOR_KEYS, "share_out_of_county", "employment_rate")
POOLED = "six communities pooled"
EACH = "each community"


@dataclass(frozen=True)
class HoldoutObservation:
    """One pre-registered observation kept out of the fit."""

    name: str
    indicator: str
    scope: str  # EACH or POOLED
    source: str
    rule: str
    target: float | None = None  # pooled
    targets: dict[str, float] | None = None  # per community
    mape_max: float | None = None


@dataclass(frozen=True)
class Holdout:
    """The holdout file: its date, interval level and observations."""

    registered: str
    interval: float
    observations: tuple[HoldoutObservation, ...]
    path: Path


def read_holdout(path: Path = HOLDOUT_PATH) -> Holdout:
    """The holdout file, checked; errors name the file, the observation and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PriorError(f"{path}: cannot read the holdout ({exc})") from None
    for key in ("registered", "interval", "observation"):
        if key not in data:
            raise PriorError(f"{path}: key `{key}` missing")
    level = data["interval"]
    if not isinstance(level, float) or not 0 < level < 1:
        raise PriorError(f"{path}: `interval` = {level!r}; expected a number between 0 and 1, e.g. 0.90")
    out = []
    for i, entry in enumerate(data["observation"]):
        where = f"{path}: [[observation]] {i + 1} ({entry.get('name', 'no name')})"
        for key in ("name", "indicator", "scope", "source", "rule"):
            if not isinstance(entry.get(key), str):
                raise PriorError(f"{where}: key `{key}` missing or not text")
        if entry["indicator"] not in INDICATORS:
            raise PriorError(f"{where}: indicator `{entry['indicator']}` is not one the model reports")
        scope = entry["scope"]
        if scope == EACH:
            targets = entry.get("targets")
            if not isinstance(targets, dict) or set(targets) != set(COMMUNITIES):
                raise PriorError(f"{where}: `targets` must give a number for each of {list(COMMUNITIES)}")
            obs = HoldoutObservation(
                entry["name"],
                entry["indicator"],
                scope,
                entry["source"],
                entry["rule"],
                targets={k: float(v) for k, v in targets.items()},
                mape_max=float(entry["mape_max"]) if "mape_max" in entry else None,
            )
        elif scope == POOLED:
            if not isinstance(entry.get("target"), int | float):
                raise PriorError(f"{where}: `target` missing or not a number")
            obs = HoldoutObservation(
                entry["name"], entry["indicator"], scope, entry["source"], entry["rule"], target=float(entry["target"])
            )
        else:
            raise PriorError(f'{where}: scope "{scope}"; expected "{EACH}" or "{POOLED}"')
        out.append(obs)
    return Holdout(str(data["registered"]), float(level), tuple(out), path)


def predictive_runs(
    posterior: Posterior,
    draws: int = 20,
    seed: int = 1,
    workers: int = 1,
    people: int | None = None,
    months: int | None = None,
    on_done: Callable[[Any], None] | None = None,
) -> pd.DataFrame:
    """One run per draw and community (full size unless `people`): the final month of each,
    with columns `community`, `draw`, `particle` and every indicator."""
    rows = posterior.draw(draws, seed)
    tasks = []
    for community in COMMUNITIES:
        data = community_data(community, scaled=False)
        if people is not None:
            scale_community(data, people)
        for d, row in enumerate(rows):
            settings = posterior.settings(int(row), community)
            scenario = validate_scenario(
                apply_overrides(data, settings), f"posterior draw {d} of {community} ({posterior.source})"
            )
            tasks.append(RunTask(label=community, scenario=scenario, seed=seed + d, replicate=d, months=months))
    finals = run_tasks(tasks, workers=workers, on_done=on_done, function=final_month)
    frame = pd.DataFrame(finals)
    frame.insert(0, "community", [t.label for t in tasks])
    frame.insert(1, "draw", [t.replicate for t in tasks])
    frame.insert(2, "particle", [int(rows[t.replicate]) for t in tasks])
    return frame


def final_month(task: RunTask) -> dict[str, float]:
    """One run's final month, flat (a top-level function, so it can be sent to workers)."""
    return simulate(task.scenario, task.seed, months=task.months, final_only=True).flat


def interval(values: np.ndarray, level: float) -> tuple[float, float, float]:
    """Mean and central `level` interval of the draws."""
    tail = (1 - level) / 2
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(np.quantile(v, tail)), float(np.quantile(v, 1 - tail))


def pooled_by_draw(runs: pd.DataFrame) -> pd.DataFrame:
    """Per draw, the six communities pooled: shares weighted by employed workers, the
    employment rate by the labour force, ages by the workers they are over."""
    out = []
    for draw, g in runs.groupby("draw"):
        employed, labour = g["employed"], g["labour_force"]
        row: dict[str, float] = {"draw": draw}
        for key in FITTED:
            weight = labour if key == "employment_rate" else employed
            row[key] = float((g[key] * weight).sum() / weight.sum())
        out_w = g["out_of_county_workers"]
        local_w = (g["share_local_industry"] + g["share_local_services"]) * employed
        mean_out = float((g["mean_age_out_of_county"] * out_w).sum() / out_w.sum())
        mean_local = float((g["mean_age_local_nonfarm"] * local_w).sum() / local_w.sum())
        row["mean_age_out_of_county"] = mean_out
        row["share_over_50_out_of_county"] = float((g["share_over_50_out_of_county"] * out_w).sum() / out_w.sum())
        row["mean_age_local_nonfarm"] = mean_local
        row["age_gap_local_nonfarm_minus_out_of_county"] = mean_local - mean_out
        out.append(row)
    return pd.DataFrame(out)


def fitted_check(runs: pd.DataFrame, level: float = 0.9) -> pd.DataFrame:
    """The fitted survey figures against their posterior predictive intervals, per community
    (each community's employment rate is a check only: the fit used the pooled rate)."""
    obs = observed()
    rows = []
    for community in COMMUNITIES:
        g = runs[runs["community"] == community]
        for key in FITTED:
            mean, lo, hi = interval(g[key].to_numpy(), level)
            target = float(obs.loc[community, key])
            rows.append(_row(community, key, mean, lo, hi, target, fitted=key != "employment_rate"))
    pooled = pooled_by_draw(runs)
    obs_pooled = obs.loc[list(COMMUNITIES)]
    for key in FITTED:
        mean, lo, hi = interval(pooled[key].to_numpy(), level)
        if key == "employment_rate":
            target = float(np.average(obs_pooled["employment_rate"], weights=obs_pooled["relocated_labour_force"]))
        else:
            target = float(np.average(obs_pooled[key], weights=obs_pooled["workers"]))
        rows.append(_row(POOLED, key, mean, lo, hi, target, fitted=key == "employment_rate"))
    return pd.DataFrame(rows)


def _row(where: str, key: str, mean: float, lo: float, hi: float, target: float, fitted: bool) -> dict[str, Any]:
    return {
        "where": where,
        "indicator": key,
        "fitted": fitted,
        "mean": mean,
        "low": lo,
        "high": hi,
        "observed": target,
        "inside": bool(lo <= target <= hi),
    }


def holdout_check(runs: pd.DataFrame, holdout: Holdout) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Every holdout observation against its posterior predictive interval: a row per
    figure, and a verdict per observation (pass or fail by its rule)."""
    level = holdout.interval
    pooled = pooled_by_draw(runs)
    rows, verdicts = [], []
    for obs in holdout.observations:
        if obs.scope == EACH:
            assert obs.targets is not None
            errors = []
            for community in COMMUNITIES:
                g = runs[runs["community"] == community]
                mean, lo, hi = interval(g[obs.indicator].to_numpy(), level)
                target = obs.targets[community]
                errors.append(abs(mean - target) / abs(target))
                rows.append({"observation": obs.name, **_row(community, obs.indicator, mean, lo, hi, target, False)})
            mape = float(np.mean(errors))
            inside = all(r["inside"] for r in rows if r["observation"] == obs.name)
            passed = inside and (obs.mape_max is None or mape <= obs.mape_max)
            verdicts.append(
                {
                    "observation": obs.name,
                    "rule": obs.rule,
                    "mape": mape,
                    "inside": inside,
                    "passed": bool(passed),
                    "source": obs.source,
                }
            )
        else:
            assert obs.target is not None
            mean, lo, hi = interval(pooled[obs.indicator].to_numpy(), level)
            row = {"observation": obs.name, **_row(POOLED, obs.indicator, mean, lo, hi, obs.target, False)}
            rows.append(row)
            verdicts.append(
                {
                    "observation": obs.name,
                    "rule": obs.rule,
                    "inside": row["inside"],
                    "passed": row["inside"],
                    "source": obs.source,
                }
            )
    return pd.DataFrame(rows), verdicts
