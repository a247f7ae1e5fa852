"""Revising the search space (issue 22, item 5): the checks of a proposed change, the stored
record, the space in force, and the backbone continuing on the revised space."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.samplers import TPESampler
from optuna.search_space import IntersectionSearchSpace

from agenthpo import AgentSampler, _keys, _optuna
from agenthpo.agent.prompts import REVISION_SYSTEM_PROMPT
from agenthpo.agent.revision import accepted_changes, check_change, check_changes, space_in_force
from agenthpo.errors import LLMError, SpaceRevisionWarning
from agenthpo.llm import Message, ScriptedLLM
from agenthpo.policy import PRESETS, LLMPolicy
from agenthpo.space import CategoricalParam, Space
from agenthpo.task import load_task

optuna.logging.set_verbosity(optuna.logging.WARNING)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

SPACE = Space.from_dict(
    {
        "x": {"type": "float", "low": 0.0, "high": 5.0},
        "lr": {"type": "float", "low": 1e-5, "high": 0.1, "log": True},
        "n": {"type": "int", "low": 16, "high": 256, "step": 16},
        "kind": ["a", "b"],
    }
)
# best first: the three best lie near x's upper bound, lr between 1e-3 and 1e-2
RANKED = [
    (7, {"x": 4.8, "lr": 0.005, "n": 64, "kind": "a"}),
    (3, {"x": 4.6, "lr": 0.002, "n": 128, "kind": "a"}),
    (9, {"x": 4.9, "lr": 0.008, "n": 96, "kind": "b"}),
    (1, {"x": 1.0, "lr": 1e-5, "n": 16, "kind": "b"}),
    (2, {"x": 0.2, "lr": 0.09, "n": 256, "kind": "a"}),
]


def _check(**proposed: Any) -> Any:
    proposed.setdefault("evidence", [7])
    proposed.setdefault("rationale", "because")
    return check_change(proposed, SPACE, RANKED, at_trial=12)


# -- the checks ----------------------------------------------------------------------------------
def test_a_narrowing_that_keeps_the_best_trials_is_accepted() -> None:
    change = _check(param="lr", low=1e-3, high=0.05)
    assert (change.status, change.kind, change.new, change.old) == (
        "accepted",
        "narrow",
        (1e-3, 0.05),
        (1e-5, 0.1),
    )


def test_a_narrowing_that_drops_one_of_the_best_is_rejected() -> None:
    change = _check(param="lr", low=3e-3, high=0.05)
    assert change.status == "rejected"
    assert "drops trial #3's value 0.002" in change.reason


def test_a_narrowing_keeps_a_tenth_of_the_width() -> None:
    change = _check(param="x", low=4.55, high=4.95)  # 8% of the width
    assert change.status == "rejected"
    assert "10%" in change.reason


def test_a_widening_needs_best_trials_near_that_bound() -> None:
    assert _check(param="x", low=0.0, high=10.0).status == "accepted"  # 4.9 is near 5
    far = _check(param="lr", low=1e-5, high=1.0)  # no best trial near 0.1
    assert far.status == "rejected"
    assert "within 10% of the range" in far.reason
    assert _check(param="lr", low=1e-6, high=0.1).status == "rejected"  # none near 1e-5


def test_a_widening_goes_at_most_one_width_or_one_decade() -> None:
    assert _check(param="x", low=0.0, high=10.5).status == "rejected"
    space = Space.from_dict({"lr": {"type": "float", "low": 1e-5, "high": 0.1, "log": True}})
    ranked = [(1, {"lr": 0.09})]
    ok = check_change(
        {"param": "lr", "low": 1e-5, "high": 1.0, "evidence": [1]}, space, ranked, at_trial=2
    )
    too_far = check_change(
        {"param": "lr", "low": 1e-5, "high": 2.0, "evidence": [1]}, space, ranked, at_trial=2
    )
    assert ok.status == "accepted"
    assert too_far.status == "rejected"
    assert "one decade" in too_far.reason


def test_a_widening_stays_within_hard_limits_and_does_not_cross_zero() -> None:
    ranked = [(1, {"p": 0.01})]
    plain = Space.from_dict({"p": {"type": "float", "low": 0.0, "high": 0.5}})
    limited = Space.from_dict(
        {"p": {"type": "float", "low": 0.0, "high": 0.5, "limits": [-0.2, 0.6]}}
    )
    below = {"param": "p", "low": -0.1, "high": 0.5, "evidence": [1]}
    assert "not across zero" in check_change(below, plain, ranked, at_trial=2).reason
    assert check_change(below, limited, ranked, at_trial=2).status == "accepted"
    past = {"param": "p", "low": -0.3, "high": 0.5, "evidence": [1]}
    assert "hard limits" in check_change(past, limited, ranked, at_trial=2).reason


def test_the_examples_bound_their_fractions_and_rates_so_no_revision_makes_them_meaningless() -> (
    None
):
    # The stand-in model proposed max_df up to 1.7 on the reviews example (scikit-learn reads a
    # max_df above 1 as a document count); the example's limits refuse that.
    space = load_task(EXAMPLES / "reviews_tfidf" / "task.yaml").space
    ranked = [(4, {"max_df": 0.98}), (2, {"max_df": 0.95})]
    past = {"param": "max_df", "low": 0.5, "high": 1.7, "evidence": [4, 2], "rationale": "up"}
    change = check_change(past, space, ranked, at_trial=10)
    assert change.status != "accepted"
    assert "hard limits" in change.reason
    bounded = {
        "reviews_tfidf": "max_df",
        "credit_hgb": "max_features",
        "digits_cnn": "dropout",
        "gcn_cora": "dropout",
        "fragile_mlp": "momentum",
    }
    for example, name in bounded.items():
        param = load_task(EXAMPLES / example / "task.yaml").space[name]
        assert not isinstance(param, CategoricalParam)
        assert param.limits is not None, example
        assert param.limits[1] <= 1.0, example


@pytest.mark.parametrize(
    ("proposed", "reason"),
    [
        ({"param": "kind", "low": 0, "high": 1}, "categorical"),
        ({"param": "nope", "low": 0, "high": 1}, "not a parameter"),
        ({"param": "x", "low": 3.0, "high": 3.0}, "low must be below high"),
        ({"param": "x", "low": "abc", "high": 3.0}, "finite numbers"),
        ({"param": "x", "low": None, "high": 3.0}, "finite numbers"),
        ({"param": "n", "low": 16.5, "high": 256}, "whole numbers"),
        ({"param": "lr", "low": 0.0, "high": 0.1}, "positive"),
        ({"param": "x", "low": 0.0, "high": 5.0}, "unchanged"),
        ({"param": "x", "low": 0.5, "high": 5.0, "evidence": []}, "no trials cited"),
        ({"param": "x", "low": 0.5, "high": 5.0, "evidence": [99]}, "#99, which has not"),
    ],
)
def test_what_is_rejected_and_why(proposed: dict[str, Any], reason: str) -> None:
    proposed.setdefault("evidence", [7])
    change = check_change(proposed, SPACE, RANKED, at_trial=12)
    assert change.status == "rejected"
    assert reason in change.reason


def test_bounds_off_the_step_grid_move_outwards_onto_it() -> None:
    change = _check(param="n", low=50, high=140)
    assert change.status == "accepted"
    assert change.new == (48, 144)
    assert "step grid" in change.reason


def test_a_parameter_changed_twice_keeps_its_first_change() -> None:
    items = [
        {"param": "lr", "low": 1e-3, "high": 0.05, "evidence": [7]},
        {"param": "lr", "low": 1e-4, "high": 0.05, "evidence": [7]},
        "not an object",
    ]
    changes, space = check_changes(items, SPACE, RANKED, at_trial=12)
    assert [c.status for c in changes] == ["accepted", "rejected", "rejected"]
    assert "twice" in changes[1].reason
    assert (space["lr"].low, space["lr"].high) == (1e-3, 0.05)


def test_the_space_in_force_applies_accepted_changes_in_order() -> None:
    first = _check(param="x", low=1.0, high=5.0).to_attr()
    rejected = _check(param="lr", low=3e-3, high=0.05).to_attr()
    second = check_change(
        {"param": "x", "low": 2.0, "high": 5.0, "evidence": [7]},
        SPACE.with_range("x", 1.0, 5.0),
        RANKED,
        at_trial=20,
    ).to_attr()
    attrs = {
        f"{_keys.STUDY_SPACE_REVISION}2": {"changes": [second]},
        f"{_keys.STUDY_SPACE_REVISION}1": {"changes": [first, rejected, {"junk": 1}]},
        f"{_keys.STUDY_SPACE_REVISION}x": {"changes": "junk"},
    }
    assert [c.new for c in accepted_changes(attrs)] == [(1.0, 5.0), (2.0, 5.0)]
    space = space_in_force(SPACE, attrs)
    assert (space["x"].low, space["lr"].low) == (2.0, 1e-5)
    assert space_in_force(SPACE, {}) == SPACE


# -- the sampler ---------------------------------------------------------------------------------
SMALL = Space.from_dict(
    {
        "x": {"type": "float", "low": 0.0, "high": 5.0},
        "y": {"type": "float", "low": 1e-3, "high": 1.0, "log": True},
    }
)
# x near its upper bound and y around 0.02 do best (the optimum, x = 7, lies beyond x's range)
SEEDED = [(4.8, 0.02), (4.9, 0.03), (4.7, 0.01), (1.0, 0.5), (0.5, 0.002), (3.0, 0.9)]
REVISION = {
    "revisions": [
        {"param": "x", "low": 2.0, "high": 10.0, "evidence": [0, 1], "rationale": "best at 5"},
        {"param": "y", "low": 0.005, "high": 0.5, "evidence": [5], "rationale": "tails poor"},
        {"param": "y", "low": 0.5, "high": 1.0, "evidence": [5], "rationale": "again"},
    ]
}


def _revising(answers: Sequence[Any]) -> ScriptedLLM:
    """Answers revision requests from ``answers`` in order, proposals with nothing usable."""
    asked = iter(answers)

    def answer(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
        if messages[0].content != REVISION_SYSTEM_PROMPT:
            return "{}"
        entry = next(asked)
        if isinstance(entry, Exception):
            raise entry
        return entry if isinstance(entry, str) else json.dumps(entry)

    return ScriptedLLM([answer])


def _objective(sampler: AgentSampler, *, fixed: bool = False) -> Any:
    def objective(trial: optuna.Trial) -> float:
        space = SMALL if fixed else sampler.space_in_force(trial.study)
        x = trial.suggest_float("x", space["x"].low, space["x"].high)
        y = trial.suggest_float("y", space["y"].low, space["y"].high, log=True)
        return float((x - 7) ** 2 + abs(y - 0.02))

    return objective


def _run(
    llm: ScriptedLLM,
    backbone: optuna.samplers.BaseSampler | None = None,
    *,
    n_trials: int = 14,
    fixed: bool = False,
    policy: LLMPolicy | None = None,
) -> tuple[optuna.Study, AgentSampler]:
    sampler = AgentSampler(
        llm=llm,
        space=SMALL,
        policy=policy or LLMPolicy(share=0.0, revise_space_every=6, revise_space_max=2),
        seed=0,
        backbone=backbone,
    )
    study = optuna.create_study(sampler=sampler)
    for x, y in SEEDED:
        study.enqueue_trial({"x": x, "y": y})
    study.optimize(_objective(sampler, fixed=fixed), n_trials=n_trials)
    return study, sampler


def test_a_revision_is_asked_once_checked_and_stored() -> None:
    llm = _revising([REVISION, {"revisions": []}])
    study, _ = _run(llm)
    revision_calls = [c for c in llm.calls if c.messages[0].content == REVISION_SYSTEM_PROMPT]
    assert len(revision_calls) == 2  # after 6 and after 12 completed trials
    request = revision_calls[0].messages[-1].content
    assert "Best so far: trial #1" in request
    assert "(lower is better)" in request
    assert "x: now 0 to 5; the best trials set it to #1 4.9, #0 4.8, #2 4.7" in request
    assert "near the upper bound" in request
    assert revision_calls[0].schema is not None
    assert "revisions" in revision_calls[0].schema["properties"]
    record = study.user_attrs[f"{_keys.STUDY_SPACE_REVISION}1"]
    assert (record["round"], record["at_trial"], record["state"]) == (1, 6, "done")
    statuses = [(c["param"], c["status"]) for c in record["changes"]]
    assert statuses == [("x", "accepted"), ("y", "accepted"), ("y", "rejected")]
    x = record["changes"][0]
    assert x["old"] == {"low": 0.0, "high": 5.0}
    assert x["new"] == {"low": 2.0, "high": 10.0}
    assert (x["rationale"], x["evidence"], x["at_trial"]) == ("best at 5", [0, 1], 6)
    note = study.trials[6].user_attrs[_keys.SPACE_REVISION]
    assert (note["round"], note["accepted"], note["rejected"]) == (1, 2, 1)
    assert study.user_attrs[f"{_keys.STUDY_SPACE_REVISION}2"]["changes"] == []
    # every later trial is drawn from the revised space, and stores its distributions
    for t in study.trials[6:]:
        assert 2.0 <= t.params["x"] <= 10.0
        assert 0.005 <= t.params["y"] <= 0.5
        assert t.distributions["x"] == optuna.distributions.FloatDistribution(2.0, 10.0)


def test_no_revision_without_the_policy_and_at_most_the_maximum() -> None:
    llm = _revising([REVISION] * 5)
    study, _ = _run(llm, policy=LLMPolicy(share=0.0, revise_space_every=2, revise_space_max=1))
    assert len([c for c in llm.calls if c.messages[0].content == REVISION_SYSTEM_PROMPT]) == 1
    plain = _revising([REVISION])
    study, _ = _run(plain, policy=LLMPolicy(share=0.0))
    assert not plain.calls
    assert not any(k.startswith(_keys.STUDY_SPACE_REVISION) for k in study.user_attrs)


def test_an_unreadable_answer_gets_a_repair_round_and_an_llm_error_costs_the_revision_only() -> (
    None
):
    llm = _revising(["not json at all", REVISION])
    study, _ = _run(llm, n_trials=8)
    assert study.user_attrs[f"{_keys.STUDY_SPACE_REVISION}1"]["state"] == "done"
    repair = [c for c in llm.calls if c.messages[0].content == REVISION_SYSTEM_PROMPT][-1]
    assert "Your answer cannot be used" in repair.messages[-1].content

    failing = _revising([LLMError("the server is down")] * 3)
    study, _ = _run(failing, n_trials=8, policy=LLMPolicy(share=0.0, revise_space_every=6))
    record = study.user_attrs[f"{_keys.STUDY_SPACE_REVISION}1"]
    assert record["state"] == "failed"
    assert "server is down" in record["failed"]
    assert len(study.trials) == 8  # the search went on, on the task's space
    assert all(0.0 <= t.params["x"] <= 5.0 for t in study.trials)


@pytest.mark.parametrize("name", ["tpe", "gp", "cmaes"])
def test_the_backbone_keeps_modelling_a_revised_parameter(name: str) -> None:
    if name == "gp":
        pytest.importorskip("torch")
    make = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=0, multivariate=True, n_startup_trials=5),
        "gp": lambda: optuna.samplers.GPSampler(seed=0, n_startup_trials=5),
        "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=0, n_startup_trials=5),
    }
    backbone = make[name]()
    study, sampler = _run(_revising([REVISION, {"revisions": []}]), backbone, n_trials=16)
    view = sampler._model_view(study)
    probe = study.trials[-1]
    space = backbone.infer_relative_search_space(view, probe)
    assert space["x"] == optuna.distributions.FloatDistribution(2.0, 10.0)
    assert space["y"] == optuna.distributions.FloatDistribution(0.005, 0.5, log=True)
    assert all(2.0 <= t.params["x"] <= 10.0 for t in study.trials[6:])
    # without the view, Optuna's intersection drops both revised parameters
    assert IntersectionSearchSpace().calculate(study) == {}


def test_trials_outside_a_narrowed_range_are_left_out_of_the_model() -> None:
    study, sampler = _run(_revising([REVISION, {"revisions": []}]), n_trials=8)
    kept = {t.number for t in sampler._model_view(study).trials}
    # trials 3 (x=1) and 4 (x=0.5) lie below x's revised low of 2, trial 5's y=0.9 above 0.5
    assert kept == {0, 1, 2, 6, 7}
    assert len(study.trials) == 8  # the study itself is untouched


def test_an_objective_with_fixed_ranges_gets_a_clear_warning_when_a_range_widens() -> None:
    widening = {"revisions": [{"param": "x", "low": 2.0, "high": 8.0, "evidence": [1]}]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study, _ = _run(_revising([widening, {"revisions": []}]), n_trials=12, fixed=True)
    revision_warnings = [w for w in caught if issubclass(w.category, SpaceRevisionWarning)]
    assert len(revision_warnings) == 1  # once per revised parameter
    message = str(revision_warnings[0].message)
    assert "x (2 to 8) cannot take full effect" in message
    assert "over 0 to 5 itself" in message
    assert "space_in_force" in message
    assert len(study.trials) == 12  # the search went on within the objective's range


def test_a_narrowing_holds_in_an_objective_with_fixed_ranges_and_is_not_warned_about() -> None:
    narrowing = {"revisions": [{"param": "x", "low": 2.0, "high": 5.0, "evidence": [1]}]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study, _ = _run(_revising([narrowing, {"revisions": []}]), n_trials=12, fixed=True)
    assert not [w for w in caught if issubclass(w.category, SpaceRevisionWarning)]
    # the narrowing holds: the sampler proposes inside the revised range
    assert all(2.0 <= t.params["x"] <= 5.0 for t in study.trials[6:])
    # the trials keep the objective's distribution; the backbone's view relabels them
    assert study.trials[-1].distributions["x"] == optuna.distributions.FloatDistribution(0, 5)


def test_several_objectives_never_revise() -> None:
    llm = _revising([REVISION])
    sampler = AgentSampler(
        backbone=TPESampler(seed=0),
        llm=llm,
        space=SMALL,
        policy=LLMPolicy(share=0.0, revise_space_every=2),
        seed=0,
    )
    study = optuna.create_study(sampler=sampler, directions=["minimize", "minimize"])
    study.optimize(
        lambda t: (t.suggest_float("x", 0, 5), t.suggest_float("y", 1e-3, 1, log=True)),
        n_trials=8,
    )
    assert not llm.calls


def test_the_preset_and_the_view_helpers() -> None:
    assert PRESETS["hybrid-revise"].capable.revise_space_every == 10
    assert PRESETS["hybrid-tpe"].capable.revise_space_every == 0
    with pytest.raises(ValueError, match="revise_space_every"):
        LLMPolicy(revise_space_every=-1)
    with pytest.raises(ValueError, match="needs the search space"):
        AgentSampler(backbone=TPESampler(), policy=LLMPolicy(revise_space_every=5))
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 10), n_trials=3)
    view = _optuna.relabelled_study(study, {"x": optuna.distributions.FloatDistribution(0, 20)})
    assert _optuna.relabelled_study(view, {})._get_trials() == study.trials  # a view of a view
    assert {t.distributions["x"].high for t in view.get_trials()} == {20.0}
    assert {t.distributions["x"].high for t in study.get_trials()} == {10.0}
