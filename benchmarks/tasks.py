"""Tasks, the registry of every task, and the suites.

A :class:`Task` is a search space (an AgentHPO :class:`~agenthpo.space.Space`, the same one
the LLM strategies see), a direction, the background an LLM reads
(:class:`~agenthpo.agent.prompts.TaskContext`) and a factory that builds the objective for a
seed. The objective returns an :class:`Evaluation`: the value the optimizer sees and the
value the score uses (they differ on the noisy tabular benchmarks, where the optimizer sees
one training seed's result and the score uses the mean over seeds).

Example:
    >>> from benchmarks.tasks import get_task
    >>> task = get_task("nb201-cifar10")
    >>> task.direction, len(task.space)
    ('maximize', 6)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, Protocol

import optuna

from agenthpo.agent.prompts import TaskContext
from agenthpo.space import CategoricalParam, FloatParam, IntParam, Space

__all__ = [
    "QUICK",
    "QUICK_TRIALS",
    "SUITES",
    "Evaluation",
    "HeldOut",
    "Objective",
    "Task",
    "all_tasks",
    "get_task",
    "select_tasks",
    "suggest",
    "suite_tasks",
]

Direction = Literal["minimize", "maximize"]


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a configuration.

    Attributes:
        value: What the optimizer is told (one seed's result on a noisy benchmark).
        true_value: What the score uses (the mean over seeds; equal to ``value`` on
            deterministic tasks).
    """

    value: float
    true_value: float


class Objective(Protocol):
    """A task's objective for one seed: a configuration in, an :class:`Evaluation` out."""

    def __call__(self, config: Mapping[str, Any]) -> Evaluation:
        """Evaluates one configuration (raises on a failed run)."""
        ...


@dataclass(frozen=True)
class Task:
    """A benchmark task.

    Attributes:
        name: Unique, e.g. ``hpobench-australian`` or ``skl-svm-breast``.
        suite: The family: ``tabular``, ``sklearn`` or ``real``.
        space: The search space the objective suggests and the LLM strategies see.
        direction: ``minimize`` or ``maximize``.
        context: The background shown to the LLM.
        build: Seed -> objective (called once per run, in the worker process).
        eval_cost_s: A rough cost of one evaluation on this machine, for scheduling.
        table_optimum: Computes the exact optimum of the score's value (lookup-table
            benchmarks), or ``None`` when it is unknown.
        notes: Free text for the report.
    """

    name: str
    suite: str
    space: Space
    direction: Direction
    context: TaskContext
    build: Callable[[int], Objective] = field(repr=False, compare=False)
    eval_cost_s: float = 0.0
    table_optimum: Callable[[], float] | None = field(default=None, repr=False, compare=False)
    notes: str = ""
    version: int = 1
    """Raised when the objective changes (another validation split, say): runs store it, and
    the report leaves out runs of an older version instead of mixing them with new ones."""
    version_note: str = ""
    """What the current version changed, for the report."""
    held_out: HeldOut | None = field(default=None, repr=False, compare=False)
    """Held-out folds for the final selection (a deterministic task: see :class:`HeldOut`)."""
    default: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    """The task's default configuration, inside its space (``None``: it has none): what a
    user runs first, the first trial of ``--from-default`` runs and the one the LLM's
    initial design keeps. Parameters it leaves out are the sampler's to choose."""


@dataclass(frozen=True)
class HeldOut:
    """A deterministic task's held-out folds, as AgentHPO's selection uses them (the task
    file's ``noise: {fold_param: ...}``): after the search, the best configuration and the
    default are scored on folds the search never saw, and the default is recommended unless
    the best beats it there beyond the noise band.

    Attributes:
        folds: How many held-out folds (1..folds).
        band: The noise band, in standard errors of the fold-by-fold differences.
        default: The task file's default configuration.
        evaluate: ``(config, fold) -> value`` on a held-out fold.
    """

    folds: int
    band: float
    default: Mapping[str, Any]
    evaluate: Callable[[Mapping[str, Any], int], float] = field(repr=False, compare=False)


def suggest(trial: optuna.Trial, space: Space) -> dict[str, Any]:
    """Suggests every parameter of ``space`` on an Optuna trial, in the space's order.

    Example:
        >>> import optuna
        >>> space = Space.from_dict({"x": {"type": "float", "low": 0, "high": 1}})
        >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        >>> 0.0 <= suggest(study.ask(), space)["x"] <= 1.0
        True
    """
    config: dict[str, Any] = {}
    for name, param in space.items():
        if isinstance(param, FloatParam):
            config[name] = trial.suggest_float(
                name, param.low, param.high, log=param.log, step=param.step
            )
        elif isinstance(param, IntParam):
            config[name] = trial.suggest_int(
                name, param.low, param.high, log=param.log, step=param.step
            )
        else:
            assert isinstance(param, CategoricalParam)
            config[name] = trial.suggest_categorical(name, list(param.choices))
    return config


# ---------------------------------------------------------------------------------- registry


@cache
def all_tasks() -> dict[str, Task]:
    """Every task, by name (building the registry loads no data)."""
    from benchmarks import bayesmark, real, tabular

    tasks: dict[str, Task] = {}
    for task in [*tabular.tasks(), *bayesmark.tasks(), *real.tasks()]:
        if task.name in tasks:
            raise ValueError(f"duplicate task name {task.name!r}")
        tasks[task.name] = task
    return tasks


def get_task(name: str) -> Task:
    """The task called ``name``.

    Raises:
        KeyError: No such task (the message lists close names).
    """
    tasks = all_tasks()
    if name not in tasks:
        close = fnmatch.filter(tasks, f"*{name}*")[:5]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown task {name!r}{hint}")
    return tasks[name]


# The quick suite: four tasks (two lookup tables, two scikit-learn SVMs: small spaces, hence
# short prompts, and cheap fits) and 20 trials, so that it runs in under 15 minutes on 2
# cores. Its cost is the embedded model's calls, mostly reading the prompt (about 1,000 new
# tokens a proposal, at 100 to 200 tokens a second on one core): with its repair rounds the
# agent makes about 35 calls a run, hybrid-tpe about 12 and centaur about 5. At 20 trials the
# suite took 21 CPU-minutes (about 11 minutes on 2 free cores; 29 at load average 8); 25
# trials cost about a quarter more. At 20, TPE still has 10 model-based trials, the LLM of
# hybrid-tpe proposes about 7 and centaur's 3. The tasks separate the strategies (random
# search is far from TPE on each) and cost little to evaluate: skl-ada-breast (2 s a fit, 6
# CPU-minutes of the suite) was replaced by skl-svm-diabetes (0.03 s); MLP tasks are left
# out (10 to 40 s an evaluation on digits).
QUICK_TRIALS = 20
QUICK = (
    "hpobench-australian",
    "nb201-cifar100",
    "skl-svm-wine",
    "skl-svm-diabetes",
)


def _by_suite(suite: str) -> tuple[str, ...]:
    return tuple(name for name, task in all_tasks().items() if task.suite == suite)


def suite_tasks(suite: str) -> tuple[str, ...]:
    """Task names of a suite: ``quick``, ``full``, ``tabular``, ``sklearn``, ``real`` or
    ``fragile``.

    ``full`` is every tabular and scikit-learn task plus the real training tasks; the
    ``fragile`` tasks (runs that often fail, for measuring how strategies react) are apart.
    """
    if suite == "quick":
        return QUICK
    if suite == "full":
        return tuple(n for n, t in all_tasks().items() if t.suite != "fragile")
    if suite in ("tabular", "sklearn", "real", "fragile"):
        return _by_suite(suite)
    raise KeyError(f"unknown suite {suite!r}; choose one of {', '.join(SUITES)}")


SUITES: tuple[str, ...] = ("quick", "full", "tabular", "sklearn", "real", "fragile")


def select_tasks(suite: str, patterns: Iterable[str] = ()) -> list[str]:
    """The suite's tasks, narrowed to those matching any of the shell-style ``patterns``."""
    names = list(suite_tasks(suite))
    pats = list(patterns)
    if not pats:
        return names
    chosen = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in pats)]
    if not chosen:
        raise KeyError(f"no task of suite {suite!r} matches {', '.join(pats)}")
    return chosen
