"""Scenario files, their schema and loader."""

from .loader import ScenarioError, catalogue, load_scenario, override, parse_set
from .schema import Scenario

__all__ = ["Scenario", "ScenarioError", "catalogue", "load_scenario", "override", "parse_set"]
