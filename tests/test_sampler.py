"""AgentSampler inside plain Optuna studies: proposals, fallbacks, stored attributes."""

from __future__ import annotations

import json
import pickle
import re
import warnings
from pathlib import Path

import optuna
import pytest
from optuna.samplers import TPESampler

import agenthpo
from agenthpo import _keys
from agenthpo.agent.prompts import TaskContext
from agenthpo.errors import LLMError
from agenthpo.llm import Message, RandomLLM, ScriptedLLM
from agenthpo.policy import LLMPolicy
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space
from tests.conftest import answer

CTX = TaskContext(name="quad", metric="loss", direction="minimize")


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return (x - 2) ** 2 + (0.0 if kind == "a" else 1.0)


def test_llm_proposals_become_trial_params_with_attrs(small_space: Space) -> None:
    llm = ScriptedLLM(
        [
            answer({"x": 0.0, "kind": "a"}, "start at the centre of the range"),
            answer({"x": 2.0, "kind": "a"}, "move right since loss fell"),
        ]
    )
    sampler = AgentSampler(
        policy="agent", backbone=TPESampler(seed=0), llm=llm, space=small_space, context=CTX, seed=0
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=2)
    t0, t1 = study.trials
    assert t0.params == {"x": 0.0, "kind": "a"}
    assert t1.params == {"x": 2.0, "kind": "a"}
    assert t1.value == 0.0
    attrs = t1.user_attrs
    assert attrs[_keys.PROPOSED_BY] == "llm"
    assert attrs[_keys.RATIONALE] == "move right since loss fell"
    assert attrs[_keys.LLM_MODEL] == "scripted:scripted"
    assert attrs[_keys.LLM_PROMPT_TOKENS] > 0
    assert attrs[_keys.LLM_CALLS] == 1
    assert _keys.FALLBACK_REASON not in attrs
    # The second request showed the first trial's result to the LLM.
    assert "#0 loss=4" in llm.calls[1].messages[-1].content


def test_invalid_answers_fall_back_to_the_backbone(small_space: Space) -> None:
    llm = ScriptedLLM([answer({"x": 50.0, "kind": "a"})])  # always out of range
    sampler = AgentSampler(
        policy="agent", backbone=TPESampler(seed=0), llm=llm, space=small_space, context=CTX, seed=0
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=3)
    for t in study.trials:
        assert t.state == optuna.trial.TrialState.COMPLETE
        assert -5.0 <= t.params["x"] <= 5.0
        assert t.user_attrs[_keys.PROPOSED_BY] == "backbone"
        assert t.user_attrs[_keys.FALLBACK_REASON].startswith("invalid: x: 50.0 is above")
        assert t.user_attrs[_keys.LLM_CALLS] == 2  # first answer and one repair round


def test_dead_endpoint_falls_back_and_records_why(small_space: Space) -> None:
    llm = ScriptedLLM([LLMError("cannot reach http://127.0.0.1:9/v1")])
    sampler = AgentSampler(
        policy="agent", backbone=TPESampler(seed=1), llm=llm, space=small_space, context=CTX, seed=1
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=2)
    assert [t.user_attrs[_keys.PROPOSED_BY] for t in study.trials] == ["backbone"] * 2
    assert "cannot reach" in study.trials[0].user_attrs[_keys.FALLBACK_REASON]


def test_repeated_proposal_falls_back(small_space: Space) -> None:
    llm = ScriptedLLM([answer({"x": 1.0, "kind": "b"})])  # the same answer every time
    sampler = AgentSampler(
        policy="agent", backbone=TPESampler(seed=0), llm=llm, space=small_space, context=CTX, seed=0
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=2)
    assert study.trials[0].user_attrs[_keys.PROPOSED_BY] == "llm"
    assert study.trials[1].user_attrs[_keys.PROPOSED_BY] == "backbone"
    assert study.trials[1].user_attrs[_keys.FALLBACK_REASON].startswith("duplicate")
    assert study.trials[1].params != study.trials[0].params


def test_enqueued_trials_skip_the_llm(small_space: Space) -> None:
    llm = ScriptedLLM([answer({"x": 1.0, "kind": "b"})])
    study = optuna.create_study(
        sampler=AgentSampler(
            policy="agent", backbone=TPESampler(), llm=llm, space=small_space, context=CTX
        )
    )
    study.enqueue_trial({"x": 3.0, "kind": "a"})
    study.optimize(objective, n_trials=1)
    assert study.trials[0].params == {"x": 3.0, "kind": "a"}
    assert llm.calls == []


def test_without_a_space_it_learns_the_space_from_finished_trials() -> None:
    llm = RandomLLM(seed=3)
    study = optuna.create_study(
        sampler=AgentSampler(policy="agent", backbone=TPESampler(seed=3), llm=llm, seed=3)
    )
    study.optimize(objective, n_trials=4)
    by = [t.user_attrs.get(_keys.PROPOSED_BY) for t in study.trials]
    # nothing known yet: the backbone's independent sampling, labelled as such (it was
    # the one trial of a study without a proposer or a rationale)
    assert by[0] == "backbone"
    assert (
        "no finished trial has shown the search space yet"
        in (study.trials[0].user_attrs[_keys.RATIONALE])
    )
    assert by[1:] == ["llm"] * 3
    # One call per trial, and one more for each random answer that nearly repeated a trial.
    repairs = sum(_keys.LLM_NEAR_COPY in t.user_attrs for t in study.trials)
    assert llm.calls == 3 + repairs


def test_hidden_metrics_never_reach_the_prompt(small_space: Space) -> None:
    seen: list[str] = []

    def respond(messages: list[Message], schema: object) -> str:
        seen.append(messages[-1].content)
        return answer({"x": float(len(seen)), "kind": "a"})

    sampler = AgentSampler(
        policy="agent",
        backbone=TPESampler(),
        llm=ScriptedLLM([respond]),
        space=small_space,
        context=CTX,
        hidden_metrics=["test_loss"],
    )
    study = optuna.create_study(sampler=sampler)

    def obj(trial: optuna.Trial) -> float:
        value = objective(trial)
        trial.set_user_attr(_keys.METRICS, {"loss": value, "test_loss": 0.123, "aux": 7.5})
        return value

    study.optimize(obj, n_trials=3)
    assert "aux=7.5" in seen[-1]
    assert all("test_loss" not in text and "0.123" not in text for text in seen)


def test_sampler_pickles_and_keeps_working(small_space: Space) -> None:
    sampler = AgentSampler(
        policy="agent",
        backbone=TPESampler(seed=0),
        llm=RandomLLM(seed=0),
        space=small_space,
        context=CTX,
        seed=0,
    )
    clone = pickle.loads(pickle.dumps(sampler))
    study = optuna.create_study(sampler=clone)
    study.optimize(objective, n_trials=2)
    assert len(study.trials) == 2


def test_relative_values_are_always_inside_the_distribution(small_space: Space) -> None:
    # Whatever the LLM says, what Optuna stores is inside the space.
    answers = [
        "garbage",
        json.dumps({"config": {"x": 1e9, "kind": "zzz"}}),
        answer({"x": -5.0, "kind": "a"}),
    ]
    sampler = AgentSampler(
        policy="agent",
        backbone=TPESampler(),
        llm=ScriptedLLM(answers, cycle=True),
        space=small_space,
        context=CTX,
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=6)
    for t in study.trials:
        assert -5.0 <= t.params["x"] <= 5.0
        assert t.params["kind"] in ("a", "b")


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_anonymous_context_reads_direction_from_study(direction: str) -> None:
    seen: list[str] = []

    def respond(messages: list[Message], schema: object) -> str:
        seen.append(messages[-1].content)
        return answer({"x": float(len(seen)) / 10, "kind": "a"})

    space = Space.from_dict({"x": {"type": "float", "low": -5, "high": 5}, "kind": ["a", "b"]})
    study = optuna.create_study(
        direction=direction,
        sampler=AgentSampler(
            policy="agent", backbone=TPESampler(), llm=ScriptedLLM([respond]), space=space
        ),
    )
    study.optimize(objective, n_trials=1)
    way = "higher" if direction == "maximize" else "lower"
    assert f"Goal: {direction} value ({way} is better)." in seen[0]


def test_a_context_without_a_direction_takes_the_studys() -> None:
    # TaskContext's direction defaults to minimize; a maximizing study with a context that
    # only names the metric must not tell the LLM to minimize it (Optuna ranks by the study).
    seen: list[str] = []

    def respond(messages: list[Message], schema: object) -> str:
        seen.append(messages[-1].content)
        return answer({"x": float(len(seen)) / 10, "kind": "a"})

    space = Space.from_dict({"x": {"type": "float", "low": -5, "high": 5}, "kind": ["a", "b"]})
    context = TaskContext(description="digits MLP", metric="val_accuracy")
    sampler = AgentSampler(
        policy="agent",
        backbone=TPESampler(),
        llm=ScriptedLLM([respond]),
        space=space,
        context=context,
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=3)
    prompts = [text for text in seen if "Goal:" in text]
    assert prompts
    assert all("Goal: maximize val_accuracy (higher is better)." in p for p in prompts)
    assert not any("minimize" in p for p in prompts)


def test_batch_candidates_are_enqueued_for_any_worker(small_space: Space) -> None:
    batch = json.dumps(
        {
            "candidates": [
                {"config": {"x": 0.0, "kind": "a"}, "rationale": "centre"},
                {"config": {"x": 2.0, "kind": "a"}, "rationale": "right"},
                {"config": {"x": -2.0, "kind": "b"}, "rationale": "left"},
            ]
        }
    )
    llm = ScriptedLLM([batch])
    sampler = AgentSampler(
        backbone=TPESampler(),
        llm=llm,
        space=small_space,
        context=CTX,
        policy=LLMPolicy(batch_size=3),
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=3)
    assert len(llm.calls) == 1
    assert [t.params for t in study.trials] == [
        {"x": 0.0, "kind": "a"},
        {"x": 2.0, "kind": "a"},
        {"x": -2.0, "kind": "b"},
    ]
    assert [t.user_attrs[_keys.RATIONALE] for t in study.trials] == ["centre", "right", "left"]
    assert study.trials[1].user_attrs[_keys.LLM_BATCH] is True


def test_a_near_copy_is_recorded_on_the_trial(small_space: Space) -> None:
    """Issue 22, item 6: 10 of 25 proposals of a 1.5B model were near copies of an earlier
    trial, which a tolerance of 1e-3 let through; now they are repaired, or the backbone
    proposes, and the trial says which trial was nearly repeated."""
    llm = ScriptedLLM(
        [
            answer({"x": 0.0, "kind": "a"}, "start at the centre of the range"),
            answer({"x": 0.2, "kind": "a"}, "nudge x"),  # 2% of x's range from trial 0
            answer({"x": 2.0, "kind": "a"}, "move right"),
            answer({"x": 2.1, "kind": "a"}, "nudge x"),
            answer({"x": 1.9, "kind": "a"}, "nudge x the other way"),
        ]
    )
    sampler = AgentSampler(
        policy="agent", backbone=TPESampler(seed=0), llm=llm, space=small_space, context=CTX, seed=0
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=3)
    t0, t1, t2 = study.trials
    assert _keys.LLM_NEAR_COPY not in t0.user_attrs
    assert t1.params == {"x": 2.0, "kind": "a"}
    assert t1.user_attrs[_keys.PROPOSED_BY] == "llm"
    assert t1.user_attrs[_keys.LLM_NEAR_COPY] == {"of": 0, "distance": 0.02, "repaired": True}
    assert t2.user_attrs[_keys.PROPOSED_BY] == "backbone"
    assert t2.user_attrs[_keys.FALLBACK_REASON].startswith("duplicate: this configuration is")
    assert t2.user_attrs[_keys.LLM_NEAR_COPY] == {"of": 1, "distance": 0.01, "repaired": False}


def test_the_near_copy_tolerance_is_a_policy_field(small_space: Space) -> None:
    llm = ScriptedLLM([answer({"x": 0.0, "kind": "a"}), answer({"x": 0.2, "kind": "a"})])
    policy = LLMPolicy(duplicate_tolerance=0.01)
    study = optuna.create_study(
        sampler=AgentSampler(
            backbone=TPESampler(seed=0),
            llm=llm,
            space=small_space,
            context=CTX,
            policy=policy,
            seed=0,
        )
    )
    study.optimize(objective, n_trials=2)
    assert study.trials[1].params == {"x": 0.2, "kind": "a"}  # 2% apart: allowed at 1%
    assert _keys.LLM_NEAR_COPY not in study.trials[1].user_attrs
    assert LLMPolicy().duplicate_tolerance == 0.05


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"space": {"x": {"type": "float", "low": 0, "high": 1}}}, "space: give a Space"),
        ({"context": {"metric": "acc"}}, "context: give a TaskContext"),
        ({"backbone": "tpe"}, "backbone: give an Optuna sampler, not str"),
        ({"policy": 3}, "policy: give a preset's name"),
        ({"llm": "openai:gpt-4o-mini"}, "llm: give an LLM client, not str"),
        ({"hidden_metrics": [1]}, "hidden_metrics: give metric names"),
    ],
)
def test_arguments_of_the_wrong_kind_are_refused_when_the_sampler_is_made(
    kwargs: dict[str, object], says: str
) -> None:
    with pytest.raises(TypeError, match=re.escape(says)):
        AgentSampler(**kwargs)  # type: ignore[arg-type]


def test_one_hidden_metric_given_as_text_is_hidden() -> None:
    # A bare string was iterated letter by letter, so the metric reached the prompt.
    seen: list[str] = []

    def respond(messages: list[Message], schema: object) -> str:
        seen.append(messages[-1].content)
        return answer({"x": float(len(seen)) - 4.0, "kind": "a"})

    def scored(trial: optuna.Trial) -> float:
        trial.set_user_attr(_keys.METRICS, {"test_acc": 0.987654, "loss": 1.0})
        return objective(trial)

    space = Space.from_dict({"x": {"type": "float", "low": -5, "high": 5}, "kind": ["a", "b"]})
    sampler = AgentSampler(
        policy="agent",
        backbone=TPESampler(),
        llm=ScriptedLLM([respond]),
        space=space,
        hidden_metrics="test_acc",
    )
    optuna.create_study(sampler=sampler).optimize(scored, n_trials=3)
    assert len(seen) >= 2
    assert not any("test_acc" in text or "0.987654" in text for text in seen)


def test_create_study_refuses_a_cma_es_strategy_with_two_objectives() -> None:
    for strategy in ("cmaes", "centaur"):
        with pytest.raises(ValueError, match=f"strategy: '{strategy}' uses CMA-ES"):
            agenthpo.create_study(
                strategy=strategy, directions=["maximize", "minimize"], llm=RandomLLM()
            )
    with pytest.raises(TypeError, match="llm: give a spec"):
        agenthpo.create_study(llm=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="space: give a Space"):
        agenthpo.create_study(space=[("x", 0, 1)])  # type: ignore[arg-type]


def test_an_objective_range_other_than_the_space_is_said_and_the_lost_proposal_recorded() -> None:
    # The LLM proposes in `space`; the objective suggests x over [0, 1] only, so Optuna
    # dropped proposals outside it in silence while the trial stayed credited to the LLM.
    space = Space.from_dict({"x": {"type": "float", "low": -5, "high": 5}})
    llm = ScriptedLLM([answer({"x": -3.5}), answer({"x": -2.5}), answer({"x": 4.5})])
    study = optuna.create_study(
        sampler=AgentSampler(
            policy="agent", backbone=TPESampler(seed=0), llm=llm, space=space, seed=0
        )
    )
    with pytest.warns(UserWarning, match=r"'x': the objective suggests 0 to 1 but .* -5 to 5"):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    for trial in study.trials:
        assert 0 <= trial.params["x"] <= 1
        assert trial.user_attrs[_keys.PROPOSED_BY] == "llm"
        assert trial.user_attrs[_keys.LLM_DROPPED] == ["x"]


def test_names_the_objective_and_the_space_do_not_share_are_said_and_recorded() -> None:
    """A sampler whose ``space`` names other parameters than the objective suggests (Ray
    Tune's space given to OptunaSearch, another to the sampler) ran the backbone's draws
    under the LLM's rationale without a word (Ray probe): each side's missing names are
    warned once, and the LLM's values that did not run are recorded as dropped."""
    space = Space.from_dict(
        {
            "x": {"type": "float", "low": -5, "high": 5},
            "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        }
    )
    llm = ScriptedLLM([answer({"x": -3.5 + i, "lr": 0.01}) for i in range(3)])
    study = optuna.create_study(
        sampler=AgentSampler(
            policy="agent", backbone=TPESampler(seed=0), llm=llm, space=space, seed=0
        )
    )

    def objective(trial: optuna.Trial) -> float:
        return trial.suggest_float("x", -5, 5) ** 2 + trial.suggest_int("layers", 1, 4)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(objective, n_trials=3)
    said = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert (
        len([m for m in said if m.startswith("parameter 'lr': the sampler's space declares it")])
        == 1
    )
    assert (
        len([m for m in said if m.startswith("parameter 'layers': the objective suggests it")]) == 1
    )
    assert [t.params["x"] for t in study.trials] == [-3.5, -2.5, -1.5]  # the LLM's x ran
    for trial in study.trials:
        assert trial.user_attrs[_keys.PROPOSED_BY] == "llm"
        assert trial.user_attrs[_keys.LLM_DROPPED] == ["lr"]


def test_an_objective_that_suggests_the_declared_space_loses_nothing(small_space: Space) -> None:
    llm = ScriptedLLM([answer({"x": -3.5, "kind": "a"}), answer({"x": 2.5, "kind": "b"})])
    study = optuna.create_study(
        sampler=AgentSampler(
            policy="agent", backbone=TPESampler(seed=0), llm=llm, space=small_space, seed=0
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        study.optimize(objective, n_trials=2)
    assert [t.params["x"] for t in study.trials] == [-3.5, 2.5]
    assert not any(_keys.LLM_DROPPED in t.user_attrs for t in study.trials)


def test_a_repeat_of_a_finished_trial_is_not_blamed_on_another_worker() -> None:
    # Single process, conditional define-by-run space: the proposal repeats a trial that
    # ran; the reason said "(another worker) took the same configuration meanwhile".
    sampler = AgentSampler(
        policy="agent", backbone=TPESampler(seed=0), llm=RandomLLM(seed=0), seed=0
    )
    study = optuna.create_study(sampler=sampler)

    def conditional(trial: optuna.Trial) -> float:
        if trial.suggest_categorical("kind", ["a", "b"]) == "a":
            return trial.suggest_float("xa", 0, 1)
        return trial.suggest_int("nb", 1, 10) / 10

    study.optimize(conditional, n_trials=8)
    reasons = [str(t.user_attrs.get(_keys.FALLBACK_REASON, "")) for t in study.trials]
    duplicates = [r for r in reasons if r.startswith("duplicate")]
    assert duplicates
    assert all("another worker" not in r for r in duplicates), duplicates


def test_create_study_refuses_a_loaded_study_whose_parameters_changed_type(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    first = agenthpo.create_study(
        space={"x": {"type": "float", "low": 0, "high": 1}},
        strategy="random",
        storage=storage,
        study_name="s",
    )
    first.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with pytest.raises(ValueError, match="x: stored as float"):
        agenthpo.create_study(
            space={"x": {"type": "int", "low": 0, "high": 10}},
            strategy="random",
            storage=storage,
            study_name="s",
            load_if_exists=True,
        )
    wider = agenthpo.create_study(  # a range may change freely
        space={"x": {"type": "float", "low": 0, "high": 5}},
        strategy="random",
        storage=storage,
        study_name="s",
        load_if_exists=True,
    )
    assert len(wider.trials) == 2


def test_create_study_stores_the_task_a_report_shows() -> None:
    from agenthpo.reporting import collect_data

    study = agenthpo.create_study(
        space={"x": {"type": "float", "low": 0, "high": 1}},
        strategy="random",
        description="digits MLP",
        dataset={"rows": 1797},
        hidden_metrics="test_acc",
        study_name="s",
    )
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    data = collect_data(study)
    assert data.task["description"] == "digits MLP"
    assert data.task["dataset"] == {"rows": 1797}
    assert data.hidden_metrics == ("test_acc",)


def test_a_bare_agent_sampler_runs_the_default_strategy() -> None:
    """``AgentSampler(llm=...)``, the README's one-line switch, is the default strategy (the
    backbone's warm-up and judgement, the LLM on a share), not the paper's LLM-on-every-trial
    method that trails the backbone alone in the benchmarks."""
    from agenthpo.backbone import Backbone
    from agenthpo.strategies import DEFAULT_STRATEGY, make_sampler

    bare = AgentSampler(llm=RandomLLM(), seed=0)
    default = make_sampler(DEFAULT_STRATEGY, llm=RandomLLM(), seed=0)
    assert isinstance(default, AgentSampler)
    assert bare.policy() == default.policy()
    assert bare.policy().screen
    assert bare.policy().share < 1
    assert isinstance(bare._backbone, Backbone)
    assert bare.schedule() == default.schedule()


def test_the_old_options_without_a_policy_keep_the_agent_on_tpe() -> None:
    """Review: the old options (llm_share=...) were written against the agent preset on
    TPE; with the new default they switched screening on and GP in, without a word."""
    with pytest.warns(FutureWarning):
        old = AgentSampler(llm=RandomLLM(), seed=0, llm_share=0.5)
    assert isinstance(old._backbone, TPESampler)
    assert old.policy().share == 0.5
    assert not old.policy().screen


def test_a_run_that_crashed_before_its_suggestions_is_no_name_mismatch() -> None:
    """Review: an objective that raised before suggesting every parameter was warned about
    as a space mismatch (once per name, hiding a real one later) and its values recorded
    as dropped."""
    space = Space.from_dict(
        {"opt": ["sgd", "adam"], "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}}
    )
    llm = ScriptedLLM([answer({"opt": "adam", "lr": 0.01}), answer({"opt": "sgd", "lr": 0.02})])
    study = optuna.create_study(
        sampler=AgentSampler(
            policy="agent", backbone=TPESampler(seed=0), llm=llm, space=space, seed=0
        )
    )

    def objective(trial: optuna.Trial) -> float:
        if trial.suggest_categorical("opt", ["sgd", "adam"]) == "adam":
            raise RuntimeError("adam is broken in this build")
        return trial.suggest_float("lr", 1e-4, 1e-1, log=True)

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        study.optimize(objective, n_trials=2, catch=(RuntimeError,))
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE"]
    assert not any(_keys.LLM_DROPPED in t.user_attrs for t in study.trials)


def test_trials_that_share_no_parameter_say_so() -> None:
    """Review: once trials had finished, a trial drawn parameter by parameter still read
    'no finished trial has shown the search space yet'."""
    study = optuna.create_study(
        sampler=AgentSampler(llm=RandomLLM(), policy="agent", backbone=TPESampler(seed=0))
    )
    study.optimize(lambda t: t.suggest_float(f"x{t.number % 2}", 0, 1), n_trials=3)
    said = [t.user_attrs[_keys.RATIONALE] for t in study.trials]
    assert said[0].endswith("no finished trial has shown the search space yet")
    assert said[2].endswith("the finished trials share no parameter")
    # trial 1: the LLM proposed x0 (the space learned from trial 0); the objective ran x1
    assert study.trials[1].user_attrs[_keys.PROPOSED_BY] == "llm"
    assert study.trials[1].user_attrs[_keys.LLM_DROPPED] == ["x0"]


@pytest.mark.parametrize("policy", [None, "agent"])
def test_a_none_choice_is_left_to_the_backbone_not_a_crash(policy: str | None) -> None:
    """suggest_categorical("penalty", [None, "l1", "l2"]) (scikit-learn's spelling) raised
    SpaceError out of study.optimize at trial 1 (API probe): the LLM's space has no null
    choice, so that parameter is drawn by the backbone, once warned, and the LLM proposes
    the rest."""

    def objective(trial: optuna.Trial) -> float:
        penalty = trial.suggest_categorical("penalty", [None, "l1", "l2"])
        c = trial.suggest_float("C", 1e-3, 1e3, log=True)
        return c if penalty is None else 1 / c

    sampler = AgentSampler(llm=RandomLLM(seed=0), seed=0, policy=policy)
    study = optuna.create_study(sampler=sampler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(objective, n_trials=8)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 8
    said = [str(w.message) for w in caught if "None among its choices" in str(w.message)]
    assert len(said) == 1, said
    if policy == "agent":  # the LLM still proposed the other parameter
        assert any(t.user_attrs.get(_keys.PROPOSED_BY) == "llm" for t in study.trials)


def test_create_study_takes_what_optuna_create_study_takes(tmp_path: Path) -> None:
    """An Optuna storage object gave "'RDBStorage' object has no attribute 'startswith'",
    pruner= was refused naming make_sampler, and a classical strategy dropped llm= and
    policy= in silence (API probe)."""
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 's.db'}")
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1)
    study = agenthpo.create_study(
        llm=RandomLLM(seed=0), storage=storage, pruner=pruner, study_name="s", seed=0
    )
    assert study.pruner is pruner
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(optuna.load_study(study_name="s", storage=storage).trials) == 2
    with pytest.raises(TypeError, match=r"optuna.create_study\(sampler=AgentSampler"):
        agenthpo.create_study(sampler=TPESampler())
    with pytest.raises(ValueError, match="strategy 'tpe' asks no LLM, so llm and policy"):
        agenthpo.create_study(strategy="tpe", llm=RandomLLM(), policy="agent")
    with pytest.raises(TypeError, match="storage: give a storage URL or an Optuna storage"):
        agenthpo.create_study(storage=3)  # type: ignore[arg-type]


def test_the_tuner_takes_an_llm_spec_as_create_study_does(tmp_path: Path) -> None:
    """Tuner(task, llm="random:0") was accepted, then run() raised TypeError (API probe)."""
    from agenthpo.llm import RandomLLM as Random
    from agenthpo.task import task_from_dict
    from agenthpo.tuner import Tuner

    task = task_from_dict(
        {
            "name": "q",
            "objective": {"metric": "loss", "direction": "minimize"},
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
            "function": "m:f",
        },
        base_dir=tmp_path,
    )
    sampler = Tuner(task, llm="random:0", n_trials=2).sampler()
    assert isinstance(sampler.llm, Random)  # type: ignore[attr-defined]


def test_a_model_that_never_answers_usably_is_said_once() -> None:
    """Answers that are never usable (not JSON) fell back on every trial with no warning;
    only an unreachable model was said (API probe)."""
    sampler = AgentSampler(
        llm=ScriptedLLM(["I would try a smaller learning rate."] * 20),
        policy="agent",
        backbone=TPESampler(seed=0),
        space=Space.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}}),
        seed=0,
    )
    study = optuna.create_study(sampler=sampler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=6)
    said = [str(w.message) for w in caught if "answers could not be used" in str(w.message)]
    assert len(said) == 1, said
    assert "last 3 answers could not be used (not_json 3)" in said[0]
