"""Warm starts: known-good configs from the task file or an earlier study run first."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from agenthpo import _keys
from agenthpo.errors import TaskError
from agenthpo.llm import RandomLLM
from agenthpo.task import Task, task_with
from agenthpo.tuner import Tuner


def _trials(storage: str, name: str = "quad") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=storage).trials


def test_task_file_configs_run_first_once(quadratic_task: Task, tmp_path: Path) -> None:
    task = task_with(quadratic_task, warm_start=[{"x": 2.0, "kind": "a"}, {"x": "-1", "kind": "B"}])
    assert task.warm_start[1] == {"x": -1.0, "kind": "b"}  # normalized on load
    storage = f"sqlite:///{tmp_path / 'w.db'}"
    llm = RandomLLM(seed=0)
    Tuner(task, llm=llm, storage=storage, n_trials=3).run()
    Tuner(task, llm=llm, storage=storage, n_trials=4).run()
    trials = _trials(storage)
    assert [t.params for t in trials[:2]] == [{"x": 2.0, "kind": "a"}, {"x": -1.0, "kind": "b"}]
    assert trials[0].user_attrs[_keys.PROPOSED_BY] == "warm_start"
    assert "from the task file" in trials[0].user_attrs[_keys.WARM_START]
    assert sum(t.user_attrs[_keys.PROPOSED_BY] == "warm_start" for t in trials) == 2
    assert llm.calls == 2


def test_the_best_of_an_earlier_study_run_first(quadratic_task: Task, tmp_path: Path) -> None:
    earlier = f"sqlite:///{tmp_path / 'earlier.db'}"
    Tuner(quadratic_task, llm=RandomLLM(seed=4), storage=earlier, n_trials=6).run()
    done = sorted((t for t in _trials(earlier) if t.value is not None), key=lambda t: t.value)
    task = task_with(quadratic_task, warm_start_from={"study": f"{earlier}#quad", "top": 2})
    storage = f"sqlite:///{tmp_path / 'new.db'}"
    Tuner(task, llm=RandomLLM(seed=5), storage=storage, n_trials=3).run()
    trials = _trials(storage)
    assert [t.params for t in trials[:2]] == [done[0].params, done[1].params]
    assert f"trial {done[0].number} of study 'quad'" in trials[0].user_attrs[_keys.WARM_START]


def test_a_warm_start_outside_the_space_is_refused(quadratic_task: Task) -> None:
    with pytest.raises(TaskError, match=r"warm_start\.0: x: 9\.0 is above the maximum"):
        task_with(quadratic_task, warm_start=[{"x": 9.0, "kind": "a"}])
