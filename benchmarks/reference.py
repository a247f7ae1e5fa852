"""The frozen reference values of every task: ``opt`` and ``median_random``.

They live in ``benchmarks/reference.json`` (committed), so that scores do not drift when new
results come in. They were computed once with::

    python -m benchmarks calibrate --suite full --jobs 2

which, for each task missing from the file:
    * ``median_random``: the median of the values (the seed mean on tabular tasks) of
      ``--random-evals`` configurations (default 200; 30 for tasks costing over 5 s an
      evaluation) drawn by Optuna's RandomSampler on the task's space with seed 12345;
    * ``opt``: the table's optimum (tabular tasks), else the best value among those random
      evaluations, a TPE run of ``--tpe-trials`` trials (default 100; 30 for slow tasks) and
      every run stored under ``benchmarks/results/``.

``python -m benchmarks calibrate --update-opt`` lowers ``opt`` of non-table tasks to the best
value any stored run found (Bayesmark's "best found by any method"); scores are recomputed
from the raw trajectories by every report, so commit the file together with the results.

Example:
    >>> ref = Reference(opt=0.0, median_random=1.0, source="table", n_random=10)
    >>> ref.to_dict()["source"]
    'table'
"""

from __future__ import annotations

import json
import logging
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import optuna

from benchmarks import PACKAGE_DIR
from benchmarks.tasks import Task, get_task, suggest

__all__ = ["REFERENCE_PATH", "Reference", "calibrate_task", "load_reference", "save_reference"]

_logger = logging.getLogger("benchmarks")

REFERENCE_PATH = PACKAGE_DIR / "reference.json"
CALIBRATION_SEED = 12345


@dataclass(frozen=True)
class Reference:
    """A task's reference values.

    Attributes:
        opt: The optimum (exact for lookup tables, else the best value found).
        median_random: The median value of random-search evaluations.
        source: Where ``opt`` comes from: ``table``, ``calibration`` or ``results``.
        n_random: Random evaluations behind ``median_random``.
    """

    opt: float
    median_random: float
    source: str
    n_random: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)


def load_reference(path: Path = REFERENCE_PATH) -> dict[str, Reference]:
    """Task name -> reference values (empty if the file does not exist)."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {name: Reference(**values) for name, values in data.get("tasks", {}).items()}


def save_reference(refs: Mapping[str, Reference], path: Path = REFERENCE_PATH) -> None:
    """Writes the reference file (sorted by task)."""
    data = {
        "about": (
            "Frozen normalization of every benchmark task: opt and median_random of Bayesmark's"
            " normalized score. Written by `python -m benchmarks calibrate`; see"
            " benchmarks/reference.py."
        ),
        "tasks": {name: refs[name].to_dict() for name in sorted(refs)},
    }
    path.write_text(json.dumps(data, indent=1) + "\n")


def _better(a: float, b: float, direction: str) -> bool:
    return a < b if direction == "minimize" else a > b


def calibrate_task(
    name: str,
    *,
    random_evals: int = 200,
    tpe_trials: int = 100,
    known_values: Iterable[float] = (),
) -> Reference:
    """Computes a task's reference values (see the module docstring)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    task = get_task(name)
    slow = task.eval_cost_s > 5.0
    n_random = min(random_evals, 30) if slow else random_evals
    n_tpe = min(tpe_trials, 30) if slow else tpe_trials
    objective = task.build(0)
    values = _search(
        task, objective, optuna.samplers.RandomSampler(seed=CALIBRATION_SEED), n_random
    )
    if not values:
        raise RuntimeError(f"{name}: every random evaluation failed")
    median = float(statistics.median(values))
    if task.table_optimum is not None:
        return Reference(task.table_optimum(), median, "table", len(values))
    candidates = list(values) + [v for v in known_values if math.isfinite(v)]
    if n_tpe > 0:
        candidates += _search(
            task, objective, optuna.samplers.TPESampler(seed=CALIBRATION_SEED), n_tpe
        )
    best = candidates[0]
    for v in candidates[1:]:
        if _better(v, best, task.direction):
            best = v
    return Reference(float(best), median, "calibration", len(values))


def _search(
    task: Task, objective: Any, sampler: optuna.samplers.BaseSampler, n: int
) -> list[float]:
    """The true values of ``n`` trials of ``sampler`` on the task (failed trials skipped)."""
    true_values: list[float] = []

    def run(trial: optuna.Trial) -> float:
        result = objective(suggest(trial, task.space))
        true_values.append(result.true_value)
        return float(result.value)

    study = optuna.create_study(direction=task.direction, sampler=sampler)
    study.optimize(run, n_trials=n, catch=(Exception,))
    return [v for v in true_values if math.isfinite(v)]


def best_known(runs: Iterable[Mapping[str, Any]], task: str, direction: str) -> float | None:
    """The best true value any stored run found on ``task``."""
    best: float | None = None
    for run in runs:
        if run.get("task") != task or run.get("error"):
            continue
        for v in run.get("true_values", []):
            if v is not None and math.isfinite(v) and (best is None or _better(v, best, direction)):
                best = float(v)
    return best
