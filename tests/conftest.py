"""Shared fixtures: small scenarios that run in well under a second."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scenarios import Scenario, load_scenario  # noqa: E402

SMALL: dict[str, Any] = {
    "community.relocated_population": 3600,
    "community.relocated_labour_force": 1920,
    "community.source_villages": 180,
}
SMALL_SET = tuple(f"{key}={value}" for key, value in SMALL.items())  # the same as command-line --set strings


def small_scenario(overrides: dict[str, Any] | None = None, years: int = 2) -> Scenario:
    """The baseline shrunk to about 1,000 households, with extra typed overrides."""
    return load_scenario(None, {**SMALL, "simulation.years": years, **(overrides or {})})


@pytest.fixture
def small() -> Scenario:
    """About 1,000 households, two years."""
    return small_scenario()
