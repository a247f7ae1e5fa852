"""Replay: a study re-run from its recorded LLM answers makes identical proposals."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from agenthpo import _keys
from agenthpo.cli import app
from agenthpo.errors import AgentHPOError, LLMError
from agenthpo.llm import Message, RandomLLM, ReplayLLM
from agenthpo.task import Task, task_with
from agenthpo.tuner import Tuner, replay_llm


def _params(storage: str) -> list[dict[str, object]]:
    study = optuna.load_study(study_name="quad", storage=storage)
    return [t.params for t in study.trials]


@pytest.mark.parametrize("strategy", ["agent", "hybrid-tpe"])
def test_replay_makes_identical_proposals_without_an_llm(
    quadratic_task: Task, tmp_path: Path, strategy: str
) -> None:
    original = f"sqlite:///{tmp_path / 'a.db'}"
    task = task_with(quadratic_task, strategy=strategy)
    # 10 trials: hybrid-tpe's first LLM turn comes after the backbone's 5 start-up trials
    Tuner(task, llm=RandomLLM(seed=5), storage=original, n_trials=10, seed=3).run()

    replayed = replay_llm(original, "quad")
    copy = f"sqlite:///{tmp_path / 'b.db'}"
    summary = Tuner(task, llm=replayed, storage=copy, n_trials=10, seed=3).run()
    assert _params(copy) == _params(original)
    assert replayed.remaining == 0
    assert summary.llm_prompt_tokens == 0  # nothing was spent
    study = optuna.load_study(study_name="quad", storage=copy)
    models = {t.user_attrs.get(_keys.LLM_MODEL) for t in study.trials} - {None}
    assert models == {"replay:random"}


def test_recorded_calls_hold_request_and_answer(quadratic_task: Task, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'a.db'}"
    Tuner(quadratic_task, llm=RandomLLM(seed=1), storage=storage, n_trials=2).run()
    trial = optuna.load_study(study_name="quad", storage=storage).trials[1]
    (call,) = trial.system_attrs[_keys.SYS_LLM_CALLS]
    assert call["messages"][0]["role"] == "system"
    assert "#0 RUNNING" in call["messages"][-1]["content"]  # prepared while trial 0 ran
    assert trial.params == json.loads(call["text"])["config"]


def test_replay_of_a_study_without_llm_answers_is_refused(
    quadratic_task: Task, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 't.db'}"
    Tuner(task_with(quadratic_task, strategy="tpe"), storage=storage, n_trials=2).run()
    with pytest.raises(AgentHPOError, match="recorded no LLM answers"):
        replay_llm(storage, "quad")
    with pytest.raises(AgentHPOError, match="no study named"):
        replay_llm(storage, "nope")


def test_replay_llm_runs_out_loudly() -> None:
    llm = ReplayLLM(["a"])
    assert llm.complete([Message("user", "x")]).text == "a"
    with pytest.raises(LLMError, match="all 1 recorded answers were used"):
        llm.complete([Message("user", "x")])


def test_cli_replay(quadratic_task: Task, tmp_path: Path) -> None:
    import yaml

    data = quadratic_task.model_dump(exclude_none=True)
    data["space"] = quadratic_task.space.to_dict()
    data["n_trials"] = 3
    data["seed"] = 0
    task_file = tmp_path / "task.yaml"
    task_file.write_text(yaml.safe_dump(data))
    original = f"sqlite:///{tmp_path / 'orig.db'}"
    Tuner(quadratic_task, llm=RandomLLM(seed=2), storage=original, n_trials=3, seed=0).run()

    runner = CliRunner()
    same = runner.invoke(app, ["run", str(task_file), "--replay", original, "--storage", original])
    assert same.exit_code == 2
    assert "--replay would write into the study it replays" in same.output

    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    result = runner.invoke(app, ["run", str(task_file), "--replay", original, "--storage", copy])
    assert result.exit_code == 0, result.output
    assert "replaying 3 recorded answers" in result.output
    # who proposes which trials, said before the first trial runs
    assert "agent: The LLM proposes every trial (the backbone steps in" in result.output
    # and the policy in force, as the study stores it
    assert "Policy: agent for a capable model" in result.output
    assert _params(copy) == _params(original)


def test_replay_from_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(AgentHPOError):
        replay_llm(f"sqlite:///{missing}", "quad")
    assert not missing.exists()
