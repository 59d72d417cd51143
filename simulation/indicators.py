"""Indicators with the survey's definitions, computed from the arrays inside the step.

Employment shares are over employed relocated workers: agriculture + industry + services +
part-time = 1 (public-welfare posts are services, also reported alone), and local +
out-of-county = 1 (farming at the origin is local). `employment_rate` and
`share_not_working` are over the relocated labour force.
"""

from __future__ import annotations

import numpy as np

from .options import AGE_GROUPS, EDUCATION_NAMES, N_OPTIONS, Option

SHARE_KEYS = (
    "employment_rate",
    "share_agriculture",
    "share_industry",
    "share_services",
    "share_part_time",
    "share_public_welfare",
    "share_local",
    "share_out_of_county",
    "share_not_working",
    "share_local_industry",
    "share_local_services",
)


def employment_shares(counts: np.ndarray, out_industry: np.ndarray) -> dict[str, np.ndarray]:
    """Shares per group from option counts.

    Args:
        counts: (groups, N_OPTIONS) labour-force members by option.
        out_industry: (groups,) out-of-county workers in industry (the rest are in services).

    Returns:
        Each key of `SHARE_KEYS` -> (groups,) array; NaN where a group has nobody to share over.
    """
    counts = np.asarray(counts, dtype=float)
    labour = counts.sum(axis=1)
    employed = labour - counts[:, Option.NOT_WORKING]
    out = counts[:, Option.OUT_OF_COUNTY]
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_emp = np.where(employed > 0, 1.0 / employed, np.nan)
        inv_lab = np.where(labour > 0, 1.0 / labour, np.nan)
    services = counts[:, Option.LOCAL_SERVICES] + counts[:, Option.PUBLIC_WELFARE] + (out - out_industry)
    return {
        "employment_rate": employed * inv_lab,
        "share_agriculture": counts[:, Option.FARMING_ORIGIN] * inv_emp,
        "share_industry": (counts[:, Option.LOCAL_INDUSTRY] + out_industry) * inv_emp,
        "share_services": services * inv_emp,
        "share_part_time": counts[:, Option.PART_TIME] * inv_emp,
        "share_public_welfare": counts[:, Option.PUBLIC_WELFARE] * inv_emp,
        "share_local": (employed - out) * inv_emp,
        "share_out_of_county": out * inv_emp,
        "share_not_working": counts[:, Option.NOT_WORKING] * inv_lab,
        "share_local_industry": counts[:, Option.LOCAL_INDUSTRY] * inv_emp,
        "share_local_services": (counts[:, Option.LOCAL_SERVICES] + counts[:, Option.PUBLIC_WELFARE]) * inv_emp,
    }


def grouped_counts(
    group: np.ndarray, n_groups: int, option: np.ndarray, out_industry: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Option counts and out-of-county industry counts per group (one bincount each)."""
    counts = np.bincount(group * N_OPTIONS + option, minlength=n_groups * N_OPTIONS).reshape(n_groups, N_OPTIONS)
    ind = np.bincount(group, weights=out_industry & (option == Option.OUT_OF_COUNTY), minlength=n_groups)
    return counts, ind


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Median of `values` where each value counts `weights` times (persons per household)."""
    if values.size == 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def group_breakdown(
    group: np.ndarray, names: tuple[str, ...], option: np.ndarray, out_industry: np.ndarray
) -> dict[str, dict[str, float]]:
    """Employment shares per named group, e.g. by age group or education level."""
    counts, ind = grouped_counts(group, len(names), option, out_industry)
    shares = employment_shares(counts, ind)
    return {name: {key: float(shares[key][g]) for key in SHARE_KEYS} for g, name in enumerate(names)}


BREAKDOWNS = {"by_age_group": AGE_GROUPS, "by_education": EDUCATION_NAMES}


def flatten(indicators: dict) -> dict[str, float]:
    """Flat `by_age_group.16-29.share_local`-style keys for tables and data collection."""
    flat: dict[str, float] = {}
    for key, value in indicators.items():
        if isinstance(value, dict):
            for sub, inner in flatten(value).items():
                flat[f"{key}.{sub}"] = inner
        else:
            flat[key] = value
    return flat
