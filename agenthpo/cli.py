"""The command line: ``agenthpo run | show | best``.

Thin: it parses, builds objects, calls the API and prints with rich. A user's mistake (a
broken task file, a bad ``--llm`` spec, an unreachable endpoint) prints one message per
problem, without a traceback, and exits with status 2. A run whose trials all failed exits
with status 1 and one line saying why, so that a script can tell it from a run that worked.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import optuna
import typer
from rich.console import Console, Group
from rich.live import Live
from rich.logging import RichHandler
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from agenthpo import __version__, _keys
from agenthpo._text import clip, one_line
from agenthpo.errors import AgentHPOError, LLMUnavailableWarning
from agenthpo.llm import LLMClient, resolve_llm
from agenthpo.report._data import Selection, parse_selection, read_selection
from agenthpo.report._data import _metric_names as report_metric_names
from agenthpo.sampler import AgentSampler
from agenthpo.storage import is_single_process, open_storage
from agenthpo.task import load_task, task_with
from agenthpo.tuner import RunSummary, TrialEvent, Tuner, build_executor, replay_llm


def _as_flag(option: Any) -> Any:
    """``--help`` listed as a flag (typer's help otherwise shows ``--help <bool>``)."""
    if option is not None:
        option.metavar = ""
    return option


class _Group(TyperGroup):
    def get_help_option(self, ctx: Any) -> Any:
        return _as_flag(super().get_help_option(ctx))


class _Command(TyperCommand):
    def get_help_option(self, ctx: Any) -> Any:
        return _as_flag(super().get_help_option(ctx))


app = typer.Typer(
    name="agenthpo",
    cls=_Group,
    help="An LLM agent that tunes hyperparameters the way an expert would.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# markup=False: text from a task, an LLM or a training script ("[/]" in an error, a tag in
# a rationale) is printed as written, never read as Rich markup; styles are given as Text.
console = Console(markup=False)
err_console = Console(stderr=True, markup=False)

T = TypeVar("T")

LLMOption = Annotated[
    str | None,
    typer.Option(
        "--llm",
        help="LLM spec: local, local:PATH, openai:MODEL, anthropic:MODEL, ollama:MODEL,"
        " openai-compatible:URL#MODEL, openrouter:MODEL, deepseek:MODEL, random[:SEED]."
        " Default: the task's llm, else OPENAI_API_KEY, else ANTHROPIC_API_KEY, else a local"
        " Ollama, else the embedded model.",
    ),
]
StorageOption = Annotated[
    str | None,
    typer.Option("--storage", help="Optuna storage URL (default: a SQLite file beside the task)."),
]
StudyOption = Annotated[
    str | None, typer.Option("--study", help="Study name (default: the task's name).")
]

FLAG = ""
"""The ``metavar`` of an on/off option. Without it typer's help lists a flag as ``--verbose
<bool>``, as if it took a value; an empty metavar lists it as ``--verbose``."""


def _print_error(line: str) -> None:
    """Prints ``error: <line>`` on stderr, literally and on one line whatever the width."""
    err_console.print(Text("error: ", style="bold red") + Text(line), soft_wrap=True)


def _guard(fn: Callable[[], T]) -> T:
    """Runs ``fn``; a user's error prints without a traceback and exits 2."""
    try:
        return fn()
    except AgentHPOError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            _print_error(line)  # one problem per line
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err_console.print("interrupted; every finished trial is stored")
        raise typer.Exit(130) from None


def _setup_logging(verbose: bool) -> None:
    logger = logging.getLogger("agenthpo")
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        handler = RichHandler(console=err_console, show_path=False, show_time=False)
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


_CONFIG_CHARS = 70
"""Most characters of a config in the live table and its status line (whole pairs only)."""
_RATIONALE_CHARS = 160
"""Most characters of a rationale in a run's table and log line (whole words only)."""


def literal(text: object, style: str = "", limit: int | None = None) -> Text:
    """Outside text as one printable line, shown as written (never parsed as markup)."""
    return Text(one_line(text, limit), style=style)


def _config_text(config: Any) -> str:
    """Every ``name=value`` pair of a config, floats to four significant digits."""
    parts = []
    for key, value in dict(config).items():
        text = format(value, ".4g") if isinstance(value, float) else str(value)
        parts.append(f"{key}={text}")
    return " ".join(parts)


def _fmt_value(value: float | None) -> str:
    return "—" if value is None else format(value, ".5g")


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
        by = str(event.attrs.get(_keys.PROPOSED_BY, "?"))
        config = clip(_config_text(event.config), _CONFIG_CHARS)
        self.running = f"trial {event.number} running ({by}): {config}"
        self._refresh()

    def end(self, event: TrialEvent) -> None:
        if event.error is not None:
            value = event.state
        elif event.values:
            value = " / ".join(_fmt_value(v) for v in event.values)
        else:
            value = _fmt_value(event.value)
        row = _Row(
            number=event.number,
            config=_config_text(event.config),
            value=value,
            best=_fmt_value(event.best_value)
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
            *(_fmt_value(v) for v in entry["values"]),
            Text(_config_text(entry["config"])),  # literal: a choice may hold "[...]"
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


def _on_folds(selection: Selection | None) -> bool:
    """Whether the selection re-evaluated on held-out folds (``noise.fold_param``), not
    seeds: its reason says so (:meth:`agenthpo.Tuner.select`)."""
    return selection is not None and "held-out folds" in selection.reason


def _own_run(selection: Selection | None) -> str:
    """What the recommended trial's own value was measured on, when there is a selection."""
    if selection is None:
        return ""
    return " on the search's validation" if _on_folds(selection) else " on its own run (seed 0)"


def selection_lines(selection: Selection | None, metric: str, note: str | None = None) -> list[str]:
    """The noise-robust selection in a few lines: the verdict, the recommended and default
    configurations' means ± sd over seeds (or held-out folds), why; or why there is none
    (``note``)."""
    if selection is None:
        return [f"Noise-robust selection: none: {note}."] if note else []
    unit = "held-out folds" if _on_folds(selection) else "seeds"

    def stats(number: int) -> str:
        band = selection.candidates.get(number)
        if band is None:
            return "not re-evaluated"
        return f"{metric} {_fmt_value(band.mean)} ± {_fmt_value(band.std)} over {band.n} {unit}"

    lines = [f"Noise-robust selection: {selection.verdict()}."]
    lines += [f"  {role}: trial {number}, {stats(number)}" for role, number, _ in selection.rows()]
    lines.append(f"  why: {selection.reason}.")
    if selection.note:
        lines.append(f"  not as planned: {selection.note}.")
    return lines


def _print_summary(summary: RunSummary, task_arg: str, storage: str | None = None) -> None:
    """The run's closing lines; every hint names the storage it refers to (``storage`` is
    the ``--storage`` given, which the hints' commands then carry)."""
    again = f" --storage {storage}" if storage else ""
    console.print(
        Text("\n")
        + literal(summary.study_name, style="bold")
        + Text(
            f": {summary.n_run} trials run now"
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
    elif summary.n_run == 0:
        console.print(
            f"The study already holds its budget of {summary.n_total} trials; raise"
            " --n-trials to continue it, or give another --storage to start afresh."
        )
    if summary.llm_turns or summary.llm_calls or summary.fallbacks:
        console.print(_llm_line(summary), soft_wrap=True, markup=False)
    if summary.llm_failure:
        console.print(f"The LLM did not run: {summary.llm_failure}", style="yellow", markup=False)
    if summary.pareto_front:
        _print_front(summary)
    elif summary.best_config is not None:
        others = ", ".join(
            f"{k} {_fmt_value(v)}"
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
                    + ("held-out folds" if _on_folds(selection) else "further seeds")
                    + "; not trials: the sampler never sees them)."
                ),
                soft_wrap=True,
            )
        console.print(
            Text(
                ("Recommended" if selection is not None else "Best")
                + f": trial {summary.best_trial}, {summary.metric}"
                f" {_fmt_value(summary.best_value)}" + (f" ({others})" if others else "")
            ),
            soft_wrap=True,
        )
        console.print_json(json.dumps(summary.best_config))
    else:
        console.print(Text("No trial completed yet.", style="yellow"))
    console.print(
        Text(f"Stored in {summary.storage}; see every trial with: agenthpo show {task_arg}{again}"),
        soft_wrap=True,
    )


@app.command()
def run(
    task_file: Annotated[Path, typer.Argument(help="The task YAML file.")],
    llm: LLMOption = None,
    n_trials: Annotated[
        int | None,
        typer.Option("--n-trials", min=1, help="Total trials in the study (default: the task's)."),
    ] = None,
    storage: StorageOption = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy",
            help="Who proposes trials: agent, hybrid-tpe, centaur, tpe, random, cmaes, gp"
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
    one line on stderr saying why; 2 for a mistake in the task file or the options; 130
    when interrupted. Every finished trial is stored whatever the status.
    """
    _setup_logging(verbose)

    def go() -> RunSummary:
        task = load_task(task_file)
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
        client: LLMClient | None = None
        note: str | None = None
        if replay is not None:
            if llm is not None:
                raise AgentHPOError("give either --llm or --replay, not both")
            source_url, _, source_study = replay.partition("#")
            target = storage or task.default_storage()
            source_study = source_study or task.name
            if source_url == target and source_study == task.name:
                raise AgentHPOError(
                    "--replay would write into the study it replays; give another --storage"
                )
            replayed = replay_llm(source_url, source_study)
            note = f"LLM: replaying {replayed.remaining} recorded answers of {replayed.model}"
            client = replayed
        elif llm is not None:
            client, note = resolve_llm(llm, settings=task.llm_settings())
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
        sampler = tuner.sampler()
        if tuner.llm_note:
            console.print(Text(tuner.llm_note))
        if isinstance(sampler, AgentSampler):
            # the study's own schedule: a resumed study keeps the one it started with
            console.print(Text(f"{tuner.strategy}: {sampler.schedule(tuner.load_study())}."))
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
        summary = _guard(go)
    _print_summary(summary, str(task_file), storage)
    paths = write_run_report(task_file, storage=storage) if report else None
    if paths is not None:
        console.print(
            Text(f"Report of {summary.study_name} in {summary.storage}: {paths.html}"),
            soft_wrap=True,
        )
    failure = summary.failure()
    if failure is not None:
        _print_error(failure)
        raise typer.Exit(1)


@app.command()
def worker(
    task_file: Annotated[Path, typer.Argument(help="The task YAML file.")],
    storage: StorageOption = None,
    llm: LLMOption = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=0.001, help="Seconds for this worker.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", metavar=FLAG, help="Log each proposal.")
    ] = False,
) -> None:
    """Join a study as one of several workers (processes or machines) sharing its storage.

    Start as many as you like, on one machine with --storage journal:PATH or on several
    with --storage postgresql://...; together they run exactly the task's budget.

    Exit status as for run: 1 when this worker ran trials and none completed.
    """

    def check() -> None:
        task = load_task(task_file)
        url = storage or task.default_storage()
        if is_single_process(url):
            raise AgentHPOError(
                f"{url} is SQLite, which is not safe under several writers; give"
                " --storage journal:PATH (one machine) or postgresql://... (several machines)"
            )

    _guard(check)
    run(
        task_file,
        llm=llm,
        storage=storage,
        seed=seed,
        time_limit=time_limit,
        report=False,
        verbose=verbose,
    )


@app.command()
def ask(
    task_file: Annotated[Path, typer.Argument(help="The task YAML file.")],
    storage: StorageOption = None,
    llm: LLMOption = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
) -> None:
    """Start a trial to run outside AgentHPO; print it as JSON (for loops driven elsewhere).

    The JSON holds the trial number, the configuration, who proposed it and why, and the
    command line the task would run. Report the result with `agenthpo tell`.
    """

    def go() -> dict[str, Any]:
        task = load_task(task_file)
        client = None if llm is None else resolve_llm(llm, settings=task.llm_settings())[0]
        tuner = Tuner(task, storage=storage, seed=seed, llm=client)
        event = tuner.ask()
        out: dict[str, Any] = {
            "trial": event.number,
            "config": dict(event.config),
            "proposed_by": event.attrs.get(_keys.PROPOSED_BY),
            "rationale": event.attrs.get(_keys.RATIONALE),
        }
        if task.command is not None:
            out["command"] = build_executor(task).command_line(event.config)  # type: ignore[attr-defined]
        return out

    sys.stdout.write(json.dumps(_guard(go), indent=2) + "\n")


@app.command()
def tell(
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
        if pruned is not None and value is not None:
            raise AgentHPOError(
                "--pruned: a pruned trial has no final value; give the last value it reported"
                " with --intermediate (and its --step)"
            )
        if pruned is None and (intermediate is not None or step is not None):
            raise AgentHPOError(
                "--intermediate and --step describe a run stopped early; add --pruned REASON"
            )
        task = load_task(task_file)
        parsed: dict[str, float] | None = None
        if metrics is not None:
            try:
                data = json.loads(metrics)
            except ValueError as exc:
                raise AgentHPOError(f"--metrics is not JSON: {exc}") from None
            if not isinstance(data, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in data.values()
            ):
                raise AgentHPOError('--metrics must be a JSON object of numbers, e.g. {"acc": 0.9}')
            parsed = {str(k): float(v) for k, v in data.items()}
        frozen = Tuner(task, storage=storage).tell(
            trial,
            value=value if pruned is None else intermediate,
            metrics=parsed,
            error=failed,
            pruned=pruned,
            step=step,
        )
        state = frozen.state.name.lower()
        shown = " / ".join(_fmt_value(v) for v in frozen.values) if frozen.values else "-"
        if frozen.state == optuna.trial.TrialState.PRUNED and frozen.intermediate_values:
            last = max(frozen.intermediate_values)
            shown = f"at step {last} ({_fmt_value(frozen.intermediate_values[last])})"
        console.print(Text(f"trial {trial}: {state} {shown}"), soft_wrap=True)

    _guard(go)


def _metric_names(study: optuna.Study) -> list[str]:
    """The objectives' names, as the task stored them (the report reads them the same way)."""
    return list(report_metric_names(study, len(study.directions)))


def _open_study(task_file: Path | None, storage: str | None, study: str | None) -> optuna.Study:
    if task_file is None and storage is None:
        raise AgentHPOError("give a task file or --storage URL")
    name = study
    url = storage
    if task_file is not None:
        task = load_task(task_file)
        name = name or task.name
        url = url or task.default_storage()
    assert url is not None
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            raise AgentHPOError(f"no study stored yet at {path}; run `agenthpo run` first")
    try:
        if name is None:
            names = optuna.get_all_study_names(storage=open_storage(url))
            if len(names) != 1:
                raise AgentHPOError(
                    f"{url} holds {len(names)} studies ({', '.join(names) or 'none'});"
                    " choose one with --study NAME"
                )
            name = names[0]
        return optuna.load_study(study_name=name, storage=open_storage(url))
    except KeyError:
        raise AgentHPOError(f"no study named {name!r} in {url}") from None


class BestFormat(str, Enum):
    """How ``agenthpo best`` prints the result."""

    config = "config"
    json = "json"
    text = "text"


@app.command()
def best(
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
    beat it beyond the noise band; stderr says which, and why.
    """

    def go() -> None:
        s = _open_study(task_file, storage, study)
        if len(s.directions) > 1:
            metrics = _metric_names(s)
            front = sorted(s.best_trials, key=lambda t: t.number)
            if not front:
                raise AgentHPOError(f"study {s.study_name!r} has no completed trial yet")
            entries = [
                {
                    "trial": t.number,
                    "values": dict(zip(metrics, t.values, strict=True)),
                    "config": t.params,
                }
                for t in front
            ]
            sys.stdout.write(json.dumps(entries, indent=2) + "\n")
            return
        try:
            trial = s.best_trial
        except ValueError:
            raise AgentHPOError(f"study {s.study_name!r} has no completed trial yet") from None
        metric = _metric_names(s)[0]
        selection, note = read_selection(s)
        if selection is not None:
            trial = next((t for t in s.trials if t.number == selection.recommended), trial)
        if fmt is BestFormat.config:
            sys.stdout.write(json.dumps(trial.params, indent=2) + "\n")
            if selection is not None or note:
                err_console.print(Text(selection_lines(selection, metric, note)[0]), soft_wrap=True)
            return
        if fmt is BestFormat.json:
            raw = s.user_attrs.get(_keys.STUDY_SELECTION)
            record = {
                "trial": trial.number,
                "value": trial.value,
                "metric": metric,
                "config": trial.params,
                "selection": (
                    {**raw, "verdict": selection.verdict()}
                    if selection is not None and isinstance(raw, dict)
                    else None
                ),
                "selection_note": note or None,
            }
            sys.stdout.write(json.dumps(record, indent=2, default=str) + "\n")
            return
        lines = [
            f"{'Recommended' if selection is not None else 'Best'}: trial {trial.number},"
            f" {metric} {_fmt_value(trial.value)}" + _own_run(selection),
            *selection_lines(selection, metric, note),
            f"config: {json.dumps(trial.params)}",
        ]
        for line in lines:
            console.print(Text(line), soft_wrap=True)

    _guard(go)


def _version(value: bool) -> None:
    if value:
        console.print(f"agenthpo {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, metavar=FLAG, help="Show the version."
        ),
    ] = False,
) -> None:
    """AgentHPO: an LLM agent that tunes hyperparameters, on Optuna."""


def main() -> None:
    """Entry point of the ``agenthpo`` command."""
    app()


# The report's command lives in its own module (it imports this one for _guard & co.).
from agenthpo.cli_report import report_command, write_run_report  # noqa: E402

app.command("report")(report_command)

from agenthpo.cli_show import show_command  # noqa: E402 - uses _guard/_open_study/console

app.command("show")(show_command)

from agenthpo.cli_dashboard import dashboard_command  # noqa: E402 - uses _guard/_open_study

app.command("dashboard")(dashboard_command)

from agenthpo.cli_init import init_command  # noqa: E402 - uses _guard/console

app.command("init")(init_command)

from agenthpo.mcp._command import mcp_command  # noqa: E402 - imports the SDK only when run

app.command("mcp")(mcp_command)

for _info in app.registered_commands:  # every command lists --help as a flag too
    if _info.cls in (None, TyperCommand):
        _info.cls = _Command
