"""One test module per policy unit (simulation/policies/<name>.py)."""
