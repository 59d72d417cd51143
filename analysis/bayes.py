"""Bayesian, likelihood-free calibration of the six surveyed communities (docs/FIT.md).

ABC-SMC (approximate Bayesian computation by sequential Monte Carlo) with pyabc: a prior
for every fitted parameter (`data/priors.toml`, each with its reason), the survey's
shares as summary statistics, a weighted Euclidean distance with stated weights, and the
population of accepted parameter sets as the posterior sample. pyabc keeps every
generation in an SQLite database, so a killed fit resumes from its last finished
generation, and it runs on a Dask cluster (local worker processes here).

What is fitted is deliberately smaller than what is observed: per community three
parameters (its local economy) against four independent shares, and four parameters
shared by all six, with the pooled employment rate as one more target. The holdout
(`data/holdout.toml`) is read by validation only, never here.

Randomness: each simulation's seed is a hash of its parameter values, so a parameter set
always gives the same statistics; pyabc's own proposals use NumPy's global generator,
seeded at the start (the order of accepted particles, and so the exact sample, depends on
how many workers share the work; the posterior it approximates does not).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import struct
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scenarios.loader import SCENARIO_DIR, override
from scenarios.loader import validate as validate_scenario
from scenarios.schema import Scenario

from .calibration import (
    CALIBRATED_DIR,
    COMMUNITIES,
    SURVEY_YEARS,
    community_data,
    observed,
    scale_community,
    write_community_file,
)
from .runner import simulate

PRIORS_PATH = SCENARIO_DIR.parent / "data" / "priors.toml"
POSTERIOR_CSV = "posterior.csv"
POSTERIOR_JSON = "posterior.json"
CENTRAL = "central"  # the folder, beside the posterior, of its central particle's community files
ABC_PEOPLE = 1_600  # relocated people simulated per community while fitting (the shares are scale-free)
STAT_KEYS = ("share_agriculture", "share_industry", "share_part_time", "share_out_of_county")
POOLED_EMPLOYMENT = "pooled.employment_rate"
OUT_SECTOR_PATH = "wages.out_of_county_industry_share"  # the sector mix of out-of-county jobs
SHARE_SD = 0.02  # the distance's unit for every statistic (see `distance_weights`)
SCOPES = ("shared", "per_community")
# The proposal kernel's variance as a multiple of pyabc's (Silverman's bandwidth times the
# population's variance). With 22 parameters under flat priors, an importance weight is
# prior / proposal density, and a narrow kernel (pyabc's default, 1) makes the proposal
# density vary so much over the accepted region that the weights collapse: in a measured fit
# the effective sample size fell from 200 to 10 after one generation and to 1 after five
# (docs/FIT.md). A wider kernel keeps the proposal nearly flat there, at the cost of a
# lower acceptance rate.
KERNEL_SCALE = 3.0
# "reflected" (the default): a diagonal normal kernel folded back into the prior's box;
# "normal": pyabc's multivariate normal kernel, proposals outside the box redrawn (the
# kernel of the earlier fits, docs/FIT.md). Why the first: `_reflected_transition_class`.
KERNELS = ("reflected", "normal")
KERNEL = "reflected"
_IMAGES = np.arange(-2, 3)  # reflections of a kernel centre kept in its density (|shift| <= 4 box widths)

log = logging.getLogger(__name__)


def _fast_transition_class() -> type:
    """`FastNormalTransition`, built when a fit needs pyabc."""
    import pyabc
    from pyabc.parameters import Parameter

    class FastNormalTransition(pyabc.MultivariateNormalTransition):
        """pyabc's multivariate normal kernel with the same proposal distribution, drawn in
        about a twentieth of the time: pyabc draws each proposal through a pandas row and
        `np.random.multivariate_normal` (which factorises the covariance every call), about
        0.3 ms, and most proposals of the wide kernel fall outside the prior's box and are
        redrawn (about 998 in 1,000 in a measured fit). Here the factor and the weights'
        cumulative sum are computed once per generation."""

        def fit(self, X: pd.DataFrame, w: np.ndarray) -> None:
            super().fit(X, w)
            values, vectors = np.linalg.eigh(self.cov)  # positive semi-definite, as numpy's own draw allows
            self._root = vectors * np.sqrt(np.clip(values, 0.0, None))
            self._cumulative = np.cumsum(np.asarray(self.w, dtype=float))
            self._cumulative /= self._cumulative[-1]
            self._columns = list(X.columns)

        def rvs_single(self) -> Parameter:
            i = min(int(np.searchsorted(self._cumulative, np.random.random(), side="right")), len(self._X_arr) - 1)
            z = self._X_arr[i] + self._root @ np.random.standard_normal(len(self._columns))
            return Parameter(dict(zip(self._columns, z.tolist(), strict=True)))

    return FastNormalTransition


def _reflected_transition_class() -> type:
    """`ReflectedNormalTransition`, built when a fit needs pyabc."""
    import pyabc
    from pyabc.parameters import Parameter
    from pyabc.transition.multivariatenormal import silverman_rule_of_thumb
    from pyabc.transition.util import smart_cov

    class ReflectedNormalTransition(pyabc.transition.Transition):
        """A diagonal normal kernel around each particle, folded back into the prior's box
        at its bounds (a reflection kernel: the boundary correction of kernel density
        estimation).

        Why: with a kernel that lets proposals fall outside the box (redrawn until one
        falls inside), the proposal density of a parameter the survey does not constrain
        drops to about half at the box's edges, where its prior does not; the importance
        weight prior / proposal then doubles near each bound, and with 22 bounded
        parameters a particle near a few of them carries the generation. Folded back, the
        proposal stays as flat as the population up to the bounds; no proposal is wasted.
        Measured on a 22-parameter test problem of the fit's shape (docs/FIT.md,
        benchmarks/measure_kernels.py): effective samples 124-161 of 200 over eight
        generations against 3.4-102 with the normal kernel at the same width, for about
        twice the simulations to the same epsilon; part of the gain is the diagonal itself
        (the normal kernel without correlations: 56-120). Diagonal, its density is a
        product over parameters of folded one-dimensional normals, each a sum over the
        reflected images of the centre (the fitted posterior's correlations stay below 0.5)."""

        def __init__(self, bounds: Mapping[str, tuple[float, float]], scaling: float = KERNEL_SCALE) -> None:
            self.bounds = dict(bounds)
            self.scaling = scaling

        def fit(self, X: pd.DataFrame, w: np.ndarray) -> None:
            if len(X) == 0:
                raise pyabc.transition.NotEnoughParticles("Fitting not possible.")
            self._columns = list(X.columns)
            self._low = np.array([self.bounds[c][0] for c in self._columns], dtype=float)
            self._high = np.array([self.bounds[c][1] for c in self._columns], dtype=float)
            self._X_arr = X.to_numpy(dtype=float)
            weights = np.asarray(w, dtype=float)
            weights = weights / weights.sum()
            variance = np.diag(np.atleast_2d(smart_cov(self._X_arr, weights)))
            factor = silverman_rule_of_thumb(1.0 / np.sum(weights**2), len(self._columns))
            width = self._high - self._low
            # wider than the box, a folded normal is flat anyway; keep it positive for the density
            self.sd = np.clip(np.sqrt(variance * self.scaling) * factor, 1e-9 * width, width)
            self._weights = weights
            # every centre's images under the folding, (particles, parameters, images): the density
            # sums the kernel over them; computed once a generation, used for every particle's weight
            shifts = 2.0 * width[:, None] * _IMAGES
            self._images = np.concatenate(
                (self._X_arr[:, :, None] + shifts, 2.0 * self._low[:, None] - self._X_arr[:, :, None] + shifts), axis=2
            )
            self._cumulative = np.cumsum(weights)
            self._cumulative /= self._cumulative[-1]

        def fold(self, z: np.ndarray) -> np.ndarray:
            """Points reflected back into the box, as often as needed."""
            width = self._high - self._low
            y = np.mod(z - self._low, 2.0 * width)
            return self._low + np.where(y > width, 2.0 * width - y, y)

        def rvs_single(self) -> Parameter:
            i = min(int(np.searchsorted(self._cumulative, np.random.random(), side="right")), len(self._X_arr) - 1)
            z = self._X_arr[i] + self.sd * np.random.standard_normal(len(self._columns))
            return Parameter(dict(zip(self._columns, self.fold(z).tolist(), strict=True)))

        def pdf(self, x: Any) -> float | np.ndarray:
            if isinstance(x, pd.DataFrame):
                return np.array([self._density(row) for row in x[self._columns].to_numpy(dtype=float)])
            return self._density(np.array([x[c] for c in self._columns], dtype=float))

        def _density(self, x: np.ndarray) -> float:
            if np.any(x < self._low) or np.any(x > self._high):
                return 0.0
            each = np.exp(-0.5 * ((x[:, None] - self._images) / self.sd[:, None]) ** 2).sum(-1)
            log_kernel = np.log(each / (self.sd * math.sqrt(2.0 * math.pi))).sum(axis=1)
            top = log_kernel.max()
            return float(math.exp(top) * np.sum(self._weights * np.exp(log_kernel - top)))

    return ReflectedNormalTransition


def transition(kind: str, bounds: Mapping[str, tuple[float, float]], scaling: float = KERNEL_SCALE) -> Any:
    """The proposal kernel of a fit: "reflected" (default) or pyabc's "normal" (see KERNELS)."""
    if kind == "reflected":
        return _reflected_transition_class()(bounds, scaling)
    if kind == "normal":
        return _fast_transition_class()(scaling=scaling)
    raise PriorError(f"kernel {kind!r}: expected one of {', '.join(KERNELS)}")


class _OutOfBoundsOnce(logging.Filter):
    """pyabc warns whenever 1,000 proposals in a row fall outside the priors' bounds, which
    the wide kernel does near a bound with 22 bounded parameters (each proposal is redrawn
    before anything is simulated; docs/FIT.md). Once per process says it; hundreds of the
    same line would bury the fit's progress."""

    def __init__(self) -> None:
        super().__init__()
        self.warned = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith("Unusually many (model, parameter) samples have prior density zero"):
            return True
        first, self.warned = not self.warned, True
        return first


# pyabc's logger, in the main process and in every worker (which imports this module to run the model)
logging.getLogger("ABC").addFilter(_OutOfBoundsOnce())


class PriorError(ValueError):
    """A priors file that cannot be used; the message names the file and the key."""


class BoundedRV:
    """Beta(a, b) rescaled to [low, high] (a = b = 1: uniform), as a pyabc random variable.

    The same distributions as pyabc's scipy-backed `RV`, with a density in plain arithmetic:
    pyabc checks the prior density of every proposal, and near a bound the wide kernel has
    almost all of them fall outside the box (about 999 in 1,000 in a measured fit), so the
    22 scipy density calls per proposal (0.7 ms) made a valid proposal cost more than its
    simulation."""

    def __init__(self, low: float, high: float, a: float = 1.0, b: float = 1.0) -> None:
        self.low, self.high, self.a, self.b = float(low), float(high), float(a), float(b)
        self.uniform = self.a == 1.0 and self.b == 1.0
        width = self.high - self.low
        self._log_norm = math.lgamma(self.a + self.b) - math.lgamma(self.a) - math.lgamma(self.b) - math.log(width)

    def copy(self) -> BoundedRV:
        return BoundedRV(self.low, self.high, self.a, self.b)

    def rvs(self, *args: Any, **kwargs: Any) -> float:
        # NumPy's global generator, which pyabc seeds and draws from
        u = np.random.random() if self.uniform else np.random.beta(self.a, self.b)
        return self.low + (self.high - self.low) * float(u)

    def pdf(self, x: float, *args: Any, **kwargs: Any) -> float:
        if self.uniform:
            return 1.0 / (self.high - self.low) if self.low <= x <= self.high else 0.0
        if not self.low < x < self.high:  # the bounds themselves have probability zero
            return 0.0
        u = (x - self.low) / (self.high - self.low)
        return math.exp(self._log_norm + (self.a - 1) * math.log(u) + (self.b - 1) * math.log1p(-u))

    def pmf(self, x: float, *args: Any, **kwargs: Any) -> float:
        return self.pdf(x)

    def cdf(self, x: float, *args: Any, **kwargs: Any) -> float:
        from scipy import stats

        return float(stats.beta.cdf(x, self.a, self.b, loc=self.low, scale=self.high - self.low))


@dataclass(frozen=True)
class Prior:
    """The prior of one fitted parameter.

    Attributes:
        name: short name (per-community parameters are named `<community>.<name>` in a fit).
        path: the scenario key it sets (dotted).
        scope: "shared" (one value for all communities) or "per_community".
        distribution: "uniform" on [low, high], or "beta" with shapes (a, b) rescaled to [low, high].
        reason: why this prior (its source or the stated assumption).
    """

    name: str
    path: str
    scope: str
    distribution: str
    low: float
    high: float
    a: float = 1.0
    b: float = 1.0
    reason: str = ""

    def rv(self) -> BoundedRV:
        """The random variable pyabc samples and weighs with."""
        a, b = (1.0, 1.0) if self.distribution == "uniform" else (self.a, self.b)
        return BoundedRV(self.low, self.high, a, b)

    def interval(self, level: float = 0.9) -> tuple[float, float]:
        """Central interval of the prior itself (to judge how much the data narrowed it)."""
        from scipy import stats

        tail = (1 - level) / 2
        if self.distribution == "uniform":
            dist = stats.uniform(self.low, self.high - self.low)
        else:
            dist = stats.beta(self.a, self.b, loc=self.low, scale=self.high - self.low)
        return float(dist.ppf(tail)), float(dist.ppf(1 - tail))


def read_priors(path: Path = PRIORS_PATH) -> tuple[Prior, ...]:
    """The priors, checked: every entry has a path, a known distribution, low < high, a reason."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PriorError(f"{path}: cannot read the priors ({exc})") from None
    priors = []
    for scope in SCOPES:
        table = data.get(scope, {})
        if not isinstance(table, dict):
            raise PriorError(f"{path}: `{scope}` must be a table of priors")
        for name, entry in table.items():
            where = f"{path}: [{scope}.{name}]"
            if not isinstance(entry, dict):
                raise PriorError(f"{where} must be a table")
            unknown = set(entry) - {"path", "distribution", "low", "high", "a", "b", "reason"}
            if unknown:
                raise PriorError(f"{where}: unknown key(s) {sorted(unknown)}")
            for key in ("path", "distribution", "low", "high", "reason"):
                if key not in entry:
                    raise PriorError(f"{where}: key `{key}` missing")
            dist = entry["distribution"]
            if dist not in ("uniform", "beta"):
                raise PriorError(f'{where}: distribution "{dist}"; expected "uniform" or "beta"')
            try:
                low, high = float(entry["low"]), float(entry["high"])
                a, b = float(entry.get("a", 1.0)), float(entry.get("b", 1.0))
            except (TypeError, ValueError):
                raise PriorError(f"{where}: low, high, a and b must be numbers") from None
            if not low < high:
                raise PriorError(f"{where}: low ({low:g}) must be below high ({high:g})")
            if dist == "beta" and not (a > 0 and b > 0):
                raise PriorError(f"{where}: beta shapes a and b must be positive")
            priors.append(Prior(name, str(entry["path"]), scope, dist, low, high, a, b, str(entry["reason"])))
    if not priors:
        raise PriorError(f"{path}: no priors; expected [shared.<name>] or [per_community.<name>] tables")
    return tuple(priors)


def survey_statistics(communities: tuple[str, ...] = COMMUNITIES) -> dict[str, float]:
    """The observed summary statistics: each community's four independent shares and the
    employment rate pooled over the communities by labour force (capped at 1 per community)."""
    obs = observed()
    stats = {f"{c}.{k}": float(obs.loc[c, k]) for c in communities for k in STAT_KEYS}
    rows = obs.loc[list(communities)]
    stats[POOLED_EMPLOYMENT] = float(np.average(rows["employment_rate"], weights=rows["relocated_labour_force"]))
    return stats


def out_of_county_sector_bounds(
    statistics: Mapping[str, float] | None = None,
    communities: tuple[str, ...] = COMMUNITIES,
    part_time_away: float = 0.0,
) -> pd.DataFrame:
    """The shares of out-of-county jobs in industry that each community's survey shares allow,
    before any simulation, and the range left for one share shared by all (row `shared`).

    Farming at the origin is local, so the out-of-county workers (less the part-timers
    counted there, `part_time_away` of each community's part-time share, at most all of
    them) hold industry and service jobs only: their industry share s must satisfy
    s x away <= industry and (1 - s) x away <= services. With part-timers all local
    (`part_time_away` = 0, the model's part-time work), the bounds are what no parameter
    of the fit can move. `low` > `high` in the shared row: no shared mix fits every community.
    """
    if not 0.0 <= part_time_away <= 1.0:
        raise ValueError(f"part_time_away = {part_time_away}: expected a share in [0, 1]")
    stats = survey_statistics(communities) if statistics is None else statistics
    rows = {}
    for c in communities:
        agriculture, industry = stats[f"{c}.share_agriculture"], stats[f"{c}.share_industry"]
        part_time, out = stats[f"{c}.share_part_time"], stats[f"{c}.share_out_of_county"]
        services = 1.0 - agriculture - industry - part_time
        away = out - min(part_time_away * part_time, out)
        low = max(0.0, 1.0 - services / away) if away > 0 else 0.0
        high = min(1.0, industry / away) if away > 0 else 1.0
        rows[c] = {"non_farm_away": away, "industry": industry, "services": services, "low": low, "high": high}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.loc["shared", ["low", "high"]] = [table["low"].max(), table["high"].min()]
    return table


def sector_mix_conflict(problem: Problem) -> str | None:
    """A sentence saying which communities' shares no shared sector mix of out-of-county
    jobs can fit (with part-time work local), or None when a shared mix can fit them all or
    the mix is not a shared parameter of `problem`: said before a fit, so that a miss in the
    predictive check is read as the model's structure, not as a fit stopped too early."""
    shared = [p.name for p in problem.priors if p.path == OUT_SECTOR_PATH and p.scope == "shared"]
    needed = {f"{c}.{k}" for c in problem.communities for k in STAT_KEYS}
    if not shared or len(problem.communities) < 2 or not needed <= problem.observed.keys():
        return None
    bounds = out_of_county_sector_bounds(problem.observed, problem.communities).drop(index="shared")
    low_at, high_at = bounds["low"].idxmax(), bounds["high"].idxmin()
    low, high = bounds.loc[low_at, "low"], bounds.loc[high_at, "high"]
    if low <= high:
        return None
    return (
        f"with part-time work local, the survey's shares allow no shared {shared[0]}: at least {low:.2f} in "
        f"{low_at}, at most {high:.2f} in {high_at} (docs/FIT.md), so some community's sector shares stay outside "
        "their intervals however long the fit runs"
    )


def distance_weights(names: list[str]) -> dict[str, float]:
    """Weight 1 / `SHARE_SD` for every statistic: a share differs by about two points
    between runs of a 1,600-person community (binomial sd of a share near 0.3 among its
    roughly 600 employed workers is 1.9 points), far more than the survey's own sampling
    error, so each statistic counts in units of that noise and all count alike."""
    return dict.fromkeys(names, 1.0 / SHARE_SD)


def seed_of(params: Mapping[str, float]) -> int:
    """A seed from the parameter values: the same parameter set gives the same simulation."""
    digest = hashlib.blake2b(digest_size=8)
    for name in sorted(params):
        digest.update(name.encode())
        digest.update(struct.pack("<d", float(params[name])))
    return int.from_bytes(digest.digest(), "little") % (2**31 - 1)


@dataclass(frozen=True)
class Problem:
    """What is fitted to what.

    Attributes:
        communities: the communities simulated.
        priors: one prior per parameter (per-community priors are repeated per community).
        observed: the summary statistics to reach (`survey_statistics`, or a simulation's
            own for a test of the method).
        people: relocated people simulated per community.
        years: years simulated (the survey's horizon).
        overrides: fixed settings on every community's scenario (dotted keys).
        months: months simulated instead of `years` (a short horizon for tests).
    """

    communities: tuple[str, ...]
    priors: tuple[Prior, ...]
    observed: dict[str, float]
    people: int = ABC_PEOPLE
    years: int = SURVEY_YEARS
    overrides: dict[str, Any] = field(default_factory=dict)
    months: int | None = None

    @property
    def names(self) -> list[str]:
        """Parameter names: shared ones, then `<community>.<name>` for each community."""
        shared = [p.name for p in self.priors if p.scope == "shared"]
        local = [f"{c}.{p.name}" for c in self.communities for p in self.priors if p.scope == "per_community"]
        return shared + local

    def prior_of(self, name: str) -> Prior:
        """The prior behind a parameter name."""
        short = name.rsplit(".", 1)[-1]
        return next(p for p in self.priors if p.name == short)

    def distribution(self) -> Any:
        """The joint prior as a pyabc Distribution."""
        import pyabc

        return pyabc.Distribution(**{name: self.prior_of(name).rv() for name in self.names})

    def settings_for(self, params: Mapping[str, float], community: str) -> dict[str, float]:
        """The scenario keys a parameter set gives one community (shared + its own)."""
        out = {}
        for p in self.priors:
            key = p.name if p.scope == "shared" else f"{community}.{p.name}"
            if key in params:
                out[p.path] = float(params[key])
        return out

    def bounds(self) -> dict[str, tuple[float, float]]:
        """Each fitted parameter's prior box (the reflected kernel folds proposals back into it)."""
        return {name: (self.prior_of(name).low, self.prior_of(name).high) for name in self.names}

    def describe(self) -> dict[str, Any]:
        """What identifies the problem (stored beside the database to check a resume)."""
        return {
            "communities": list(self.communities),
            "names": self.names,
            "paths": {p.name: p.path for p in self.priors},
            "people": self.people,
            "years": self.years,
            "months": self.months,
            "overrides": self.overrides,
            "observed": self.observed,
        }


def survey_problem(
    priors: tuple[Prior, ...] | None = None,
    people: int = ABC_PEOPLE,
    overrides: dict[str, Any] | None = None,
) -> Problem:
    """The six surveyed communities against the survey."""
    return Problem(COMMUNITIES, priors or read_priors(), survey_statistics(), people, overrides=dict(overrides or {}))


@cache
def _base_scenario(community: str, people: int, years: int, overrides_json: str) -> Scenario:
    """A community's validated scenario at the fitting size (cached per worker process)."""
    data = community_data(community, scaled=False, overrides=json.loads(overrides_json))
    scale_community(data, people)
    data["simulation"]["years"] = years
    return validate_scenario(data, f"calibration of {community}")


def simulate_communities(problem: Problem, params: Mapping[str, float], seed: int) -> dict[str, dict[str, float]]:
    """Final-month indicators of every community of `problem` at a parameter set."""
    overrides_json = json.dumps(problem.overrides, sort_keys=True)
    out = {}
    for community in problem.communities:
        base = _base_scenario(community, problem.people, problem.years, overrides_json)
        scenario = override(base, problem.settings_for(params, community), f"calibration of {community}")
        out[community] = simulate(scenario, seed, months=problem.months, final_only=True).flat
    return out


def statistics_of(problem: Problem, finals: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Summary statistics from each community's final month (NaN-free: a share with nobody
    to share over counts as 0, which the distance then penalises)."""
    stats = {}
    labour, employed = 0.0, 0.0
    for community in problem.communities:
        flat = finals[community]
        for key in STAT_KEYS:
            value = float(flat[key])
            stats[f"{community}.{key}"] = value if math.isfinite(value) else 0.0
        labour += float(flat["labour_force"])
        employed += float(flat["employed"])
    stats[POOLED_EMPLOYMENT] = employed / labour if labour else 0.0
    return {k: stats[k] for k in problem.observed}


@dataclass
class Simulator:
    """The model as pyabc sees it: parameters in, summary statistics out (picklable)."""

    problem: Problem

    def __call__(self, params: Mapping[str, float]) -> dict[str, float]:
        values = {k: float(params[k]) for k in self.problem.names}
        return statistics_of(self.problem, simulate_communities(self.problem, values, seed_of(values)))


@dataclass
class FitResult:
    """A finished (or stopped) ABC-SMC fit.

    Attributes:
        posterior: one row per accepted particle of the last generation: `weight` and each parameter.
        generations: per generation: epsilon, accepted particles, simulations, acceptance rate.
        problem: what was fitted.
        seconds: wall time of this call.
        database: where the history is kept.
    """

    posterior: pd.DataFrame
    generations: pd.DataFrame
    problem: Problem
    seconds: float
    database: Path
    workers: int = 1
    fit_seconds: float = 0.0  # the stored generations' own wall times (the calibration sample included)

    @property
    def simulations(self) -> int:
        """Parameter sets simulated over all generations."""
        return int(self.generations["simulations"].sum())


def _sampler(workers: int, address: str | None) -> tuple[Any, Callable[[bool], None]]:
    """A pyabc sampler and how to close it (told whether the fit is being stopped): one
    process, or a Dask cluster (`analysis.executors.dask_client`)."""
    import pyabc

    if workers == 1 and address is None:
        return pyabc.sampler.SingleCoreSampler(), lambda stopping: None
    from .executors import dask_client

    stopping = [True]
    context = dask_client(workers, address, stopping, abrupt=True)
    client = context.__enter__()

    def close(stopped: bool) -> None:
        stopping[0] = stopped
        context.__exit__(None, None, None)

    return pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=1), close


def _check_resume(database: Path, problem: Problem) -> None:
    sidecar = database.with_suffix(".json")
    if not sidecar.exists():
        raise PriorError(f"{database}: no {sidecar.name} beside it; cannot tell which fit it holds (start afresh)")
    stored = json.loads(sidecar.read_text(encoding="utf-8"))
    now = json.loads(json.dumps(problem.describe()))
    differ = sorted(k for k in now if stored.get(k) != now[k])
    if differ:
        raise PriorError(
            f"{database}: the stored fit differs from this one in {differ}; resume only the same fit (or use a new --db)"
        )


def fit(
    problem: Problem,
    database: Path,
    population: int = 200,
    generations: int = 8,
    workers: int = 1,
    address: str | None = None,
    walltime: timedelta | None = None,
    minimum_epsilon: float = 0.0,
    seed: int = 1,
    resume: bool = False,
    overwrite: bool = False,
    kernel_scale: float = KERNEL_SCALE,
    kernel: str = KERNEL,
) -> FitResult:
    """Run (or resume) ABC-SMC until `generations` generations in all, `walltime`, or `minimum_epsilon`.

    `walltime` is checked between generations: none starts after it, the one running
    finishes. (Running one generation per call would keep to time exactly, but pyabc then
    does not lower epsilon between calls, wasting every other generation.) On a resume,
    the first generation reuses the last epsilon.

    A fresh fit refuses an existing `database` unless `overwrite`; `resume` continues the
    fit stored there (it must be the same problem) from its last finished generation: a
    generation cut short by a kill is simply sampled again.
    """
    import time

    import pyabc

    if kernel not in KERNELS:
        raise PriorError(f"kernel {kernel!r}: expected one of {', '.join(KERNELS)}")
    database = database.resolve()
    if database.exists() and not (resume or overwrite):
        raise PriorError(
            f"{database}: holds a fit already; continue it with --resume, or start afresh with --overwrite"
        )
    database.parent.mkdir(parents=True, exist_ok=True)
    np.random.seed(seed)  # pyabc draws its proposals from NumPy's global generator
    distance = pyabc.PNormDistance(p=2, fixed_weights=distance_weights(list(problem.observed)))
    sampler, close = _sampler(workers, address)
    start = time.perf_counter()
    stopped = True
    try:
        abc = pyabc.ABCSMC(
            Simulator(problem),
            problem.distribution(),
            distance,
            population_size=population,
            sampler=sampler,
            transitions=transition(kernel, problem.bounds(), kernel_scale),
        )
        url = f"sqlite:///{database}"
        done = 0
        if resume and database.exists():
            _check_resume(database, problem)
            runs = pyabc.History(url).all_runs()
            run_id = max(r.id for r in runs)
            history = abc.load(url, run_id)
            done = history.max_t + 1
        else:
            if database.exists():
                database.unlink()
            abc.new(url, problem.observed)
            database.with_suffix(".json").write_text(json.dumps(problem.describe(), indent=1), encoding="utf-8")
        history = abc.history
        if generations > done:
            history = abc.run(
                minimum_epsilon=minimum_epsilon, max_nr_populations=generations - done, max_walltime=walltime
            )
        stopped = False
    finally:
        close(stopped)
    return _result(history, problem, time.perf_counter() - start, database, workers)


def _result(history: Any, problem: Problem, seconds: float, database: Path, workers: int) -> FitResult:
    frame, weights = history.get_distribution()
    posterior = frame[problem.names].reset_index(drop=True)
    posterior.insert(0, "weight", np.asarray(weights) / np.sum(weights))
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    generations = pd.DataFrame(
        {
            "generation": pops["t"].astype(int).to_numpy(),
            "epsilon": pops["epsilon"].to_numpy(),
            "particles": pops["particles"].astype(int).to_numpy(),
            "simulations": pops["samples"].astype(int).to_numpy(),
        }
    )
    generations["acceptance"] = generations["particles"] / generations["simulations"]
    ess = []
    for t in generations["generation"]:
        _, w = history.get_distribution(t=int(t))
        w = np.asarray(w, dtype=float) / np.sum(w)
        ess.append(float(1.0 / np.sum(w**2)))
    generations["effective_sample_size"] = ess
    stored = history.get_all_populations()["wall_time"].fillna(0.0).sum()  # every generation, over all resumes
    return FitResult(posterior, generations, problem, seconds, database, workers, float(stored))


def load_history(database: Path, problem: Problem) -> FitResult:
    """The fit stored in `database` (its last finished generation), without running anything."""
    import pyabc

    _check_resume(database, problem)
    history = pyabc.History(f"sqlite:///{database.resolve()}")
    history.id = max(r.id for r in history.all_runs())
    return _result(history, problem, 0.0, database, 1)


# --- the posterior as files, and drawing from it ------------------------------------------


def write_posterior(result: FitResult, directory: Path = CALIBRATED_DIR) -> list[Path]:
    """`posterior.csv` (the weighted sample, one column per parameter, named `<name>` for shared
    and `<community>.<name>` for per-community parameters) and `posterior.json` (the priors,
    what was fitted, how the fit went)."""
    directory.mkdir(parents=True, exist_ok=True)
    csv = directory / POSTERIOR_CSV
    result.posterior.to_csv(csv, index=False, float_format="%.6g")
    problem = result.problem
    record = {
        "method": "ABC-SMC (pyabc), weighted Euclidean distance, adaptive epsilon (median)",
        "communities": list(problem.communities),
        "parameters": {
            name: {"path": problem.prior_of(name).path, "scope": problem.prior_of(name).scope} for name in problem.names
        },
        "priors": {
            p.name: {
                "distribution": p.distribution,
                "low": p.low,
                "high": p.high,
                **({"a": p.a, "b": p.b} if p.distribution == "beta" else {}),
                "reason": p.reason,
            }
            for p in problem.priors
        },
        "observed": problem.observed,
        "distance_sd": SHARE_SD,
        "people_per_community": problem.people,
        "years": problem.years,
        "overrides": problem.overrides,
        "generations": result.generations.to_dict(orient="records"),
        "simulations": result.simulations,
        "seconds_this_call": round(result.seconds, 1),
        "seconds_all_generations": round(result.fit_seconds, 1),
        "workers": result.workers,
    }
    js = directory / POSTERIOR_JSON
    js.write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
    return [csv, js, *write_presets(read_posterior(directory), directory / CENTRAL)]


@dataclass(frozen=True)
class Posterior:
    """A posterior sample on disk, ready to draw parameter sets from."""

    sample: pd.DataFrame  # weight + one column per parameter
    paths: dict[str, str]  # parameter name -> scenario key
    scopes: dict[str, str]
    communities: tuple[str, ...]
    source: Path
    priors: dict[str, Prior] = field(default_factory=dict)  # by short name
    overrides: dict[str, Any] = field(default_factory=dict)  # fixed settings of the fit (`calibrate --set`)

    def settings(self, row: int, community: str | None) -> dict[str, float]:
        """The scenario keys of particle `row` for a community (`None` or a community not
        fitted: the shared parameters only)."""
        out = {}
        for name, path in self.paths.items():
            if self.scopes[name] == "shared" or (community is not None and name.startswith(f"{community}.")):
                out[path] = float(self.sample.at[row, name])
        return out

    def weighted_correlations(self) -> pd.DataFrame:
        """Weighted correlation matrix of the parameters (what trades off against what)."""
        w = self.sample["weight"].to_numpy(dtype=float)
        x = self.sample[list(self.paths)].to_numpy(dtype=float)
        cov = np.cov(x, rowvar=False, aweights=w)
        sd = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(sd, sd)
        return pd.DataFrame(corr, index=list(self.paths), columns=list(self.paths))

    def draw(self, n: int, seed: int) -> np.ndarray:
        """Row numbers of `n` particles drawn by weight (with replacement) from a seeded generator."""
        rng = np.random.default_rng(seed)
        w = self.sample["weight"].to_numpy(dtype=float)
        return rng.choice(len(w), size=n, replace=True, p=w / w.sum())

    def summary(self) -> pd.DataFrame:
        """Weighted mean, sd and 5/50/95 % quantiles of every parameter."""
        w = self.sample["weight"].to_numpy(dtype=float)
        w = w / w.sum()
        rows = []
        for name in self.paths:
            x = self.sample[name].to_numpy(dtype=float)
            order = np.argsort(x)
            cum = np.cumsum(w[order])
            q = [float(x[order][min(np.searchsorted(cum, p), x.size - 1)]) for p in (0.05, 0.5, 0.95)]
            mean = float(np.sum(w * x))
            rows.append(
                {
                    "parameter": name,
                    "path": self.paths[name],
                    "mean": mean,
                    "sd": float(np.sqrt(np.sum(w * (x - mean) ** 2))),
                    "q05": q[0],
                    "median": q[1],
                    "q95": q[2],
                }
            )
        return pd.DataFrame(rows)


def read_posterior(directory: Path = CALIBRATED_DIR) -> Posterior:
    """The posterior written by `write_posterior`; errors name the file and what is wrong."""
    csv, js = directory / POSTERIOR_CSV, directory / POSTERIOR_JSON
    for path in (csv, js):
        if not path.exists():
            raise PriorError(f"{path}: not found; run `python run.py calibrate` to write the posterior")
    try:
        record = json.loads(js.read_text(encoding="utf-8"))
        params = record["parameters"]
        communities = tuple(record["communities"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PriorError(f"{js}: not a posterior record written by `calibrate` ({exc})") from None
    sample = pd.read_csv(csv)
    missing = [c for c in ("weight", *params) if c not in sample.columns]
    if missing:
        raise PriorError(f"{csv}: column(s) {missing} missing; expected weight and every parameter of {js.name}")
    if len(sample) == 0 or not np.isfinite(sample[["weight", *params]].to_numpy(dtype=float)).all():
        raise PriorError(f"{csv}: empty, or a weight or parameter that is not a finite number")
    if (sample["weight"] < 0).any() or sample["weight"].sum() <= 0:
        raise PriorError(f"{csv}: weights must be non-negative and not all zero")
    paths = {name: v["path"] for name, v in params.items()}
    scopes = {name: v["scope"] for name, v in params.items()}
    priors = {}
    for short, p in record.get("priors", {}).items():
        path = next((paths[n] for n in paths if n.rsplit(".", 1)[-1] == short), "")
        scope = next((scopes[n] for n in paths if n.rsplit(".", 1)[-1] == short), "shared")
        priors[short] = Prior(
            short, path, scope, p["distribution"], p["low"], p["high"], p.get("a", 1.0), p.get("b", 1.0), p["reason"]
        )
    return Posterior(sample, paths, scopes, communities, csv, priors, dict(record.get("overrides") or {}))


def central_particle(posterior: Posterior) -> int:
    """The row of the posterior's most central particle: the one nearest, in posterior
    standard deviations summed over every parameter, to the weighted medians. A joint
    draw the fit accepted (medians taken one parameter at a time need not be one), for
    the places that need a single parameter set."""
    summary = posterior.summary().set_index("parameter")
    names = list(posterior.paths)
    x = posterior.sample[names].to_numpy(dtype=float)
    sd = summary.loc[names, "sd"].to_numpy(dtype=float)
    z = (x - summary.loc[names, "median"].to_numpy(dtype=float)) / np.where(sd > 0, sd, 1.0)
    return int(np.argmin((z**2).sum(axis=1)))


def write_presets(posterior: Posterior, directory: Path = CALIBRATED_DIR / CENTRAL) -> list[Path]:
    """One scenario file per fitted community at the posterior's central particle
    (`central_particle`), for what needs a single parameter set from the posterior (e.g.
    `validate --method point --calibrated scenarios/calibrated/central`); `compare
    --posterior` carries the whole posterior instead. Not yet the app's presets or the
    policy tests' calibrated communities (docs/FIT.md, "What is left")."""
    row = central_particle(posterior)
    shared = [name for name in posterior.paths if posterior.scopes[name] == "shared"]
    notes = {posterior.paths[name]: "shared by all six communities" for name in shared}
    notes |= {key: "set for the fit (run.py calibrate --set)" for key in posterior.overrides}
    written = []
    for community in posterior.communities:
        header = [
            f"# {community}: the posterior's central particle (row {row} of {posterior.source.name}: the one",
            "# nearest to every parameter's posterior median, in posterior standard deviations), written by",
            "# `python run.py calibrate` (analysis/bayes.py, docs/FIT.md).",
            "# One parameter set for what needs one (e.g. `validate --method point --calibrated` this folder);",
            "# `compare --posterior N` carries the whole posterior (docs/FIT.md).",
            "# The pre-registered holdout (data/holdout.toml) played no part in the fit.",
        ]
        values = {**posterior.settings(row, community), **posterior.overrides}
        fitted_by = "the central particle of the posterior fitted to the 2020 survey"
        written.append(write_community_file(community, directory, header, values, notes, fitted_by))
    return written


def identifiability(posterior: Posterior, level: float = 0.9) -> pd.DataFrame:
    """How much the survey pins down each parameter: its posterior interval's width as a
    share of the prior's (near 1: the data say little; small: well identified), and the
    parameter it is most correlated with in the posterior (a trade-off the data cannot
    resolve shows as a strong correlation)."""
    summary = posterior.summary().set_index("parameter")
    corr = posterior.weighted_correlations()
    rows = []
    for name in posterior.paths:
        prior = posterior.priors[name.rsplit(".", 1)[-1]]
        lo, hi = prior.interval(level)
        others = corr.loc[name].drop(name).abs()
        partner = str(others.idxmax()) if len(others) and others.notna().any() else ""
        rows.append(
            {
                "parameter": name,
                "prior_low": lo,
                "prior_high": hi,
                "posterior_low": summary.loc[name, "q05"],
                "posterior_median": summary.loc[name, "median"],
                "posterior_high": summary.loc[name, "q95"],
                "width_ratio": (summary.loc[name, "q95"] - summary.loc[name, "q05"]) / (hi - lo),
                "most_correlated_with": partner,
                "correlation": float(corr.loc[name, partner]) if partner else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def pair_figure(posterior: Posterior, names: list[str]):
    """Pair plot of some parameters: weighted histograms on the diagonal, particles (size by
    weight) below it, with each prior's range as the axis limits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(names)
    fig, axes = plt.subplots(k, k, figsize=(2.0 * k, 2.0 * k), squeeze=False)
    w = posterior.sample["weight"].to_numpy(dtype=float)
    for i, a in enumerate(names):
        prior_a = posterior.priors[a.rsplit(".", 1)[-1]]
        for j, b in enumerate(names):
            ax = axes[i][j]
            prior_b = posterior.priors[b.rsplit(".", 1)[-1]]
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                ax.hist(posterior.sample[a], bins=20, weights=w, range=(prior_a.low, prior_a.high), color="#4c72b0")
                ax.set_xlim(prior_a.low, prior_a.high)
                ax.set_yticks([])
            else:
                ax.scatter(posterior.sample[b], posterior.sample[a], s=4 + 400 * w, alpha=0.5, color="#4c72b0")
                ax.set_xlim(prior_b.low, prior_b.high)
                ax.set_ylim(prior_a.low, prior_a.high)
            if i == k - 1:
                ax.set_xlabel(b.replace(".", "\n"), fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(a.replace(".", "\n"), fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle("Posterior, axes spanning each prior's range", fontsize=9)
    fig.tight_layout()
    return fig
