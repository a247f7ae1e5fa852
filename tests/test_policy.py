"""The LLM policy: one frozen value, presets per model profile, one registry for every way in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.samplers import TPESampler
from pydantic import ValidationError

from agenthpo import _keys
from agenthpo.agent.prompts import TaskContext
from agenthpo.errors import AgentHPOError
from agenthpo.llm import RandomLLM, ScriptedLLM
from agenthpo.policy import (
    CAPABLE,
    EMBEDDED,
    PRESETS,
    STRATEGY_PRESETS,
    LLMPolicy,
    ModelProfile,
    get_preset,
    preset,
)
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space
from agenthpo.strategies import make_sampler
from agenthpo.task import Task

CTX = TaskContext(name="quad", metric="loss", direction="minimize")


class _Embedded(RandomLLM):
    embedded = True


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("share", -0.1),
        ("share", 1.1),
        ("warmup", -1),
        ("startup", 1.5),
        ("batch_size", 0),
        ("trust_floor", 2.0),
        ("max_tokens", -5),
        ("max_cost", -1.0),
        ("temperature", 3.0),
        ("price_per_mtok", (1.0,)),
    ],
)
def test_an_impossible_value_is_refused_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"LLMPolicy.{field}"):
        LLMPolicy(**{field: value})


def test_a_policy_is_frozen_and_round_trips_through_json() -> None:
    policy = LLMPolicy(warmup=3, share=0.5, price_per_mtok=(1, 2), max_cost=0.5)
    with pytest.raises(AttributeError):
        policy.share = 0.2  # type: ignore[misc]
    assert LLMPolicy.from_dict(json.loads(policy.to_json())) == policy


def test_an_unknown_field_is_a_type_error_that_lists_the_fields() -> None:
    with pytest.raises(TypeError, match="share"):
        preset("hybrid-tpe", llm_sharez=0.3)


def test_an_unknown_preset_names_the_presets() -> None:
    with pytest.raises(AgentHPOError, match="hybrid-screen"):
        get_preset("hybrid-bogus")


def test_every_strategy_preset_is_in_the_registry() -> None:
    assert set(STRATEGY_PRESETS.values()) <= set(PRESETS)


def test_only_the_default_preset_schedules_by_model() -> None:
    # The embedded model never gets repair rounds; beyond that only hybrid-tpe differs.
    for name, entry in PRESETS.items():
        assert entry.embedded.repair_rounds == 0
        same = entry.capable.replace(repair_rounds=0) == entry.embedded
        assert same == (name != "hybrid-tpe"), name


def test_overrides_hold_for_every_model() -> None:
    given = preset("hybrid-tpe", startup=1, screen=False)
    assert given.for_model(EMBEDDED).startup == 1
    assert given.for_model(CAPABLE).startup == 1
    assert not given.for_model(EMBEDDED).screen
    assert given.for_model(EMBEDDED).warmup == 10  # not overridden: the model's own
    assert given.overridden == {"startup", "screen"}


def test_the_profile_comes_from_the_client() -> None:
    assert ModelProfile.of(_Embedded(seed=0)) == EMBEDDED
    assert ModelProfile.of(RandomLLM(seed=0)) == CAPABLE


def test_the_study_stores_and_the_log_shows_the_policy_in_force(
    small_space: Space, caplog: pytest.LogCaptureFixture
) -> None:
    sampler = make_sampler(
        "hybrid-tpe",
        llm=_Embedded(seed=0, space=small_space),
        space=small_space,
        context=CTX,
        seed=0,
        policy=preset("hybrid-tpe", share=0.5),
    )
    assert isinstance(sampler, AgentSampler)
    study = optuna.create_study(sampler=sampler)
    with caplog.at_level("INFO", logger="agenthpo"):
        study.optimize(lambda t: t.suggest_float("x", -5, 5) ** 2, n_trials=2)
    stored = study.user_attrs[_keys.STUDY_POLICY]
    assert stored["preset"] == "hybrid-tpe"
    assert stored["overridden"] == ["share"]
    assert stored["model"] == "embedded"
    assert LLMPolicy.from_dict(stored["policy"]) == sampler.policy(study)
    assert sampler.policy(study).share == 0.5
    assert sampler.policy(study).warmup == 10
    assert any("policy hybrid-tpe" in r.getMessage() for r in caplog.records)
    line = sampler.describe_policy(study)
    assert line.startswith("hybrid-tpe for the embedded model: warmup=10, share=0.5")


def test_a_full_policy_is_used_as_given_for_any_model(small_space: Space) -> None:
    policy = LLMPolicy(warmup=2, startup=1, share=0.0)
    for llm in (RandomLLM(seed=0), _Embedded(seed=0)):
        sampler = AgentSampler(backbone=TPESampler(), llm=llm, space=small_space, policy=policy)
        assert sampler.policy() == policy


def test_a_screen_without_a_judge_is_refused_unless_it_is_a_presets_own() -> None:
    cmaes = optuna.samplers.CmaEsSampler(seed=0)
    with pytest.raises(ValueError, match="screen"):
        AgentSampler(llm=RandomLLM(), backbone=cmaes, policy=LLMPolicy(screen=True))
    # hybrid-tpe screens the embedded model's proposals where it can; on CMA-ES it cannot
    quiet = AgentSampler(llm=_Embedded(seed=0), backbone=cmaes, policy="hybrid-tpe")
    assert not quiet.policy().screen


def test_old_keyword_arguments_warn_and_map_onto_the_policy(small_space: Space) -> None:
    with pytest.warns(FutureWarning, match="llm_share -> share"):
        sampler = AgentSampler(
            policy="agent", backbone=TPESampler(), llm=RandomLLM(), space=small_space, llm_share=0.5
        )
    assert sampler.policy().share == 0.5
    with pytest.warns(FutureWarning, match="screen_llm -> screen"):
        made = make_sampler("hybrid-tpe", llm=RandomLLM(), backbone="tpe", screen_llm=True)
    assert isinstance(made, AgentSampler)
    assert made.policy().screen


def test_an_unknown_keyword_argument_names_the_policy() -> None:
    with pytest.raises(TypeError, match="policy=preset"):
        AgentSampler(policy="agent", backbone=TPESampler(), llm=RandomLLM(), llm_shares=0.5)


def test_create_study_takes_a_preset_name(small_space: Space) -> None:
    import agenthpo

    study = agenthpo.create_study(
        space=small_space, llm="random:0", strategy="hybrid-tpe", policy="hybrid-late"
    )
    sampler = study.sampler
    assert isinstance(sampler, AgentSampler)
    assert sampler.preset.name == "hybrid-late"
    assert sampler.policy().warmup == 10


def _task(quadratic_task: Task, **extra: Any) -> Task:
    return Task.model_validate({**quadratic_task.model_dump(), **extra})


def test_the_task_file_names_a_preset_with_overrides(quadratic_task: Task) -> None:
    task = _task(quadratic_task, strategy="hybrid-tpe", policy={"preset": "hybrid", "share": 0.4})
    chosen = task.llm_policy()
    assert chosen is not None
    assert chosen.name == "hybrid"
    assert chosen.for_model(CAPABLE) == PRESETS["hybrid"].capable.replace(share=0.4)


def test_the_task_files_older_keys_are_overrides(quadratic_task: Task) -> None:
    task = _task(
        quadratic_task,
        strategy="hybrid-tpe",
        llm_share=0.5,
        llm_screen=False,
        adaptive_share=False,
        max_llm_tokens=900,
    )
    assert task.policy_overrides() == {
        "share": 0.5,
        "screen": False,
        "adaptive": False,
        "max_tokens": 900,
    }
    assert task.llm_policy("tpe") is None  # a classical strategy has no policy


def test_a_field_given_twice_in_the_task_file_is_refused(quadratic_task: Task) -> None:
    with pytest.raises(ValidationError, match="give it once"):
        _task(quadratic_task, llm_share=0.5, policy={"share": 0.4})


def test_an_unknown_preset_in_the_task_file_is_refused(quadratic_task: Task) -> None:
    with pytest.raises(ValidationError, match="unknown preset"):
        _task(quadratic_task, policy={"preset": "fast"})


def test_the_tuner_builds_the_task_files_policy(quadratic_task: Task, tmp_path: Path) -> None:
    from agenthpo.tuner import Tuner

    task = _task(
        quadratic_task, strategy="hybrid-tpe", policy={"preset": "hybrid-screen", "warmup": 4}
    )
    tuner = Tuner(task, llm=ScriptedLLM(["{}"]), storage=f"sqlite:///{tmp_path / 's.db'}")
    sampler = tuner.sampler()
    assert isinstance(sampler, AgentSampler)
    assert sampler.preset.name == "hybrid-screen"
    assert (sampler.policy().warmup, sampler.policy().screen) == (4, True)


def test_the_benchmarks_take_their_presets_from_the_registry() -> None:
    from benchmarks.optimizers import LLM_PRESETS, LLM_STRATEGIES

    assert set(LLM_STRATEGIES) == set(LLM_PRESETS)
    for strategy, backbone, name in LLM_PRESETS.values():
        assert name in PRESETS
        assert strategy in STRATEGY_PRESETS
        assert backbone in ("backbone", "tpe", "cmaes")


def test_a_command_line_budget_changes_the_policy_sections_own(quadratic_task: Task) -> None:
    from agenthpo.task import task_with

    task = _task(quadratic_task, policy={"preset": "hybrid", "max_tokens": 100})
    changed = task_with(task, max_llm_tokens=500, require_llm=True)
    assert changed.policy_overrides() == {"max_tokens": 500, "require_llm": True}
