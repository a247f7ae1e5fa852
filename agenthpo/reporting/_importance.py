"""Parameter importance, measured by Optuna's importance evaluators.

fANOVA by default (it needs scikit-learn; without it PED-ANOVA is used, and the report says
so). Studies too small to measure, objectives that never changed and parameters that were
only ever tried at one value are reported as such rather than as "unimportant".

Example:
    >>> import optuna
    >>> optuna.logging.set_verbosity(optuna.logging.ERROR)
    >>> study = optuna.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2
    ...                + 0.01 * t.suggest_float("y", 0, 1), n_trials=20)
    >>> result = measure_importance(study)
    >>> result.ranking()[0]
    'x'
"""

from __future__ import annotations

import importlib.util
import logging
import math
import random
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import optuna
from optuna.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from optuna.importance import BaseImportanceEvaluator

__all__ = ["EVALUATORS", "EvaluatorName", "Importance", "measure_importance"]

_logger = logging.getLogger("agenthpo")

EvaluatorName = Literal["fanova", "ped-anova", "mean-decrease-impurity"]
EVALUATORS: tuple[EvaluatorName, ...] = ("fanova", "ped-anova", "mean-decrease-impurity")
_LABELS: dict[str, str] = {
    "fanova": "fANOVA",
    "ped-anova": "PED-ANOVA",
    "mean-decrease-impurity": "mean decrease in impurity",
}
MIN_TRIALS = 2
"""Completed trials needed before importance is measured at all."""
FEW_TRIALS = 10
"""Below this many completed trials the measured importance is flagged as rough."""
MAX_TRIALS = 500
"""At most this many completed trials are measured (a seeded random sample of them): the
evaluators' time grows faster than the number of trials, and a sample this large ranks the
parameters as the whole study would."""


@dataclass(frozen=True)
class Importance:
    """Measured importance of each parameter for the (first) objective.

    ``values`` holds shares that sum to one, most important first; empty when nothing could be
    measured, and then ``note`` says why.
    """

    values: dict[str, float] = field(default_factory=dict)
    evaluator: str = ""
    n_trials: int = 0
    """Completed trials measured (a sample of at most :data:`MAX_TRIALS` of them)."""
    note: str = ""
    single_valued: tuple[str, ...] = ()
    """Parameters tried at only one value: their importance cannot be measured."""
    not_measured: tuple[str, ...] = ()
    """Parameters left out (conditional ones, absent from some completed trials)."""

    @property
    def measured(self) -> bool:
        """Whether any importance was measured."""
        return bool(self.values)

    def ranking(self) -> list[str]:
        """Measured parameters, most important first (single-valued ones excluded)."""
        return [p for p in self.values if p not in self.single_valued]

    def share(self, param: str) -> float | None:
        """The share of ``param``, or ``None`` when it was not measured."""
        return self.values.get(param)

    def threshold(self) -> float:
        """The share above which a parameter counts as important: half an even share."""
        k = len(self.ranking())
        return 0.5 / k if k else 1.0

    def important(self) -> list[str]:
        """The parameters measured as important (share at least :meth:`threshold`)."""
        cut = self.threshold()
        return [p for p in self.ranking() if self.values[p] >= cut]


def _evaluator(name: str, seed: int) -> tuple[BaseImportanceEvaluator, str, str]:
    # Imported here, not at the top: optuna.importance imports scikit-learn (about 1.5 s),
    # which every CLI command would otherwise pay for through the reporting package.
    from optuna.importance import (
        FanovaImportanceEvaluator,
        MeanDecreaseImpurityImportanceEvaluator,
        PedAnovaImportanceEvaluator,
    )

    needs_sklearn = name in ("fanova", "mean-decrease-impurity")
    if needs_sklearn and importlib.util.find_spec("sklearn") is None:
        note = (
            f"{_LABELS[name]} needs scikit-learn, which is not installed; PED-ANOVA measured"
            " instead (pip install scikit-learn for fANOVA)"
        )
        return PedAnovaImportanceEvaluator(), "ped-anova", note
    if name == "fanova":
        return FanovaImportanceEvaluator(seed=seed), name, ""
    if name == "mean-decrease-impurity":
        return MeanDecreaseImpurityImportanceEvaluator(seed=seed), name, ""
    if name == "ped-anova":
        return PedAnovaImportanceEvaluator(), name, ""
    raise ValueError(f"unknown importance evaluator {name!r}; use one of {', '.join(EVALUATORS)}")


def in_memory_study(study: optuna.Study, trials: list[FrozenTrial]) -> optuna.Study:
    """A study in memory holding ``trials`` (with ``study``'s directions), created quietly."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        copy = optuna.create_study(directions=study.directions)
    finally:
        optuna.logging.set_verbosity(verbosity)
    copy.add_trials(trials)
    return copy


def measure_importance(
    study: optuna.Study,
    *,
    evaluator: str = "fanova",
    seed: int = 0,
    objective: int = 0,
) -> Importance:
    """Measures how much each parameter explains of the objective's variation.

    Args:
        study: The study.
        evaluator: ``fanova`` (default), ``ped-anova`` or ``mean-decrease-impurity``.
        seed: Seeds the evaluator's random forest and the sample of trials (a study with
            more than :data:`MAX_TRIALS` completed trials is measured on a random sample of
            that many), so a report is reproducible.
        objective: Which objective of a multi-objective study.

    Returns:
        The shares, or an empty result whose ``note`` says why nothing was measured.
    """
    impl, name, note = _evaluator(evaluator, seed)
    every = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.values]
    completed = [t for t in every if math.isfinite(t.values[objective])]
    label = _LABELS[name]
    if len(completed) < MIN_TRIALS:
        why = f"the study has {len(completed)}"
        if len(every) > len(completed):
            why = (
                f"the study has {len(every)}, {len(every) - len(completed)} of them with a"
                " value that is not finite"
            )
        return Importance(
            evaluator=label,
            n_trials=len(completed),
            note=f"importance needs at least {MIN_TRIALS} completed trials with a finite value"
            f" ({why})",
        )
    common = set(completed[0].params)
    seen: set[str] = set()
    for t in completed:
        common &= set(t.params)
        seen |= set(t.params)
    params = sorted(common)
    not_measured = tuple(sorted(seen - common))
    single = tuple(p for p in params if len({repr(t.params[p]) for t in completed}) < 2)
    if not params:
        return Importance(
            evaluator=label, n_trials=len(completed), note="no parameter is in every trial"
        )
    if len({t.values[objective] for t in completed}) < 2:
        return Importance(
            evaluator=label,
            n_trials=len(completed),
            note="every completed trial has the same value: nothing to attribute",
            single_valued=single,
            not_measured=not_measured,
        )
    if len(single) == len(params):
        return Importance(
            evaluator=label,
            n_trials=len(completed),
            note="every parameter was tried at one value only",
            single_valued=single,
            not_measured=not_measured,
        )

    def target(t: FrozenTrial) -> float:
        return float(t.values[objective])

    from optuna.importance import get_param_importances  # lazily, as in _evaluator

    notes = [note] if note else []
    measured = study
    if len(completed) > MAX_TRIALS:
        sample = random.Random(seed).sample(completed, MAX_TRIALS)
        measured = in_memory_study(study, sorted(sample, key=lambda t: t.number))
        notes.append(
            f"measured on a random sample of {MAX_TRIALS} of the {len(completed):,} completed"
            f" trials (seed {seed})"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = get_param_importances(
                measured,
                evaluator=impl,
                params=params,
                target=target if len(study.directions) > 1 or objective else None,
            )
    except (RuntimeError, ValueError, ZeroDivisionError) as exc:
        _logger.warning("parameter importance could not be measured: %s", exc)
        return Importance(
            evaluator=label,
            n_trials=len(completed),
            note=f"{label} failed: {exc}",
            single_valued=single,
            not_measured=not_measured,
        )
    values = {str(k): float(v) for k, v in raw.items() if math.isfinite(float(v))}
    total = sum(values.values())
    if not values or not math.isfinite(total) or total <= 0:
        largest = max(abs(t.values[objective]) for t in completed)
        return Importance(
            evaluator=label,
            n_trials=len(completed),
            note=f"the values are too large or not finite for {label} (the largest is"
            f" {largest:.3g})",
            single_valued=single,
            not_measured=not_measured,
        )
    values = {k: v / total for k, v in values.items()}
    values = dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))
    if len(completed) < FEW_TRIALS:
        notes.append(f"only {len(completed)} completed trials: a rough measure")
    return Importance(
        values=values,
        evaluator=label,
        n_trials=min(len(completed), MAX_TRIALS),
        note="; ".join(notes),
        single_valued=single,
        not_measured=not_measured,
    )
