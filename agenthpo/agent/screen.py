"""TPE's verdict on an LLM's proposal: would TPE itself consider this configuration?

A tiny model's proposals are often the worst configuration of the study so far (the bundled
SmolLM2-135M's were, on the NAS-Bench-201 tables), and each one it gets takes a trial from
TPE and changes TPE's later path. The screen scores a proposal with TPE's own acquisition,
``log l(x) - log g(x)`` from the two Parzen estimators TPE builds for its next proposal (``l``
over the best trials, ``g`` over the rest), and compares it with candidates drawn from
``l(x)`` as TPE draws its own. The proposal passes when it scores at least as high as the
median candidate: it looks like one of the configurations TPE would weigh. A proposal that
fails goes back to TPE, which proposes the trial as if the LLM had not been asked.

The candidates come from a random state of the screen's own, seeded by the sampler's seed and
the trial number, so screening never moves TPE's own random stream.

This reads TPE's internals (``TPESampler._build_parzen_estimator``, Optuna's
``_split_trials``), unchanged from Optuna 4.0 to 5.0; where they are missing the screen
cannot judge and says so (:func:`tpe_screen` returns ``None`` and logs a warning once).

Example:
    >>> import optuna
    >>> from optuna.distributions import CategoricalDistribution, FloatDistribution
    >>> from agenthpo.agent.screen import tpe_screen
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> def loss(t):
    ...     x, kind = t.suggest_float("x", -5, 5), t.suggest_categorical("kind", ["a", "b"])
    ...     return (x - 2) ** 2 + (0 if kind == "a" else 10)
    >>> study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    >>> study.optimize(loss, n_trials=30)
    >>> space = {"x": FloatDistribution(-5, 5), "kind": CategoricalDistribution(["a", "b"])}
    >>> tpe_screen(study.sampler, study, 30, space, {"x": 2.0, "kind": "a"}, seed=0).passed
    True
    >>> tpe_screen(study.sampler, study, 30, space, {"x": -3.0, "kind": "b"}, seed=0).passed
    False

TPE's density ratio also rates regions no trial has visited highly (its prior weighs more in
``l`` than in ``g``), so the screen turns away proposals where TPE has seen bad results, not
bold ones: on the tabular benchmarks, of random configurations offered after 16 and 32 trials,
it passed 25% and 15% of those worse than the study's median, 43% and 27% of the better ones.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import TPESampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

__all__ = ["ScreenVerdict", "tpe_screen"]

_logger = logging.getLogger("agenthpo")
_warned: list[str] = []


@dataclass(frozen=True)
class ScreenVerdict:
    """Where the proposal ranks among TPE's candidates by TPE's acquisition."""

    passed: bool
    above: int
    """How many candidates TPE scores higher than the proposal."""
    candidates: int

    def describe(self) -> str:
        """One line for a trial's rationale.

        Example:
            >>> ScreenVerdict(passed=False, above=20, candidates=24).describe()
            "TPE's density ratio ranks it below 20 of 24 candidates TPE drew"
        """
        if self.above == 0:
            return f"TPE's density ratio ranks it above all {self.candidates} candidates TPE drew"
        return (
            f"TPE's density ratio ranks it below {self.above} of {self.candidates}"
            " candidates TPE drew"
        )


def tpe_screen(
    sampler: TPESampler,
    study: Study,
    number: int,
    search_space: Mapping[str, BaseDistribution],
    config: Mapping[str, Any],
    *,
    seed: int | None,
    n_candidates: int = 24,
) -> ScreenVerdict | None:
    """TPE's verdict on ``config`` for trial ``number``, or ``None`` when TPE cannot judge.

    ``None`` while TPE is still in its random start-up (no model to judge by), for several
    objectives, and where Optuna's internals differ from those this was written against.
    Only the parameters of ``search_space`` that ``config`` sets are judged.
    """
    names = [n for n, d in search_space.items() if n in config and not d.single()]
    if not names or len(study.directions) != 1:
        return None
    space = {n: search_space[n] for n in names}
    states = (TrialState.COMPLETE, TrialState.PRUNED)
    trials = [t for t in study.get_trials(deepcopy=False, states=states) if t.number != number]
    if len(trials) < getattr(sampler, "_n_startup_trials", 10):
        return None
    try:
        scores = _scores(sampler, study, trials, space, config, seed, number, n_candidates)
    except (AttributeError, ImportError, TypeError) as exc:  # Optuna's internals moved
        if not _warned:
            _warned.append(str(exc))
            _logger.warning(
                "cannot screen the LLM's proposals with this Optuna version's TPE (%s);"
                " they go unscreened",
                exc,
            )
        return None
    proposal, candidates = scores
    above = int(np.sum(candidates > proposal))
    return ScreenVerdict(
        passed=above <= len(candidates) // 2, above=above, candidates=len(candidates)
    )


def _scores(
    sampler: TPESampler,
    study: Study,
    trials: list[FrozenTrial],
    space: dict[str, BaseDistribution],
    config: Mapping[str, Any],
    seed: int | None,
    number: int,
    n_candidates: int,
) -> tuple[float, np.ndarray]:
    """TPE's acquisition of the proposal and of ``n_candidates`` draws from ``l(x)``."""
    from optuna.samplers._tpe import sampler as tpe_module

    gamma = getattr(sampler, "_gamma", None) or tpe_module.default_gamma
    split: Any = tpe_module._split_trials
    if "constraints_enabled" in inspect.signature(split).parameters:  # Optuna 4.0-4.x
        below, above = split(
            study,
            trials,
            gamma(len(trials)),
            getattr(sampler, "_constraints_func", None) is not None,
        )
    else:
        below, above = split(study, trials, gamma(len(trials)))
    build = sampler._build_parzen_estimator
    mpe_below = build(study, space, below, handle_below=True)
    mpe_above = build(study, space, above, handle_below=False)
    digest = hashlib.sha256(f"agenthpo-screen:{seed}:{number}".encode()).digest()
    rng = np.random.RandomState(int.from_bytes(digest[:4], "little"))
    drawn = mpe_below.sample(rng, n_candidates)
    proposal = {n: np.asarray([d.to_internal_repr(config[n])]) for n, d in space.items()}
    acquisition = sampler._compute_acquisition_func
    return (
        float(acquisition(proposal, mpe_below, mpe_above)[0]),
        np.asarray(acquisition(drawn, mpe_below, mpe_above)),
    )
