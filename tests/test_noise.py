"""Noise: the incumbent re-run with other seeds; the agent is told the spread."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from agenthpo import _keys
from agenthpo.errors import TaskError
from agenthpo.llm import Message, ScriptedLLM
from agenthpo.task import Task, task_from_dict
from agenthpo.tuner import Tuner
from tests.conftest import answer

NOISY = """
def objective(config, report):
    seed = config.get("seed", 0)
    return {"loss": (config["x"] - 2) ** 2 + 0.1 * seed}
"""


def _task(tmp_path: Path, **extra: object) -> Task:
    (tmp_path / "noisy.py").write_text(NOISY)
    data: dict[str, object] = {
        "name": "noisy",
        "objective": {"metric": "loss", "direction": "minimize"},
        "space": {"x": {"type": "float", "low": -5.0, "high": 5.0}},
        "n_trials": 4,
        "function": "noisy:objective",
        "strategy": "agent",
        "noise": {"repeats": 2, "every": 2},
    }
    data.update(extra)
    return task_from_dict(data, base_dir=tmp_path)


def test_incumbent_is_rerun_and_the_agent_hears_the_spread(tmp_path: Path) -> None:
    task = _task(tmp_path)
    seen: list[str] = []

    def respond(messages: list[Message], schema: object) -> str:
        seen.append(messages[-1].content)
        return answer({"x": 2.0 + len(seen) / 10}, "walk right")

    storage = f"sqlite:///{tmp_path / 'n.db'}"
    Tuner(task, llm=ScriptedLLM([respond]), storage=storage, prefetch=False).run()
    study = optuna.load_study(study_name="noisy", storage=storage)
    noise = study.user_attrs[_keys.STUDY_NOISE]
    best = str(study.best_trial.number)
    entry = noise[best]
    assert entry["n"] == 3
    assert entry["seeds"] == [None, 1, 2]
    assert entry["values"][1] == pytest.approx(entry["values"][0] + 0.1)
    assert entry["std"] == pytest.approx(0.1)
    # The runs did not spend the budget.
    assert len(study.trials) == 4
    # After the first measurement (trial 2) the agent was told the noise level.
    assert "Seed noise" not in seen[0]
    assert "Seed noise: trial #0 re-run with 3 seeds" in seen[2]
    assert "standard deviation of 0.1" in seen[2]


def test_seed_param_must_not_be_tuned(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match=r"noise\.seed_param"):
        _task(tmp_path, noise={"seed_param": "x"})
