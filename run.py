"""Command line of the relocation model: a thin shell over `analysis` and `simulation`.

python run.py run scenarios/baseline.toml --seed 3 --years 5 --json
python run.py run scenarios/baseline.toml --set wages.out_of_county=5200 --out results/x
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from analysis import json_safe, run_scenario
from scenarios import ScenarioError, catalogue, load_scenario, override, parse_set
from simulation.indicators import INDICATORS

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


@app.callback()
def main() -> None:
    """Agent-based model of relocation for poverty alleviation and its follow-up support."""


@app.command()
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
        console.print(f"Monthly indicators: {out_dir / 'monthly.csv'}")


DEFAULT_COMPARISON = ("scenarios/baseline.toml", "scenarios/combined.toml")


@app.command()
def compare(
    scenario_files: Annotated[
        list[Path] | None, typer.Argument(help="BASE.toml OTHER.toml [MORE.toml ...] (default: baseline vs combined).")
    ] = None,
    replicates: Annotated[int, typer.Option(min=1, help="Runs per scenario (replicate i uses seed+i in all).")] = 20,
    years: Annotated[int | None, typer.Option(min=1, help="Years to simulate (default: each scenario's).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of replicate 0.")] = 1,
    community: Annotated[str | None, typer.Option(help="Apply a community profile to every scenario.")] = None,
    out: Annotated[Path | None, typer.Option(help="Directory for report.html, figures/ and runs.csv.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default: all processors).")
    ] = None,
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison table as JSON.")] = False,
) -> None:
    """Compare scenarios over replicates: table with 95% CIs, paired differences, costs, report."""
    from analysis.compare import KEY_INDICATORS, comparison_json, run_experiment, unique_labels
    from analysis.executors import default_workers
    from analysis.report import comparison_rows, cost_rows, make_report

    root = Path(__file__).resolve().parent
    files = list(scenario_files) if scenario_files else [root / f for f in DEFAULT_COMPARISON]
    if len(files) < 2:
        fail("compare needs a base scenario and at least one other (or no arguments for baseline vs combined).")
    specs = [load_with_flags(f, set_, community, years=years) for f in files]
    overrides = list(set_ or []) + ([f"--years {years}"] if years is not None else [])
    labels = unique_labels(specs)
    scenarios = dict(zip(labels, specs, strict=True))
    workers = workers or default_workers()
    out_dir = out if out is not None else Path("results") / ("compare-" + "-vs-".join(labels))
    total = len(specs) * replicates
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=as_json and not err_console.is_terminal,
    ) as progress:
        bar = progress.add_task(f"{total} runs on {workers} process(es)", total=total)
        experiment = run_experiment(
            scenarios, replicates=replicates, seed=seed, workers=workers, on_done=lambda _: progress.advance(bar)
        )
    settings = {
        "scenarios": ", ".join(str(f) for f in files),
        "replicates": str(replicates),
        "seeds": f"{seed}..{seed + replicates - 1} (common random numbers)",
        "years": str(specs[0].simulation.years if years is None else years),
        "community": community or ", ".join(sorted({s.community.id for s in specs})),
        "overrides": " ".join(overrides) or "none",
    }
    try:
        made = make_report(experiment, labels[0], out_dir, settings)
    except OSError as exc:
        fail(f"--out {out_dir}: cannot write the report ({exc.strerror}); the runs finished but nothing was saved.")
    table = made["table"]
    if as_json:
        sys.stdout.write(json.dumps(comparison_json(table), allow_nan=False) + "\n")
        return
    rows = comparison_rows(table, labels[0])
    for label in labels[1:]:
        shown = Table(
            title=f"{label} vs {labels[0]}: final month, mean [95% CI] over {replicates} replicates",
            header_style="bold",
        )
        for column in ("indicator", labels[0], label, "difference [95% CI]"):
            shown.add_column(column, justify="left" if column == "indicator" else "right")
        base_rows = rows[rows["scenario"] == labels[0]].set_index("indicator")
        for row in rows[rows["scenario"] == label].itertuples(index=False):
            if row.indicator not in KEY_INDICATORS:
                continue
            b = base_rows.loc[row.indicator]
            shown.add_row(
                row.indicator,
                f"{b['mean']} {b['95% CI']}",
                f"{row.mean} {row._3}",
                f"{row._4} {row._5}",
            )
        console.print(shown)
    costs = cost_rows(made["costs"])
    cost_table = Table(title=f"Cost-effectiveness relative to {labels[0]}", header_style="bold")
    for column in costs.columns:
        cost_table.add_column(column, justify="left" if column == "scenario" else "right")
    for row in costs.itertuples(index=False):
        cost_table.add_row(*map(str, row))
    console.print(cost_table)
    console.print("* the difference's 95% CI excludes 0")
    console.print(f"Report: {made['report']}   Tidy data: {made['runs']}")


ExecutorOption = Annotated[
    str, typer.Option(help="local (processes on this machine), dask-local (a local Dask cluster) or dask.")
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (or RELOCATION_DASK_SCHEDULER); implies dask."),
]


def _run_sweep_command(sweep_file: Path, out: Path, workers, executor, scheduler, batch_size):
    """Load a sweep file and run what is missing from OUT, with a progress bar."""
    import os

    from analysis.executors import SCHEDULER_ENV, default_workers
    from analysis.sweep import load_sweep, run_sweep

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
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
    ) as progress:
        bar = progress.add_task(f"{sweep_spec.spec.name}: runs on {where}", total=len(sweep_spec.tasks))

        def advance(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)

        try:
            counts = run_sweep(sweep_spec, out, workers, executor, scheduler, batch_size, on_progress=advance)
        except KeyboardInterrupt:
            progress.stop()
            err_console.print(f"interrupted: finished runs are stored in {out}; run the same command to resume.")
            raise typer.Exit(code=130) from None
    err_console.print(
        f"{counts['total']} runs: {counts['stored_before']} already stored, {counts['run_now']} run now"
        f" ({counts['failed_now']} failed). Results: {out / 'runs'}  Manifest: {out / 'manifest.json'}"
    )
    return sweep_spec


@app.command()
def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="Sweep TOML file.")],
    out: Annotated[Path, typer.Option(help="Directory for the Parquet results and manifest.")],
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: all processors).")] = None,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Runs per Parquet part written.")] = 20,
) -> None:
    """Run every point x replicate of a sweep (only what OUT does not have yet)."""
    _run_sweep_command(sweep_file, out, workers, executor, scheduler, batch_size)


@app.command()
def sensitivity(
    sweep_file: Annotated[Path, typer.Argument(help="Sweep TOML file with method = 'sobol' or 'morris'.")],
    out: Annotated[Path, typer.Option(help="Directory for the runs, sensitivity.csv and sensitivity.png.")],
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: all processors).")] = None,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Runs per Parquet part written.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the indices as JSON records.")] = False,
) -> None:
    """Sobol (S1, ST with 95% CIs) or Morris (mu*, sigma) indices per recorded indicator."""
    from analysis.sensitivity import SensitivityError, analyse, sensitivity_figure
    from analysis.sweep import read_results

    sweep_spec = _run_sweep_command(sweep_file, out, workers, executor, scheduler, batch_size)
    try:
        table = analyse(sweep_spec, read_results(out))
    except SensitivityError as exc:
        fail(f"{sweep_file}: {exc}")
    table.to_csv(out / "sensitivity.csv", index=False)
    fig = sensitivity_figure(table, sweep_spec.spec.method)
    fig.savefig(out / "sensitivity.png", dpi=110)
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
def calibrate(
    rounds: Annotated[
        int, typer.Option(min=0, help="Rounds of local refinement after the grid (each community, then shared).")
    ] = 2,
    seeds: Annotated[int, typer.Option(min=1, help="Seeds averaged in each evaluation (common random numbers).")] = 3,
    community_evals: Annotated[int, typer.Option(min=5, help="Simulations per community fit per round.")] = 60,
    refit_evals: Annotated[int, typer.Option(min=3, help="Simulations per community re-fit for a shared trial.")] = 15,
    grid_evals: Annotated[
        int, typer.Option(min=3, help="Simulations per community fit at each grid point of the shared parameters.")
    ] = 30,
    start: Annotated[
        Path | None,
        typer.Option(help="A calibration.json to start from (e.g. scenarios/calibrated/calibration.json)."),
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: all processors).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Directory for the calibrated files (default scenarios/calibrated).")
    ] = None,
) -> None:
    """Fit labour demand and land per community and shared behaviour to the 2020 survey."""
    from analysis.calibration import CALIBRATED_DIR, write_calibrated
    from analysis.calibration import calibrate as fit
    from analysis.executors import default_workers

    workers = workers or default_workers()
    result = fit(
        rounds=rounds,
        seeds=tuple(range(1, seeds + 1)),
        community_evals=community_evals,
        refit_evals=refit_evals,
        grid_evals=grid_evals,
        start=read_start(start) if start is not None else None,
        workers=workers,
        on_stage=lambda message: err_console.print(message),
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
def validate(
    replicates: Annotated[int, typer.Option(min=1, help="Runs per community.")] = 10,
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
    """Simulated vs observed for the six calibrated communities, with the stylised facts."""
    import pandas as pd

    from analysis.calibration import CALIBRATED_DIR
    from analysis.executors import default_workers
    from analysis.validation import fit_figure
    from analysis.validation import validate as run_validation

    directory = calibrated or CALIBRATED_DIR
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
        income = row.indicator == "income_per_capita_mean"
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
    app()
