"""`agenthpo ask` / `agenthpo tell`: loops driven from outside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from typer.testing import CliRunner

from agenthpo import _keys
from agenthpo._lifecycle import recover_stale
from agenthpo.cli import app
from agenthpo.errors import AgentHPOError
from agenthpo.studies import ask_trial, tell_trial
from agenthpo.task import load_task
from agenthpo.tuner import Tuner


def _task_file(tmp_path: Path) -> Path:
    task = {
        "name": "outside",
        "objective": {"metric": "acc", "direction": "maximize"},
        "space": {"lr": {"type": "float", "low": 0.001, "high": 1.0, "log": True}},
        "n_trials": 2,
        "command": ["python", "train.py", "--lr={lr}"],
        "strategy": "agent",
        "llm": "random:3",
    }
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task))
    return path


def test_ask_then_tell(tmp_path: Path) -> None:
    task_file = _task_file(tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["ask", str(task_file)])
    assert first.exit_code == 0, first.output
    asked = json.loads(first.stdout)
    assert asked["trial"] == 0
    assert 0.001 <= asked["config"]["lr"] <= 1.0
    assert asked["proposed_by"] == "llm"
    assert asked["rationale"]
    assert asked["command"][-1] == f"--lr={asked['config']['lr']!r}"
    # the command's paths are the task file's folder's: say which (docs probe)
    assert asked["cwd"] == str(tmp_path)

    second = json.loads(runner.invoke(app, ["ask", str(task_file)]).stdout)
    assert second["trial"] == 1
    over = runner.invoke(app, ["ask", str(task_file)])
    assert over.exit_code == 2
    assert "budget of 2 trials is spent or running" in over.output

    done = runner.invoke(
        app, ["tell", str(task_file), "--trial", "0", "--metrics", '{"acc": 0.91, "loss": 0.3}']
    )
    assert done.exit_code == 0, done.output
    assert "complete" in done.output
    failed = runner.invoke(app, ["tell", str(task_file), "--trial", "1", "--failed", "OOM"])
    assert failed.exit_code == 0, failed.output
    again = runner.invoke(app, ["tell", str(task_file), "--trial", "0", "--value", "1"])
    assert again.exit_code == 2
    assert "not running" in again.output

    storage = f"sqlite:///{tmp_path / 'task.agenthpo.db'}"
    study = optuna.load_study(study_name="outside", storage=storage)
    t0, t1 = study.trials
    assert t0.value == 0.91
    assert t0.user_attrs[_keys.METRICS] == {"acc": 0.91, "loss": 0.3}
    assert t1.state == optuna.trial.TrialState.FAIL
    assert t1.user_attrs[_keys.ERROR] == "OOM"


def test_asked_trials_are_not_taken_for_lost_runs(tmp_path: Path) -> None:
    task_file = _task_file(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["ask", str(task_file)]).exit_code == 0
    study = optuna.load_study(
        study_name="outside", storage=f"sqlite:///{tmp_path / 'task.agenthpo.db'}"
    )
    # Even long after, an asked trial has no heartbeat and is not recovered.
    assert recover_stale(study, now=1e12) == []


@pytest.mark.timeout(60)
def test_run_stops_and_says_so_when_only_asked_trials_hold_the_budget(tmp_path: Path) -> None:
    """`run` waits for trials other workers run (they end, or their heartbeat stops); an
    asked trial ends only when someone tells it, so `run` once waited forever, silently.
    Now it runs what it can, stops, and its last lines say which trial to tell."""
    task_file = _task_file(tmp_path)
    (tmp_path / "train.py").write_text("from agenthpo import report\nreport(acc=0.5)\n")
    runner = CliRunner()
    assert runner.invoke(app, ["ask", str(task_file)]).exit_code == 0  # trial 0, untold
    result = runner.invoke(app, ["run", str(task_file)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "1 trial run now (1 complete, 0 failed), 1 in the study" in text
    assert "held by trial(s) #0, asked for with agenthpo ask and not told yet" in text
    assert f"agenthpo tell {task_file} --trial 0" in text
    study = optuna.load_study(
        study_name="outside", storage=f"sqlite:///{tmp_path / 'task.agenthpo.db'}"
    )
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.COMPLETE]
    # Told, the budget is spent: a further run has nothing to do and does not wait either.
    told = runner.invoke(app, ["tell", str(task_file), "--trial", "0", "--value", "0.7"])
    assert told.exit_code == 0, told.output
    again = runner.invoke(app, ["run", str(task_file)], env={"COLUMNS": "300"})
    assert "already holds its budget" in " ".join(again.output.split())


def test_tell_says_why_a_told_run_failed_and_refuses_two_different_values(
    tmp_path: Path,
) -> None:
    task_file = _task_file(tmp_path)
    runner = CliRunner()
    for _ in range(2):
        assert runner.invoke(app, ["ask", str(task_file)]).exit_code == 0
    both = runner.invoke(
        app, ["tell", str(task_file), "--trial", "0", "--value", "1", "--metrics", '{"acc": 2}']
    )
    assert both.exit_code == 2
    assert "--value 1.0 and --metrics' acc 2.0 disagree" in both.output
    agree = runner.invoke(
        app, ["tell", str(task_file), "--trial", "0", "--value", "2", "--metrics", '{"acc": 2}']
    )
    assert agree.exit_code == 0, agree.output
    nan = runner.invoke(app, ["tell", str(task_file), "--trial", "1", "--value", "nan"])
    assert nan.exit_code == 0, nan.output
    line = " ".join(nan.output.split())
    assert line.startswith("trial 1: fail - (")
    assert "nan" in line.lower()


def test_bad_tell_input_is_a_clear_error(tmp_path: Path) -> None:
    task_file = _task_file(tmp_path)
    runner = CliRunner()
    runner.invoke(app, ["ask", str(task_file)])
    for args, message in (
        (["--metrics", "{not json"], "--metrics is not JSON"),
        (["--metrics", '{"acc": "high"}'], "JSON object of numbers"),
        (["--metrics", '{"loss": 0.1}'], "give --value or a metrics JSON with 'acc'"),
        ([], "give --value"),
        (["--failed", " "], "--failed '': say why the run failed"),
        (["--failed", "oom", "--value", "0.3"], "--failed: a failed trial has no final value"),
        (["--pruned", "flat", "--intermediate", "nan"], "--intermediate nan: give the last"),
    ):
        result = runner.invoke(app, ["tell", str(task_file), "--trial", "0", *args])
        assert result.exit_code == 2, args
        assert message in result.output


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"value": "abc"}, "--value 'abc': give a number"),
        ({"value": True}, "--value True: give a number"),
        ({"metrics": [1, 2]}, "--metrics: give a mapping"),
        ({"pruned": "flat", "intermediate": 0.5, "step": "a"}, "--step 'a': give a whole"),
        ({"pruned": "flat", "intermediate": 0.5, "step": -1}, "--step -1: give a whole"),
        ({"failed": 3}, "--failed: give the reason as text"),
    ],
)
def test_tell_trial_refuses_wrong_types_naming_the_argument(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    # The Python API's tell_trial: a bool was stored as 1.0, text failed deep in Optuna.
    task_file = _task_file(tmp_path)
    ask_trial(task_file)
    with pytest.raises(AgentHPOError) as info:
        tell_trial(task_file, 0, **kwargs)
    assert message in str(info.value)
    (trial,) = optuna.load_study(
        study_name="outside", storage=f"sqlite:///{tmp_path / 'task.agenthpo.db'}"
    ).trials
    assert trial.state == optuna.trial.TrialState.RUNNING  # still the caller's to tell
    assert tell_trial(task_file, 0, value=0.5).value == 0.5


def test_tell_refuses_a_trial_that_run_is_executing(tmp_path: Path) -> None:
    """Issue 19, item 10: `tell` stored a trial `run` was executing as best, and the tuner
    then logged a rerun that never happened."""
    task_file = _task_file(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["ask", str(task_file)]).exit_code == 0  # creates the study
    storage = f"sqlite:///{tmp_path / 'task.agenthpo.db'}"
    study = optuna.load_study(study_name="outside", storage=storage)
    running = study.ask()  # as `agenthpo run` starts a trial: not handed out by `ask`
    told = runner.invoke(app, ["tell", str(task_file), "--trial", "1", "--value", "0.9"])
    assert told.exit_code == 2
    lines = [line for line in told.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "not started by `agenthpo ask`" in lines[0]
    frozen = study._storage.get_trial(running._trial_id)
    assert frozen.state == optuna.trial.TrialState.RUNNING


def _one_line_error(result: Any) -> str:
    """The single line a user's mistake prints (exit 2, no traceback)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_tell_pruned_stores_the_last_value_at_its_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tell --pruned` stores a run stopped early: state pruned, why, the last metrics, and
    the last value as an intermediate value at --step (or the next step); no LLM is asked."""
    task_file = _task_file(tmp_path)
    runner = CliRunner()
    for _ in range(2):
        assert runner.invoke(app, ["ask", str(task_file)]).exit_code == 0

    def no_llm(*args: object, **kwargs: object) -> None:
        raise AssertionError("tell must not resolve an LLM")

    monkeypatch.setattr("agenthpo.tuner.resolve_llm", no_llm)
    told = runner.invoke(
        app,
        [
            "tell",
            str(task_file),
            "--trial",
            "0",
            "--pruned",
            "flat curve after 7 epochs",
            "--intermediate",
            "0.42",
            "--step",
            "7",
            "--metrics",
            '{"loss": 0.9}',
        ],
    )
    assert told.exit_code == 0, told.output
    assert "trial 0: pruned at step 7 (0.42)" in told.output
    bare = runner.invoke(app, ["tell", str(task_file), "--trial", "1", "--pruned", "too slow"])
    assert bare.exit_code == 0, bare.output
    assert "trial 1: pruned" in bare.output

    storage = f"sqlite:///{tmp_path / 'task.agenthpo.db'}"
    t0, t1 = optuna.load_study(study_name="outside", storage=storage).trials
    assert t0.state == t1.state == optuna.trial.TrialState.PRUNED
    assert t0.intermediate_values == {7: 0.42}
    assert t0.user_attrs[_keys.METRICS] == {"loss": 0.9, "acc": 0.42}
    assert "flat curve after 7 epochs" in t0.user_attrs[_keys.ANALYSIS]
    assert t1.intermediate_values == {}
    assert "too slow" in t1.user_attrs[_keys.ANALYSIS]


def test_tell_pruned_mistakes_are_one_line_and_lose_nothing(tmp_path: Path) -> None:
    task_file = _task_file(tmp_path)
    runner = CliRunner()
    tell = ["tell", str(task_file), "--trial", "0"]
    never = runner.invoke(app, [*tell, "--pruned", "early"])
    assert "no study 'outside' stored" in _one_line_error(never)
    assert not (tmp_path / "task.agenthpo.db").exists()  # nothing created by a mistake

    assert runner.invoke(app, ["ask", str(task_file)]).exit_code == 0
    for args, message in (
        (["--pruned", "early", "--value", "0.5"], "a pruned trial has no final value"),
        (["--intermediate", "0.5"], "add --pruned REASON"),
        (["--value", "0.5", "--step", "3"], "add --pruned REASON"),
        (["--pruned", "early", "--failed", "OOM"], "either failed or was pruned"),
        (["--pruned", "  "], "say why the run was stopped"),
        (["--pruned", "early", "--step", "-1", "--intermediate", "0.5"], "0 or more"),
        (["--pruned", "early", "--step", "3"], "a step needs the objective's finite last"),
    ):
        line = _one_line_error(runner.invoke(app, [*tell, *args]))
        assert message in line, (args, line)
    typo = runner.invoke(app, [*tell, "--pruned", "early", "--step", "three"])
    assert typo.exit_code == 2  # click's usage error, as for every mistyped number
    assert "Traceback" not in typo.output
    assert "--step" in typo.output

    storage = f"sqlite:///{tmp_path / 'task.agenthpo.db'}"
    (t0,) = optuna.load_study(study_name="outside", storage=storage).trials
    assert t0.state == optuna.trial.TrialState.RUNNING
    assert t0.intermediate_values == {}
    assert runner.invoke(app, [*tell, "--pruned", "early", "--intermediate", "0.5"]).exit_code == 0


def test_the_tuner_refuses_a_failed_trial_with_a_value(tmp_path: Path) -> None:
    # As `agenthpo tell` does: the value was ignored as the result, yet stored as the
    # failed run's metric.
    task_file = _task_file(tmp_path)
    number = ask_trial(task_file)["trial"]
    tuner = Tuner(load_task(task_file))
    with pytest.raises(AgentHPOError, match="a failed trial has no final value"):
        tuner.tell(number, value=0.3, error="out of memory")
    failed = tuner.tell(number, metrics={"acc": 0.3}, error="out of memory")
    assert failed.state == optuna.trial.TrialState.FAIL


def test_two_tells_of_one_trial_at_once_keep_one_whole_record(tmp_path: Path) -> None:
    """Two tells of one trial at once on a journal wrote into each other's record (a
    complete trial read "error: boom") and the later one failed with Optuna's traceback
    (workers probe): one wins whole, the other is refused with one line."""
    import threading

    task = load_task(_task_file(tmp_path))
    storage = f"journal:{tmp_path / 'j.log'}"
    ask_trial(task, storage=storage)
    start = threading.Barrier(2)
    errors: list[str] = []

    def tell(**result: Any) -> None:
        start.wait()
        try:
            Tuner(task, storage=storage).tell(0, **result)
        except AgentHPOError as exc:
            errors.append(str(exc))

    threads = [
        threading.Thread(target=tell, kwargs={"value": 0.5}),
        threading.Thread(target=tell, kwargs={"error": "boom"}),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 1, errors
    assert errors[0].startswith("trial 0 ")
    assert errors[0].endswith("; nothing to tell")
    (trial,) = optuna.load_study(
        study_name="outside",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(tmp_path / "j.log"))
        ),
    ).trials
    if trial.state == optuna.trial.TrialState.COMPLETE:
        assert trial.value == 0.5
        assert _keys.ERROR not in trial.user_attrs
    else:
        assert trial.state == optuna.trial.TrialState.FAIL
        assert trial.user_attrs[_keys.ERROR] == "boom"
        assert trial.user_attrs.get(_keys.METRICS, {}) == {}


def test_tell_names_states_as_the_docs_do_and_creates_no_storage(tmp_path: Path) -> None:
    """ "it is fail" where the docs say failed; a tell to a journal that does not exist left
    an empty journal file behind (workers probe)."""
    task = load_task(_task_file(tmp_path))
    missing = tmp_path / "none.log"
    with pytest.raises(AgentHPOError, match="no study 'outside' stored"):
        Tuner(task, storage=f"journal:{missing}").tell(0, value=1.0)
    assert not missing.exists()
    storage = f"sqlite:///{tmp_path / 's.db'}"
    ask_trial(task, storage=storage)
    Tuner(task, storage=storage).tell(0, error="OOM")
    with pytest.raises(AgentHPOError, match=r"not running \(it is failed\)"):
        Tuner(task, storage=storage).tell(0, value=1.0)
