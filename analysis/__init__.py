"""Experiments over model runs: running, summarising, comparing, reporting."""

from .runner import RunResult, json_safe, run_id, run_scenario

__all__ = ["RunResult", "json_safe", "run_id", "run_scenario"]
