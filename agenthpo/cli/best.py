"""``agenthpo best``: the configuration a study recommends, for a program or a person.

Registered in :mod:`agenthpo.cli`; the choice is :func:`agenthpo.studies.recommendation`
(or :func:`agenthpo.studies.pareto_records` for several objectives).

Example:
    .. code-block:: console

        $ agenthpo best examples/digits_mlp/task.yaml > best.json
        $ agenthpo best --storage sqlite:///studies.db --study quad --format text
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from agenthpo._jsonsafe import dumps
from agenthpo._text import single_line
from agenthpo.cli._common import (
    StorageOption,
    StudyOption,
    console,
    err_console,
    fmt_value,
    guard,
    own_run,
    selection_lines,
)
from agenthpo.drift import front_drift, searched_space, space_drift
from agenthpo.studies import open_study, pareto_records, recommendation
from agenthpo.task import load_task

__all__ = ["BestFormat", "best_command"]


class BestFormat(str, Enum):
    """How ``agenthpo best`` prints the result."""

    config = "config"
    json = "json"
    text = "text"


def best_command(
    task_file: Annotated[Path | None, typer.Argument(help="The task YAML file.")] = None,
    storage: StorageOption = None,
    study: StudyOption = None,
    fmt: Annotated[
        BestFormat,
        typer.Option(
            "--format",
            help="config (the configuration as JSON), json (the trial, its value, the"
            " configuration and the noise-robust selection) or text (for a person).",
        ),
    ] = BestFormat.config,
) -> None:
    """Print the recommended configuration as JSON (several objectives: the Pareto front).

    With noise-robust selection (on when the task can vary a seed) the recommended
    configuration is the one that won on the mean over seeds, or the default when nothing
    beat it beyond the noise band; stderr says which, and why. When the task file's space
    changed after the recommended trial ran (a parameter removed, renamed or added, a value
    now outside its range or choices), stderr says so in one line; stdout is unchanged.
    """

    def go() -> None:
        task = load_task(task_file) if task_file is not None else None
        s = open_study(task, storage=storage, study=study)
        # Only the task's own study is compared with its space: another --study is another task.
        space = task.space if task is not None and s.study_name == task.name else None
        searched = searched_space(space, s) if space is not None else None
        if len(s.directions) > 1:
            front = pareto_records(s)
            if fmt is BestFormat.text:
                console.print(Text(f"Pareto front: {len(front)} trial(s)"), soft_wrap=True)
                for record in front:
                    values = ", ".join(f"{m} {fmt_value(v)}" for m, v in record["values"].items())
                    line = f"trial {record['trial']}: {values}; config: {dumps(record['config'])}"
                    console.print(Text(single_line(line)), soft_wrap=True)
            else:
                sys.stdout.write(dumps(front, indent=2) + "\n")
            _warn(front_drift(front, space, searched) if space is not None else None)
            return
        rec = recommendation(s)
        trial, metric, selection, note = rec.trial, rec.metric, rec.selection, rec.note
        drift = (
            space_drift(trial.number, trial.params, space, searched) if space is not None else None
        )
        if fmt is BestFormat.config:
            sys.stdout.write(dumps(trial.params, indent=2) + "\n")
            if selection is not None or note:
                err_console.print(Text(selection_lines(selection, metric, note)[0]), soft_wrap=True)
            _warn(drift)
            return
        if fmt is BestFormat.json:
            sys.stdout.write(dumps(rec.record(), indent=2, default=str) + "\n")
            _warn(drift)
            return
        lines = [
            f"{'Recommended' if selection is not None else 'Best'}: trial {trial.number},"
            f" {metric} {fmt_value(trial.value)}" + own_run(selection),
            *selection_lines(selection, metric, note),
            f"config: {dumps(trial.params)}",
        ]
        for line in lines:
            console.print(Text(single_line(line)), soft_wrap=True)
        _warn(drift)

    guard(go)


def _warn(line: str | None) -> None:
    if line is not None:
        err_console.print(Text(single_line(line)), soft_wrap=True)
