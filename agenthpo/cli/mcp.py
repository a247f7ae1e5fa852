"""``agenthpo mcp``: serve AgentHPO's tools to a coding agent.

Registered in :mod:`agenthpo.cli`; the server is :mod:`agenthpo.mcp` (its SDK is imported
only when the command runs).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from agenthpo.cli._common import guard, stop_on_signals
from agenthpo.errors import AgentHPOError

__all__ = ["mcp_command"]


def mcp_command(
    root: Annotated[
        Path | None,
        typer.Option(
            "--root",
            help="The only folder the server reads, writes and runs trials in (default: the"
            " working directory).",
        ),
    ] = None,
    http: Annotated[
        int | None,
        typer.Option(
            "--http",
            min=1,
            max=65535,
            metavar="PORT",
            help="Serve streamable HTTP on 127.0.0.1:PORT (endpoint /mcp) instead of stdio.",
        ),
    ] = None,
) -> None:
    r"""Serve AgentHPO's tools to a coding agent over MCP (stdio; --http PORT for HTTP).

    Register it with a client (Claude Code, Codex, Cursor, ...) in its mcpServers JSON:

        {"mcpServers": {"agenthpo": {"command": "agenthpo",
          "args": ["mcp", "--root", "/path/to/project"]}}}

    or, with Claude Code: claude mcp add agenthpo -- agenthpo mcp --root /path/to/project.
    Over HTTP: agenthpo mcp --http 8765, then point the client at http://127.0.0.1:8765/mcp.
    Needs the mcp extra: pip install 'agenthpo\[mcp]'. Tools: draft_task, validate_task,
    ask, tell, run_trials, run_status, cancel_run, study_status, best, trials, get_trial,
    importance, llm_usage, report, proposer_view, propose.
    """
    from agenthpo.mcp import serve  # here: the mcp SDK is an extra, needed only now

    def go() -> None:
        folder = (root or Path.cwd()).resolve()
        if not folder.is_dir():
            raise AgentHPOError(f"--root {root}: no such folder")
        logger = logging.getLogger("agenthpo")
        if not logger.handlers:
            logger.addHandler(logging.StreamHandler())  # stderr: stdout carries the protocol
        logger.setLevel(logging.WARNING)
        serve(root=folder, http=http)

    with stop_on_signals():  # SIGTERM (a client or supervisor stopping it) as Ctrl-C
        guard(go)
