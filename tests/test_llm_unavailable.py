"""The tool never pretends: an LLM that cannot run is said in the first and last lines, is a
warning in the Python API, and an error when the task requires it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from optuna.distributions import FloatDistribution

import agenthpo
from agenthpo import _keys
from agenthpo.errors import LLMError, LLMRequiredError, LLMUnavailableWarning
from agenthpo.llm import LLMResponse, Message
from agenthpo.policy import preset
from agenthpo.task import Task, task_with
from agenthpo.tuner import Tuner
from tests.conftest import QUADRATIC, answer


class DeadLLM:
    """A model whose every call fails, as a crashed runtime or a dead server does."""

    name = "dead:model"

    def __init__(self, check_fails: bool = True) -> None:
        self.calls = 0
        self.check_fails = check_fails

    def check(self) -> float:
        if self.check_fails:
            raise LLMError("dead:model: cannot reach http://127.0.0.1:9/v1 (refused)")
        return 0.0

    def complete(self, messages: Sequence[Message], **kwargs: Any) -> LLMResponse:
        self.calls += 1
        raise LLMError("dead:model: cannot reach http://127.0.0.1:9/v1 (refused)")


class OnceLLM(DeadLLM):
    """Answers its first call well, then dies."""

    def __init__(self) -> None:
        super().__init__(check_fails=False)

    def complete(self, messages: Sequence[Message], **kwargs: Any) -> LLMResponse:
        if self.calls == 0:
            self.calls += 1
            return LLMResponse(text=answer({"x": 1.0, "kind": "a"}), model="m", provider="p")
        return super().complete(messages, **kwargs)


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


def test_a_dead_llm_is_a_warning_in_the_python_api(quadratic_task: Task, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    llm = DeadLLM(check_fails=False)  # it passes the start check and dies on its first turn
    with pytest.warns(LLMUnavailableWarning, match="could not run on trial 0"):
        summary = Tuner(quadratic_task, llm=llm, storage=storage, n_trials=3, seed=0).run()
    assert summary.n_complete == 3  # the backbone proposed instead; nothing was lost
    assert summary.llm_turns == 3
    assert summary.llm_used == 0
    assert summary.fallback_reasons == {"llm_error": 3}
    assert summary.llm_failure is not None
    assert "cannot reach" in summary.llm_failure


def test_the_start_check_warns_before_the_first_trial(quadratic_task: Task, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    tuner = Tuner(quadratic_task, llm=DeadLLM(), storage=storage, n_trials=2, seed=0)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        tuner.run()
    texts = [str(w.message) for w in seen if issubclass(w.category, LLMUnavailableWarning)]
    assert len(texts) == 1  # once, not once per trial
    assert "cannot run" in texts[0]
    assert "backbone proposes" in texts[0]


def test_create_study_warns_where_a_user_sees_it(tmp_path: Path) -> None:
    study = agenthpo.create_study(
        space={"x": {"type": "float", "low": -5, "high": 5}},
        llm=DeadLLM(check_fails=False),
        strategy="agent",
        seed=0,
    )
    with pytest.warns(LLMUnavailableWarning, match="dead:model"):
        study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=2)
    assert len(study.trials) == 2


def _llm_required_study(storage: str | None = None) -> optuna.Study:
    """An agent study whose LLM dies on its first turn, with require_llm on."""
    return agenthpo.create_study(
        space={"x": {"type": "float", "low": -5, "high": 5}},
        llm=DeadLLM(check_fails=False),
        strategy="agent",
        policy=preset("agent", require_llm=True),
        seed=0,
        storage=storage,
    )


def test_required_llm_in_study_optimize_raises_its_own_error(tmp_path: Path) -> None:
    # The sampler used to fail the trial itself, so Optuna's own tell raised "Cannot tell a
    # FAIL trial" and hid the LLMRequiredError.
    study = _llm_required_study(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(LLMRequiredError, match="require_llm"):
        study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=2)
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.FAIL
    assert trial.user_attrs[_keys.NOT_COUNTED] == "llm"
    assert "llm required" in trial.user_attrs[_keys.ERROR]


def test_required_llm_outside_study_optimize_leaves_no_trial_running() -> None:
    """Ray Tune's OptunaSearch asks with fixed distributions, so the error leaves
    ``study.ask`` before anyone holds the trial: it stayed RUNNING for good (Ray probe)."""
    study = _llm_required_study()
    with pytest.raises(LLMRequiredError, match="trial 0 is stored as failed"):
        study.ask(fixed_distributions={"x": FloatDistribution(-5, 5)})
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.FAIL
    assert trial.user_attrs[_keys.NOT_COUNTED] == "llm"


def test_required_llm_stops_the_run_and_loses_nothing(quadratic_task: Task, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    task = task_with(quadratic_task, require_llm=True)
    # it answers once, then dies: the finished trial stays, the failed turn is not counted
    llm = OnceLLM()
    with pytest.raises(LLMRequiredError, match="require_llm"):
        Tuner(task, llm=llm, storage=storage, n_trials=3, seed=0).run()
    trials = optuna.load_study(study_name="quad", storage=storage).trials
    assert trials[0].state == optuna.trial.TrialState.COMPLETE
    assert trials[0].user_attrs[_keys.PROPOSED_BY] == "llm"
    assert trials[1].state == optuna.trial.TrialState.FAIL
    assert trials[1].user_attrs[_keys.NOT_COUNTED] == "llm"
    assert "llm required" in trials[1].user_attrs[_keys.ERROR]


def test_required_llm_that_fails_its_start_check_runs_nothing(
    quadratic_task: Task, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    task = task_with(quadratic_task, require_llm=True)
    with pytest.raises(LLMRequiredError, match="cannot run"):
        Tuner(task, llm=DeadLLM(), storage=storage, n_trials=2).run()


def _task_file(tmp_path: Path, **extra: Any) -> Path:
    (tmp_path / "quad.py").write_text(QUADRATIC)
    data = {
        "name": "quad",
        "objective": {"metric": "loss", "direction": "minimize"},
        "space": {"x": {"type": "float", "low": -5.0, "high": 5.0}, "kind": ["a", "b"]},
        "n_trials": 3,
        "function": "quad:objective",
        "strategy": "agent",
        **extra,
    }
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "AGENTHPO_LLM")}
    env.update({"COLUMNS": "200", "TERM": "dumb", "NO_COLOR": "1"})
    return subprocess.run(
        [sys.executable, "-c", "from agenthpo.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_the_cli_says_so_first_and_last(tmp_path: Path) -> None:
    task_file = _task_file(tmp_path)
    dead = f"openai-compatible:http://127.0.0.1:{_dead_port()}/v1#m"
    run = _cli("run", str(task_file), "--llm", dead, "--no-report", "--seed", "0", cwd=tmp_path)
    # The trials are stored and fine, but not what was asked for: the status says so.
    assert run.returncode == 3, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, run.stderr
    assert errors[0].startswith("error: the LLM asked for did not run (")
    assert "the backbone proposed its trials" in errors[0]
    # The budget spent, a run again asks nothing of the LLM: no turn, nothing to say (review).
    again = _cli("run", str(task_file), "--llm", dead, "--no-report", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already holds its budget" in again.stdout
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    # the model, who proposes which trials, the policy in force, then the failure
    head = "\n".join(lines[:5])
    assert "cannot run" in head
    assert "cannot reach" in head  # the cause
    assert "--require-llm" in head
    tail = "\n".join(lines[-8:])
    assert "LLM turns: 3, its proposal ran on 0, the backbone's on 3 (llm_error 3)" in tail
    assert "The LLM did not run:" in tail
    assert "Traceback" not in run.stdout + run.stderr
    assert "LLMUnavailableWarning" not in run.stderr


def test_the_cli_stops_when_the_llm_is_required(tmp_path: Path) -> None:
    task_file = _task_file(tmp_path)
    dead = f"openai-compatible:http://127.0.0.1:{_dead_port()}/v1#m"
    run = _cli("run", str(task_file), "--llm", dead, "--require-llm", "--no-report", cwd=tmp_path)
    assert run.returncode == 2
    errors = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, run.stderr
    assert "cannot reach" in errors[0]
    assert "require_llm" in errors[0]
    assert "Traceback" not in run.stdout + run.stderr
    for db in tmp_path.glob("*.db"):  # the study may exist; no trial ran in it
        for summary in optuna.get_all_study_summaries(storage=f"sqlite:///{db}"):
            assert summary.n_trials == 0


def test_require_llm_in_the_task_file_is_the_same(tmp_path: Path) -> None:
    task_file = _task_file(tmp_path, require_llm=True)
    dead = f"openai-compatible:http://127.0.0.1:{_dead_port()}/v1#m"
    run = _cli("run", str(task_file), "--llm", dead, "--no-report", cwd=tmp_path)
    assert run.returncode == 2
    assert "require_llm" in run.stderr


def test_required_llm_stops_study_optimize_even_when_its_catch_covers_the_error(
    tmp_path: Path,
) -> None:
    study = _llm_required_study()
    study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=5, catch=(Exception,))
    assert len(study.trials) == 1  # stopped after the first, not 5 failed trials
    assert "llm required" in study.trials[0].user_attrs[_keys.ERROR]


def test_a_library_user_reads_a_dead_llm_once() -> None:
    """Without logging set up, the fallback was printed twice: by Python's last-resort
    handler for the log record, and as the warning (docs probe)."""
    code = (
        "import optuna\n"
        "from agenthpo import AgentSampler\n"
        "from agenthpo.llm import parse_llm_spec\n"
        "llm = parse_llm_spec('openai-compatible:http://127.0.0.1:9/v1#m')\n"
        "sampler = AgentSampler(llm=llm, policy='agent', seed=0)\n"
        "study = optuna.create_study(sampler=sampler)\n"
        "study.optimize(lambda t: (t.suggest_float('x', -10, 10) - 2) ** 2, n_trials=3)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stderr.count("could not run") == 1, proc.stderr
    assert "LLMUnavailableWarning" in proc.stderr


def test_each_study_on_one_sampler_hears_of_a_dead_llm() -> None:
    """The warning came once per sampler: a second study on the same sampler ran on the
    backbone alone without a word (API probe)."""
    sampler = agenthpo.AgentSampler(llm=DeadLLM(check_fails=False), policy="agent", seed=0)
    for name in ("first", "second"):
        study = optuna.create_study(study_name=name, sampler=sampler)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=3)
        dead = [w for w in caught if issubclass(w.category, LLMUnavailableWarning)]
        assert len(dead) == 1, (name, [str(w.message) for w in dead])
