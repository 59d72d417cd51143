"""Command line of the relocation model: a thin shell over `analysis` and `simulation`.

python run.py run scenarios/baseline.toml --seed 3 --years 5 --json
python run.py run scenarios/baseline.toml --set wages.out_of_county=5200 --out results/x
"""

from __future__ import annotations

import signal
import sys

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
if __name__ == "__mp_main__":
    # a worker process (of a local pool or a Dask nanny) importing this file: a Ctrl-C reaches the
    # whole process group, but stopping the workers is the main process's job
    signal.signal(signal.SIGINT, signal.SIG_IGN)
elif __name__ == "__main__" and hasattr(signal, "pthread_sigmask"):
    # a stop signal while the libraries load (seconds) is held back until they have (see the end)
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
if __name__ == "__main__":
    import os

    # multiprocessing's resource tracker, started later as a child, reads PYTHONWARNINGS: a
    # stopped Bayesian fit ends its Dask workers hard, and the tracker would then warn about
    # their semaphores after the stop's one-line message
    _quiet_tracker = "ignore::UserWarning:multiprocessing.resource_tracker"
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, (os.environ.get("PYTHONWARNINGS"), _quiet_tracker)))

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from analysis import json_safe, run_scenario
from analysis.stopping import Stopped, end_process_tree, stop_on_signals
from scenarios import ScenarioError, catalogue, load_scenario, override, parse_set
from scenarios.loader import erased_differences
from simulation.indicators import INDICATORS

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False)
console = Console(width=None if sys.stdout.isatty() else 150)  # wide tables in logs and pipes
err_console = Console(stderr=True)
CLASS_CAPACITY = 40  # = analysis.classroom.CAPACITY, without importing the app's module for --help
CLASS_IDLE_MINUTES = 15.0  # = analysis.classroom.IDLE_MINUTES

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a scenario value by dotted path, e.g. wages.out_of_county=5200 (repeatable). Every --set is "
        "validated; where a flag such as --years sets the same key, the flag wins.",
    ),
]


def fail(message: str) -> None:
    """Print a one-paragraph error and exit with status 2 (no traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def stoppable(lost: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a batch command stop cleanly on SIGINT, SIGTERM or SIGHUP to its main process.

    The signal raises `Stopped`; on its way out the command ends its workers and stores
    what is finished (a sweep). Then every process left in the tree is ended, one line
    says what was kept (`Stopped.note`, else `lost`), and the command exits with 128 + the
    signal number. The watchdog started by the signal bounds all of it (`stop_on_signals`).
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with stop_on_signals():
                try:
                    return command(*args, **kwargs)
                except KeyboardInterrupt as exc:  # Stopped, or a Ctrl-C before the handlers were in place
                    stop = exc if isinstance(exc, Stopped) else Stopped(signal.SIGINT)
                    end_process_tree()
                    err_console.print(f"stopped by {stop.name}: {stop.note or lost}", highlight=False, soft_wrap=True)
                    raise typer.Exit(code=stop.exit_code) from None

        return wrapper

    return decorate


def load_with_flags(path: Path | None, sets: list[str] | None, community: str | None, years: int | None = None):
    """Load a scenario with its --set overrides (each validated), then the flags (--years),
    which win over a --set of the same key; a clean error for anything wrong."""
    try:
        spec = load_scenario(path, parse_set(sets or []), community=community)
        return override(spec, {"simulation.years": years}) if years is not None else spec
    except ScenarioError as exc:
        fail(str(exc))


def read_start(path: Path) -> dict[str, Any]:
    """A saved calibration (calibration.json) to start from, checked for what is needed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"{path}: cannot read a calibration record ({exc})")
    for key in ("shared", "per_community"):
        if not isinstance(data.get(key), dict):
            fail(f"{path}: key `{key}` missing or not a table; expected a calibration.json written by `calibrate`")
    return data


def runs_progress(hidden: bool = False) -> Progress:
    """The progress bar of a batch of runs on stderr (hidden when JSON goes to a pipe)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=hidden,
    )


def summary_table(title: str, final: dict[str, Any]) -> Table:
    """The final month's summary indicators, as the indicator table declares and formats them."""
    table = Table(title=title, header_style="bold")
    table.add_column("indicator")
    table.add_column("value", justify="right")
    for key in INDICATORS.names("summary"):
        if key in final:
            table.add_row(key, INDICATORS.format(key, final[key]))
    return table


GROUP_COLUMNS = {
    "employment_rate": "employed",
    "share_local": "local",
    "share_out_of_county": "out of county",
    "share_agriculture": "agriculture",
    "share_industry": "industry",
}


def group_table(final: dict[str, Any]) -> Table:
    """Employment shares by age group and by education level."""
    table = Table(title="By age group and education (relocated labour force)", header_style="bold")
    table.add_column("group")
    for header in GROUP_COLUMNS.values():
        table.add_column(header, justify="right")
    for block in ("by_age_group", "by_education"):
        for group, shares in final[block].items():
            table.add_row(group.replace("_", " "), *(INDICATORS.format(k, shares[k]) for k in GROUP_COLUMNS))
    return table


def cohort_table(final: dict[str, Any]) -> Table:
    """The main indicators by arrival wave (waves that have households)."""
    from simulation.indicators import COHORT_KEYS

    table = Table(title="By arrival wave (relocated households)", header_style="bold")
    table.add_column("wave")
    for key in COHORT_KEYS:
        table.add_column(key.replace("_", " "), justify="right")
    for wave, values in final.get("by_arrival", {}).items():
        if values["households"]:
            table.add_row(
                wave.replace("_", " "), *(INDICATORS.format(f"by_arrival.{wave}.{k}", values[k]) for k in COHORT_KEYS)
            )
    return table


@app.callback()
def main() -> None:
    """Agent-based model of relocation for poverty alleviation and its follow-up support."""


@app.command()
@stoppable("the run did not finish; nothing was written.")
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    seed: Annotated[int | None, typer.Option(help="Model seed (default: the scenario's).")] = None,
    years: Annotated[int | None, typer.Option(help="Years to simulate (default: the scenario's).")] = None,
    set_: SetOption = None,
    community: Annotated[str | None, typer.Option(help="Apply a community profile, e.g. kaili_qingquan.")] = None,
    out: Annotated[Path | None, typer.Option(help="Directory for the monthly indicators CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the final month as one JSON object.")] = False,
) -> None:
    """Run one scenario and report the final month (monthly indicators go to --out)."""
    spec = load_with_flags(scenario, set_, community, years=years)
    result = run_scenario(spec, seed=seed)
    if as_json:
        sys.stdout.write(json.dumps(json_safe(result.final), allow_nan=False) + "\n")
        if out is None:
            return
    out_dir = out if out is not None else Path("results") / f"run-{spec.name}-seed{result.seed}"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        result.monthly.to_csv(out_dir / "monthly.csv", index=False)
    except OSError as exc:
        fail(f"--out {out_dir}: cannot write the monthly indicators ({exc.strerror}).")
    if not as_json:
        title = f"{spec.name} ({spec.community.id}), seed {result.seed}, month {result.final['month']}"
        console.print(summary_table(title, result.final))
        console.print(group_table(result.final))
        console.print(cohort_table(result.final))
        console.print(f"Monthly indicators: {out_dir / 'monthly.csv'}")


DEFAULT_COMPARISON = ("scenarios/baseline.toml", "scenarios/combined.toml")


def parse_replicates(value: str) -> int | None:
    """`--replicates`: a whole number >= 1, or `auto` (None)."""
    if value.strip().lower() == "auto":
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        fail(f"--replicates {value!r}: expected a whole number >= 1, or auto.")
    return number


def parse_indicator_values(items: list[str] | None, option: str, allowed: tuple[str, ...]) -> dict[str, float]:
    """`--margin` / `--target` INDICATOR=VALUE pairs: a compared indicator and a positive number."""
    import math

    values: dict[str, float] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            fail(f"{option} {item!r}: expected INDICATOR=VALUE, e.g. {option} poverty_rate=0.005.")
        if name not in allowed:
            fail(f"{option} {item!r}: {name!r} is not a compared indicator; choose from {', '.join(allowed)}.")
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and number > 0):
            fail(f"{option} {item!r}: the value must be a positive number, in the indicator's own units.")
        values[name] = number
    return values


@app.command()
@stoppable("the runs did not finish; no report was written.")
def compare(
    scenario_files: Annotated[
        list[Path] | None, typer.Argument(help="BASE.toml OTHER.toml [MORE.toml ...] (default: baseline vs combined).")
    ] = None,
    replicates: Annotated[
        str,
        typer.Option(
            help="Runs per scenario (replicate i uses seed+i in all), or `auto`: batches of --batch replicates until "
            "every key indicator's difference interval is narrower than its target (--target), at most --max-replicates."
        ),
    ] = "20",
    years: Annotated[int | None, typer.Option(min=1, help="Years to simulate (default: each scenario's).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of replicate 0.")] = 1,
    community: Annotated[str | None, typer.Option(help="Apply a community profile to every scenario.")] = None,
    out: Annotated[Path | None, typer.Option(help="Directory for report.html, figures/ and runs.csv.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default: all processors).")
    ] = None,
    set_: SetOption = None,
    allow_erasing: Annotated[
        bool,
        typer.Option(
            "--allow-erasing",
            help="Allow a --set or --community that makes the compared scenarios equal where their files differ.",
        ),
    ] = False,
    adjust: Annotated[
        str,
        typer.Option(
            help="Multiplicity adjustment of the differences (every other scenario x key indicator): holm (intervals "
            "Bonferroni-simultaneous), bh (Benjamini-Hochberg; FCR-adjusted intervals), none, or auto = holm when more "
            "than one scenario is compared with the base."
        ),
    ] = "auto",
    margin: Annotated[
        list[str] | None,
        typer.Option(
            help="Equivalence margin INDICATOR=VALUE in the indicator's units (repeatable; defaults from the "
            "indicator table, e.g. poverty_rate=0.005)."
        ),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            help="With --replicates auto: the width INDICATOR=WIDTH its difference interval must get below "
            "(repeatable; default: the indicator's margin)."
        ),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="With --replicates auto: replicates added per batch.")] = 10,
    max_replicates: Annotated[
        int, typer.Option(min=2, help="With --replicates auto: stop at this many replicates.")
    ] = 100,
    posterior: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="Also run N replicates with one parameter set per replicate drawn from the calibration's posterior "
            "(scenarios/calibrated/posterior.csv), shared by every scenario of the replicate; the report shows "
            "seed-only and posterior intervals side by side (the seed-only runs then use N replicates too).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison table as JSON.")] = False,
) -> None:
    """Compare scenarios over replicates: table with CIs, paired differences adjusted for
    multiplicity, equivalence, costs with intervals, report (`--posterior N`: with calibration
    uncertainty)."""
    import warnings

    from analysis.compare import (
        KEY_INDICATORS,
        comparison_json,
        indicators_for,
        run_experiment,
        run_until_precise,
        unique_labels,
    )
    from analysis.executors import default_workers
    from analysis.inference import ADJUSTMENTS, METHOD_NAMES, FewReplicatesWarning, resolve_adjust
    from analysis.report import (
        adjustment_caption,
        adjustment_note,
        comparison_rows,
        cost_note,
        cost_rows,
        equivalence_note,
        make_report,
    )

    root = Path(__file__).resolve().parent
    files = list(scenario_files) if scenario_files else [root / f for f in DEFAULT_COMPARISON]
    if len(files) < 2:
        fail("compare needs a base scenario and at least one other (or no arguments for baseline vs combined).")
    fixed = parse_replicates(replicates)
    draws = None
    if posterior is not None:
        from analysis.bayes import PriorError, read_posterior

        if fixed is None:
            fail("--posterior N sets the replicates itself; it cannot be combined with --replicates auto.")
        fixed = posterior
        try:
            draws = read_posterior()
        except PriorError as exc:
            fail(str(exc))
    if adjust not in ADJUSTMENTS:
        fail(f"--adjust {adjust!r}: expected one of {', '.join(ADJUSTMENTS)}.")
    specs = [load_with_flags(f, set_, community, years=years) for f in files]
    compared = indicators_for(specs)  # the key indicators, and the decision's where the stage is on
    margins = {**INDICATORS.margins(), **parse_indicator_values(margin, "--margin", compared)}
    targets = {k: v for k, v in margins.items() if k in KEY_INDICATORS}  # default targets: the key indicators
    targets.update(parse_indicator_values(target, "--target", compared))
    if fixed is None and not targets:
        fail("--replicates auto needs a precision target: give one with --target INDICATOR=WIDTH.")
    if not allow_erasing:
        erased = erased_differences(files, parse_set(set_ or []), community)
        if erased:
            fail(" ".join(erased))
    overrides = list(set_ or []) + ([f"--years {years}"] if years is not None else [])
    labels = unique_labels(specs)
    scenarios = dict(zip(labels, specs, strict=True))
    workers = workers or default_workers()
    out_dir = out if out is not None else Path("results") / ("compare-" + "-vs-".join(labels))
    method = resolve_adjust(adjust, len(labels) - 1)
    if fixed is not None and fixed < 2:
        err_console.print(
            f"[bold yellow]warning:[/] {fixed} replicate per scenario: no confidence interval, test or equivalence "
            "verdict can be given (shown as -); use --replicates 2 or more, or auto.",
            highlight=False,
        )
    total = len(specs) * (fixed or max_replicates) * (2 if draws is not None else 1)
    with runs_progress(hidden=as_json and not err_console.is_terminal) as progress:
        what = f"{total} runs" if fixed else f"up to {total} runs (auto, batches of {batch})"
        bar = progress.add_task(f"{what} on {workers} process(es)", total=total)
        run = {"seed": seed, "workers": workers, "on_done": lambda _: progress.advance(bar)}
        if fixed is None:
            experiment, precision = run_until_precise(
                scenarios,
                targets,
                batch=batch,
                maximum=max_replicates,
                adjust=adjust,
                margins=margins,
                indicators=compared,
                **run,
            )
        else:
            experiment, precision = run_experiment(scenarios, replicates=fixed, **run), None
        uncertainty = None
        if draws is not None:
            from analysis.compare import posterior_settings, uncertainty_table

            drawn = run_experiment(
                scenarios, replicates=fixed, networks=False, draw_settings=posterior_settings(draws, fixed, seed), **run
            )
            uncertainty = uncertainty_table(experiment.finals, drawn.finals, labels[0], compared)
    n = experiment.replicates
    settings = {
        "scenarios": ", ".join(str(f) for f in files),
        "replicates": str(n) if precision is None else f"auto: {precision.describe()}",
        "seeds": f"{seed}..{seed + n - 1} (common random numbers)",
        "years": str(specs[0].simulation.years if years is None else years),
        "community": community or ", ".join(sorted({s.community.id for s in specs})),
        "overrides": " ".join(overrides) or "none",
        "multiple comparisons": METHOD_NAMES[method] + ("" if adjust != "auto" else " (auto)"),
        "equivalence margins": ", ".join(f"{k} = {v:g}" for k, v in margins.items() if k in compared),
    }
    if draws is not None:
        settings["calibration uncertainty"] = (
            f"{n} more replicates, each with one parameter set drawn from {draws.source} (draws fixed by the seed)"
        )
    if precision is not None:
        settings["precision targets (interval width)"] = ", ".join(f"{k} = {v:g}" for k, v in targets.items())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewReplicatesWarning)  # said once above, in words
            made = make_report(experiment, labels[0], out_dir, settings, adjust, margins, precision, uncertainty)
    except OSError as exc:
        fail(f"--out {out_dir}: cannot write the report ({exc.strerror}); the runs finished but nothing was saved.")
    table = made["table"]
    if precision is not None:
        err_console.print(precision.describe(), highlight=False)
    if as_json:
        record = comparison_json(table, made["costs"])
        if uncertainty is not None:
            record["calibration_uncertainty"] = json_safe(uncertainty.to_dict("records"))
        sys.stdout.write(json.dumps(record, allow_nan=False) + "\n")
        return
    rows = comparison_rows(table, labels[0])
    base_rows = rows[rows["scenario"] == labels[0]].set_index("indicator")
    for label in labels[1:]:
        shown = Table(
            title=f"{label} vs {labels[0]}: final month, mean [95% CI] over {n} replicates",
            caption=adjustment_caption(table, labels[0]),
            caption_justify="left",
            header_style="bold",
        )
        for column in ("indicator", labels[0], label, "difference [CI as stated]", "CI level", "margin", "equivalence"):
            shown.add_column(column, justify="left" if column in ("indicator", "equivalence") else "right")
        for row in rows[rows["scenario"] == label].to_dict("records"):
            if row["indicator"] not in compared:
                continue
            b = base_rows.loc[row["indicator"]]
            shown.add_row(
                row["indicator"],
                f"{b['mean']} {b['95% CI']}",
                f"{row['mean']} {row['95% CI']}",
                f"{row[f'diff vs {labels[0]}']} {row['diff CI as stated']}",
                row["CI level"],
                row["margin"],
                row["equivalence"],
            )
        console.print(shown)
    costs = cost_rows(made["costs"])
    cost_table = Table(
        title=f"Cost-effectiveness relative to {labels[0]}",
        caption=cost_note(made["costs"]),
        caption_justify="left",
        header_style="bold",
    )
    for column in costs.columns:
        cost_table.add_column(column, justify="left" if column == "scenario" else "right")
    for row in costs.itertuples(index=False):
        cost_table.add_row(*map(str, row))
    console.print(cost_table)
    if uncertainty is not None:
        print_uncertainty(uncertainty)
    for note in (adjustment_note(table, labels[0]), equivalence_note(table, labels[0])):
        if note:
            console.print(note, highlight=False)
    console.print(f"Report: {made['report']}   Tidy data: {made['runs']}")


def print_uncertainty(uncertainty: pd.DataFrame) -> None:
    """The differences with calibration uncertainty beside the seed-only ones, as a table."""
    from analysis.report import UNCERTAINTY_NOTE, uncertainty_rows

    shown = Table(title="Differences with calibration uncertainty", caption=UNCERTAINTY_NOTE, header_style="bold")
    rows_u = uncertainty_rows(uncertainty)
    for column in rows_u.columns:
        shown.add_column(column, justify="left" if column in ("scenario", "indicator") else "right")
    for row in rows_u.itertuples(index=False):
        shown.add_row(*map(str, row))
    console.print(shown)


@app.command()
@stoppable("the runs did not finish; no report was written.")
def phaseout(
    scenario: Annotated[
        Path | None, typer.Argument(help="The package's scenario TOML (default: scenarios/combined.toml).")
    ] = None,
    community: Annotated[
        str | None, typer.Option(help="Apply a community profile (default: the scenario's, the typical community).")
    ] = None,
    at: Annotated[
        int, typer.Option(help="Last month at full strength: each policy ends after it (or starts to taper).")
    ] = 60,
    taper: Annotated[
        int, typer.Option(min=0, help="Months over which each policy falls linearly to nothing after --at (0: ends).")
    ] = 0,
    replicates: Annotated[int, typer.Option(min=1, help="Paired runs per scenario (replicate i uses seed+i).")] = 20,
    seed: Annotated[int, typer.Option(min=0, help="Seed of replicate 0.")] = 1,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default: all processors).")
    ] = None,
    policy: Annotated[
        list[str] | None,
        typer.Option(
            help="Phase out only this policy (repeatable; default: every enabled one but the transition period)."
        ),
    ] = None,
    adjust: Annotated[
        str, typer.Option(help="Multiplicity adjustment: auto (holm when > 1 policy), holm, bh or none.")
    ] = "auto",
    years: Annotated[int | None, typer.Option(min=1, help="Years to simulate (default: the scenario's).")] = None,
    set_: SetOption = None,
    report: Annotated[
        Path | None, typer.Option(help="Directory for phaseout.html, phaseout.csv, runs.csv and figures/.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ranked table as JSON.")] = False,
    shocks: Annotated[
        bool,
        typer.Option(
            "--shocks/--no-shocks",
            help="Illness, unpaid wages and bad harvests on, in the package and every variant (default: on; "
            "without them households fall back only through the churn of jobs).",
        ),
    ] = True,
    posterior: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="Run N replicates twice: at fixed parameters, and with one parameter set per replicate drawn from "
            "the calibration's posterior (scenarios/calibrated/posterior.csv), shared by the package and every "
            "variant of the replicate; shows both rankings and each difference's two intervals (sets --replicates).",
        ),
    ] = None,
) -> None:
    """Phase out each policy of a package alone (ended at --at, or tapered over --taper months):
    money saved against extra poverty, falling back and going back, ranked (docs/PHASEOUT.md;
    `--posterior N`: also with calibration uncertainty)."""
    from analysis.executors import default_workers
    from analysis.inference import ADJUSTMENTS, METHOD_NAMES, resolve_adjust
    from analysis.phaseout import DEFAULT_SCENARIO, OUTCOMES, PhaseoutError, phaseout_json, run_phaseout
    from analysis.report import phaseout_note, phaseout_rows, write_phaseout_report

    if adjust not in ADJUSTMENTS:
        fail(f"--adjust {adjust!r}: expected one of {', '.join(ADJUSTMENTS)}.")
    draws = None
    if posterior is not None:
        from analysis.bayes import PriorError, read_posterior

        try:
            draws = read_posterior()
        except PriorError as exc:
            fail(str(exc))
        replicates = posterior
    path = scenario if scenario is not None else Path(__file__).resolve().parent / DEFAULT_SCENARIO
    spec = load_with_flags(path, set_, community, years=years)
    if shocks:
        spec = override(spec, {"shocks.enabled": True})
    workers = workers or default_workers()
    if replicates < 2:
        err_console.print(
            f"[bold yellow]warning:[/] {replicates} replicate: no confidence interval or test can be given "
            "(shown as -); use --replicates 2 or more.",
            highlight=False,
        )
    drawn = uncertainty = None
    with runs_progress(hidden=as_json and not err_console.is_terminal) as progress:
        bar = progress.add_task(
            f"{replicates} replicates (package + each policy phased out) on {workers} process(es)"
            + (", then as many at posterior draws" if draws is not None else ""),
            total=replicates * (2 if draws is not None else 1),
        )
        common = dict(at=at, taper=taper, replicates=replicates, seed=seed, workers=workers, policies=policy)
        try:
            result = run_phaseout(spec, adjust=adjust, on_done=lambda _: progress.advance(bar), **common)
            if draws is not None:
                from analysis.compare import posterior_settings
                from analysis.phaseout import posterior_table

                drawn = run_phaseout(
                    spec,
                    adjust=adjust,
                    on_done=lambda _: progress.advance(bar),
                    draw_settings=posterior_settings(draws, replicates, seed),
                    **common,
                )
                uncertainty = posterior_table(result, drawn)
        except PhaseoutError as exc:
            progress.stop()
            fail(str(exc))
    what = f"tapered over {taper} months after month {at}" if taper else f"ended after month {at}"
    settings = {
        "package": f"{path} ({spec.name}), community {spec.community.id}",
        "phase-out": f"each policy alone {what} (of {spec.months})",
        "replicates": f"{replicates}, seeds {seed}..{seed + replicates - 1} (common random numbers)",
        "outcomes": ", ".join(OUTCOMES),
        "multiple comparisons": METHOD_NAMES[resolve_adjust(adjust, len(result.policies))]
        + (" (auto)" if adjust == "auto" else ""),
        "overrides": " ".join(set_ or []) or "none",
        "posterior intervals": (
            f"{replicates} more replicates, each with one parameter set drawn from {draws.source} (draws fixed by "
            "the seed), shared by the package and every variant"
            if draws is not None
            else "not drawn: fixed parameters (--posterior N draws from the posterior)"
        ),
    }
    out_dir = (
        report
        if report is not None
        else Path("results") / (f"phaseout-{spec.name}-at{at}" + (f"-taper{taper}" if taper else ""))
    )
    try:
        written = write_phaseout_report(result, out_dir, settings, drawn, uncertainty)
    except OSError as exc:
        fail(
            f"--report {out_dir}: cannot write the report ({exc.strerror or exc}); the runs finished but nothing was saved."
        )
    if as_json:
        record = phaseout_json(result)
        if drawn is not None:
            record["with_posterior"] = phaseout_json(drawn)
            record["calibration_uncertainty"] = json_safe(uncertainty.to_dict("records"))
        sys.stdout.write(json.dumps(record, allow_nan=False) + "\n")
        return
    runs = [(result, "", False)] + ([(drawn, ", with one posterior draw per replicate", True)] if drawn else [])
    for one, how, at_draws in runs:
        rows = phaseout_rows(one.ranking)
        shown = Table(
            title=f"Phasing out the policies of {spec.name} ({spec.community.id}): each {what}, "
            f"{replicates} replicates{how}",
            caption=phaseout_note(one.ranking, replicates, at_draws),
            caption_justify="left",
            header_style="bold",
        )
        for column in rows.columns:
            shown.add_column(
                column, justify="left" if column in ("policy", "verdict") else "right", no_wrap=column == "policy"
            )
        for row in rows.itertuples(index=False):
            shown.add_row(*map(str, row))
        console.print(shown)
    if uncertainty is not None:
        print_uncertainty(uncertainty)
    console.print(f"Report: {written['report']}   Table: {written['table']}   Tidy data: {written['runs']}")


ExecutorOption = Annotated[
    str, typer.Option(help="local (processes on this machine), dask-local (a local Dask cluster) or dask.")
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (or RELOCATION_DASK_SCHEDULER); implies dask."),
]


AddOption = Annotated[
    bool,
    typer.Option(
        "--add-to-existing",
        help="Add this sweep's design to an OUT that holds another design (same record and indicators), instead of "
        "refusing; runs the designs share are stored once.",
    ),
]


def _run_sweep_command(sweep_file: Path, out: Path, workers, executor, scheduler, batch_size, add_to_existing=False):
    """Load a sweep file and run what is missing from OUT, with a progress bar."""
    from analysis.executors import SCHEDULER_ENV, default_workers
    from analysis.folder_lock import FolderLocked
    from analysis.sweep import StoreError, load_sweep, run_sweep, stored_run_ids

    scheduler = scheduler or os.environ.get(SCHEDULER_ENV)
    if scheduler:
        executor = "dask"
    if executor not in ("local", "dask-local", "dask"):
        fail(f"--executor {executor!r}: expected local, dask-local or dask.")
    if executor == "dask" and not scheduler:
        fail(f"--executor dask needs --scheduler ADDRESS (or {SCHEDULER_ENV}).")
    try:
        sweep_spec = load_sweep(sweep_file)
    except ScenarioError as exc:
        fail(str(exc))
    workers = workers or default_workers()
    where = (
        scheduler
        if executor == "dask"
        else f"{workers} {'local Dask workers' if executor == 'dask-local' else 'processes'}"
    )
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
    )
    bar = progress.add_task(f"{sweep_spec.spec.name}: runs on {where}", total=len(sweep_spec.run_ids))

    def advance(done: int, total: int) -> None:
        progress.start()  # first called once OUT is locked and checked: a refusal shows no bar
        progress.update(bar, completed=done, total=total)

    def stop_bar() -> None:
        if progress.live.is_started:
            progress.stop()

    try:
        counts = run_sweep(
            sweep_spec,
            out,
            workers,
            executor,
            scheduler,
            batch_size,
            on_progress=advance,
            add_to_existing=add_to_existing,
        )
    except (StoreError, FolderLocked) as exc:
        stop_bar()
        fail(str(exc))
    except KeyboardInterrupt as exc:  # a stop signal: run_sweep has stored every finished run
        stop_bar()
        stop = exc if isinstance(exc, Stopped) else Stopped(signal.SIGINT)
        try:
            stored = len(stored_run_ids(out) & sweep_spec.run_ids) if out.is_dir() else 0
        except Exception:  # an unreadable store: say nothing wrong rather than fail here
            stored = None
        kept = f"{stored} of {len(sweep_spec.run_ids)} runs are" if stored is not None else "finished runs are"
        raise Stopped(stop.signum, f"{kept} stored in {out}; run the same command to resume.") from None
    finally:
        stop_bar()
    err_console.print(
        f"{counts['total']} runs: {counts['stored_before']} already stored, {counts['run_now']} run now"
        f" ({counts['failed_now']} failed). Results: {out / 'runs'}  Manifest: {out / 'manifest.json'}"
    )
    return sweep_spec


@app.command()
@stoppable("nothing was run yet.")
def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="Sweep TOML file.")],
    out: Annotated[Path, typer.Option(help="Directory for the Parquet results and manifest.")],
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: all processors).")] = None,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Runs per Parquet part written.")] = 20,
    add_to_existing: AddOption = False,
) -> None:
    """Run every point x replicate of a sweep (only what OUT does not have yet)."""
    _run_sweep_command(sweep_file, out, workers, executor, scheduler, batch_size, add_to_existing)


@app.command()
@stoppable("nothing was run yet.")
def sensitivity(
    sweep_file: Annotated[Path, typer.Argument(help="Sweep TOML file with method = 'sobol' or 'morris'.")],
    out: Annotated[Path, typer.Option(help="Directory for the runs, sensitivity.csv and sensitivity.png.")],
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: all processors).")] = None,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Runs per Parquet part written.")] = 20,
    add_to_existing: AddOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the indices as JSON records.")] = False,
) -> None:
    """Sobol (S1, ST with 95% CIs) or Morris (mu*, sigma) indices per recorded indicator."""
    from analysis.folder_lock import FolderLock, FolderLocked
    from analysis.sensitivity import SensitivityError, analyse, sensitivity_figure
    from analysis.sweep import read_results

    sweep_spec = _run_sweep_command(sweep_file, out, workers, executor, scheduler, batch_size, add_to_existing)
    try:
        with FolderLock(out):
            table = analyse(sweep_spec, read_results(out, sweep=sweep_spec))  # this design's runs only
            table.to_csv(out / "sensitivity.csv", index=False)
            fig = sensitivity_figure(table, sweep_spec.spec.method)
            fig.savefig(out / "sensitivity.png", dpi=110)
    except SensitivityError as exc:
        fail(f"{sweep_file}: {exc}")
    except FolderLocked as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"--out {out}: cannot write the sensitivity table or figure ({exc.strerror or exc}); the runs are stored.")
    except Stopped as exc:
        raise Stopped(
            exc.signum, f"all runs are stored in {out}; the indices were not written: run it again."
        ) from None
    if as_json:
        sys.stdout.write(json.dumps(json_safe(table.to_dict("records")), allow_nan=False) + "\n")
        return
    shown = Table(
        title=f"{sweep_spec.spec.method.capitalize()} indices ({len(sweep_spec.tasks)} runs)", header_style="bold"
    )
    for column in table.columns:
        shown.add_column(column, justify="left" if column in ("indicator", "parameter") else "right")
    for row in table.itertuples(index=False):
        shown.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    console.print(shown)
    console.print(f"Table: {out / 'sensitivity.csv'}  Figure: {out / 'sensitivity.png'}")


@app.command()
@stoppable("nothing was written.")
def discover(
    results: Annotated[Path, typer.Argument(help="A sweep's results folder (the --out of run.py sweep).")],
    where: Annotated[
        str,
        typer.Option(
            help='The outcome of interest, e.g. "poverty_rate > 0.1": comparisons of recorded indicators (the mean '
            "over a point's replicates in the final month) and swept parameters (dotted keys) with numbers, joined "
            "with and / or / not.",
        ),
    ],
    threshold: Annotated[float, typer.Option(help="Minimum density of a box (share of its points of interest).")] = 0.8,
    boxes: Annotated[int, typer.Option(min=1, help="At most this many boxes, each among the points left.")] = 3,
    figure: Annotated[
        Path | None, typer.Option(help="Where to write the figure (default RESULTS/discovery.png).")
    ] = None,
    sweep_file: Annotated[
        Path | None, typer.Option("--sweep", help="The sweep file of the design to read, if RESULTS holds several.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the boxes as one JSON object.")] = False,
) -> None:
    """Scenario discovery: PRIM boxes of parameter ranges where --where holds (reads RESULTS, writes a figure)."""
    from analysis.discovery import DiscoveryError, discovery_figure, discovery_json, read_points
    from analysis.discovery import discover as find_boxes
    from analysis.sweep import load_sweep

    try:
        design = load_sweep(sweep_file) if sweep_file is not None else None
        points = read_points(results, sweep=design)
        found = find_boxes(points, where, threshold=threshold, max_boxes=boxes)
    except (DiscoveryError, ScenarioError) as exc:
        fail(str(exc))
    figure = figure if figure is not None else results / "discovery.png"
    try:
        figure.parent.mkdir(parents=True, exist_ok=True)
        discovery_figure(found).savefig(figure, dpi=110)
    except OSError as exc:
        fail(f"--figure {figure}: cannot write the figure ({exc.strerror or exc}).")
    if as_json:
        data = discovery_json(found, points) | {"figure": str(figure)}
        sys.stdout.write(json.dumps(json_safe(data), allow_nan=False) + "\n")
        return
    stored = f"{points.runs} runs" + (f" of {points.expected_runs}" if points.expected_runs else "")
    console.print(
        f"{results}: {found.points} design points ({stored}, {points.failed} failed; each point the mean over its "
        f"replicates in the final month). {found.cases} points ({found.cases / found.points:.0%}) satisfy "
        f"[bold]{where}[/]. PRIM: minimum density {threshold:g}, at most {boxes} box(es).",
        highlight=False,
    )
    if found.cost:
        console.print(
            f"Mean {found.cost}: {INDICATORS.format(found.cost, found.cost_mean)} over all points, "
            f"{INDICATORS.format(found.cost, found.cost_mean_cases)} over the points of interest.",
            highlight=False,
        )

    def show(value: float | None) -> str:
        return "-" if value is None else f"{value:.4g}"

    for box in found.boxes:
        cost = f"; mean {found.cost} {INDICATORS.format(found.cost, box.cost_mean)}" if found.cost else ""
        table = Table(
            title=f"Box {box.number}: coverage {box.coverage:.2f}, density {box.density:.2f}, mass {box.mass:.2f} "
            f"({box.points} points, {box.cases} of interest{cost})",
            header_style="bold",
            title_justify="left",
        )
        for column in ("parameter", "box range", "full range", "quasi-p"):
            table.add_column(column, justify="left" if column == "parameter" else "right")
        for r in sorted(box.ranges, key=lambda r: (not r.restricted, r.qp if r.qp is not None else 1.0)):
            if r.levels is not None:
                inside, full = ", ".join(map(str, r.levels)), ", ".join(map(str, r.full_levels or ()))
            else:
                inside, full = f"{show(r.low)} to {show(r.high)}", f"{show(r.full_low)} to {show(r.full_high)}"
            table.add_row(
                r.name, inside if r.restricted else "(not restricted)", full, f"{r.qp:.2g}" if r.qp is not None else ""
            )
        console.print(table)
    if found.note:
        console.print(f"{found.note}.", highlight=False)
    console.print(f"Figure: {figure}")


@app.command()
@stoppable(
    "the calibration did not finish; no calibrated files were written (Bayesian: the finished generations "
    "are in the database, continue with --resume)."
)
def calibrate(
    method: Annotated[
        str,
        typer.Option(
            help="bayes: ABC-SMC posterior with pyabc (docs/FIT.md); point: the earlier least-squares fit "
            "(calibration.json)."
        ),
    ] = "bayes",
    population: Annotated[int, typer.Option(min=10, help="Bayes: particles per generation.")] = 300,
    generations: Annotated[
        int, typer.Option(min=1, help="Bayes: generations in all (a resume counts those done).")
    ] = 12,
    minutes: Annotated[
        float, typer.Option(min=0.1, help="Bayes: stop starting new generations after this many minutes.")
    ] = 55.0,
    db: Annotated[Path, typer.Option(help="Bayes: the SQLite history of the fit.")] = Path(
        "results/calibration/abc.db"
    ),
    resume: Annotated[bool, typer.Option(help="Bayes: continue the fit stored in --db.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Bayes: start afresh even if --db holds a fit (it is lost).")] = False,
    kernel_scale: Annotated[
        float,
        typer.Option(min=0.1, help="Bayes: proposal kernel width as a multiple of pyabc's (see analysis.bayes)."),
    ] = 3.0,
    kernel: Annotated[
        str,
        typer.Option(
            help="Bayes: proposal kernel, reflected (a diagonal normal folded back into the prior's bounds) or "
            "normal (pyabc's multivariate normal, proposals outside redrawn, as in the earlier fits)."
        ),
    ] = "reflected",
    people: Annotated[int, typer.Option(min=200, help="Bayes: relocated people simulated per community.")] = 1_600,
    scheduler: Annotated[
        str | None, typer.Option(help="Bayes: address of a running Dask scheduler (default: a local cluster).")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Bayes: seed of the sampler's proposals.")] = 1,
    presets: Annotated[
        bool,
        typer.Option(
            help="Bayes: only write the central particle's community files (central/<community>.toml) from the "
            "posterior in --out; no fitting."
        ),
    ] = False,
    rounds: Annotated[
        int, typer.Option(min=0, help="Point: rounds of local refinement after the grid (each community, then shared).")
    ] = 2,
    seeds: Annotated[int, typer.Option(min=1, help="Point: seeds averaged in each evaluation.")] = 3,
    community_evals: Annotated[int, typer.Option(min=5, help="Point: simulations per community fit per round.")] = 60,
    refit_evals: Annotated[int, typer.Option(min=3, help="Point: simulations per community re-fit.")] = 15,
    grid_evals: Annotated[
        int, typer.Option(min=3, help="Point: simulations per community fit at each grid point.")
    ] = 30,
    start: Annotated[
        Path | None,
        typer.Option(help="Point: a calibration.json to start from (e.g. scenarios/calibrated/calibration.json)."),
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: all processors).")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Directory for the calibrated files (default scenarios/calibrated; Bayes: the central particle's in "
            "its central/ folder)."
        ),
    ] = None,
    set_: SetOption = None,
) -> None:
    """Fit the six surveyed communities to the 2020 survey: a posterior by ABC-SMC (default), or
    the earlier point fit (`--set policies.relocation_terms.enabled=true`: the whole chain)."""
    from analysis.executors import default_workers

    load_with_flags(None, set_, None)  # every --set checked against the schema before hours of fitting
    overrides = parse_set(set_ or [])
    workers = workers or default_workers()
    if method == "bayes" and presets:
        _write_presets(out)
    elif method == "bayes":
        if start is not None:
            fail("--start refines a point fit: use it with --method point (a Bayesian fit continues with --resume).")
        _calibrate_bayes(
            population,
            generations,
            minutes,
            db,
            resume,
            overwrite,
            kernel_scale,
            kernel,
            people,
            scheduler,
            seed,
            workers,
            out,
            overrides,
        )
    elif method == "point":
        _calibrate_point(rounds, seeds, community_evals, refit_evals, grid_evals, start, workers, out, overrides)
    else:
        fail(f"--method {method!r}: expected bayes or point")


def _write_presets(out: Path | None) -> None:
    """The central particle's community files from a posterior already written."""
    from analysis.bayes import CENTRAL, PriorError, central_particle, read_posterior, write_presets
    from analysis.calibration import CALIBRATED_DIR

    try:
        posterior = read_posterior(out or CALIBRATED_DIR)
        written = write_presets(posterior, (out or CALIBRATED_DIR) / CENTRAL)
    except (PriorError, ScenarioError) as exc:
        fail(str(exc))
    console.print(
        f"Central particle: row {central_particle(posterior)} of {posterior.source}; "
        f"wrote {', '.join(str(p) for p in written)}"
    )


def _calibrate_bayes(
    population: int,
    generations: int,
    minutes: float,
    db: Path,
    resume: bool,
    overwrite: bool,
    kernel_scale: float,
    kernel: str,
    people: int,
    scheduler: str | None,
    seed: int,
    workers: int,
    out: Path | None,
    overrides: dict[str, Any],
) -> None:
    """ABC-SMC over the six communities; writes posterior.csv and posterior.json."""
    import logging
    from datetime import timedelta

    from analysis.bayes import (
        PriorError,
        fit,
        identifiability,
        pair_figure,
        read_posterior,
        sector_mix_conflict,
        survey_problem,
        write_posterior,
    )
    from analysis.calibration import CALIBRATED_DIR

    logging.getLogger("ABC").setLevel(logging.INFO if sys.stderr.isatty() else logging.WARNING)
    try:
        problem = survey_problem(people=people, overrides=overrides)
        if resume and not db.exists():
            fail(f"{db}: no fit to resume; drop --resume to start one")
        err_console.print(
            f"ABC-SMC: {len(problem.names)} parameters, {len(problem.observed)} statistics, {population} particles "
            f"a generation, up to {generations} generations or {minutes:g} minutes, "
            f"{'scheduler ' + scheduler if scheduler else f'{workers} local worker(s)'}, {kernel} kernel at "
            f"{kernel_scale:g}x; history in {db}"
        )
        conflict = sector_mix_conflict(problem)
        if conflict:
            err_console.print(f"Note: {conflict}.", highlight=False)
        result = fit(
            problem,
            db,
            population=population,
            generations=generations,
            workers=workers,
            address=scheduler,
            walltime=timedelta(minutes=minutes),
            seed=seed,
            resume=resume,
            overwrite=overwrite,
            kernel_scale=kernel_scale,
            kernel=kernel,
        )
    except PriorError as exc:
        fail(str(exc))
    written = write_posterior(result, out or CALIBRATED_DIR)
    table = Table(title="ABC-SMC generations", header_style="bold")
    for column in ("generation", "epsilon", "particles", "simulations", "acceptance", "effective sample"):
        table.add_column(column, justify="right")
    for row in result.generations.itertuples():
        table.add_row(
            str(row.generation),
            f"{row.epsilon:.2f}",
            str(row.particles),
            str(row.simulations),
            f"{row.acceptance:.3f}",
            f"{row.effective_sample_size:.1f}",
        )
    console.print(table)
    last = result.generations.iloc[-1]
    if last["effective_sample_size"] < 0.1 * last["particles"]:
        err_console.print(
            f"[bold yellow]warning:[/] the last generation's effective sample size is "
            f"{last['effective_sample_size']:.1f} of {int(last['particles'])} particles: the weights have collapsed "
            "onto a few, so the posterior understates its uncertainty (try a larger --kernel-scale).",
            highlight=False,
        )
    written_posterior = read_posterior(out or CALIBRATED_DIR)
    summary = written_posterior.summary()
    ident = identifiability(written_posterior)
    db.parent.mkdir(parents=True, exist_ok=True)
    ident.to_csv(db.parent / "identifiability.csv", index=False)
    shown = [n for n in written_posterior.paths if "." not in n] + [
        n for n in written_posterior.paths if n.startswith("huanjiang_chengxi.")
    ]
    pair_figure(written_posterior, shown).savefig(db.parent / "posterior_pairs.png", dpi=110)
    post = Table(
        title="Posterior (weighted): mean, sd, 90 % interval; width as a share of the prior's 90 %",
        header_style="bold",
    )
    for column in ("parameter", "mean", "sd", "5 %", "95 %", "width/prior", "most correlated with"):
        post.add_column(column, justify="left" if column in ("parameter", "most correlated with") else "right")
    for row, id_row in zip(summary.itertuples(), ident.itertuples(), strict=True):
        post.add_row(
            row.parameter,
            f"{row.mean:.3g}",
            f"{row.sd:.2g}",
            f"{row.q05:.3g}",
            f"{row.q95:.3g}",
            f"{id_row.width_ratio:.2f}",
            f"{id_row.most_correlated_with} ({id_row.correlation:+.2f})",
        )
    console.print(post)
    console.print(
        f"{result.simulations:,} parameter sets simulated, {result.fit_seconds / 60:.1f} minutes of generations in all "
        f"({result.seconds / 60:.1f} in this call); "
        f"wrote {', '.join(str(p) for p in written)}; identifiability table and pair plot in {db.parent}; "
        "next: python run.py validate"
    )


def _calibrate_point(
    rounds: int,
    seeds: int,
    community_evals: int,
    refit_evals: int,
    grid_evals: int,
    start: Path | None,
    workers: int,
    out: Path | None,
    overrides: dict[str, Any],
) -> None:
    """The earlier least-squares point fit (calibration.json and one file per community)."""
    from analysis.calibration import CALIBRATED_DIR, write_calibrated
    from analysis.calibration import calibrate as fit

    result = fit(
        rounds=rounds,
        seeds=tuple(range(1, seeds + 1)),
        community_evals=community_evals,
        refit_evals=refit_evals,
        grid_evals=grid_evals,
        start=read_start(start) if start is not None else None,
        workers=workers,
        on_stage=lambda message: err_console.print(message),
        overrides=overrides,
    )
    written = write_calibrated(result, out or CALIBRATED_DIR)
    table = Table(
        title=f"Calibration: loss (pp^2) per community, total {result.total_loss:.1f} "
        f"(pooled employment rate term {result.employment_loss:.1f})",
        header_style="bold",
    )
    for column in (
        "community",
        "loss",
        *result.per_community[next(iter(result.per_community))],
        "out-of-county industry",
        "employment rate",
    ):
        table.add_column(column.split(".")[-1], justify="left" if column == "community" else "right")
    for community, params in result.per_community.items():
        table.add_row(
            community,
            f"{result.loss[community]:.1f}",
            *(f"{v:.3g}" for v in params.values()),
            f"{result.out_industry[community]:.2f}",
            f"{result.employment.get(community, float('nan')):.3f}",
        )
    console.print(table)
    console.print("Shared: " + ", ".join(f"{k} = {v:.3f}" for k, v in result.shared.items()))
    console.print(f"Wrote {', '.join(str(p) for p in written)}; next: python run.py validate")


@app.command()
@stoppable("the validation runs did not finish; nothing was written.")
def validate(
    method: Annotated[
        str,
        typer.Option(
            help="posterior: the fitted shares and the pre-registered holdout (data/holdout.toml) against the "
            "posterior predictive distribution; point: replicates of one parameter set per community (the files in "
            "--calibrated: the least-squares fit by default, scenarios/calibrated/central for the posterior's "
            "central particle) against the survey."
        ),
    ] = "posterior",
    draws: Annotated[
        int, typer.Option(min=2, help="Posterior: parameter sets drawn (one run per community each).")
    ] = 40,
    holdout: Annotated[
        Path | None, typer.Option(help="Posterior: the holdout file (default data/holdout.toml).")
    ] = None,
    replicates: Annotated[int, typer.Option(min=1, help="Point: runs per community.")] = 10,
    seed: Annotated[int, typer.Option(min=0, help="Seed of replicate 0.")] = 1,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: all processors).")] = None,
    out: Annotated[Path, typer.Option(help="Directory for validation.csv, validation.json and fit.png.")] = Path(
        "results/validation"
    ),
    calibrated: Annotated[
        Path | None, typer.Option(help="Directory of calibrated files (default scenarios/calibrated).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table and facts as JSON.")] = False,
) -> None:
    """Simulated vs observed for the six calibrated communities: the posterior predictive check
    with the pre-registered holdout (default), or the point fit's replicates; stylised facts."""
    import pandas as pd

    from analysis.calibration import CALIBRATED_DIR
    from analysis.executors import default_workers
    from analysis.validation import fit_figure
    from analysis.validation import validate as run_validation

    directory = calibrated or CALIBRATED_DIR
    if method == "posterior":
        _validate_posterior(draws, seed, workers or default_workers(), out, directory, holdout, as_json)
        return
    if method != "point":
        fail(f"--method {method!r}: expected posterior or point")
    try:
        total = 6 * replicates
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        ) as progress:
            bar = progress.add_task("validation runs", total=total)
            result = run_validation(
                replicates, seed, workers or default_workers(), directory, on_done=lambda _: progress.advance(bar)
            )
    except ScenarioError as exc:
        fail(f"{exc} (run `python run.py calibrate` first?)")
    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / "validation.csv", index=False)
    (out / "validation.json").write_text(json.dumps(json_safe(result.summary()), indent=2), encoding="utf-8")
    fit_figure(result).savefig(out / "fit.png", dpi=110)
    if as_json:
        sys.stdout.write(json.dumps(json_safe(result.summary()), allow_nan=False) + "\n")
        return
    table = Table(
        title=f"Simulated (mean [95% CI], {replicates} replicates) vs observed, 2020 survey", header_style="bold"
    )
    for column in ("community", "indicator", "simulated", "observed", "error", "target"):
        table.add_column(column, justify="left" if column in ("community", "indicator") else "right")
    for row in result.table.itertuples():
        income = INDICATORS[row.indicator].kind == "yuan"
        fmt = (lambda v: f"{v:,.0f}") if income else (lambda v: f"{100 * v:.1f}")
        mark = "" if pd.isna(row.within) else (" ok" if row.within else " MISS")
        target = (
            "out of sample" if income else ("pooled only" if pd.isna(row.target) else f"±{100 * row.target:.0f} pp")
        )
        table.add_row(
            row.community,
            row.indicator,
            f"{fmt(row.simulated)} [{fmt(row.ci_low)}, {fmt(row.ci_high)}]",
            fmt(row.observed),
            f"{fmt(row.error)}{mark}",
            target,
        )
    console.print(table)
    pooled = Table(
        title="All six pooled (shares weighted by employed workers, employment rate by labour force)",
        header_style="bold",
    )
    for column in ("indicator", "simulated %", "observed %", "error pp"):
        pooled.add_column(column, justify="left" if column == "indicator" else "right")
    for row in result.pooled.itertuples():
        mark = "" if pd.isna(row.within) else (" ok" if row.within else " MISS")
        pooled.add_row(
            row.indicator, f"{100 * row.simulated:.1f}", f"{100 * row.observed:.1f}", f"{100 * row.error:+.1f}{mark}"
        )
    console.print(pooled)
    console.print(
        f"Income per person after relocation, out of sample: MAPE {100 * result.income_mape:.1f} % "
        f"(target <= 20 %: {'met' if result.income_mape <= 0.2 else 'NOT met'}); the best any model with the "
        f"same earnings per employed worker everywhere can do is {100 * result.income_mape_floor:.1f} % "
        f"(at {result.floor_earnings:,.0f} yuan per worker per month)"
    )
    for fact in result.facts:
        console.print(f"[{'PASS' if fact['passed'] else 'FAIL'}] {fact['fact']}")
        for name, figure in fact["figures"].items():
            console.print(f"    {name}: {figure}")
    console.print(f"Table: {out / 'validation.csv'}  Figure: {out / 'fit.png'}")


def _left_right_table(title: str, left: tuple[str, ...], right: tuple[str, ...]) -> Table:
    """A table whose `left` columns are text and `right` columns are figures."""
    table = Table(title=title, header_style="bold")
    for column in left:
        table.add_column(column, justify="left")
    for column in right:
        table.add_column(column, justify="right")
    return table


def _validate_posterior(
    draws: int, seed: int, workers: int, out: Path, directory: Path, holdout_path: Path | None, as_json: bool
) -> None:
    """The posterior predictive check: fitted figures and the holdout, each with its 90 % interval."""
    from analysis.bayes import PriorError, Problem, read_posterior, sector_mix_conflict, survey_statistics
    from analysis.calibration import observed
    from analysis.predictive import HOLDOUT_PATH, fitted_check, holdout_check, predictive_runs, read_holdout
    from analysis.validation import stylised_facts

    try:
        posterior = read_posterior(directory)
        registered = read_holdout(holdout_path or HOLDOUT_PATH)
    except PriorError as exc:
        fail(str(exc))
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err_console
    ) as progress:
        bar = progress.add_task("posterior predictive runs", total=6 * draws)
        runs = predictive_runs(posterior, draws, seed, workers, on_done=lambda _: progress.advance(bar))
    level = registered.interval
    fitted = fitted_check(runs, level)
    held, verdicts = holdout_check(runs, registered)
    facts = stylised_facts(runs.rename(columns={"community": "scenario"}), observed())
    out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(out / "posterior_predictive_runs.csv", index=False)
    fitted.to_csv(out / "posterior_predictive.csv", index=False)
    held.to_csv(out / "holdout.csv", index=False)
    summary = {
        "method": "posterior predictive",
        "draws": draws,
        "interval": level,
        "posterior": str(posterior.source),
        "holdout_file": str(registered.path),
        "holdout_registered": registered.registered,
        "fitted": fitted.to_dict("records"),
        "holdout": held.to_dict("records"),
        "verdicts": verdicts,
        "holdout_passed": all(v["passed"] for v in verdicts),
        "stylised_facts": facts,
        # misses the survey's own identities force on a sector mix the fit shared (docs/FIT.md)
        "sector_mix_conflict": sector_mix_conflict(
            Problem(posterior.communities, tuple(posterior.priors.values()), survey_statistics(posterior.communities))
        ),
    }
    (out / "validation.json").write_text(json.dumps(json_safe(summary), indent=2), encoding="utf-8")
    if as_json:
        sys.stdout.write(json.dumps(json_safe(summary), allow_nan=False) + "\n")
        return
    pct = f"{100 * level:.0f}%"
    table = _left_right_table(
        f"Fitted survey figures against the posterior predictive ({draws} draws, mean [{pct} interval])",
        ("where", "indicator"),
        ("simulated", "observed", "inside"),
    )
    for row in fitted.itertuples():
        note = "" if row.fitted else " (check)"
        table.add_row(
            row.where,
            row.indicator + note,
            f"{100 * row.mean:.1f} [{100 * row.low:.1f}, {100 * row.high:.1f}]",
            f"{100 * row.observed:.1f}",
            "yes" if row.inside else "NO",
        )
    console.print(table)
    if summary["sector_mix_conflict"] and not fitted.loc[fitted["fitted"], "inside"].all():
        console.print(f"Note on the misses: {summary['sector_mix_conflict']}.", highlight=False)
    held_table = _left_right_table(
        f"Holdout registered {registered.registered} ({registered.path.name}): mean [{pct} interval]",
        ("observation", "where"),
        ("simulated", "target", "inside"),
    )
    for row in held.itertuples():
        fmt = INDICATORS[row.indicator].format
        held_table.add_row(
            row.observation,
            row.where,
            f"{fmt(row.mean)} [{fmt(row.low)}, {fmt(row.high)}]",
            fmt(row.observed),
            "yes" if row.inside else "NO",
        )
    console.print(held_table)
    for v in verdicts:
        extra = f", MAPE {100 * v['mape']:.1f} %" if "mape" in v else ""
        console.print(f"[{'PASS' if v['passed'] else 'FAIL'}] {v['observation']}: {v['rule']}{extra}")
    for fact in facts:
        console.print(f"[{'PASS' if fact['passed'] else 'FAIL'}] {fact['fact']}")
        for name, figure in fact["figures"].items():
            console.print(f"    {name}: {figure}")
    console.print(f"Tables: {out / 'posterior_predictive.csv'}, {out / 'holdout.csv'}")


@app.command("app")
def serve_app(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 to let a classroom connect).")] = "127.0.0.1",
    capacity: Annotated[
        int,
        typer.Option(
            min=1,
            help="Browser sessions served at once; a visitor beyond them gets a page saying the class is full "
            "(docs/APP.md says what this machine sustains).",
        ),
    ] = CLASS_CAPACITY,
    idle_minutes: Annotated[
        float,
        typer.Option(min=0.05, help="Minutes without a click after which a session is closed and its seat freed."),
    ] = CLASS_IDLE_MINUTES,
) -> None:
    """Serve the teaching app in the browser, offline; Ctrl-C, SIGTERM or a closed terminal stops all of it."""
    import os
    import shutil

    from analysis.app_assets import OFFLINE_ENV, check_assets, solara_command, supervise

    command = solara_command(host, port)  # no version check against PyPI, no usage reports
    if shutil.which(command[0]) is None:
        fail("the app needs its extra dependencies: pip install -e '.[app]'.")
    try:
        check_assets()  # the page's JavaScript and CSS, from solara-assets: no CDN at run time
    except RuntimeError as exc:
        fail(str(exc))
    console.print(
        f"Teaching app on http://{host}:{port} for up to {capacity} sessions, each closed after "
        f"{idle_minutes:g} minutes unused (Ctrl-C to stop)"
    )
    env = {
        **os.environ,
        **OFFLINE_ENV,
        "RELOCATION_APP_CAPACITY": str(capacity),
        "RELOCATION_APP_IDLE_MINUTES": str(idle_minutes),
        # a page whose connection dropped without closing keeps its session this long (Solara's
        # default is a day); a tab closed normally is freed at once
        "SOLARA_KERNEL_CULL_TIMEOUT": os.environ.get("SOLARA_KERNEL_CULL_TIMEOUT", "2m"),
    }
    raise typer.Exit(code=supervise(command, env))


@app.command()
def scenarios() -> None:
    """List the scenario files and community profiles, one line each."""
    try:
        entries = catalogue()
    except ScenarioError as exc:
        fail(str(exc))
    for kind, title in (("scenario", "Scenario files"), ("community", "Community profiles (use with --community ID)")):
        table = Table(title=title, header_style="bold", title_justify="left")
        table.add_column("file" if kind == "scenario" else "id", no_wrap=True)
        table.add_column("description")
        for entry_kind, name, description in entries:
            if entry_kind == kind:
                table.add_row(name, description)
        console.print(table)


if __name__ == "__main__":
    if hasattr(signal, "pthread_sigmask"):
        _held = {s for s in signal.sigpending() & set(_STOP_SIGNALS) if signal.getsignal(s) != signal.SIG_IGN}
        if _held:  # stopped while loading: nothing has started
            sys.stderr.write(f"stopped by {signal.Signals(min(_held)).name}: nothing was started.\n")
            sys.exit(128 + min(_held))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # each batch command installs its handlers
    app()
