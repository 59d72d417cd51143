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

import hashlib
import itertools
import json
import os
import subprocess
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import closing, suppress
from dataclasses import dataclass, field
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

from .folder_lock import FolderLock
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
    posterior: bool = False  # replicate r of every point runs at posterior draw r (scenarios/calibrated/posterior.csv)
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
    particle: int = -1  # the posterior particle this run used (-1: none)


@dataclass
class Sweep:
    """A loaded sweep: its spec, the design, and every run."""

    path: Path
    spec: SweepSpec
    problem: dict[str, Any]
    design: np.ndarray  # points x parameters, as sampled (before rounding integers)
    tasks: list[SweepTask]
    base: dict[str, Any] = field(default_factory=dict)  # the base scenario's values, after `community` and `set`

    @property
    def run_ids(self) -> set[str]:
        """The ids of every run of this design."""
        return {t.run_id for t in self.tasks}


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
    base_values = validate_scenario(base, source).model_dump(mode="json")
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
    draws = _posterior_draws(spec, path, base)
    tasks = []
    for i, point in enumerate(points):
        for r in range(spec.replicates):
            particle, settings = draws[r] if draws else (-1, {})
            # the swept value wins over a posterior draw of the same key
            scenario = validate_scenario(
                apply_overrides(apply_overrides(base, settings), point), f"{source}, point {i}"
            )
            seed = spec.seed + r
            tasks.append(
                SweepTask(
                    run_id(scenario, seed), i, r, seed, point, scenario, spec.record, tuple(spec.indicators), particle
                )
            )
    return Sweep(path, spec, problem, design, tasks, base_values)


def _posterior_draws(spec: SweepSpec, path: Path, base: dict[str, Any]) -> list[tuple[int, dict[str, float]]]:
    """With `posterior = true`: for each replicate, a particle drawn by weight (fixed by the
    seed) and the settings it gives the base's community; shared by every point."""
    if not spec.posterior:
        return []
    from .bayes import PriorError, read_posterior

    try:
        post = read_posterior()
    except PriorError as exc:
        raise SweepError(f"{path}: key `posterior`: {exc}") from None
    community = base.get("community", {}).get("id")
    return [(int(row), post.settings(int(row), community)) for row in post.draw(spec.replicates, spec.seed)]


def sweep_run(task: SweepTask) -> list[dict[str, Any]]:
    """Do one run; return its row(s). A run that raises is returned as a failed row."""
    start = time.perf_counter()
    base = {"run_id": task.run_id, "point": task.point, "replicate": task.replicate, "seed": task.seed}
    if task.particle >= 0:
        base["posterior_particle"] = task.particle
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
MANIFEST = "manifest.json"


class StoreError(RuntimeError):
    """The results folder cannot be used: a file in its place, no permission, a full disk,
    or a design other than the one it holds. What was stored before is kept."""


class DesignMismatch(StoreError):
    """The sweep's design differs from the folder's, and adding it was not asked for."""


def runs_dir(out_dir: Path) -> Path:
    """Where the Parquet parts live."""
    return Path(out_dir) / "runs"


def _parts(out_dir: str | Path) -> list[Path]:
    """The stored parts, oldest first (their names start with the time they were written)."""
    return sorted(runs_dir(Path(out_dir)).glob("part-*.parquet"))


def read_results(out_dir: str | Path, sweep: Sweep | None = None) -> pd.DataFrame:
    """Every stored row of a sweep folder, each run once (empty frame if none).

    `sweep`: only the runs of that sweep's design (a folder may hold several, see
    `run_sweep(add_to_existing=...)`). A run stored twice (by two writers before folders
    were locked) is read once, from the earliest part that holds it; all rows of a run are
    in one part.
    """
    wanted = sweep.run_ids if sweep is not None else None
    seen: set[str] = set()
    frames = []
    for part in _parts(out_dir):
        frame = pd.read_parquet(part)
        keep = ~frame["run_id"].isin(seen)
        if wanted is not None:
            keep &= frame["run_id"].isin(wanted)
        seen.update(frame["run_id"].unique())
        if keep.any():
            frames.append(frame[keep])
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def stored_run_ids(out_dir: Path) -> set[str]:
    """Run ids already stored (ok or failed)."""
    ids: set[str] = set()
    for part in _parts(out_dir):
        ids.update(pd.read_parquet(part, columns=["run_id"])["run_id"].tolist())
    return ids


def write_part(rows: list[dict[str, Any]], out_dir: Path) -> Path:
    """Write rows as one Parquet part, atomically: a temporary file, then a rename. On any
    failure (a full disk) the temporary file is removed and the error raised."""
    directory = runs_dir(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"part-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet"
    tmp = directory / f".{name}.tmp"
    try:
        pd.DataFrame(rows).to_parquet(tmp, index=False)
        os.replace(tmp, directory / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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


def read_manifest(out_dir: str | Path) -> dict[str, Any]:
    """DIR/manifest.json, or {} if there is none."""
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: cannot read the manifest ({exc}); move it away to start the folder afresh") from None


def update_manifest(
    out_dir: Path, sweep: Sweep, session: dict[str, Any], designs: list[dict[str, Any]] | None = None
) -> None:
    """Record the sweep file, version, commit, the folder's designs and this session's times
    in DIR/manifest.json (written to a temporary file, then renamed)."""
    path = Path(out_dir) / MANIFEST
    manifest = read_manifest(out_dir)
    manifest.update(
        {
            "sweep_file": str(sweep.path),
            "sweep": sweep.spec.model_dump(mode="json"),
            "sweep_text": sweep.path.read_text(encoding="utf-8"),
            "package_version": _package_version(),
            "git_commit": _git_commit(),
            "runs_total": len(sweep.run_ids),
        }
    )
    if designs is not None:
        manifest["designs"] = designs
    sessions = [s for s in manifest.get("sessions", []) if s.get("id") != session["id"]]
    manifest["sessions"] = [*sessions, session]
    manifest["started"] = manifest["sessions"][0]["started"]
    manifest["finished"] = session.get("finished")
    tmp = path.with_suffix(".json.tmp")
    try:
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------- designs
def design_record(sweep: Sweep) -> dict[str, Any]:
    """What a folder records of a design. Its `id` hashes what the stored rows depend on:
    the run ids (each a hash of a run's scenario values and seed), `record` and the
    indicators; the sweep file and base scenario values are kept to name differences."""
    key = {"run_ids": sorted(sweep.run_ids), "record": sweep.spec.record, "indicators": sorted(sweep.spec.indicators)}
    return {
        "id": hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16],
        "runs": len(sweep.run_ids),
        "sweep_file": str(sweep.path),
        "sweep": sweep.spec.model_dump(mode="json"),
        "base": sweep.base,
    }


_SPEC_KEYS = (
    "base",
    "community",
    "set",
    "method",
    "samples",
    "morris_levels",
    "replicates",
    "seed",
    "record",
    "posterior",
)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if value is not None else "none"


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def design_differences(folder: dict[str, Any], this: dict[str, Any]) -> list[str]:
    """How design `this` differs from design `folder` (records from `design_record`), e.g.
    `replicates 3 in the folder vs 1 here`."""
    a, b = folder.get("sweep") or {}, this.get("sweep") or {}
    a = {"posterior": False, **a}  # folders written before the key existed ran without the posterior
    found = [
        f"{k} {_show(a.get(k))} in the folder vs {_show(b.get(k))} here" for k in _SPEC_KEYS if a.get(k) != b.get(k)
    ]
    if sorted(a.get("indicators") or []) != sorted(b.get("indicators") or []):
        found.append(f"indicators {_show(a.get('indicators'))} in the folder vs {_show(b.get('indicators'))} here")
    pa, pb = a.get("parameters") or {}, b.get("parameters") or {}
    for name in sorted(pa.keys() | pb.keys()):
        if name not in pb:
            found.append(f"parameter {name} only in the folder")
        elif name not in pa:
            found.append(f"parameter {name} only here")
        else:
            for key in ("levels", "range", "integer"):
                if pa[name].get(key) != pb[name].get(key):
                    found.append(
                        f"parameter {name} {key} {_show(pa[name].get(key))} in the folder vs {_show(pb[name].get(key))} here"
                    )
    if folder.get("base") and this.get("base"):
        fa, fb = _flatten(folder["base"]), _flatten(this["base"])
        changed = [k for k in sorted(fa.keys() | fb.keys()) if fa.get(k) != fb.get(k)]
        if changed:
            shown = ", ".join(f"{k} {_show(fa.get(k))} vs {_show(fb.get(k))}" for k in changed[:5])
            found.append(
                f"base scenario values {shown}" + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            )
    return found or ["the runs differ (their scenario values or seeds), though the sweep files agree"]


def check_design(
    out_dir: Path, sweep: Sweep, add_to_existing: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """This sweep's design record, and the folder's designs with it (added if new).

    A folder holds one design: a sweep whose runs, `record` or indicators differ from it
    raises `DesignMismatch` naming the differences, unless `add_to_existing`; even then the
    `record` and indicators must agree, since a run the designs share is stored once.
    """
    out = Path(out_dir)
    manifest = read_manifest(out)
    this = design_record(sweep)
    designs = list(manifest.get("designs") or [])
    if not designs and manifest.get("sweep"):  # written before designs were recorded: compare the sweep files
        legacy = {"id": None, "sweep_file": manifest.get("sweep_file"), "sweep": manifest["sweep"], "base": None}
        same = not [d for d in design_differences(legacy, this) if not d.startswith("the runs differ")]
        designs = [this if same else legacy]
    if any(d["id"] == this["id"] for d in designs):
        return this, designs
    if not designs:
        stray = stored_run_ids(out) - sweep.run_ids
        if stray and not add_to_existing:
            raise DesignMismatch(
                f"{out} holds {len(stray)} run(s) that are not runs of {sweep.path}, and no manifest says what design "
                "they belong to. Give another --out, or add this design to the folder with --add-to-existing."
            )
        return this, [this]
    if not add_to_existing:
        closest = min(designs, key=lambda d: len(design_differences(d, this)))
        raise DesignMismatch(
            f"{out} holds the runs of another design ({closest.get('sweep_file')}, {closest.get('runs')} runs); "
            f"{sweep.path} differs: {'; '.join(design_differences(closest, this))}. Give another --out to keep the "
            "designs apart, or add this design to the folder with --add-to-existing (runs the two share are stored "
            "once; each analysis reads only its own design's runs)."
        )
    for other in designs:
        a, b = other.get("sweep") or {}, this["sweep"]
        if a.get("record") != b["record"] or sorted(a.get("indicators") or []) != sorted(b["indicators"]):
            raise DesignMismatch(
                f"{out}: --add-to-existing needs the same `record` and `indicators` as the designs already there "
                f"(a run two designs share is stored once): {other.get('sweep_file')} has record "
                f"{_show(a.get('record'))} and indicators {_show(a.get('indicators'))}."
            )
    return this, [*designs, this]


# ---------------------------------------------------------------------------- running
def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def prepare_folder(out_dir: str | Path) -> Path:
    """Create the results folder, or raise `StoreError` saying why it cannot be used."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise StoreError(f"{out} is a file, not a folder: give a folder for the results (created if missing).")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{out}: cannot create the results folder ({_reason(exc)}).") from None
    return out


def run_sweep(
    sweep: Sweep,
    out_dir: str | Path,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    batch_size: int = 20,
    on_progress: Callable[[int, int], None] | None = None,
    add_to_existing: bool = False,
) -> dict[str, int]:
    """Run what is missing from `out_dir`, storing results in batches; resumable.

    One writer per folder (`FolderLocked` names the holder) and one design per folder
    (`DesignMismatch` names the differences) unless `add_to_existing`. Returns counts of
    this design's runs: total, already stored, run now, failed now. On a stop signal
    (`Stopped`) or any other exception the workers are ended and the finished runs stored
    before it propagates. A folder that cannot be written (a file, no permission, a full
    disk) raises `StoreError`; what was stored before is kept.
    """
    out = prepare_folder(out_dir)
    lock = FolderLock(out)
    try:
        lock.__enter__()
    except OSError as exc:
        raise StoreError(f"{out}: cannot write there ({_reason(exc)}).") from None
    try:
        return _run_locked(sweep, out, lock, workers, executor, scheduler, batch_size, on_progress, add_to_existing)
    finally:
        lock.__exit__(None, None, None)


def _run_locked(
    sweep: Sweep,
    out: Path,
    lock: FolderLock,
    workers: int,
    executor: str,
    scheduler: str | None,
    batch_size: int,
    on_progress: Callable[[int, int], None] | None,
    add_to_existing: bool,
) -> dict[str, int]:
    """`run_sweep` once the folder is locked."""
    from .executors import iterate_results

    this, designs = check_design(out, sweep, add_to_existing)
    wanted = sweep.run_ids
    done = stored_run_ids(out) & wanted  # this design's runs only
    todo = list({t.run_id: t for t in sweep.tasks if t.run_id not in done}.values())  # a shared point runs once
    session: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "started": datetime.now(UTC).isoformat(),
        "executor": executor,
        "design": this["id"],
    }
    if lock.took_over is not None:
        session["took_over_lock_of"] = lock.took_over.describe()
    counts = {"total": len(wanted), "stored_before": len(done), "run_now": 0, "failed_now": 0}

    def store(what: str, write: Callable[..., Any], *args: Any) -> None:
        try:
            write(*args)
        except OSError as exc:
            stored = len(stored_run_ids(out) & wanted)
            raise StoreError(
                f"{out}: cannot store {what} ({_reason(exc)}). The {stored} run(s) stored before are kept; "
                f"runs finished since are not stored and run again when you resume. Free space (or fix the "
                "permissions) and run the same command to resume."
            ) from None

    store("the manifest", update_manifest, out, sweep, session, designs)
    if on_progress:
        on_progress(len(done), counts["total"])
    batch: list[dict[str, Any]] = []
    last_flush = time.monotonic()
    try:
        with closing(iterate_results(sweep_run, todo, workers, executor, scheduler)) as finished:
            for _, rows in finished:
                batch.extend(rows)
                counts["run_now"] += 1
                counts["failed_now"] += rows[0]["status"] == "failed"
                if on_progress:
                    on_progress(len(done) + counts["run_now"], counts["total"])
                if len({r["run_id"] for r in batch}) >= batch_size or time.monotonic() - last_flush > 30:
                    store("results", write_part, batch, out)
                    batch, last_flush = [], time.monotonic()
        if batch:
            store("results", write_part, batch, out)
            batch = []
    except BaseException as exc:
        # the workers are ended (closing the iterator); keep every finished run
        session["interrupted"] = True
        if batch and not isinstance(exc, StoreError):
            with suppress(StoreError):
                store("results", write_part, batch, out)
        session["finished"] = datetime.now(UTC).isoformat()
        session |= {k: v for k, v in counts.items() if k != "total"}
        with suppress(OSError):
            update_manifest(out, sweep, session, designs)
        raise
    session["finished"] = datetime.now(UTC).isoformat()
    session |= {k: v for k, v in counts.items() if k != "total"}
    store("the manifest", update_manifest, out, sweep, session, designs)
    return counts
