"""Seeded workers draw distinct streams, reproducibly (issue 19, item 5): with ``seed:`` in
the task every worker (and every restart) started its backbone from the same seed, so 4
workers x 16 trials gave 11 distinct configurations."""

from __future__ import annotations

from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution

from agenthpo import _keys
from agenthpo.llm import RandomLLM
from agenthpo.policy import STRATEGY_PRESETS, LLMPolicy, preset
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space
from agenthpo.strategies import make_sampler

SPACE = {
    "x": FloatDistribution(-5.0, 5.0),
    "k": CategoricalDistribution(["a", "b", "c"]),
}


def _sampler(strategy: str, seed: int) -> optuna.samplers.BaseSampler:
    if strategy in ("tpe", "random", "cmaes"):
        return make_sampler(strategy, seed=seed)
    policy = preset(STRATEGY_PRESETS[strategy], share=0.0)
    return make_sampler(strategy, seed=seed, llm=RandomLLM(seed=seed), policy=policy)


def _workers(strategy: str, n_workers: int, rounds: int, seed: int = 0) -> list[tuple[Any, ...]]:
    """Interleaves ``n_workers`` studies, each with its own sampler of the same seed, as
    worker processes do; returns every trial's configuration in order."""
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="w", storage=storage)
    studies = [
        optuna.load_study(study_name="w", storage=storage, sampler=_sampler(strategy, seed))
        for _ in range(n_workers)
    ]
    configs: list[tuple[Any, ...]] = []
    for _ in range(rounds):
        trials = [s.ask(SPACE) for s in studies]
        for study, trial in zip(studies, trials, strict=True):
            configs.append((trial.params["x"], trial.params["k"]))
            study.tell(trial, (trial.params["x"] - 1) ** 2)
    return configs


@pytest.mark.parametrize("strategy", ["tpe", "random", "cmaes", "agent"])
def test_seeded_workers_draw_distinct_configurations(strategy: str) -> None:
    configs = _workers(strategy, n_workers=4, rounds=4)
    assert len(set(configs)) == len(configs) == 16


@pytest.mark.parametrize("strategy", ["tpe", "agent"])
def test_a_seeded_run_is_reproducible(strategy: str) -> None:
    assert _workers(strategy, 1, 12) == _workers(strategy, 1, 12)
    assert _workers(strategy, 1, 12) != _workers(strategy, 1, 12, seed=1)


def test_a_backbone_proposal_identical_to_a_tried_one_is_redrawn() -> None:
    space = {"k": CategoricalDistribution([str(i) for i in range(10)])}
    sampler = AgentSampler(
        llm=RandomLLM(seed=0),
        space=Space.from_optuna(space),
        backbone=optuna.samplers.RandomSampler(seed=3),
        policy=LLMPolicy(share=0.0),
        seed=3,
    )
    study = optuna.create_study(sampler=sampler)
    seen = []
    for _ in range(6):
        trial = study.ask(space)
        seen.append(trial.params["k"])  # left running: a running trial counts as tried
    assert len(set(seen)) == 6
    assert all(t.user_attrs[_keys.PROPOSED_BY] == "backbone" for t in study.trials)
