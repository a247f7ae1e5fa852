"""The LLM's initial design (``LLMPolicy.initial_design``): one call for the first few
configurations, the task's default among them, checked like every proposal, taking no turn
of the schedule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.samplers import TPESampler

from agenthpo import AgentSampler, _keys
from agenthpo.agent.schedule import slot
from agenthpo.llm import Message, ScriptedLLM
from agenthpo.policy import CAPABLE, LLMPolicy, preset
from agenthpo.space import Space
from agenthpo.task import Task, task_from_dict
from agenthpo.tuner import Tuner
from tests.conftest import answer

optuna.logging.set_verbosity(optuna.logging.WARNING)

DEFAULT = {"x": 0.0, "kind": "a"}


def _design(*configs: dict[str, Any]) -> str:
    return json.dumps(
        {"candidates": [{"config": c, "rationale": f"idea {i + 1}"} for i, c in enumerate(configs)]}
    )


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return (x - 2) ** 2 + (0.0 if kind == "a" else 10.0)


def _study(
    llm: ScriptedLLM, space: Space, policy: LLMPolicy, *, default: bool = False
) -> optuna.Study:
    study = optuna.create_study()
    if default:  # as the tuner enqueues a task's default configuration
        study.enqueue_trial(
            DEFAULT,
            user_attrs={
                _keys.PROPOSED_BY: "default_config",
                _keys.RATIONALE: "the task's default configuration, run first as a baseline",
            },
        )
    study.sampler = AgentSampler(
        backbone=TPESampler(seed=0), llm=llm, space=space, policy=policy, seed=0
    )
    return study


def _by(study: optuna.Study) -> list[str]:
    return [t.user_attrs[_keys.PROPOSED_BY] for t in study.trials]


def _design_index(study: optuna.Study) -> list[int | None]:
    return [(t.user_attrs.get(_keys.INITIAL_DESIGN) or {}).get("index") for t in study.trials]


def test_one_call_asks_for_the_whole_design(small_space: Space) -> None:
    configs = [{"x": -4.0, "kind": "a"}, {"x": 1.0, "kind": "b"}, {"x": 3.5, "kind": "a"}]
    llm = ScriptedLLM([_design(*configs)])
    study = _study(llm, small_space, LLMPolicy(initial_design=3, share=0.0))
    study.optimize(_objective, n_trials=5)
    assert len(llm.calls) == 1
    request = llm.calls[0].messages[-1].content
    assert "initial design of 3 configurations" in request
    assert llm.calls[0].schema is not None
    assert "candidates" in llm.calls[0].schema["properties"]
    assert [t.params for t in study.trials[:3]] == configs
    assert _by(study) == ["llm", "llm", "llm", "backbone", "backbone"]
    assert _design_index(study) == [1, 2, 3, None, None]
    assert study.trials[1].user_attrs[_keys.RATIONALE] == "initial design 2/3: idea 2"
    # the call's tokens are booked once, on the trial that asked
    assert study.trials[0].user_attrs[_keys.LLM_CALLS] == 1
    assert _keys.LLM_CALLS not in study.trials[1].user_attrs
    assert study.user_attrs[_keys.STUDY_INITIAL_DESIGN] == {
        "trial": 0,
        "asked": 3,
        "default": None,
        "got": 3,
    }


def test_the_default_configuration_is_one_of_the_design(small_space: Space) -> None:
    configs = [{"x": -4.0, "kind": "a"}, {"x": 3.5, "kind": "b"}]
    llm = ScriptedLLM([_design(*configs)])
    study = _study(llm, small_space, LLMPolicy(initial_design=3, share=0.0), default=True)
    study.optimize(_objective, n_trials=4)
    assert len(llm.calls) == 1
    request = llm.calls[0].messages[-1].content
    # the LLM is asked for the others, and told the default so as not to repeat it
    assert "initial design of 2 configurations" in request
    assert 'default configuration runs as one of the design, so do not repeat it: {"x": 0.0' in (
        request
    )
    assert [t.params for t in study.trials[:3]] == [DEFAULT, *configs]
    default = study.trials[0]
    assert default.user_attrs[_keys.PROPOSED_BY] == "default_config"
    assert default.user_attrs[_keys.INITIAL_DESIGN] == {"index": 1, "of": 3, "default": True}
    assert default.user_attrs[_keys.RATIONALE].endswith("; the first of the initial design of 3")
    assert _design_index(study) == [1, 2, 3, None]
    assert study.trials[3].user_attrs[_keys.PROPOSED_BY] == "backbone"


def test_a_default_without_a_design_is_not_labelled(small_space: Space) -> None:
    llm = ScriptedLLM([answer({"x": 1.0, "kind": "b"})])
    study = _study(llm, small_space, LLMPolicy(startup=1, share=0.0), default=True)
    study.optimize(_objective, n_trials=2)
    assert _keys.INITIAL_DESIGN not in study.trials[0].user_attrs
    assert _by(study) == ["default_config", "llm"]


def test_near_copies_inside_the_design_are_refused(small_space: Space) -> None:
    # x 1.0 -> 1.02 is 0.2% of the range: a near copy of the design's first configuration;
    # x 0.01 with kind a is a near copy of the default. The backbone fills their places.
    llm = ScriptedLLM(
        [
            _design(
                {"x": 1.0, "kind": "b"},
                {"x": 1.02, "kind": "b"},
                {"x": 0.01, "kind": "a"},
                {"x": -3.0, "kind": "b"},
            )
        ]
    )
    study = _study(llm, small_space, LLMPolicy(initial_design=5, share=0.0), default=True)
    study.optimize(_objective, n_trials=5)
    assert len(llm.calls) == 1
    assert [t.params for t in study.trials[:3]] == [
        DEFAULT,
        {"x": 1.0, "kind": "b"},
        {"x": -3.0, "kind": "b"},
    ]
    assert _by(study) == ["default_config", "llm", "llm", "backbone", "backbone"]
    assert _design_index(study) == [1, 2, 3, None, None]
    assert study.user_attrs[_keys.STUDY_INITIAL_DESIGN]["got"] == 2


def test_invalid_entries_are_repaired_or_dropped_and_the_valid_ones_kept(
    small_space: Space,
) -> None:
    llm = ScriptedLLM(
        [
            _design(
                {"x": 7.0, "kind": "a"},  # clipped to 5.0: repaired
                {"x": 1.0, "kind": "zzz"},  # no choice like it: it would be invented, dropped
                {"x": -1.0},  # kind missing: dropped
                {"x": -3.0, "kind": "B"},  # normalized to "b"
            )
        ]
    )
    study = _study(llm, small_space, LLMPolicy(initial_design=4, share=0.0))
    study.optimize(_objective, n_trials=3)
    assert [t.params for t in study.trials[:2]] == [
        {"x": 5.0, "kind": "a"},
        {"x": -3.0, "kind": "b"},
    ]
    assert (
        "x: 7.0 -> 5.0 (clipped to the maximum)" in study.trials[0].user_attrs[_keys.LLM_REPAIRED]
    )
    assert _keys.LLM_REPAIRED not in study.trials[1].user_attrs
    assert _by(study) == ["llm", "llm", "backbone"]


def test_the_design_takes_no_turn_of_the_schedule(small_space: Space) -> None:
    # Two warm-up trials, the design, then the LLM's two start-up turns, then the backbone.
    singles = [answer({"x": 4.5, "kind": "a"}), answer({"x": -2.5, "kind": "a"})]
    llm = ScriptedLLM([_design({"x": -4.0, "kind": "b"}, {"x": 4.0, "kind": "b"}), *singles])
    study = _study(llm, small_space, LLMPolicy(warmup=2, initial_design=2, startup=2, share=0.0))
    study.optimize(_objective, n_trials=8)
    assert _by(study) == [
        "backbone",
        "backbone",
        "llm",
        "llm",
        "llm",
        "llm",
        "backbone",
        "backbone",
    ]
    assert _design_index(study) == [None, None, 1, 2, None, None, None, None]
    assert [t.params for t in study.trials[4:6]] == [
        {"x": 4.5, "kind": "a"},
        {"x": -2.5, "kind": "a"},
    ]
    assert len(llm.calls) == 3
    trials = study.get_trials(deepcopy=False)
    assert [slot(trials, n) for n in range(8)] == [0, 1, 2, 2, 2, 3, 4, 5]


def test_the_design_comes_once(small_space: Space) -> None:
    # A second sampler on the same study (a worker, a resumed run) asks no design again.
    llm = ScriptedLLM([_design({"x": -4.0, "kind": "b"}), answer({"x": 2.5, "kind": "a"})])
    study = _study(llm, small_space, LLMPolicy(initial_design=1))
    study.optimize(_objective, n_trials=1)
    again = ScriptedLLM([answer({"x": 1.5, "kind": "a"})])
    study.sampler = AgentSampler(
        backbone=TPESampler(), llm=again, space=small_space, policy=LLMPolicy(initial_design=1)
    )
    study.optimize(_objective, n_trials=1)
    assert _design_index(study) == [1, None]
    assert "initial design" not in again.calls[0].messages[-1].content
    assert study.trials[1].params == {"x": 1.5, "kind": "a"}


def test_a_design_the_llm_cannot_give_leaves_the_trial_to_the_backbone(
    small_space: Space,
) -> None:
    llm = ScriptedLLM(["I would rather not say", answer({"x": -2.5, "kind": "a"})])
    study = _study(llm, small_space, LLMPolicy(initial_design=3, startup=1, share=0.0))
    study.optimize(_objective, n_trials=3)
    assert len(llm.calls) == 2  # the design once, never again; then the start-up turn
    first = study.trials[0]
    assert first.user_attrs[_keys.PROPOSED_BY] == "backbone"
    assert first.user_attrs[_keys.FALLBACK_REASON].startswith("not_json")
    assert first.user_attrs[_keys.RATIONALE].endswith("(LLM fallback: initial design)")
    assert first.user_attrs[_keys.INITIAL_DESIGN] == {"failed": "not_json"}
    assert study.user_attrs[_keys.STUDY_INITIAL_DESIGN]["failed"].startswith("not_json")
    # the failed design took no turn either: the next trial is the LLM's start-up turn
    assert _by(study) == ["backbone", "llm", "backbone"]
    assert study.trials[1].params == {"x": -2.5, "kind": "a"}


def test_the_design_is_not_prefetched(small_space: Space) -> None:
    llm = ScriptedLLM([_design({"x": -4.0, "kind": "b"})])
    study = _study(llm, small_space, LLMPolicy(initial_design=1))
    assert isinstance(study.sampler, AgentSampler)
    assert study.sampler.prefetch(study, 0) is False
    assert llm.calls == []


def test_the_options_are_checked() -> None:
    with pytest.raises(ValueError, match="initial_design must be a whole number >= 0"):
        LLMPolicy(initial_design=-1)
    with pytest.raises(ValueError, match="candidates must be a whole number >= 1"):
        LLMPolicy(candidates=0)
    with pytest.raises(ValueError, match="cannot both exceed 1"):
        LLMPolicy(candidates=2, batch_size=2)


def test_the_preset_asks_for_a_design_and_says_so(small_space: Space) -> None:
    policy = preset("hybrid-design").for_model(CAPABLE)
    assert (policy.initial_design, policy.startup, policy.candidates) == (5, 0, 1)
    sampler = AgentSampler(
        backbone=TPESampler(), llm=ScriptedLLM(["{}"]), space=small_space, policy="hybrid-design"
    )
    assert "the LLM proposes an initial design of 5 configurations first" in sampler.schedule()
    assert "initial_design=5" in sampler.describe_policy()


def test_the_design_messages_are_the_creators(small_space: Space) -> None:
    # The task's background and the space come first, as in every proposal request.
    llm = ScriptedLLM([_design({"x": -4.0, "kind": "b"})])
    study = _study(llm, small_space, LLMPolicy(initial_design=1))
    study.optimize(_objective, n_trials=1)
    messages: list[Message] = llm.calls[0].messages
    assert messages[0].role == "system"
    assert "Search space:" in messages[1].content
    assert "No trials have run yet." in messages[1].content


def test_what_the_llm_added_counts_the_design_apart(small_space: Space) -> None:
    from agenthpo.reporting import collect_data

    configs = [{"x": -4.0, "kind": "a"}, {"x": 2.2, "kind": "a"}]
    llm = ScriptedLLM([_design(*configs), answer({"x": 3.9, "kind": "b"})])
    study = _study(
        llm, small_space, LLMPolicy(initial_design=3, startup=1, share=0.0), default=True
    )
    study.optimize(_objective, n_trials=6)
    sources = {s.source: s.n for s in collect_data(study).contribution.sources}
    assert sources == {"LLM design": 2, "LLM": 1, "backbone": 2, "given": 1}


def test_a_tuner_run_labels_the_default_and_runs_the_design(
    tmp_path: Path, quadratic_task: Task
) -> None:
    # Through the tuner: the default it enqueues is the design's first, the LLM's two
    # configurations follow, then the backbone (share 0); one LLM call in all.
    data = quadratic_task.model_dump()
    data["space"] = quadratic_task.space.to_dict()
    data["default_config"] = {"x": 0.5, "kind": "a"}
    data["strategy"] = "hybrid-tpe"
    data["policy"] = {"preset": "hybrid", "initial_design": 3, "startup": 0, "share": 0.0}
    task = task_from_dict(data, base_dir=tmp_path)
    llm = ScriptedLLM([_design({"x": -4.0, "kind": "b"}, {"x": 3.0, "kind": "a"})])
    storage = f"sqlite:///{tmp_path / 'd.db'}"
    Tuner(task, llm=llm, storage=storage, n_trials=4).run()
    study = optuna.load_study(study_name=task.name, storage=storage)
    assert len(llm.calls) == 1
    assert '{"x": 0.5, "kind": "a"}' in llm.calls[0].messages[-1].content
    assert [t.params for t in study.trials[:3]] == [
        {"x": 0.5, "kind": "a"},
        {"x": -4.0, "kind": "b"},
        {"x": 3.0, "kind": "a"},
    ]
    assert _by(study) == ["default_config", "llm", "llm", "backbone"]
    assert _design_index(study) == [1, 2, 3, None]
    assert "initial design of 3" in study.trials[0].user_attrs[_keys.RATIONALE]
