"""Every command's help lists on/off options as flags, not as options taking a value."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from agenthpo.cli import app

COMMANDS = ["run", "worker", "ask", "tell", "best", "report", "show", "dashboard", "init", "mcp"]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_shows_no_bool_metavar(command: str | None) -> None:
    args = ["--help"] if command is None else [command, "--help"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "--help" in result.output
    assert "<bool>" not in result.output
