"""Scenario discovery over a sweep's results with PRIM (the Patient Rule Induction Method).

Which combinations of the swept parameters (policy levels, wages, ...) lead to an outcome
of interest, e.g. `poverty_rate > 0.1` (falling back below a line) or `poverty_rate < 0.05
and policy_cost_total < 3e7` (a cheap success)? Each design point of the sweep is one
observation: its parameter values are the inputs, and the outcome is the condition
`where` evaluated on the point's indicators, each the mean over its replicates of the
indicator in a run's final month. PRIM (Friedman & Fisher 1999, used for scenario
discovery by Bryant & Lempert 2010) then peels the parameter space down to boxes (one
range per parameter) where the outcome is common, trading coverage (the share of all
points of interest a box holds) against density (the share of a box's points that are of
interest).

PRIM comes from the `PRIM` package (Project-Platypus, the EMA Workbench's implementation
packaged alone). The `where` condition is parsed with `ast` and checked against a short
whitelist; it is never evaluated as Python.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.indicators import INDICATORS

from .compare import COST
from .sweep import MANIFEST, StoreError, Sweep, read_manifest, read_results, runs_dir

DEFAULT_THRESHOLD = 0.8  # a box must have at least this density (share of its points of interest)
DEFAULT_BOXES = 3
PEEL_ALPHA = 0.05  # each peel removes 5 % of the box's points along one parameter (PRIM's default)
PASTE_ALPHA = 0.05
MASS_MIN = 0.05  # peeling stops before a box holds fewer than 5 % of the points


class DiscoveryError(ValueError):
    """The folder, the condition or the options cannot be used; the message says why."""


# ---------------------------------------------------------------------------- the condition
ALLOWED = (
    "comparisons (< <= > >= == !=) between indicator or parameter names and numbers, joined with "
    'and / or / not and parentheses, e.g. "poverty_rate > 0.1 and policies.workshops.posts_per_100_workers < 6" '
    "(quote a name that is not a plain dotted name in backticks: `by_age_group.45+.employment_rate`)"
)
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_OPERATOR_TEXT = {
    ast.Add: "arithmetic (+)",
    ast.Sub: "arithmetic (-)",
    ast.Mult: "arithmetic (*)",
    ast.Div: "arithmetic (/)",
    ast.Pow: "arithmetic (**)",
    ast.Mod: "arithmetic (%)",
    ast.FloorDiv: "arithmetic (//)",
    ast.In: "`in`",
    ast.NotIn: "`not in`",
    ast.Is: "`is`",
    ast.IsNot: "`is not`",
}
_NODE_TEXT = {
    ast.Call: "a function call",
    ast.Subscript: "indexing ([...])",
    ast.Lambda: "a lambda",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.IfExp: "an if-expression",
    ast.NamedExpr: "an assignment (:=)",
    ast.JoinedStr: "an f-string",
    ast.ListComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Starred: "unpacking (*)",
}


@dataclass(frozen=True)
class Condition:
    """A parsed `where` condition: its text, the names it uses, and how to evaluate it."""

    text: str
    names: tuple[str, ...]
    _evaluate: Callable[[pd.DataFrame], np.ndarray] = field(repr=False)

    def evaluate(self, table: pd.DataFrame) -> np.ndarray:
        """A boolean array, one value per row of `table` (columns named as in the condition)."""
        return np.asarray(self._evaluate(table), dtype=bool).reshape(len(table))


def _dotted(node: ast.expr, text: str) -> str:
    """`a.b.c` parsed as Attribute(Attribute(Name a, b), c), joined back into one name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise DiscoveryError(
            f"--where {text!r}: attribute access on `{ast.unparse(node)}` is not allowed; a dot may only join the "
            f"parts of a parameter name such as policies.workshops.posts_per_100_workers. Allowed: {ALLOWED}."
        )
    parts.append(node.id)
    return ".".join(reversed(parts))


def parse_where(text: str, known: Iterable[str], hints: dict[str, str] | None = None) -> Condition:
    """Parse a `where` condition over the names in `known`; raise `DiscoveryError` naming the
    expression and what is allowed for anything else (calls, arithmetic, unknown names...).

    `hints` maps names that exist but cannot be used here (an indicator this sweep did not
    record) to why. Names that are not plain dotted identifiers are quoted in backticks.
    """
    known = set(known)
    hints = hints or {}
    quoted: dict[str, str] = {}

    def quote(match: re.Match[str]) -> str:
        placeholder = f"_quoted_name_{len(quoted)}_"
        quoted[placeholder] = match.group(1)
        return placeholder

    source = re.sub(r"`([^`]+)`", quote, text)
    if not text.strip():
        raise DiscoveryError(f"--where is empty: give a condition. Allowed: {ALLOWED}.")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise DiscoveryError(f"--where {text!r}: not a valid condition ({exc.msg}). Allowed: {ALLOWED}.") from None
    used: list[str] = []

    def refuse(node: ast.AST, what: str | None = None) -> DiscoveryError:
        what = what or _NODE_TEXT.get(type(node), f"`{type(node).__name__}`")
        return DiscoveryError(f"--where {text!r}: {what} is not allowed (in `{_show(node)}`). Allowed: {ALLOWED}.")

    def _show(node: ast.AST) -> str:
        shown = ast.unparse(node)
        for placeholder, name in quoted.items():
            shown = shown.replace(placeholder, f"`{name}`")
        return shown

    def name_of(node: ast.expr) -> str:
        name = _dotted(node, text) if isinstance(node, ast.Attribute) else node.id  # type: ignore[attr-defined]
        name = quoted.get(name, name)
        if name not in known:
            if name in hints:
                raise DiscoveryError(f"--where {text!r}: {hints[name]}")
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise DiscoveryError(
                f"--where {text!r}: unknown name `{name}`{hint}. Known names: {', '.join(sorted(known))}."
            )
        used.append(name)
        return name

    def value(node: ast.expr) -> Callable[[pd.DataFrame], Any]:
        if isinstance(node, ast.Name | ast.Attribute):
            name = name_of(node)
            return lambda table: table[name].to_numpy()
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float | str):
                raise refuse(node, f"the constant {node.value!r}")
            constant = node.value
            return lambda table: constant
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            if not (isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, int | float)):
                raise refuse(node, "a sign before anything but a number")
            number = -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
            return lambda table: number
        if isinstance(node, ast.Compare | ast.BoolOp) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
        ):
            raise refuse(node, "a condition used as a value")
        if isinstance(node, ast.BinOp):
            raise refuse(node, _OPERATOR_TEXT.get(type(node.op), "arithmetic"))
        raise refuse(node)

    def condition(node: ast.expr) -> Callable[[pd.DataFrame], Any]:
        if isinstance(node, ast.BoolOp):
            parts = [condition(v) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return lambda table: combine.reduce([np.asarray(p(table), dtype=bool) for p in parts])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = condition(node.operand)
            return lambda table: np.logical_not(inner(table))
        if isinstance(node, ast.Compare):
            ops = []
            for op in node.ops:
                if type(op) not in _COMPARE:
                    raise refuse(node, _OPERATOR_TEXT.get(type(op), f"the comparison {type(op).__name__}"))
                ops.append(_COMPARE[type(op)])
            operands = [value(node.left), *(value(c) for c in node.comparators)]

            def compare(table: pd.DataFrame) -> np.ndarray:
                values = [f(table) for f in operands]
                result = np.ones(len(table), dtype=bool)
                for op, left, right in zip(ops, values, values[1:], strict=False):
                    result &= np.asarray(op(left, right), dtype=bool)
                return result

            return compare
        if isinstance(node, ast.Name | ast.Attribute | ast.Constant):
            raise refuse(
                node, f"`{_show(node)}` alone (a value, not a condition: compare it, e.g. `{_show(node)} > 0.1`)"
            )
        if isinstance(node, ast.BinOp):
            raise refuse(node, _OPERATOR_TEXT.get(type(node.op), "arithmetic"))
        raise refuse(node)

    evaluate = condition(tree.body)
    return Condition(text, tuple(dict.fromkeys(used)), evaluate)


# ---------------------------------------------------------------------------- the sweep's points
@dataclass(frozen=True)
class SweepPoints:
    """A sweep folder's design points: one row per point, the parameters (dotted keys) and
    the mean over the point's replicates of each recorded indicator in the final month."""

    folder: Path
    table: pd.DataFrame  # parameter and indicator columns, and `replicates` (ok runs averaged)
    parameters: tuple[str, ...]
    indicators: tuple[str, ...]
    runs: int  # ok runs used
    failed: int  # failed runs left out
    expected_runs: int | None  # the design's runs, if the manifest says
    sweep_file: str | None


def _design(folder: Path, manifest: dict[str, Any], sweep: Sweep | None) -> tuple[dict[str, Any], int | None]:
    """The sweep spec (as a dict) of the one design to read, and its number of runs."""
    if sweep is not None:
        return sweep.spec.model_dump(mode="json") | {"_file": str(sweep.path)}, len(sweep.run_ids)
    designs = manifest.get("designs") or []
    if len(designs) > 1:
        files = ", ".join(f"{d.get('sweep_file')} ({d.get('runs')} runs)" for d in designs)
        raise DiscoveryError(
            f"{folder} holds the runs of {len(designs)} designs ({files}): name the one to analyse with "
            "--sweep FILE (its sweep file)."
        )
    if designs:
        return (designs[0].get("sweep") or {}) | {"_file": designs[0].get("sweep_file")}, designs[0].get("runs")
    return (manifest.get("sweep") or {}) | {"_file": manifest.get("sweep_file")}, manifest.get("runs_total")


def read_points(folder: str | Path, sweep: Sweep | None = None) -> SweepPoints:
    """Read a sweep folder (the `--out` of `run.py sweep`) into one row per design point.

    Reads only: the store (`DIR/runs/`, the manifest) is not changed. A folder holding one
    design is read whole; a folder holding several needs `sweep` (that design's runs are
    read, exactly as `sensitivity` does). With `record = "monthly"` the final month of
    each run is used. Failed runs are left out and counted; points are matched by their
    parameter values, so a point a Morris design visits twice is one point.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise DiscoveryError(f"{folder} {what}: give a sweep's results folder (the --out of run.py sweep).")
    try:
        manifest = read_manifest(folder)
    except StoreError as exc:
        raise DiscoveryError(str(exc)) from None
    if not manifest and not any(runs_dir(folder).glob("part-*.parquet")):
        raise DiscoveryError(
            f"{folder} is not a sweep's results folder: it has no {MANIFEST} and no runs/part-*.parquet. Give the "
            "--out folder of run.py sweep (or sensitivity)."
        )
    spec, expected = _design(folder, manifest, sweep)
    try:
        rows = read_results(folder, sweep=sweep)
    except (OSError, ValueError) as exc:
        raise DiscoveryError(f"{folder}: cannot read the stored runs ({exc}).") from None
    if rows.empty:
        raise DiscoveryError(f"{folder}: no runs are stored yet; run the sweep first (run.py sweep FILE --out DIR).")
    parameters = list(spec.get("parameters") or [])
    if not parameters:
        parameters = [c.removeprefix("param:") for c in rows.columns if c.startswith("param:")]
    indicators = [k for k in spec.get("indicators") or rows.columns if k in rows.columns and k in INDICATORS]
    indicators = [k for k in indicators if k != "month"]
    final = rows[rows["month"] == rows.groupby("run_id")["month"].transform("max")].drop_duplicates("run_id")
    ok = final[final["status"] == "ok"]
    if sweep is not None:  # the parameters as this design set them (a shared run may carry another design's)
        tasks = pd.DataFrame([{"run_id": t.run_id} | t.params for t in sweep.tasks]).drop_duplicates("run_id")
        points = tasks.merge(ok[["run_id", *indicators]], on="run_id", how="inner", validate="one_to_one")
    else:
        missing = [p for p in parameters if f"param:{p}" not in ok.columns]
        if missing:
            raise DiscoveryError(f"{folder}: the stored runs have no column for parameter(s) {', '.join(missing)}.")
        points = ok[["run_id", *(f"param:{p}" for p in parameters), *indicators]].rename(
            columns={f"param:{p}": p for p in parameters}
        )
    if points.empty:
        raise DiscoveryError(
            f"{folder}: every stored run of the design failed ({len(final)} runs); nothing to analyse."
        )
    for name in parameters:  # pandas' string dtype -> object, so PRIM treats text levels as categories
        if not pd.api.types.is_numeric_dtype(points[name]) and not pd.api.types.is_bool_dtype(points[name]):
            points[name] = points[name].astype(object)
    grouped = points.groupby(parameters, dropna=False, sort=True)
    table = grouped[indicators].mean()
    table["replicates"] = grouped.size()
    table = table.reset_index()
    return SweepPoints(
        folder=folder,
        table=table,
        parameters=tuple(parameters),
        indicators=tuple(indicators),
        runs=len(points),
        failed=int((final["status"] != "ok").sum()),
        expected_runs=expected,
        sweep_file=spec.get("_file"),
    )


def where_condition(points: SweepPoints, text: str) -> Condition:
    """Parse `text` over this sweep's parameters and recorded indicators."""
    known = set(points.parameters) | set(points.indicators)
    recorded = ", ".join(points.indicators)
    hints = {
        name: f"indicator {name} is not recorded in this sweep (it records {recorded}); add it to the sweep "
        "file's `indicators` and run the sweep into a new folder."
        for name in INDICATORS.names()
        if name not in known
    }
    return parse_where(text, known, hints)


# ---------------------------------------------------------------------------- PRIM
@dataclass(frozen=True)
class ParameterRange:
    """One parameter's range in a box, beside its range over the whole sweep. Text levels
    (a grid over categories) are given as `levels` instead of low / high."""

    name: str
    low: float | None
    high: float | None
    full_low: float | None
    full_high: float | None
    restricted: bool
    levels: tuple[Any, ...] | None = None
    full_levels: tuple[Any, ...] | None = None
    qp: float | None = None  # quasi-p value of the restriction (Bryant & Lempert 2010), if restricted


@dataclass(frozen=True)
class Box:
    """One PRIM box: its statistics, its ranges and the mean cost of its points."""

    number: int
    coverage: float  # share of all points of interest that are in this box (and no earlier box)
    density: float  # share of this box's points that are of interest
    mass: float  # share of all points that are in this box (and no earlier box)
    points: int
    cases: int
    ranges: tuple[ParameterRange, ...]
    cost_mean: float | None  # mean of COST over the box's points (None if the sweep does not record it)
    trajectory: pd.DataFrame = field(repr=False)  # the peeling/pasting steps: coverage, density, mass, res_dim
    chosen: int = 0  # the step of `trajectory` this box is

    @property
    def restricted(self) -> tuple[ParameterRange, ...]:
        """The parameters the box restricts."""
        return tuple(r for r in self.ranges if r.restricted)


@dataclass(frozen=True)
class Discovery:
    """What PRIM found for one condition over one sweep."""

    where: str
    points: int
    cases: int
    threshold: float
    boxes: tuple[Box, ...]
    parameters: tuple[str, ...]
    cost: str | None  # the cost indicator, if recorded
    cost_mean: float | None  # its mean over all points
    cost_mean_cases: float | None  # its mean over the points of interest
    note: str = ""  # why PRIM stopped before `max_boxes` boxes


def _choose(trajectory: pd.DataFrame, threshold: float) -> int | None:
    """The step with the largest coverage among those with density >= threshold (ties: denser)."""
    good = trajectory[trajectory["density"] >= threshold - 1e-12]
    if good.empty:
        return None
    return int(good.sort_values(["coverage", "density"], ascending=False, kind="stable").index[0])


def run_prim(
    x: pd.DataFrame,
    y: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    max_boxes: int = DEFAULT_BOXES,
    cost: np.ndarray | None = None,
) -> tuple[list[Box], str]:
    """Find up to `max_boxes` PRIM boxes of density >= `threshold` for the points `x`
    (one column per parameter) where `y` is true; each box is searched among the points no
    earlier box holds. Peeling 5 % at a time down to 5 % of the points, then pasting;
    the step kept is the one with the largest coverage that reaches `threshold`.
    Returns the boxes and, if fewer than `max_boxes`, why PRIM stopped."""
    import prim

    y = np.asarray(y, dtype=bool)
    x = x.reset_index(drop=True).copy()
    for name in x.columns:
        if pd.api.types.is_bool_dtype(x[name]) or not pd.api.types.is_numeric_dtype(x[name]):
            x[name] = x[name].astype(object)
        elif pd.api.types.is_integer_dtype(x[name]):
            x[name] = x[name].astype("int64")
        else:
            x[name] = x[name].astype("float64")
    finder = prim.Prim(x, y, peel_alpha=PEEL_ALPHA, paste_alpha=PASTE_ALPHA, mass_min=MASS_MIN)
    boxes: list[Box] = []
    note = ""
    while len(boxes) < max_boxes:
        finder._update_yi_remaining()  # the points no box holds yet
        if not y[finder.yi_remaining].any():
            note = f"no point of interest is left outside the {len(boxes)} box(es) found"
            break
        found = finder.find_box()
        if found is None:
            note = "no point is left outside the boxes found"
            break
        trajectory = found.peeling_trajectory.astype(float).rename(columns={"res dim": "res_dim"})
        step = _choose(trajectory, threshold)
        if step is None:
            finder._boxes.pop()  # not a box: the points stay available (and PRIM stops here)
            note = (
                f"PRIM found no {'further ' if boxes else ''}box with density >= {threshold:g} "
                f"(the densest step reached {trajectory['density'].max():.3f})"
            )
            break
        found.select(step)
        boxes.append(_box(found, len(boxes) + 1, x, trajectory, step, cost))
    return boxes, note


def _box(found: Any, number: int, x: pd.DataFrame, trajectory: pd.DataFrame, step: int, cost: np.ndarray | None) -> Box:
    """A `Box` from the PRIM box `found` at its selected step."""
    limits = found._box_lims[step]
    initial = found._box_lims[0]
    # quasi-p values of the restrictions; `found.limits` would compute them too, but fails on text levels
    qp = found._calculate_quasi_p(step) if trajectory.loc[step, "res_dim"] > 0 else {}
    ranges = []
    for name in x.columns:
        low, high = limits[name][0], limits[name][1]
        full_low, full_high = initial[name][0], initial[name][1]
        if isinstance(low, set):  # categories: the box keeps a subset of the levels
            ranges.append(
                ParameterRange(
                    name,
                    None,
                    None,
                    None,
                    None,
                    restricted=low != full_low,
                    levels=tuple(sorted(low, key=str)),
                    full_levels=tuple(sorted(full_low, key=str)),
                    qp=float(qp[name]) if name in qp else None,
                )
            )
            continue
        restricted = bool(low != full_low or high != full_high)
        ranges.append(
            ParameterRange(
                name,
                float(low),
                float(high),
                float(full_low),
                float(full_high),
                restricted,
                qp=float(qp[name]) if restricted and name in qp else None,
            )
        )
    inside = np.asarray(found.yi, dtype=int)
    row = trajectory.loc[step]
    return Box(
        number=number,
        coverage=float(row["coverage"]),
        density=float(row["density"]),
        mass=float(row["mass"]),
        points=len(inside),
        cases=int(found.prim.y[inside].sum()),
        ranges=tuple(ranges),
        cost_mean=float(np.mean(cost[inside])) if cost is not None and len(inside) else None,
        trajectory=trajectory,
        chosen=step,
    )


def discover(
    points: SweepPoints, where: str, threshold: float = DEFAULT_THRESHOLD, max_boxes: int = DEFAULT_BOXES
) -> Discovery:
    """Boxes of parameter ranges where `where` holds, found by PRIM over the sweep's points.

    Raises `DiscoveryError` for a bad condition or options, and when the condition selects
    no point or every point (PRIM has nothing to separate).
    """
    if not 0 < threshold <= 1:
        raise DiscoveryError(f"--threshold {threshold:g}: expected a minimum density between 0 (excluded) and 1.")
    if max_boxes < 1:
        raise DiscoveryError(f"--boxes {max_boxes}: expected a whole number >= 1.")
    condition = where_condition(points, where)
    table = points.table
    y = condition.evaluate(table)
    n, cases = len(table), int(y.sum())
    if cases == 0 or cases == n:
        which = "no point" if cases == 0 else "every point"
        shown = "; ".join(f"{k} {table[k].min():.4g} to {table[k].max():.4g}" for k in condition.names)
        raise DiscoveryError(
            f"--where {where!r} holds for {which} of the {n} design points of {points.folder}, so there is nothing to "
            f"tell apart; over these points {shown}. Choose a condition that holds for some points and not others."
        )
    cost_name = COST if COST in table.columns else None
    cost = table[cost_name].to_numpy(dtype=float) if cost_name else None
    boxes, note = run_prim(table[list(points.parameters)], y, threshold, max_boxes, cost)
    return Discovery(
        where=where,
        points=n,
        cases=cases,
        threshold=threshold,
        boxes=tuple(boxes),
        parameters=points.parameters,
        cost=cost_name,
        cost_mean=float(np.mean(cost)) if cost is not None else None,
        cost_mean_cases=float(np.mean(cost[y])) if cost is not None else None,
        note=note,
    )


def discovery_json(result: Discovery, points: SweepPoints) -> dict[str, Any]:
    """The result as plain data (for `--json`)."""
    return {
        "folder": str(points.folder),
        "sweep_file": points.sweep_file,
        "where": result.where,
        "outcome": "mean over replicates of each indicator in the final month, per design point",
        "points": result.points,
        "cases": result.cases,
        "runs": points.runs,
        "failed_runs": points.failed,
        "expected_runs": points.expected_runs,
        "threshold": result.threshold,
        "peel_alpha": PEEL_ALPHA,
        "paste_alpha": PASTE_ALPHA,
        "mass_min": MASS_MIN,
        "cost_indicator": result.cost,
        "cost_mean_all": result.cost_mean,
        "cost_mean_cases": result.cost_mean_cases,
        "note": result.note,
        "boxes": [
            {
                "box": b.number,
                "coverage": b.coverage,
                "density": b.density,
                "mass": b.mass,
                "points": b.points,
                "cases": b.cases,
                "cost_mean": b.cost_mean,
                "ranges": {
                    r.name: {
                        "restricted": r.restricted,
                        "low": r.low,
                        "high": r.high,
                        "full_low": r.full_low,
                        "full_high": r.full_high,
                        "qp": r.qp,
                    }
                    | ({"levels": list(r.levels), "full_levels": list(r.full_levels or ())} if r.levels else {})
                    for r in b.ranges
                },
            }
            for b in result.boxes
        ],
    }


# ---------------------------------------------------------------------------- the figure
def discovery_figure(result: Discovery):
    """Left: each box's peeling trajectory, coverage against density, with the step kept
    marked and the density threshold drawn. Right: each box's range of every numeric
    parameter as a share of its full range over the sweep."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = plt.get_cmap("tab10").colors
    numeric = [
        p for p in result.parameters if all(r.levels is None for b in result.boxes for r in b.ranges if r.name == p)
    ]
    fig, (left, right) = plt.subplots(
        1,
        2,
        figsize=(12, max(4.0, 1.5 + 0.55 * len(numeric) * max(1, len(result.boxes)) ** 0.5)),
        gridspec_kw={"width_ratios": [1, 1.3]},
        layout="constrained",
    )
    for box, colour in zip(result.boxes, colours, strict=False):
        t = box.trajectory
        left.plot(t["coverage"], t["density"], "-o", color=colour, markersize=3, alpha=0.6, label=f"box {box.number}")
        left.plot(box.coverage, box.density, "*", color=colour, markersize=16, markeredgecolor="black")
        left.annotate(
            f"box {box.number}",
            (box.coverage, box.density),
            textcoords="offset points",
            xytext=(-40 if box.coverage > 0.8 else 8, -14),
            fontsize=8,
        )
    left.axhline(result.threshold, color="grey", linestyle="--", linewidth=1, label=f"threshold {result.threshold:g}")
    left.set_xlabel("coverage (share of points of interest in the box)")
    left.set_ylabel("density (share of the box's points of interest)")
    left.set_xlim(-0.02, 1.02)
    left.set_ylim(0, 1.05)
    left.grid(alpha=0.3)
    left.legend(fontsize=8, loc="lower left")
    left.set_title("PRIM peeling trajectories (* = box kept)", fontsize=10)

    height = 0.8 / max(1, len(result.boxes))
    for i, name in enumerate(numeric):
        right.barh(i, 1.0, 0.85, left=0, color="#eeeeee", edgecolor="#bbbbbb")
        for j, (box, colour) in enumerate(zip(result.boxes, colours, strict=False)):
            r = next(r for r in box.ranges if r.name == name)
            span = (r.full_high - r.full_low) or 1.0
            lo, hi = (r.low - r.full_low) / span, (r.high - r.full_low) / span
            y = i - 0.4 + height * (j + 0.5)
            right.barh(y, hi - lo, height * 0.9, left=lo, color=colour, alpha=0.85 if r.restricted else 0.25)
        first = next(r for r in result.boxes[0].ranges if r.name == name) if result.boxes else None
        if first is not None:
            right.text(-0.02, i + 0.3, f"{first.full_low:.4g}", ha="right", va="center", fontsize=7, color="grey")
            right.text(1.02, i + 0.3, f"{first.full_high:.4g}", ha="left", va="center", fontsize=7, color="grey")
    right.set_yticks(range(len(numeric)), numeric, fontsize=8)
    right.invert_yaxis()
    right.set_xlim(-0.12, 1.12)
    right.set_xlabel("box range, as a share of the sweep's range (pale: not restricted)")
    right.set_title(f"where {result.where}", fontsize=10)
    return fig
