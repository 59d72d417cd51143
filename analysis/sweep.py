"""Batch parameter sweeps: a sweep file, its runs, and a resumable Parquet store.

A sweep file (TOML) names a base scenario, the parameters to vary by dotted path (levels
for a grid; ranges for Latin hypercube, Sobol or Morris designs drawn with SALib), the
replicates, a seed and the indicators to record. Every (point, replicate) is one run
whose id is a hash of its scenario and seed; results are appended to `DIR/runs/` in
Parquet files written atomically, so an interrupted sweep resumes where it stopped and
nothing is stored twice. Point i, replicate r always uses seed `seed + r`, so a sweep gives
the same numbers on every executor.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from scenarios.loader import (
    ScenarioError,
    apply_overrides,
    community_path,
    deep_merge,
    parse_set,
    read_toml,
    resolve_extends,
)
from scenarios.loader import validate as validate_scenario
from scenarios.schema import Scenario
from simulation.indicators import INDICATORS

from .runner import run_id, simulate

Number = int | float


class SweepError(ScenarioError):
    """A sweep file is malformed; raised before any run starts."""


class Parameter(BaseModel):
    """One varied parameter: `levels` (grid) or `range` (sampled designs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    levels: list[Number | bool | str] | None = None
    range: tuple[Number, Number] | None = None
    integer: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> Parameter:
        if (self.levels is None) == (self.range is None):
            raise ValueError("give either `levels` (a grid) or `range` = [low, high], not both or neither")
        if self.levels is not None and len(self.levels) == 0:
            raise ValueError("`levels` is empty")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"`range` is empty: low {self.range[0]} must be below high {self.range[1]}")
        return self


class SweepSpec(BaseModel):
    """A sweep file, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "sweep"
    description: str = ""
    base: str = "scenarios/baseline.toml"
    community: str | None = None
    set: list[str] | dict[str, Any] = []  # overrides of the base: ["key=value", ...] or a table of typed values
    method: Literal["grid", "latin", "sobol", "morris"] = "grid"
    samples: Annotated[int, Field(ge=1, le=1_000_000)] = 16
    morris_levels: Annotated[int, Field(ge=2, le=20)] = 4
    replicates: Annotated[int, Field(ge=1, le=10_000)] = 1
    seed: Annotated[int, Field(ge=0)] = 1
    record: Literal["final", "monthly"] = "final"
    indicators: list[str] = list(INDICATORS.key())
    parameters: dict[str, Parameter]

    @model_validator(mode="after")
    def _consistent(self) -> SweepSpec:
        if not self.parameters:
            raise ValueError("`parameters` is empty: name at least one parameter to vary")
        kinds = {name: ("levels" if p.levels is not None else "range") for name, p in self.parameters.items()}
        wanted = "levels" if self.method == "grid" else "range"
        wrong = [name for name, kind in kinds.items() if kind != wanted]
        if wrong:
            raise ValueError(
                f"method {self.method!r} needs `{wanted}` for every parameter; these have the other: {', '.join(wrong)}"
            )
        return self


@dataclass(frozen=True)
class SweepTask:
    """One run of a sweep."""

    run_id: str
    point: int
    replicate: int
    seed: int
    params: dict[str, Any]
    scenario: Scenario
    record: str
    indicators: tuple[str, ...]


@dataclass
class Sweep:
    """A loaded sweep: its spec, the design, and every run."""

    path: Path
    spec: SweepSpec
    problem: dict[str, Any]
    design: np.ndarray  # points x parameters, as sampled (before rounding integers)
    tasks: list[SweepTask]


def _problem(spec: SweepSpec) -> dict[str, Any]:
    names = list(spec.parameters)
    return {
        "num_vars": len(names),
        "names": names,
        "bounds": [list(spec.parameters[n].range) for n in names] if spec.method != "grid" else None,
    }


def design_points(spec: SweepSpec) -> tuple[dict[str, Any], np.ndarray, list[dict[str, Any]]]:
    """The SALib problem, the sampled matrix, and each point's parameter values."""
    problem = _problem(spec)
    names = problem["names"]
    if spec.method == "grid":
        combos = list(itertools.product(*(spec.parameters[n].levels for n in names)))
        points = [dict(zip(names, combo, strict=True)) for combo in combos]
        return problem, np.array(combos, dtype=object), points
    if spec.method == "latin":
        from SALib.sample import latin

        matrix = latin.sample(problem, spec.samples, seed=spec.seed)
    elif spec.method == "sobol":
        from SALib.sample import sobol

        matrix = sobol.sample(problem, spec.samples, calc_second_order=False, seed=spec.seed)
    else:
        from SALib.sample import morris

        matrix = morris.sample(problem, spec.samples, num_levels=spec.morris_levels, seed=spec.seed)
    points = []
    for row in matrix:
        point = {}
        for name, value in zip(names, row, strict=True):
            point[name] = round(float(value)) if spec.parameters[name].integer else float(value)
        points.append(point)
    return problem, matrix, points


def load_sweep(path: str | Path, indicator_names: set[str] | None = None) -> Sweep:
    """Read, validate and expand a sweep file; every problem is reported before any run.

    Checks: the file's keys and types; each parameter path and every level (or both ends
    of every range) against the scenario schema; the indicators against the model's.
    """
    path = Path(path)
    raw = read_toml(path)
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            key = ".".join(str(p) for p in error["loc"]) or "(top level)"
            problems.append(f"{path}: key `{key}`: {error['msg'].removeprefix('Value error, ')}.")
        raise SweepError("\n".join(problems)) from None
    base_path = (path.parent / spec.base) if not Path(spec.base).is_absolute() else Path(spec.base)
    if not base_path.exists():
        root_relative = Path(__file__).resolve().parents[1] / spec.base
        base_path = root_relative if root_relative.exists() else base_path
    base = resolve_extends(base_path)
    if spec.community:
        profile = read_toml(community_path(spec.community))
        base = deep_merge(base, {"community": profile["community"]})
    try:
        base = apply_overrides(base, spec.set if isinstance(spec.set, dict) else parse_set(spec.set))
    except ScenarioError as exc:
        raise SweepError(f"{path}: key `set`: {exc}") from None
    source = f"{path} (base {spec.base})"
    validate_scenario(base, source)
    problems = []
    for name, param in spec.parameters.items():
        values = param.levels if param.levels is not None else list(param.range)
        for value in values:
            try:
                validate_scenario(apply_overrides(base, {name: value}), source)
            except ScenarioError as exc:
                message = str(exc).replace(f"{source} with --set ", "").replace(f"{source}: ", "")
                problems.append(f"{path}: parameter `{name}` = {value!r}: {message}")
                break
    if indicator_names is None:
        indicator_names = set(INDICATORS.names())
    unknown = [k for k in spec.indicators if k not in indicator_names]
    if unknown:
        import difflib

        hints = [f"{k} (did you mean {difflib.get_close_matches(k, indicator_names, n=1)})" for k in unknown]
        problems.append(f"{path}: key `indicators`: unknown indicator(s): {', '.join(hints)}.")
    if problems:
        raise SweepError("\n".join(problems))
    problem, design, points = design_points(spec)
    tasks = []
    for i, point in enumerate(points):
        scenario = validate_scenario(apply_overrides(base, point), f"{source}, point {i}")
        for r in range(spec.replicates):
            seed = spec.seed + r
            tasks.append(
                SweepTask(run_id(scenario, seed), i, r, seed, point, scenario, spec.record, tuple(spec.indicators))
            )
    return Sweep(path, spec, problem, design, tasks)


def sweep_run(task: SweepTask) -> list[dict[str, Any]]:
    """Do one run; return its row(s). A run that raises is returned as a failed row."""
    start = time.perf_counter()
    base = {"run_id": task.run_id, "point": task.point, "replicate": task.replicate, "seed": task.seed}
    base |= {f"param:{k}": v for k, v in task.params.items()}
    try:
        result = simulate(task.scenario, task.seed)
        if task.record == "monthly":
            frames = result.monthly[["month", *task.indicators]].to_dict("records")
        else:
            frames = [{"month": result.flat["month"]} | {k: result.flat[k] for k in task.indicators}]
        status, error = "ok", ""
    except Exception as exc:  # recorded, and the sweep goes on
        frames = [{"month": -1} | dict.fromkeys(task.indicators, float("nan"))]
        status = "failed"
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    seconds = time.perf_counter() - start
    return [base | row | {"status": status, "error": error, "seconds": seconds} for row in frames]


# ---------------------------------------------------------------------------- the store
def runs_dir(out_dir: Path) -> Path:
    """Where the Parquet parts live."""
    return Path(out_dir) / "runs"


def read_results(out_dir: str | Path) -> pd.DataFrame:
    """Every stored row of a sweep (empty frame if none)."""
    parts = sorted(runs_dir(Path(out_dir)).glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def stored_run_ids(out_dir: Path) -> set[str]:
    """Run ids already stored (ok or failed)."""
    parts = sorted(runs_dir(out_dir).glob("part-*.parquet"))
    ids: set[str] = set()
    for part in parts:
        ids.update(pd.read_parquet(part, columns=["run_id"])["run_id"].tolist())
    return ids


def write_part(rows: list[dict[str, Any]], out_dir: Path) -> Path:
    """Write rows as one Parquet part, atomically: a temporary file, then a rename."""
    directory = runs_dir(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"part-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet"
    tmp = directory / f".{name}.tmp"
    pd.DataFrame(rows).to_parquet(tmp, index=False)
    os.replace(tmp, directory / name)
    return directory / name


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def _package_version() -> str:
    try:
        return metadata.version("relocation-abm")
    except metadata.PackageNotFoundError:
        return "unknown"


def update_manifest(out_dir: Path, sweep: Sweep, session: dict[str, Any]) -> None:
    """Record the sweep file, version, commit and this session's times in DIR/manifest.json."""
    path = Path(out_dir) / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {}
    manifest.update(
        {
            "sweep_file": str(sweep.path),
            "sweep": sweep.spec.model_dump(mode="json"),
            "sweep_text": sweep.path.read_text(encoding="utf-8"),
            "package_version": _package_version(),
            "git_commit": _git_commit(),
            "runs_total": len(sweep.tasks),
        }
    )
    sessions = [s for s in manifest.get("sessions", []) if s.get("id") != session["id"]]
    manifest["sessions"] = [*sessions, session]
    manifest["started"] = manifest["sessions"][0]["started"]
    manifest["finished"] = session.get("finished")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def run_sweep(
    sweep: Sweep,
    out_dir: str | Path,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    batch_size: int = 20,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Run what is missing from `out_dir`, storing results in batches; resumable.

    Returns counts: total, already stored, run now, failed now. On Ctrl-C the finished
    runs of the current batch are stored before the interrupt propagates.
    """
    from .executors import iterate_results

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done = stored_run_ids(out)
    todo = [t for t in sweep.tasks if t.run_id not in done]
    session = {"id": uuid.uuid4().hex, "started": datetime.now(UTC).isoformat(), "executor": executor}
    update_manifest(out, sweep, session)
    counts = {"total": len(sweep.tasks), "stored_before": len(done), "run_now": 0, "failed_now": 0}
    if on_progress:
        on_progress(len(done), len(sweep.tasks))
    batch: list[dict[str, Any]] = []
    last_flush = time.monotonic()
    try:
        for _, rows in iterate_results(sweep_run, todo, workers, executor, scheduler):
            batch.extend(rows)
            counts["run_now"] += 1
            counts["failed_now"] += rows[0]["status"] == "failed"
            if on_progress:
                on_progress(len(done) + counts["run_now"], len(sweep.tasks))
            if len({r["run_id"] for r in batch}) >= batch_size or time.monotonic() - last_flush > 30:
                write_part(batch, out)
                batch, last_flush = [], time.monotonic()
    except BaseException:
        session["interrupted"] = True
        raise
    finally:
        if batch:
            write_part(batch, out)
        session["finished"] = datetime.now(UTC).isoformat()
        session |= {k: v for k, v in counts.items() if k != "total"}
        update_manifest(out, sweep, session)
    return counts
