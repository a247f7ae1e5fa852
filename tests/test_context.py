"""TaskContext: beside Task, built from a task by one method, objectives set one way."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

import agenthpo.study
from agenthpo.agent import prompts
from agenthpo.task import Task, TaskContext, task_from_dict


def _task(**extra: Any) -> Task:
    data: dict[str, Any] = {
        "name": "demo",
        "description": "  an MLP\n on digits ",
        "dataset": {"rows": 1797},
        "model": "a small MLP",
        "objective": {"metric": "acc", "direction": "maximize"},
        "space": {"lr": {"type": "float", "low": 0.001, "high": 0.1}},
        "n_trials": 5,
        "command": ["python", "train.py"],
    }
    data.update(extra)
    return task_from_dict(data)


def test_the_prompts_module_re_exports_the_same_class() -> None:
    assert prompts.TaskContext is TaskContext
    assert TaskContext.__module__ == "agenthpo._context"


def test_task_context_carries_the_task() -> None:
    ctx = _task().context()
    assert ctx == TaskContext(
        name="demo",
        description="  an MLP\n on digits ",
        dataset={"rows": 1797},
        model="a small MLP",
        metric="acc",
        direction="maximize",
    )
    assert ctx.objectives == ()
    assert not ctx.is_multi_objective


def test_task_context_of_several_objectives() -> None:
    task = _task(
        objective=[
            {"metric": "acc", "direction": "maximize"},
            {"metric": "seconds", "direction": "minimize"},
        ]
    )
    ctx = task.context()
    assert ctx.metric == "acc"
    assert ctx.direction == "maximize"
    assert ctx.all_objectives == (("acc", "maximize"), ("seconds", "minimize"))
    assert ctx.is_multi_objective


def test_a_single_objective_sets_the_primary_metric() -> None:
    # It used to leave metric and direction at "value"/"minimize" while dropping the objective.
    ctx = TaskContext(objectives=(("acc", "maximize"),))
    assert (ctx.metric, ctx.direction, ctx.objectives) == ("acc", "maximize", ())


def test_with_objectives_replaces_the_goal_and_keeps_the_rest() -> None:
    base = TaskContext(name="n", description="d", metric="loss")
    ctx = base.with_objectives([("a", "maximize"), ("b", "minimize")])
    assert (ctx.name, ctx.description) == ("n", "d")
    assert ctx.all_objectives == (("a", "maximize"), ("b", "minimize"))
    back = ctx.with_objectives([("loss", "minimize")])
    assert back == base
    with pytest.raises(ValueError, match="at least one"):
        base.with_objectives([])


def test_create_study_builds_the_same_context_as_a_task(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def make_sampler(strategy: str, **kwargs: Any) -> optuna.samplers.BaseSampler:
        seen.update(kwargs)
        return optuna.samplers.RandomSampler(seed=0)

    monkeypatch.setattr(agenthpo.study, "make_sampler", make_sampler)
    goals = [
        {"metric": "acc", "direction": "maximize"},
        {"metric": "seconds", "direction": "minimize"},
    ]
    for objective, options in (
        (goals[0], {"metric": "acc", "direction": "maximize"}),
        (goals, {"metric": ["acc", "seconds"], "directions": ["maximize", "minimize"]}),
    ):
        agenthpo.study.create_study(
            space={"lr": {"type": "float", "low": 0.001, "high": 0.1}},
            strategy="random",
            study_name="demo",
            description="  an MLP\n on digits ",
            dataset={"rows": 1797},
            model="a small MLP",
            **options,
        )
        assert seen["context"] == _task(objective=objective).context()
