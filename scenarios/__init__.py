"""Scenario files, their schema and loader."""

from .loader import ScenarioError, catalogue, load_scenario
from .schema import Scenario

__all__ = ["Scenario", "ScenarioError", "catalogue", "load_scenario"]
