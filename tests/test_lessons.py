"""The lesson plan's exercises (docs/TEACHING.md), checked with the app's model: each says
which way an indicator moves from setting A to setting B, and it must."""

from __future__ import annotations

import pytest

from analysis.classroom import CONTROL, DEFAULTS
from analysis.lessons import EXERCISES, MONTHS, run


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.key)
def test_every_setting_is_one_the_app_can_take(exercise):
    for controls in (exercise.a, exercise.b):
        for key, value in controls.items():
            control = CONTROL[key]
            if control.kind in ("int", "float"):
                assert control.low <= value <= control.high, (key, value)
                steps = (value - control.low) / control.step
                assert abs(steps - round(steps)) < 1e-9, (key, value)  # a value the slider can show
            else:
                assert isinstance(value, type(DEFAULTS[key])), key


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.key)
def test_what_the_class_should_see_happens(exercise):
    """With the app's default seed (1), as the class runs it."""
    a, b = run(exercise.a, months=MONTHS[-1:]), run(exercise.b, months=MONTHS[-1:])
    for key, direction in exercise.expect:
        before, after = a[MONTHS[-1]][key], b[MONTHS[-1]][key]
        assert (after - before) * direction > 0, (exercise.key, key, before, after)
