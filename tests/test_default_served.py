"""The default strategy with a served model, end to end: ``agenthpo run`` with
``hybrid-tpe`` and an OpenAI-compatible endpoint on loopback (the real ``openai`` SDK over
HTTP). A model other than the embedded one gets the capable schedule: no LLM turn during the
backbone's start-up, and each proposal judged by the backbone's acquisition with a margin,
the verdict stored on the trial whether the proposal ran or not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from typer.testing import CliRunner

from agenthpo import _keys
from agenthpo.cli import _common, app
from tests.fake_openai import FakeOpenAI, Reply, completion

pytestmark = pytest.mark.integration

SCRIPT = """
def objective(config, report):
    return {"loss": (config["x"] - 2) ** 2 + (config["y"] + 1) ** 2}
"""
N_TRIALS = 16
STARTUP = 5  # the backbone's start-up trials in the capable schedule (preset hybrid-judged)


def _task(tmp_path: Path, url: str) -> Path:
    (tmp_path / "bowl.py").write_text(SCRIPT)
    task = {
        "name": "served-default",
        "objective": {"metric": "loss", "direction": "minimize"},
        "space": {
            "x": {"type": "float", "low": -5.0, "high": 5.0},
            "y": {"type": "float", "low": -5.0, "high": 5.0},
        },
        "n_trials": N_TRIALS,
        "function": "bowl:objective",
        "seed": 0,
        "llm": {"spec": f"openai-compatible:{url}#served", "max_retries": 0},
        "storage": f"sqlite:///{tmp_path / 'study.db'}",
    }
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task))
    return path


def test_the_default_judges_a_served_models_proposals_with_a_margin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_common.console, "_width", 400)
    # The model always proposes the far corner of the bowl (loss 58 against a minimum of 0):
    # once the backbone has a model of the bowl, its acquisition rates that far below its own.
    corner = {"x": -5.0, "y": 5.0}

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        return completion(json.dumps({"config": corner, "rationale": "probe the far corner"}))

    runner = CliRunner()
    with FakeOpenAI(handler) as server:
        task = _task(tmp_path, server.url)
        result = runner.invoke(app, ["run", str(task), "--no-report"])
        asked = len(server.requests)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "within 1 log unit" in flat, flat[:600]  # the first lines name the margin screen

    study = optuna.load_study(
        study_name="served-default", storage=f"sqlite:///{tmp_path / 'study.db'}"
    )
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == N_TRIALS
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    for t in trials[:STARTUP]:  # the backbone's start-up: the model is not asked
        assert t.user_attrs[_keys.PROPOSED_BY] == "backbone"
        assert _keys.LLM_CANDIDATES not in t.user_attrs
    judged = [t for t in trials if _keys.LLM_CANDIDATES in t.user_attrs]
    assert judged, "no LLM turn after the start-up"
    assert asked >= len(judged)  # every verdict judged an answer the server gave
    for t in judged:
        verdict = t.user_attrs[_keys.LLM_CANDIDATES]
        assert verdict["margin"] == 1.0
        assert verdict["configs"] == [corner]
        assert verdict["judge"] == "GP"  # the backbone's member on a continuous space
        if verdict["ran"] == "llm":
            assert t.params == corner
            assert t.user_attrs[_keys.PROPOSED_BY] == "llm"
        else:  # screened out: the backbone's own configuration ran, the proposal is kept
            assert verdict["ran"] == "backbone"
            assert t.params != corner
            assert verdict["values"][0] < verdict["own"] - verdict["margin"]
            assert t.user_attrs[_keys.SCREENED]["config"] == corner
            assert t.user_attrs[_keys.SCREENED]["rationale"] == "probe the far corner"
    # once the backbone has a model of the bowl, it screens the far corner out
    assert sum(t.user_attrs[_keys.LLM_CANDIDATES]["ran"] == "backbone" for t in judged) >= 1
