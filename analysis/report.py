"""A self-contained HTML report of a comparison: one file, figures embedded, nothing
loaded from elsewhere, so it can be mailed as it is."""

from __future__ import annotations

import base64
import html
import io
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .compare import Experiment, format_interval, format_value
from .inference import METHOD_NAMES, NO_GAIN, NOT_ESTIMABLE, Precision

STYLE = """
body { font-family: -apple-system, 'Segoe UI', 'Noto Sans', 'PingFang SC', sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
.sig { font-weight: bold; } .note { color: #555; font-size: 0.9em; }
.warn { color: #a00; font-weight: bold; }
img { max-width: 100%; }
"""


def figure_to_png(fig: Figure) -> bytes:
    """PNG bytes of a figure."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _percent(level: float) -> str:
    """A confidence level as a short percentage: 95%, 99.8%, 99.96%."""
    text = f"{100 * level:.4g}"
    return f"{text}%"


def adjustment_note(table: pd.DataFrame, base: str) -> str:
    """What the difference intervals and the * are, in one paragraph (table caption and report)."""
    rows = table[table["scenario"] != base]
    if rows.empty:
        return ""
    method = rows["adjustment"].iloc[0]
    m = int(rows["family"].iloc[0])
    k, indicators = rows["scenario"].nunique(), rows["indicator"].nunique()
    if m == 0:
        return "Fewer than two replicates: no interval and no test for any difference."
    family = f"the family of {m} differences ({k} scenario(s) vs {base} x {indicators} indicators)"
    if method == "none":
        return (
            "Difference intervals: 95% t intervals of the paired differences, not adjusted for multiplicity; "
            "* marks a difference whose interval excludes 0."
        )
    level = _percent(float(rows["diff_level"].iloc[0]))
    if method == "holm":
        return (
            f"Multiplicity: Holm over {family}. Each difference interval is at {level} (Bonferroni: 95% / {m}), so "
            f"all {m} cover their true differences together with probability at least 95%; * marks a Holm-adjusted "
            "p < 0.05 (Holm can mark a difference whose simultaneous interval only just reaches 0)."
        )
    return (
        f"Multiplicity: Benjamini-Hochberg (false discovery rate 5%) over {family}. Each difference interval is at "
        f"{level} (1 - R x 5% / {m}, R the number of rejections: the false-coverage-rate adjusted intervals of "
        "Benjamini and Yekutieli), which exclude 0 exactly where * marks a BH rejection."
    )


def adjustment_caption(table: pd.DataFrame, base: str) -> str:
    """The family and the method in a line, for a table's caption."""
    rows = table[table["scenario"] != base]
    if rows.empty or int(rows["family"].iloc[0]) == 0:
        return "No intervals: fewer than two replicates."
    method, m = rows["adjustment"].iloc[0], int(rows["family"].iloc[0])
    level = _percent(float(rows["diff_level"].iloc[0]))
    family = (
        f"family: {m} differences ({rows['scenario'].nunique()} scenario(s) x {rows['indicator'].nunique()} indicators)"
    )
    if method == "none":
        return f"Differences: 95% intervals, not adjusted for multiplicity ({family}); * interval excludes 0."
    if method == "holm":
        return f"Differences: Holm over the {family}; intervals Bonferroni-simultaneous at {level}; * Holm p < 0.05."
    return f"Differences: Benjamini-Hochberg over the {family}; FCR-adjusted intervals at {level}; * BH rejection."


def equivalence_note(table: pd.DataFrame, base: str) -> str:
    """How the equivalence column was decided."""
    rows = table[(table["scenario"] != base) & table["equivalence"].notna()]
    if rows.empty:
        return ""
    method = rows["adjustment"].iloc[0]
    adjusted = (
        "" if method == "none" else f", {METHOD_NAMES[method].split(';')[0]}-adjusted over the {len(rows)} tested"
    )
    return (
        "Equivalence: two one-sided paired t tests (TOST) against each indicator's margin, each at 5%"
        f"{adjusted}. equivalent: the difference lies within +/- margin; no worse than: it is not worse than the "
        "margin in the harmful direction (the indicator table's better direction), though it may be better by more; "
        "worse: it is worse than the margin; not equivalent: it lies outside the margin (an indicator with no "
        "better direction); inconclusive: none of these can be said (always so with fewer than two replicates)."
    )


def comparison_rows(table: pd.DataFrame, base: str) -> pd.DataFrame:
    """The comparison as display strings, as printed on the terminal: a dash where there
    is no interval, * only where the (adjusted) test rejects no difference."""
    rows = []
    for row in table.to_dict("records"):
        key, is_base = row["indicator"], row["scenario"] == base
        mark = " *" if row["significant"] else ""
        margin = row["margin"]
        rows.append(
            {
                "scenario": row["scenario"],
                "indicator": key,
                "n": str(row["n"]),
                "mean": format_value(key, row["mean"]),
                "95% CI": format_interval(key, row["ci_low"], row["ci_high"]),
                f"diff vs {base}": "" if is_base else format_value(key, row["diff"]),
                "diff 95% CI": "" if is_base else format_interval(key, row["diff_ci_low"], row["diff_ci_high"]),
                "diff CI as stated": ""
                if is_base
                else format_interval(key, row["diff_adj_low"], row["diff_adj_high"]) + mark,
                "CI level": "" if is_base or not np.isfinite(row["diff_adj_low"]) else _percent(row["diff_level"]),
                "p (adjusted)": ""
                if is_base or not np.isfinite(row["diff_p_adjusted"])
                else f"{row['diff_p_adjusted']:.3g}",
                "margin": "" if is_base or not np.isfinite(margin) else "+/- " + format_value(key, margin),
                "equivalence": row["equivalence"] if isinstance(row["equivalence"], str) else "",
            }
        )
    return pd.DataFrame(rows)


RATIOS = (
    ("cost_per_extra_employed_yuan", "extra_employed", "extra employed", "cost per extra employed (yuan)"),
    (
        "cost_per_household_above_poverty_line_yuan",
        "extra_households_above_poverty_line",
        "extra households above poverty line",
        "cost per household above line (yuan)",
    ),
)


def _ratio_text(row: dict, name: str) -> str:
    status = row[f"{name}_status"]
    if status in (NOT_ESTIMABLE, NO_GAIN):
        return status
    return f"{format_value(name, row[name])} {format_interval(name, row[f'{name}_ci_low'], row[f'{name}_ci_high'])}"


def cost_rows(costs: pd.DataFrame) -> pd.DataFrame:
    """Cost-effectiveness as display strings: each estimate with its interval, "not
    estimable" where the gain's interval contains 0, "no gain" where it lies below 0."""
    rows = []
    for row in costs.to_dict("records"):
        shown = {
            "scenario": row["scenario"],
            "extra cost (yuan)": f"{format_value('policy_cost_total', row['extra_cost_yuan'])} "
            + format_interval("policy_cost_total", row["extra_cost_ci_low"], row["extra_cost_ci_high"]),
        }
        for name, gain, gain_label, ratio_label in RATIOS:
            shown[gain_label] = (
                f"{format_value('', row[gain])} {format_interval('', row[f'{gain}_ci_low'], row[f'{gain}_ci_high'])}"
            )
            shown[ratio_label] = _ratio_text(row, name)
        rows.append(shown)
    return pd.DataFrame(rows)


def cost_note(costs: pd.DataFrame) -> str:
    """What the cost-effectiveness intervals are."""
    if costs.empty:
        return ""
    level = _percent(float(costs["level"].iloc[0]))
    family = int(costs["family"].iloc[0])
    adjusted = (
        ""
        if costs["adjustment"].iloc[0] == "none"
        else f" (Bonferroni over the family of {family} ratios, so all hold together with probability at least 95%)"
    )
    return (
        "Extra cumulative policy cost over the run divided by the extra people employed, and by the extra households "
        "above the poverty line, in the final month (ratios of means of paired differences). Intervals: "
        f'{level}{adjusted}; for the ratios, Fieller\'s interval from the paired replicates. "not estimable": the '
        "gain's interval contains 0, so the ratio could be any size or sign; \"no gain\": the gain's interval lies "
        "below 0."
    )


def precision_rows(precision: Precision) -> pd.DataFrame:
    """The widths `--replicates auto` reached against their targets, as display strings."""
    return pd.DataFrame(
        {
            "scenario": precision.widths["scenario"],
            "indicator": precision.widths["indicator"],
            "interval width": [
                format_value(k, w)
                for k, w in zip(precision.widths["indicator"], precision.widths["width"], strict=True)
            ],
            "target": [
                format_value(k, t)
                for k, t in zip(precision.widths["indicator"], precision.widths["target"], strict=True)
            ],
            "met": ["yes" if met else "NO" for met in precision.widths["met"]],
        }
    )


def write_report(
    path,
    experiment: Experiment,
    base: str,
    table: pd.DataFrame,
    costs: pd.DataFrame,
    params: pd.DataFrame,
    figures: dict[str, bytes],
    settings: dict[str, str],
    precision: Precision | None = None,
    uncertainty: pd.DataFrame | None = None,
) -> None:
    """Write the report to `path` (HTML, figures embedded as data URIs)."""
    scenarios = "".join(
        f"<li><b>{html.escape(label)}</b>: {html.escape(s.description)} (community {html.escape(s.community.id)})</li>"
        for label, s in experiment.scenarios.items()
    )
    params_html = _table(params.astype(str)) if len(params) else "<p>The scenarios have identical parameters.</p>"
    settings_html = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in settings.items())
    figure_html = "".join(f"<h3>{html.escape(title)}</h3>{_img(png, title)}" for title, png in figures.items())
    few = int(table["n"].min()) < 2 if len(table) else False
    warning = (
        f'<p class="warn">Warning: {int(table["n"].min())} replicate(s): one replicate has no spread, so no '
        "interval, test or equivalence is given (shown as -). Run at least two, better many more.</p>"
        if few
        else ""
    )
    precision_html = (
        f"<h2>How many replicates</h2><p>{html.escape(precision.describe())}</p>"
        '<p class="note">Replicates were added in batches, replicate <i>i</i> always with seed <i>seed + i</i>, until '
        "the stated (adjusted) interval of every compared scenario's difference was narrower than its indicator's "
        "target (by default its equivalence margin), or the maximum was reached. Stopping on the width slightly "
        "favours replicates whose spread happened to be small, so these intervals cover a little less often than "
        "stated (about 94% for 95% at a stop near 30 replicates, in simulation; docs/ANALYSIS.md); for exact "
        "coverage, run the number found again with a fresh --seed.</p>" + _table(precision_rows(precision))
        if precision is not None
        else ""
    )
    notes = " ".join(html.escape(n) for n in (adjustment_note(table, base), equivalence_note(table, base)) if n)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Scenario comparison: {html.escape(", ".join(experiment.labels))}</title>
<style>{STYLE}</style></head><body>
<h1>Relocation and follow-up support: scenario comparison</h1>
<p class="note">Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by <code>run.py compare</code>.</p>
{warning}
<h2>Settings</h2><ul>{settings_html}</ul>
<h2>Scenarios</h2><ul>{scenarios}</ul>
<h2>What differs between the scenarios</h2>{params_html}
{precision_html}
<h2>Final month: means, 95% confidence intervals, and differences from {html.escape(base)}</h2>
<p class="note">Replicate <i>i</i> of every scenario uses the same seed (common random numbers), so differences
are paired by replicate. Means: two-sided 95% t intervals across replicates (not adjusted). Differences: the
unadjusted 95% t interval of the paired differences, and the interval as stated, at the level given. {notes}</p>
{_table(comparison_rows(table, base))}
{uncertainty_html(uncertainty)}
<h2>Cost-effectiveness relative to {html.escape(base)}</h2>
<p class="note">{html.escape(cost_note(costs))}</p>
{_table(cost_rows(costs)) if len(costs) else "<p>Only one scenario.</p>"}
<h2>Figures</h2>{figure_html}
<h2>Data</h2><p>The tidy data, one row per scenario x replicate x month, are in <code>runs.csv</code> beside this
report; the tables in <code>comparison.csv</code> and <code>cost_effectiveness.csv</code>; the figures also in
<code>figures/</code>.</p>
</body></html>
"""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)


def uncertainty_rows(uncertainty: pd.DataFrame) -> pd.DataFrame:
    """The seed-only and posterior intervals of each difference, side by side, as display strings."""
    rows = []
    for row in uncertainty.to_dict("records"):
        key = row["indicator"]
        rows.append(
            {
                "scenario": row["scenario"],
                "indicator": key,
                "difference, seed noise only": f"{format_value(key, row['diff_seed_only'])} "
                + format_interval(key, row["seed_only_low"], row["seed_only_high"]),
                "difference, with calibration uncertainty": f"{format_value(key, row['diff_posterior'])} "
                + format_interval(key, row["posterior_low"], row["posterior_high"]),
                "width ratio": "-" if not np.isfinite(row["width_ratio"]) else f"{row['width_ratio']:.2f}",
                "same direction, seed only / posterior": _share_pair(
                    row.get("same_direction_seed_only"), row.get("same_direction_posterior")
                ),
            }
        )
    return pd.DataFrame(rows)


def _share_pair(seed_only: float | None, posterior: float | None) -> str:
    """Two shares of replicates as "100 % / 70 %" ("-" where undefined)."""

    def one(value: float | None) -> str:
        return "-" if value is None or not np.isfinite(value) else f"{100 * value:.0f} %"

    return f"{one(seed_only)} / {one(posterior)}"


UNCERTAINTY_NOTE = (
    "Each difference twice, over the same seeds: with every parameter at its point value (seed noise only), and "
    "with replicate i of every scenario run at one parameter set drawn from the calibration's posterior "
    "(scenarios/calibrated/posterior.csv), so the interval also carries what the survey leaves uncertain. "
    "Unadjusted 95% t intervals of the paired differences; width ratio = with calibration uncertainty / seed only. "
    "Same direction: the share of replicates whose difference has the sign of the seed-only mean (a zero counts "
    "half), with seed noise only and with a posterior draw per replicate: how often the sign holds across what "
    "the survey leaves uncertain."
)


def uncertainty_html(uncertainty: pd.DataFrame | None) -> str:
    """The report's section on calibration uncertainty (empty without --posterior)."""
    if uncertainty is None or uncertainty.empty:
        return ""
    return (
        "<h2>Differences with calibration uncertainty</h2>"
        f'<p class="note">{html.escape(UNCERTAINTY_NOTE)}</p>' + _table(uncertainty_rows(uncertainty))
    )


def make_report(
    experiment: Experiment,
    base: str,
    out_dir,
    settings: dict[str, str],
    adjust: str = "auto",
    margins: dict[str, float] | None = None,
    precision: Precision | None = None,
    uncertainty: pd.DataFrame | None = None,
) -> dict[str, object]:
    """Compute the comparison and write report.html, figures/*.png and runs.csv to `out_dir`.

    `adjust` and `margins` go to `compare` (and `adjust` to `cost_effectiveness`);
    `precision` is how `--replicates auto` ended, if it was used. Returns the comparison
    table, the cost table and the written paths.
    """
    from pathlib import Path

    from .compare import compare, cost_effectiveness, indicators_for, parameter_differences
    from .plots import difference_figure, network_figure, structure_figure, timeseries_figure

    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    finals = experiment.finals
    table = compare(finals, base, indicators_for(experiment.scenarios.values()), adjust=adjust, margins=margins)
    costs = cost_effectiveness(finals, base, adjust=adjust)
    params = parameter_differences(experiment.scenarios)
    made = {
        f"Differences from {base}. Dot: mean paired difference; thick light bar: the interval the table states; "
        f"thin dark bar: unadjusted 95%; green band: equivalence margin. {adjustment_caption(table, base)}": (
            "differences",
            difference_figure(table, base),
        ),
        "Time series (mean and 95% band across replicates)": (
            "timeseries",
            timeseries_figure(experiment.tidy, experiment.labels),
        ),
        "Employment structure at the end": ("structure", structure_figure(finals, experiment.labels)),
        "Social ties, one replicate per scenario (colour: main work; size: income per person)": (
            "network",
            network_figure(experiment.networks),
        ),
    }
    figures: dict[str, bytes] = {}
    for title, (name, fig) in made.items():
        if fig is None:
            continue
        png = figure_to_png(fig)
        (out / "figures" / f"{name}.png").write_bytes(png)
        figures[title] = png
    experiment.tidy.to_csv(out / "runs.csv", index=False)
    table.to_csv(out / "comparison.csv", index=False)
    costs.to_csv(out / "cost_effectiveness.csv", index=False)
    if uncertainty is not None:
        uncertainty.to_csv(out / "comparison_posterior.csv", index=False)
    write_report(out / "report.html", experiment, base, table, costs, params, figures, settings, precision, uncertainty)
    return {"table": table, "costs": costs, "report": out / "report.html", "runs": out / "runs.csv"}


# ------------------------------------------------------------------ phase-out (run.py phaseout)


def _signed(value: float, fmt: str = ",.0f") -> str:
    return "-" if value is None or not np.isfinite(value) else format(value, "+" + fmt)


def _signed_interval(low: float, high: float, fmt: str = ",.0f") -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "-"
    return f"[{_signed(low, fmt)}, {_signed(high, fmt)}]"


def phaseout_rows(ranking: pd.DataFrame) -> pd.DataFrame:
    """The phase-out ranking as display strings, as printed on the terminal."""
    rows = []
    for row in ranking.to_dict("records"):
        shown = {
            "rank": str(row["rank"]),
            "policy": row["policy"],
            "money saved, yuan": f"{_signed(row['money_saved'])} "
            + _signed_interval(row["money_saved_low"], row["money_saved_high"]),
            "extra poverty, points": f"{_signed(row['extra_poverty_points'], '.2f')} "
            + _signed_interval(row["extra_poverty_points_low"], row["extra_poverty_points_high"], ".2f"),
        }
        if "extra_fell_back" in row:
            shown["extra fallen back"] = f"{_signed(row['extra_fell_back'], '.1f')} " + _signed_interval(
                row["extra_fell_back_low"], row["extra_fell_back_high"], ".1f"
            )
        shown["extra gone back"] = f"{_signed(row['extra_gone_back'], '.1f')} " + _signed_interval(
            row["extra_gone_back_low"], row["extra_gone_back_high"], ".1f"
        )
        shown["income, yuan/person/yr"] = f"{_signed(row['income_change'])} " + _signed_interval(
            row["income_change_low"], row["income_change_high"]
        )
        status = row["ratio_status"]
        shown["saved per extra poor household"] = (
            f"{row['saved_per_extra_poor_household']:,.0f} "
            + format_interval("", row["saved_per_extra_poor_household_low"], row["saved_per_extra_poor_household_high"])
            if status == "estimated"
            else status
        )
        shown["verdict"] = row["verdict"]
        rows.append(shown)
    return pd.DataFrame(rows)


def phaseout_note(ranking: pd.DataFrame, replicates: int, posterior: bool = False) -> str:
    """How to read the phase-out table, in one paragraph (`posterior`: its replicates ran at posterior draws)."""
    if ranking.empty:
        return ""
    method, family = ranking["adjustment"].iloc[0], int(ranking["family"].iloc[0])
    level = _percent(float(ranking["diff_level"].iloc[0]))
    ratio_level = _percent(float(ranking["ratio_level"].iloc[0]))
    adjusted = (
        "95% paired t intervals, not adjusted for multiplicity"
        if method == "none"
        else f"paired t intervals at {level}: Holm over the family of {family} differences (policies x outcomes), "
        "Bonferroni-simultaneous"
        if method == "holm"
        else f"paired t intervals at {level}, {METHOD_NAMES.get(method, method)}, over {family} differences"
    )
    return (
        f"Each policy alone phased out, against the whole package, over {replicates} paired replicates (common random "
        f"numbers). Intervals: {adjusted}. Money saved: policy cost over the whole run (package minus phased out; "
        "positive is saved). Poverty and income: means over the final year; fallen back and gone back: households by "
        "the end of the run (phased out minus package; positive is harm). Yuan saved per extra poor household: "
        f"Fieller's interval at {ratio_level}; not estimable where the extra households' interval contains 0. "
        "Ranking: first policies with no significant harm (by money saved), then those that significantly raise "
        "falling back or going back but not poverty (by money saved), then those that raise poverty (by yuan saved "
        "per extra poor household). "
        + (
            "Each replicate ran at one parameter set drawn from the calibration's posterior, the same for the package "
            "and every variant: the intervals carry seed noise and calibration uncertainty."
            if posterior
            else "Intervals over seed noise only: the phase-out runs at fixed parameters (--posterior N also runs it "
            "at posterior draws)."
        )
    )


def write_phaseout_report(
    result, out_dir, settings: dict[str, str], drawn=None, uncertainty: pd.DataFrame | None = None
) -> dict[str, object]:
    """Write phaseout.html (figure embedded), figures/phaseout.png, phaseout.csv and runs.csv
    to `out_dir`; with a run at posterior draws (`drawn`, `uncertainty`: `phaseout --posterior`)
    also its ranking, the two intervals of each difference, phaseout_posterior.csv,
    comparison_posterior.csv and runs_posterior.csv. Returns the written paths."""
    from pathlib import Path

    from .plots import phaseout_figure, timeseries_figure

    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    ranking = result.ranking
    figures: dict[str, bytes] = {}
    made = {
        "Money saved against extra poverty (dot: mean paired difference; bars: the intervals the table states)": (
            "phaseout",
            phaseout_figure(ranking),
        ),
        "Time series (mean and 95% band across replicates)": (
            "timeseries",
            timeseries_figure(result.experiment.tidy, result.experiment.labels),
        ),
    }
    for title, (name, fig) in made.items():
        if fig is None:
            continue
        png = figure_to_png(fig)
        (out / "figures" / f"{name}.png").write_bytes(png)
        figures[title] = png
    ranking.to_csv(out / "phaseout.csv", index=False)
    result.experiment.tidy.to_csv(out / "runs.csv", index=False)
    posterior_html = ""
    if drawn is not None:
        drawn.ranking.to_csv(out / "phaseout_posterior.csv", index=False)
        drawn.experiment.tidy.to_csv(out / "runs_posterior.csv", index=False)
        posterior_html = (
            "<h2>Ranked again, with one posterior draw per replicate</h2>"
            f'<p class="note">{html.escape(phaseout_note(drawn.ranking, drawn.experiment.replicates, True))}</p>'
            + _table(phaseout_rows(drawn.ranking))
        )
    if uncertainty is not None:
        uncertainty.to_csv(out / "comparison_posterior.csv", index=False)
        posterior_html += uncertainty_html(uncertainty)
    settings_html = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in settings.items())
    figure_html = "".join(f"<h3>{html.escape(title)}</h3>{_img(png, title)}" for title, png in figures.items())
    replicates = result.experiment.replicates
    warning = (
        f'<p class="warn">Warning: {replicates} replicate(s): no interval and no test (shown as -).</p>'
        if replicates < 2
        else ""
    )
    what = (
        f"tapered over {result.taper} months after month {result.at}"
        if result.taper
        else f"ended after month {result.at}"
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Phasing out {html.escape(result.package)}</title>
<style>{STYLE}</style></head><body>
<h1>Relocation and follow-up support: phasing out the policies of {html.escape(result.package)}</h1>
<p class="note">Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by <code>run.py phaseout</code>.</p>
{warning}
<h2>Settings</h2><ul>{settings_html}</ul>
<h2>Each policy {html.escape(what)}, ranked</h2>
<p class="note">{html.escape(phaseout_note(ranking, replicates))}</p>
{_table(phaseout_rows(ranking))}
{posterior_html}
<h2>Figures</h2>{figure_html}
<h2>Data</h2><p>The ranking with every number in <code>phaseout.csv</code>; the tidy data, one row per scenario x
replicate x month, in <code>runs.csv</code>; the figures also in <code>figures/</code>. How to read all of it:
docs/PHASEOUT.md.</p>
</body></html>
"""
    with open(out / "phaseout.html", "w", encoding="utf-8") as handle:
        handle.write(page)
    return {"report": out / "phaseout.html", "table": out / "phaseout.csv", "runs": out / "runs.csv"}
