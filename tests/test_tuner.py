"""The tuner loop: budget, resume, stored results, failures the agent sees next."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from agenthpo import _keys
from agenthpo.errors import AgentHPOError
from agenthpo.llm import Message, RandomLLM, ScriptedLLM
from agenthpo.task import Task, task_from_dict, task_with
from agenthpo.tuner import TrialEvent, Tuner
from tests.conftest import answer


def _load(storage: str, name: str = "quad") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage)


def test_runs_to_budget_and_stores_everything(quadratic_task: Task, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    ends: list[TrialEvent] = []
    summary = Tuner(
        quadratic_task, llm=RandomLLM(seed=0), storage=storage, on_trial_end=[ends.append]
    ).run()
    assert summary.n_run == 4
    assert summary.n_complete == 4
    assert summary.llm_calls == 4
    assert summary.best_config is not None
    study = _load(storage)
    assert len(study.trials) == 4
    for t in study.trials:
        assert t.state == optuna.trial.TrialState.COMPLETE
        metrics = t.user_attrs[_keys.METRICS]
        assert metrics["test_loss"] == 123.0  # hidden metrics are stored
        assert t.value == pytest.approx(metrics["loss"])
        assert sorted(t.intermediate_values) == [0, 1, 2]
        assert len(t.user_attrs[_keys.CURVE]) == 3
        assert t.user_attrs[_keys.RATIONALE]
        assert t.user_attrs[_keys.PROPOSED_BY] == "llm"
    assert [e.number for e in ends] == [0, 1, 2, 3]
    assert ends[-1].best_value == pytest.approx(summary.best_value)
    assert study.user_attrs[_keys.STUDY_METRIC] == "loss"


def test_a_second_run_continues_the_study(quadratic_task: Task, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    Tuner(quadratic_task, llm=RandomLLM(seed=0), storage=storage, n_trials=2).run()
    first = [(t.number, t.params, t.value) for t in _load(storage).trials]
    summary = Tuner(quadratic_task, llm=RandomLLM(seed=1), storage=storage, n_trials=3).run()
    assert summary.n_run == 1
    trials = _load(storage).trials
    assert len(trials) == 3
    assert [(t.number, t.params, t.value) for t in trials[:2]] == first
    # At its budget, another run does nothing.
    assert Tuner(quadratic_task, llm=RandomLLM(), storage=storage, n_trials=3).run().n_run == 0


def test_default_config_runs_first_and_only_once(tmp_path: Path, quadratic_task: Task) -> None:
    data = quadratic_task.model_dump()
    data["space"] = quadratic_task.space.to_dict()
    data["default_config"] = {"x": 0.5, "kind": "A"}
    task = task_from_dict(data, base_dir=tmp_path)
    assert task.default_config == {"x": 0.5, "kind": "a"}
    storage = f"sqlite:///{tmp_path / 'd.db'}"
    llm = RandomLLM(seed=0)
    Tuner(task, llm=llm, storage=storage, n_trials=2).run()
    Tuner(task, llm=llm, storage=storage, n_trials=3).run()
    trials = _load(storage).trials
    assert trials[0].params == {"x": 0.5, "kind": "a"}
    assert trials[0].user_attrs[_keys.PROPOSED_BY] == "default_config"
    assert sum(t.params == {"x": 0.5, "kind": "a"} for t in trials) == 1
    assert llm.calls == 2


def test_every_complete_trial_has_the_executors_analysis(
    tmp_path: Path, quadratic_task: Task
) -> None:
    data = quadratic_task.model_dump()
    data["space"] = quadratic_task.space.to_dict()
    data["default_config"] = {"x": 0.5, "kind": "a"}
    data["warm_start"] = [{"x": 1.0, "kind": "b"}]
    task = task_from_dict(data, base_dir=tmp_path)
    storage = f"sqlite:///{tmp_path / 'a.db'}"
    Tuner(task, llm=RandomLLM(seed=0), storage=storage, n_trials=4).run()
    trials = _load(storage).trials
    assert [t.user_attrs[_keys.PROPOSED_BY] for t in trials] == [
        "default_config",
        "warm_start",
        "llm",
        "llm",
    ]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    for t in trials:
        assert t.user_attrs.get(_keys.ANALYSIS), f"trial {t.number} has no analysis"
    # The baseline's curve (3.25, 2.75, 2.58) shows nothing wrong; its analysis says so.
    assert trials[0].user_attrs[_keys.ANALYSIS] == (
        "no problem seen in the curve: best loss 2.58 at the last step (2)"
    )


def test_a_null_in_the_default_config_leaves_the_parameter_to_the_objective(
    tmp_path: Path, quadratic_task: Task
) -> None:
    (tmp_path / "quad.py").write_text(
        "def objective(config, report):\n"
        "    kind = config.get('kind', 'b')\n"
        "    loss = (config['x'] - 2) ** 2 + (kind == 'b')\n"
        "    return {'loss': loss, 'kind_given': float('kind' in config)}\n"
    )
    data = quadratic_task.model_dump()
    data["space"] = quadratic_task.space.to_dict()
    data["default_config"] = {"x": 0.5, "kind": None}
    task = task_from_dict(data, base_dir=tmp_path)
    storage = f"sqlite:///{tmp_path / 'n.db'}"
    llm = RandomLLM(seed=0)
    Tuner(task, llm=llm, storage=storage, n_trials=3).run()
    baseline, *others = _load(storage).trials
    assert baseline.params == {"x": 0.5}
    assert baseline.user_attrs[_keys.LEFT_OUT] == ["kind"]
    assert baseline.user_attrs[_keys.METRICS]["kind_given"] == 0.0
    assert baseline.value == pytest.approx(1.5**2 + 1)
    assert llm.calls == 2  # the baseline asked the LLM for nothing
    assert all(set(t.params) == {"x", "kind"} for t in others)


def _command_task(tmp_path: Path, script: str, **extra: object) -> Task:
    (tmp_path / "train.py").write_text(script)
    data: dict[str, object] = {
        "name": "cmd",
        "objective": {"metric": "acc", "direction": "maximize"},
        "space": {"lr": {"type": "float", "low": 0.001, "high": 1.0, "log": True}},
        "n_trials": 2,
        "strategy": "agent",
        "command": ["python", "train.py"],
    }
    data.update(extra)
    return task_from_dict(data, base_dir=tmp_path)


def test_a_crash_is_stored_as_failed_and_shown_to_the_agent(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "lr = float(sys.argv[sys.argv.index('--lr') + 1])\n"
        "if lr > 0.05:\n"
        "    raise FloatingPointError(f'loss exploded with lr={lr}')\n"
        "from agenthpo import report\n"
        "report(acc=1 - lr)\n"
    )
    task = _command_task(tmp_path, script)
    seen: list[str] = []

    def respond(messages: list[Message], schema: object) -> str:
        seen.append(messages[-1].content)
        return answer({"lr": 0.5 if len(seen) == 1 else 0.01}, "try a value")

    storage = f"sqlite:///{tmp_path / 'c.db'}"
    summary = Tuner(task, llm=ScriptedLLM([respond]), storage=storage).run()
    assert summary.n_failed == 1
    assert summary.n_complete == 1
    failed, ok = _load(storage, "cmd").trials
    assert failed.state == optuna.trial.TrialState.FAIL
    assert failed.user_attrs[_keys.ERROR] == "FloatingPointError: loss exploded with lr=0.5"
    assert "Traceback" in failed.user_attrs[_keys.STDERR_TAIL]
    assert failed.user_attrs[_keys.ANALYSIS].startswith("crashed: FloatingPointError")
    assert ok.value == pytest.approx(0.99)
    # The proposal prepared while trial 0 ran was dropped when trial 0 crashed, and the
    # LLM was asked again with the crash in view.
    assert len(seen) == 3
    assert "#0 RUNNING" in seen[1]
    assert "FAILED" in seen[2]
    assert "loss exploded with lr=0.5" in seen[2]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("print('training done, no metric')", "never reported 'acc'"),
        ("from agenthpo import report\nreport(acc=float('nan'))", "acc is nan"),
        ("from agenthpo import report\nreport(loss=0.1)", "it reported loss"),
        ("print('@@agenthpo {broken json')", "a report line that is not valid JSON"),
    ],
)
def test_runs_without_a_usable_metric_fail_clearly(
    tmp_path: Path, body: str, expected: str
) -> None:
    task = _command_task(tmp_path, body, n_trials=1)
    storage = f"sqlite:///{tmp_path / 'm.db'}"
    summary = Tuner(task, llm=RandomLLM(), storage=storage).run()
    assert summary.n_failed == 1
    trial = _load(storage, "cmd").trials[0]
    assert trial.state == optuna.trial.TrialState.FAIL
    assert expected in trial.user_attrs[_keys.ERROR]


def test_timeout_fails_the_trial_and_the_study_goes_on(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "lr = float(sys.argv[sys.argv.index('--lr') + 1])\n"
        "if lr > 0.05:\n"
        "    time.sleep(60)\n"
        "from agenthpo import report\n"
        "report(acc=lr)\n"
    )
    task = _command_task(tmp_path, script, timeout=1.5)
    llm = ScriptedLLM([answer({"lr": 0.5}), answer({"lr": 0.01})])
    storage = f"sqlite:///{tmp_path / 't.db'}"
    summary = Tuner(task, llm=llm, storage=storage).run()
    assert (summary.n_failed, summary.n_complete) == (1, 1)
    slow = _load(storage, "cmd").trials[0]
    assert "timed out" in slow.user_attrs[_keys.ERROR]
    assert slow.user_attrs[_keys.ANALYSIS].startswith("timed out")


def test_direction_change_is_refused(quadratic_task: Task, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'x.db'}"
    optuna.create_study(study_name="quad", storage=storage, direction="maximize")
    with pytest.raises(AgentHPOError, match="created to maximize"):
        Tuner(quadratic_task, llm=RandomLLM(), storage=storage).run()


def test_a_renamed_metric_is_refused_before_any_trial(quadratic_task: Task, tmp_path: Path) -> None:
    """The study's values measure the metric it was created with: a task that now optimizes
    another one (a renamed objective, or another task of the same name) would mix them."""
    storage = f"sqlite:///{tmp_path / 'x.db'}"
    Tuner(quadratic_task, llm=RandomLLM(), storage=storage, n_trials=1).run()
    renamed = task_from_dict(
        {
            "name": "quad",
            "objective": {"metric": "test_loss", "direction": "minimize"},
            "space": {"x": {"type": "float", "low": -5.0, "high": 5.0}, "kind": ["a", "b"]},
            "function": "quad:objective",
            "strategy": "agent",
        },
        base_dir=tmp_path,
    )
    with pytest.raises(
        AgentHPOError, match=r"created to minimize loss; the task now optimizes test_loss"
    ):
        Tuner(renamed, llm=RandomLLM(), storage=storage, n_trials=2).run()
    assert len(_load(storage, "quad").trials) == 1  # refused before any trial
    Tuner(
        quadratic_task, llm=RandomLLM(), storage=storage, n_trials=2
    ).run()  # same metric: resumes
    assert len(_load(storage, "quad").trials) == 2


def test_a_task_with_one_objective_on_a_two_objective_study_says_so(
    quadratic_task: Task, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 'x.db'}"
    optuna.create_study(study_name="quad", storage=storage, directions=["minimize"] * 2)
    with pytest.raises(
        AgentHPOError,
        match=r"created with 2 objectives \(minimize and minimize\); the task now has 1 ",
    ):
        Tuner(quadratic_task, llm=RandomLLM(), storage=storage).run()


def test_a_budget_beyond_the_task_files_limit_is_refused_by_the_tuner(
    quadratic_task: Task,
) -> None:
    with pytest.raises(AgentHPOError, match=r"n_trials 100001: give at most 100,000 trials"):
        Tuner(quadratic_task, llm=RandomLLM(), n_trials=100_001)


class _HugeStepExecutor:
    """Reports a step beyond SQLite's integers between two good ones, then finishes."""

    def run(self, config: dict[str, object], trial_number: int, **kwargs: object) -> object:
        from agenthpo.executor import TrialResult

        on_report = kwargs["on_report"]
        assert callable(on_report)
        for step in (0, 2**63, 1):
            on_report(step, {"loss": 1.0 + step % 7})
        return TrialResult(status="ok", metrics={"loss": 0.5})


def test_an_intermediate_value_storage_refuses_costs_that_point_only(
    quadratic_task: Task, tmp_path: Path
) -> None:
    """A step of 2**63 raised OverflowError out of trial.report and took the run down with a
    traceback, on every rerun (executor probe)."""
    storage = f"sqlite:///{tmp_path / 'x.db'}"
    summary = Tuner(
        quadratic_task, llm=RandomLLM(), storage=storage, n_trials=1, executor=_HugeStepExecutor()
    ).run()
    assert summary.n_complete == 1
    (trial,) = _load(storage, "quad").trials
    assert trial.state == TrialState.COMPLETE
    assert sorted(trial.intermediate_values) == [0, 1]


def test_a_function_task_returns_its_value_and_runs_beside_its_task_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A returned number lost to the reports of a curve (0.2 kept, 0.95 returned), and a
    function read its relative files from wherever the run started (executor probe)."""
    folder = tmp_path / "task"
    folder.mkdir()
    (folder / "data.txt").write_text("0.7")
    (folder / "obj.py").write_text(
        "def objective(config, report):\n"
        "    for s in range(3):\n"
        "        report(step=s, val_accuracy=0.1 * s)\n"
        "    return float(open('data.txt').read())\n"
    )
    task = task_from_dict(
        {
            "name": "f",
            "objective": {"metric": "val_accuracy", "direction": "maximize"},
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
            "function": "obj:objective",
            "strategy": "random",
        },
        base_dir=folder,
    )
    monkeypatch.chdir(tmp_path)  # elsewhere: data.txt is beside the task file only
    summary = Tuner(task, storage=f"sqlite:///{tmp_path / 'f.db'}", n_trials=1).run()
    assert summary.n_complete == 1, summary.last_error
    assert summary.best_value == pytest.approx(0.7)


def test_a_best_configuration_the_space_left_behind_is_noted(
    quadratic_task: Task, tmp_path: Path
) -> None:
    """After the task's space changed, the run's Best line showed a configuration the
    script no longer takes, without a word (task probe): the summary notes it."""
    storage = f"sqlite:///{tmp_path / 'x.db'}"
    first = Tuner(quadratic_task, llm=RandomLLM(), storage=storage, n_trials=2).run()
    assert first.space_note is None
    narrowed = task_from_dict(
        {
            "name": "quad",
            "objective": {"metric": "loss", "direction": "minimize"},
            "hidden_metrics": ["test_loss"],
            "space": {"x": {"type": "float", "low": -5.0, "high": 5.0}},
            "function": "quad:objective",
            "strategy": "agent",
        },
        base_dir=tmp_path,
    )
    again = Tuner(narrowed, llm=RandomLLM(), storage=storage, n_trials=2).run()
    assert again.space_note is not None
    assert again.space_note.startswith(f"note: trial {again.best_trial} was run with kind,")
    assert "which the space no longer has" in again.space_note


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_numpy_cannot_take_is_refused_by_the_tuner(quadratic_task: Task, seed: int) -> None:
    with pytest.raises(AgentHPOError, match=r"give a seed from 0 to 2\*\*32 - 1"):
        Tuner(quadratic_task, llm=RandomLLM(), seed=seed)


def test_a_parameter_stored_as_another_type_is_refused_before_any_trial(
    quadratic_task: Task, tmp_path: Path
) -> None:
    """A task whose space changed a parameter's type (or log setting, or a categorical's
    choices) against its stored study: Optuna refuses each such trial only as it stores it,
    with a traceback and a trial left RUNNING; the tuner refuses before it starts, and says
    which parameter and why. A changed range goes on."""
    storage = f"sqlite:///{tmp_path / 'x.db'}"
    Tuner(task_with(quadratic_task, n_trials=1), llm=RandomLLM(), storage=storage).run()
    x = {"type": "float", "low": -5.0, "high": 5.0}
    changed = task_with(quadratic_task, space={"x": ["low", "high"], "kind": ["a", "b"]})
    with pytest.raises(AgentHPOError, match=r"x: stored as float, the space now says categorical"):
        Tuner(changed, llm=RandomLLM(), storage=storage).run()
    choices = task_with(quadratic_task, space={"x": x, "kind": ["a", "b", "c"]})
    with pytest.raises(AgentHPOError, match=r"kind: stored as categorical \['a', 'b'\]"):
        Tuner(choices, llm=RandomLLM(), storage=storage).run()
    log = task_with(quadratic_task, space={"x": {**x, "low": 0.1, "log": True}, "kind": ["a"]})
    with pytest.raises(
        AgentHPOError, match=r"x: stored as float, the space now says float \(log\)"
    ):
        Tuner(log, llm=RandomLLM(), storage=storage).run()
    assert [t.state for t in _load(storage, "quad").trials] == [TrialState.COMPLETE]
    wider = task_with(
        quadratic_task, n_trials=2, space={"x": {**x, "high": 9.0}, "kind": ["a", "b"]}
    )
    Tuner(wider, llm=RandomLLM(), storage=storage).run()
    assert len(_load(storage, "quad").trials) == 2


def test_python_in_a_command_is_this_interpreter(tmp_path: Path) -> None:
    script = "import sys\nfrom agenthpo import report\nreport(acc=0.5)\nprint(sys.executable)\n"
    task = _command_task(tmp_path, script, n_trials=1)
    from agenthpo.tuner import build_executor

    executor = build_executor(task)
    result = executor.run({"lr": 0.01}, trial_number=0)
    assert result.status == "ok"
    assert sys.executable in result.stdout_tail
    assert math.isclose(result.metrics["acc"], 0.5)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("agent", ["llm"] * 10),
        # the backbone's 5 start-up trials, then the LLM's quarter: its turn at trial 8,
        # where the backbone judged the random proposal and ran its own (below)
        ("hybrid-tpe", ["backbone"] * 10),
        ("tpe", ["tpe"] * 10),
        ("random", ["random"] * 10),
    ],
)
def test_strategies_decide_who_proposes(
    quadratic_task: Task, tmp_path: Path, strategy: str, expected: list[str]
) -> None:
    storage = f"sqlite:///{tmp_path / 'st.db'}"
    llm = RandomLLM(seed=0)
    summary = Tuner(
        quadratic_task, llm=llm, storage=storage, n_trials=10, strategy=strategy, seed=0
    ).run()
    trials = _load(storage).trials
    assert [t.user_attrs[_keys.PROPOSED_BY] for t in trials] == expected
    assert all(t.user_attrs[_keys.STRATEGY] == strategy for t in trials)
    judged = [t.number for t in trials if _keys.LLM_CANDIDATES in t.user_attrs]
    assert judged == ([8] if strategy == "hybrid-tpe" else [])
    if judged:
        verdict = trials[8].user_attrs[_keys.LLM_CANDIDATES]
        assert (verdict["ran"], verdict["margin"]) == ("backbone", 1.0)
        assert trials[8].user_attrs[_keys.LLM_CALLS] >= 1
    # One call per LLM trial, and a repair call for each random answer that nearly repeated
    # a trial (the near-copy rule: within 5% of every range).
    assert llm.calls == sum(t.user_attrs.get(_keys.LLM_CALLS, 0) for t in trials)
    assert llm.calls >= expected.count("llm")
    assert summary.fallbacks == len(judged)  # a screened-out turn counts as a fallback


def test_centaur_lets_cmaes_run_and_the_llm_override_after_warmup(
    quadratic_task: Task, tmp_path: Path
) -> None:
    seen: list[str] = []

    def respond(messages: list[Message], schema: object) -> str:
        seen.append(messages[-1].content)
        return answer({"x": 2.0 - len(seen) / 100, "kind": "a"}, "stay near the CMA-ES mean")

    storage = f"sqlite:///{tmp_path / 'c.db'}"
    # The scripted model stays within 1% of CMA-ES's mean on purpose; the near-copy rule
    # (5% of each range by default) would refuse it, so this test keeps 0.1%.
    task = task_with(quadratic_task, policy={"duplicate_tolerance": 0.001})
    Tuner(
        task,
        llm=ScriptedLLM([respond]),
        storage=storage,
        n_trials=14,
        strategy="centaur",
        seed=0,
    ).run()
    trials = _load(storage).trials
    by = [t.user_attrs[_keys.PROPOSED_BY] for t in trials]
    assert by[:10] == ["backbone"] * 10  # the warm-up
    assert by[10:].count("llm") == len(seen) >= 1
    # The LLM saw CMA-ES's own proposal before deciding.
    assert "CmaEsSampler, the optimizer running this study, proposes" in seen[0]


def test_token_budget_stops_llm_use_and_the_study_finishes(
    quadratic_task: Task, tmp_path: Path
) -> None:
    from agenthpo.task import task_with

    task = task_with(quadratic_task, max_llm_tokens=500)
    storage = f"sqlite:///{tmp_path / 'b.db'}"
    llm = RandomLLM(seed=0)
    summary = Tuner(task, llm=llm, storage=storage, n_trials=6).run()
    assert summary.n_complete == 6
    trials = _load(storage).trials
    spent = [
        t.user_attrs.get(_keys.LLM_PROMPT_TOKENS, 0)
        + t.user_attrs.get(_keys.LLM_COMPLETION_TOKENS, 0)
        for t in trials
    ]
    first_budget = next(
        i
        for i, t in enumerate(trials)
        if t.user_attrs.get(_keys.FALLBACK_REASON, "").startswith("budget")
    )
    assert sum(spent[:first_budget]) >= 500
    assert sum(spent[: first_budget - 1]) < 500
    assert all(
        t.user_attrs[_keys.FALLBACK_REASON].startswith("budget") for t in trials[first_budget:]
    )
    assert llm.calls == first_budget
    assert summary.fallback_reasons == {"budget": 6 - first_budget}


def test_proposals_are_prepared_while_trials_run(quadratic_task: Task, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'p.db'}"
    llm = RandomLLM(seed=0)
    Tuner(quadratic_task, llm=llm, storage=storage, n_trials=5).run()
    trials = _load(storage).trials
    flags = [bool(t.user_attrs.get(_keys.LLM_PREFETCHED)) for t in trials]
    assert flags == [False, True, True, True, True]
    assert llm.calls == 5  # nothing prepared was wasted: no extra call after the last trial
    # Without prefetching, every proposal is made after the previous trial ended.
    storage2 = f"sqlite:///{tmp_path / 'q.db'}"
    Tuner(quadratic_task, llm=RandomLLM(seed=0), storage=storage2, n_trials=3, prefetch=False).run()
    assert not any(t.user_attrs.get(_keys.LLM_PREFETCHED) for t in _load(storage2).trials)


def test_time_limit_ends_the_run_cleanly_and_the_cut_trial_runs_again(tmp_path: Path) -> None:
    from agenthpo._lifecycle import is_counted

    script = (
        "import sys, time\n"
        "from agenthpo import report\n"
        "time.sleep(2.5)\n"
        "report(acc=float(sys.argv[sys.argv.index('--lr') + 1]))\n"
    )
    task = _command_task(tmp_path, script, n_trials=2, strategy="random")
    storage = f"sqlite:///{tmp_path / 'tl.db'}"
    # Every run takes 2.5 s, so the first is always cut by a 1.5 s limit.
    summary = Tuner(task, storage=storage, time_limit=1.5, seed=0).run()
    assert summary.stopped_by_time_limit
    trials = _load(storage, "cmd").trials
    cut = [t for t in trials if t.user_attrs.get(_keys.NOT_COUNTED) == "time_limit"]
    assert len(cut) == 1
    assert "time limit" in cut[0].user_attrs[_keys.ERROR]
    assert sum(is_counted(t) for t in trials) == 0
    # The next run finishes the budget, starting with the trial that was cut.
    Tuner(task, storage=storage, seed=0).run()
    trials = _load(storage, "cmd").trials
    assert sum(is_counted(t) for t in trials) == 2
    rerun = [t for t in trials if t.user_attrs.get(_keys.RERUN_OF) == cut[0].number]
    assert len(rerun) == 1
    assert rerun[0].params == cut[0].params
    assert rerun[0].state == optuna.trial.TrialState.COMPLETE


def test_a_queued_trial_in_the_last_slot_is_run_not_waited_for(
    quadratic_task: Task, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 'w.db'}"
    Tuner(quadratic_task, llm=RandomLLM(seed=0), storage=storage, n_trials=2).run()
    study = _load(storage)
    study.enqueue_trial({"x": 1.5, "kind": "a"})
    summary = Tuner(quadratic_task, llm=RandomLLM(seed=1), storage=storage, n_trials=3).run()
    assert summary.n_run == 1
    assert _load(storage).trials[-1].params == {"x": 1.5, "kind": "a"}


def test_the_gp_strategy_runs_in_the_same_loop(quadratic_task: Task, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'gp.db'}"
    summary = Tuner(quadratic_task, storage=storage, n_trials=6, strategy="gp", seed=0).run()
    assert summary.n_complete == 6
    trials = _load(storage).trials
    assert {t.user_attrs[_keys.PROPOSED_BY] for t in trials} == {"gp"}
    assert summary.llm_calls == 0


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        (
            "function",
            "import threading\ndef objective(config, report):\n"
            "    return {'acc': threading.Lock()}\n",
            "'acc' from the objective's return value: expected a metric name (str) and a number",
        ),
        (
            "command",
            "print('@@agenthpo {broken json')\n"
            'print(\'@@agenthpo {"step": 1, "metrics": {"acc": "high"}}\')\n',
            "report line that is not valid JSON",
        ),
        (
            "command",
            'print(\'@@agenthpo {"step": 1, "metrics": {"acc": "high"}}\')\n',
            "Dropped metric 'acc': its value 'high' is not a number",
        ),
    ],
)
def test_a_run_whose_results_were_unusable_says_what_happened(
    tmp_path: Path, kind: str, body: str, expected: str
) -> None:
    """Issue 19, item 15: these were stored as "never reported 'acc' (it reported
    nothing)"."""
    if kind == "function":
        (tmp_path / "obj.py").write_text(body)
        task = task_from_dict(
            {
                "name": "cmd",
                "objective": {"metric": "acc", "direction": "maximize"},
                "space": {"lr": {"type": "float", "low": 0.001, "high": 1.0, "log": True}},
                "n_trials": 1,
                "strategy": "random",
                "function": "obj:objective",
            },
            base_dir=tmp_path,
        )
    else:
        task = _command_task(tmp_path, body, n_trials=1, strategy="random")
    storage = f"sqlite:///{tmp_path / 'c.db'}"
    Tuner(task, storage=storage).run()
    (trial,) = _load(storage, "cmd").trials
    error = trial.user_attrs[_keys.ERROR]
    assert "reported nothing" not in error
    assert expected in error
    assert "\n" not in error


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"executor": lambda config: 1.0}, "FunctionExecutor(fn)"),
        ({"sampler": "tpe"}, "strategy='tpe'"),
        ({"n_trials": -1}, "at least 1"),
        ({"n_trials": 0}, "at least 1"),
        ({"time_limit": 0}, "above 0"),
        ({"time_limit": -5.0}, "above 0"),
        ({"time_limit": math.nan}, "above 0"),
    ],
)
def test_arguments_that_cannot_work_are_refused_at_construction(
    quadratic_task: Task, tmp_path: Path, kwargs: dict[str, object], says: str
) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(AgentHPOError, match=re.escape(says)):
        Tuner(quadratic_task, llm=RandomLLM(seed=0), storage=storage, **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "s.db").exists()  # refused before any study or trial


def test_a_trial_an_error_stops_before_its_run_is_failed_not_left_running(
    quadratic_task: Task, tmp_path: Path
) -> None:
    # A listener that raises (or any error between ask and tell) used to leave the trial
    # RUNNING, and the next run waited a minute for its heartbeat to go stale.
    storage = f"sqlite:///{tmp_path / 's.db'}"

    def broken(event: TrialEvent) -> None:
        raise RuntimeError("listener bug")

    tuner = Tuner(
        quadratic_task, llm=RandomLLM(seed=0), storage=storage, n_trials=3, on_trial_start=[broken]
    )
    with pytest.raises(RuntimeError, match="listener bug"):
        tuner.run()
    (trial, rerun) = _load(storage).trials
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs[_keys.NOT_COUNTED] == "error"
    assert "listener bug" in trial.user_attrs[_keys.ERROR]
    assert rerun.state == TrialState.WAITING  # its configuration runs first next time
    assert rerun.system_attrs["fixed_params"] == trial.params
    summary = Tuner(quadratic_task, llm=RandomLLM(seed=0), storage=storage, n_trials=3).run()
    assert summary.n_complete == 3  # the failed trial did not spend the budget
    trials = _load(storage).trials
    assert trials[1].params == trial.params
    assert trials[1].state == TrialState.COMPLETE


def test_a_run_ending_in_an_error_abandons_its_prefetch(
    quadratic_task: Task, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agenthpo.sampler import AgentSampler

    ended: list[int] = []
    monkeypatch.setattr(AgentSampler, "shutdown", lambda self: ended.append(1))

    def broken(event: TrialEvent) -> None:
        if event.number == 1:
            raise RuntimeError("listener bug")

    storage = f"sqlite:///{tmp_path / 's.db'}"
    tuner = Tuner(
        quadratic_task, llm=RandomLLM(seed=0), storage=storage, n_trials=3, on_trial_end=[broken]
    )
    with pytest.raises(RuntimeError, match="listener bug"):
        tuner.run()
    assert ended == [1]


def test_a_setup_mistake_stops_the_run_and_keeps_the_budget(tmp_path: Path) -> None:
    """A misspelt script failed all 12 trials of a budget alike, and the run after the fix
    found the budget spent and ran nothing (docs probe): the run stops once its first 3
    trials failed with one error and none completed, and the fixed command goes on."""
    task = _command_task(tmp_path, "from agenthpo import report\nreport(acc=0.5)\n", n_trials=8)
    task = task.model_copy(update={"command": ["python", "trian.py"]})
    storage = f"sqlite:///{tmp_path / 's.db'}"
    summary = Tuner(task, llm=RandomLLM(), storage=storage).run()
    assert (summary.n_run, summary.n_failed, summary.n_complete) == (3, 3, 0)
    assert summary.stopped_early is not None
    assert "trian.py" in summary.stopped_early
    failure = summary.failure()
    assert failure is not None
    assert failure.startswith("stopped early, as the rest of the budget would fail alike: the")
    assert "last 3 trials failed with the same error and none has completed" in failure
    assert "run the same command again" in failure
    again = Tuner(task, llm=RandomLLM(), storage=storage).run()  # not fixed: one more try
    assert (again.n_run, again.n_failed) == (1, 1)
    assert again.stopped_early is not None
    fixed = Tuner(
        task.model_copy(update={"command": ["python", "train.py"]}),
        llm=RandomLLM(),
        storage=storage,
    ).run()
    assert (fixed.n_run, fixed.n_complete, fixed.stopped_early) == (4, 4, None)


def test_failures_that_differ_by_configuration_do_not_stop_the_run(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "lr = float(sys.argv[sys.argv.index('--lr') + 1])\n"
        "raise FloatingPointError(f'loss exploded with lr={lr}')\n"
    )
    summary = Tuner(
        _command_task(tmp_path, script, n_trials=5),
        llm=RandomLLM(),
        storage=f"sqlite:///{tmp_path / 'd.db'}",
    ).run()
    assert (summary.n_run, summary.n_failed, summary.stopped_early) == (5, 5, None)


def test_a_different_setup_mistake_after_a_partial_fix_stops_too(tmp_path: Path) -> None:
    """Review: with the errors of the whole history compared, a second, different mistake
    after a partial fix never stopped again and spent the budget."""
    task = _command_task(tmp_path, "import numpyy\n", n_trials=10)
    storage = f"sqlite:///{tmp_path / 'p.db'}"
    first = Tuner(
        task.model_copy(update={"command": ["python", "trian.py"]}),
        llm=RandomLLM(),
        storage=storage,
    ).run()
    assert (first.n_run, first.stopped_early is not None) == (3, True)
    second = Tuner(task, llm=RandomLLM(), storage=storage).run()
    assert second.n_run == 3
    assert second.stopped_early is not None
    assert "numpyy" in second.stopped_early


def test_runs_that_diverge_alike_never_stop_the_run(tmp_path: Path) -> None:
    """A NaN metric reads the same for every configuration ("acc is nan ..."), yet it is the
    configuration's doing (review): the search goes on."""
    script = "from agenthpo import report\nreport(acc=float('nan'))\n"
    summary = Tuner(
        _command_task(tmp_path, script, n_trials=5),
        llm=RandomLLM(),
        storage=f"sqlite:///{tmp_path / 'n.db'}",
    ).run()
    assert (summary.n_run, summary.n_failed, summary.stopped_early) == (5, 5, None)


def test_nothing_stops_while_another_trial_runs() -> None:
    """Another worker's trial may still complete (review: workers whose fast failures came
    first quit while slow runs went on to complete)."""
    from optuna.distributions import FloatDistribution
    from optuna.trial import create_trial

    from agenthpo.tuner import same_failures

    study = optuna.create_study()
    for x in (0.1, 0.2, 0.3):
        study.add_trial(
            create_trial(
                params={"x": x},
                distributions={"x": FloatDistribution(0, 1)},
                state=optuna.trial.TrialState.FAIL,
                user_attrs={_keys.ERROR: "ModuleNotFoundError: No module named 'numpyy'"},
            )
        )
    assert same_failures(study, ran={2}) is not None
    assert same_failures(study, ran={7}) is None  # none of them this run's
    study.ask()  # running elsewhere
    assert same_failures(study, ran={2}) is None
