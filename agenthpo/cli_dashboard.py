"""``agenthpo dashboard``: open a study in optuna-dashboard on 127.0.0.1.

Registered in :mod:`agenthpo.cli` as ``app.command("dashboard")(dashboard_command)``.

Example:
    .. code-block:: bash

        agenthpo dashboard examples/digits_mlp/task.yaml
        agenthpo dashboard --storage sqlite:///studies.db --study digits-mlp --port 8081
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agenthpo.dashboard import DEFAULT_PORT, serve, write_study_notes
from agenthpo.errors import AgentHPOError
from agenthpo.task import load_task

__all__ = ["dashboard_command"]

_console = Console(markup=False)


def _storage_url(task_file: Path | None, storage: str | None) -> str:
    if storage is not None:
        return storage
    if task_file is None:
        raise AgentHPOError("give a task file or --storage URL")
    return load_task(task_file).default_storage()


def dashboard_command(
    task_file: Annotated[Path | None, typer.Argument(help="The task YAML file.")] = None,
    storage: Annotated[
        str | None,
        typer.Option("--storage", help="Optuna storage URL (default: the task's)."),
    ] = None,
    study: Annotated[
        str | None, typer.Option("--study", help="Study name (default: the task's name).")
    ] = None,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1.")
    ] = DEFAULT_PORT,
    notes: Annotated[
        bool,
        typer.Option(
            "--notes/--no-notes",
            metavar="",  # a flag: no "<bool>" in --help (see agenthpo.cli.FLAG)
            help="First write the Markdown note (reasoning, analysis, LLM answers) of every"
            " finished trial that has none.",
        ),
    ] = True,
) -> None:
    """Open a study in optuna-dashboard: each trial with its rationale, analysis and note."""
    # Imported here: agenthpo.cli imports this module to register the command.
    from agenthpo.cli import _guard, _open_study

    def go() -> None:
        opened = _open_study(task_file, storage, study)
        url = _storage_url(task_file, storage)
        if notes:
            written = write_study_notes(opened)
            if written:
                _console.print(f"wrote the notes of {written} trials")
        _console.print(
            f"optuna-dashboard for {opened.study_name!r}:"
            f" http://127.0.0.1:{port}/dashboard/studies/{opened._study_id}"
            " (Ctrl+C stops it)",
            soft_wrap=True,
        )
        serve(url, host="127.0.0.1", port=port)

    _guard(go)
