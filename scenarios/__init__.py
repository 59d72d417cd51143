"""Scenario files, their schema and loader."""

from .loader import ScenarioError, load_scenario
from .schema import Scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario"]
