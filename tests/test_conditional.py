"""Conditional parameters: in the space, the prompt, validation, and the trials that run."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import optuna
import pytest

from agenthpo.agent.prompts import config_schema, describe_space
from agenthpo.errors import SpaceError
from agenthpo.llm import Message, ScriptedLLM
from agenthpo.space import Space
from agenthpo.task import task_from_dict
from agenthpo.tuner import Tuner
from tests.conftest import answer

SPEC = {
    "optimizer": ["sgd", "adam"],
    "momentum": {"type": "float", "low": 0.0, "high": 0.99, "condition": {"optimizer": "sgd"}},
    "nesterov": {
        "type": "categorical",
        "choices": [True, False],
        "condition": {"optimizer": ["sgd"]},
    },
    "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
}


@pytest.fixture
def space() -> Space:
    return Space.from_dict(SPEC)


def test_active_parameters_follow_their_condition(space: Space) -> None:
    assert space.active({"optimizer": "adam", "lr": 0.1}) == ["optimizer", "lr"]
    assert space.active({"optimizer": "sgd"}) == ["optimizer", "momentum", "nesterov", "lr"]
    assert space.is_conditional("momentum")
    assert not space.is_conditional("lr")
    assert space.condition_text("momentum") == "only when optimizer is sgd"


def test_validation_knows_what_is_inactive(space: Space) -> None:
    assert space.validate({"optimizer": "adam", "lr": 0.1}) == []
    violations = space.validate({"optimizer": "adam", "lr": 0.1, "momentum": 0.9})
    assert [(v.name, v.kind) for v in violations] == [("momentum", "inactive")]
    assert "only when optimizer is sgd" in str(violations[0])
    missing = space.validate({"optimizer": "sgd", "lr": 0.1})
    assert {(v.name, v.kind) for v in missing} == {("momentum", "missing"), ("nesterov", "missing")}


def test_normalize_drops_inactive_values_and_nulls(space: Space) -> None:
    config, changes = space.normalize(
        {"optimizer": "Adam", "momentum": 0.9, "nesterov": None, "lr": 0.1}
    )
    assert config == {"optimizer": "adam", "lr": 0.1}
    assert any(c.name == "momentum" and "only when optimizer is sgd" in str(c) for c in changes)
    assert space.validate(config) == []


def test_repair_fills_active_and_drops_inactive(space: Space) -> None:
    fixed, _ = space.repair({"optimizer": "sgd", "lr": 5.0})
    assert set(fixed) == {"optimizer", "momentum", "nesterov", "lr"}
    assert space.validate(fixed) == []
    fixed, changes = space.repair({"optimizer": "adam", "momentum": 2.0, "lr": 0.1})
    assert fixed == {"optimizer": "adam", "lr": 0.1}
    assert any(c.name == "momentum" for c in changes)


def test_schema_and_prompt_describe_conditions(space: Space) -> None:
    schema = space.json_schema()
    jsonschema.validate(
        {"optimizer": "adam", "momentum": None, "nesterov": None, "lr": 0.1}, schema
    )
    jsonschema.validate({"optimizer": "sgd", "momentum": 0.5, "nesterov": True, "lr": 0.1}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"optimizer": "sgd", "momentum": 5.0, "nesterov": True, "lr": 0.1}, schema
        )
    lines = describe_space(space)
    assert lines[1] == "- momentum (float, 0 to 0.99; only when optimizer is sgd)"
    described = config_schema(space)["properties"]["momentum"]
    assert described["description"] == "only when optimizer is sgd; null otherwise"
    assert config_schema(space)["required"] == schema["required"]


def test_distance_counts_a_missing_conditional_as_different(space: Space) -> None:
    a = {"optimizer": "adam", "lr": 0.1}
    assert space.distance(a, dict(a)) == 0.0
    assert len(space.to_unit(a)) == 4


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"optimiser": "sgd"}, "'optimiser' is not a parameter"),
        ({"optimizer": "rmsprop"}, "'rmsprop' is not one of optimizer's choices"),
        ({"lr": 0.1}, "define 'lr' before 'momentum'"),
    ],
)
def test_bad_conditions_are_named(condition: dict[str, object], message: str) -> None:
    spec = dict(SPEC)
    spec["momentum"] = {"type": "float", "low": 0.0, "high": 0.99, "condition": condition}
    with pytest.raises(SpaceError, match=message) as info:
        Space.from_dict(spec)
    assert "space.momentum.condition" in str(info.value)


def test_condition_must_name_a_categorical() -> None:
    spec = {
        "lr": {"type": "float", "low": 0.1, "high": 1.0},
        "x": {"type": "int", "low": 1, "high": 3, "condition": {"lr": 0.5}},
    }
    with pytest.raises(SpaceError, match="categorical"):
        Space.from_dict(spec)


def test_a_study_runs_only_active_parameters(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(
        "import sys, json\n"
        "from agenthpo import report\n"
        "args = sys.argv[1:]\n"
        "print(json.dumps(args))\n"
        "report(acc=0.5 + 0.1 * ('--momentum' in args))\n"
    )
    task = task_from_dict(
        {
            "name": "cond",
            "objective": {"metric": "acc", "direction": "maximize"},
            "space": SPEC,
            "n_trials": 3,
            "command": ["python", "train.py"],
            "strategy": "agent",
        },
        base_dir=tmp_path,
    )
    seen: list[str] = []

    def respond(messages: list[Message], schema: object) -> str:
        seen.append(messages[-1].content)
        n = len(seen)
        if n == 1:  # momentum given for adam: dropped, not a violation
            return answer({"optimizer": "adam", "momentum": 0.9, "nesterov": None, "lr": 0.01})
        return answer({"optimizer": "sgd", "momentum": 0.5 + n / 100, "nesterov": True, "lr": 0.01})

    storage = f"sqlite:///{tmp_path / 'c.db'}"
    Tuner(task, llm=ScriptedLLM([respond]), storage=storage).run()
    trials = optuna.load_study(study_name="cond", storage=storage).trials
    assert trials[0].params == {"optimizer": "adam", "lr": 0.01}
    assert set(trials[1].params) == {"optimizer", "momentum", "nesterov", "lr"}
    assert trials[1].value == pytest.approx(0.6)
    assert "only when optimizer is sgd" in seen[0]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
