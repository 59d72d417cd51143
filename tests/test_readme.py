"""The README's promises: its test command is what CI runs; its scenario paths exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_test_command():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    test_command = next(c for c in readme_commands() if "pytest" in c)
    assert test_command in ci_lines


def test_setup_commands_install_and_run():
    commands = readme_commands()
    assert commands[0].startswith("python3.12 -m venv .venv && .venv/bin/pip install")
    assert commands[0].endswith(".venv/bin/python run.py compare")  # the main job on built-in defaults
    for path in re.findall(r"scenarios/\S+\.toml", " ".join(commands)):
        assert (ROOT / path).exists(), path
