"""Stored studies, for the command line, the MCP server and scripts alike.

Which study a task file, a storage URL and a study name refer to (:func:`open_study`,
:func:`storage_url`); the LLM a run uses, replayed from another study's recorded answers
when asked (:func:`run_llm`, :func:`replay_from`); trials run outside AgentHPO
(:func:`ask_trial`, :func:`tell_trial`); its trials as records (:func:`trial_records`); and
what a finished study recommends (:func:`recommendation`, :func:`pareto_records`). The
``agenthpo`` commands only parse their options, call these and print.

Example:
    >>> import optuna, tempfile
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/s.db"
    >>> optuna.create_study(study_name="quad", storage=url).optimize(
    ...     lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)
    >>> study = open_study(storage=url)  # the only study there
    >>> study.study_name, metric_names(study), len(study.trials)
    ('quad', ['value'], 3)
"""

from __future__ import annotations

import json
import logging
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys
from agenthpo._lifecycle import budget
from agenthpo.agent.creator import find_duplicate, is_vacuous
from agenthpo.agent.history import taken_configs
from agenthpo.agent.screen import OutsideScreen
from agenthpo.errors import AgentHPOError, NoResultError
from agenthpo.llm import LLMClient, ReplayLLM, resolve_llm
from agenthpo.reporting._data import Selection, read_selection
from agenthpo.reporting._data import _metric_names as _stored_metric_names
from agenthpo.storage import expand_home, is_single_process, journal_path, open_storage, shown_url
from agenthpo.task import Task, load_task
from agenthpo.tuner import TrialEvent, Tuner, build_executor, replay_llm, screen_outside

__all__ = [
    "TRIAL_TEXT_FIELDS",
    "Proposal",
    "Recommendation",
    "ask_trial",
    "asked_record",
    "metric_names",
    "open_study",
    "pareto_records",
    "parse_metrics",
    "propose_trial",
    "queue_tuner",
    "recommendation",
    "replay_from",
    "run_llm",
    "storage_url",
    "tell_trial",
    "trial_records",
    "worker_storage",
]


_logger = logging.getLogger("agenthpo")


def _task(task: Task | str | Path) -> Task:
    return task if isinstance(task, Task) else load_task(task)


# -- which study --------------------------------------------------------------------------


def storage_url(task_file: str | Path | None, storage: str | None) -> str:
    """The storage a command refers to: ``storage`` if given, else the task file's own.

    Example:
        >>> storage_url(None, "sqlite:///studies.db")
        'sqlite:///studies.db'

    Raises:
        AgentHPOError: Neither is given, or the task file is broken.
    """
    if storage is not None:
        return storage
    if task_file is None:
        raise AgentHPOError("give a task file or --storage URL")
    return load_task(task_file).default_storage()


def open_study(
    task_file: Task | str | Path | None = None,
    *,
    storage: str | None = None,
    study: str | None = None,
) -> optuna.Study:
    """Opens a stored study, as ``agenthpo show``, ``best``, ``report`` and ``dashboard`` do.

    The storage is ``storage``, else the task file's own; the study is ``study``, else the
    task's name, else the only study the storage holds. Opening changes nothing: a storage
    file that does not exist yet is an error, not a new empty one; a file that is not an
    Optuna storage (a SQLite database without Optuna's tables, a text file given as a
    journal) is refused as it is; a journal's torn last line is left for a writer to repair
    (see :func:`agenthpo.storage.open_storage` with ``for_reading``).

    Args:
        task_file: The task or its file, if any.
        storage: An Optuna storage URL (overrides the task's).
        study: The study's name (overrides the task's).

    Example:
        >>> import optuna, tempfile
        >>> url = f"sqlite:///{tempfile.mkdtemp()}/two.db"
        >>> for name in ("a", "b"):
        ...     _ = optuna.create_study(study_name=name, storage=url)
        >>> open_study(storage=url, study="b").study_name
        'b'
        >>> open_study(storage=url)
        Traceback (most recent call last):
        ...
        agenthpo.errors.AgentHPOError: sqlite:///...two.db holds 2 studies (a, b); choose one ...

    Raises:
        AgentHPOError: Neither a task file nor a storage, no such study, nothing stored
            yet, or several studies and no name.
        StorageError: The storage is a folder or not an Optuna storage.
    """
    if task_file is None and storage is None:
        raise AgentHPOError("give a task file or --storage URL")
    name = study
    url = storage
    if task_file is not None:
        task = _task(task_file)
        name = name or task.name
        url = url or task.default_storage()
    assert url is not None
    url = expand_home(url)
    stored_file: Path | None = None
    if url.startswith("sqlite:///"):
        stored_file = Path(url.removeprefix("sqlite:///"))
    elif url.startswith("journal:"):
        stored_file = journal_path(url)
    if stored_file is not None and not stored_file.exists():
        raise AgentHPOError(f"no study stored yet at {stored_file}; run `agenthpo run` first")
    opened = open_storage(url, for_reading=True)
    try:
        if name is None:
            names = optuna.get_all_study_names(storage=opened)
            if not names:
                raise AgentHPOError(
                    f"{shown_url(url)} holds no study yet; run `agenthpo run` first"
                )
            if len(names) > 1:
                raise AgentHPOError(
                    f"{shown_url(url)} holds {len(names)} studies ({', '.join(names)});"
                    " choose one with --study NAME"
                )
            name = names[0]
        return optuna.load_study(study_name=name, storage=opened)
    except KeyError:
        raise AgentHPOError(f"no study named {name!r} in {shown_url(url)}") from None


def worker_storage(task_file: str | Path, storage: str | None = None) -> str:
    """The storage several workers of ``task_file`` share: ``storage``, else the task's,
    which must be safe under several writers (a journal file or a database server).

    Example:
        >>> worker_storage("task.yaml", "journal:studies.log")  # doctest: +SKIP
        'journal:studies.log'
        >>> worker_storage("task.yaml", "sqlite:///studies.db")  # doctest: +SKIP
        Traceback (most recent call last):
        ...
        agenthpo.errors.AgentHPOError: sqlite:///studies.db is SQLite, which is not safe ...

    Raises:
        AgentHPOError: A broken task file, or a SQLite storage.
    """
    task = load_task(task_file)
    url = storage or task.default_storage()
    if is_single_process(url):
        raise AgentHPOError(
            f"{shown_url(url)} is SQLite, which is not safe under several writers; give"
            " --storage journal:PATH (one machine) or postgresql://... (several machines)"
        )
    return url


def metric_names(study: optuna.Study) -> list[str]:
    """The objectives' names, as the task stored them (the report reads them the same way).

    Example:
        >>> metric_names(optuna.create_study(directions=["maximize", "minimize"]))
        ['value_0', 'value_1']
    """
    return list(_stored_metric_names(study, len(study.directions)))


# -- its trials ------------------------------------------------------------------------------


TRIAL_TEXT_FIELDS = ("proposed_by", "rationale", "analysis", "error")
"""The text of a trial record, after its number, state, values and params."""
_TEXT_KEYS = {
    "proposed_by": _keys.PROPOSED_BY,
    "rationale": _keys.RATIONALE,
    "analysis": _keys.ANALYSIS,
    "error": _keys.ERROR,
}


def _record(trial: FrozenTrial, metrics: Sequence[str]) -> dict[str, Any]:
    """One trial as a JSON-ready record: its text exactly as stored, None when absent."""
    complete = trial.state == TrialState.COMPLETE and trial.values
    values = trial.values if complete else [None] * len(metrics)
    attrs = trial.user_attrs
    params = dict(trial.params)
    fixed = trial.system_attrs.get("fixed_params")  # a queued trial's, until it starts
    if trial.state == TrialState.WAITING and not params and isinstance(fixed, dict):
        params = dict(fixed)
    return {
        "number": trial.number,
        "state": trial.state.name.lower(),
        "values": dict(zip(metrics, values, strict=True)),
        "params": params,
        **{
            name: None if attrs.get(key) in (None, "") else str(attrs[key])
            for name, key in _TEXT_KEYS.items()
        },
        # Where a failed run raised (the last lines of its stderr): its error line alone
        # does not say which file and line.
        "stderr_tail": None if not attrs.get(_keys.STDERR_TAIL) else str(attrs[_keys.STDERR_TAIL]),
    }


def trial_records(study: optuna.Study) -> list[dict[str, Any]]:
    """Every trial of ``study`` as a record: number, state, values by metric, params,
    proposed_by, rationale, analysis, error and the last lines of a run's stderr
    (``stderr_tail``) (``agenthpo show --format json``).

    Example:
        >>> study = optuna.create_study()
        >>> study.optimize(lambda t: t.suggest_float("x", 0, 1) * 0, n_trials=1)
        >>> record = trial_records(study)[0]
        >>> record["values"], record["error"]
        ({'value': 0.0}, None)
    """
    metrics = metric_names(study)
    return [_record(t, metrics) for t in study.get_trials(deepcopy=False)]


# -- the LLM of a run ----------------------------------------------------------------------


def replay_from(spec: str, task: Task, *, storage: str | None = None) -> ReplayLLM:
    """The recorded LLM answers of the study ``spec`` names, to replay in a run of ``task``.

    ``spec`` is a storage URL, or ``URL#STUDY`` (the study defaults to the task's name).
    A run never replays into the study it reads: the run's storage (``storage``, else the
    task's) must differ from the source, or the study's name must.

    Args:
        spec: ``URL`` or ``URL#STUDY`` of the recorded study.
        task: The task to run.
        storage: The run's storage, if not the task's own.

    Example:
        >>> from agenthpo.task import task_from_dict
        >>> task = task_from_dict({"name": "quad", "function": "quad:f", "n_trials": 5,
        ...     "objective": {"metric": "loss", "direction": "minimize"},
        ...     "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}}})
        >>> replay_from("sqlite:///runs.db", task, storage="sqlite:///runs.db")
        Traceback (most recent call last):
        ...
        agenthpo.errors.AgentHPOError: --replay would write into the study it replays; give ...

    Raises:
        AgentHPOError: The run would write into the replayed study, no such study, or it
            recorded no LLM answers.
    """
    source_url, _, source_study = spec.partition("#")
    target = storage or task.default_storage()
    source_study = source_study or task.name
    if source_url == target and source_study == task.name:
        raise AgentHPOError(
            "--replay would write into the study it replays; give another --storage"
        )
    return replay_llm(source_url, source_study)


def run_llm(
    task: Task,
    *,
    llm: str | None = None,
    replay: str | None = None,
    storage: str | None = None,
) -> tuple[LLMClient | None, str | None]:
    """The LLM client a run of ``task`` uses, and a line that says which.

    ``replay`` (see :func:`replay_from`) serves a recorded study's answers; ``llm`` is a
    spec (``openai:gpt-4o-mini``, ``random:0``, ...) resolved with the task's provider
    settings; neither gives ``(None, None)``: the tuner then picks the task's own.

    Example:
        >>> from agenthpo.task import task_from_dict
        >>> task = task_from_dict({"name": "quad", "function": "quad:f", "n_trials": 5,
        ...     "objective": {"metric": "loss", "direction": "minimize"},
        ...     "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}}})
        >>> run_llm(task)
        (None, None)
        >>> client, note = run_llm(task, llm="random:0")
        >>> client.name
        'random:random'

    Raises:
        AgentHPOError: Both ``llm`` and ``replay``, a bad spec, or a bad replay source.
    """
    if replay is not None:
        if llm is not None:
            raise AgentHPOError("give either --llm or --replay, not both")
        replayed = replay_from(replay, task, storage=storage)
        return replayed, f"LLM: replaying {replayed.remaining} recorded answers of {replayed.model}"
    if llm is not None:
        return resolve_llm(llm, settings=task.llm_settings())
    return None, None


# -- trials run outside: ask and tell -------------------------------------------------------


def asked_record(task: Task, event: TrialEvent) -> dict[str, Any]:
    """A trial started with :meth:`Tuner.ask <agenthpo.tuner.Tuner.ask>`, as ``agenthpo
    ask`` prints it: its number, config, who proposed it and why, and the task's command
    line for it with the folder it runs in (``cwd``; command tasks only).

    Example:
        >>> from agenthpo.task import task_from_dict
        >>> task = task_from_dict({"name": "quad", "function": "quad:f", "n_trials": 5,
        ...     "objective": {"metric": "loss", "direction": "minimize"},
        ...     "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}}})
        >>> asked_record(task, TrialEvent(number=0, config={"x": 0.5}, attrs={}))
        {'trial': 0, 'config': {'x': 0.5}, 'proposed_by': None, 'rationale': None}
    """
    out: dict[str, Any] = {
        "trial": event.number,
        "config": dict(event.config),
        "proposed_by": event.attrs.get(_keys.PROPOSED_BY),
        "rationale": event.attrs.get(_keys.RATIONALE),
    }
    if task.command is not None:
        out["command"] = build_executor(task).command_line(event.config)  # type: ignore[attr-defined]
        out["cwd"] = str(task.base_dir)  # the folder the command runs in (the task file's)
    return out


def ask_trial(
    task: Task | str | Path,
    *,
    storage: str | None = None,
    seed: int | None = None,
    llm: LLMClient | str | None = None,
) -> dict[str, Any]:
    """Starts a trial to run outside AgentHPO and returns its :func:`asked_record`.

    Args:
        task: The task, or its file.
        storage: The study's storage, if not the task's own.
        seed: The random seed.
        llm: A client or a spec (resolved with the task's provider settings); ``None``:
            the task's own.

    Example:
        >>> record = ask_trial("task.yaml", storage="sqlite:///x.db")  # doctest: +SKIP
        >>> tell_trial("task.yaml", record["trial"], value=0.3,
        ...     storage="sqlite:///x.db").state  # doctest: +SKIP
        <TrialState.COMPLETE: 1>

    Raises:
        AgentHPOError: A broken task file or LLM spec, or the study's budget is spent.
    """
    task = _task(task)
    client = resolve_llm(llm, settings=task.llm_settings())[0] if isinstance(llm, str) else llm
    event = Tuner(task, storage=storage, seed=seed, llm=client).ask()
    return asked_record(task, event)


def parse_metrics(text: str) -> dict[str, float]:
    """Final metrics given as JSON text: an object of numbers.

    Example:
        >>> parse_metrics('{"val_acc": 0.97, "epochs": 12}')
        {'val_acc': 0.97, 'epochs': 12.0}
        >>> parse_metrics('[0.97]')
        Traceback (most recent call last):
        ...
        agenthpo.errors.AgentHPOError: --metrics must be a JSON object of numbers, e.g. {"acc": 0.9}

    Raises:
        AgentHPOError: Not JSON, or not an object of numbers.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise AgentHPOError(f"--metrics is not JSON: {exc}") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in data.values()
    ):
        raise AgentHPOError('--metrics must be a JSON object of numbers, e.g. {"acc": 0.9}')
    return {str(k): float(v) for k, v in data.items()}


def tell_trial(
    task: Task | str | Path,
    number: int,
    *,
    storage: str | None = None,
    value: float | None = None,
    metrics: Mapping[str, float] | str | None = None,
    failed: str | None = None,
    pruned: str | None = None,
    intermediate: float | None = None,
    step: int | None = None,
) -> FrozenTrial:
    """Stores the result of a trial started with :func:`ask_trial` (``agenthpo tell``).

    Give ``value`` or ``metrics`` for a finished run, ``failed`` (why) for a run that
    failed (with ``metrics``, what it reported before), or ``pruned`` (why) with
    ``intermediate`` (the objective's last reported value) and ``step`` for a run stopped
    early. The study is opened as stored: no LLM is asked.

    Args:
        task: The task, or its file.
        number: The trial's number, as :func:`ask_trial` returned it.
        storage: The study's storage, if not the task's own.
        value: The objective's final value.
        metrics: Final metrics (a mapping, or JSON text as ``--metrics`` takes it); with
            ``pruned``, the last seen.
        failed: Why the run failed.
        pruned: Why the run was stopped early.
        intermediate: With ``pruned``: the objective's last reported value.
        step: With ``pruned``: the step of that value (default: the next step).

    Example:
        >>> tell_trial("task.yaml", 3, pruned="flat curve", intermediate=0.61,
        ...     step=40).state  # doctest: +SKIP
        <TrialState.PRUNED: 2>
        >>> tell_trial("task.yaml", 3, pruned="flat", value=0.61)
        Traceback (most recent call last):
        ...
        agenthpo.errors.AgentHPOError: --pruned: a pruned trial has no final value; give ...

    Raises:
        AgentHPOError: Contradictory options, a broken task file or metrics, or a trial
            that is not running or was not started by ``ask``.
    """
    value = _number_or_none("--value", value)
    intermediate = _number_or_none("--intermediate", intermediate)
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        raise AgentHPOError(f"--step {step!r}: give a whole number of steps, 0 or more")
    if metrics is not None and not isinstance(metrics, str | Mapping):
        raise AgentHPOError(
            f"--metrics: give a mapping of metric names to numbers (or its JSON text), not"
            f" {type(metrics).__name__}"
        )
    for name, text in (("--failed", failed), ("--pruned", pruned)):
        if text is not None and not isinstance(text, str):
            raise AgentHPOError(f"{name}: give the reason as text, not {type(text).__name__}")
    if pruned is not None and value is not None:
        raise AgentHPOError(
            "--pruned: a pruned trial has no final value; give the last value it reported"
            " with --intermediate (and its --step)"
        )
    if failed is not None and value is not None:
        raise AgentHPOError(
            "--failed: a failed trial has no final value; give what it reported before it"
            " failed with --metrics, or drop --failed if it finished"
        )
    if pruned is None and (intermediate is not None or step is not None):
        raise AgentHPOError(
            "--intermediate and --step describe a run stopped early; add --pruned REASON"
        )
    if failed is not None and not failed.strip():
        raise AgentHPOError("--failed '': say why the run failed (e.g. 'out of memory')")
    if intermediate is not None and not math.isfinite(intermediate):
        raise AgentHPOError(
            f"--intermediate {intermediate}: give the last finite value the run reported, or"
            " tell it --failed REASON"
        )
    task = _task(task)
    parsed = parse_metrics(metrics) if isinstance(metrics, str) else metrics
    metric = task.objective.metric
    if (
        value is not None
        and not task.is_multi_objective  # Tuner.tell says to give metrics instead
        and parsed
        and metric in parsed
        and parsed[metric] != value
    ):
        raise AgentHPOError(
            f"--value {value!r} and --metrics' {metric} {parsed[metric]!r} disagree; give the"
            " objective's value once"
        )
    return Tuner(task, storage=storage).tell(
        number,
        value=value if pruned is None else intermediate,
        metrics=parsed,
        error=failed,
        pruned=pruned,
        step=step,
    )


def _number_or_none(name: str, value: object) -> float | None:
    """``value`` as a float, or ``None``; anything but a real number (a bool, text) is
    refused, naming the option, rather than stored as 1.0 or failing deep in Optuna."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise AgentHPOError(f"{name} {value!r}: give a number")
    return float(value)


@dataclass(frozen=True)
class Proposal:
    """A configuration proposed from outside, as :func:`propose_trial` queued it.

    Attributes:
        number: The queued trial's number.
        config: What the trial will run: the proposal, or the backbone's own configuration
            when the screen turned the proposal down.
        attrs: The trial's user attributes (who proposed it and why).
        proposal: The proposal as given, normalized.
        rationale: The proposer's rationale, as stored (whitespace folded, 500 characters).
        changes: How it was normalized (snapped to steps, clipped, ...), as text.
        screen: The screen's verdict, ``None`` when the study has no screen.
        queued_before: Trials that were already waiting (they start first).
        n_trials: The study's trial budget this proposal was counted against.
    """

    number: int
    config: dict[str, Any]
    attrs: dict[str, Any]
    proposal: dict[str, Any]
    rationale: str
    changes: tuple[str, ...]
    screen: OutsideScreen | None
    queued_before: tuple[int, ...]
    n_trials: int

    @property
    def screened(self) -> bool:
        """Whether the screen turned the proposal down (the trial runs its own config)."""
        return self.screen is not None and not self.screen.passed


def queue_tuner(
    task: Task | str | Path, *, storage: str | None = None, n_trials: int | None = None
) -> Tuner:
    """A :class:`~agenthpo.tuner.Tuner` that starts the study's queued trials.

    A queued (enqueued) trial has its configuration already, so no strategy is asked for
    it; the tuner's strategy is ``random`` so that starting one needs no LLM and no API key.

    Example:
        >>> queue_tuner("task.yaml").ask()  # doctest: +SKIP
    """
    return Tuner(_task(task), storage=storage, strategy="random", n_trials=n_trials)


def propose_trial(
    task: Task | str | Path,
    config: Mapping[str, Any],
    *,
    rationale: str,
    proposer: str,
    storage: str | None = None,
    n_trials: int | None = None,
    check_budget: bool = True,
) -> Proposal:
    """Queues a configuration proposed outside the study's strategy as its next trial.

    The configuration is normalized and validated against the task's space, refused when
    an earlier, running or queued trial has it already, and judged by the study's screen
    (when its strategy has one) as the backbone's candidate for that trial: a proposal the
    screen turns down is kept in the trial's record while the trial runs the backbone's own
    configuration. The trial is an ordinary enqueued Optuna trial, stored with
    ``proposed_by: proposer`` and the rationale; start it with :func:`queue_tuner`.

    Args:
        task: The task, or its file.
        config: The proposed configuration.
        rationale: Why, in a sentence; stored with the trial (500 characters at most).
        proposer: Who proposes, e.g. ``client:claude``.
        storage: The study's storage, if not the task's own.
        n_trials: The study's trial budget, if not the task's.
        check_budget: Refuse when the budget is spent, running or queued already.

    Example:
        >>> p = propose_trial("task.yaml", {"lr": 0.01}, rationale="lower lr: #3 diverged",
        ...     proposer="client:me")  # doctest: +SKIP
        >>> p.number, p.screened  # doctest: +SKIP
        (4, False)

    Raises:
        AgentHPOError: A vacuous rationale, a configuration outside the space, a duplicate,
            or a spent budget.
    """
    task = _task(task)
    text = " ".join(str(rationale).split())
    if is_vacuous(text):
        raise AgentHPOError(
            "rationale: say in a sentence why this configuration (what in the history it"
            " follows from); it is stored with the trial"
        )
    normalized, changes = task.space.normalize(dict(config))
    violations = task.space.validate(normalized)
    if violations:
        raise AgentHPOError("\n".join(f"config: {v}" for v in violations))
    tuner = queue_tuner(task, storage=storage, n_trials=n_trials)
    study = tuner.load_study()
    trials = study.get_trials(deepcopy=False)
    others = taken_configs(trials)
    twin = find_duplicate(normalized, others, task.space)
    if twin is not None:
        raise AgentHPOError(
            f"config: trial {twin} already has this configuration (or one within 0.1% of"
            " every range); look at its result and propose another"
        )
    spent = budget(study)
    waiting = tuple(t.number for t in trials if t.state == TrialState.WAITING)
    if check_budget and spent.counted + spent.active + len(waiting) >= tuner.n_trials:
        raise AgentHPOError(
            f"the study's budget of {tuner.n_trials} trials is spent, running or queued"
            f" ({spent.counted} done, {spent.active} running, {len(waiting)} queued); give a"
            " larger n_trials to go on"
        )
    attrs: dict[str, Any] = {_keys.PROPOSED_BY: proposer, _keys.RATIONALE: text[:500]}
    runs = normalized
    # Optuna numbers a study's trials in order, so the next trial's number is len(trials);
    # the screen judges the proposal as the backbone's candidate for that trial.
    screen = screen_outside(
        task,
        study,
        normalized,
        number=len(trials),
        rationale=text,
        proposer=proposer,
        taken=others,
    )
    if screen is not None and not screen.passed:
        runs, attrs = screen.own, screen.attrs
        _logger.info("the screen turned down %s's proposal %s", proposer, normalized)
    study.enqueue_trial(runs, user_attrs=attrs)
    number = max(t.number for t in study.get_trials(deepcopy=False))
    return Proposal(
        number=number,
        config=dict(runs),
        attrs=dict(attrs),
        proposal=dict(normalized),
        rationale=text[:500],
        changes=tuple(str(c) for c in changes),
        screen=screen,
        queued_before=waiting,
        n_trials=tuner.n_trials,
    )


# -- what a study recommends ---------------------------------------------------------------


@dataclass(frozen=True)
class Recommendation:
    """The configuration a single-objective study recommends, and why.

    With noise-robust selection stored (see :meth:`agenthpo.tuner.Tuner.select`) it is the
    selected trial; otherwise the best trial. ``note`` says why there is no selection, or
    what it skipped.

    Example:
        >>> study = optuna.create_study()
        >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
        >>> rec = recommendation(study)
        >>> rec.trial.number == study.best_trial.number, rec.metric, rec.selection
        (True, 'value', None)
    """

    trial: FrozenTrial
    """The recommended trial."""
    metric: str
    """The objective's name."""
    selection: Selection | None
    """The stored noise-robust selection, if any."""
    note: str
    """Why there is no selection, or what it skipped (empty when nothing to say)."""
    raw_selection: Mapping[str, Any] | None = None
    """The selection as stored on the study."""

    def record(self) -> dict[str, Any]:
        """The JSON record ``agenthpo best --format json`` prints."""
        selection = self.selection
        raw = self.raw_selection
        return {
            "trial": self.trial.number,
            "value": self.trial.value,
            "metric": self.metric,
            "config": self.trial.params,
            "selection": (
                {**raw, "verdict": selection.verdict()}
                if selection is not None and isinstance(raw, Mapping)
                else None
            ),
            "selection_note": self.note or None,
        }


def recommendation(study: optuna.Study) -> Recommendation:
    """What a single-objective ``study`` recommends (see :class:`Recommendation`).

    Raises:
        NoResultError: No trial completed yet.
    """
    try:
        trial = study.best_trial
    except ValueError:
        raise NoResultError(f"study {study.study_name!r} has no completed trial yet") from None
    selection, note = read_selection(study)
    if selection is not None:
        trial = next((t for t in study.trials if t.number == selection.recommended), trial)
    raw = study.user_attrs.get(_keys.STUDY_SELECTION)
    return Recommendation(
        trial=trial,
        metric=metric_names(study)[0],
        selection=selection,
        note=note,
        raw_selection=raw if isinstance(raw, Mapping) else None,
    )


def pareto_records(study: optuna.Study) -> list[dict[str, Any]]:
    """The Pareto front of a multi-objective study: each trial's number, values by metric
    and config, by trial number.

    Example:
        >>> study = optuna.create_study(directions=["minimize", "minimize"])
        >>> study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=1)
        >>> [sorted(r) for r in pareto_records(study)]
        [['config', 'trial', 'values']]

    Raises:
        NoResultError: No trial completed yet.
    """
    metrics = metric_names(study)
    front = sorted(study.best_trials, key=lambda t: t.number)
    if not front:
        raise NoResultError(f"study {study.study_name!r} has no completed trial yet")
    return [
        {
            "trial": t.number,
            "values": dict(zip(metrics, t.values, strict=True)),
            "config": t.params,
        }
        for t in front
    ]
