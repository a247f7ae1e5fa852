"""optuna-dashboard for AgentHPO studies: each trial's reasoning as its Markdown note.

The dashboard's trial table already shows the short ``user_attrs`` (``rationale``,
``proposed_by``, ``analysis``, ...). :func:`write_trial_note` adds the long form as the trial's
note, which the dashboard shows beside the trial: why it was proposed and by whom, the
configuration, the result with every metric, the Executor's analysis, the error and stderr of
a failed run, and the LLM's answers (the prompts stay in the trial's system attribute
``agenthpo:llm_calls``). :func:`serve` starts the dashboard.

Needs optuna-dashboard (``pip install 'agenthpo[dashboard]'``), imported on first use: it
takes a second or two to import.

Example:
    >>> import optuna
    >>> from agenthpo.dashboard import trial_note
    >>> study = optuna.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    >>> print(trial_note(study.trials[0]).splitlines()[0])  # doctest: +ELLIPSIS
    ## Trial 0: complete, value ...
    >>> from agenthpo.dashboard import write_trial_note, serve
    >>> write_trial_note(study, study.trials[0])  # doctest: +SKIP
    >>> serve("sqlite:///studies.db", port=8080)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import optuna
from optuna.samplers import RandomSampler
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys, _optuna
from agenthpo.errors import AgentHPOError

__all__ = [
    "DEFAULT_PORT",
    "INSTALL_HINT",
    "dashboard_available",
    "serve",
    "trial_note",
    "write_study_notes",
    "write_trial_note",
]

_logger = logging.getLogger("agenthpo")

DEFAULT_PORT = 8080
INSTALL_HINT = "optuna-dashboard is not installed: pip install 'agenthpo[dashboard]'"

_ANSWER_MAX = 2000  # characters of one LLM answer in a note
_CALLS_MAX = 6  # LLM calls shown in a note
_STDERR_MAX = 3000


def dashboard_available() -> bool:
    """Whether optuna-dashboard is installed (without importing it).

    Example:
        >>> isinstance(dashboard_available(), bool)
        True
    """
    return importlib.util.find_spec("optuna_dashboard") is not None


def _dashboard() -> ModuleType:
    try:
        return importlib.import_module("optuna_dashboard")
    except ImportError:
        raise AgentHPOError(INSTALL_HINT) from None


# -- the note --------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = format(value, ".6g")
        if text.lstrip("-").isdigit():
            text += ".0"  # a float stays recognisably a float
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value)
    return " ".join(text.split()).replace("|", "\\|")


def _fence(text: str, limit: int) -> str:
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"


def _head(trial: FrozenTrial, metric: str) -> str:
    state = trial.state.name.lower()
    if trial.state == TrialState.COMPLETE and trial.values:
        names = metric.split(" / ")
        if len(trial.values) > 1 and len(names) == len(trial.values):
            shown = ", ".join(
                f"{n} {format(v, '.6g')}" for n, v in zip(names, trial.values, strict=True)
            )
            return f"## Trial {trial.number}: {state}, {shown}"
        shown = ", ".join(format(v, ".6g") for v in trial.values)
        return f"## Trial {trial.number}: {state}, {metric} {shown}"
    return f"## Trial {trial.number}: {state}"


def _llm_line(attrs: Mapping[str, Any]) -> str:
    parts = []
    if attrs.get(_keys.LLM_MODEL):
        parts.append(f"model `{attrs[_keys.LLM_MODEL]}`")
    if _keys.LLM_CALLS in attrs:
        parts.append(f"{attrs[_keys.LLM_CALLS]} call(s)")
    if _keys.LLM_PROMPT_TOKENS in attrs or _keys.LLM_COMPLETION_TOKENS in attrs:
        parts.append(
            f"{attrs.get(_keys.LLM_PROMPT_TOKENS, 0)} prompt +"
            f" {attrs.get(_keys.LLM_COMPLETION_TOKENS, 0)} completion tokens"
        )
    if attrs.get(_keys.LLM_LATENCY_S) is not None:
        parts.append(f"{attrs[_keys.LLM_LATENCY_S]} s")
    if attrs.get(_keys.LLM_COST):
        parts.append(f"${float(attrs[_keys.LLM_COST]):.4f}")
    if attrs.get(_keys.LLM_PREFETCHED):
        parts.append("prepared while the previous trial ran")
    return ", ".join(parts)


def _calls(calls: Sequence[Any]) -> list[str]:
    lines = ["", "### The LLM's answers", ""]
    for i, call in enumerate(calls[:_CALLS_MAX], start=1):
        if not isinstance(call, Mapping):
            continue
        facts = [str(call.get("model", ""))]
        if "prompt_tokens" in call or "completion_tokens" in call:
            facts.append(
                f"{call.get('prompt_tokens', 0)} + {call.get('completion_tokens', 0)} tokens"
            )
        if call.get("latency_s") is not None:
            facts.append(f"{call['latency_s']} s")
        lines.append(f"**Call {i}** ({', '.join(f for f in facts if f)}):")
        lines.append("")
        lines.append(_fence(str(call.get("text", "")), _ANSWER_MAX))
        lines.append("")
    if len(calls) > _CALLS_MAX:
        lines.append(f"... and {len(calls) - _CALLS_MAX} more call(s).")
        lines.append("")
    lines.append(
        f"Every prompt and answer is stored in the trial's system attribute"
        f" `{_keys.SYS_LLM_CALLS}`."
    )
    return lines


def trial_note(trial: FrozenTrial, *, metric: str = "value") -> str:
    """The Markdown note of one trial, from what the trial stores.

    Args:
        trial: The trial.
        metric: The study's objective, for the heading (several: ``"acc / seconds"``).

    Example:
        >>> import optuna
        >>> trial = optuna.trial.create_trial(  # not in a study yet: number -1
        ...     params={"x": 1.0},
        ...     distributions={"x": optuna.distributions.FloatDistribution(0, 2)},
        ...     value=0.5,
        ...     user_attrs={"rationale": "start in the middle", "proposed_by": "llm"},
        ... )
        >>> print(trial_note(trial, metric="loss"))  # doctest: +NORMALIZE_WHITESPACE
        ## Trial -1: complete, loss 0.5
        <BLANKLINE>
        **Why:** start in the middle
        <BLANKLINE>
        **Proposed by:** llm
        <BLANKLINE>
        ### Configuration
        <BLANKLINE>
        | parameter | value |
        | --- | --- |
        | x | 1.0 |
    """
    attrs = trial.user_attrs
    lines = [_head(trial, metric), ""]
    if attrs.get(_keys.RATIONALE):
        lines += [f"**Why:** {attrs[_keys.RATIONALE]}", ""]
    by = attrs.get(_keys.PROPOSED_BY)
    if by:
        llm = _llm_line(attrs)
        lines += [f"**Proposed by:** {by}" + (f" ({llm})" if llm else ""), ""]
    if attrs.get(_keys.FALLBACK_REASON):
        lines += [f"**Why not the LLM:** {attrs[_keys.FALLBACK_REASON]}", ""]
    if attrs.get(_keys.LLM_REPAIRED):
        lines += [f"**Repaired in a second round:** {attrs[_keys.LLM_REPAIRED]}", ""]
    if trial.params:
        lines += ["### Configuration", "", "| parameter | value |", "| --- | --- |"]
        lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in trial.params.items()]
    metrics = attrs.get(_keys.METRICS)
    if isinstance(metrics, Mapping) and metrics:
        lines += ["", "### Metrics", "", "| metric | value |", "| --- | --- |"]
        lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in metrics.items()]
    facts = []
    if attrs.get(_keys.DURATION_S) is not None:
        facts.append(f"{attrs[_keys.DURATION_S]} s")
    if attrs.get(_keys.EXIT_CODE) is not None:
        facts.append(f"exit status {attrs[_keys.EXIT_CODE]}")
    curve = attrs.get(_keys.CURVE)
    if isinstance(curve, list) and curve:
        facts.append(f"{len(curve)} reported steps")
    if facts:
        lines += ["", "The run: " + ", ".join(facts) + "."]
    if attrs.get(_keys.ANALYSIS):
        lines += ["", "### Analysis", "", str(attrs[_keys.ANALYSIS])]
    if attrs.get(_keys.ERROR):
        lines += ["", "### Error", "", str(attrs[_keys.ERROR])]
        if attrs.get(_keys.STDERR_TAIL):
            lines += ["", "stderr (tail):", "", _fence(str(attrs[_keys.STDERR_TAIL]), _STDERR_MAX)]
    calls = trial.system_attrs.get(_keys.SYS_LLM_CALLS)
    if isinstance(calls, list) and calls:
        lines += _calls(calls)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _frozen(study: optuna.Study, trial: FrozenTrial | int) -> FrozenTrial:
    """The stored trial for a trial id (``trial._trial_id``) or a frozen trial (re-read)."""
    trial_id = trial if isinstance(trial, int) else _optuna.trial_id(trial)
    try:
        return _optuna.storage_of(study).get_trial(trial_id)
    except KeyError:
        raise AgentHPOError(f"no trial with id {trial_id} in study {study.study_name!r}") from None


def write_trial_note(study: optuna.Study, trial: FrozenTrial | int) -> str:
    """Saves a trial's full reasoning and analysis as its optuna-dashboard note.

    Writing again replaces the note (the dashboard keeps the latest version).

    Args:
        study: The study the trial belongs to.
        trial: A frozen trial of the study, or its trial id (``FrozenTrial._trial_id``, the id
            the dashboard's URLs use; not the trial number).

    Returns:
        The note's Markdown.

    Raises:
        AgentHPOError: optuna-dashboard is not installed, or the study has no such trial.

    Example:
        >>> study.optimize(objective, n_trials=1)  # doctest: +SKIP
        >>> write_trial_note(study, study.trials[-1])  # doctest: +SKIP
    """
    dashboard = _dashboard()
    frozen = _frozen(study, trial)
    stored = study.user_attrs.get(_keys.STUDY_METRIC, "value")
    metric = " / ".join(map(str, stored)) if isinstance(stored, list) else str(stored)
    body = trial_note(frozen, metric=metric)
    # save_note wants a live Trial; a Study handle with a plain sampler gives one without
    # waking the study's own sampler (an optuna.Trial calls its sampler's before_trial).
    handle = optuna.Study(
        study_name=study.study_name, storage=_optuna.storage_of(study), sampler=RandomSampler()
    )
    dashboard.save_note(_optuna.trial_handle(handle, frozen), body)
    return body


def write_study_notes(study: optuna.Study, *, overwrite: bool = False) -> int:
    """Writes the note of every finished trial (by default only where none exists yet).

    Returns:
        How many notes were written.

    Example:
        >>> write_study_notes(optuna.load_study(study_name="s", storage=url))  # doctest: +SKIP
        12
    """
    dashboard = _dashboard()
    finished = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
    handle = optuna.Study(
        study_name=study.study_name, storage=_optuna.storage_of(study), sampler=RandomSampler()
    )
    written = 0
    for trial in study.get_trials(deepcopy=False, states=finished):
        if not overwrite and dashboard.get_note(_optuna.trial_handle(handle, trial)):
            continue
        write_trial_note(study, trial)
        written += 1
    return written


def serve(
    storage: str | BaseStorage,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
) -> None:
    """Runs optuna-dashboard on ``host:port`` until interrupted (blocks).

    Args:
        storage: An Optuna storage URL (``sqlite:///studies.db``, ``postgresql://...``) or
            storage object.
        host: The address to listen on; the default keeps the dashboard on this machine.
        port: The port.

    Raises:
        AgentHPOError: optuna-dashboard is not installed, or the port is taken.

    Example:
        >>> serve("sqlite:///examples/digits_mlp/task.agenthpo.db")  # doctest: +SKIP
    """
    dashboard = _dashboard()
    _logger.info("optuna-dashboard on http://%s:%d/dashboard", host, port)
    try:
        dashboard.run_server(storage, host=host, port=port)
    except OSError as exc:
        raise AgentHPOError(
            f"cannot serve the dashboard on {host}:{port} ({exc.strerror or exc});"
            " choose another port with --port"
        ) from exc
