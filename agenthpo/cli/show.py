"""``agenthpo show``: a study's trials, for a person or for a program.

Registered in :mod:`agenthpo.cli`.

On a terminal it draws a table; in a pipe or a file it prints plain lines, one per trial and
never wrapped, so that ``grep`` and ``less`` see whole messages. ``--format json`` and
``--format csv`` give the trial records to a program. Text that trials carry (rationale,
analysis, errors) is printed literally, never read as rich markup. Below the trials, the
table and the plain lines say what the LLM added: how its proposals did against the
backbone's in the same study (:mod:`agenthpo.reporting._contribution`), and a rationale
that contradicts the stored numbers is flagged on its trial.

Example:
    .. code-block:: console

        $ agenthpo show examples/digits_mlp/task.yaml --format json > trials.json
        $ agenthpo show --storage sqlite:///studies.db --study quad --format csv
"""

from __future__ import annotations

import csv
import io
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import optuna
import typer
from rich.table import Table
from rich.text import Text

from agenthpo._jsonsafe import dumps
from agenthpo._text import single_line
from agenthpo.cli._common import (
    StorageOption,
    StudyOption,
    config_text,
    console,
    fmt_value,
    guard,
    selection_lines,
)
from agenthpo.reporting._contribution import Contribution
from agenthpo.reporting._data import ReportData, analysis_beyond_error, collect_data, read_selection
from agenthpo.reporting._format import csv_cell
from agenthpo.reporting._revisions import revision_lines
from agenthpo.studies import TRIAL_TEXT_FIELDS, metric_names, open_study, trial_records

__all__ = ["ShowFormat", "show_command"]


class ShowFormat(str, Enum):
    """How ``agenthpo show`` prints the trials."""

    table = "table"
    plain = "plain"
    json = "json"
    csv = "csv"


def _csv_text(study: optuna.Study) -> str:
    """The records as CSV: ``values.<metric>`` and ``params.<name>`` columns, text as is."""
    metrics = metric_names(study)
    records = trial_records(study)
    params = list(dict.fromkeys(name for r in records for name in r["params"]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "number",
            "state",
            *(f"values.{m}" for m in metrics),
            *(f"params.{p}" for p in params),
            *TRIAL_TEXT_FIELDS,
        ]
    )
    for r in records:
        writer.writerow(
            [
                r["number"],
                r["state"],
                *(csv_cell(r["values"][m]) for m in metrics),
                *(csv_cell(r["params"].get(p)) for p in params),
                *(csv_cell(r[name]) for name in TRIAL_TEXT_FIELDS),
            ]
        )
    return out.getvalue()


def _title(study: optuna.Study) -> str:
    """``name (maximize acc and minimize seconds)``."""
    metrics = metric_names(study)
    goals = " and ".join(
        f"{d.name.lower()} {m}" for d, m in zip(study.directions, metrics, strict=True)
    )
    return single_line(f"{study.study_name} ({goals})")


def _cells(record: dict[str, Any]) -> list[str]:
    """A record's cells before its notes: number, state, values, by, config; each one
    printable line (stored text may hold escape sequences or newlines)."""
    return [
        str(record["number"]),
        single_line(record["state"]),
        *(fmt_value(v) for v in record["values"].values()),
        single_line(record["proposed_by"] or ""),
        single_line(config_text(record["params"])),
    ]


def _notes(record: dict[str, Any], check: str = "") -> tuple[str, str, str, str]:
    """(rationale, ``[rationale check: ...]``, ``error: ...``, ``(analysis)``), each on one
    line; the analysis only where it adds to the error."""
    error = record["error"] or ""
    analysis = single_line(analysis_beyond_error(record["analysis"] or "", error))
    return (
        single_line(record["rationale"] or ""),
        f"[rationale check: {single_line(check)}]" if check else "",
        f"error: {single_line(error)}" if error else "",
        f"({analysis})" if analysis else "",
    )


def _checks(data: ReportData) -> dict[int, str]:
    """Each flagged trial's rationale check, by trial number."""
    return {t.number: t.rationale_check for t in data.trials if t.rationale_check}


def _aligned(rows: list[list[str]]) -> list[str]:
    """Rows of cells as lines, columns aligned by spaces."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _added(data: ReportData) -> tuple[Contribution, list[str]]:
    """What the LLM added, and the lines below its table."""
    c = data.contribution
    best = data.trial(c.best_trial) if c.best_trial is not None else None
    return c, c.lines(data.metric, best.value if best is not None else None)


def _added_plain(data: ReportData) -> list[str]:
    """What the LLM added as plain lines: a title, an aligned table, the findings."""
    c, lines = _added(data)
    if not c.sources:
        return lines
    title = "What the LLM added (mean rank: percentile among finished trials, 100% = best):"
    rows = [[single_line(cell) for cell in row] for row in (c.header(data.metric), *c.rows())]
    return [title, *_aligned(rows), *(single_line(line) for line in lines)]


def _plain_text(study: optuna.Study, data: ReportData) -> str:
    """A title, a header and one unwrapped line per trial, columns aligned by spaces."""
    metrics = [single_line(m) for m in metric_names(study)]
    checks = _checks(data)
    header = ["trial", "state", *metrics, "by", "config", "rationale / error / analysis"]
    rows = [header] + [
        [*_cells(r), " ".join(x for x in _notes(r, checks.get(r["number"], "")) if x)]
        for r in trial_records(study)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    right = {0, *range(2, 2 + len(metrics))}  # numbers align right
    lines = [_title(study)]
    for row in rows:
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row[:-1], widths, strict=True))
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def _table(study: optuna.Study, data: ReportData) -> Table:
    """The rich table for a terminal; every cell is a Text, so markup stays literal."""
    metrics = metric_names(study)
    checks = _checks(data)
    table = Table(title=Text(_title(study)))
    table.add_column("trial", justify="right")
    table.add_column("state")
    for metric in metrics:
        table.add_column(Text(single_line(metric)), justify="right")
    table.add_column("by")
    table.add_column("config", overflow="fold")
    table.add_column("rationale / error / analysis", overflow="fold")
    for record in trial_records(study):
        notes = Text(" ").join(
            Text(text, style=style)
            for text, style in zip(
                _notes(record, checks.get(record["number"], "")),
                ("", "yellow", "red", "dim"),
                strict=True,
            )
            if text
        )
        table.add_row(*(Text(cell) for cell in _cells(record)), notes)
    return table


def _added_table(data: ReportData) -> Table | None:
    """What the LLM added as a rich table (``None`` when there is nothing to compare)."""
    c = data.contribution
    if not c.sources:
        return None
    table = Table(
        title=Text("What the LLM added"),
        caption=Text(
            "mean rank: percentile among finished trials (100% = best); running median: of the"
            " results before each trial"
        ),
    )
    for i, name in enumerate(c.header(data.metric)):
        table.add_column(Text(single_line(name)), justify="left" if i == 0 else "right")
    for row in c.rows():
        table.add_row(*(Text(single_line(cell)) for cell in row))
    return table


def show_command(
    task_file: Annotated[Path | None, typer.Argument(help="The task YAML file.")] = None,
    storage: StorageOption = None,
    study: StudyOption = None,
    fmt: Annotated[
        ShowFormat | None,
        typer.Option(
            "--format",
            help="table, plain (one unwrapped line per trial), json (a list of trial records,"
            " with the end of a failed run's stderr)"
            " or csv (the records flattened). Default: table on a terminal, else plain.",
        ),
    ] = None,
) -> None:
    """List a study's trials with their values, who proposed them and why."""

    def go() -> None:
        s = open_study(task_file, storage=storage, study=study)
        chosen = fmt or (ShowFormat.table if console.is_terminal else ShowFormat.plain)
        footer: list[str] = []
        if len(s.directions) == 1:
            selection, note = read_selection(s)
            footer = selection_lines(selection, metric_names(s)[0], note)
        if chosen is ShowFormat.table:
            data = collect_data(s)
            console.print(_table(s, data))
            for line in [*footer, *revision_lines(data.revisions)]:
                console.print(Text(single_line(line)), soft_wrap=True)
            added = _added_table(data)
            if added is not None:
                console.print(added)
            for line in _added(data)[1]:
                console.print(Text(single_line(line)), soft_wrap=True)
        elif chosen is ShowFormat.plain:
            data = collect_data(s)
            revisions = revision_lines(data.revisions)
            footer += ["", *revisions, *([""] if revisions else [])]
            lines = [single_line(line) for line in footer]  # stored text, one line each
            # its table's cells are made single lines one by one: spaces align its columns
            lines += _added_plain(data)
            sys.stdout.write(_plain_text(s, data) + "".join(line + "\n" for line in lines))
        elif chosen is ShowFormat.json:
            sys.stdout.write(dumps(trial_records(s), indent=2) + "\n")
        else:
            sys.stdout.write(_csv_text(s))

    guard(go)
