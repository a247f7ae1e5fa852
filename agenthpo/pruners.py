"""Pruning: stopping trials that will not be worth finishing.

The task file's ``pruner:`` picks one of Optuna's pruners (``median``,
``successive_halving``, ``hyperband``) or the agent's own (``agent``), which stops a trial
whose curve the Executor's analysis would call hopeless: it diverged (a NaN or infinite
value), or it stalled for ``patience`` reports while its best value is still worse than
the median final value of the completed trials. Pruned trials are stored as PRUNED with the
reason, and the agent sees them as such.

Example:
    >>> type(make_pruner("median")).__name__
    'MedianPruner'
    >>> make_pruner(None) is None
    True
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Literal

import optuna
from optuna.pruners import (
    BasePruner,
    HyperbandPruner,
    MedianPruner,
    SuccessiveHalvingPruner,
)
from optuna.trial import FrozenTrial, TrialState

__all__ = ["AgentPruner", "PrunerName", "make_pruner"]

PrunerName = Literal["none", "median", "successive_halving", "hyperband", "agent"]


class AgentPruner(BasePruner):
    """Prunes diverged trials and trials stalled below the median of completed ones.

    Args:
        n_warmup_steps: Reports a trial makes before it can be pruned for stalling.
        patience: Reports without improvement that count as stalled.
        n_startup_trials: Completed trials needed before stalled trials are compared.
    """

    def __init__(
        self, *, n_warmup_steps: int = 5, patience: int = 5, n_startup_trials: int = 3
    ) -> None:
        self.n_warmup_steps = n_warmup_steps
        self.patience = patience
        self.n_startup_trials = n_startup_trials

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        """Whether to stop ``trial`` now."""
        values = trial.intermediate_values
        if not values:
            return False
        steps = sorted(values)
        series = [values[s] for s in steps]
        if not math.isfinite(series[-1]):
            return True
        if len(series) < max(self.n_warmup_steps, self.patience + 1):
            return False
        maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        sign = 1.0 if maximize else -1.0
        best_index = max(range(len(series)), key=lambda i: sign * series[i])
        if len(series) - 1 - best_index < self.patience:
            return False
        finals = [
            t.value
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.value is not None and math.isfinite(t.value)
        ]
        if len(finals) < self.n_startup_trials:
            return False
        median = statistics.median(finals)
        return sign * series[best_index] < sign * median


def make_pruner(spec: str | dict[str, Any] | None) -> BasePruner | None:
    """The pruner a task's ``pruner:`` names (a name, or ``{type: NAME, ...options}``)."""
    if spec is None:
        return None
    options: dict[str, Any] = {}
    if isinstance(spec, dict):
        options = {k: v for k, v in spec.items() if k != "type"}
        spec = str(spec.get("type", "none"))
    if spec == "none":
        return None
    if spec == "median":
        return MedianPruner(**{"n_startup_trials": 5, **options})
    if spec == "successive_halving":
        return SuccessiveHalvingPruner(**options)
    if spec == "hyperband":
        return HyperbandPruner(**options)
    if spec == "agent":
        return AgentPruner(**options)
    raise ValueError(
        f"unknown pruner {spec!r}; use none, median, successive_halving, hyperband or agent"
    )
