"""``agenthpo run`` and ``agenthpo worker``: tune a task, alone or as one of several workers.

Registered in :mod:`agenthpo.cli`. A run prints a live table on a terminal (one plain line
per trial elsewhere), then its summary, and writes the study's report.

Example:
    .. code-block:: console

        $ agenthpo run examples/digits_mlp/task.yaml --n-trials 20
        $ agenthpo worker task.yaml --storage journal:studies.log
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agenthpo import _keys
from agenthpo._text import clip, one_line
from agenthpo.cli._common import (
    FLAG,
    LLMOption,
    SeedOption,
    StorageOption,
    config_text,
    console,
    fmt_value,
    guard,
    literal,
    on_folds,
    print_error,
    selection_lines,
    setup_logging,
    stop_on_signals,
)
from agenthpo.errors import LLMUnavailableWarning
from agenthpo.report_files import write_run_report
from agenthpo.reporting._data import parse_selection
from agenthpo.reporting._format import plural
from agenthpo.sampler import AgentSampler
from agenthpo.storage import IN_MEMORY, shown_url
from agenthpo.studies import run_llm, worker_storage
from agenthpo.task import MAX_TRIALS, STRATEGY_NAMES, load_task, task_with
from agenthpo.tuner import RunSummary, TrialEvent, Tuner

__all__ = ["run_command", "worker_command"]


_CONFIG_CHARS = 70
"""Most characters of a config in the live table and its status line (whole pairs only)."""
_RATIONALE_CHARS = 160
"""Most characters of a rationale in a run's table and log line (whole words only)."""


@dataclass(frozen=True)
class _Row:
    """One finished trial of a run, as the live table and the plain log line show it."""

    number: int
    config: str
    value: str
    best: str
    by: str
    rationale: str
    error: str | None

    def cells(self) -> tuple[Text, ...]:
        """The table's cells; trial text is never read as rich markup."""
        failed = self.error is not None
        notes = Text(one_line(self.rationale, _RATIONALE_CHARS))
        if self.error:
            notes.append(f" ({one_line(self.error)})", style="red")
        return (
            Text(str(self.number)),
            Text(one_line(self.config, _CONFIG_CHARS)),
            Text(self.value, style="red" if failed else ""),
            Text(self.best),
            Text(self.by),
            notes,
        )

    def line(self) -> Text:
        """One line for a log that is not a terminal; the config and error are never cut."""
        rationale = one_line(self.rationale, _RATIONALE_CHARS)
        error = f"({one_line(self.error)})" if self.error else ""
        notes = " ".join(x for x in (rationale, error) if x)
        return Text(
            f"trial {self.number}: {self.value} (best {self.best}) by {one_line(self.by)}:"
            f" {one_line(self.config)} | {notes}"
        )


def revision_text(number: int, revision: dict[str, Any]) -> str:
    """The line a run prints when the LLM revised the search space at trial ``number``.

    Example:
        >>> revision_text(20, {"round": 1, "accepted": 1, "rejected": 0,
        ...                    "summary": "lr 1e-05..0.1 -> 0.0001..0.1 (narrow)"})
        'space revision 1 at trial 20: 1 change accepted, 0 rejected: lr 1e-05..0.1 -> 0.0001..0.1 (narrow)'
    """  # noqa: E501
    head = f"space revision {revision.get('round', '?')} at trial {number}"
    if "failed" in revision:
        return f"{head}: none made ({revision['failed']})"
    accepted = revision.get("accepted", 0)
    changes = f"{accepted} change{'s' if accepted != 1 else ''} accepted"
    return (
        f"{head}: {changes}, {revision.get('rejected', 0)} rejected: {revision.get('summary', '')}"
    )


class _LiveTable:
    """The live table of a run: trial, config, value, best so far, who proposed and why."""

    def __init__(self, metric: str, max_rows: int = 25) -> None:
        self.metric = metric
        self.max_rows = max_rows
        self.rows: list[_Row] = []
        self.running: str | None = None
        self.live: Live | None = None

    def table(self) -> Group:
        table = Table(show_lines=False, expand=False)
        table.add_column("trial", justify="right")
        table.add_column("config", overflow="fold", max_width=60)
        table.add_column(literal(self.metric), justify="right")
        table.add_column("best", justify="right")
        table.add_column("by")
        table.add_column("rationale", overflow="fold", max_width=50)
        for row in self.rows[-self.max_rows :]:
            table.add_row(*row.cells())
        parts: list[Any] = [table]
        if self.running:
            parts.append(literal(self.running, style="dim"))
        return Group(*parts)

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.update(self.table())

    def start(self, event: TrialEvent) -> None:
        revision = event.attrs.get(_keys.SPACE_REVISION)
        if isinstance(revision, dict):
            console.print(literal(revision_text(event.number, revision), style="cyan"))
        by = str(event.attrs.get(_keys.PROPOSED_BY, "?"))
        config = clip(config_text(event.config), _CONFIG_CHARS)
        self.running = f"trial {event.number} running ({by}): {config}"
        self._refresh()

    def end(self, event: TrialEvent) -> None:
        if event.error is not None:
            value = event.state
        elif event.values:
            value = " / ".join(fmt_value(v) for v in event.values)
        else:
            value = fmt_value(event.value)
        row = _Row(
            number=event.number,
            config=config_text(event.config),
            value=value,
            best=fmt_value(event.best_value)
            if event.front_size is None
            else f"front of {event.front_size}",
            by=str(event.attrs.get(_keys.PROPOSED_BY, "?")),
            rationale=str(event.attrs.get(_keys.RATIONALE, "")),
            error=event.error,
        )
        self.rows.append(row)
        self.running = None
        if self.live is None:
            console.print(row.line(), soft_wrap=True)
        self._refresh()


def _print_front(summary: RunSummary) -> None:
    table = Table(
        title=f"Pareto front: {len(summary.pareto_front)} trials no other trial beats on every"
        " objective"
    )
    table.add_column("trial", justify="right")
    for name in summary.metrics:
        table.add_column(literal(name), justify="right")
    table.add_column("config", overflow="fold")
    for entry in summary.pareto_front:
        table.add_row(
            str(entry["number"]),
            *(fmt_value(v) for v in entry["values"]),
            Text(config_text(entry["config"])),  # literal: a choice may hold "[...]"
        )
    console.print(table)


def _llm_line(summary: RunSummary) -> str:
    """What the LLM did in a run: its turns, what became of them, and what it cost."""
    reasons = ", ".join(
        f"{k} {v}" for k, v in sorted(summary.fallback_reasons.items()) if k != "budget"
    )
    fell_back = summary.llm_turns - summary.llm_used
    turns = f"LLM turns: {summary.llm_turns}, its proposal ran on {summary.llm_used}" + (
        f", the backbone's on {fell_back} ({reasons})" if fell_back else ""
    )
    spent = summary.fallback_reasons.get("budget", 0)
    if spent:
        turns += f"; {spent} more after its token/cost budget was spent"
    cost = (
        f"{summary.llm_calls} calls, {summary.llm_prompt_tokens} prompt +"
        f" {summary.llm_completion_tokens} completion tokens, {summary.llm_seconds:.1f} s"
        + (f", ${summary.llm_cost_usd:.4f}" if summary.llm_cost_usd else "")
    )
    return f"{turns}. {cost}."


def _print_summary(
    summary: RunSummary,
    task_arg: str,
    storage: str | None = None,
    raise_budget: str = "raise --n-trials",
) -> None:
    """The run's closing lines; every hint names the storage it refers to (``storage`` is
    the ``--storage`` given, which the hints' commands then carry) and says how to raise
    the budget with the command that ran (``raise_budget``: a worker has no --n-trials)."""
    shown = shown_url(storage) if storage else ""
    # a masked password ("***") makes a hint that does not paste; the note says so
    masked = " (its password masked: type it in)" if storage and shown != storage else ""
    again = f" --storage {shown}{masked}" if storage else ""
    console.print(
        Text("\n")
        + literal(summary.study_name, style="bold")
        + Text(
            f": {plural(summary.n_run, 'trial')} run now"
            f" ({summary.n_complete} complete, {summary.n_failed} failed"
            + (f", {summary.n_pruned} pruned" if summary.n_pruned else "")
            + (f", {summary.n_interrupted} interrupted" if summary.n_interrupted else "")
            + f"), {summary.n_total} in the study."
        )
    )
    if summary.stopped_by_time_limit:
        console.print(
            "Stopped at the time limit; run the same command again to continue the study."
        )
    elif summary.awaiting_tell:
        numbers = ", ".join(f"#{n}" for n in summary.awaiting_tell)
        first = summary.awaiting_tell[0]
        console.print(
            Text(
                f"Stopped: the rest of the budget is held by trial(s) {numbers}, asked for"
                f" with agenthpo ask and not told yet. Tell them (agenthpo tell {task_arg}"
                f"{again} --trial {first} --metrics ... or --failed REASON) or"
                f" {raise_budget}, then run again.",
                style="yellow",
            ),
            soft_wrap=True,
        )
    elif summary.n_run == 0:
        console.print(
            Text(
                f"The study already holds its budget: {plural(summary.n_total, 'trial')}"
                + (
                    f" and {plural(summary.n_reevaluations, 're-evaluation run')} (runs of"
                    " chosen configurations on further seeds count against the budget too)"
                    if summary.n_reevaluations
                    else ""
                )
                + f"; {raise_budget} to continue it, or give another --storage to start afresh."
            ),
            soft_wrap=True,
        )
    if summary.llm_turns or summary.llm_calls or summary.fallbacks:
        console.print(_llm_line(summary), soft_wrap=True, markup=False)
    elif summary.asks_llm and summary.n_run and not summary.llm_failure:
        console.print(
            Text(
                f"LLM turns: 0; the schedule gave the {plural(summary.n_run, 'trial')} run now"
                " to the backbone (the first lines say when the LLM's turns begin)."
            ),
            soft_wrap=True,
        )
    if summary.llm_failure:
        said = (
            f"The LLM did not run: {summary.llm_failure}"
            if not summary.llm_calls
            else f"The LLM answered {plural(summary.llm_calls, 'call')} but failed on others"
            f" (the first: {summary.llm_failure}); the backbone proposed those trials."
        )
        console.print(said, style="yellow", markup=False, soft_wrap=True)
    if summary.pareto_front:
        _print_front(summary)
    elif summary.best_config is not None:
        others = ", ".join(
            f"{k} {fmt_value(v)}"
            for k, v in summary.best_metrics.items()
            if k != summary.metric and isinstance(v, (int, float))
        )
        selection = parse_selection(summary.selection)
        for line in selection_lines(selection, summary.metric, summary.reevaluation_note):
            console.print(Text(line), soft_wrap=True)
        if summary.n_reevaluations or summary.selection is not None:
            console.print(
                Text(
                    f"Budget: {summary.n_total} trials + {summary.n_reevaluations} re-evaluation"
                    " runs (configurations re-run on "
                    + ("held-out folds" if on_folds(selection) else "further seeds")
                    + "; not trials: the sampler never sees them)."
                ),
                soft_wrap=True,
            )
        console.print(
            Text(
                ("Recommended" if selection is not None else "Best")
                + f": trial {summary.best_trial}, {summary.metric}"
                f" {fmt_value(summary.best_value)}" + (f" ({others})" if others else "")
            ),
            soft_wrap=True,
        )
        console.print_json(json.dumps(summary.best_config))
    else:
        console.print(Text("No trial completed yet.", style="yellow"))
    if summary.space_note:
        console.print(Text(summary.space_note, style="yellow"), soft_wrap=True)
    if summary.storage == IN_MEMORY:
        console.print(
            Text(
                "Nothing is kept: the study lived in memory (sqlite:///:memory:) and ended"
                " with the run.",
                style="yellow",
            ),
            soft_wrap=True,
        )
        return
    console.print(
        Text(f"Stored in {summary.storage}; see every trial with: agenthpo show {task_arg}{again}"),
        soft_wrap=True,
    )


def _run(
    task_file: Path,
    *,
    raise_budget: str,
    llm: str | None = None,
    n_trials: int | None = None,
    storage: str | None = None,
    seed: int | None = None,
    strategy: str | None = None,
    max_llm_tokens: int | None = None,
    max_llm_cost: float | None = None,
    time_limit: float | None = None,
    replay: str | None = None,
    report: bool = True,
    require_llm: bool = False,
    verbose: bool = False,
) -> None:
    """What ``run`` and ``worker`` do (see :func:`run_command`); ``raise_budget`` is how the
    closing hints tell this command's user to raise the budget, since a worker has no
    ``--n-trials`` (its budget is the task's, which every worker reads)."""
    setup_logging(verbose)
    asked_for_llm = False

    def go() -> RunSummary:
        nonlocal asked_for_llm
        task = load_task(task_file)
        # Named by the user (not the default pick): its failure sets the exit status.
        asked_for_llm = (
            llm is not None
            or replay is not None
            or bool(task.llm is not None and task.llm.spec)
            or bool(os.environ.get("AGENTHPO_LLM", "").strip())
        )
        overrides: dict[str, Any] = {}
        if strategy is not None:
            overrides["strategy"] = strategy
        if max_llm_tokens is not None:
            overrides["max_llm_tokens"] = max_llm_tokens
        if max_llm_cost is not None:
            overrides["max_llm_cost"] = max_llm_cost
        if time_limit is not None:
            overrides["time_limit"] = time_limit
        if require_llm:
            overrides["require_llm"] = True
        if overrides:
            task = task_with(task, **overrides)
        live_table = _LiveTable(" / ".join(task.metric_names))
        client, note = run_llm(task, llm=llm, replay=replay, storage=storage)
        tuner = Tuner(
            task,
            storage=storage,
            seed=seed,
            n_trials=n_trials,
            llm=client,
            on_trial_start=[live_table.start],
            on_trial_end=[live_table.end],
        )
        if note:
            tuner.llm_note = note
        if tuner.storage_url == IN_MEMORY:
            console.print(
                Text(
                    "The study lives in memory (sqlite:///:memory:): every trial is lost when"
                    " the run ends; give a file (--storage sqlite:///study.db) to keep them.",
                    style="yellow",
                ),
                soft_wrap=not console.is_terminal,
            )
        sampler = tuner.sampler()
        # Into a pipe or a log, each first line stays one line (grep finds it whole); on a
        # terminal Rich wraps it at the width.
        flat = not console.is_terminal
        if tuner.llm_note:
            console.print(Text(tuner.llm_note), soft_wrap=flat)
        if isinstance(sampler, AgentSampler):
            # the study's own schedule: a resumed study keeps the one it started with
            study = tuner.load_study()
            console.print(Text(f"{tuner.strategy}: {sampler.schedule(study)}."), soft_wrap=flat)
            console.print(Text(f"Policy: {sampler.describe_policy(study)}."), soft_wrap=flat)
            failure = tuner.check_llm()
            if tuner.llm_check_s is not None:
                console.print(
                    f"LLM ready ({tuner.llm_check_s:.1f} s to load or reach).", markup=False
                )
            if failure:
                console.print(
                    f"{failure}\nThe backbone proposes the LLM's trials instead;"
                    " --require-llm (or require_llm: true) makes this an error.",
                    style="yellow",
                    markup=False,
                    soft_wrap=flat,
                )
        if console.is_terminal:
            with Live(live_table.table(), console=console, refresh_per_second=4) as live:
                live_table.live = live
                summary = tuner.run()
        else:
            summary = tuner.run()
        return summary

    with warnings.catch_warnings():
        # the run's first and last lines say it; no Python warning text in between
        warnings.simplefilter("ignore", LLMUnavailableWarning)
        summary = guard(go)
    _print_summary(summary, str(task_file), storage, raise_budget)
    in_memory = summary.storage == IN_MEMORY  # nothing left to report from
    paths = write_run_report(task_file, storage=storage) if report and not in_memory else None
    if paths is not None:
        console.print(
            Text(f"Report of {summary.study_name} in {summary.storage}: {paths.html}"),
            soft_wrap=True,
        )
    failure = summary.failure()
    if failure is not None:
        print_error(failure)
        raise typer.Exit(1)
    if asked_for_llm and summary.llm_failure and summary.llm_turns and not summary.llm_calls:
        # The run's trials are stored and fine, but not what was asked for: a script that
        # checks the status must be able to tell the backbone alone from the LLM's search.
        print_error(
            f"the LLM asked for did not run ({summary.llm_failure}); the backbone proposed"
            " its trials"
        )
        raise typer.Exit(3)


def run_command(
    task_file: Annotated[Path, typer.Argument(help="The task YAML file.")],
    llm: LLMOption = None,
    n_trials: Annotated[
        int | None,
        typer.Option(
            "--n-trials",
            min=1,
            max=MAX_TRIALS,
            help="Total trials in the study (default: the task's).",
        ),
    ] = None,
    storage: StorageOption = None,
    seed: SeedOption = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy",
            help=f"Who proposes trials: {', '.join(STRATEGY_NAMES)}"
            " (default: the task's, else hybrid-tpe).",
        ),
    ] = None,
    max_llm_tokens: Annotated[
        int | None,
        typer.Option("--max-llm-tokens", min=0, help="Stop asking the LLM after this many tokens."),
    ] = None,
    max_llm_cost: Annotated[
        float | None,
        typer.Option("--max-llm-cost", min=0, help="Stop asking the LLM after this many dollars."),
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(
            "--time-limit",
            min=0.001,
            help="Seconds for this run; the trial running then is stopped and re-run next time.",
        ),
    ] = None,
    replay: Annotated[
        str | None,
        typer.Option(
            "--replay",
            help="Replay the LLM answers recorded by an earlier study (a storage URL, or"
            " URL#STUDY) instead of calling an LLM; with the same seed the proposals are"
            " identical. Write the new run to another --storage.",
        ),
    ] = None,
    report: Annotated[
        bool,
        typer.Option(
            "--report/--no-report", metavar=FLAG, help="Write the study report at the end."
        ),
    ] = True,
    require_llm: Annotated[
        bool,
        typer.Option(
            "--require-llm",
            metavar=FLAG,
            help="Stop with an error (exit 2) if the LLM cannot run, instead of letting the"
            " backbone propose its trials (the task file's require_llm: true).",
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", metavar=FLAG, help="Log each proposal.")
    ] = False,
) -> None:
    """Tune a task: propose, run, analyse and store trials until the budget is spent.

    Exit status: 0 when the run ended normally (the budget is spent, the time limit was
    reached, or the study already held its budget); 1 when trials ran and none completed
    (every one failed: the script is missing, crashes or never reports the metric), with
    one line on stderr saying why; 2 for a mistake in the task file or the options; 3
    when the LLM named with --llm, the task's llm: or AGENTHPO_LLM never answered (the
    backbone proposed its trials; the study is fine, one line on stderr says why); 130
    when interrupted (Ctrl-C), 143 when stopped by SIGTERM and 129 by SIGHUP: the trial
    running then is stored as interrupted and runs again first next time. Every finished
    trial is stored whatever the status.
    """
    with stop_on_signals():
        _run(
            task_file,
            raise_budget="raise --n-trials",
            llm=llm,
            n_trials=n_trials,
            storage=storage,
            seed=seed,
            strategy=strategy,
            max_llm_tokens=max_llm_tokens,
            max_llm_cost=max_llm_cost,
            time_limit=time_limit,
            replay=replay,
            report=report,
            require_llm=require_llm,
            verbose=verbose,
        )


def worker_command(
    task_file: Annotated[Path, typer.Argument(help="The task YAML file.")],
    storage: StorageOption = None,
    llm: LLMOption = None,
    seed: SeedOption = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=0.001, help="Seconds for this worker.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", metavar=FLAG, help="Log each proposal.")
    ] = False,
) -> None:
    """Join a study as one of several workers (processes or machines) sharing its storage.

    Start as many as you like, on one machine with --storage journal:PATH or on several
    with --storage postgresql://...; together they run exactly the task's budget (its
    n_trials: raise it in the task file to continue a study whose budget is spent).

    Exit status as for run: 1 when this worker ran trials and none completed; 3 when the
    LLM named never answered; 130, 143 or 129 when stopped by Ctrl-C, SIGTERM or SIGHUP.
    """
    with stop_on_signals():
        guard(lambda: worker_storage(task_file, storage))
        _run(
            task_file,
            raise_budget=f"raise n_trials in {task_file}",
            llm=llm,
            storage=storage,
            seed=seed,
            time_limit=time_limit,
            report=False,
            verbose=verbose,
        )
