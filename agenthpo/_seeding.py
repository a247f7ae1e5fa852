"""Per-trial seeding: reproducible draws that differ between trials, workers and restarts.

A sampler seeded once per process draws the same stream in every process that starts with
that seed: seeded workers proposed the same configurations, and a restart re-ran the draws
of the run it continued. Reseeding the sampler before each trial from ``(seed, trial
number)`` keeps a seeded study reproducible (the same trial number, history and seed give
the same draw) while no two trials, and so no two workers, share a stream.

Example:
    >>> trial_seed(0, 5) == trial_seed(0, 5), trial_seed(0, 5) == trial_seed(0, 6)
    (True, False)
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from optuna.samplers import BaseSampler, CmaEsSampler, GPSampler, RandomSampler, TPESampler
from optuna.study import Study
from optuna.trial import FrozenTrial

from agenthpo import _optuna

__all__ = ["reseed", "seeded_per_trial", "trial_seed"]


def trial_seed(seed: int, number: int, attempt: int = 0) -> int:
    """A 32-bit seed for draw ``attempt`` of trial ``number`` of a study seeded ``seed``."""
    digest = hashlib.sha256(f"agenthpo:{seed}:{number}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def reseed(sampler: object, seed: int) -> None:
    """Reseeds every random state a sampler holds (its own and its inner samplers').

    Optuna samplers keep numpy ``RandomState`` objects, directly or behind a lazy wrapper
    with an ``rng`` property; inner samplers (TPE's random sampler for its start-up trials,
    CMA-ES's independent sampler) are reseeded too, each with a seed of its own.
    """
    _optuna.reseed_random_states(sampler, seed)


class _PerTrial:
    """Reseeds the sampler from ``(seed, trial number)`` before each trial."""

    _agenthpo_seed: int

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        reseed(self, trial_seed(self._agenthpo_seed, trial.number))
        super().before_trial(study, trial)  # type: ignore[misc]

    def reseed_rng(self) -> None:
        """A fresh random seed: the per-trial draws change (Optuna's meaning of reseeding)."""
        self._agenthpo_seed = random.randrange(2**31)
        super().reseed_rng()  # type: ignore[misc]


class _TPE(_PerTrial, TPESampler):
    pass


class _Random(_PerTrial, RandomSampler):
    pass


class _CmaEs(_PerTrial, CmaEsSampler):
    pass


class _GP(_PerTrial, GPSampler):
    pass


_PER_TRIAL: dict[type[BaseSampler], type[BaseSampler]] = {
    TPESampler: _TPE,
    RandomSampler: _Random,
    CmaEsSampler: _CmaEs,
    GPSampler: _GP,
}
for _base, _cls in _PER_TRIAL.items():
    # The plain name: messages and reports name the sampler by its class (the qualified
    # name stays, for pickle).
    _cls.__name__ = _base.__name__


def seeded_per_trial(cls: type[Any], seed: int | None, **kwargs: Any) -> BaseSampler:
    """``cls(seed=seed, **kwargs)``, reseeded before each trial when ``seed`` is given."""
    per_trial: type[Any] | None = _PER_TRIAL.get(cls)
    if seed is None or per_trial is None:
        plain: BaseSampler = cls(seed=seed, **kwargs)
        return plain
    sampler: BaseSampler = per_trial(seed=seed, **kwargs)
    sampler._agenthpo_seed = seed  # type: ignore[attr-defined]
    return sampler
