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


def test_run_help_names_every_strategy_and_every_llm_default() -> None:
    """The help is where a user looks first: a strategy or LLM source it leaves out is one
    they never learn of (``backbone``, ``auto`` and ``llamacpp`` once were)."""
    from agenthpo.task import STRATEGY_NAMES

    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert {"backbone", "auto", "hybrid-tpe", "agent"} <= set(STRATEGY_NAMES)
    assert f"Who proposes trials: {', '.join(STRATEGY_NAMES)} " in text
    for source in ("llamacpp[:PATH]", "AGENTHPO_LLM", "OPENAI_API_KEY", "the embedded model"):
        assert source in text
    assert "default: the task's storage, else a SQLite file" in text
