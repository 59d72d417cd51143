"""Scenario discovery: PRIM recovers a planted box, the --where parser refuses what is not a
condition, and `run.py discover` reads a real sweep folder without changing it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.discovery import DiscoveryError, SweepPoints, discover, parse_where, read_points, run_prim
from analysis.sweep import load_sweep, run_sweep

from .conftest import SMALL_SET

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.05  # planted bounds recovered within 0.05 on parameters uniform on [0, 1]


def planted(n: int = 1000, noise: float = 0.0, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Three uniform parameters; the outcome is true iff 0.2 <= x1 <= 0.5 and x2 > 0.7 (the
    box holds 9 % of the points), with a share `noise` of labels flipped. Also the truth."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.random((n, 3)), columns=["x1", "x2", "x3"])
    truth = ((x["x1"] >= 0.2) & (x["x1"] <= 0.5) & (x["x2"] > 0.7)).to_numpy()
    return x, truth ^ (rng.random(n) < noise), truth


def ranges(box) -> dict[str, tuple[float, float, bool]]:
    return {r.name: (r.low, r.high, r.restricted) for r in box.ranges}


def test_prim_recovers_a_planted_box():
    x, y, _ = planted()
    boxes, _ = run_prim(x, y, threshold=0.8, max_boxes=1)
    box = boxes[0]
    found = ranges(box)
    assert abs(found["x1"][0] - 0.2) < TOLERANCE and abs(found["x1"][1] - 0.5) < TOLERANCE
    assert abs(found["x2"][0] - 0.7) < TOLERANCE and found["x2"][1] > 0.99
    assert found["x3"][0] < 0.05 and found["x3"][1] > 0.95  # x3 does nothing: (almost) its full range
    assert box.density > 0.95 and box.coverage > 0.9
    assert abs(box.mass - y.mean() * box.coverage / box.density) < 1e-9  # the three are consistent
    restricted = {r.name: r.qp for r in box.ranges if r.restricted and r.name != "x3"}
    assert set(restricted) == {"x1", "x2"} and max(restricted.values()) < 1e-6


def test_prim_recovers_a_planted_box_through_5_percent_label_noise():
    x, y, truth = planted(noise=0.05)
    boxes, _ = run_prim(x, y, threshold=0.8, max_boxes=3, cost=x["x3"].to_numpy())
    box = boxes[0]
    found = ranges(box)
    assert abs(found["x1"][0] - 0.2) < TOLERANCE and abs(found["x1"][1] - 0.5) < TOLERANCE
    assert abs(found["x2"][0] - 0.7) < TOLERANCE
    assert box.density > 0.85
    # the flipped labels outside the box cannot be covered: measure coverage of the planted box
    inside = (
        x["x1"].between(found["x1"][0], found["x1"][1]) & x["x2"].between(found["x2"][0], found["x2"][1])
    ).to_numpy()
    assert (inside & truth).sum() / truth.sum() > 0.85
    assert box.coverage > 0.55  # of all (noisy) points of interest
    assert box.cost_mean is not None and 0.3 < box.cost_mean < 0.7  # x3 as a cost: about its mean inside
    # noise is scattered: no second box reaches density 0.8
    assert len(boxes) == 1


def test_threshold_picks_the_widest_dense_enough_step_and_none_reached_means_no_box():
    rng = np.random.default_rng(2)
    x = pd.DataFrame(rng.random((1000, 2)), columns=["x1", "x2"])
    y = rng.random(1000) < x["x1"] ** 2  # the higher x1, the likelier: density rises as coverage falls
    strict, note = run_prim(x, y, threshold=0.9, max_boxes=2)
    assert strict == [] and "no box with density >= 0.9 (the densest step reached 0.8" in note
    dense, _ = run_prim(x, y, threshold=0.8, max_boxes=1)
    loose, _ = run_prim(x, y, threshold=0.6, max_boxes=1)
    for box, threshold in ((dense[0], 0.8), (loose[0], 0.6)):
        t = box.trajectory
        assert box.density >= threshold
        assert box.coverage == t.loc[t["density"] >= threshold, "coverage"].max()
        assert box.restricted[0].name == "x1" and box.restricted[0].high > 0.99
    # a lower threshold trades density for coverage: a wider box, lower on x1
    assert loose[0].coverage > dense[0].coverage + 0.2 and loose[0].density < dense[0].density
    assert loose[0].restricted[0].low < dense[0].restricted[0].low - 0.1


def test_prim_on_a_grid_with_text_and_true_false_levels():
    rng = np.random.default_rng(2)
    n = 400
    x = pd.DataFrame(
        {
            "ties.allocation": rng.choice(["mixed", "random", "village_clustered"], n),
            "wages.out_of_county": rng.choice([3500, 4500, 5500], n),
            "policies.workshops.enabled": rng.choice([True, False], n),
        }
    )
    y = ((x["ties.allocation"] == "mixed") & (x["wages.out_of_county"] >= 4500)).to_numpy() ^ (rng.random(n) < 0.03)
    boxes, _ = run_prim(x, y, threshold=0.8, max_boxes=2)
    box = {r.name: r for r in boxes[0].ranges}
    assert box["ties.allocation"].levels == ("mixed",) and box["ties.allocation"].restricted
    assert box["ties.allocation"].full_levels == ("mixed", "random", "village_clustered")
    assert (box["wages.out_of_county"].low, box["wages.out_of_county"].high) == (4500, 5500)
    assert not box["policies.workshops.enabled"].restricted
    assert boxes[0].density > 0.95 and boxes[0].coverage > 0.9
    assert isinstance(box["ties.allocation"].qp, float) and box["ties.allocation"].qp < 1e-10


def points_of(table: pd.DataFrame, parameters: tuple[str, ...], indicators: tuple[str, ...]) -> SweepPoints:
    return SweepPoints(Path("synthetic"), table, parameters, indicators, len(table), 0, len(table), None)


def test_discover_with_dotted_names_and_cost():
    x, _, _ = planted(n=800, seed=4)
    table = pd.DataFrame(
        {
            "policies.workshops.posts_per_100_workers": x["x1"] * 1000,
            "wages.out_of_county": 3000 + x["x2"] * 3000,
            "ties.homophily": x["x3"],
        }
    )
    table["poverty_rate"] = 0.05 + 0.2 * ((table["policies.workshops.posts_per_100_workers"] < 300) & (x["x2"] < 0.5))
    table["policy_cost_total"] = table["policies.workshops.posts_per_100_workers"] * 1000.0
    points = points_of(table, tuple(table.columns[:3]), ("poverty_rate", "policy_cost_total"))
    result = discover(points, "poverty_rate > 0.1 and not wages.out_of_county >= 4500", max_boxes=2)
    box = result.boxes[0]
    found = ranges(box)
    assert found["policies.workshops.posts_per_100_workers"][1] == pytest.approx(300, abs=50)
    assert found["wages.out_of_county"][1] == pytest.approx(4500, abs=150)
    assert box.density > 0.95 and box.coverage > 0.9
    assert result.cost == "policy_cost_total" and box.cost_mean < 0.5 * result.cost_mean  # the cheap posts
    with pytest.raises(DiscoveryError, match="holds for every point"):
        discover(points, "poverty_rate >= 0.05")
    with pytest.raises(DiscoveryError, match="holds for no point"):
        discover(points, "poverty_rate > 1")
    with pytest.raises(DiscoveryError, match="--threshold"):
        discover(points, "poverty_rate > 0.1", threshold=1.5)


KNOWN = {
    "poverty_rate",
    "policy_cost_total",
    "policies.workshops.posts_per_100_workers",
    "by_age_group.45+.employment_rate",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("poverty_rate > 0.1", [False, True, True]),
        ("poverty_rate > 0.1 and policies.workshops.posts_per_100_workers < 250", [False, True, False]),
        ("not (poverty_rate <= 0.1) or policy_cost_total == 0", [True, True, True]),
        ("0.1 < poverty_rate <= 0.2", [False, True, False]),
        ("poverty_rate != 0.3 and policy_cost_total >= -1e3", [True, True, False]),
        ("`by_age_group.45+.employment_rate` > 0.5", [True, False, False]),
    ],
)
def test_where_accepts_conditions(text, expected):
    table = pd.DataFrame(
        {
            "poverty_rate": [0.05, 0.2, 0.3],
            "policy_cost_total": [0.0, 1e6, 2e6],
            "policies.workshops.posts_per_100_workers": [100, 200, 300],
            "by_age_group.45+.employment_rate": [0.6, 0.4, 0.3],
        }
    )
    assert parse_where(text, KNOWN).evaluate(table).tolist() == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("__import__('os').system('true')", "a function call is not allowed"),
        ("poverty_rate > abs(-1)", "a function call is not allowed"),
        ("(1).real > 0", "attribute access on `1` is not allowed"),
        ("poverty_rate.__class__ > 0", "unknown name `poverty_rate.__class__`"),
        ("policy_cost_total[0] > 1", "indexing ([...]) is not allowed"),
        ("poverty_rate * 2 > 0.1", "arithmetic (*) is not allowed"),
        ("poverty_rate in (0.1, 0.2)", "`in` is not allowed"),
        ("poverty_rate", "`poverty_rate` alone (a value, not a condition"),
        ("poverty_rat > 0.1", "unknown name `poverty_rat` (did you mean poverty_rate?). Known names:"),
        ("poverty_rate > ", "not a valid condition"),
        ("lambda: 1", "a lambda is not allowed"),
        ("poverty_rate > (1 if True else 0)", "an if-expression is not allowed"),
        ("(poverty_rate > 0.1) > 0", "a condition used as a value"),
        ("", "--where is empty"),
    ],
)
def test_where_refuses_anything_else(text, expected):
    with pytest.raises(DiscoveryError) as err:
        parse_where(text, KNOWN)
    message = str(err.value)
    assert expected in message, message
    if text:
        assert repr(text) in message
        assert ("Known names: by_age_group" if "unknown name" in expected else "Allowed: comparisons") in message


def test_where_names_an_indicator_the_sweep_did_not_record():
    table = pd.DataFrame({"wages.out_of_county": [3500, 5000], "poverty_rate": [0.1, 0.2]})
    points = points_of(table, ("wages.out_of_county",), ("poverty_rate",))
    with pytest.raises(
        DiscoveryError, match=r"indicator employment_rate is not recorded in this sweep \(it records poverty_rate\)"
    ):
        discover(points, "employment_rate > 0.5")


# ---------------------------------------------------------------------------- a real sweep
SETS = ", ".join(f'"{s}"' for s in (*SMALL_SET, "simulation.years=1"))
SWEEP = f"""
base = "{ROOT / "scenarios" / "baseline.toml"}"
set = [{SETS}]
method = "latin"
samples = 24
replicates = 2
seed = 3
indicators = ["share_out_of_county", "poverty_rate", "policy_cost_total"]
[parameters."wages.out_of_county"]
range = [3500, 6000]
[parameters."ties.homophily"]
range = [0.0, 1.0]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Path:
    """A small Latin hypercube sweep stored as `run.py sweep` stores it (48 runs of one year)."""
    folder = tmp_path_factory.mktemp("discover")
    path = folder / "s.toml"
    path.write_text(SWEEP, encoding="utf-8")
    run_sweep(load_sweep(path), folder / "out", workers=2)
    return folder / "out"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=ROOT)


def store_state(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


def test_read_points_averages_replicates_of_a_stored_sweep(swept):
    points = read_points(swept)
    assert points.parameters == ("wages.out_of_county", "ties.homophily")
    assert points.indicators == ("share_out_of_county", "poverty_rate", "policy_cost_total")
    assert len(points.table) == 24 and (points.table["replicates"] == 2).all()
    assert points.runs == 48 and points.expected_runs == 48 and points.failed == 0
    runs = pd.read_parquet(swept / "runs")
    first = runs[runs["param:wages.out_of_county"] == points.table["wages.out_of_county"].iloc[0]]
    assert points.table["poverty_rate"].iloc[0] == pytest.approx(first["poverty_rate"].mean())


def test_discover_command_prints_boxes_and_writes_the_figure(swept, tmp_path):
    before = store_state(swept)
    median = float(read_points(swept).table["share_out_of_county"].median())
    where = f"share_out_of_county > {median:.4f}"
    result = cli("discover", str(swept), "--where", where, "--threshold", "0.8")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "24 design points (48 runs of 48, 0 failed" in out and "12 points (50%) satisfy" in out
    assert "Box 1: coverage" in out and "wages.out_of_county" in out and "Mean policy_cost_total" in out
    assert (swept / "discovery.png").stat().st_size > 10_000
    # the pull of outside work: the box keeps the higher out-of-county wages
    data = json.loads(
        cli("discover", str(swept), "--where", where, "--json", "--figure", str(tmp_path / "f.png")).stdout
    )
    box = data["boxes"][0]
    wage = box["ranges"]["wages.out_of_county"]
    assert wage["restricted"] and wage["low"] > 4000 and wage["high"] == wage["full_high"]
    assert box["density"] >= 0.8 and box["coverage"] > 0.5 and data["cases"] == 12
    assert (tmp_path / "f.png").exists()
    assert {k: v for k, v in store_state(swept).items() if k != "discovery.png"} == {
        k: v for k, v in before.items() if k != "discovery.png"
    }  # the store is unchanged


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--where", "poverty_rate > 2"], "holds for no point of the 24 design points"),
        (["--where", "poverty_rate >= 0"], "holds for every point"),
        (["--where", "__import__('os').system('echo hi')"], "a function call is not allowed"),
        (["--where", "employment_rate > 0.5"], "indicator employment_rate is not recorded in this sweep"),
        (["--where", "wages.out_of_countyy > 4000"], "did you mean wages.out_of_county?"),
        (["--where", "poverty_rate > 0.1", "--threshold", "0"], "--threshold 0: expected a minimum density"),
    ],
)
def test_discover_command_bad_input_is_one_clear_paragraph(swept, args, expected):
    result = cli("discover", str(swept), *args, "--figure", str(swept.parent / "unused.png"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert expected in " ".join(result.stderr.split())


def test_discover_command_refuses_what_is_not_a_sweep_folder(tmp_path):
    for folder, expected in (
        (tmp_path / "missing", "does not exist"),
        (tmp_path, "is not a sweep's results folder"),
        (ROOT / "README.md", "is a file, not a folder"),
    ):
        result = cli("discover", str(folder), "--where", "poverty_rate > 0.1")
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert expected in " ".join(result.stderr.split())
    assert not (tmp_path / "discovery.png").exists()
