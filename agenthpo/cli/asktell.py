"""``agenthpo ask`` and ``agenthpo tell``: trials run outside AgentHPO.

Registered in :mod:`agenthpo.cli`; the work is :func:`agenthpo.studies.ask_trial` and
:func:`agenthpo.studies.tell_trial`.

Example:
    .. code-block:: console

        $ agenthpo ask task.yaml
        $ agenthpo tell task.yaml --trial 0 --metrics '{"val_acc": 0.97}'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import optuna
import typer
from rich.text import Text

from agenthpo import _keys
from agenthpo._text import one_line
from agenthpo.cli._common import LLMOption, SeedOption, StorageOption, console, fmt_value, guard
from agenthpo.studies import ask_trial, tell_trial

__all__ = ["ask_command", "tell_command"]


def ask_command(
    task_file: Annotated[Path, typer.Argument(help="The task YAML file.")],
    storage: StorageOption = None,
    llm: LLMOption = None,
    seed: SeedOption = None,
) -> None:
    """Start a trial to run outside AgentHPO; print it as JSON (for loops driven elsewhere).

    The JSON holds the trial number, the configuration, who proposed it and why, and the
    command line the task would run. Report the result with `agenthpo tell`.
    """

    def go() -> dict[str, Any]:
        return ask_trial(task_file, storage=storage, seed=seed, llm=llm)

    sys.stdout.write(json.dumps(guard(go), indent=2) + "\n")


def tell_command(
    task_file: Annotated[Path, typer.Argument(help="The task YAML file.")],
    trial: Annotated[int, typer.Option("--trial", help="The trial number `ask` printed.")],
    value: Annotated[float | None, typer.Option("--value", help="The objective's value.")] = None,
    metrics: Annotated[
        str | None,
        typer.Option("--metrics", help="Final metrics as JSON, e.g. '{\"val_acc\": 0.97}'."),
    ] = None,
    failed: Annotated[str | None, typer.Option("--failed", help="The run failed; say why.")] = None,
    pruned: Annotated[
        str | None,
        typer.Option(
            "--pruned",
            help="You stopped the run early as not promising; say why. --metrics are then"
            " the last seen.",
        ),
    ] = None,
    intermediate: Annotated[
        float | None,
        typer.Option("--intermediate", help="With --pruned: the objective's last reported value."),
    ] = None,
    step: Annotated[
        int | None,
        typer.Option(
            "--step", help="With --pruned: the step of that value (default: the next step)."
        ),
    ] = None,
    storage: StorageOption = None,
) -> None:
    """Store the result of a trial started with `agenthpo ask`.

    Give --value or --metrics for a finished run, --failed REASON for a run that failed, or
    --pruned REASON (with --intermediate VALUE and --step N, the last value it reported) for
    a run you stopped early.
    """

    def go() -> None:
        frozen = tell_trial(
            task_file,
            trial,
            storage=storage,
            value=value,
            metrics=metrics,
            failed=failed,
            pruned=pruned,
            intermediate=intermediate,
            step=step,
        )
        state = frozen.state.name.lower()
        shown = " / ".join(fmt_value(v) for v in frozen.values) if frozen.values else "-"
        if frozen.state == optuna.trial.TrialState.PRUNED and frozen.intermediate_values:
            last = max(frozen.intermediate_values)
            shown = f"at step {last} ({fmt_value(frozen.intermediate_values[last])})"
        why = frozen.user_attrs.get(_keys.ERROR) if state == "fail" else None
        console.print(
            Text(f"trial {trial}: {state} {shown}" + (f" ({one_line(str(why))})" if why else "")),
            soft_wrap=True,
        )

    guard(go)
