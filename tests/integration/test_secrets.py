"""An API key never reaches storage, logs, reports or error messages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from tests.fake_openai import FakeOpenAI, Reply, completion, error

pytestmark = pytest.mark.integration

SENTINEL = "sk-SENTINEL-7c1f0e9a-do-not-leak"


def _cli() -> list[str]:
    exe = shutil.which("agenthpo")
    return [exe] if exe else [sys.executable, "-c", "from agenthpo.cli import main; main()"]


def test_a_sentinel_key_appears_nowhere(tmp_path: Path) -> None:
    calls = {"n": 0}

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        calls["n"] += 1
        assert headers["authorization"] == f"Bearer {SENTINEL}"  # it is sent, only there
        if calls["n"] % 3 == 0:  # a server that echoes the key in its error
            return error(400, f"invalid request for key {SENTINEL}")
        x = (calls["n"] % 9) - 4.0
        return completion(json.dumps({"config": {"x": x, "kind": "a"}, "rationale": "probe x"}))

    (tmp_path / "quad.py").write_text(
        "def objective(config, report):\n    return {'loss': (config['x'] - 2) ** 2}\n"
    )
    with FakeOpenAI(handler) as server:
        task = {
            "name": "secret",
            "objective": {"metric": "loss", "direction": "minimize"},
            "space": {"x": {"type": "float", "low": -5.0, "high": 5.0}, "kind": ["a", "b"]},
            "n_trials": 6,
            "function": "quad:objective",
            "strategy": "agent",
            "llm": {"spec": f"openai-compatible:{server.url}#m", "max_retries": 0},
        }
        task_file = tmp_path / "task.yaml"
        task_file.write_text(yaml.safe_dump(task))
        env = dict(os.environ, AGENTHPO_LLM_API_KEY=SENTINEL, OPENAI_API_KEY=SENTINEL)
        outputs = []
        for args in (
            ["run", str(task_file), "-v"],
            ["show", str(task_file)],
            ["best", str(task_file)],
        ):
            result = subprocess.run(
                [*_cli(), *args], capture_output=True, text=True, env=env, timeout=300
            )
            assert result.returncode == 0, result.stdout + result.stderr
            outputs.append(result.stdout + result.stderr)
        bad = subprocess.run(
            [*_cli(), "run", str(task_file), "--llm", "openai:gpt-4o-mini", "--n-trials", "7"],
            capture_output=True,
            text=True,
            env=dict(env, OPENAI_BASE_URL=server.url),
            timeout=300,
        )
        outputs.append(bad.stdout + bad.stderr)
    assert calls["n"] >= 6
    for text in outputs:
        assert SENTINEL not in text
    assert "***" in outputs[0]  # the echoed key was masked in the logged fallback reason

    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SENTINEL.encode() not in path.read_bytes(), path

    storage = f"sqlite:///{tmp_path / 'task.agenthpo.db'}"
    study = optuna.load_study(study_name="secret", storage=storage)
    dumped = json.dumps(
        [
            {
                "user": t.user_attrs,
                "system": t.system_attrs,
                "params": t.params,
            }
            for t in study.trials
        ]
        + [study.user_attrs, study._storage.get_study_system_attrs(study._study_id)],
        default=str,
    )
    assert SENTINEL not in dumped
    assert len(study.trials) == 7


def test_a_key_echoed_in_successful_answers_appears_nowhere(tmp_path: Path) -> None:
    """Issue 19, item 3: an endpoint that puts the key in a 200 answer (the content, the
    model field, a rationale, an unusable answer that goes back in a repair prompt): the key
    reaches no output the tool writes."""
    calls = {"n": 0}

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        calls["n"] += 1
        n = calls["n"]
        if n % 4 == 0:  # an unusable answer that quotes the key: sent back for repair
            reply = completion(f"I cannot, my key {SENTINEL} is [/] refused")
        else:
            x = (n % 9) - 4.0
            answer = {"config": {"x": x, "kind": "a"}, "rationale": f"key {SENTINEL} says x"}
            reply = completion(json.dumps(answer))
        assert reply.body is not None
        reply.body["model"] = f"model-{SENTINEL}"
        reply.body["choices"][0]["finish_reason"] = SENTINEL
        return reply

    (tmp_path / "quad.py").write_text(
        "def objective(config, report):\n    return {'loss': (config['x'] - 2) ** 2}\n"
    )
    with FakeOpenAI(handler) as server:
        task = {
            "name": "secret",
            "objective": {"metric": "loss", "direction": "minimize"},
            "space": {"x": {"type": "float", "low": -5.0, "high": 5.0}, "kind": ["a", "b"]},
            "n_trials": 6,
            "function": "quad:objective",
            "strategy": "agent",
            "llm": {"spec": f"openai-compatible:{server.url}#m", "max_retries": 0},
        }
        task_file = tmp_path / "task.yaml"
        task_file.write_text(yaml.safe_dump(task))
        env = dict(os.environ, AGENTHPO_LLM_API_KEY=SENTINEL, OPENAI_API_KEY=SENTINEL)
        outputs = []
        for args in (
            ["run", str(task_file), "-v"],
            ["show", str(task_file)],
            ["best", str(task_file)],
            ["report", str(task_file), "--llm", f"openai-compatible:{server.url}#m"],
        ):
            result = subprocess.run(
                [*_cli(), *args], capture_output=True, text=True, env=env, timeout=300
            )
            assert result.returncode == 0, result.stdout + result.stderr
            outputs.append(result.stdout + result.stderr)
        prompts = json.dumps(server.requests)
    assert calls["n"] >= 6
    for text in outputs:
        assert SENTINEL not in text
    assert SENTINEL not in prompts  # nothing echoed went back to the model
    assert "***" in prompts  # the repair prompt quoted the masked answer

    storage = f"sqlite:///{tmp_path / 'task.agenthpo.db'}"
    study = optuna.load_study(study_name="secret", storage=storage)
    from agenthpo.dashboard import write_study_notes

    write_study_notes(study)  # the dashboard's notes are written into the storage
    dumped = json.dumps(
        [{"user": t.user_attrs, "system": t.system_attrs} for t in study.trials]
        + [study.user_attrs, study._storage.get_study_system_attrs(study._study_id)],
        default=str,
    )
    assert SENTINEL not in dumped
    assert "***" in dumped
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in written)
    assert any(p.suffix == ".md" for p in written)
    for path in written:
        assert SENTINEL.encode() not in path.read_bytes(), path
