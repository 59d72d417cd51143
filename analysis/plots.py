"""Figures of an experiment: time series with uncertainty bands, the final employment
structure, a network picture per scenario, and the paired differences with the intervals
the comparison table states. Each function returns a matplotlib Figure.

Figures are made with `matplotlib.figure.Figure` directly, not through pyplot, so
importing or using this module never changes the backend a notebook user has chosen, and
nothing needs closing: a figure is freed when it is no longer referenced. In a notebook,
a returned Figure is shown inline like any other.
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats

from simulation.indicators import INDICATORS
from simulation.options import OPTION_NAMES


def time_series_panels() -> list[tuple[str, str]]:
    """(indicator, panel title) for every key indicator, titles from the indicator table."""
    suffix = {"share": " (share)", "yuan": " (yuan)", "index": " (0-1)"}
    return [(i.name, i.label[0] + suffix.get(i.kind, "")) for i in INDICATORS.subset(INDICATORS.key())]


SECTORS = (
    ("share_agriculture", "agriculture", "#8c6d31"),
    ("share_industry", "industry", "#3182bd"),
    ("share_services", "services", "#31a354"),
    ("share_part_time", "part-time", "#e6550d"),
)
WORK_COLOURS = {
    "not_working": "#bdbdbd",
    "local_industry": "#3182bd",
    "local_services": "#31a354",
    "public_welfare": "#74c476",
    "farming_origin": "#8c6d31",
    "part_time": "#e6550d",
    "out_of_county": "#d62728",
    "workshop": "#6baed6",
}
assert set(WORK_COLOURS) == set(OPTION_NAMES)


def _band(values: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95 % t-interval across replicates (columns) for each month (rows)."""
    mean = values.mean(axis=1).to_numpy()
    n = values.notna().sum(axis=1).to_numpy()
    sem = values.std(axis=1, ddof=1).to_numpy() / np.sqrt(np.maximum(n, 1))
    half = np.where(n > 1, stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sem, 0.0)
    return mean, mean - half, mean + half


def timeseries_figure(tidy: pd.DataFrame, labels: list[str]) -> Figure:
    """One panel per indicator: each scenario's mean over replicates with its 95 % band."""
    panels = [(k, t) for k, t in time_series_panels() if k in tidy.columns]
    ncols = 3
    nrows = int(np.ceil(len(panels) / ncols))
    fig = Figure(figsize=(13, 3.0 * nrows))
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
    colours = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (key, title) in zip(axes.flat, panels, strict=False):
        for i, label in enumerate(labels):
            wide = tidy[tidy["scenario"] == label].pivot(index="month", columns="replicate", values=key)
            mean, lo, hi = _band(wide)
            colour = colours[i % len(colours)]
            ax.plot(wide.index, mean, color=colour, label=label, lw=1.6)
            ax.fill_between(wide.index, lo, hi, color=colour, alpha=0.2, lw=0)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("month")
    axes.flat[0].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def structure_figure(finals: pd.DataFrame, labels: list[str]) -> Figure:
    """Stacked bars of the employment structure in the final month: by sector and by place."""
    fig = Figure(figsize=(12, 0.6 * len(labels) + 2.2))
    ax1, ax2 = fig.subplots(1, 2)
    means = finals.groupby("scenario", sort=False).mean(numeric_only=True).reindex(labels)
    y = np.arange(len(labels))
    left = np.zeros(len(labels))
    for key, name, colour in SECTORS:
        ax1.barh(y, means[key], left=left, color=colour, label=name)
        left += means[key].to_numpy()
    ax1.set_title("Employed workers by sector, final month")
    left = np.zeros(len(labels))
    for key, name, colour in (("share_local", "local", "#3182bd"), ("share_out_of_county", "out of county", "#d62728")):
        ax2.barh(y, means[key], left=left, color=colour, label=name)
        left += means[key].to_numpy()
    ax2.set_title("Employed workers by place, final month")
    for ax in (ax1, ax2):
        ax.set_yticks(y, labels)
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def network_figure(networks: dict[str, dict[str, Any] | None]) -> Figure | None:
    """One panel per scenario: sampled households coloured by their main work, sized by
    income per person, long-standing residents drawn as squares."""
    drawable = {k: v for k, v in networks.items() if v}
    if not drawable:
        return None
    fig = Figure(figsize=(5.5 * len(drawable), 5.5))
    axes = fig.subplots(1, len(drawable), squeeze=False)
    for ax, (label, net) in zip(axes.flat, drawable.items(), strict=True):
        x, y = np.asarray(net["x"]), np.asarray(net["y"])
        for u, v in net["edges"]:
            ax.plot([x[u], x[v]], [y[u], y[v]], color="#777777", lw=0.4, alpha=0.6, zorder=1)
        income = np.asarray(net["income"])
        size = 10 + 60 * income / max(income.max(), 1.0)
        colours = [WORK_COLOURS[w] for w in net["main_work"]]
        relocated = np.asarray(net["relocated"])
        for mask, marker in ((relocated, "o"), (~relocated, "s")):
            ax.scatter(x[mask], y[mask], s=size[mask], c=np.asarray(colours)[mask], marker=marker, zorder=2, lw=0)
        ax.set_title(f"{label}: {len(x)} tied households of whole buildings, replicate 0", fontsize=10)
        ax.axis("off")
    handles = [Line2D([], [], marker="o", ls="", color=c, label=n.replace("_", " ")) for n, c in WORK_COLOURS.items()]
    ncol = len(handles) if len(drawable) > 1 else 4
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06 if len(drawable) > 1 else 0.1, 1, 1))
    return fig


def difference_figure(table: pd.DataFrame, base: str) -> Figure | None:
    """A forest plot of `compare`'s table: one panel per indicator, one row per scenario
    compared with `base`; the dot is the mean paired difference, the thick bar the interval
    the table states (adjusted for multiplicity where the table is), the thin dark bar on
    it the unadjusted 95 % interval, the shaded band the equivalence margin. None without a
    scenario to compare."""
    rows = table[table["scenario"] != base]
    if rows.empty:
        return None
    indicators = list(dict.fromkeys(rows["indicator"]))
    labels = list(dict.fromkeys(rows["scenario"]))
    ncols = min(3, len(indicators))
    nrows = int(np.ceil(len(indicators) / ncols))
    fig = Figure(figsize=(4.4 * ncols, (0.35 * len(labels) + 1.3) * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    y = np.arange(len(labels))
    for ax, key in zip(axes.flat, indicators, strict=False):
        part = rows[rows["indicator"] == key].set_index("scenario").reindex(labels)
        margin = part["margin"].iloc[0] if "margin" in part else np.nan
        if np.isfinite(margin):
            ax.axvspan(-margin, margin, color="#31a354", alpha=0.12, lw=0, label="equivalence margin")
        ax.axvline(0, color="#555555", lw=0.8)
        ax.hlines(y, part["diff_adj_low"], part["diff_adj_high"], color="#6baed6", lw=4.0, gid="stated", zorder=2)
        ax.hlines(y, part["diff_ci_low"], part["diff_ci_high"], color="#08306b", lw=1.0, gid="unadjusted", zorder=3)
        ax.plot(part["diff"], y, "o", color="#08306b", ms=4, zorder=4)
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        title = INDICATORS[key].label[0] if key in INDICATORS else key
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes.flat[len(indicators) :]:
        ax.axis("off")
    fig.suptitle(f"Difference from {base} (final month)", fontsize=10)
    fig.tight_layout()
    return fig


def phaseout_figure(ranking: pd.DataFrame) -> Figure | None:
    """Money saved against extra poverty, one point per policy phased out, with the
    intervals the phase-out table states (bars in both directions)."""
    if ranking.empty:
        return None
    fig = Figure(figsize=(8.5, 5.5))
    ax = fig.subplots()
    x = ranking["extra_poverty_points"].to_numpy(dtype=float)
    y = ranking["money_saved"].to_numpy(dtype=float) / 1e6
    xerr = np.vstack([x - ranking["extra_poverty_points_low"], ranking["extra_poverty_points_high"] - x])
    yerr = np.vstack([y - ranking["money_saved_low"] / 1e6, ranking["money_saved_high"] / 1e6 - y])
    colours = {0: "#31a354", 1: "#e6550d", 2: "#d62728"}
    for i, row in enumerate(ranking.itertuples(index=False)):
        colour = colours.get(int(row.tier), "#555555")
        ax.errorbar(
            x[i],
            y[i],
            xerr=np.nan_to_num(xerr[:, i : i + 1]),
            yerr=np.nan_to_num(yerr[:, i : i + 1]),
            fmt="o",
            color=colour,
            capsize=3,
            lw=1.2,
        )
        ax.annotate(f"{row.rank}. {row.policy}", (x[i], y[i]), textcoords="offset points", xytext=(6, 5), fontsize=8)
    ax.axvline(0, color="#888888", lw=0.8)
    ax.axhline(0, color="#888888", lw=0.8)
    ax.set_xlabel("extra poverty, points (final-year mean; phased out minus package)")
    ax.set_ylabel("money saved over the run, million yuan")
    handles = [
        Line2D([], [], marker="o", ls="", color=c, label=label)
        for c, label in zip(
            colours.values(), ("no significant harm", "more falling or going back", "more poverty"), strict=True
        )
    ]
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
