"""The statistics of a comparison, kept apart from the model so they can be checked on
synthetic data: t intervals and tests of paired differences, adjustment of a family of
intervals for multiplicity, equivalence by two one-sided tests, Fieller intervals for
cost-effectiveness ratios, and a sequential rule for the number of replicates.

docs/ANALYSIS.md states each method and its reference.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05  # two-sided 95 % intervals; one-sided tests at 5 %
Adjust = Literal["auto", "none", "holm", "bh"]
ADJUSTMENTS: tuple[str, ...] = ("auto", "none", "holm", "bh")
METHOD_NAMES = {
    "none": "no adjustment",
    "holm": "Holm (family-wise error); intervals Bonferroni-simultaneous",
    "bh": "Benjamini-Hochberg (false discovery rate); intervals FCR-adjusted (Benjamini-Yekutieli)",
}


class FewReplicatesWarning(UserWarning):
    """Fewer than two replicates: no interval, no test."""


@dataclass(frozen=True)
class TSummary:
    """Mean and standard error of the mean of a sample (NaNs dropped)."""

    n: int
    mean: float
    se: float

    @classmethod
    def of(cls, values: np.ndarray | pd.Series) -> TSummary:
        """Summarise a sample; the standard error is NaN with fewer than two values."""
        x = np.asarray(values, dtype=float)
        x = x[np.isfinite(x)]
        if x.size == 0:
            return cls(0, float("nan"), float("nan"))
        se = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")
        return cls(int(x.size), float(x.mean()), se)

    def interval(self, level: float = 1 - ALPHA) -> tuple[float, float]:
        """Two-sided t interval at `level`; (NaN, NaN) with fewer than two values."""
        if self.n < 2:
            return float("nan"), float("nan")
        half = float(stats.t.ppf(0.5 + level / 2, self.n - 1)) * self.se
        return self.mean - half, self.mean + half

    def pvalue(self, null: float = 0.0, alternative: str = "two-sided") -> float:
        """p-value of the one-sample t test of mean == `null` ("greater": the alternative
        is mean > null; "less": mean < null). NaN with fewer than two values; with no
        spread at all the test is decided by the sign of mean - null."""
        if self.n < 2:
            return float("nan")
        gap = self.mean - null
        if self.se == 0:
            if alternative == "two-sided":
                return 1.0 if gap == 0 else 0.0
            return 0.0 if (gap > 0 if alternative == "greater" else gap < 0) else 1.0
        t = gap / self.se
        if alternative == "greater":
            return float(stats.t.sf(t, self.n - 1))
        if alternative == "less":
            return float(stats.t.cdf(t, self.n - 1))
        return float(2 * stats.t.sf(abs(t), self.n - 1))


def resolve_adjust(adjust: str, comparisons: int) -> str:
    """`auto` is Holm when more than one scenario is compared with the base, none otherwise."""
    if adjust not in ADJUSTMENTS:
        raise ValueError(f"unknown adjustment {adjust!r}; expected one of {', '.join(ADJUSTMENTS)}")
    if adjust == "auto":
        return "holm" if comparisons > 1 else "none"
    return adjust


@dataclass(frozen=True)
class Adjusted:
    """A family's tests and the confidence level of each of its intervals."""

    p_adjusted: np.ndarray  # NaN outside the family
    reject: np.ndarray  # bool
    level: np.ndarray  # confidence level of each member's interval
    family: int  # members (finite p-values)


def adjust_family(pvalues: np.ndarray, method: str, alpha: float = ALPHA) -> Adjusted:
    """Adjust a family of two-sided tests and say at which level to draw each interval.

    - none: each test at `alpha`, each interval at 1 - alpha.
    - holm: Holm's step-down adjusted p-values (statsmodels); every interval at
      1 - alpha/m (Bonferroni), so the m intervals cover all m true values together with
      probability >= 1 - alpha.
    - bh: Benjamini-Hochberg adjusted p-values (statsmodels); with R rejections every
      interval at 1 - max(R, 1) alpha/m, the false-coverage-rate adjusted intervals of
      Benjamini & Yekutieli (2005), which exclude 0 exactly where BH rejects.

    Members with a NaN p-value (fewer than two replicates) are left out of the family.
    Every level is >= 1 - alpha, so no adjusted interval is narrower than the unadjusted one.
    """
    p = np.asarray(pvalues, dtype=float)
    inside = np.isfinite(p)
    m = int(inside.sum())
    p_adj = np.full(p.shape, np.nan)
    reject = np.zeros(p.shape, dtype=bool)
    level = np.full(p.shape, 1 - alpha)
    if m == 0:
        return Adjusted(p_adj, reject, level, 0)
    if method == "none":
        p_adj[inside] = p[inside]
        reject[inside] = p[inside] < alpha
        return Adjusted(p_adj, reject, level, m)
    from statsmodels.stats.multitest import multipletests

    name = {"holm": "holm", "bh": "fdr_bh"}[method]
    gc.freeze()  # statsmodels' Holm runs gc.collect(): keep it from walking the whole heap
    try:
        rej, corrected, _, _ = multipletests(p[inside], alpha=alpha, method=name)
    finally:
        gc.unfreeze()
    p_adj[inside], reject[inside] = corrected, rej
    if method == "holm":
        level[:] = 1 - alpha / m
    else:
        level[:] = 1 - max(int(rej.sum()), 1) * alpha / m
    return Adjusted(p_adj, reject, level, m)


# --- equivalence: two one-sided tests -------------------------------------------------

EQUIVALENT, NO_WORSE, WORSE, DIFFERENT, INCONCLUSIVE = (
    "equivalent",
    "no worse than",
    "worse",
    "not equivalent",
    "inconclusive",
)


def equivalence_pvalues(summary: TSummary, margin: float, better: str | None) -> dict[str, float]:
    """One-sided t-test p-values of a paired difference d against the margin m.

    - tost: max of the tests of d > -m and d < m (Schuirmann's two one-sided tests):
      small when -m < d < m, equivalence.
    - no_harm: the test of "d is better than -m in the harmful direction" (d > -m when
      higher is better, d < m when lower is better): non-inferiority.
    - harm: the test of "d is worse than the margin" (d < -m, or d > m): clearly worse.
    For an indicator with no better direction, no_harm is NaN and harm is the test that
    d lies outside [-m, m] on either side (Bonferroni over the two sides).
    """
    above_lower = summary.pvalue(-margin, "greater")  # d > -m
    below_upper = summary.pvalue(margin, "less")  # d < m
    below_lower = summary.pvalue(-margin, "less")  # d < -m
    above_upper = summary.pvalue(margin, "greater")  # d > m
    tost = max(above_lower, below_upper)
    if better == "higher":
        return {"tost": tost, "no_harm": above_lower, "harm": below_lower}
    if better == "lower":
        return {"tost": tost, "no_harm": below_upper, "harm": above_upper}
    return {"tost": tost, "no_harm": float("nan"), "harm": min(1.0, 2 * min(below_lower, above_upper))}


def equivalence_verdict(tost: bool, no_harm: bool, harm: bool, better: str | None) -> str:
    """One word from the (adjusted) decisions: equivalent, no worse than, worse (or not
    equivalent for an indicator with no better direction), inconclusive."""
    if tost:
        return EQUIVALENT
    if no_harm:
        return NO_WORSE
    if harm:
        return WORSE if better in ("higher", "lower") else DIFFERENT
    return INCONCLUSIVE


# --- cost-effectiveness: Fieller ------------------------------------------------------

ESTIMATED, NOT_ESTIMABLE, NO_GAIN = "estimated", "not estimable", "no gain"


@dataclass(frozen=True)
class Ratio:
    """A ratio of two paired means with its Fieller interval."""

    estimate: float
    low: float
    high: float
    status: str  # estimated | not estimable (the gain's interval contains 0) | no gain (it lies below 0)
    level: float
    gain: TSummary


def fieller_ratio(numerator: np.ndarray, denominator: np.ndarray, level: float = 1 - ALPHA) -> Ratio:
    """mean(numerator) / mean(denominator) for paired samples, with Fieller's (1954)
    interval: the set of ratios r for which mean(numerator) - r mean(denominator) is not
    rejected by a t test at 1 - level (n - 1 degrees of freedom). The set is a bounded
    interval exactly when the denominator's own t interval at `level` excludes 0; when it
    contains 0 the ratio is "not estimable", when it lies below 0 there is "no gain".
    """
    a = np.asarray(numerator, dtype=float)
    b = np.asarray(denominator, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    gain = TSummary.of(b)
    nan = float("nan")
    if gain.n < 2:
        return Ratio(nan, nan, nan, NOT_ESTIMABLE, level, gain)
    low, high = gain.interval(level)
    if low <= 0 <= high:
        return Ratio(nan, nan, nan, NOT_ESTIMABLE, level, gain)
    if high < 0:
        return Ratio(nan, nan, nan, NO_GAIN, level, gain)
    n = a.size
    cov = np.cov(a, b, ddof=1) / n  # covariance matrix of the two means
    t2 = float(stats.t.ppf(0.5 + level / 2, n - 1)) ** 2
    a_bar, b_bar = float(a.mean()), float(b.mean())
    qa = b_bar**2 - t2 * cov[1, 1]  # > 0 here: the gain's interval excludes 0
    qb = a_bar * b_bar - t2 * cov[0, 1]
    qc = a_bar**2 - t2 * cov[0, 0]
    root = np.sqrt(max(qb**2 - qa * qc, 0.0))
    return Ratio(a_bar / b_bar, (qb - root) / qa, (qb + root) / qa, ESTIMATED, level, gain)


# --- how many replicates: a sequential rule -------------------------------------------


@dataclass
class Precision:
    """How `--replicates auto` ended: replicates used, why it stopped, the widths reached."""

    replicates: int
    reason: str  # "target" (every target met) or "maximum"
    maximum: int
    batch: int
    widths: pd.DataFrame  # scenario, indicator, width, target, met
    history: list[tuple[int, int]] = field(default_factory=list)  # (replicates, targets met) after each batch

    def describe(self) -> str:
        """One sentence for the report and the terminal."""
        if self.reason == "target":
            return (
                f"{self.replicates} replicates: every difference interval of an indicator with a target became "
                f"narrower than its target after {self.replicates} (batches of {self.batch}, maximum {self.maximum})."
            )
        missed = self.widths[~self.widths["met"]]
        names = ", ".join(sorted(set(missed["indicator"])))
        return (
            f"{self.replicates} replicates: stopped at the maximum of {self.maximum} with {len(missed)} difference "
            f"interval(s) still wider than the target ({names})."
        )


def interval_widths(table: pd.DataFrame, base: str, targets: dict[str, float]) -> pd.DataFrame:
    """Width of each stated (adjusted) difference interval against its indicator's target;
    indicators without a target are left out; a missing interval never meets a target."""
    rows = table[(table["scenario"] != base) & table["indicator"].isin(list(targets))]
    width = rows["diff_adj_high"] - rows["diff_adj_low"]
    target = rows["indicator"].map(targets)
    return pd.DataFrame(
        {
            "scenario": rows["scenario"].to_numpy(),
            "indicator": rows["indicator"].to_numpy(),
            "width": width.to_numpy(),
            "target": target.to_numpy(),
            "met": (width < target).fillna(False).to_numpy(dtype=bool),
        }
    )


def replicate_until_precise(
    run_batch: Callable[[int, int], pd.DataFrame],
    evaluate: Callable[[pd.DataFrame], pd.DataFrame],
    base: str,
    targets: dict[str, float],
    batch: int = 10,
    maximum: int = 100,
) -> tuple[pd.DataFrame, Precision]:
    """Run replicates in batches until every difference interval is narrower than its
    target, or `maximum` replicates.

    `run_batch(first, count)` returns the final-month rows of replicates first ..
    first + count - 1 (so replicate i always gets the same seed: batches extend, they never
    reshuffle); `evaluate(finals)` returns the comparison table. The first batch has at
    least two replicates. Returns the finals of all replicates run and how it ended.
    """
    if not targets:
        raise ValueError("no precision target: give at least one indicator a target")
    batch, maximum = max(int(batch), 1), max(int(maximum), 2)
    frames: list[pd.DataFrame] = []
    n = 0
    history: list[tuple[int, int]] = []
    while True:
        count = min(max(batch, 2) if n == 0 else batch, maximum - n)
        frames.append(run_batch(n, count))
        n += count
        finals = pd.concat(frames, ignore_index=True)
        widths = interval_widths(evaluate(finals), base, targets)
        if widths.empty:
            raise ValueError("none of the compared indicators has a precision target")
        history.append((n, int(widths["met"].sum())))
        if widths["met"].all():
            return finals, Precision(n, "target", maximum, batch, widths, history)
        if n >= maximum:
            return finals, Precision(n, "maximum", maximum, batch, widths, history)
