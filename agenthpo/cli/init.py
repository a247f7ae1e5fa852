"""``agenthpo init``: draft a task file from a training script, for review.

Registered in :mod:`agenthpo.cli`; the drafting is :func:`agenthpo.scaffold.draft_task`.

Example:
    .. code-block:: console

        $ agenthpo init examples/digits_mlp/train.py --out /tmp/digits.yaml
        $ agenthpo init train.py:fit --metric val_loss --direction minimize --no-llm
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table
from rich.text import Text

from agenthpo.cli._common import FLAG, LLMOption, console, guard
from agenthpo.errors import AgentHPOError
from agenthpo.llm import LLMClient, resolve_llm
from agenthpo.scaffold import (
    Draft,
    ParamDraft,
    draft_task,
    llm_unavailable,
    range_text,
    write_draft,
)
from agenthpo.scaffold._ranges import clean_text
from agenthpo.scaffold._read import check_script, split_target

__all__ = ["init_command", "review_table"]

_SOURCE_STYLE = {"script": "green", "llm": "yellow", "heuristic": "magenta"}


def _default_text(param: ParamDraft) -> str:
    if not param.option.has_default:
        return "—"
    value = param.option.default
    return "true" if value is True else "false" if value is False else str(value)


def review_table(draft: Draft) -> Table:
    """The review: each parameter's type, default, range, where the range came from, why.

    Every text is a :class:`rich.text.Text`, so brackets in a script's help or an LLM's
    reason are shown as written, never read as markup.
    """
    table = Table(title=Text(clean_text(f"Draft for {draft.info.path.name} ({draft.info.style})")))
    table.add_column("parameter", no_wrap=True)
    table.add_column("type")
    table.add_column("default", justify="right")
    table.add_column("range", overflow="fold")
    table.add_column("range from")
    table.add_column("reason", overflow="fold", max_width=60)
    source = {"llm": f"LLM ({draft.llm})", "heuristic": "heuristic", "script": "script"}
    for p in draft.params:
        kind = p.option.kind + (f" ({p.option.type_guess})" if p.option.type_guess else "")
        reason = p.reason + "".join(f"; {fix}" for fix in p.fixes)
        table.add_row(
            Text(p.option.name),
            Text(kind),
            Text(_default_text(p)),
            Text(range_text(p)),
            Text(source[p.source], style=_SOURCE_STYLE[p.source]),
            Text(clean_text(reason, 300)),
        )
    return table


def init_command(
    target: Annotated[
        str,
        typer.Argument(
            help="The training script (SCRIPT.py: its argparse, click or typer options), or"
            " SCRIPT.py:FUNCTION to read a function's parameters. It is read, never run."
        ),
    ],
    llm: LLMOption = None,
    no_llm: Annotated[
        bool, typer.Option("--no-llm", metavar=FLAG, help="Guess the ranges with heuristics only.")
    ] = False,
    metric: Annotated[
        str | None,
        typer.Option("--metric", help="The metric to optimize (default: found in the script)."),
    ] = None,
    direction: Annotated[
        str | None,
        typer.Option("--direction", help="maximize or minimize (default: from the metric's name)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The task file to write (default: task.yaml beside the script)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", metavar=FLAG, help="Replace the task file if it exists.")
    ] = False,
    n_trials: Annotated[
        int, typer.Option("--n-trials", min=1, help="The study's budget in the draft.")
    ] = 20,
) -> None:
    """Draft a task file from a training script: hyperparameters, ranges, objective.

    The LLM proposes each range with a one-line reason; the file marks every guess. Review
    it, then run `agenthpo run task.yaml`. Nothing runs now.
    """

    def go() -> tuple[Draft, Path]:
        if direction is not None and direction not in ("maximize", "minimize"):
            raise AgentHPOError(f"--direction {direction!r}: give maximize or minimize")
        if no_llm and llm is not None:
            raise AgentHPOError("give --llm or --no-llm, not both")
        script, _ = split_target(target)
        check_script(script)  # a typo in the script's name first: --force would not fix it
        path = out if out is not None else script.parent / "task.yaml"
        if path.exists() and not force and not path.is_dir():
            raise AgentHPOError(
                f"{path}: already exists; give --force to replace it, or --out another file"
            )
        client: LLMClient | None = None
        if not no_llm:
            client, note = resolve_llm(llm)
            console.print(Text(note), soft_wrap=True)
        chosen: Literal["maximize", "minimize"] | None = (
            "maximize" if direction == "maximize" else "minimize" if direction else None
        )
        draft = draft_task(
            target, llm=client, metric=metric, direction=chosen, out=path, n_trials=n_trials
        )
        return draft, write_draft(draft, force=force)

    draft, path = guard(go)
    console.print(review_table(draft))
    if draft.skipped:
        console.print(Text("Left out (not hyperparameters, or not tunable as written):"))
        for s in draft.skipped:
            console.print(
                Text(f"  {s.flag or s.name}: {clean_text(s.reason, 200)}"), soft_wrap=True
            )
    for warning in draft.warnings:
        console.print(Text(f"Fill in: {warning}", style="bold red"), soft_wrap=True)
    objective = draft.objective
    style = "green" if objective.found else "bold red"
    console.print(
        Text("Objective: ")
        + Text(f"{objective.direction} {objective.metric}", style=style)
        + Text(f" ({clean_text(objective.how, 200)})"),
        soft_wrap=True,
    )
    asked = [p for p in draft.params if p.source != "script"]
    if draft.llm_problem and not no_llm:
        console.print(Text(llm_unavailable(draft.llm_problem), style="yellow"), soft_wrap=True)
    elif draft.llm and asked and not any(p.source == "llm" for p in asked):
        console.print(
            Text(
                f"LLM: none of the {len(asked)} ranges {draft.llm} proposed passed the checks;"
                " they come from heuristics. A stronger model (--llm openai:gpt-4o-mini,"
                " --llm anthropic:claude-haiku-4-5, --llm ollama:MODEL) proposes better ones.",
                style="yellow",
            ),
            soft_wrap=True,
        )
    console.print(Text(f"Wrote the draft to {path}. Nothing has run."), soft_wrap=True)
    console.print(
        Text("Next: review it (every guess is commented), then: ")
        + Text(f"agenthpo run {path}", style="bold"),
        soft_wrap=True,
    )
