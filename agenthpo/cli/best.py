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
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import optuna
import typer
from rich.text import Text

from agenthpo._jsonsafe import dumps
from agenthpo._text import single_line
from agenthpo.agent.revision import accepted_changes
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
from agenthpo.errors import SpaceError
from agenthpo.space import CategoricalParam, FloatParam, IntParam, Space
from agenthpo.studies import open_study, pareto_records, recommendation
from agenthpo.task import load_task

__all__ = ["BestFormat", "best_command", "space_drift"]


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
        searched = _searched(space, s) if space is not None else None
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
            _warn(_front_drift(front, space, searched) if space is not None else None)
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


# -- a recommendation the task's space has moved away from ------------------------------------
# The study keeps the configurations as they were run. When the task file has changed since
# (a parameter removed, renamed or added, a range narrowed, a choice dropped), the
# recommendation no longer fits what the script now takes; users pipe `best` into their
# training, so stderr says so in one line while stdout stays exactly the stored configuration.


def _searched(space: Space, study: optuna.Study) -> Space | None:
    """The task's ``space`` with the study's accepted range revisions applied, if any.

    A revision (:mod:`agenthpo.agent.revision`) may have moved a range during the run, so a
    trial outside the task file's range can still be within the space the study searched:
    that is no change of the task. A revision that no longer applies is skipped silently,
    unlike :func:`agenthpo.agent.revision.space_in_force`, which logs a warning: the note
    below is the one line ``best`` adds.
    """
    revised = space
    for change in accepted_changes(study.user_attrs):
        if change.new is None or change.param not in revised:
            continue
        try:
            revised = revised.with_range(change.param, *change.new)
        except SpaceError:
            continue
    return None if revised is space else revised


def _shown(value: Any) -> str:
    return format(value, ".6g") if isinstance(value, float) else dumps(value)


def _allowed(param: FloatParam | IntParam | CategoricalParam) -> str:
    """What the space now allows for ``param``: ``a float from 0.4 to 0.5``."""
    if isinstance(param, CategoricalParam):
        return "one of " + ", ".join(_shown(c) for c in param.choices)
    kind = "an integer" if isinstance(param, IntParam) else "a float"
    step = f" in steps of {_shown(param.step)}" if param.step is not None else ""
    return f"{kind} from {_shown(param.low)} to {_shown(param.high)}{step}"


def _mismatches(
    params: Mapping[str, Any], space: Space, searched: Space | None = None
) -> list[str]:
    """How a stored configuration differs from ``space``, one phrase per parameter.

    A value that ``searched`` (the space with the run's range revisions) allows is not a
    difference: revisions change only ranges, never which parameters there are.
    """
    allowed = set() if searched is None else {n for n in params if n in searched}
    if searched is not None:
        allowed -= {v.name for v in searched.validate(params)}
    phrases: list[str] = []
    for v in space.validate(params):
        if v.name in allowed:
            continue
        if v.kind == "unknown":
            phrases.append(f"with {v.name}, which the space no longer has")
        elif v.kind == "missing":
            phrases.append(f"without {v.name}, which the space now has")
        elif v.kind == "inactive":
            phrases.append(
                f"with {v.name}, which the space now uses {space.condition_text(v.name)}"
            )
        else:
            phrases.append(
                f"with {v.name} = {_shown(params[v.name])}, which the space no longer allows"
                f" (now {_allowed(space[v.name])})"
            )
    return phrases


def space_drift(
    number: int, params: Mapping[str, Any], space: Space, searched: Space | None = None
) -> str | None:
    """One line when trial ``number``'s configuration no longer fits ``space``, else ``None``.

    ``searched`` is the space the run's range revisions made, if any (see :func:`_searched`);
    a value within it is no change.

    Example:
        >>> space = Space.from_dict({"x": {"type": "float", "low": 0.4, "high": 0.5}})
        >>> print(space_drift(2, {"x": 0.278, "c": "b"}, space))
        note: trial 2 was run with x = 0.278, which the space no longer allows (now a float from 0.4 to 0.5); with c, which the space no longer has. The task's space changed after it ran: check the configuration before you use it.
        >>> space_drift(3, {"x": 0.45}, space) is None
        True
    """  # noqa: E501
    phrases = _mismatches(params, space, searched)
    if not phrases:
        return None
    return (
        f"note: trial {number} was run {'; '.join(phrases)}. The task's space changed after"
        " it ran: check the configuration before you use it."
    )


def _front_drift(
    front: Sequence[Mapping[str, Any]], space: Space, searched: Space | None
) -> str | None:
    """One line for the Pareto front's configurations that no longer fit ``space``."""
    off = [(r["trial"], _mismatches(r["config"], space, searched)) for r in front]
    off = [(n, phrases) for n, phrases in off if phrases]
    if not off:
        return None
    each = "; ".join(f"trial {n} was run {' and '.join(phrases)}" for n, phrases in off[:3])
    more = f"; and {len(off) - 3} more" if len(off) > 3 else ""
    return (
        f"note: {len(off)} of the {len(front)} configurations on the Pareto front no longer fit"
        f" the task's space: {each}{more}. Check a configuration before you use it."
    )


def _warn(line: str | None) -> None:
    if line is not None:
        err_console.print(Text(single_line(line)), soft_wrap=True)
