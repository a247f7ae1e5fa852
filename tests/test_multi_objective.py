"""Multi-objective tasks: several metrics with directions, the Pareto front everywhere.

The task file lists the objectives; the study is an Optuna multi-objective study with the
metric names set (optuna-dashboard labels its axes with them); the agent's prompt shows
every objective of every trial and names the Pareto front; ``best`` prints the front.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from optuna.samplers import TPESampler
from typer.testing import CliRunner

import agenthpo
from agenthpo import _keys
from agenthpo.agent.history import TrialView, pareto_ranks, render_history, trial_views
from agenthpo.agent.prompts import TaskContext, goal_text
from agenthpo.cli import app
from agenthpo.errors import AgentHPOError, TaskError
from agenthpo.llm import Message, RandomLLM, ScriptedLLM
from agenthpo.space import Space
from agenthpo.task import Task, task_from_dict
from agenthpo.tuner import Tuner
from tests.conftest import answer

# A trade-off: accuracy rises with the width, and so does the training time.
TRADE_OFF = """
def objective(config, report):
    width = config["width"]
    lr = config["lr"]
    acc = 1.0 - 1.0 / width - abs(lr - 0.1)
    seconds = 0.5 * width + (5.0 if config["opt"] == "sgd" else 0.0)
    if config.get("drop") == "seconds":
        report(step=0, acc=acc)
        return {"acc": acc}
    report(step=0, acc=acc / 2, seconds=seconds / 2)
    report(step=1, acc=acc, seconds=seconds)
    return {"acc": acc, "seconds": seconds, "test_acc": acc - 0.01}
"""

TWO = [
    {"metric": "acc", "direction": "maximize"},
    {"metric": "seconds", "direction": "minimize"},
]


def _task(tmp_path: Path, **extra: Any) -> Task:
    (tmp_path / "tradeoff.py").write_text(TRADE_OFF)
    data: dict[str, Any] = {
        "name": "tradeoff",
        "objective": TWO,
        "hidden_metrics": ["test_acc"],
        "space": {
            "width": {"type": "int", "low": 1, "high": 64, "log": True},
            "lr": {"type": "float", "low": 0.001, "high": 1.0, "log": True},
            "opt": ["adam", "sgd"],
        },
        "n_trials": 6,
        "function": "tradeoff:objective",
        "strategy": "agent",
    }
    data.update(extra)
    return task_from_dict(data, base_dir=tmp_path)


# -- the task file -----------------------------------------------------------------------------
def test_objective_may_list_several_metrics(tmp_path: Path) -> None:
    task = _task(tmp_path)
    assert task.is_multi_objective
    assert task.metric_names == ["acc", "seconds"]
    assert task.directions == ["maximize", "minimize"]
    assert task.objective.metric == "acc"  # the first is the primary objective
    # `objectives:` is the same thing spelled out, and a dump round-trips.
    data = task.model_dump()
    data["space"] = task.space
    assert task_from_dict(data).objectives == task.objectives
    spelled = _task(tmp_path, objective=None, objectives=TWO)
    assert spelled.objectives == task.objectives


def test_one_objective_is_still_single(tmp_path: Path) -> None:
    task = _task(tmp_path, objective={"metric": "acc", "direction": "maximize"})
    assert not task.is_multi_objective
    assert task.metric_names == ["acc"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"objective": []}, "objective: the list is empty"),
        ({"objective": [TWO[0], {**TWO[1], "metric": "acc"}]}, "'acc' is listed more than once"),
        ({"objective": [TWO[0], {"metric": "seconds"}]}, "objectives.1.direction: required"),
        ({"hidden_metrics": ["seconds"]}, "'seconds' cannot be hidden"),
        ({"pruner": "median"}, "pruner: Optuna prunes single-objective studies only"),
        ({"noise": {"repeats": 2}}, "noise: the seed-noise measurement needs a single"),
        ({"strategy": "centaur"}, "strategy: 'centaur' uses CMA-ES"),
        ({"strategy": "cmaes"}, "strategy: 'cmaes' uses CMA-ES"),
        ({"objectives": [TWO[1], TWO[0]]}, "give the objectives once"),
    ],
)
def test_impossible_multi_objective_tasks_say_what_to_fix(
    tmp_path: Path, extra: dict[str, Any], expected: str
) -> None:
    with pytest.raises(TaskError, match=expected.replace("(", r"\(")) as info:
        _task(tmp_path, **extra)
    assert "Traceback" not in str(info.value)


# -- the Pareto front ------------------------------------------------------------------------
def test_pareto_ranks_match_optunas_front() -> None:
    rng = random.Random(0)
    for _ in range(20):
        points = [[rng.randint(0, 6), rng.randint(0, 6)] for _ in range(rng.randint(1, 25))]
        study = optuna.create_study(directions=["maximize", "minimize"])
        for p in points:
            study.add_trial(
                optuna.trial.create_trial(
                    values=[float(v) for v in p],
                    params={},
                    distributions={},
                )
            )
        front = {t.number for t in study.best_trials}
        ranks = pareto_ranks(points, ["maximize", "minimize"])
        assert {i for i, r in enumerate(ranks) if r == 0} == front
        # A point of front k is dominated by some point of front k - 1, none of a later one.
        for i, r in enumerate(ranks):
            if r > 0:
                assert any(
                    ranks[j] == r - 1
                    and points[j][0] >= points[i][0]
                    and points[j][1] <= points[i][1]
                    for j in range(len(points))
                )


def _views(points: Sequence[tuple[float, float]]) -> list[TrialView]:
    return [
        TrialView(number=i, config={"w": i}, state="complete", value=a, values=(a, s))
        for i, (a, s) in enumerate(points)
    ]


def test_the_history_shows_every_objective_and_names_the_front() -> None:
    points = [(0.9, 30.0), (0.8, 10.0), (0.7, 40.0), (0.95, 50.0), (0.6, 5.0)]
    text = render_history(
        _views(points), metric=["acc", "seconds"], direction=["maximize", "minimize"]
    )
    head = next(line for line in text.splitlines() if line.startswith("Summary:"))
    assert "Objectives: maximize acc, minimize seconds." in head
    assert "Pareto front so far (4 trials" in head
    for number in (0, 1, 3, 4):
        assert f"#{number} (acc=" in head
    assert "#2 (" not in head  # dominated by trial 0
    assert "#2 acc=0.7 seconds=40 (earlier trial #0 acc=0.9 seconds=30 beats it" in text
    assert "#3 acc=0.95 seconds=50 (no earlier trial beats it on every objective)" in text


def test_beyond_a_few_trials_the_front_comes_first() -> None:
    rng = random.Random(1)
    points = [(rng.random(), rng.random() * 100) for _ in range(30)]
    text = render_history(
        _views(points), metric=["acc", "seconds"], direction=["maximize", "minimize"]
    )
    ranks = pareto_ranks([list(p) for p in points], ["maximize", "minimize"])
    lines = text.splitlines()
    start = lines.index("Best 5 trials (the Pareto front first):")
    shown = [int(line.split()[0][1:]) for line in lines[start + 1 : start + 6]]
    n_front = sum(r == 0 for r in ranks)
    assert all(ranks[n] == 0 for n in shown[: min(5, n_front)])


def test_trial_views_keep_every_objective_out_of_the_other_metrics() -> None:
    trial = optuna.trial.create_trial(
        values=[0.9, 12.0],
        params={"x": 1.0},
        distributions={"x": optuna.distributions.FloatDistribution(0, 2)},
        user_attrs={_keys.METRICS: {"acc": 0.9, "seconds": 12.0, "loss": 0.3, "test": 1.0}},
    )
    (view,) = trial_views([trial], metric=["acc", "seconds"], hidden_metrics=["test"])
    assert view.values == (0.9, 12.0)
    assert dict(view.metrics) == {"loss": 0.3}


def test_the_goal_names_the_trade_off() -> None:
    ctx = TaskContext(objectives=(("acc", "maximize"), ("seconds", "minimize")))
    assert ctx.metric == "acc"
    assert ctx.direction == "maximize"
    assert goal_text(ctx).startswith("maximize acc and minimize seconds: a trade-off")
    assert "Pareto front" in goal_text(ctx)


# -- the tuner -------------------------------------------------------------------------------
def test_a_multi_objective_study_runs_and_the_agent_sees_the_front(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'mo.db'}"
    task = _task(tmp_path)
    prompts: list[str] = []
    rng = random.Random(0)

    def respond(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
        prompts.append(messages[-1].content)
        return answer(
            {
                "width": rng.choice([2, 4, 8, 16, 32, 64]),
                "lr": rng.choice([0.01, 0.05, 0.1, 0.3]),
                "opt": rng.choice(["adam", "sgd"]),
            },
            "trade a little accuracy for a much shorter run",
        )

    summary = Tuner(task, llm=ScriptedLLM([respond] * 20), storage=storage, seed=0).run()
    assert summary.n_complete == 6
    study = optuna.load_study(study_name="tradeoff", storage=storage)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert study.metric_names == ["acc", "seconds"]
    for t in study.trials:
        assert t.values is not None
        assert len(t.values) == 2
        assert t.values[0] == pytest.approx(t.user_attrs[_keys.METRICS]["acc"])
        assert len(t.user_attrs[_keys.CURVE]) == 2  # stored though Optuna keeps no curve
    front = {t.number for t in study.best_trials}
    assert {e["number"] for e in summary.pareto_front} == front
    assert summary.best_trial in front
    # The later prompts show both objectives and the front; test_acc stays hidden.
    assert "Goal: maximize acc and minimize seconds" in prompts[-1]
    assert "Pareto front so far" in prompts[-1]
    assert "seconds=" in prompts[-1]
    assert all("test_acc" not in p for p in prompts)


def test_a_run_missing_one_objective_fails_and_says_which(tmp_path: Path) -> None:
    task = _task(
        tmp_path,
        space={
            "width": {"type": "int", "low": 1, "high": 4},
            "lr": [0.1],
            "opt": ["adam"],
            "drop": ["seconds"],
        },
        n_trials=1,
    )
    storage = f"sqlite:///{tmp_path / 'miss.db'}"
    Tuner(task, llm=RandomLLM(seed=0), storage=storage).run()
    (trial,) = optuna.load_study(study_name="tradeoff", storage=storage).trials
    assert trial.state == optuna.trial.TrialState.FAIL
    assert "never reported 'seconds'" in trial.user_attrs[_keys.ERROR]


def test_a_study_created_single_objective_refuses_a_multi_objective_task(
    tmp_path: Path,
) -> None:
    storage = f"sqlite:///{tmp_path / 'x.db'}"
    single = _task(tmp_path, objective=TWO[0], n_trials=1)
    Tuner(single, llm=RandomLLM(seed=0), storage=storage).run()
    with pytest.raises(
        AgentHPOError,
        match=r"created with 1 objective \(maximize\); the task now has 2 \(maximize and",
    ):
        Tuner(_task(tmp_path), llm=RandomLLM(seed=0), storage=storage).run()


# -- the CLI -----------------------------------------------------------------------------------
def _task_file(tmp_path: Path, **extra: Any) -> Path:
    (tmp_path / "tradeoff.py").write_text(TRADE_OFF)
    data: dict[str, Any] = {
        "name": "tradeoff",
        "objective": TWO,
        "space": {
            "width": {"type": "int", "low": 1, "high": 64, "log": True},
            "lr": {"type": "float", "low": 0.001, "high": 1.0, "log": True},
            "opt": ["adam", "sgd"],
        },
        "n_trials": 5,
        "function": "tradeoff:objective",
        "strategy": "hybrid-tpe",
        "llm": "random:1",
    }
    data.update(extra)
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_cli_run_show_and_best_print_the_front(tmp_path: Path) -> None:
    path = _task_file(tmp_path)
    runner = CliRunner()
    run = runner.invoke(app, ["run", str(path), "--no-report"])
    assert run.exit_code == 0, run.output
    assert "Pareto front" in run.output
    best = runner.invoke(app, ["best", str(path)])
    assert best.exit_code == 0, best.output
    entries = json.loads(best.stdout)
    study = optuna.load_study(
        study_name="tradeoff", storage=f"sqlite:///{tmp_path / 'task.agenthpo.db'}"
    )
    assert [e["trial"] for e in entries] == sorted(t.number for t in study.best_trials)
    for e in entries:
        assert set(e["values"]) == {"acc", "seconds"}
        assert set(e["config"]) == {"width", "lr", "opt"}
    show = runner.invoke(app, ["show", str(path)])
    assert show.exit_code == 0, show.output
    assert "maximize acc and minimize seconds" in show.output


def test_ask_and_tell_with_several_objectives(tmp_path: Path) -> None:
    path = _task_file(tmp_path, command=["python", "x.py"], function=None)
    runner = CliRunner()
    asked = runner.invoke(app, ["ask", str(path)])
    assert asked.exit_code == 0, asked.output
    number = json.loads(asked.stdout)["trial"]
    refused = runner.invoke(app, ["tell", str(path), "--trial", str(number), "--value", "0.5"])
    assert refused.exit_code == 2
    assert "several objectives" in refused.output
    assert "Traceback" not in refused.output
    missing = runner.invoke(
        app, ["tell", str(path), "--trial", str(number), "--metrics", '{"acc": 0.5}']
    )
    assert missing.exit_code == 2
    assert "'seconds'" in missing.output
    told = runner.invoke(
        app,
        ["tell", str(path), "--trial", str(number), "--metrics", '{"acc": 0.5, "seconds": 3}'],
    )
    assert told.exit_code == 0, told.output
    assert "complete 0.5 / 3" in told.output


# -- the Python API --------------------------------------------------------------------------
def test_create_study_with_several_directions() -> None:
    study = agenthpo.create_study(
        space={"x": {"type": "float", "low": 0.0, "high": 1.0}},
        llm="random:0",
        directions=["minimize", "minimize"],
        metric=["f1", "f2"],
        strategy="agent",
        seed=0,
    )
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), (1 - t.params["x"]) ** 2), n_trials=6)
    assert study.metric_names == ["f1", "f2"]
    assert [t.user_attrs[_keys.PROPOSED_BY] for t in study.trials].count("llm") == 6
    assert study.best_trials


def test_create_study_checks_names_against_directions() -> None:
    with pytest.raises(ValueError, match="1 metric names for 2 directions"):
        agenthpo.create_study(llm="random:0", directions=["minimize", "maximize"], metric=["a"])


def test_agent_sampler_without_context_reads_the_study(tmp_path: Path) -> None:
    seen: list[str] = []

    def respond(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
        seen.append(messages[-1].content)
        return answer({"x": [0.1, 0.2, 0.3, 0.4][len(seen) % 4]})

    sampler = agenthpo.AgentSampler(
        policy="agent",
        backbone=TPESampler(),
        llm=ScriptedLLM([respond] * 10),
        space=Space.from_dict({"x": [0.1, 0.2, 0.3, 0.4]}),
    )
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.set_metric_names(["gain", "cost"])
    study.optimize(lambda t: (t.suggest_categorical("x", [0.1, 0.2, 0.3, 0.4]), 1.0), n_trials=3)
    assert "Goal: maximize gain and minimize cost" in seen[-1]
