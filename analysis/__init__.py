"""Experiments over model runs: running, summarising, comparing, plotting, reporting.

Notebook use:

    from scenarios import load_scenario
    from analysis import run_experiment, compare, cost_effectiveness, timeseries_figure, make_report

    exp = run_experiment({"baseline": load_scenario("scenarios/baseline.toml"),
                          "combined": load_scenario("scenarios/combined.toml")}, replicates=10, workers=2)
    table = compare(exp.finals, base="baseline")        # paired differences, Holm when > 1 scenario, equivalence
    costs = cost_effectiveness(exp.finals, base="baseline")  # ratios with Fieller intervals
    difference_figure(table, "baseline")                # forest plot of the stated intervals
    timeseries_figure(exp.tidy, exp.labels)
    make_report(exp, "baseline", "results/my-comparison", settings={})

    from analysis.phaseout import run_phaseout          # each policy of a package ended alone
    po = run_phaseout(load_scenario("scenarios/combined.toml"), at=60, replicates=20, workers=2)
    po.ranking                                          # money saved vs extra poverty, ranked (docs/PHASEOUT.md)
"""

from .compare import (
    KEY_INDICATORS,
    Experiment,
    compare,
    comparison_json,
    cost_effectiveness,
    mean_ci,
    parameter_differences,
    run_experiment,
    run_until_precise,
    summarise,
)
from .plots import difference_figure, network_figure, structure_figure, timeseries_figure
from .report import make_report
from .runner import RunResult, json_safe, run_id, run_scenario

__all__ = [
    "KEY_INDICATORS",
    "Experiment",
    "RunResult",
    "compare",
    "comparison_json",
    "cost_effectiveness",
    "difference_figure",
    "json_safe",
    "make_report",
    "mean_ci",
    "network_figure",
    "parameter_differences",
    "run_experiment",
    "run_id",
    "run_scenario",
    "run_until_precise",
    "structure_figure",
    "summarise",
    "timeseries_figure",
]
