"""A real study that revises its space, end to end: the tuner runs a task with a revising
policy on SQLite and on a journal file, a second run resumes on the revised space, and the
report and ``agenthpo show`` list the revisions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import pytest
from typer.testing import CliRunner

from agenthpo import _keys
from agenthpo.agent.prompts import REVISION_SYSTEM_PROMPT
from agenthpo.cli import app
from agenthpo.cli.run import revision_text
from agenthpo.llm import Message, ScriptedLLM
from agenthpo.reporting import build_report
from agenthpo.storage import open_storage
from agenthpo.task import Task, task_from_dict
from agenthpo.tuner import Tuner

pytestmark = pytest.mark.integration

OBJECTIVE = """
def objective(config, report):
    return {"loss": (config["x"] - 7.0) ** 2 + config["units"] / 1000.0}
"""

# x's optimum (7) lies beyond the task's range: the best trials pile up at x's upper bound
WARM = [{"x": 4.9, "units": 64}, {"x": 4.8, "units": 96}, {"x": 4.6, "units": 32}]


def _task(tmp_path: Path) -> Task:
    (tmp_path / "bowl.py").write_text(OBJECTIVE)
    return task_from_dict(
        {
            "name": "bowl",
            "objective": {"metric": "loss", "direction": "minimize"},
            "space": {
                "x": {"type": "float", "low": 0.0, "high": 5.0, "limits": [0.0, 8.0]},
                "units": {"type": "int", "low": 16, "high": 256, "step": 16},
            },
            "warm_start": WARM,
            "n_trials": 8,
            "function": "bowl:objective",
            "strategy": "hybrid-tpe",
            "seed": 0,
            "policy": {
                "preset": "hybrid-revise",
                "warmup": 0,
                "startup": 0,
                "share": 0.0,
                "revise_space_every": 5,
                "revise_space_max": 2,
            },
        },
        base_dir=tmp_path,
    )


def _llm() -> ScriptedLLM:
    """Widens x past its hard limit of 8: the check rejects it."""

    def answer(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
        if messages[0].content != REVISION_SYSTEM_PROMPT:
            return "{}"
        change = {"param": "x", "low": 2.0, "high": 9.0, "evidence": [0, 1]}
        change["rationale"] = "the best runs sit at the upper bound"
        return json.dumps({"revisions": [change]})

    return ScriptedLLM([answer])


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_study_revises_its_space_and_resumes_on_it(tmp_path: Path, kind: str) -> None:
    task = _task(tmp_path)
    url = f"sqlite:///{tmp_path / 's.db'}" if kind == "sqlite" else f"journal:{tmp_path / 'j.log'}"
    Tuner(task, llm=_llm(), storage=url, n_trials=8).run()
    study = optuna.load_study(study_name="bowl", storage=open_storage(url))
    first = study.user_attrs[f"{_keys.STUDY_SPACE_REVISION}1"]
    assert first["state"] == "done"
    (change,) = first["changes"]
    # 9 is past the hard limit of 8, so the LLM's widening is rejected
    assert change["status"] == "rejected"
    assert "hard limits" in change["reason"]

    # the next run (a new process would do the same) goes on: the second revision is accepted
    def fitted(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
        if messages[0].content != REVISION_SYSTEM_PROMPT:
            return "{}"
        return json.dumps(
            {
                "revisions": [
                    {
                        "param": "x",
                        "low": 2.0,
                        "high": 8.0,
                        "evidence": [0, 1],
                        "rationale": "the best runs sit at the upper bound",
                    }
                ]
            }
        )

    Tuner(task, llm=ScriptedLLM([fitted]), storage=url, n_trials=14).run()
    study = optuna.load_study(study_name="bowl", storage=open_storage(url))
    second = study.user_attrs[f"{_keys.STUDY_SPACE_REVISION}2"]
    assert [c["status"] for c in second["changes"]] == ["accepted"]
    at = second["at_trial"]
    assert at >= 10  # warm-up 0 + 2 x 5 completed trials
    later = [t for t in study.trials if t.number >= at]
    assert later
    for t in later:
        assert 2.0 <= t.params["x"] <= 8.0
        assert t.distributions["x"] == optuna.distributions.FloatDistribution(2.0, 8.0)
    assert study.trials[at].user_attrs[_keys.SPACE_REVISION]["accepted"] == 1
    assert "space revision 2" in revision_text(
        at, study.trials[at].user_attrs[_keys.SPACE_REVISION]
    )
    # what a user sees: the report and `agenthpo show`
    paths = build_report(study, out_dir=tmp_path / "report")
    html = paths.html.read_text()
    assert "Search space revisions" in html
    assert "the best runs sit at the upper bound" in html
    assert "revision 2 at trial" in paths.markdown.read_text()
    result = CliRunner().invoke(
        app, ["show", "--storage", url, "--study", "bowl", "--format", "plain"]
    )
    assert result.exit_code == 0, result.output
    assert "x 0 … 5 -> 2 … 9 (shift), rejected (widens the upper bound past 8" in result.output
    assert "x 0 … 5 -> 2 … 8 (shift), accepted" in result.output
