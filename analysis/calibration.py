"""Calibrate the six surveyed communities to the 2020 survey (docs/FIT.md).

Fitted, per community: local labour demand (industrial and service posts per 100
workers), the land kept at the origin (mu per person) and the taste constant of part-time
farming (what makes farming beside a town job attractive there: orchards and cash crops
near town, seasonal work; it changes choices, not pay). Shared by all six: the taste
constants of working outside the county and of farming at the origin. The sector of
out-of-county jobs (industry or services) only labels jobs, it changes no decision, so it
is set per community by least squares after each simulation instead of being searched.

Loss (percentage points squared): for each community the squared differences between
simulated and observed shares of employed workers in agriculture, industry, services,
part-time farming, and out-of-county work, summed over communities; plus, when choosing
the shared constants, the squared difference of the pooled employment rate (see
`employment_loss`). Simulated shares are means over fixed seeds (common random numbers,
so the loss is a deterministic function of the parameters). Income after relocation is
not used: it is the out-of-sample check.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from scenarios.loader import COMMUNITY_DIR, SCENARIO_DIR, apply_overrides, deep_merge, read_toml, resolve_extends
from scenarios.loader import validate as validate_scenario

from .executors import process_pool
from .runner import simulate

ROOT = Path(__file__).resolve().parents[1]
SURVEY_DIR = ROOT / "data" / "survey"
CALIBRATED_DIR = SCENARIO_DIR / "calibrated"
COMMUNITIES = (
    "qianxi_jinxiu",
    "kaili_qingquan",
    "huanjiang_chengxi",
    "liujiang_xingliu",
    "yunyang_qinglongquan",
    "fengning_rencai",
)
SECTOR_KEYS = ("share_agriculture", "share_industry", "share_services", "share_part_time")
TARGET_KEYS = (*SECTOR_KEYS, "share_out_of_county")
SURVEY_YEARS = (
    4  # years simulated = from the first arrival wave (2016) to the survey (2020); the last wave moved in 2019
)
CALIBRATION_PEOPLE = 4_800  # relocated people simulated while fitting (shares are scale-free)

PER_COMMUNITY = {
    "labour_demand.industry_posts_per_100_workers": (0.0, 80.0),
    "labour_demand.services_posts_per_100_workers": (0.0, 60.0),
    "choice.constant.part_time": (-3.0, 8.0),
    "population.land_mu_per_person": (0.05, 5.0),
}
SHARED = {
    "choice.constant.out_of_county": (-2.0, 3.0),
    "choice.constant.farming_origin": (0.0, 5.0),
}
OUT_INDUSTRY = "wages.out_of_county_industry_share"


@cache
def observed() -> pd.DataFrame:
    """The survey, one row per community (plus `all_six_pooled`), shares as fractions.

    Columns: the target shares, `share_local`, `employment_rate` (workers counted in the
    location table over the relocated labour force, capped at 1), `income_before_yuan`,
    `income_after_yuan`, `relocated_labour_force`, `relocated_population`, `workers`.
    """
    communities = pd.read_csv(SURVEY_DIR / "survey_communities.csv").set_index("community_id")
    sectors = pd.read_csv(SURVEY_DIR / "survey_sectors.csv").set_index("community_id")
    place = pd.read_csv(SURVEY_DIR / "survey_work_location.csv").set_index("community_id")
    out = pd.DataFrame(index=sectors.index)
    out["share_agriculture"] = sectors["agriculture_pct"] / 100
    out["share_industry"] = sectors["industry_pct"] / 100
    out["share_services"] = sectors["services_pct"] / 100
    out["share_part_time"] = sectors["part_time_farm_and_nonfarm_pct"] / 100
    out["share_out_of_county"] = place["out_of_county_pct"] / 100
    out["share_local"] = place["local_pct"] / 100
    workers = place["out_of_county_workers"] + place["local_workers"]
    out["workers"] = workers
    out["relocated_labour_force"] = communities["relocated_labor_force"]
    out["relocated_population"] = communities["relocated_poor_pop"]
    out["employment_rate"] = np.minimum(1.0, workers / communities["relocated_labor_force"])
    out["income_before_yuan"] = communities["income_before_yuan"]
    out["income_after_yuan"] = communities["income_after_yuan"]
    pooled = out.loc[list(COMMUNITIES)]
    w = pooled["workers"] / pooled["workers"].sum()
    out.loc["all_six_pooled", "share_out_of_county"] = float((pooled["share_out_of_county"] * w).sum())
    out.loc["all_six_pooled", "share_local"] = float((pooled["share_local"] * w).sum())
    return out


def community_data(community: str, scaled: bool, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Raw scenario data: the baseline with a community's profile, the survey horizon and
    at most `CALIBRATION_PEOPLE` people if `scaled` (policy amounts are densities: they need no scaling),
    and `overrides` by dotted path on top (e.g. the stage before the move switched on)."""
    data = resolve_extends(SCENARIO_DIR / "baseline.toml")
    profile = read_toml(COMMUNITY_DIR / f"{community}.toml")
    data = deep_merge(data, {"community": profile["community"]})
    if scaled:
        scale_community(data, CALIBRATION_PEOPLE)
    return apply_overrides(
        data,
        {
            "simulation.years": SURVEY_YEARS,
            "ties.metrics_at_end": False,
            **(overrides or {}),
        },
    )


def scale_community(data: dict[str, Any], people: int) -> None:
    """Shrink a community in raw scenario data (in place) to at most `people` relocated
    people, its labour force and origin villages in proportion (fitted quantities are per
    worker, so shares do not depend on scale)."""
    c = data["community"]
    if c["relocated_population"] > people:
        factor = people / c["relocated_population"]
        c["relocated_labour_force"] = max(1, round(c["relocated_labour_force"] * factor))
        c["source_villages"] = max(1, round(c["source_villages"] * factor))
        c["relocated_population"] = people


def with_params(data: dict[str, Any], params: dict[str, float]) -> dict[str, Any]:
    """Raw scenario data with parameter values set by dotted path."""
    return apply_overrides(data, {k: float(v) for k, v in params.items()})


def simulate_mean(data: dict[str, Any], seeds: tuple[int, ...]) -> dict[str, float]:
    """Final-month indicators averaged over `seeds`."""
    scenario = validate_scenario(data, "calibration")
    frame = pd.DataFrame([simulate(scenario, seed).flat for seed in seeds])
    return frame.mean(numeric_only=True).to_dict()


def best_out_industry(sim: dict[str, float], obs: pd.Series) -> float:
    """Share of out-of-county jobs in industry that best fits industry and services shares.

    With local industry `li`, local services `ls` and out-of-county `o` (of employed),
    industry = li + q o and services = ls + (1 - q) o; least squares gives
    q = (I - li + ls + o - S) / (2 o), clipped to [0, 1].
    """
    o = sim["share_out_of_county"]
    if o <= 0:
        return 0.5
    li, ls = sim["share_local_industry"], sim["share_local_services"]
    q = (obs["share_industry"] - li + ls + o - obs["share_services"]) / (2 * o)
    return float(np.clip(q, 0.0, 1.0))


def predicted_shares(sim: dict[str, float], q: float) -> dict[str, float]:
    """The target shares implied by a simulation and an out-of-county industry share."""
    o = sim["share_out_of_county"]
    return {
        "share_agriculture": sim["share_agriculture"],
        "share_industry": sim["share_local_industry"] + q * o,
        "share_services": sim["share_local_services"] + (1 - q) * o,
        "share_part_time": sim["share_part_time"],
        "share_out_of_county": o,
    }


def community_loss(sim: dict[str, float], obs: pd.Series) -> tuple[float, float]:
    """(loss in percentage points squared, best out-of-county industry share)."""
    q = best_out_industry(sim, obs)
    pred = predicted_shares(sim, q)
    return float(sum((100 * (pred[k] - obs[k])) ** 2 for k in TARGET_KEYS)), q


def _evaluate(
    args: tuple[str, dict[str, float], tuple[int, ...], dict[str, Any] | None],
) -> tuple[float, float, dict[str, float]]:
    """Loss of one community at given parameter values (a top-level function for worker processes)."""
    community, params, seeds, overrides = args
    sim = simulate_mean(with_params(community_data(community, scaled=True, overrides=overrides), params), seeds)
    loss, q = community_loss(sim, observed().loc[community])
    return loss, q, sim


@dataclass
class CalibrationResult:
    """Fitted values and how well they fit."""

    shared: dict[str, float]
    per_community: dict[str, dict[str, float]]
    out_industry: dict[str, float]
    loss: dict[str, float]
    seeds: tuple[int, ...]
    history: list[dict[str, Any]] = field(default_factory=list)
    employment: dict[str, float] = field(default_factory=dict)  # simulated employment rate per community
    overrides: dict[str, Any] = field(default_factory=dict)  # set on every community's scenario during the fit

    @property
    def employment_loss(self) -> float:
        """The pooled employment-rate term of the loss (0 if not recorded)."""
        return employment_loss(self.employment) if self.employment else 0.0

    @property
    def total_loss(self) -> float:
        """Share losses summed over communities plus the pooled employment term, pp squared."""
        return float(sum(self.loss.values())) + self.employment_loss


def employment_loss(employment: dict[str, float]) -> float:
    """(100 x (simulated - observed) pooled employment rate)^2 over the given communities,
    pooled by the survey's labour force (observed rates capped at 1, as in `observed`).

    The shares alone leave one direction open: a stronger taste for leaving the county
    with more local posts to hold workers back gives the same shares as a weaker one with
    fewer posts, but more people in work. The survey's employment rate tells them apart;
    it enters only the choice of the shared constants (one pooled term), so each
    community's rate remains a check.
    """
    obs = observed()
    target = pooled_employment_rate({c: float(obs.loc[c, "employment_rate"]) for c in employment}, obs)
    return (100 * (pooled_employment_rate(employment, obs) - target)) ** 2


def pooled_employment_rate(rates: dict[str, float], obs: pd.DataFrame) -> float:
    """Employment rates of several communities pooled by the survey's labour force (`obs`
    from `observed`): the one way calibration and validation pool them."""
    force = obs.loc[list(rates), "relocated_labour_force"]
    return float(sum(force[c] * rate for c, rate in rates.items()) / force.sum())


def _to_unit(values: dict[str, float], bounds: dict[str, tuple[float, float]]) -> np.ndarray:
    return np.array([(values[k] - lo) / (hi - lo) for k, (lo, hi) in bounds.items()])


def _from_unit(x: np.ndarray, bounds: dict[str, tuple[float, float]]) -> dict[str, float]:
    return {k: lo + float(np.clip(v, 0, 1)) * (hi - lo) for v, (k, (lo, hi)) in zip(x, bounds.items(), strict=True)}


def initial_guess(community: str, base: dict[str, Any]) -> dict[str, float]:
    """A start near the data: local posts from the observed shares, assuming 60 % of
    out-of-county jobs are in industry and 90 % of workers employed."""
    obs = observed().loc[community]
    employed = 0.9
    industry = max(0.02, obs["share_industry"] - 0.6 * obs["share_out_of_county"])
    services = max(0.02, obs["share_services"] - 0.4 * obs["share_out_of_county"] - 0.02)
    guess = {k: float(_get(base, k)) for k in PER_COMMUNITY}
    guess["labour_demand.industry_posts_per_100_workers"] = 100 * industry * employed
    guess["labour_demand.services_posts_per_100_workers"] = 100 * services * employed
    return {k: float(np.clip(v, *PER_COMMUNITY[k])) for k, v in guess.items()}


def fit_community(
    community: str,
    shared: dict[str, float],
    start: dict[str, float],
    seeds: tuple[int, ...],
    max_evals: int,
    overrides: dict[str, Any] | None = None,
) -> tuple[dict[str, float], float, float]:
    """Nelder-Mead over one community's parameters (scaled to [0, 1]); returns (params, loss,
    q, employment rate at the best point)."""
    cache: dict[tuple[float, ...], tuple[float, float, float]] = {}

    def objective(x: np.ndarray) -> float:
        key = tuple(np.round(np.clip(x, 0, 1), 6))
        if key not in cache:
            params = shared | _from_unit(np.array(key), PER_COMMUNITY)
            loss, q, sim = _evaluate((community, params, seeds, overrides))
            cache[key] = (loss, q, sim["employment_rate"])
        return cache[key][0]

    x0 = _to_unit(start, PER_COMMUNITY)
    result = minimize(
        objective,
        x0,
        method="Nelder-Mead",
        bounds=[(0, 1)] * len(PER_COMMUNITY),
        options={"maxfev": max_evals, "xatol": 0.01, "fatol": 0.5, "initial_simplex": _simplex(x0, 0.15)},
    )
    best = _from_unit(np.clip(result.x, 0, 1), PER_COMMUNITY)
    loss, q, employment = cache[tuple(np.round(np.clip(result.x, 0, 1), 6))]
    return best, loss, q, employment


def _simplex(x0: np.ndarray, step: float) -> np.ndarray:
    """A starting simplex around x0 that stays inside the unit box."""
    points = [x0]
    for i in range(x0.size):
        point = x0.copy()
        point[i] = point[i] + step if point[i] + step <= 1 else point[i] - step
        points.append(point)
    return np.array(points)


def _fit_community_task(args) -> tuple[str, dict[str, float], float, float, float]:
    community, shared, start, seeds, max_evals, overrides = args
    return community, *fit_community(community, shared, start, seeds, max_evals, overrides)


def calibrate(
    rounds: int = 2,
    seeds: tuple[int, ...] = (1, 2, 3),
    community_evals: int = 60,
    refit_evals: int = 15,
    step: float = 0.6,
    grid_evals: int = 30,
    start: dict[str, Any] | None = None,
    workers: int = 1,
    communities: tuple[str, ...] = COMMUNITIES,
    on_stage: Callable[[str], None] | None = None,
    overrides: dict[str, Any] | None = None,
) -> CalibrationResult:
    """Fit the shared parameters by a coarse grid, then refine everything locally.

    Grid: for each shared parameter in turn, the values `step` and `2 step` either side of
    the current one (within bounds), each with every community fitted (`grid_evals`
    simulations, warm start); the best total loss is kept. A grid first, because the
    shared constants and the per-community parameters partly stand in for each other
    (the farming constant and the land kept both make farming attractive): a short re-fit
    after a small move cannot tell a better constant from a worse one.

    Then, `rounds` times: fit each community's parameters given the shared ones
    (Nelder-Mead, communities in parallel); then move each shared parameter by +/- half
    the previous step, re-fitting every community briefly (`refit_evals`, warm start) for
    each trial, and keep a move if it lowers the total loss.

    `start`: a saved fit (the contents of a calibration.json) to start from instead of the
    baseline's shared values and guesses from the observed shares; the search is local,
    so a good start matters (docs/FIT.md).

    `overrides`: values set on every community's scenario by dotted path (not fitted), e.g.
    `policies.relocation_terms.enabled = True` to fit the whole chain from the decision to
    move; they are written into the calibrated files.
    """
    base = resolve_extends(SCENARIO_DIR / "baseline.toml")
    shared = {k: float(_get(base, k)) for k in SHARED}
    per_community = {c: initial_guess(c, base) for c in communities}
    if start is not None:
        shared |= {k: float(v) for k, v in start["shared"].items() if k in SHARED}
        for c in communities:
            saved = start["per_community"].get(c, {})
            per_community[c] |= {k: float(np.clip(saved[k], *PER_COMMUNITY[k])) for k in PER_COMMUNITY if k in saved}
    loss: dict[str, float] = {}
    out_industry: dict[str, float] = {}
    history: list[dict[str, Any]] = []

    def fit_all(values: dict[str, float], starts: dict[str, dict[str, float]], evals: int, pool) -> tuple:
        tasks = [(c, values, starts[c], seeds, evals, overrides) for c in communities]
        fitted, losses, qs, rates = {}, {}, {}, {}
        for community, params, value, q, rate in pool.map(_fit_community_task, tasks):
            fitted[community], losses[community], qs[community], rates[community] = params, value, q, rate
        return fitted, losses, qs, rates

    def total(losses: dict[str, float], rates: dict[str, float]) -> float:
        return sum(losses.values()) + employment_loss(rates)

    def record(stage: str, r: int, losses: dict[str, float], rates: dict[str, float], values: dict[str, float]):
        history.append(
            {
                "round": r,
                "stage": stage,
                "loss": dict(losses),
                "employment_loss": employment_loss(rates),
                "shared": dict(values),
            }
        )

    def say(message: str) -> None:
        if on_stage:
            on_stage(message)

    with process_pool(max(1, workers)) as pool:  # a stop signal ends the workers at once
        origin = "the start's" if start is not None else "the baseline's"
        say(f"grid: fitting each community at {origin} shared values ({grid_evals} simulations each)")
        per_community, loss, out_industry, rates = fit_all(shared, per_community, grid_evals, pool)
        record("grid", 0, loss, rates, shared)
        say(f"  total loss {total(loss, rates):.1f} (employment {employment_loss(rates):.1f})")
        for key, bounds in SHARED.items():
            warm = per_community  # every trial starts from the fit at the grid's centre
            for trial in grid_values(shared[key], step, bounds):
                values = shared | {key: trial}
                fitted, losses, qs, trial_rates = fit_all(values, warm, grid_evals, pool)
                record("grid", 0, losses, trial_rates, values)
                say(f"  {key} = {trial:.2f}: total loss {total(losses, trial_rates):.1f}")
                if total(losses, trial_rates) < total(loss, rates):
                    shared, per_community, loss, out_industry, rates = values, fitted, losses, qs, trial_rates
            say(f"  {key} -> {shared[key]:.2f}")
        for r in range(rounds):
            say(f"round {r + 1}/{rounds}: fitting each community's labour demand and land")
            per_community, loss, out_industry, rates = fit_all(shared, per_community, community_evals, pool)
            record("communities", r + 1, loss, rates, shared)
            say(f"round {r + 1}/{rounds}: total loss {total(loss, rates):.1f}; moving the shared parameters")
            delta = step / 2 ** (r + 1)
            for key, (lo, hi) in SHARED.items():
                best = None
                for trial in (shared[key] - delta, shared[key] + delta):
                    if not lo <= trial <= hi:
                        continue
                    values = shared | {key: trial}
                    fitted, losses, qs, trial_rates = fit_all(values, per_community, refit_evals, pool)
                    value = total(losses, trial_rates)
                    if value < total(loss, rates) and (best is None or value < best[0]):
                        best = (value, values, fitted, losses, qs, trial_rates)
                if best is not None:
                    _, shared, per_community, loss, out_industry, rates = best
                    say(f"  {key} -> {shared[key]:.2f}: total loss {total(loss, rates):.1f}")
            record("shared", r + 1, loss, rates, shared)
    return CalibrationResult(
        shared, per_community, out_industry, loss, tuple(seeds), history, rates, dict(overrides or {})
    )


def grid_values(centre: float, step: float, bounds: tuple[float, float]) -> list[float]:
    """The grid's trial values for one shared constant: `centre` +/- `step` and +/- 2 `step`,
    those within `bounds`. Fixed before the trials run, so the grid stays centred on the
    starting value even when a trial is kept."""
    lo, hi = bounds
    return [centre + k * step for k in (-2, -1, 1, 2) if lo <= centre + k * step <= hi]


def _get(data: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        data = data[part]
    return data


def write_community_file(
    community: str,
    directory: Path,
    header: list[str],
    values: dict[str, Any],
    notes: dict[str, str],
    fitted_by: str = "calibrated to the 2020 survey",
) -> Path:
    """A surveyed community's calibrated scenario file (full size): `header` comment lines,
    the baseline it extends (by a path from `directory`), the profile's community section,
    and `values` (dotted keys) in their tables, each with the note `notes` gives its key;
    `fitted_by` goes into the description."""
    c = read_toml(COMMUNITY_DIR / f"{community}.toml")["community"]
    lines = [
        *header,
        f'extends = "{Path(os.path.relpath(SCENARIO_DIR / "baseline.toml", directory.resolve())).as_posix()}"',
        f'name = "calibrated_{community}"',
        f'description = "{c["name"]}, {fitted_by} ({SURVEY_YEARS} years after moving in)."',
        "",
        "[simulation]",
        f"years = {SURVEY_YEARS}                            # from moving in to the survey (assumption)",
        "",
        "[community]",
        *(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in c.items()),
        "",
    ]
    tables: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        table, name = key.rsplit(".", 1)
        tables.setdefault(table, {})[name] = value
    for table, entries in tables.items():
        lines.append(f"[{table}]")
        for name, value in entries.items():
            text = f"{value:.4f}" if isinstance(value, float) else json.dumps(value)
            note = notes.get(f"{table}.{name}", "")
            lines.append(f"{name} = {text}{'  # ' + note if note else ''}")
        lines.append("")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{community}.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_calibrated(result: CalibrationResult, directory: Path = CALIBRATED_DIR) -> list[Path]:
    """One scenario file per community (full size) and a JSON record of the fit."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    bounds = "; ".join(f"{k} in [{lo:g}, {hi:g}]" for k, (lo, hi) in {**PER_COMMUNITY, **SHARED}.items())
    notes = {key: "shared by all six communities" for key in SHARED}
    notes |= {key: "set for the fit (run.py calibrate --set)" for key in result.overrides}
    for community, params in result.per_community.items():
        header = [
            f"# {community}: calibrated to the 2020 survey by `python run.py calibrate` (analysis/calibration.py).",
            f"# Loss {result.loss[community]:.2f} (percentage points squared, five shares), seeds {list(result.seeds)}.",
            "# Fitted per community: local posts per 100 workers, the part-time farming constant, land kept at",
            "# the origin, and the sector of out-of-county jobs; shared by all six: the taste constants below,",
            "# chosen by the six share losses plus the pooled employment rate (docs/FIT.md).",
            f"# Bounds: {bounds}.",
            "# Income after relocation was not used: it is the out-of-sample check (run.py validate).",
        ]
        values = {**params, OUT_INDUSTRY: result.out_industry[community], **result.shared, **result.overrides}
        written.append(write_community_file(community, directory, header, values, notes))
    record = {
        "shared": result.shared,
        "per_community": result.per_community,
        "out_of_county_industry_share": result.out_industry,
        "loss": result.loss,
        "employment_rate": result.employment,
        "employment_loss": result.employment_loss,
        "total_loss": result.total_loss,
        "seeds": list(result.seeds),
        "bounds": {k: list(v) for k, v in {**PER_COMMUNITY, **SHARED}.items()},
        "history": result.history,
        "survey_years": SURVEY_YEARS,
        "calibration_people": CALIBRATION_PEOPLE,
        "overrides": result.overrides,
    }
    path = directory / "calibration.json"
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    written.append(path)
    return written
