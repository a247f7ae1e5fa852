"""``agenthpo dashboard``: open a study in optuna-dashboard on 127.0.0.1.

Registered in :mod:`agenthpo.cli`.

Example:
    .. code-block:: bash

        agenthpo dashboard examples/digits_mlp/task.yaml
        agenthpo dashboard --storage sqlite:///studies.db --study digits-mlp --port 8081
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agenthpo import _optuna
from agenthpo.cli._common import FLAG, StudyOption, console, guard
from agenthpo.dashboard import DEFAULT_PORT, serve, write_study_notes
from agenthpo.studies import open_study, storage_url

__all__ = ["dashboard_command"]


def dashboard_command(
    task_file: Annotated[Path | None, typer.Argument(help="The task YAML file.")] = None,
    storage: Annotated[
        str | None,
        typer.Option("--storage", help="Optuna storage URL (default: the task's)."),
    ] = None,
    study: StudyOption = None,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1.")
    ] = DEFAULT_PORT,
    notes: Annotated[
        bool,
        typer.Option(
            "--notes/--no-notes",
            metavar=FLAG,
            help="First write the Markdown note (reasoning, analysis, LLM answers) of every"
            " finished trial that has none.",
        ),
    ] = True,
) -> None:
    """Open a study in optuna-dashboard: each trial with its rationale, analysis and note."""

    def go() -> None:
        opened = open_study(task_file, storage=storage, study=study)
        url = storage_url(task_file, storage)
        if notes:
            written = write_study_notes(opened)
            if written:
                console.print(f"wrote the notes of {written} trials")
        console.print(
            f"optuna-dashboard for {opened.study_name!r}:"
            f" http://127.0.0.1:{port}/dashboard/studies/{_optuna.study_id(opened)}"
            " (Ctrl+C stops it)",
            soft_wrap=True,
        )
        serve(url, host="127.0.0.1", port=port)

    guard(go)
