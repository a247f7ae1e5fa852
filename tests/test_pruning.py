"""Pruning: Optuna's pruners from the task file, and the agent's own."""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest

from agenthpo import _keys
from agenthpo.errors import AgentHPOError
from agenthpo.llm import Message, ScriptedLLM
from agenthpo.pruners import AgentPruner, make_pruner
from agenthpo.task import Task, task_from_dict
from agenthpo.tuner import Tuner
from tests.conftest import answer

CURVES = """
import sys, time
from agenthpo import report
lr = float(sys.argv[sys.argv.index("--lr") + 1])
for step in range(30):
    if lr > 0.5 and step == 3:
        report(step=step, acc=float("nan"))   # diverges
    else:
        report(step=step, acc=min(0.99, lr * (step + 1)))
    time.sleep(0.05)
report(acc=min(0.99, lr * 30))
"""


def _task(tmp_path: Path, pruner: object) -> Task:
    (tmp_path / "train.py").write_text(CURVES)
    return task_from_dict(
        {
            "name": "prune",
            "objective": {"metric": "acc", "direction": "maximize"},
            "space": {"lr": {"type": "float", "low": 0.001, "high": 1.0, "log": True}},
            "n_trials": 6,
            "command": ["python", "train.py"],
            "strategy": "agent",
            "pruner": pruner,
        },
        base_dir=tmp_path,
    )


def test_the_agent_pruner_stops_a_diverging_run_and_the_agent_sees_it(tmp_path: Path) -> None:
    lrs = [0.05, 0.04, 0.03, 0.9, 0.001, 0.02]
    seen: list[str] = []

    def respond(messages: list[Message], schema: object) -> str:
        seen.append(messages[-1].content)
        return answer({"lr": lrs[min(len(seen) - 1, len(lrs) - 1)]}, "probe the rate")

    storage = f"sqlite:///{tmp_path / 'p.db'}"
    start = time.monotonic()
    summary = Tuner(
        _task(tmp_path, "agent"), llm=ScriptedLLM([respond]), storage=storage, prefetch=False
    ).run()
    assert time.monotonic() - start < 60
    trials = optuna.load_study(study_name="prune", storage=storage).trials
    by_lr = {round(t.params["lr"], 3): t for t in trials}
    diverged = by_lr[0.9]
    assert diverged.state == optuna.trial.TrialState.PRUNED
    assert diverged.user_attrs[_keys.ANALYSIS] == "diverged: acc became nan at step 3"
    assert len(diverged.user_attrs[_keys.CURVE]) == 4  # it was stopped right there
    assert summary.n_pruned >= 1
    after = seen[4]
    assert f"#{diverged.number} PRUNED" in after
    # every finished trial, the pruned one too, got its optuna-dashboard note as it ended
    from agenthpo.dashboard import write_study_notes

    assert write_study_notes(optuna.load_study(study_name="prune", storage=storage)) == 0


def test_median_pruner_from_the_task_file(tmp_path: Path) -> None:
    task = _task(tmp_path, {"type": "median", "n_startup_trials": 2, "n_warmup_steps": 2})
    # Far enough apart (more than 5% of the log range) that none is a near copy of another:
    # a near copy would cost a repair call and shift every later answer by one.
    lrs = [0.05, 0.15, 0.002, 0.4, 0.003, 0.25]
    calls = iter(lrs)

    def respond(messages: list[Message], schema: object) -> str:
        return answer({"lr": next(calls)}, "probe")

    storage = f"sqlite:///{tmp_path / 'm.db'}"
    Tuner(task, llm=ScriptedLLM([respond]), storage=storage, prefetch=False).run()
    trials = optuna.load_study(study_name="prune", storage=storage).trials
    pruned = [t for t in trials if t.state == optuna.trial.TrialState.PRUNED]
    assert sorted(t.params["lr"] for t in trials) == sorted(lrs)  # the LLM proposed each
    assert pruned
    assert all(t.params["lr"] < 0.01 for t in pruned)
    assert all("pruned by MedianPruner" in t.user_attrs[_keys.ANALYSIS] for t in pruned)


def test_agent_pruner_rules() -> None:
    study = optuna.create_study(direction="maximize")
    for final in (0.8, 0.85, 0.9):
        study.add_trial(
            optuna.trial.create_trial(
                value=final,
                params={},
                distributions={},
                intermediate_values={0: final / 2},
            )
        )
    pruner = AgentPruner(n_warmup_steps=3, patience=3)

    def trial(values: list[float]) -> optuna.trial.FrozenTrial:
        return optuna.trial.create_trial(
            state=optuna.trial.TrialState.RUNNING,
            params={},
            distributions={},
            intermediate_values=dict(enumerate(values)),
        )

    assert pruner.prune(study, trial([0.1, float("inf")]))
    assert not pruner.prune(study, trial([0.1, 0.2, 0.3]))  # still warming up
    assert pruner.prune(study, trial([0.5, 0.6, 0.6, 0.6, 0.6]))  # stalled below 0.85
    assert not pruner.prune(study, trial([0.5, 0.9, 0.9, 0.9, 0.9]))  # stalled above
    assert not pruner.prune(study, trial([0.1, 0.2, 0.3, 0.4, 0.5]))  # still improving


def test_pruner_options_are_checked(tmp_path: Path) -> None:
    assert make_pruner("none") is None
    task = _task(tmp_path, {"type": "median", "patience": 3})
    with pytest.raises(AgentHPOError, match="pruner:"):
        Tuner(task, storage=f"sqlite:///{tmp_path / 'x.db'}", strategy="random").pruner()
