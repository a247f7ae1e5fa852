"""Tests for agenthpo.space: definitions, validation, normalization, repair and conversions."""

from __future__ import annotations

import doctest
import importlib
import math
import pkgutil
import warnings
from decimal import Decimal
from typing import Any

import jsonschema
import optuna
import pydantic
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agenthpo.space as space_module
from agenthpo.agent.prompts import config_schema, describe_space
from agenthpo.errors import SpaceError, TaskError
from agenthpo.space import (
    CategoricalParam,
    Change,
    FloatParam,
    IntParam,
    Space,
    Violation,
)
from agenthpo.task import task_from_dict

EXAMPLE_YAML = """
learning_rate_init: {type: float, low: 1e-5, high: 0.1, log: true, description: "initial step size"}
hidden_units: {type: int, low: 16, high: 256, step: 16}
activation: {type: categorical, choices: [relu, tanh, logistic]}
batch_size: [32, 64, 128]
"""


@pytest.fixture
def space() -> Space:
    return Space.from_dict(yaml.safe_load(EXAMPLE_YAML))


@pytest.fixture
def mixed() -> Space:
    """A space with every feature: plain, log and stepped floats and ints, odd choices."""
    return Space.from_dict(
        {
            "lr": {"type": "float", "low": 1e-5, "high": 0.1, "log": True},
            "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
            "momentum": {"type": "float", "low": 0.0, "high": 1.0},
            "epochs": {"type": "int", "low": 10, "high": 200},
            "units": {"type": "int", "low": 16, "high": 256, "step": 16},
            "trees": {"type": "int", "low": 1, "high": 1024, "log": True},
            "opt": ["adam", "sgd", "rmsprop"],
            "flag": [True, False],
            "alpha": [0.1, 1.0, 10.0],
            "size": [32, 64, 128],
        }
    )


def good_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "lr": 0.001,
        "dropout": 0.2,
        "momentum": 0.9,
        "epochs": 50,
        "units": 64,
        "trees": 100,
        "opt": "adam",
        "flag": False,
        "alpha": 1.0,
        "size": 64,
    }
    config.update(overrides)
    return config


def space_error(data: Any) -> str:
    with pytest.raises(SpaceError) as info:
        Space.from_dict(data)
    return str(info.value)


# ---------------------------------------------------------------------- parameter models


class TestParams:
    def test_categorical_keeps_exact_types(self) -> None:
        param = CategoricalParam(choices=[True, 3, 0.5, "a", 2.0])
        assert [type(c) for c in param.choices] == [bool, int, float, str, float]

    def test_yaml_choices_keep_types(self) -> None:
        data = yaml.safe_load("x: [true, 3, 0.1, a, '2']")
        choices = Space.from_dict(data)["x"].choices  # type: ignore[union-attr]
        assert choices == [True, 3, 0.1, "a", "2"]
        assert [type(c) for c in choices] == [bool, int, float, str, str]

    def test_frozen_and_no_extra_keys(self) -> None:
        param = FloatParam(low=0.0, high=1.0)
        with pytest.raises(pydantic.ValidationError):
            param.low = 0.5
        with pytest.raises(pydantic.ValidationError):
            FloatParam(low=0.0, high=1.0, lo=3)  # type: ignore[call-arg]

    def test_direct_construction_checks_cross_field_rules(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="must be lower than high"):
            FloatParam(low=1.0, high=0.5)
        with pytest.raises(pydantic.ValidationError, match="either log or step"):
            IntParam(low=1, high=9, log=True, step=2)
        with pytest.raises(pydantic.ValidationError, match="appears more than once"):
            CategoricalParam(choices=["a", "a"])

    def test_numeric_strings_for_bounds(self) -> None:
        assert FloatParam(low="1e-5", high="0.1").low == 1e-5  # type: ignore[arg-type]
        assert IntParam(low="16", high="256", step="16").step == 16  # type: ignore[arg-type]

    def test_bool_is_not_a_bound(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="not true/false"):
            FloatParam(low=False, high=1.0)

    def test_int_step_with_log_one_is_allowed(self) -> None:
        assert IntParam(low=1, high=8, log=True, step=1).log


# ---------------------------------------------------------------------- from_dict


class TestFromDict:
    def test_example_yaml(self, space: Space) -> None:
        assert space.names == ["learning_rate_init", "hidden_units", "activation", "batch_size"]
        lr = space["learning_rate_init"]
        assert isinstance(lr, FloatParam)
        # PyYAML reads "1e-5" (no dot) as a string; it must still become the float 1e-5.
        assert yaml.safe_load("x: 1e-5")["x"] == "1e-5"
        assert lr.low == 1e-5
        assert lr.log
        assert lr.description == "initial step size"
        assert space["hidden_units"] == IntParam(low=16, high=256, step=16)
        assert space["batch_size"] == CategoricalParam(choices=[32, 64, 128])

    def test_accepts_param_objects(self) -> None:
        sp = Space.from_dict({"x": IntParam(low=1, high=3), "y": ["a"]})
        assert sp["x"] == IntParam(low=1, high=3)

    def test_numeric_strings_for_step_and_high(self) -> None:
        param = Space.from_dict({"x": {"type": "float", "low": "0", "high": "1e0", "step": "1e-1"}})
        assert param["x"] == FloatParam(low=0.0, high=1.0, step=0.1)

    @pytest.mark.parametrize(
        ("spec", "path", "fragments"),
        [
            ({"low": 0.0, "high": 1.0}, "space.p.type", ["missing", "float, int, categorical"]),
            ({"choices": ["a"]}, "space.p.type", ["missing", "type: categorical"]),
            ({"low": 1, "high": 5}, "space.p.type", ["type: int"]),
            ({"type": "double", "low": 0, "high": 1}, "space.p.type", ["unknown type 'double'"]),
            ({"type": "Float", "low": 0, "high": 1}, "space.p.type", ["did you mean 'float'"]),
            (
                {"type": "float", "low": 1.0, "high": 0.1},
                "space.p.low",
                ["must be lower than high", "low=1.0, high=0.1", "swap"],
            ),
            ({"type": "float", "low": 1.0, "high": 1.0}, "space.p.low", ["single value"]),
            ({"type": "int", "low": 5, "high": 5}, "space.p.low", ["must be lower than high"]),
            ({"type": "int", "low": 9, "high": 1}, "space.p.low", ["must be lower than high"]),
            (
                {"type": "float", "low": 0.0, "high": 1.0, "log": True},
                "space.p.low",
                ["positive on a log scale", "set log: false"],
            ),
            ({"type": "int", "low": 0, "high": 8, "log": True}, "space.p.low", ["at least 1"]),
            (
                {"type": "float", "low": 0.1, "high": 1.0, "log": True, "step": 0.1},
                "space.p.step",
                ["use either log or step"],
            ),
            (
                {"type": "int", "low": 1, "high": 9, "log": True, "step": 2},
                "space.p.step",
                ["use either log or step"],
            ),
            ({"type": "float", "low": 0, "high": 1, "step": 0}, "space.p.step", ["positive"]),
            ({"type": "int", "low": 0, "high": 10, "step": -2}, "space.p.step", ["positive"]),
            (
                {"type": "int", "low": 16, "high": 250, "step": 16},
                "space.p.high",
                ["not a multiple of step 16", "240 or 256"],
            ),
            (
                {"type": "float", "low": 0.0, "high": 0.95, "step": 0.1},
                "space.p.high",
                ["not a multiple of step 0.1", "0.9 or 1.0"],
            ),
            (
                {"type": "float", "low": 0.0, "high": 0.05, "step": 0.1},
                "space.p.high",
                ["set high to 0.1 "],
            ),
            ({"type": "categorical", "choices": []}, "space.p.choices", ["must not be empty"]),
            ([], "space.p.choices", ["must not be empty"]),
            (["a", "b", "a"], "space.p.choices[2]", ["'a' appears more than once"]),
            ([1, True], "space.p.choices[1]", ["same choice to Optuna"]),
            ([1, 1.0], "space.p.choices[1]", ["same choice"]),
            (["a", {"b": 1}], "space.p.choices[1]", ["bool, int, float or string", "mapping"]),
            (["a", [1, 2]], "space.p.choices[1]", ["nested values are not supported"]),
            ([None, "a"], "space.p.choices[0]", ["null is not supported"]),
            ([float("nan")], "space.p.choices[0]", ["finite"]),
            (
                {"type": "categorical", "choices": "abc"},
                "space.p.choices",
                ["must be a list"],
            ),
            (
                {"type": "float", "lo": 0.0, "high": 1.0},
                "space.p.lo",
                ["unknown key", "did you mean 'low'", "type, low, high, log, step, description"],
            ),
            ({"type": "float", "high": 1.0}, "space.p.low", ["missing", "needs low and high"]),
            ({"type": "categorical"}, "space.p.choices", ["missing"]),
            ({"type": "float", "low": "abc", "high": 1}, "space.p.low", ["must be a number"]),
            ({"type": "int", "low": 1.5, "high": 4}, "space.p.low", ["whole number", "1.5"]),
            ({"type": "float", "low": 0, "high": float("inf")}, "space.p.high", ["finite"]),
            (
                {"type": "float", "low": -1e308, "high": 1e308},
                "space.p.high",
                ["wider than a float can hold", "log: true"],
            ),
            ({"type": "float", "low": True, "high": 1}, "space.p.low", ["not true/false"]),
            ({"type": "float", "low": 0, "high": 1, "log": "maybe"}, "space.p.log", ["true or"]),
            ("uniform(0, 1)", "space.p", ["must be a mapping", "list of choices"]),
        ],
    )
    def test_definition_errors(self, spec: Any, path: str, fragments: list[str]) -> None:
        message = space_error({"p": spec})
        assert message.startswith(path + ":") or f"\n{path}:" in message, message
        for fragment in fragments:
            assert fragment in message, message
        assert "errors.pydantic.dev" not in message
        assert "validation error" not in message.lower()

    @pytest.mark.parametrize("name", ["", "2lr", "my lr", "lr!", "--lr"])
    def test_bad_names(self, name: str) -> None:
        message = space_error({name: [1, 2]})
        assert f"space.{name}: invalid parameter name" in message
        assert "command-line flags" in message

    def test_non_string_name(self) -> None:
        assert "must be a string" in space_error({1: [1, 2]})

    def test_good_names(self) -> None:
        names = ["lr", "_x", "model.depth", "drop-out", "L2"]
        assert Space.from_dict({name: [1, 2] for name in names}).names == names

    def test_all_problems_in_one_error(self) -> None:
        message = space_error(
            {
                "lr": {"type": "float", "low": 1.0, "high": 0.1},
                "units": {"type": "int", "lo": 1, "high": 8},
                "act": [],
                "bad name": [1],
            }
        )
        lines = message.splitlines()
        assert lines[0].startswith("space.lr.low: must be lower than high")
        assert any(line.startswith("space.units.lo: unknown key") for line in lines)
        assert any(line.startswith("space.units.low: missing") for line in lines)
        assert any(line.startswith("space.act.choices: must not be empty") for line in lines)
        assert any(line.startswith("space.bad name: invalid parameter name") for line in lines)
        assert len(lines) == 5

    def test_several_problems_of_one_param(self) -> None:
        message = space_error({"x": {"type": "float", "low": 0.0, "high": 1.0, "log": True,
                                     "step": 0.1}})  # fmt: skip
        assert "space.x.low: must be positive on a log scale" in message
        assert "space.x.step: use either log or step" in message

    @pytest.mark.parametrize("data", [{}, [], "x", None])
    def test_bad_top_level(self, data: Any) -> None:
        assert space_error(data).startswith("space:")

    def test_error_is_agenthpo_error(self) -> None:
        from agenthpo.errors import AgentHPOError

        with pytest.raises(AgentHPOError):
            Space.from_dict({"x": []})


# ---------------------------------------------------------------------- construction, protocol


class TestSpaceObject:
    def test_init_errors(self) -> None:
        with pytest.raises(SpaceError, match="empty"):
            Space({})
        with pytest.raises(SpaceError, match="invalid parameter name"):
            Space({"a\nb": CategoricalParam(choices=[1])})
        # any printable name Optuna takes; a task's space keeps the flag rule
        assert Space({"a b": CategoricalParam(choices=[1])}).names == ["a b"]
        with pytest.raises(TaskError, match="become command-line flags"):
            task_from_dict(
                {
                    "name": "t",
                    "function": "m:f",
                    "objective": {"metric": "loss", "direction": "minimize"},
                    "space": Space({"a b": CategoricalParam(choices=[1])}),
                }
            )
        with pytest.raises(TypeError, match="from_dict"):
            Space({"a": {"type": "float", "low": 0, "high": 1}})  # type: ignore[dict-item]

    def test_container_protocol(self, space: Space) -> None:
        assert len(space) == 4
        assert list(space) == space.names
        assert "activation" in space
        assert "nope" not in space
        assert [name for name, _ in space.items()] == space.names
        assert isinstance(space["hidden_units"], IntParam)
        with pytest.raises(KeyError, match="not a parameter"):
            space["nope"]

    def test_names_is_a_copy(self, space: Space) -> None:
        space.names.append("x")
        assert "x" not in space

    def test_to_dict_round_trip_and_json(self, mixed: Space, space: Space) -> None:
        import json

        for sp in (mixed, space):
            data = json.loads(json.dumps(sp.to_dict()))
            again = Space.from_dict(data)
            assert again == sp
            assert again.names == sp.names
            assert [p.description for _, p in again.items()] == [
                p.description for _, p in sp.items()
            ]
        assert space.to_dict()["hidden_units"] == {
            "type": "int",
            "low": 16,
            "high": 256,
            "log": False,
            "step": 16,
        }

    def test_equality(self) -> None:
        a = Space.from_dict({"x": [1, 2], "y": {"type": "float", "low": 0, "high": 1}})
        b = Space.from_dict(
            {"y": {"type": "float", "low": 0, "high": 1, "description": "why"}, "x": [1, 2]}
        )
        assert a == b  # order and descriptions do not change the search
        assert a != Space.from_dict({"x": [1, 2], "y": {"type": "float", "low": 0, "high": 2}})
        assert a != Space.from_dict({"x": [1, 2]})
        assert Space.from_dict({"x": [1]}) != Space.from_dict({"x": [1.0]})
        assert Space.from_dict({"x": [1]}) != Space.from_dict({"x": [True]})
        assert a != "x"

    def test_repr(self, space: Space) -> None:
        text = repr(space)
        assert text.startswith("Space({'learning_rate_init': FloatParam(low=1e-05")
        assert "IntParam(low=16, high=256, step=16)" in text


# ---------------------------------------------------------------------- Optuna


class TestOptuna:
    def test_to_optuna(self, space: Space) -> None:
        dists = space.to_optuna()
        assert list(dists) == space.names
        assert dists["learning_rate_init"] == optuna.distributions.FloatDistribution(
            1e-5, 0.1, log=True
        )
        assert dists["hidden_units"] == optuna.distributions.IntDistribution(16, 256, step=16)
        assert dists["activation"] == optuna.distributions.CategoricalDistribution(
            ["relu", "tanh", "logistic"]
        )

    def test_round_trip(self, mixed: Space, space: Space) -> None:
        for sp in (mixed, space):
            assert Space.from_optuna(sp.to_optuna()) == sp

    def test_from_optuna_constant_becomes_categorical(self) -> None:
        sp = Space.from_optuna(
            {
                "f": optuna.distributions.FloatDistribution(0.5, 0.5),
                "i": optuna.distributions.IntDistribution(3, 3),
            }
        )
        assert sp["f"] == CategoricalParam(choices=[0.5])
        assert sp["i"] == CategoricalParam(choices=[3])

    def test_from_optuna_rejects_none_choice(self) -> None:
        with pytest.raises(SpaceError, match=r"distributions\.c\.choices\[0\]: null"):
            Space.from_optuna({"c": optuna.distributions.CategoricalDistribution([None, 1])})

    def test_from_optuna_rejects_unknown_distribution(self) -> None:
        class Odd(optuna.distributions.BaseDistribution):
            def to_external_repr(self, param_value_in_internal_repr: float) -> Any:
                return param_value_in_internal_repr

            def to_internal_repr(self, param_value_in_external_repr: Any) -> float:
                return float(param_value_in_external_repr)

            def single(self) -> bool:
                return False

            def _contains(self, param_value_in_internal_repr: float) -> bool:
                return True

        with pytest.raises(SpaceError, match="unsupported Optuna distribution Odd"):
            Space.from_optuna({"x": Odd()})

    def test_optuna_does_not_adjust_high(self) -> None:
        sp = Space.from_dict({"x": {"type": "float", "low": 0.1, "high": 0.7, "step": 0.2}})
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            dist = sp.to_optuna()["x"]
        assert dist.high == 0.7  # type: ignore[attr-defined]

    def test_sampled_values_validate(self, mixed: Space) -> None:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        dists = mixed.to_optuna()
        for _ in range(20):
            trial = study.ask(dists)
            assert mixed.validate(trial.params) == []
            study.tell(trial, 0.0)


# ---------------------------------------------------------------------- validate


class TestValidate:
    def test_valid(self, mixed: Space) -> None:
        assert mixed.validate(good_config()) == []

    def kinds(self, sp: Space, **overrides: Any) -> list[tuple[str, str]]:
        return [(v.name, v.kind) for v in sp.validate(good_config(**overrides))]

    @pytest.mark.parametrize(
        ("overrides", "expected", "fragment"),
        [
            ({"lr": 0.5}, ("lr", "range"), "lr: 0.5 is above the maximum 0.1"),
            ({"lr": 1e-6}, ("lr", "range"), "lr: 1e-06 is below the minimum 1e-05"),
            ({"epochs": 220}, ("epochs", "range"), "epochs: 220 is above the maximum 200"),
            ({"lr": "0.01"}, ("lr", "type"), "expected a number, got the string '0.01'"),
            ({"lr": True}, ("lr", "type"), "not a number"),
            ({"lr": None}, ("lr", "type"), "got null"),
            ({"lr": float("nan")}, ("lr", "type"), "expected a number"),
            ({"lr": float("inf")}, ("lr", "range"), "above the maximum"),
            ({"epochs": 64.5}, ("epochs", "type"), "fractional part"),
            ({"epochs": 64.0}, ("epochs", "type"), "the float 64.0; write 64"),
            ({"epochs": False}, ("epochs", "type"), "expected an integer"),
            ({"epochs": [1]}, ("epochs", "type"), "a list"),
            ({"units": 70}, ("units", "step"), "nearest allowed values are 64 and 80"),
            ({"dropout": 0.25}, ("dropout", "step"), "nearest allowed values are 0.2 and 0.3"),
            ({"opt": "AdamW"}, ("opt", "choice"), "did you mean 'adam'"),
            ({"opt": 3}, ("opt", "type"), "expected one of: adam, sgd, rmsprop"),
            ({"flag": 1}, ("flag", "type"), "expected one of: true, false"),
            ({"flag": "true"}, ("flag", "type"), "the string 'true'"),
            ({"size": 64.0}, ("size", "choice"), "write it as 64"),
            ({"size": True}, ("size", "type"), "got True (a bool)"),
            ({"opt": False}, ("opt", "type"), "got False (a bool)"),
            ({"size": 50}, ("size", "choice"), "50 is not one of the choices: 32, 64, 128"),
            ({"alpha": {"a": 1}}, ("alpha", "type"), "a mapping"),
        ],
    )
    def test_single_violation(
        self,
        mixed: Space,
        overrides: dict[str, Any],
        expected: tuple[str, str],
        fragment: str,
    ) -> None:
        violations = mixed.validate(good_config(**overrides))
        assert [(v.name, v.kind) for v in violations] == [expected]
        assert fragment in violations[0].message
        assert str(violations[0]) == violations[0].message
        assert violations[0].message.startswith(expected[0] + ": ")

    def test_unknown_and_missing(self, mixed: Space) -> None:
        config = good_config(learning_rate=0.1)
        del config["lr"]
        violations = mixed.validate(config)
        assert [(v.name, v.kind) for v in violations] == [
            ("lr", "missing"),
            ("learning_rate", "unknown"),
        ]
        assert "give a float from 1e-05 to 0.1" in violations[0].message
        assert "not a parameter of this space" in violations[1].message
        assert "the parameters are: lr, dropout" in violations[1].message

    def test_every_violation_is_reported(self, mixed: Space) -> None:
        config = good_config(lr=5.0, epochs=64.5, units=70, opt="adamw", flag="yes", seed=1)
        del config["size"]
        kinds = {(v.name, v.kind) for v in mixed.validate(config)}
        assert kinds == {
            ("lr", "range"),
            ("epochs", "type"),
            ("units", "step"),
            ("opt", "choice"),
            ("flag", "type"),
            ("size", "missing"),
            ("seed", "unknown"),
        }

    def test_float_accepts_int_and_grid_tolerance(self, mixed: Space) -> None:
        assert mixed.validate(good_config(momentum=1, dropout=0.1 + 0.2)) == []
        assert mixed.validate(good_config(dropout=0.3 + 1e-7))[0].kind == "step"

    def test_bounds_inclusive(self, mixed: Space) -> None:
        assert mixed.validate(good_config(lr=1e-5, units=256, dropout=0.5, epochs=10)) == []

    def test_int_choice_for_float_choice_is_accepted(self, mixed: Space) -> None:
        assert mixed.validate(good_config(alpha=10)) == []

    def test_empty_config(self, space: Space) -> None:
        assert [v.kind for v in space.validate({})] == ["missing"] * 4


# ---------------------------------------------------------------------- normalize


class TestNormalize:
    @pytest.mark.parametrize(
        ("name", "before", "after", "reason"),
        [
            ("lr", "0.01", 0.01, "converted the string to a number"),
            ("lr", " 1e-3 ", 0.001, "converted the string to a number"),
            ("epochs", 64.0, 64, "converted to an integer"),
            ("epochs", "64", 64, "converted the string to an integer"),
            ("epochs", "64.0", 64, "converted the string to an integer"),
            ("opt", "Adam", "adam", "matched the choice ignoring case and spaces"),
            ("opt", " SGD\n", "sgd", "matched the choice ignoring case and spaces"),
            ("flag", "true", True, "converted the string to a boolean"),
            ("flag", "False", False, "converted the string to a boolean"),
            ("size", "64", 64, "converted the string to a number"),
            ("size", 64.0, 64, "converted to an integer"),
            ("alpha", "10", 10.0, "converted the string to a number"),
        ],
    )
    def test_coercions(self, mixed: Space, name: str, before: Any, after: Any, reason: str) -> None:
        config, changes = mixed.normalize(good_config(**{name: before}))
        assert config[name] == after
        assert type(config[name]) is type(after)
        assert changes == [Change(name, before, after, reason)]
        assert mixed.validate(config) == []

    def test_silent_int_to_float(self, mixed: Space) -> None:
        config, changes = mixed.normalize(good_config(momentum=1, alpha=10))
        assert changes == []
        assert type(config["momentum"]) is float
        assert type(config["alpha"]) is float

    def test_numpy_like_scalars(self, mixed: Space) -> None:
        import numpy as np

        config, changes = mixed.normalize(good_config(epochs=np.int64(50), lr=np.float32(0.5)))
        assert type(config["epochs"]) is int
        assert type(config["lr"]) is float
        assert changes == []

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("lr", 5.0),  # out of range: never clipped
            ("epochs", 500),
            ("units", 70),  # off grid: never rounded
            ("epochs", 64.5),  # lossy
            ("epochs", "64.5"),
            ("lr", "abc"),
            ("lr", True),  # bool is never a number
            ("epochs", "nan"),
            ("lr", "inf"),
            ("opt", "adamw"),  # no guessing
            ("flag", "yes"),
            ("size", 50),
        ],
    )
    def test_no_lossy_changes(self, mixed: Space, name: str, value: Any) -> None:
        config, changes = mixed.normalize(good_config(**{name: value}))
        assert config[name] == value or (value != value and config[name] != config[name])
        assert changes == []

    def test_keeps_unknown_names_and_order(self, mixed: Space) -> None:
        raw = {"zzz": 1, "opt": "ADAM", "lr": "0.1"}
        config, _ = mixed.normalize(raw)
        assert config == {"zzz": 1, "opt": "adam", "lr": 0.1}
        assert list(config) == ["zzz", "opt", "lr"]

    def test_ambiguous_case_match_is_left_alone(self) -> None:
        sp = Space.from_dict({"x": ["Adam", "adam"]})
        assert sp.normalize({"x": "ADAM"}) == ({"x": "ADAM"}, [])

    def test_bool_to_string_choice(self) -> None:
        sp = Space.from_dict({"x": ["true", "false"]})
        config, changes = sp.normalize({"x": True})
        assert config == {"x": "true"}
        assert len(changes) == 1

    def test_number_to_string_choice(self) -> None:
        sp = Space.from_dict({"x": ["32", "64"]})
        assert sp.normalize({"x": 64})[0] == {"x": "64"}

    def test_does_not_mutate_input(self, mixed: Space) -> None:
        raw = good_config(lr="0.01")
        mixed.normalize(raw)
        mixed.repair(raw)
        assert raw["lr"] == "0.01"


# ---------------------------------------------------------------------- repair


class TestRepair:
    @pytest.mark.parametrize(
        ("name", "before", "after", "reason"),
        [
            ("epochs", 220, 200, "clipped to the maximum"),
            ("epochs", -3, 10, "clipped to the minimum"),
            ("lr", 0.5, 0.1, "clipped to the maximum"),
            ("lr", float("inf"), 0.1, "clipped to the maximum"),
            ("lr", float("-inf"), 1e-5, "clipped to the minimum"),
            ("lr", "0.5", 0.1, "converted the string to a number; clipped to the maximum"),
            ("epochs", 64.4, 64, "rounded to an integer"),
            ("epochs", 64.5, 65, "rounded to an integer"),
            ("epochs", 300.7, 200, "clipped to the maximum"),
            ("epochs", 10**40, 200, "clipped to the maximum"),
            ("units", 70, 64, "rounded to the grid of step 16"),
            ("units", 72, 80, "rounded to the grid of step 16"),
            ("units", 1000, 256, "clipped to the maximum"),
            ("dropout", 0.27, 0.3, "rounded to the grid of step 0.1"),
            ("dropout", 0.04, 0.0, "rounded to the grid of step 0.1"),
            ("opt", "AdamW", "adam", "not one of the choices; replaced by the closest choice"),
            ("opt", "RMSProp ", "rmsprop", "matched the choice ignoring case and spaces"),
            (
                "opt",
                "lbfgs",
                "adam",
                "not one of the choices; replaced by the default (the first choice)",
            ),
            (
                "opt",
                3,
                "adam",
                "not one of the choices; replaced by the default (the first choice)",
            ),
            ("size", 50, 64, "not one of the choices; replaced by the nearest choice"),
            ("size", "100", 128, "not one of the choices; replaced by the nearest choice"),
            ("size", 1e9, 128, "not one of the choices; replaced by the nearest choice"),
            ("alpha", 3, 1.0, "not one of the choices; replaced by the nearest choice"),
            (
                "flag",
                "yes",
                True,
                "not one of the choices; replaced by the default (the first choice)",
            ),
        ],
    )
    def test_fixes(self, mixed: Space, name: str, before: Any, after: Any, reason: str) -> None:
        config, changes = mixed.repair(good_config(**{name: before}))
        assert config[name] == after
        assert type(config[name]) is type(after)
        assert changes == [Change(name, before, after, reason)]
        assert mixed.validate(config) == []

    @pytest.mark.parametrize(
        ("name", "value"),
        [("lr", "abc"), ("lr", None), ("lr", True), ("epochs", [1]), ("lr", float("nan"))],
    )
    def test_unusable_value_gets_default(self, mixed: Space, name: str, value: Any) -> None:
        config, changes = mixed.repair(good_config(**{name: value}))
        assert config[name] == mixed.default_value(name)
        assert len(changes) == 1
        assert changes[0].reason.endswith("is not a number; used the default")

    def test_missing_and_unknown(self, mixed: Space) -> None:
        raw = good_config(seed=3)
        del raw["epochs"]
        config, changes = mixed.repair(raw)
        assert list(config) == mixed.names
        assert config["epochs"] == mixed.default_value("epochs")
        assert "seed" not in config
        assert Change("epochs", None, 105, "missing; filled with the default") in changes
        assert Change("seed", 3, None, "not a parameter of this space") in changes
        assert str(changes[-1]) == "seed: removed 3 (not a parameter of this space)"
        assert "epochs: set to 105 (missing; filled with the default)" in map(str, changes)

    def test_misspelled_name_is_used(self, mixed: Space) -> None:
        raw = good_config(**{"Epochs": "70"})
        del raw["epochs"]
        config, changes = mixed.repair(raw)
        assert config["epochs"] == 70
        assert changes == [
            Change("epochs", "70", 70, "taken from 'Epochs'; converted the string to an integer")
        ]

    def test_valid_config_is_untouched(self, mixed: Space) -> None:
        config = good_config()
        assert mixed.repair(config) == (config, [])

    def test_empty_config_gets_all_defaults(self, mixed: Space) -> None:
        config, changes = mixed.repair({})
        assert config == {name: mixed.default_value(name) for name in mixed.names}
        assert len(changes) == len(mixed)
        assert mixed.validate(config) == []

    def test_change_str(self) -> None:
        assert str(Change("epochs", 220, 200, "clipped to the maximum")) == (
            "epochs: 220 -> 200 (clipped to the maximum)"
        )
        assert str(Change("opt", "Adam", "adam", "r")) == "opt: 'Adam' -> 'adam' (r)"


# ---------------------------------------------------------------------- defaults


class TestDefaults:
    @pytest.mark.parametrize(
        ("spec", "expected"),
        [
            ({"type": "float", "low": 0.0, "high": 1.0}, 0.5),
            ({"type": "float", "low": 1e-5, "high": 0.1, "log": True}, 0.001),
            ({"type": "float", "low": 1e-4, "high": 1.0, "log": True}, 0.01),
            ({"type": "float", "low": 0.0, "high": 0.5, "step": 0.1}, 0.2),
            ({"type": "float", "low": 0.1, "high": 0.7, "step": 0.2}, 0.3),
            ({"type": "int", "low": 10, "high": 200}, 105),
            ({"type": "int", "low": 0, "high": 3}, 1),
            ({"type": "int", "low": 16, "high": 256, "step": 16}, 128),
            ({"type": "int", "low": 1, "high": 1024, "log": True}, 32),
            (["relu", "tanh"], "relu"),
        ],
    )
    def test_default_value(self, spec: Any, expected: Any) -> None:
        sp = Space.from_dict({"p": spec})
        value = sp.default_value("p")
        assert value == expected
        assert type(value) is type(expected)
        assert sp.validate({"p": value}) == []

    def test_unknown_name(self, space: Space) -> None:
        with pytest.raises(KeyError):
            space.default_value("nope")


# ---------------------------------------------------------------------- JSON schema, describe


ALLOWED_SCHEMA_KEYS = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "minimum",
    "maximum",
    "description",
}


def schema_keys(schema: Any) -> set[str]:
    keys: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            keys.add(key)
            if key == "properties":
                for sub in value.values():
                    keys |= schema_keys(sub)
    return keys


class TestSchemaAndDescribe:
    def test_schema_shape(self, space: Space) -> None:
        schema = space.json_schema()
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema_keys(schema) <= ALLOWED_SCHEMA_KEYS
        assert schema["required"] == space.names
        assert schema["additionalProperties"] is False
        assert schema["properties"]["learning_rate_init"] == {
            "type": "number",
            "minimum": 1e-5,
            "maximum": 0.1,
            "description": "initial step size",
        }
        assert schema["properties"]["hidden_units"] == {
            "type": "integer",
            "minimum": 16,
            "maximum": 256,
        }
        assert schema["properties"]["activation"] == {"enum": ["relu", "tanh", "logistic"]}

    def test_prompt_schema_adds_the_notes(self, space: Space) -> None:
        # The scale notes the LLM reads are prompt text: agent.prompts adds them.
        schema = config_schema(space)
        assert schema_keys(schema) <= ALLOWED_SCHEMA_KEYS
        assert schema["properties"]["learning_rate_init"] == {
            "type": "number",
            "minimum": 1e-5,
            "maximum": 0.1,
            "description": "initial step size; log scale",
        }
        assert schema["properties"]["hidden_units"] == {
            "type": "integer",
            "minimum": 16,
            "maximum": 256,
            "description": "step 16",
        }
        assert schema["properties"]["activation"] == {"enum": ["relu", "tanh", "logistic"]}
        assert space.json_schema()["properties"]["hidden_units"] == {
            "type": "integer",
            "minimum": 16,
            "maximum": 256,
        }

    def test_schema_accepts_good_and_rejects_bad(self, mixed: Space) -> None:
        validator = jsonschema.Draft202012Validator(mixed.json_schema())
        assert validator.is_valid(good_config())
        missing = good_config()
        del missing["lr"]
        bad = [
            good_config(lr=0.5),
            good_config(epochs=5),
            good_config(epochs=64.5),
            good_config(lr="0.01"),
            good_config(lr=True),
            good_config(opt="AdamW"),
            good_config(flag=1),
            good_config(size=True),
            good_config(seed=1),
            missing,
        ]
        for config in bad:
            assert not validator.is_valid(config), config

    def test_describe(self, space: Space, mixed: Space) -> None:
        assert describe_space(space) == [
            "- learning_rate_init (float, 1e-05 to 0.1, log scale): initial step size",
            "- hidden_units (int, 16 to 256, step 16)",
            "- activation (one of: relu, tanh, logistic)",
            "- batch_size (one of: 32, 64, 128)",
        ]
        lines = dict(zip(mixed.names, describe_space(mixed), strict=True))
        assert lines["dropout"] == "- dropout (float, 0 to 0.5, step 0.1)"
        assert lines["trees"] == "- trees (int, 1 to 1024, log scale)"
        assert lines["flag"] == "- flag (one of: true, false)"
        assert lines["alpha"] == "- alpha (one of: 0.1, 1.0, 10.0)"

    def test_describe_quotes_ambiguous_strings(self) -> None:
        sp = Space.from_dict({"x": ["64", "true", "a, b", "", "plain", 64]})
        assert describe_space(sp) == ['- x (one of: "64", "true", "a, b", "", plain, 64)']

    def test_describe_compact_numbers(self) -> None:
        sp = Space.from_dict({"x": {"type": "float", "low": 0.000123456789, "high": 12345678.0}})
        assert describe_space(sp) == ["- x (float, 0.000123457 to 1.23457e+07)"]


# ---------------------------------------------------------------------- geometry


class TestGeometry:
    def test_to_unit(self, mixed: Space) -> None:
        unit = dict(
            zip(mixed.names, mixed.to_unit(good_config(lr=1e-3, flag=True, size=128)), strict=True)
        )
        assert unit["lr"] == pytest.approx(0.5)  # geometric middle of 1e-5..0.1
        assert unit["dropout"] == pytest.approx(0.4)
        assert unit["epochs"] == pytest.approx(40 / 190)
        assert unit["trees"] == pytest.approx(math.log(100) / math.log(1024))
        assert unit["opt"] == 0.0
        assert unit["flag"] == 0.0
        assert unit["size"] == 1.0
        assert unit["alpha"] == 0.5

    def test_single_choice(self) -> None:
        sp = Space.from_dict({"x": ["only"]})
        assert sp.to_unit({"x": "only"}) == [0.0]
        assert sp.distance({"x": "only"}, {"x": "only"}) == 0.0

    def test_out_of_range_is_clamped(self, mixed: Space) -> None:
        unit = mixed.to_unit(good_config(lr=10.0, epochs=-5))
        assert unit[0] == 1.0
        assert unit[3] == 0.0

    def test_distance(self, mixed: Space) -> None:
        a = good_config()
        assert mixed.distance(a, a) == 0.0
        assert mixed.distance(a, good_config(opt="sgd")) == 1.0
        assert mixed.distance(a, good_config(lr=1e-4)) == pytest.approx(0.25)
        assert mixed.distance(a, good_config(alpha=10)) == 0.0 + mixed.distance(
            a, good_config(alpha=10.0)
        )
        far = good_config(momentum=0.0)
        assert mixed.distance(a, far) == pytest.approx(0.9)
        assert mixed.distance(far, a) == mixed.distance(a, far)

    @pytest.mark.parametrize(
        "config",
        [{"lr": "x"}, {"opt": "nope"}, {"flag": 1}],
    )
    def test_invalid_values_raise(self, mixed: Space, config: dict[str, Any]) -> None:
        with pytest.raises(ValueError):
            mixed.to_unit(good_config(**config))
        with pytest.raises(ValueError):
            mixed.distance(good_config(), good_config(**config))

    def test_missing_value_raises(self, mixed: Space) -> None:
        config = good_config()
        del config["opt"]
        with pytest.raises(ValueError, match="missing"):
            mixed.to_unit(config)


# ---------------------------------------------------------------------- properties


_FIRST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
NAMES = st.builds(
    str.__add__,
    st.sampled_from(_FIRST),
    st.text(alphabet=_FIRST + "0123456789.-", max_size=6),
)  # what [A-Za-z_][A-Za-z0-9_.-]* matches; faster than st.from_regex
STEPS = [Decimal(s) for s in ("0.001", "0.01", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "10")]


@st.composite
def float_params(draw: st.DrawFn) -> FloatParam:
    mode = draw(st.sampled_from(["plain", "log", "step"]))
    if mode == "log":
        low = draw(st.floats(1e-8, 1e3))
        high = low * draw(st.floats(1.01, 1e6))
        return FloatParam(low=low, high=high, log=True)
    if mode == "step":
        step = draw(st.sampled_from(STEPS))
        start = Decimal(draw(st.integers(-(10**5), 10**5))) / 100
        end = start + draw(st.integers(1, 1000)) * step
        return FloatParam(low=float(start), high=float(end), step=float(step))
    low = draw(st.floats(-1e6, 1e6))
    high = low + draw(st.floats(1e-3, 1e6))
    return FloatParam(low=low, high=high)


@st.composite
def int_params(draw: st.DrawFn) -> IntParam:
    if draw(st.booleans()):
        low = draw(st.integers(1, 1000))
        return IntParam(low=low, high=low + draw(st.integers(1, 10**6)), log=True)
    low = draw(st.integers(-1000, 1000))
    step = draw(st.integers(1, 20))
    return IntParam(low=low, high=low + draw(st.integers(1, 100)) * step, step=step)


SCALARS = st.one_of(
    st.booleans(),
    st.integers(-100, 100),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.text(alphabet="aAbB 1.", max_size=4),
    st.text(alphabet="xyz_-é ", max_size=5),
)


@st.composite
def categorical_params(draw: st.DrawFn) -> CategoricalParam:
    choices: list[Any] = []
    for value in draw(st.lists(SCALARS, min_size=1, max_size=6)):
        if not any(value == c for c in choices):
            choices.append(value)
    return CategoricalParam(choices=choices)


spaces = st.dictionaries(
    NAMES, st.one_of(float_params(), int_params(), categorical_params()), min_size=1, max_size=5
).map(Space)

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.floats(allow_nan=False).map(str),
    st.integers(-1000, 1000).map(str),
    st.sampled_from(["true", "False", " Adam ", "nan", "-inf", "1e-5", "64.0"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


@st.composite
def value_for(draw: st.DrawFn, param: Any) -> Any:
    if isinstance(param, CategoricalParam):
        return draw(st.sampled_from(param.choices))
    if isinstance(param, IntParam):
        if param.log:
            return draw(st.integers(param.low, param.high))
        return param.low + draw(st.integers(0, (param.high - param.low) // param.step)) * param.step
    if param.step is not None:
        count = round((param.high - param.low) / param.step)
        k = draw(st.integers(0, count))
        return float(Decimal(str(param.low)) + k * Decimal(str(param.step)))
    return draw(st.floats(param.low, param.high))


@st.composite
def space_and_valid_config(draw: st.DrawFn) -> tuple[Space, dict[str, Any]]:
    sp = draw(spaces)
    return sp, {name: draw(value_for(param)) for name, param in sp.items()}


@st.composite
def space_and_junk_config(draw: st.DrawFn) -> tuple[Space, dict[str, Any]]:
    sp = draw(spaces)
    config: dict[str, Any] = {}
    for name, param in sp.items():
        how = draw(st.sampled_from(["valid", "junk", "junk", "missing", "renamed"]))
        if how == "valid":
            config[name] = draw(value_for(param))
        elif how == "junk":
            config[name] = draw(JUNK)
        elif how == "renamed":
            config[name.upper() if draw(st.booleans()) else name.replace("_", "-")] = draw(JUNK)
    for key in draw(st.lists(NAMES, max_size=3)):
        config.setdefault(key, draw(JUNK))
    return sp, config


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(space_and_junk_config())
def test_junk_configs(case: tuple[Space, dict[str, Any]]) -> None:
    """repair() makes anything valid; normalize() changes nothing but types."""
    sp, config = case
    repaired, changes = sp.repair(config)
    assert sp.validate(repaired) == []
    assert list(repaired) == sp.names
    assert sp.repair(repaired) == (repaired, [])  # idempotent
    assert all(change.reason for change in changes)
    jsonschema.Draft202012Validator(sp.json_schema()).validate(repaired)

    normalized, coercions = sp.normalize(config)
    assert list(normalized) == list(config)
    for change in coercions:
        # A lossless coercion keeps the value (equal after conversion); it never clips.
        before, after = change.before, change.after
        if isinstance(before, str):
            text = before.strip().casefold()
            assert text in (str(after).strip().casefold(), "true", "false") or float(text) == after
        else:
            assert before == after or str(before).casefold() == str(after).casefold()
    # Normalizing only fixes violations; a parameter that was valid stays valid.
    broken_before = {v.name for v in sp.validate(config)}
    assert {v.name for v in sp.validate(normalized)} <= broken_before


@PROPERTY
@given(space_and_valid_config(), st.data())
def test_valid_configs(case: tuple[Space, dict[str, Any]], data: st.DataObject) -> None:
    """A valid configuration passes every check and is never changed (and the space converts)."""
    sp, config = case
    assert Space.from_optuna(sp.to_optuna()) == sp
    assert Space.from_dict(sp.to_dict()) == sp
    defaults = {name: sp.default_value(name) for name in sp.names}
    assert sp.validate(defaults) == []
    assert schema_keys(sp.json_schema()) <= ALLOWED_SCHEMA_KEYS
    assert schema_keys(config_schema(sp)) <= ALLOWED_SCHEMA_KEYS
    assert len(describe_space(sp)) == len(sp)

    assert sp.validate(config) == []
    assert sp.repair(config) == (config, [])
    assert sp.normalize(config) == (config, [])
    jsonschema.Draft202012Validator(sp.json_schema()).validate(config)
    unit = sp.to_unit(config)
    assert all(0.0 <= u <= 1.0 for u in unit)
    assert sp.distance(config, config) == 0.0

    other = {name: data.draw(value_for(param)) for name, param in sp.items()}
    d = sp.distance(config, other)
    assert 0.0 <= d <= 1.0
    assert d == sp.distance(other, config)
    numeric = [i for i, (_, p) in enumerate(sp.items()) if not isinstance(p, CategoricalParam)]
    other_unit = sp.to_unit(other)
    for i in numeric:
        assert d >= abs(unit[i] - other_unit[i])


def test_violation_str() -> None:
    assert str(Violation("x", "range", "x: 5 is above the maximum 1")) == (
        "x: 5 is above the maximum 1"
    )


def test_docstring_examples() -> None:
    # agenthpo.space is a package: its examples live in the modules that define the names.
    modules = [space_module] + [
        importlib.import_module(f"{space_module.__name__}.{info.name}")
        for info in pkgutil.iter_modules(space_module.__path__)
    ]
    attempted = 0
    for module in modules:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted > 10
