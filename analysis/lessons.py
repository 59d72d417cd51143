"""The exercises of docs/TEACHING.md, run the way the app runs them, so that what the lesson
says the class will see is checked against the app as it is.

    python -m analysis.lessons            # each exercise: settings A and B, seeds 1-3, months 24 and 120

Each exercise is two settings of the app's controls (A, then B after a Reset) and the
indicators the class should watch; `expect` says which way each moves from A to B, and
`tests/test_lessons.py` checks those directions with the app's model (`ClassroomModel`).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from analysis.classroom import DEFAULTS, ClassroomModel

MONTHS = (24, 120)  # two years in, and the end of the ten years the app runs


@dataclass(frozen=True)
class Exercise:
    """Two settings of the app's controls to compare, and what should change between them."""

    key: str
    a: dict[str, Any]  # controls changed from the defaults for the first run (usually none)
    b: dict[str, Any]  # ... and for the second
    watch: tuple[str, ...]  # indicators (model.indicators keys) the class reads off the charts
    expect: tuple[tuple[str, int], ...]  # (indicator, +1 or -1): its direction from A to B at month 120


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "destination",
        {},
        {"out_of_county_wage": DEFAULTS["out_of_county_wage"] + 2500},
        ("share_out_of_county", "income_per_capita_mean", "poverty_rate"),
        (("share_out_of_county", +1), ("income_per_capita_mean", +1)),
    ),
    Exercise(
        "new_home",
        {},
        {"local_industry_posts": 40, "workshops": True, "local_wage": DEFAULTS["local_wage"] + 1000},
        ("share_local", "share_out_of_county", "share_industry", "income_per_capita_mean"),
        (("share_local", +1), ("share_out_of_county", -1), ("share_industry", +1)),
    ),
    Exercise(
        "family",
        {},
        {"care_penalty": 0.0},
        ("share_out_of_county", "share_local", "income_per_capita_mean"),
        (("share_out_of_county", +1),),
    ),
    Exercise(
        "origin",
        {"transition_years": 0},
        {"transition_years": 3, "distance_factor": 0.25},
        ("returned_households", "share_agriculture", "share_part_time", "integration_index"),
        (("returned_households", +1),),
    ),
    Exercise(
        "decision",
        {"decide_to_move": True},
        {"decide_to_move": True, "homestead_handover": False},
        ("decision_moved", "decision_withdrew", "share_agriculture", "returned_households", "poverty_rate"),
        (("decision_moved", +1), ("decision_withdrew", -1), ("share_agriculture", +1), ("returned_households", +1)),
    ),
)
EXERCISE = {e.key: e for e in EXERCISES}


def run(controls: dict[str, Any], seed: int = 1, months: tuple[int, ...] = MONTHS) -> dict[int, dict[str, float]]:
    """The app's model with these controls (the rest at their defaults) and seed: its
    indicators at each of `months`."""
    model = ClassroomModel(**{**DEFAULTS, **controls, "seed": seed})
    out = {}
    for month in range(1, max(months) + 1):
        model.step()
        if month in months:
            out[month] = dict(model.indicators)
    return out


def compare(exercise: Exercise, seeds: tuple[int, ...] = (1, 2, 3)) -> dict[str, dict[int, dict[str, list[float]]]]:
    """For settings "a" and "b": per month, per watched indicator, the value of each seed."""
    result: dict[str, dict[int, dict[str, list[float]]]] = {}
    for side, controls in (("a", exercise.a), ("b", exercise.b)):
        runs = [run(controls, seed) for seed in seeds]
        result[side] = {
            month: {key: [float(r[month][key]) for r in runs] for key in exercise.watch} for month in MONTHS
        }
    return result


def main() -> None:
    """Print each exercise's figures (seed 1, and the median of seeds 1-3)."""
    for exercise in EXERCISES:
        print(f"## {exercise.key}: A = defaults + {exercise.a or '{}'}; B = defaults + {exercise.b}")
        figures = compare(exercise)
        for month in MONTHS:
            for key in exercise.watch:
                a, b = figures["a"][month][key], figures["b"][month][key]
                print(
                    f"  month {month:3d} {key:24s} A {a[0]:10.3f} -> B {b[0]:10.3f} (seed 1);"
                    f" median of seeds 1-3: {statistics.median(a):10.3f} -> {statistics.median(b):10.3f}"
                )


if __name__ == "__main__":
    main()
