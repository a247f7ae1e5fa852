"""Strategies: hybrid-tpe's schedule with the embedded model and with any other model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from agenthpo import _keys
from agenthpo.agent.prompts import TaskContext
from agenthpo.llm import ScriptedLLM
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space
from agenthpo.strategies import make_sampler, weak_model_schedule
from agenthpo.task import Task
from tests.conftest import answer

CTX = TaskContext(name="quad", metric="loss", direction="minimize")


class _EmbeddedLike(ScriptedLLM):
    """A scripted model that says it is the embedded one (as ``LocalLlamaClient`` does)."""

    embedded = True


def _llm(embedded: bool) -> ScriptedLLM:
    counter = iter(range(10_000))

    def propose(messages: Any, schema: Any) -> str:
        return answer({"x": 2.0 + 0.01 * next(counter), "kind": "a"}, "near the best")

    return _EmbeddedLike([propose]) if embedded else ScriptedLLM([propose])


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return (x - 2) ** 2 + (0.0 if kind == "a" else 1.0)


def _run(sampler: optuna.samplers.BaseSampler, n: int) -> optuna.Study:
    study = optuna.create_study(sampler=sampler)
    study.optimize(_objective, n_trials=n)
    return study


def test_the_embedded_model_gets_its_turns_after_tpes_start_up(small_space: Space) -> None:
    llm = _llm(embedded=True)
    assert weak_model_schedule(llm)
    sampler = make_sampler("hybrid-tpe", llm=llm, space=small_space, context=CTX, seed=0)
    study = _run(sampler, 16)
    who = [t.user_attrs[_keys.PROPOSED_BY] for t in study.trials]
    assert who[:10] == ["backbone"] * 10
    assert "llm" in who[10:]
    assert study.trials[0].user_attrs[_keys.RATIONALE] == (
        "TPESampler's turn: the first 10 trials are its warm-up, the LLM's turns start after them"
    )
    # The first ten trials are TPE's own: the same configurations a plain TPE study draws.
    tpe = _run(optuna.samplers.TPESampler(seed=0), 10)
    assert [t.params for t in study.trials[:10]] == [t.params for t in tpe.trials]


def test_any_other_model_proposes_the_first_three_trials(small_space: Space) -> None:
    llm = _llm(embedded=False)
    assert not weak_model_schedule(llm)
    sampler = make_sampler("hybrid-tpe", llm=llm, space=small_space, context=CTX, seed=0)
    study = _run(sampler, 4)
    who = [t.user_attrs[_keys.PROPOSED_BY] for t in study.trials]
    assert who[:3] == ["llm"] * 3


@pytest.mark.parametrize(
    ("options", "warmup", "startup"),
    [
        ({}, 10, 0),
        ({"llm_startup_trials": 3}, 0, 3),
        ({"llm_warmup_trials": 5}, 5, 3),
        ({"llm_warmup_trials": 0, "llm_startup_trials": 0}, 0, 0),
    ],
)
def test_a_schedule_the_user_gives_wins_over_the_embedded_default(
    small_space: Space, options: dict[str, int], warmup: int, startup: int
) -> None:
    sampler = make_sampler(
        "hybrid-tpe", llm=_llm(embedded=True), space=small_space, context=CTX, **options
    )
    assert isinstance(sampler, AgentSampler)
    assert (sampler._warmup, sampler._startup) == (warmup, startup)


def test_the_task_file_sets_the_schedule(quadratic_task: Task, tmp_path: Path) -> None:
    from agenthpo.tuner import Tuner

    task = quadratic_task.model_copy(update={"llm_warmup_trials": 4, "llm_startup_trials": 2})
    tuner = Tuner(task, llm=_llm(embedded=False), storage=f"sqlite:///{tmp_path / 's.db'}")
    sampler = tuner.sampler()
    assert isinstance(sampler, AgentSampler)
    assert (sampler._warmup, sampler._startup) == (4, 2)


def test_a_negative_schedule_in_the_task_file_is_refused(quadratic_task: Task) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="llm_startup_trials"):
        Task.model_validate({**quadratic_task.model_dump(), "llm_startup_trials": -1})


def test_a_run_says_who_proposes_which_trials(small_space: Space) -> None:
    def said(strategy: str, llm: ScriptedLLM) -> str:
        sampler = make_sampler(strategy, llm=llm, space=small_space, context=CTX)
        assert isinstance(sampler, AgentSampler)
        return sampler.schedule()

    assert said("hybrid-tpe", _llm(embedded=True)) == (
        "TPE proposes the first 10 trials, then the LLM 25% of the rest (fewer while its"
        " proposals do worse than TPE's) and TPE the others"
    )
    assert said("hybrid-tpe", _llm(embedded=False)).startswith(
        "The LLM proposes the first 3 trials, then the LLM 25% of the rest"
    )
    assert said("agent", _llm(embedded=False)).startswith("The LLM proposes every trial")
    assert said("centaur", _llm(embedded=False)).startswith(
        "CMA-ES proposes every trial; after the first 10 the LLM may override 30% of them"
    )
