"""The quick start, for real: the digits example through the CLI with the embedded model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from agenthpo import _keys
from agenthpo.llm import LocalClient, Message
from agenthpo.task import load_task

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "digits_mlp" / "task.yaml"


def _cli() -> list[str]:
    exe = shutil.which("agenthpo")
    return [exe] if exe else [sys.executable, "-c", "from agenthpo.cli import main; main()"]


def _offline_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AGENTHPO_LLM")
    }
    env["OLLAMA_HOST"] = "127.0.0.1:9"  # nothing answers: the embedded model is chosen
    env["AGENTHPO_LLAMA_THREADS"] = "1"
    env["COLUMNS"] = "200"
    return env


def test_embedded_model_proposes_valid_configs_for_the_example() -> None:
    task = load_task(EXAMPLE)
    client = LocalClient()
    from agenthpo.agent.prompts import answer_schema

    response = client.complete(
        [Message("user", "Propose hyperparameters for an MLP on digits as JSON.")],
        schema=answer_schema(task.space),
        max_tokens=200,
        seed=3,
    )
    data = json.loads(response.text)
    config, _ = task.space.normalize(data["config"])
    # The grammar guarantees the shape and the choices; ranges are checked by the Creator.
    assert set(config) == set(task.space.names)
    assert config["activation"] in ("relu", "tanh", "logistic")
    assert response.usage.completion_tokens > 0


def test_quickstart_runs_offline_and_stores_explained_trials(tmp_path: Path) -> None:
    # The example as it is, but with the LLM's turns first (the task file's schedule keys),
    # so that five trials see the real embedded model propose: by default the backbone has the
    # first ten (the unit tests cover that schedule; this run checks the keys reach the sampler).
    example = tmp_path / "digits_mlp"
    shutil.copytree(EXAMPLE.parent, example, ignore=shutil.ignore_patterns("*.db", "*report*"))
    task_file = example / "task.yaml"
    text = task_file.read_text()
    task_file.write_text(text + "llm_warmup_trials: 1\nllm_startup_trials: 3\n")
    storage = f"sqlite:///{tmp_path / 'quick.db'}"
    run = subprocess.run(
        [*_cli(), "run", str(task_file), "--n-trials", "5", "--storage", storage, "--seed", "0"],
        capture_output=True,
        text=True,
        env=_offline_env(),
        timeout=900,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "embedded SmolLM2-135M" in run.stdout
    assert "tiny model" in run.stdout
    assert "Best: trial" in run.stdout
    assert "hybrid-tpe: The backbone proposes the first trial, the LLM the next 3, then" in (
        run.stdout
    )
    assert "Traceback" not in run.stdout + run.stderr

    study = optuna.load_study(study_name="digits-mlp", storage=storage)
    trials = study.trials
    assert len(trials) == 5
    for t in trials:
        assert t.state == optuna.trial.TrialState.COMPLETE, t.user_attrs.get(_keys.ERROR)
        assert t.user_attrs[_keys.RATIONALE].strip()
        metrics = t.user_attrs[_keys.METRICS]
        assert 0.5 < metrics["val_accuracy"] <= 1.0
        assert 0.0 < metrics["test_accuracy"] <= 1.0  # stored, never shown to the agent
        assert len(t.intermediate_values) >= 3  # the learning curve became Optuna's
    assert trials[0].user_attrs[_keys.PROPOSED_BY] == "default_config"
    assert {t.user_attrs[_keys.PROPOSED_BY] for t in trials[1:]} <= {"llm", "backbone"}
    assert any(t.user_attrs[_keys.PROPOSED_BY] == "llm" for t in trials[1:])

    best = subprocess.run(
        [*_cli(), "best", "--storage", storage],
        capture_output=True,
        text=True,
        env=_offline_env(),
        timeout=120,
    )
    assert best.returncode == 0, best.stderr
    assert json.loads(best.stdout) == study.best_params

    show = subprocess.run(
        [*_cli(), "show", "--storage", storage],
        capture_output=True,
        text=True,
        env=_offline_env(),
        timeout=120,
    )
    assert show.returncode == 0, show.stderr
    assert "default_config" in show.stdout
