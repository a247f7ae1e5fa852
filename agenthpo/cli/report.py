"""``agenthpo report``: write a study's report (HTML and Markdown) from its storage.

Registered in :mod:`agenthpo.cli`; where the report goes is
:mod:`agenthpo.report_files`, what it holds :mod:`agenthpo.reporting`.

Example:
    .. code-block:: console

        $ agenthpo report examples/digits_mlp/task.yaml
        Report of digits-mlp in sqlite:///.../task.agenthpo.db (12 trials):
        examples/digits_mlp/task-report/report.html
        $ agenthpo report --storage sqlite:///studies.db --study quad -o out --no-llm
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from agenthpo._text import one_line
from agenthpo.cli._common import StorageOption, StudyOption, console, guard
from agenthpo.errors import AgentHPOError
from agenthpo.report_files import read_references, report_dir_for, summary_llm
from agenthpo.reporting import EVALUATORS, ReportPaths, build_report
from agenthpo.storage import shown_url
from agenthpo.studies import open_study, storage_url

__all__ = ["report_command"]


def report_command(
    task_file: Annotated[Path | None, typer.Argument(help="The task YAML file.")] = None,
    storage: StorageOption = None,
    study: StudyOption = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Directory for report.html and report.md (default: <task stem>-report beside"
            " the task file for its own study and storage, <task stem>-report-<study>-<storage>"
            " for another, ./<study>-<storage>-report without a task file).",
        ),
    ] = None,
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm",
            help="LLM that writes the summary's prose (its numbers are always filled in from"
            " storage). Default: the task's llm, else the one `agenthpo run` would pick.",
        ),
    ] = None,
    no_llm: Annotated[
        bool,
        typer.Option(
            "--no-llm",
            metavar="",  # a flag: no "<bool>" in --help (see agenthpo.cli._common.FLAG)
            help="Write a data-only summary, with no LLM call.",
        ),
    ] = False,
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            help="JSON file of reference best-so-far curves for the history plot, e.g."
            ' {"random search": [0.81, 0.85, ...]}.',
        ),
    ] = None,
    importance: Annotated[
        str,
        typer.Option("--importance", help=f"Importance evaluator: {', '.join(EVALUATORS)}."),
    ] = "fanova",
) -> None:
    """Write a study's report: a self-contained HTML page with plots, and Markdown."""

    def go() -> tuple[ReportPaths, str]:
        if importance not in EVALUATORS:
            raise AgentHPOError(
                f"--importance {importance!r}: choose one of {', '.join(EVALUATORS)}"
            )
        references = read_references(reference)
        s = open_study(task_file, storage=storage, study=study)
        client, note = summary_llm(task_file, llm, no_llm)
        if note:
            console.print(Text(note))
        target = out_dir or report_dir_for(task_file, s.study_name, storage)
        built = build_report(
            s, out_dir=target, llm=client, references=references, evaluator=importance
        )
        return built, shown_url(storage_url(task_file, storage))

    paths, url = guard(go)
    report = paths.report
    summary = report.summary
    console.print(
        Text("Report of ")
        + Text(one_line(report.data.study_name), style="bold")
        + Text(f" in {url} ({len(report.data.trials)} trials): {paths.html}"),
        soft_wrap=True,
    )
    console.print(Text(f"Markdown: {paths.markdown}"), soft_wrap=True)
    if summary.source == "llm":
        checks = (
            f"{len(summary.problems)} problems caught in the LLM's summary"
            if summary.problems
            else "the LLM's summary passed every check"
        )
        flagged = len(summary.flagged)
        console.print(
            Text(
                f"Summary by {summary.author}: {checks}; {flagged}"
                f" disagreement{'s' if flagged != 1 else ''} with the measured importance."
            ),
            soft_wrap=True,
        )
    else:
        console.print(Text(f"Summary: {summary.note}."), soft_wrap=True)  # may quote an error
