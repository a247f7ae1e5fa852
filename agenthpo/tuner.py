"""The loop: ask the strategy, run the trial, tell the result, repeat.

A study lives in Optuna storage (by default a SQLite file beside the task file), so running
the same task again continues it: the task's ``n_trials`` is the study's total budget.

Example:
    >>> from agenthpo import Tuner, load_task
    >>> task = load_task("examples/digits_mlp/task.yaml")  # doctest: +SKIP
    >>> summary = Tuner(task, n_trials=3).run()  # doctest: +SKIP
    >>> summary.best_value  # doctest: +SKIP
    0.975
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import math
import os
import socket
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys, _optuna, _say
from agenthpo._lifecycle import (
    EXTERNAL_KEY,
    Heartbeat,
    WorkClaim,
    asked_only,
    budget,
    claims_before,
    is_counted,
    quiet_optuna,
    record_process,
    recover_stale,
    requeue_interrupted,
)
from agenthpo._text import one_line, tail_lines
from agenthpo.agent.analyst import analyze
from agenthpo.agent.explain import explain
from agenthpo.agent.revision import space_in_force
from agenthpo.agent.screen import OutsideScreen
from agenthpo.dashboard import dashboard_available, write_trial_note
from agenthpo.drift import front_drift, searched_space, space_drift
from agenthpo.errors import (
    AgentHPOError,
    LLMError,
    LLMRequiredError,
    LLMUnavailableWarning,
    TaskError,
)
from agenthpo.executor import CommandExecutor, Executor, FunctionExecutor, TrialResult
from agenthpo.executor._base import _CurveRecorder
from agenthpo.llm import LLMClient, ReplayLLM, parse_llm_spec, resolve_llm
from agenthpo.pruners import make_pruner
from agenthpo.sampler import AgentSampler
from agenthpo.selection import TRIAL_SEED, Selection, paired_gain, reevaluation_runs
from agenthpo.space import FloatParam, IntParam, Space
from agenthpo.storage import (
    expand_home,
    is_single_process,
    journal_path,
    open_storage,
    shown_url,
)
from agenthpo.strategies import make_sampler, uses_llm
from agenthpo.task import MAX_SEED, MAX_TRIALS, NoiseSection, Task, TaskContext

__all__ = [
    "RunSummary",
    "TrialEvent",
    "Tuner",
    "open_storage",
    "paired_gain",
    "reevaluation_runs",
    "replay_llm",
    "screen_outside",
    "strategy_sampler",
    "task_context",
]

_logger = logging.getLogger("agenthpo")

_CURVE_MAX_POINTS = 200
_ERROR_MAX = 500
_TAIL_MAX = 2000
_POLL_S = 1.0


@dataclass(frozen=True)
class TrialEvent:
    """What the tuner tells its listeners about a trial that started or finished."""

    number: int
    config: Mapping[str, Any]
    attrs: Mapping[str, Any]
    state: str = "running"
    value: float | None = None
    best_value: float | None = None
    error: str | None = None
    values: tuple[float, ...] = ()
    """Every objective's value, for a multi-objective task (``value`` is the first)."""
    front_size: int | None = None
    """Of a multi-objective task: how many trials the Pareto front holds now."""


TrialListener = Callable[[TrialEvent], None]


@dataclass
class RunSummary:
    """What one :meth:`Tuner.run` did, and the study's best so far."""

    study_name: str
    storage: str
    """Where the study lives, as shown (a password masked: :func:`~agenthpo.storage.shown_url`)."""
    n_run: int = 0
    n_complete: int = 0
    n_failed: int = 0
    n_pruned: int = 0
    n_total: int = 0
    best_value: float | None = None
    best_config: dict[str, Any] | None = None
    best_trial: int | None = None
    best_metrics: dict[str, float] = field(default_factory=dict)
    """Every final metric of the best trial, hidden ones included (for the user's eyes)."""
    metric: str = "value"
    pareto_front: list[dict[str, Any]] = field(default_factory=list)
    """Of a multi-objective task: the trials no other trial beats on every objective, as
    ``{"number", "values", "config"}`` (``best_*`` then describe the front's best on the
    first objective)."""
    metrics: list[str] = field(default_factory=list)
    """The objectives' metrics, in order."""
    llm_calls: int = 0
    llm_prompt_tokens: int = 0
    llm_completion_tokens: int = 0
    llm_seconds: float = 0.0
    llm_cost_usd: float = 0.0
    fallbacks: int = 0
    stopped_by_time_limit: bool = False
    fallback_reasons: dict[str, int] = field(default_factory=dict)
    llm_note: str | None = None
    llm_turns: int = 0
    """Trials on which the LLM was asked (its proposal used, screened out, or fallen back)."""
    asks_llm: bool = False
    """Whether the run's sampler has an LLM to ask (an LLM strategy), turns or not."""
    stopped_early: str | None = None
    """Why the run stopped before its budget (:func:`same_failures`: the last trials to
    finish failed with one error and no trial ever completed, a setup mistake such as a
    misspelt script), or ``None``."""
    llm_used: int = 0
    """Trials that ran the LLM's proposal."""
    llm_failure: str | None = None
    """Why the LLM could not run (its first error in this run), or ``None``."""
    n_interrupted: int = 0
    """Trials stopped before they finished (the time limit): not counted, and run again."""
    last_error: str | None = None
    """The error of the last trial of this run that failed."""
    selection: dict[str, Any] | None = None
    """The noise-robust recommendation (see :meth:`Tuner.select`), when selection is on
    (:meth:`agenthpo.task.Task.noise_setup`), else ``None``. Its keys:

    * ``recommended_trial`` and ``config``: the configuration to use (``best_*`` then
      describe this trial, not the best single run);
    * ``improvement``: ``True`` when it beats the default configuration beyond the noise
      band, ``False`` when the default is recommended instead (nothing beat it beyond the
      band), ``None`` when there was no default to compare with;
    * ``reason``: why, on one line;
    * ``best_single_run`` and ``default_trial``: the trial that won on one seed, and the
      default configuration's trial (``None`` if there is none, or it was not re-run);
    * ``candidates``: ``{trial number: {"mean", "std", "n"}}`` over the seeds each ran with
      (``seeds``: its trial's seed 0 and the re-runs' seeds 1..repeats), or, with
      ``noise.fold_param``, over the held-out folds alone (``folds``: 1..repeats; no
      ``seeds`` key);
    * ``band``: the noise band's width in the metric's units (``None`` without a default);
      with held-out folds, that of the paired fold-by-fold differences to the default;
    * ``skipped``: ``{trial number: why}`` for candidates that were not re-evaluated, and
      ``note``: that, and failed re-runs, on one line (``None`` when all went as planned).

    Example:
        >>> s = RunSummary("s", "sqlite://", selection={"recommended_trial": 0,
        ...     "improvement": False, "reason": "the default is as good"})
        >>> s.selection["improvement"]
        False
    """
    n_reevaluations: int = 0
    """Runs of the study spent re-evaluating configurations on further seeds: they count
    against ``n_trials`` like trials (``n_total + n_reevaluations <= n_trials``), but are no
    trials (the sampler never sees them)."""
    reevaluation_note: str | None = None
    """Why re-evaluation was skipped, cut short or partly failed (``None`` when it ran as
    planned, or selection is off)."""
    awaiting_tell: tuple[int, ...] = ()
    """Trials asked for (``agenthpo ask``) and not yet told, when they held the rest of the
    budget and the run stopped rather than wait for them."""
    space_note: str | None = None
    """One line when the best configuration (or one on the Pareto front) no longer fits the
    task's space, changed after it ran (:mod:`agenthpo.drift`); ``None`` when it fits."""

    def failure(self) -> str | None:
        """Why this run achieved nothing, on one line; ``None`` when it did not fail.

        A run fails when trials of it failed and none completed: the training script is
        missing, crashes, or never reports the metric. Pruned trials are the pruner's
        judgement and interrupted ones run again, so neither alone fails a run, unless the
        pruner stopped every trial of a study that has no result at all: then there is no
        configuration to give.

        Example:
            >>> RunSummary("s", "sqlite://", n_run=2, n_failed=2, last_error="boom").failure()
            'no trial completed: all 2 failed; the last: boom'
            >>> RunSummary("s", "sqlite://", n_run=2, n_pruned=2).failure()[:48]
            'no trial completed: all 2 were pruned, and the s'
        """
        if self.n_complete:
            return None
        if not self.n_failed:
            if not self.n_pruned or self.best_config is not None:
                return None
            return (
                f"no trial completed: all {self.n_pruned} were pruned, and the study has no"
                " completed trial to recommend; each trial's reason is stored with it (a run"
                " that diverges early is pruned: narrow the range that makes it diverge)"
            )
        if self.stopped_early is not None:
            return (
                f"stopped early, as the rest of the budget would fail alike: {self.stopped_early};"
                " fix the cause and run the same command again (the rest of the budget is kept)"
            )
        if self.n_failed == self.n_run:
            counts = f"all {self.n_failed} failed"
        else:
            extra = (f"{self.n_pruned} pruned", f"{self.n_interrupted} interrupted")
            counts = ", ".join(
                [f"{self.n_failed} failed"] + [x for x in extra if not x.startswith("0 ")]
            )
        return f"no trial completed: {counts}; the last: {self.last_error or 'no error recorded'}"


def task_context(task: Task) -> TaskContext:
    """The background the agent reads, from a task (the same as :meth:`Task.context`)."""
    return task.context()


def strategy_sampler(
    task: Task,
    *,
    strategy: str | None = None,
    llm: LLMClient | None = None,
    seed: int | None = None,
) -> BaseSampler:
    """The sampler of ``strategy`` (default: the task's) with the task's options, as
    :class:`Tuner` builds it. With ``llm=None`` an LLM strategy's sampler resolves its
    model only when it first asks it.

    Example:
        >>> from agenthpo import load_task
        >>> task = load_task("examples/quadratic/task.yaml")  # doctest: +SKIP
        >>> type(strategy_sampler(task, strategy="tpe")).__name__  # doctest: +SKIP
        'TPESampler'
    """
    strategy = strategy or task.strategy
    return make_sampler(
        strategy,
        llm=llm,
        space=task.space,
        context=task.context(),
        seed=seed if seed is not None else task.seed,
        hidden_metrics=task.hidden_metrics,
        policy=task.llm_policy(strategy),
    )


def screen_outside(
    task: Task,
    study: optuna.Study,
    config: dict[str, Any],
    *,
    number: int,
    rationale: str,
    proposer: str,
    taken: Sequence[tuple[int, Mapping[str, Any]]] = (),
) -> OutsideScreen | None:
    """TPE's screen of a configuration proposed outside the study's strategy (by an MCP
    client) for trial ``number``, when the task's policy screens its LLM's proposals
    (``policy.screen``, or its preset for the study's stored model profile); see
    :meth:`AgentSampler.screen_outside`. No LLM is asked or resolved.

    Example:
        >>> screen = screen_outside(  # doctest: +SKIP
        ...     task, study, {"x": 4.0}, number=12, rationale="why", proposer="client:me")
        >>> screen.passed, screen.own  # doctest: +SKIP
        (False, {'x': 2.1})

    Returns:
        ``None`` when the study does not screen; else TPE's own configuration for the trial
        and its verdict (``None`` while TPE cannot judge yet).
    """
    sampler = strategy_sampler(task)
    if not isinstance(sampler, AgentSampler):
        return None
    return sampler.screen_outside(
        study, config, number=number, rationale=rationale, proposer=proposer, taken=taken
    )


def replay_llm(storage: str, study_name: str) -> ReplayLLM:
    """A :class:`ReplayLLM` serving the answers a stored study recorded, in trial order.

    Raises:
        AgentHPOError: No such study, or it recorded no LLM answers.
    """
    try:
        source = optuna.load_study(
            study_name=study_name, storage=open_storage(storage, for_reading=True)
        )
    except KeyError:
        raise AgentHPOError(
            f"--replay: no study named {study_name!r} in {shown_url(storage)}"
        ) from None
    texts: list[str] = []
    model = "recorded"
    for trial in sorted(source.get_trials(deepcopy=False), key=lambda t: t.number):
        calls = trial.system_attrs.get(_keys.SYS_LLM_CALLS) or []
        for call in calls:
            if isinstance(call, dict) and isinstance(call.get("text"), str):
                texts.append(call["text"])
                model = str(call.get("model") or model)
    if not texts:
        raise AgentHPOError(
            f"--replay: study {study_name!r} in {shown_url(storage)} recorded no LLM answers"
            " to replay"
        )
    stored = source.user_attrs.get(_keys.STUDY_SCHEDULE)
    embedded = isinstance(stored, dict) and bool(stored.get("embedded"))
    return ReplayLLM(texts, model=model, embedded=embedded)


def suggest_config(trial: optuna.Trial, space: Space) -> dict[str, Any]:
    """Suggests every active parameter of ``space`` on ``trial``, in order.

    Conditional parameters are suggested only when their condition holds, and those an
    enqueued trial leaves out (``_keys.LEFT_OUT``: a baseline's script defaults) not at
    all, so Optuna stores exactly the configuration that runs.
    """
    left_out = set(trial.user_attrs.get(_keys.LEFT_OUT) or ())
    config: dict[str, Any] = {}
    for name, param in space.items():
        if name in left_out or (param.condition and name not in space.active(config)):
            continue
        if isinstance(param, FloatParam):
            config[name] = trial.suggest_float(
                name, param.low, param.high, log=param.log, step=param.step
            )
        elif isinstance(param, IntParam):
            config[name] = trial.suggest_int(
                name, param.low, param.high, log=param.log, step=param.step
            )
        else:
            config[name] = trial.suggest_categorical(name, list(param.choices))
    return config


def _python_argv(argv: Sequence[str]) -> list[str]:
    """``python`` in a command means the interpreter AgentHPO runs in (its virtualenv)."""
    out = list(argv)
    if out and out[0] in ("python", "python3"):
        out[0] = sys.executable
    return out


def build_executor(task: Task) -> Executor:
    """The executor a task describes."""
    # The task's own metrics survive the limit on metric names a run may report.
    keep = (*task.metric_names, *task.hidden_metrics)
    if task.command is not None:
        return CommandExecutor(
            _python_argv(task.command),
            cwd=task.base_dir,
            timeout=task.timeout,
            env=task.env or None,
            keep_metrics=keep,
            # an inactive conditional parameter's element is left out of the command
            optional=[n for n in task.space.names if getattr(task.space[n], "condition", None)],
        )
    assert task.function is not None
    # A returned number is the objective's value (several objectives need a mapping), and
    # the function runs beside its task file, as a command does, wherever the run starts.
    return FunctionExecutor(
        task.function,
        search_path=task.base_dir,
        timeout=task.timeout,
        keep_metrics=keep,
        metric=task.objective.metric if not task.is_multi_objective else "value",
        cwd=task.base_dir,
    )


def _downsample(curve: list[dict[str, float]], limit: int = _CURVE_MAX_POINTS) -> list[Any]:
    if len(curve) <= limit:
        return curve
    step = len(curve) / (limit - 1)
    picked = [curve[int(i * step)] for i in range(limit - 1)]
    picked.append(curve[-1])
    return picked


def _check_arguments(
    n_trials: int, time_limit: float | None, sampler: object, executor: object
) -> None:
    """Refuses arguments that would otherwise fail only inside the first trial (leaving it
    half done) or run nothing in silence; the task file's own fields are checked at load."""
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise AgentHPOError(f"n_trials {n_trials!r}: give a whole number of trials, at least 1")
    if n_trials > MAX_TRIALS:
        raise AgentHPOError(f"n_trials {n_trials}: give at most {MAX_TRIALS:,} trials")
    if time_limit is not None and not (
        isinstance(time_limit, int | float) and math.isfinite(time_limit) and time_limit > 0
    ):
        raise AgentHPOError(f"time_limit {time_limit!r}: give seconds above 0, or None")
    if sampler is not None and not isinstance(sampler, BaseSampler):
        hint = (
            f" (for a strategy by name: strategy={sampler!r})" if isinstance(sampler, str) else ""
        )
        raise AgentHPOError(f"sampler: give an Optuna sampler, not {type(sampler).__name__}{hint}")
    if executor is not None and not callable(getattr(executor, "run", None)):
        hint = " (for a function: FunctionExecutor(fn))" if callable(executor) else ""
        raise AgentHPOError(
            f"executor: give an Executor with a run method, not {type(executor).__name__}{hint}"
        )


class Tuner:
    """Runs a task's study to its budget.

    Args:
        task: The task.
        llm: The model: a client, or a spec such as ``"ollama:qwen2.5:7b"``; ``None``
            takes the task's ``llm:`` spec or picks one (:func:`agenthpo.llm.resolve_llm`).
        storage: An Optuna storage URL; ``None`` means the task's ``storage`` or a SQLite
            file beside the task file.
        seed: Seeds the sampler (and the LLM where supported); ``None`` takes the task's.
        n_trials: The study's total budget; ``None`` takes the task's ``n_trials``.
        strategy: Who proposes trials (:mod:`agenthpo.strategies`); ``None`` takes the task's.
        time_limit: Seconds for the whole run; the trial running when it ends is stopped,
            stored as interrupted (outside the budget) and queued to run again next time.
        prefetch: Prepare the LLM's next proposal while a trial runs (see
            :meth:`AgentSampler.prefetch`), taking the LLM off the critical path.
        sampler: Any Optuna sampler instead of a strategy's.
        executor: How trials run; ``None`` builds it from the task.
        on_trial_start: Called with a :class:`TrialEvent` when a trial starts.
        on_trial_end: Called with a :class:`TrialEvent` when a trial has been stored.
    """

    def __init__(
        self,
        task: Task,
        *,
        llm: LLMClient | str | None = None,
        storage: str | None = None,
        seed: int | None = None,
        n_trials: int | None = None,
        strategy: str | None = None,
        prefetch: bool = True,
        time_limit: float | None = None,
        sampler: BaseSampler | None = None,
        executor: Executor | None = None,
        on_trial_start: Sequence[TrialListener] = (),
        on_trial_end: Sequence[TrialListener] = (),
    ) -> None:
        self.task = task
        self.storage_url = storage or task.default_storage()
        # Who this run is when it claims study-wide work (a re-evaluation) among workers.
        self._worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.seed = seed if seed is not None else task.seed
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise AgentHPOError(f"seed {self.seed}: give a seed from 0 to 2**32 - 1")
        budget_ = n_trials if n_trials is not None else task.n_trials
        if budget_ is None:
            raise TaskError(
                f"{task.name}: no budget: add n_trials to the task file (agenthpo run also"
                " takes --n-trials N)"
            )
        self.n_trials: int = budget_
        self.strategy = strategy or task.strategy
        self.prefetch = prefetch
        self.time_limit = time_limit if time_limit is not None else task.time_limit
        _check_arguments(self.n_trials, self.time_limit, sampler, executor)
        self.noise: NoiseSection | None = task.noise_setup()
        """The noise-robust selection in force (``None``: off); see
        :meth:`agenthpo.task.Task.noise_setup`."""
        if isinstance(llm, str):  # a spec, as agenthpo.create_study and --llm take
            llm = parse_llm_spec(llm, settings=task.llm_settings())
        self._llm = llm
        self._sampler = sampler
        self._executor = executor
        self.on_trial_start = list(on_trial_start)
        self.on_trial_end = list(on_trial_end)
        self.llm_note: str | None = None
        self._notes = dashboard_available()
        self._llm_checked: tuple[str | None] | None = None
        self.llm_check_s: float | None = None
        """Seconds the start check took when the LLM passed it (``None`` otherwise)."""

    def _resolve_llm(self) -> LLMClient:
        if self._llm is None:
            section = self.task.llm
            where = self.task.source.name if self.task.source is not None else self.task.name
            self._llm, self.llm_note = resolve_llm(
                section.spec if section is not None else None,
                settings=self.task.llm_settings(),
                source=f"{where}: llm:",  # a spec from the task file, not --llm
            )
        return self._llm

    def sampler(self) -> BaseSampler:
        """The sampler the study uses: the given one, or the strategy's."""
        if self._sampler is None:
            llm = self._resolve_llm() if uses_llm(self.strategy) else None
            self._sampler = strategy_sampler(
                self.task, strategy=self.strategy, llm=llm, seed=self.seed
            )
        return self._sampler

    def check_llm(self) -> str | None:
        """Checks, before the first trial, that the strategy's LLM can run (a local model
        loads, a server answers); returns why not, or ``None`` when it can or when the
        strategy asks no LLM.

        Raises:
            LLMRequiredError: The LLM cannot run and the task requires it.
        """
        if self._llm_checked is not None:
            return self._llm_checked[0]
        sampler = self.sampler()
        if not isinstance(sampler, AgentSampler):
            self._llm_checked = (None,)
            return None
        llm = sampler.llm
        check = getattr(llm, "check", None)
        if check is None:
            return None
        try:
            self.llm_check_s = float(check())
        except LLMError as exc:
            failure = f"the LLM ({llm.name}) cannot run: {exc}"
            if self.task.require_llm:
                raise LLMRequiredError(f"{failure} (require_llm is on, so nothing runs)") from exc
            sampler.failed_before(self.task.name, str(exc))  # the run's first lines say it
            self._llm_checked = (failure,)
            return failure
        self._llm_checked = (None,)
        return None

    def pruner(self) -> optuna.pruners.BasePruner:
        """The task's pruner (:mod:`agenthpo.pruners`); Optuna's ``NopPruner`` without one."""
        spec = self.task.pruner_spec()
        try:
            pruner = make_pruner(spec)
        except (TypeError, ValueError) as exc:
            raise AgentHPOError(f"pruner: {exc}; see agenthpo.pruners for the options") from None
        return pruner if pruner is not None else optuna.pruners.NopPruner()

    def load_study(self) -> optuna.Study:
        """Creates the study, or loads it if the storage already holds it."""
        try:
            with quiet_optuna():  # the run's own first line says which study it opened
                study = optuna.create_study(
                    study_name=self.task.name,
                    storage=open_storage(self.storage_url),
                    directions=self.task.directions,
                    sampler=self.sampler(),
                    pruner=self.pruner(),
                    load_if_exists=True,
                )
        except (optuna.exceptions.StorageInternalError, ValueError) as exc:
            raise AgentHPOError(
                f"cannot open the study storage {shown_url(self.storage_url)}: {exc}"
            ) from exc
        stored = [d.name.lower() for d in study.directions]
        if stored != self.task.directions:
            was, now = " and ".join(stored), " and ".join(self.task.directions)
            if len(stored) == len(self.task.directions):
                what = f"was created to {was}; the task now says {now}"
            else:
                objectives = "objective" if len(stored) == 1 else "objectives"
                what = (
                    f"was created with {len(stored)} {objectives} ({was}); the task now has"
                    f" {len(self.task.directions)} ({now})"
                )
            raise AgentHPOError(
                f"study {self.task.name!r} in {shown_url(self.storage_url)} {what}. Rename the"
                " task or use another storage."
            )
        self._check_metric(study)
        stored_params: dict[str, optuna.distributions.BaseDistribution] = {}
        for trial in study.get_trials(deepcopy=False):
            for name, dist in trial.distributions.items():
                stored_params.setdefault(name, dist)
        conflicts = self.task.space.conflicts_with(stored_params)
        if conflicts:
            # Optuna refuses such a trial only when it stores the parameter, mid-run.
            raise AgentHPOError(
                f"study {self.task.name!r} in {shown_url(self.storage_url)} holds trials whose"
                f" parameters do not fit the task's space ({'; '.join(conflicts)}); Optuna"
                " cannot mix them in one study. Rename the task or use another storage."
            )
        attrs = study.user_attrs
        if _keys.STUDY_METRIC not in attrs:
            # Optuna's own metric names label the axes in optuna-dashboard.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names(self.task.metric_names)
            study.set_user_attr(
                _keys.STUDY_METRIC,
                self.task.objective.metric
                if not self.task.is_multi_objective
                else self.task.metric_names,
            )
            study.set_user_attr(_keys.STUDY_HIDDEN, list(self.task.hidden_metrics))
            study.set_user_attr(
                _keys.STUDY_TASK,
                {
                    "name": self.task.name,
                    "description": self.task.description,
                    "dataset": self.task.dataset,
                    "model": self.task.model,
                    "space": self.task.space.to_dict(),
                },
            )
        baseline = self.task.baseline() if self.task.default_config else None
        if baseline is not None and not attrs.get(_keys.STUDY_DEFAULT_ENQUEUED):
            config, left_out = baseline
            about: dict[str, Any] = {
                _keys.PROPOSED_BY: "default_config",
                _keys.RATIONALE: "the task's default configuration, run first as a baseline",
            }
            if left_out:  # null in the task file: the script's own default
                about[_keys.LEFT_OUT] = left_out
            study.enqueue_trial(config, user_attrs=about)
            study.set_user_attr(_keys.STUDY_DEFAULT_ENQUEUED, True)
        if not attrs.get(_keys.STUDY_WARM_STARTED):
            for config, origin in self._warm_start_configs():
                study.enqueue_trial(
                    config,
                    user_attrs={
                        _keys.PROPOSED_BY: "warm_start",
                        _keys.RATIONALE: origin,
                        _keys.WARM_START: origin,
                    },
                    skip_if_exists=True,
                )
            study.set_user_attr(_keys.STUDY_WARM_STARTED, True)
        return study

    def _check_metric(self, study: optuna.Study) -> None:
        """Refuses a study whose stored values measure another metric than the task's: a
        renamed objective (or another task of the same name) would mix two metrics under
        one name, and the search would compare numbers that do not measure the same thing.
        A study that never stored its metric (created outside AgentHPO) is not judged."""
        stored = study.user_attrs.get(_keys.STUDY_METRIC)
        if stored is None:
            return
        was = [str(m) for m in stored] if isinstance(stored, list) else [str(stored)]
        now = list(self.task.metric_names)
        if was == now:
            return
        # The directions matched already (load_study), so the metrics pair with them.
        goal = " and ".join(f"{d} {m}" for d, m in zip(self.task.directions, was, strict=False))
        raise AgentHPOError(
            f"study {self.task.name!r} in {shown_url(self.storage_url)} was created to {goal};"
            f" the task now optimizes {', '.join(now)}. Its trials measure another metric:"
            " rename the task or use another storage."
        )

    def _warm_start_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Known-good configs from the task file, then the best of an earlier study."""
        out: list[tuple[dict[str, Any], str]] = [
            (dict(config), f"warm start: known-good config #{i + 1} from the task file")
            for i, config in enumerate(self.task.warm_start)
        ]
        source = self.task.warm_start_from
        if source is None:
            return out
        url, _, name = source.study.partition("#")
        name = name or self.task.name
        try:
            earlier = optuna.load_study(
                study_name=name, storage=open_storage(url, for_reading=True)
            )
        except KeyError:
            raise AgentHPOError(
                f"warm_start_from: no study named {name!r} in {shown_url(url)}; give URL#STUDY"
            ) from None
        done = [t for t in earlier.trials if t.state == TrialState.COMPLETE and t.values]
        if len(earlier.directions) > 1:
            front = {t.number for t in earlier.best_trials}  # the Pareto front first
            done.sort(key=lambda t: t.number not in front)
        else:
            maximize = earlier.direction == optuna.study.StudyDirection.MAXIMIZE
            done.sort(key=lambda t: t.values[0], reverse=maximize)
        for t in done:
            if len(out) >= len(self.task.warm_start) + source.top:
                break
            config, _ = self.task.space.normalize(t.params)
            if self.task.space.validate(config):
                continue  # the space changed since; this config no longer fits
            out.append(
                (
                    config,
                    f"warm start: trial {t.number} of study {name!r}"
                    f" ({', '.join(format(v, '.6g') for v in t.values)}),"
                    f" one of its {source.top} best",
                )
            )
        return out

    def run(self) -> RunSummary:
        """Runs trials until the study's budget of ``n_trials`` counted trials is spent.

        Several processes may run the same study (``agenthpo worker``); together they run
        exactly the budget. A trial whose runner died is detected by its stale heartbeat,
        marked interrupted, and run again; interrupted trials do not spend the budget.

        Returns:
            What this run did and the study's best so far.
        """
        study = self.load_study()
        executor = self._executor or build_executor(self.task)
        if self._llm_checked is None:
            failure = self.check_llm()
            if failure:
                text = f"{failure}; the backbone proposes the LLM's trials instead"
                _say.warn(text, LLMUnavailableWarning, stacklevel=2)
        summary = RunSummary(
            study_name=study.study_name,
            storage=shown_url(self.storage_url),
            metric=self.task.objective.metric,
            metrics=self.task.metric_names,
        )
        summary.llm_note = self.llm_note
        summary.asks_llm = isinstance(self._sampler, AgentSampler)
        started = time.monotonic()
        ran: set[int] = set()  # this run's trials
        with quiet_optuna(), self._prefetch_ends():
            while True:
                recover_stale(study)
                spent = budget(study)
                limit = self.search_budget(study, spent.active)
                if spent.counted >= limit:
                    break
                if ran:  # a fixed cause gets its trial before the check
                    summary.stopped_early = same_failures(study, ran)
                    if summary.stopped_early is not None:
                        _logger.info("stopping: %s", summary.stopped_early)  # failure() says it
                        break
                if self._time_left(started) == 0.0:
                    summary.stopped_by_time_limit = True
                    break
                if spent.counted + spent.active >= limit:
                    asked = asked_only(study)
                    if asked:
                        # Only `agenthpo ask` trials hold the rest: they end when someone
                        # tells them, which may be never; waiting would hang silently.
                        summary.awaiting_tell = asked
                        _logger.warning(
                            "the rest of the budget is held by asked trials not yet told (%s);"
                            " stopping",
                            ", ".join(f"#{n}" for n in asked),
                        )
                        break
                    # The rest of the budget is running elsewhere (or waits for a dead
                    # runner's grace period): wait for it to finish or to be recovered.
                    time.sleep(_POLL_S)
                    continue
                frozen = self._next_trial(study, executor, started, limit)
                if frozen is None:
                    continue
                summary.n_run += 1
                ran.add(frozen.number)
                self._account(summary, frozen)
                noise = self.noise
                if noise is not None and budget(study).counted % noise.every == 0:
                    self.measure_noise(study, executor)
            if self.noise is not None and not self.task.is_multi_objective:
                if summary.stopped_by_time_limit:
                    summary.reevaluation_note = (
                        "the time limit was reached before the top candidates were re-evaluated"
                        " on further seeds; run the same command again to finish"
                    )
                elif summary.stopped_early is not None:
                    pass  # nothing completed: nothing to re-evaluate
                elif summary.awaiting_tell:
                    # An asked trial's result may change the top candidates: re-evaluating
                    # now would spend the re-runs' share on the wrong ones.
                    summary.reevaluation_note = (
                        "re-evaluation waits for the asked trials; tell them and run the same"
                        " command again"
                    )
                else:
                    self.select(study, executor, started=started)
        self._finish_summary(summary, study)
        sampler = self.sampler()
        if isinstance(sampler, AgentSampler):
            summary.llm_failure = sampler.llm_failure
        return summary

    @contextlib.contextmanager
    def _prefetch_ends(self) -> Iterator[None]:
        """Abandons, when the run ends (an error or Ctrl-C included), a proposal being
        prepared for a trial this run will not start."""
        try:
            yield
        finally:
            if isinstance(self._sampler, AgentSampler):
                self._sampler.shutdown()

    def _time_left(self, started: float) -> float | None:
        if self.time_limit is None:
            return None
        return max(0.0, self.time_limit - (time.monotonic() - started))

    def _next_trial(
        self, study: optuna.Study, executor: Executor, started: float, limit: int
    ) -> FrozenTrial | None:
        """Asks for, runs and stores one trial; ``None`` if it lost the race for the budget."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Heartbeat of storage")
            trial = study.ask()
        with Heartbeat(_optuna.storage_of(study), _optuna.trial_id(trial)):
            try:
                if claims_before(study, trial.number) >= limit:
                    # Another worker took the last slot between our check and our ask.
                    trial.set_user_attr(_keys.NOT_COUNTED, "surplus")
                    trial.set_user_attr(_keys.ERROR, "surplus: the budget was spent meanwhile")
                    study.tell(trial, state=TrialState.FAIL)
                    return None
                suggest_config(trial, self.space_in_force(study))
                return self._run_trial(study, trial, executor, started)
            except KeyboardInterrupt as exc:
                if self._still_running(study, trial):
                    self._interrupt(study, trial, "interrupted", _interrupted_by(exc))
                raise
            except Exception as exc:
                self._fail_unfinished(study, trial, exc)
                raise

    @staticmethod
    def _still_running(study: optuna.Study, trial: optuna.Trial) -> bool:
        return _optuna.stored_trial(study, trial).state == TrialState.RUNNING

    def _fail_unfinished(self, study: optuna.Study, trial: optuna.Trial, exc: Exception) -> None:
        """Fails a trial that an error stopped before its run was stored (the sampler, a
        listener, the executor itself), outside the budget, so that no trial is left
        RUNNING for the next run to wait on; its configuration, if drawn, runs again."""
        if not self._still_running(study, trial):
            return
        attrs = _optuna.stored_trial(study, trial).user_attrs
        if _keys.ERROR not in attrs:
            trial.set_user_attr(
                _keys.ERROR, one_line(f"did not run: {type(exc).__name__}: {exc}", 500)
            )
        if not attrs.get(_keys.NOT_COUNTED):
            trial.set_user_attr(_keys.NOT_COUNTED, "error")
        with quiet_optuna():
            study.tell(trial, state=TrialState.FAIL)
        requeue_interrupted(study)

    def space_in_force(self, study: optuna.Study) -> Space:
        """The space new trials of ``study`` are drawn from: the task's, with the study's
        accepted revisions applied (``policy.revise_space_every``;
        :mod:`agenthpo.agent.revision`)."""
        return space_in_force(self.task.space, study.user_attrs)

    def selection(self) -> Selection | None:
        """The run's noise-robust selection (:mod:`agenthpo.selection`), ``None`` when the
        task's ``noise:`` section is off; built from the tuner's settings as they are now."""
        if self.noise is None:
            return None
        return Selection(
            self.task,
            self.noise,
            self.n_trials,
            self.storage_url,
            self._worker,
            outcome=self._outcome,
            time_left=self._time_left,
        )

    def _seeded(self, config: Mapping[str, Any], seed: int) -> dict[str, Any]:
        """``config`` with the seed a run takes when selection is on (else as it is)."""
        selection = self.selection()
        return dict(config) if selection is None else selection.seeded(config, seed)

    def search_budget(self, study: optuna.Study, active: int = 0) -> int:
        """How many trials the study may hold before it stops proposing new ones.

        Without selection, ``n_trials`` less any re-evaluation runs stored. With it, the
        re-evaluation runs count against the budget: those already run, and those the final
        selection needs (:meth:`Selection.search_budget
        <agenthpo.selection.Selection.search_budget>`).

        Example:
            >>> from agenthpo.task import task_from_dict
            >>> task = task_from_dict({"name": "t", "n_trials": 20, "function": "m:f",
            ...     "objective": {"metric": "loss", "direction": "minimize"},
            ...     "space": {"x": {"type": "float", "low": 0, "high": 1}},
            ...     "default_config": {"x": 0.5}, "noise": {"repeats": 2, "top": 3}})
            >>> study = optuna.create_study()
            >>> Tuner(task).search_budget(study)  # room kept for 2 re-runs of 1 candidate
            18
        """
        selection = self.selection()
        if selection is None:
            return self.n_trials - reevaluation_runs(study)
        return selection.search_budget(study, active)

    def measure_noise(self, study: optuna.Study, executor: Executor) -> dict[str, Any] | None:
        """Re-evaluates the incumbent on further seeds when selection is on and the budget
        has room (:meth:`Selection.measure_noise
        <agenthpo.selection.Selection.measure_noise>`)."""
        selection = self.selection()
        return None if selection is None else selection.measure_noise(study, executor)

    def select(
        self, study: optuna.Study, executor: Executor, *, started: float | None = None
    ) -> dict[str, Any] | None:
        """Recommends a configuration by evidence that survives seed noise, when selection
        is on (:meth:`Selection.select <agenthpo.selection.Selection.select>`); ``started``
        is the run's start (``time.monotonic()``), from which its time limit counts."""
        selection = self.selection()
        return None if selection is None else selection.select(study, executor, started=started)

    def _run_trial(
        self, study: optuna.Study, trial: optuna.Trial, executor: Executor, started: float
    ) -> FrozenTrial:
        config = dict(trial.params)
        attrs = dict(_optuna.stored_trial(study, trial).user_attrs)
        if _keys.PROPOSED_BY not in attrs:
            # A classical strategy (or an enqueued trial): say who proposed it.
            fixed = _optuna.stored_trial(study, trial).system_attrs.get("fixed_params")
            attrs[_keys.PROPOSED_BY] = "enqueued" if fixed else self.strategy
            trial.set_user_attr(_keys.PROPOSED_BY, attrs[_keys.PROPOSED_BY])
        self._explain_classical(study, trial, attrs)
        trial.set_user_attr(_keys.STRATEGY, self.strategy)
        event = TrialEvent(number=trial.number, config=config, attrs=attrs)
        for listener in self.on_trial_start:
            listener(event)
        metric = self.task.objective.metric
        reported_steps: set[int] = set()
        pruning = self.task.pruner_spec() not in (None, "none")
        # Optuna keeps intermediate values (and prunes) for single-objective studies only;
        # a multi-objective trial's curve is still stored and analysed.
        intermediate = not self.task.is_multi_objective
        seen = _CurveRecorder(keep=self.task.metric_names)  # bounded, as the executor's
        pruned_because: list[str] = []

        def on_report(step: int | None, metrics: dict[str, float]) -> None:
            if step is not None:
                seen.add(step, metrics)
            value = metrics.get(metric)
            if step is None or value is None:
                return
            if not math.isfinite(value):
                if pruning:
                    pruned_because.append(f"diverged: {metric} became {value} at step {step}")
                    raise optuna.TrialPruned()
                return
            if step in reported_steps or not intermediate:
                return
            reported_steps.add(step)
            try:
                trial.report(value, step)
            except (OverflowError, ValueError, optuna.exceptions.StorageInternalError) as exc:
                # One intermediate value storage cannot take (a step beyond its integers)
                # costs that point of the curve, never the trial nor the run.
                _logger.warning(
                    "trial %d: step %s not stored (%s)", trial.number, step, one_line(str(exc), 200)
                )
                return
            if pruning and trial.should_prune():
                pruner = type(study.pruner).__name__
                pruned_because.append(
                    f"pruned by {pruner} at step {step} ({metric}={value:.6g}): not promising"
                )
                raise optuna.TrialPruned()

        sampler = self.sampler()
        spent = budget(study)
        if (
            self.prefetch
            and isinstance(sampler, AgentSampler)
            and spent.counted + spent.active < self.search_budget(study, spent.active)
        ):  # another search trial follows (re-evaluation runs ask no LLM)
            sampler.prefetch(study, trial.number + 1)
        left = self._time_left(started)
        timeout = self.task.timeout
        cut_by_limit = left is not None and (timeout is None or left < timeout)
        if cut_by_limit:
            timeout = max(left or 0.0, 0.001)

        def on_start(pid: int) -> None:
            record_process(_optuna.storage_of(study), _optuna.trial_id(trial), pid)

        try:
            result = executor.run(
                self._seeded(config, TRIAL_SEED),
                trial_number=trial.number,
                on_report=on_report,
                on_start=on_start,
                timeout=timeout,
            )
        except optuna.TrialPruned:
            reason = pruned_because[-1] if pruned_because else "pruned"
            points = seen.points()
            if points:
                trial.set_user_attr(_keys.CURVE, _downsample(points))
                last = {k: v for k, v in points[-1].items() if k != "step"}
                trial.set_user_attr(_keys.METRICS, last)
            trial.set_user_attr(_keys.ANALYSIS, reason)
            with quiet_optuna():
                study.tell(trial, state=TrialState.PRUNED)
            frozen = _optuna.stored_trial(study, trial)
            self._write_note(study, frozen)
            pruned_event = TrialEvent(
                number=trial.number,
                config=config,
                attrs=frozen.user_attrs,
                state="pruned",
                best_value=_best_value(study),
                error=reason,
            )
            for listener in self.on_trial_end:
                listener(pruned_event)
            return frozen
        except KeyboardInterrupt as exc:
            self._interrupt(study, trial, "interrupted", _interrupted_by(exc))
            raise
        except AgentHPOError as exc:
            # The run could not start (no such program, one not executable): a setup
            # mistake, not a result of the configuration, so outside the budget and queued
            # to run once the mistake is fixed (once: see _lifecycle._needs_rerun).
            self._interrupt(study, trial, "error", str(exc))
            raise
        values, error = self._outcome(result)
        if result.status == "timeout" and cut_by_limit:
            self._store_result(trial, result, "stopped: the study's time limit was reached")
            self._interrupt(
                study, trial, "time_limit", "stopped: the study's time limit was reached"
            )
            return _optuna.stored_trial(study, trial)
        try:
            self._store_result(trial, result, error)
            if error is None:
                study.tell(trial, values)
            else:
                study.tell(trial, state=TrialState.FAIL)
        except (optuna.exceptions.UpdateFinishedTrialError, ValueError) as exc:
            # Another worker declared this trial lost (its heartbeat starved for the whole
            # grace period, e.g. on an overloaded machine) and queued its config again; the
            # rerun will produce the stored result.
            _logger.warning(
                "trial %d was declared lost while it ran, so its result (%s) is not stored;"
                " its rerun will be (raise AGENTHPO_GRACE_PERIOD on a busy machine): %s",
                trial.number,
                values if error is None else error,
                exc,
            )
        frozen = _optuna.stored_trial(study, trial)
        self._write_note(study, frozen)
        best = _best_value(study)
        end = TrialEvent(
            number=trial.number,
            config=config,
            attrs=frozen.user_attrs,
            state=frozen.state.name.lower(),
            value=values[0] if error is None and values else None,
            best_value=best,
            error=error,
            values=tuple(values) if error is None and values and len(values) > 1 else (),
            front_size=len(study.best_trials) if self.task.is_multi_objective else None,
        )
        for listener in self.on_trial_end:
            listener(end)
        return frozen

    # -- loops driven from outside: ask for a config, run it elsewhere, tell the result -------
    def ask(self) -> TrialEvent:
        """Starts a trial whose run happens outside AgentHPO (``agenthpo ask``).

        The trial is marked external, so no heartbeat is expected from it; finish it with
        :meth:`tell`.

        Raises:
            AgentHPOError: The study's budget is spent (raise ``n_trials`` to go on).
        """
        study = self.load_study()
        recover_stale(study)
        spent = budget(study)
        reruns = reevaluation_runs(study)
        if spent.counted + spent.active + reruns >= self.n_trials:
            raise AgentHPOError(
                f"the study's budget of {self.n_trials} trials is spent or running"
                f" ({spent.counted} done, {spent.active} running"
                + (f", {reruns} re-evaluation runs" if reruns else "")
                + "); raise n_trials to go on"
            )
        with quiet_optuna():
            trial = study.ask()
        _optuna.set_trial_system_attr(study, trial, EXTERNAL_KEY, True)
        try:
            config = suggest_config(trial, self.space_in_force(study))
        except Exception as exc:
            self._fail_unfinished(study, trial, exc)
            raise
        attrs = dict(_optuna.stored_trial(study, trial).user_attrs)
        if _keys.PROPOSED_BY not in attrs:
            trial.set_user_attr(_keys.PROPOSED_BY, self.strategy)
            attrs[_keys.PROPOSED_BY] = self.strategy
        self._explain_classical(study, trial, attrs)
        trial.set_user_attr(_keys.STRATEGY, self.strategy)
        return TrialEvent(number=trial.number, config=config, attrs=attrs)

    @staticmethod
    def _explain_classical(study: optuna.Study, trial: optuna.Trial, attrs: dict[str, Any]) -> None:
        """Stores a classical sampler's reason for the trial it proposed (as the backbone's
        trials under :class:`AgentSampler` get theirs); enqueued trials keep theirs or none."""
        if _keys.RATIONALE in attrs or isinstance(study.sampler, AgentSampler):
            return
        frozen = _optuna.stored_trial(study, trial)
        if frozen.system_attrs.get("fixed_params") or not frozen.params:
            return
        attrs[_keys.RATIONALE] = explain(study.sampler, study, frozen, dict(frozen.params))
        trial.set_user_attr(_keys.RATIONALE, attrs[_keys.RATIONALE])

    def tell(
        self,
        number: int,
        *,
        value: float | None = None,
        metrics: Mapping[str, float] | None = None,
        error: str | None = None,
        pruned: str | None = None,
        step: int | None = None,
    ) -> FrozenTrial:
        """Stores the result of a trial started with :meth:`ask`.

        Give the objective's ``value``, or ``metrics`` holding it (other metrics are stored
        too), or ``error`` for a run that failed, or ``pruned`` (why) for a run stopped early
        as not promising (its ``metrics`` and ``value``, if given, are the last seen; the
        objective's last value is stored as an intermediate value at ``step``, by default
        the step after the last one stored).

        The study is opened as stored, without the strategy's sampler: telling asks no LLM,
        so the tuner's strategy does not matter here.

        Example:
            >>> tuner = Tuner(load_task("task.yaml"))  # doctest: +SKIP
            >>> tuner.tell(3, pruned="flat curve", value=0.61, step=40).state  # doctest: +SKIP
            <TrialState.PRUNED: 2>

        Raises:
            AgentHPOError: No such running trial, one not started by :meth:`ask`, no value
                for the objective, or a ``step`` without a pruning and a value to store.
        """
        if step is not None and pruned is None:
            raise AgentHPOError("a step is stored only for a pruned trial; give pruned (why)")
        if step is not None and step < 0:
            raise AgentHPOError(f"step {step}: give the step reached, 0 or more")
        study = self._stored_study()
        matches = [t for t in study.get_trials(deepcopy=False) if t.number == number]
        if not matches or matches[0].state != TrialState.RUNNING:
            state = _state_word(matches[0].state) if matches else "missing"
            raise AgentHPOError(f"trial {number} is not running (it is {state}); nothing to tell")
        if not matches[0].system_attrs.get(EXTERNAL_KEY):
            # A trial that `run` (or a worker) is executing: its result is that runner's.
            raise AgentHPOError(
                f"trial {number} was not started by `agenthpo ask` (a run or worker is"
                " executing it); tell only the trials `ask` printed"
            )
        trial = _optuna.trial_handle(study, matches[0])
        final = {str(k): float(v) for k, v in (metrics or {}).items()}
        if error is not None and value is not None:
            raise AgentHPOError(
                "a failed trial has no final value; give what it reported before it failed as"
                " metrics, or no error if it finished"
            )
        if pruned is not None:
            if error is not None:
                raise AgentHPOError("a trial either failed or was pruned; give one of the two")
            with self._telling(study, number):
                return self._tell_pruned(study, trial, pruned, final, value, step)
        if value is not None:
            if self.task.is_multi_objective:
                raise AgentHPOError(
                    "the task has several objectives; give a metrics JSON with"
                    f" {', '.join(map(repr, self.task.metric_names))} instead of --value"
                )
            final[self.task.objective.metric] = float(value)
        missing = [m for m in self.task.metric_names if m not in final]
        if error is None and missing:
            raise AgentHPOError(
                (
                    f"give --value or a metrics JSON with {missing[0]!r}"
                    if not self.task.is_multi_objective
                    else f"give a metrics JSON with {', '.join(map(repr, missing))}"
                )
                + " (or --failed REASON)"
            )
        result = TrialResult(
            status="ok" if error is None else "failed",
            metrics=final,
            error=error,
        )
        outcome, problem = self._outcome(result)
        with self._telling(study, number):
            self._store_result(trial, result, problem)
            with quiet_optuna():
                if problem is None:
                    study.tell(trial, outcome)
                else:
                    study.tell(trial, state=TrialState.FAIL)
        return _optuna.stored_trial(study, trial)

    @contextlib.contextmanager
    def _telling(self, study: optuna.Study, number: int) -> Iterator[None]:
        """Holds the right to tell trial ``number``: two tells of one trial at once (two
        shells, a retried script) wrote into each other's record, and the later one failed
        with Optuna's traceback. The claim serializes them; the trial is read again under
        it, and the one that comes second is refused with one line."""
        claim = WorkClaim.take(
            study, f"tell:{number}", self._worker, alone=is_single_process(self.storage_url)
        )
        if claim is None:
            raise AgentHPOError(f"trial {number} is being told by another process; nothing to tell")
        with claim:
            state = next(
                (t.state for t in study.get_trials(deepcopy=False) if t.number == number), None
            )
            if state != TrialState.RUNNING:
                said = _state_word(state) if state is not None else "missing"
                raise AgentHPOError(
                    f"trial {number} was told meanwhile (it is {said}); nothing to tell"
                )
            try:
                yield
            except optuna.exceptions.UpdateFinishedTrialError:
                raise AgentHPOError(
                    f"trial {number} was told meanwhile by another process; nothing to tell"
                ) from None

    def _tell_pruned(
        self,
        study: optuna.Study,
        trial: optuna.Trial,
        why: str,
        metrics: dict[str, float],
        value: float | None,
        step: int | None = None,
    ) -> FrozenTrial:
        """Stores a trial the caller stopped early: its last metrics, why, state pruned."""
        if not why.strip():
            raise AgentHPOError("pruned: say why the run was stopped (one line)")
        if value is not None and self.task.is_multi_objective:
            raise AgentHPOError(
                "the task has several objectives; give the last metrics as a metrics JSON"
                " instead of a single value"
            )
        if value is not None:
            metrics[self.task.objective.metric] = float(value)
        last = metrics.get(self.task.objective.metric)
        reportable = last is not None and math.isfinite(last) and not self.task.is_multi_objective
        if step is not None and not reportable:
            raise AgentHPOError(
                f"a step needs the objective's finite last value ({self.task.objective.metric})"
                " to store at it"
            )
        if reportable:
            assert last is not None
            if step is None:
                stored = _optuna.stored_trial(study, trial).intermediate_values
                step = max(stored, default=-1) + 1
            trial.report(last, step)
        trial.set_user_attr(_keys.METRICS, metrics)
        trial.set_user_attr(_keys.ANALYSIS, f"pruned by the caller: {why}")
        with quiet_optuna():
            study.tell(trial, state=TrialState.PRUNED)
        return _optuna.stored_trial(study, trial)

    def _stored_study(self) -> optuna.Study:
        """The task's study as stored, opened without building the strategy's sampler (no
        LLM is resolved); it must exist (``ask`` or ``run`` created it)."""
        missing = AgentHPOError(
            f"no study {self.task.name!r} stored in {shown_url(self.storage_url)} yet; start a"
            " trial with `agenthpo ask` first"
        )
        url = expand_home(self.storage_url)
        sqlite = url.startswith("sqlite:///")
        if sqlite and not Path(url.removeprefix("sqlite:///")).exists():
            raise missing  # loading would create an empty database file
        if url.startswith("journal:") and not journal_path(url).exists():
            raise missing  # likewise an empty journal file
        try:
            return optuna.load_study(
                study_name=self.task.name,
                storage=open_storage(self.storage_url),
                sampler=optuna.samplers.RandomSampler(),  # never asked: nothing is proposed
            )
        except KeyError:
            raise missing from None

    def _interrupt(self, study: optuna.Study, trial: optuna.Trial, why: str, error: str) -> None:
        """Fails a trial that did not get to finish, outside the budget, and queues it again."""
        trial.set_user_attr(_keys.NOT_COUNTED, why)
        trial.set_user_attr(_keys.ERROR, error)
        with quiet_optuna():
            study.tell(trial, state=TrialState.FAIL)
        requeue_interrupted(study)

    def _outcome(self, result: TrialResult) -> tuple[list[float] | None, str | None]:
        """Every objective's value, or why the trial failed."""
        if result.status == "timeout":
            return None, result.error or f"timed out after {self.task.timeout:g} s"
        if result.status != "ok":
            return None, result.error or f"the run failed (exit status {result.exit_code})"
        values: list[float] = []
        for metric in self.task.metric_names:
            value = result.metrics.get(metric)
            if (
                value is None
                and not self.task.is_multi_objective
                and "value" in result.metrics
                and len(result.metrics) == 1
            ):
                value = result.metrics["value"]
            if value is None:
                names = sorted(result.metrics)
                reported = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
                if result.problems:
                    # Say what happened: values were there but unusable.
                    more = len(result.problems) - 1
                    return None, one_line(
                        f"the run finished but no usable {metric!r} reached AgentHPO"
                        f" (it reported {reported or 'no usable metric'}): {result.problems[0]}"
                        + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""),
                        _ERROR_MAX,
                    )
                return None, (
                    f"the run finished but never reported {metric!r} (it reported"
                    f" {reported or 'nothing'}); call agenthpo.report({metric}=...) in the"
                    " training script"
                )
            if not math.isfinite(value):
                return None, (
                    f"{metric} is {value} (the run diverged or produced an invalid value)"
                )
            values.append(float(value))
        return values, None

    def _write_note(self, study: optuna.Study, frozen: FrozenTrial) -> None:
        """The trial's note in optuna-dashboard (rationale, analysis), when it is installed."""
        if self._notes:
            try:
                write_trial_note(study, frozen)
            except Exception:  # a note must never cost a trial
                _logger.debug("could not write trial %d's note", frozen.number, exc_info=True)

    def _store_result(self, trial: optuna.Trial, result: TrialResult, error: str | None) -> None:
        trial.set_user_attr(_keys.METRICS, dict(result.metrics))
        if result.metrics_cut:
            _logger.warning("trial %d: %s", trial.number, result.metrics_cut)
            trial.set_user_attr(_keys.METRICS_CUT, result.metrics_cut)
        if result.curve:
            trial.set_user_attr(_keys.CURVE, _downsample(result.curve))
        trial.set_user_attr(_keys.DURATION_S, round(result.duration_s, 3))
        if result.exit_code is not None:
            trial.set_user_attr(_keys.EXIT_CODE, result.exit_code)
        if error is not None:
            trial.set_user_attr(_keys.ERROR, error)
            if result.stderr_tail:
                trial.set_user_attr(_keys.STDERR_TAIL, tail_lines(result.stderr_tail, _TAIL_MAX))
        analysis = analyze(
            result,
            metric=self.task.objective.metric,
            direction=self.task.objective.direction,
            error=error,
        )
        trial.set_user_attr(_keys.ANALYSIS, analysis)

    def _account(self, summary: RunSummary, frozen: FrozenTrial) -> None:
        attrs = frozen.user_attrs
        if frozen.state == TrialState.COMPLETE:
            summary.n_complete += 1
        elif frozen.state == TrialState.FAIL and attrs.get(_keys.NOT_COUNTED):
            summary.n_interrupted += 1
        elif frozen.state == TrialState.FAIL:
            summary.n_failed += 1
            summary.last_error = str(attrs.get(_keys.ERROR) or "") or None
        elif frozen.state == TrialState.PRUNED:
            summary.n_pruned += 1
        summary.llm_calls += int(attrs.get(_keys.LLM_CALLS, 0))
        summary.llm_prompt_tokens += int(attrs.get(_keys.LLM_PROMPT_TOKENS, 0))
        summary.llm_completion_tokens += int(attrs.get(_keys.LLM_COMPLETION_TOKENS, 0))
        summary.llm_seconds += float(attrs.get(_keys.LLM_LATENCY_S, 0.0))
        summary.llm_cost_usd += float(attrs.get(_keys.LLM_COST, 0.0) or 0.0)
        if attrs.get(_keys.PROPOSED_BY) == "llm":
            summary.llm_used += 1
            summary.llm_turns += 1
        elif attrs.get(_keys.FALLBACK_REASON) and not str(attrs[_keys.FALLBACK_REASON]).startswith(
            "budget"
        ):
            summary.llm_turns += 1
        if attrs.get(_keys.FALLBACK_REASON):
            summary.fallbacks += 1
            reason = str(attrs.get(_keys.FALLBACK_REASON, "unknown")).split(":", 1)[0]
            summary.fallback_reasons[reason] = summary.fallback_reasons.get(reason, 0) + 1

    def _finish_summary(self, summary: RunSummary, study: optuna.Study) -> None:
        summary.n_total = budget(study).counted
        if self.task.is_multi_objective:
            sign = -1.0 if self.task.directions[0] == "maximize" else 1.0
            front = sorted(study.best_trials, key=lambda t: (sign * t.values[0], t.number))
            summary.pareto_front = [
                {"number": t.number, "values": list(t.values), "config": dict(t.params)}
                for t in front
            ]
            if not front:
                return
            best = front[0]
            summary.space_note = front_drift(
                [{"trial": t.number, "config": dict(t.params)} for t in front],
                self.task.space,
                searched_space(self.task.space, study),
            )
        else:
            try:
                best = study.best_trial
            except ValueError:
                return
            summary.n_reevaluations = reevaluation_runs(study)
            selection = study.user_attrs.get(_keys.STUDY_SELECTION)
            if isinstance(selection, dict) and self.noise is not None:
                summary.selection = dict(selection)
                if selection.get("note") and summary.reevaluation_note is None:
                    summary.reevaluation_note = str(selection["note"])
                chosen = int(selection["recommended_trial"])
                best = next((t for t in study.trials if t.number == chosen), best)
            elif self.noise is not None and summary.reevaluation_note is None:
                note = study.user_attrs.get(_keys.STUDY_SELECTION_NOTE)
                summary.reevaluation_note = str(note) if note else None
        summary.best_value = best.values[0]
        summary.best_config = dict(best.params)
        summary.best_trial = best.number
        if not self.task.is_multi_objective:
            summary.space_note = space_drift(
                best.number, best.params, self.task.space, searched_space(self.task.space, study)
            )
        stored = best.user_attrs.get(_keys.METRICS)
        if isinstance(stored, dict):
            summary.best_metrics = {str(k): v for k, v in stored.items()}


SAME_FAILURES = 3
"""A run stops when this many trials failed with one error and none ever completed."""


def same_failures(study: optuna.Study, ran: Collection[int], n: int = SAME_FAILURES) -> str | None:
    """Why the study's trials cannot work yet, or ``None``: its last ``n`` counted trials to
    finish (one of them in ``ran``, this run's) all failed with the same error, and no trial
    of the study ever completed or was pruned. Different configurations failing alike before
    any run worked is a setup mistake (a misspelt script, a metric never reported, a missing
    package), not a property of the configurations: the rest of the budget would repeat it.

    Failures a configuration causes are left to the search: a run that diverged or timed
    out (the Executor's reading says so) never counts, and nothing stops while another
    trial still runs (another worker's may complete).

    Example:
        >>> import optuna
        >>> study = optuna.create_study()
        >>> same_failures(study, ran=()) is None
        True
    """
    trials = study.get_trials(deepcopy=False)
    if any(t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING) for t in trials):
        return None
    failed = [t for t in trials if t.state == TrialState.FAIL and is_counted(t)]
    failed.sort(key=lambda t: (t.datetime_complete or datetime.datetime.min, t.number))
    last = failed[-n:]
    if len(last) < n or not any(t.number in ran for t in last):
        return None
    readings = [str(t.user_attrs.get(_keys.ANALYSIS) or "").lower() for t in last]
    if any(r.startswith(("diverged", "timed out")) for r in readings):
        return None
    errors = {str(t.user_attrs.get(_keys.ERROR) or "") for t in last}
    if len(errors) != 1 or not next(iter(errors)):
        return None
    return (
        f"the last {n} trials failed with the same error and none has completed:"
        f" {next(iter(errors))}"
    )


def _state_word(state: TrialState) -> str:
    """A trial state as the docs and ``agenthpo show`` name it (``failed``, not ``fail``).

    Example:
        >>> _state_word(TrialState.FAIL), _state_word(TrialState.COMPLETE)
        ('failed', 'complete')
    """
    return "failed" if state == TrialState.FAIL else state.name.lower()


def _interrupted_by(exc: KeyboardInterrupt) -> str:
    """Why a trial was interrupted: Ctrl-C, or what a stop says of itself ("stopped by
    SIGTERM", a cancelled background run).

    Example:
        >>> _interrupted_by(KeyboardInterrupt())
        'interrupted by the user'
    """
    said = str(exc).strip()
    return f"interrupted: {said}" if said else "interrupted by the user"


def _best_value(study: optuna.Study) -> float | None:
    """The best value so far (``None`` before the first, and for several objectives)."""
    if len(study.directions) > 1:
        return None
    try:
        return study.best_value
    except ValueError:
        return None
