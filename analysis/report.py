"""A self-contained HTML report of a comparison: one file, figures embedded, nothing
loaded from elsewhere, so it can be mailed as it is."""

from __future__ import annotations

import base64
import html
import io
from datetime import UTC, datetime

import matplotlib.pyplot as plt
import pandas as pd

from .compare import Experiment, format_interval, format_value

STYLE = """
body { font-family: -apple-system, 'Segoe UI', 'Noto Sans', 'PingFang SC', sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
.sig { font-weight: bold; } .note { color: #555; font-size: 0.9em; }
img { max-width: 100%; }
"""


def figure_to_png(fig: plt.Figure) -> bytes:
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


def comparison_rows(table: pd.DataFrame, base: str) -> pd.DataFrame:
    """The comparison as display strings, as printed on the terminal."""
    rows = []
    for row in table.itertuples():
        significant = row.scenario != base and not (row.diff_ci_low <= 0 <= row.diff_ci_high)
        rows.append(
            {
                "scenario": row.scenario,
                "indicator": row.indicator,
                "mean": format_value(row.indicator, row.mean),
                "95% CI": format_interval(row.indicator, row.ci_low, row.ci_high),
                f"diff vs {base}": "" if row.scenario == base else format_value(row.indicator, row.diff),
                "diff 95% CI": ""
                if row.scenario == base
                else format_interval(row.indicator, row.diff_ci_low, row.diff_ci_high) + (" *" if significant else ""),
            }
        )
    return pd.DataFrame(rows)


def cost_rows(costs: pd.DataFrame) -> pd.DataFrame:
    """Cost-effectiveness as display strings."""
    rows = []
    for row in costs.itertuples():
        rows.append(
            {
                "scenario": row.scenario,
                "extra cost (yuan)": format_value("policy_cost_total", row.extra_cost_yuan),
                "extra employed": format_value("", row.extra_employed),
                "cost per extra employed (yuan)": format_value("policy_cost_total", row.cost_per_extra_employed_yuan),
                "extra households above poverty line": format_value("", row.extra_households_above_poverty_line),
                "cost per household above line (yuan)": format_value(
                    "policy_cost_total", row.cost_per_household_above_poverty_line_yuan
                ),
            }
        )
    return pd.DataFrame(rows)


def write_report(
    path,
    experiment: Experiment,
    base: str,
    table: pd.DataFrame,
    costs: pd.DataFrame,
    params: pd.DataFrame,
    figures: dict[str, bytes],
    settings: dict[str, str],
) -> None:
    """Write the report to `path` (HTML, figures embedded as data URIs)."""
    scenarios = "".join(
        f"<li><b>{html.escape(label)}</b>: {html.escape(s.description)} (community {html.escape(s.community.id)})</li>"
        for label, s in experiment.scenarios.items()
    )
    params_html = _table(params.astype(str)) if len(params) else "<p>The scenarios have identical parameters.</p>"
    settings_html = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in settings.items())
    figure_html = "".join(f"<h3>{html.escape(title)}</h3>{_img(png, title)}" for title, png in figures.items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Scenario comparison: {html.escape(", ".join(experiment.labels))}</title>
<style>{STYLE}</style></head><body>
<h1>Relocation and follow-up support: scenario comparison</h1>
<p class="note">Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by <code>run.py compare</code>.</p>
<h2>Settings</h2><ul>{settings_html}</ul>
<h2>Scenarios</h2><ul>{scenarios}</ul>
<h2>What differs between the scenarios</h2>{params_html}
<h2>Final month: means, 95% confidence intervals, and differences from {html.escape(base)}</h2>
<p class="note">Replicate <i>i</i> of every scenario uses the same seed (common random numbers), so differences
are paired by replicate. Intervals are two-sided t intervals across replicates; * marks a difference whose
interval excludes 0.</p>
{_table(comparison_rows(table, base))}
<h2>Cost-effectiveness relative to {html.escape(base)}</h2>
<p class="note">Extra cumulative policy cost over the run divided by the extra people employed, and by the extra
households above the poverty line, in the final month (means of paired differences; "-" where there is no gain).</p>
{_table(cost_rows(costs)) if len(costs) else "<p>Only one scenario.</p>"}
<h2>Figures</h2>{figure_html}
<h2>Data</h2><p>The tidy data, one row per scenario x replicate x month, are in <code>runs.csv</code> beside this
report; the figures are also in <code>figures/</code>.</p>
</body></html>
"""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)


def make_report(experiment: Experiment, base: str, out_dir, settings: dict[str, str]) -> dict[str, object]:
    """Compute the comparison and write report.html, figures/*.png and runs.csv to `out_dir`.

    Returns the comparison table, the cost table and the written paths.
    """
    from pathlib import Path

    from .compare import compare, cost_effectiveness, parameter_differences
    from .plots import network_figure, structure_figure, timeseries_figure

    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    finals = experiment.finals
    table = compare(finals, base)
    costs = cost_effectiveness(finals, base)
    params = parameter_differences(experiment.scenarios)
    figures: dict[str, bytes] = {}
    made = {
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
    for title, (name, fig) in made.items():
        if fig is None:
            continue
        png = figure_to_png(fig)
        plt.close(fig)
        (out / "figures" / f"{name}.png").write_bytes(png)
        figures[title] = png
    experiment.tidy.to_csv(out / "runs.csv", index=False)
    table.to_csv(out / "comparison.csv", index=False)
    costs.to_csv(out / "cost_effectiveness.csv", index=False)
    write_report(out / "report.html", experiment, base, table, costs, params, figures, settings)
    return {"table": table, "costs": costs, "report": out / "report.html", "runs": out / "runs.csv"}
