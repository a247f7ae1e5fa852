"""The LLM proposes, the backbone judges (``LLMPolicy.candidates``): several candidates per
turn, of which the backbone's own acquisition runs the best, or its own proposal."""

from __future__ import annotations

import json
from typing import Any

import optuna
import pytest
from optuna.samplers import CmaEsSampler, TPESampler
from pydantic import ValidationError

from agenthpo import AgentSampler, _keys
from agenthpo.agent.screen import Judgement, tpe_judge, tpe_screen
from agenthpo.llm import ScriptedLLM
from agenthpo.policy import CAPABLE, LLMPolicy, preset
from agenthpo.space import Space
from agenthpo.task import Task
from tests.conftest import answer
from tests.test_screen import CTX, FINE, SPACE, _fitted, _objective

optuna.logging.set_verbosity(optuna.logging.WARNING)

WORSE = [{"x": -3.0, "kind": "b"}, {"x": -4.0, "kind": "b"}, {"x": -2.0, "kind": "b"}]
MIXED = [{"x": -3.0, "kind": "b"}, {"x": 4.9, "kind": "b"}, {"x": -2.9, "kind": "a"}]


def _candidates(*configs: dict[str, Any]) -> str:
    return json.dumps(
        {"candidates": [{"config": c, "rationale": f"idea {i + 1}"} for i, c in enumerate(configs)]}
    )


def _judged(
    small_space: Space, configs: list[dict[str, Any]], script: str = "", **policy: Any
) -> optuna.Study:
    """A fitted TPE study of 30 trials, then one trial whose LLM offers ``configs`` (or
    answers ``script``)."""
    study, _own = _fitted()
    study.tell(study.trials[-1].number, state=optuna.trial.TrialState.FAIL)  # _fitted's ask
    llm = ScriptedLLM([script or _candidates(*configs)])
    study.sampler = AgentSampler(
        backbone=TPESampler(seed=0),
        llm=llm,
        space=small_space,
        context=CTX,
        seed=0,
        policy=LLMPolicy(duplicate_tolerance=FINE, **policy),
    )
    study.optimize(_objective, n_trials=1)
    return study


def _tpe(study: optuna.Study) -> TPESampler:
    sampler = study.sampler
    assert isinstance(sampler, AgentSampler)
    assert isinstance(sampler.backbone, TPESampler)
    return sampler.backbone


def test_the_candidate_with_the_highest_acquisition_runs(small_space: Space) -> None:
    study = _judged(small_space, MIXED, candidates=3)
    trial = study.trials[31]
    verdict = trial.user_attrs[_keys.LLM_CANDIDATES]
    assert verdict["configs"] == MIXED
    # every value is TPE's density ratio of that candidate for this trial
    for config, value in zip(MIXED, verdict["values"], strict=True):
        alone = tpe_screen(_tpe(study), study, 31, SPACE, config, config)
        assert alone is not None
        assert value == pytest.approx(alone.llm, abs=1e-4)
    best = max(range(3), key=lambda i: verdict["values"][i])
    assert best == 1, "the unvisited corner rates highest, not the LLM's first candidate"
    assert trial.params == MIXED[best]
    assert verdict["values"][best] >= verdict["own"]
    assert (verdict["ran"], verdict["index"], verdict["judge"]) == ("llm", 2, "TPE")
    assert trial.user_attrs[_keys.PROPOSED_BY] == "llm"
    assert trial.user_attrs[_keys.RATIONALE].startswith(
        "idea 2 (TPE's density ratio picks candidate 2 of 3: log ratio 0.88; the others"
    )
    # the one call's tokens are booked on the trial, though its first candidate did not run
    assert trial.user_attrs[_keys.LLM_CALLS] == 1
    assert trial.user_attrs[_keys.LLM_PROMPT_TOKENS] > 0


def test_the_backbone_keeps_its_own_when_it_rates_every_candidate_lower(
    small_space: Space,
) -> None:
    study = _judged(small_space, WORSE, candidates=3)
    trial = study.trials[31]
    verdict = trial.user_attrs[_keys.LLM_CANDIDATES]
    assert trial.params not in WORSE
    own = tpe_screen(_tpe(study), study, 31, SPACE, trial.params, trial.params)
    assert own is not None
    assert verdict["own"] == pytest.approx(own.own, abs=1e-4)
    assert all(v < verdict["own"] for v in verdict["values"])
    assert (verdict["ran"], verdict["index"]) == ("backbone", None)
    assert trial.user_attrs[_keys.PROPOSED_BY] == "backbone"
    assert trial.user_attrs[_keys.RATIONALE].startswith(
        "TPESampler proposed: TPE's density ratio rates its own proposal above the LLM's 3"
        " candidates: log ratio 0.57 against"
    )
    # the best candidate is kept as the screened-out proposal, as the screen keeps one
    screened = trial.user_attrs[_keys.SCREENED]
    assert screened["config"] == WORSE[max(range(3), key=lambda i: verdict["values"][i])]
    assert trial.user_attrs[_keys.LLM_CALLS] == 1


def test_one_candidate_is_todays_screen(small_space: Space) -> None:
    # The judgement of a single candidate is the screen's verdict, number for number ...
    study, own = _fitted()
    config = {"x": -3.0, "kind": "b"}
    judged = tpe_judge(study.sampler, study, 30, SPACE, [config], own)  # type: ignore[arg-type]
    screened = tpe_screen(study.sampler, study, 30, SPACE, config, own)  # type: ignore[arg-type]
    assert judged is not None
    assert screened is not None
    assert judged.verdict() == screened
    # ... and with candidates=1 a turn asks for one configuration, and the trial stores the
    # screen's verdict as the judgement of that one candidate.
    one = _judged(small_space, [], answer(config), candidates=1, screen=True)
    llm = one.sampler.llm  # type: ignore[attr-defined]
    assert "candidates" not in (llm.calls[0].schema or {}).get("properties", {})
    stored = one.trials[31].user_attrs[_keys.LLM_CANDIDATES]
    assert stored["values"] == [round(screened.llm, 4)]
    screen = one.trials[31].user_attrs[_keys.SCREENED]
    assert (stored["own"], stored["ran"]) == (screen["backbone_log_ratio"], "backbone")
    assert stored["index"] is None
    assert one.trials[31].user_attrs[_keys.SCREENED]["log_ratio"] == round(screened.llm, 4)


def test_candidates_one_runs_as_before(small_space: Space) -> None:
    # The same scripted model and seed with and without the option give the same study.
    def run(policy: LLMPolicy) -> list[tuple[dict[str, Any], Any]]:
        def beside_best(messages: Any, schema: Any) -> str:
            done = [t for t in study.trials if t.value is not None]
            best = min(done, key=lambda t: t.value or 0.0) if done else None
            x = 0.0 if best is None else best.params["x"]
            return answer({"x": max(-5.0, x - 1.5), "kind": "a"}, "left of the best")

        study = optuna.create_study()
        study.sampler = AgentSampler(
            backbone=TPESampler(seed=3),
            llm=ScriptedLLM([beside_best]),
            space=small_space,
            policy=policy,
            seed=3,
        )
        study.optimize(_objective, n_trials=16)
        return [(t.params, t.user_attrs.get(_keys.PROPOSED_BY)) for t in study.trials]

    base = LLMPolicy(startup=2, share=0.5, screen=True, duplicate_tolerance=FINE)
    before = run(base)
    assert before == run(base.replace(candidates=1))
    assert {by for _, by in before} == {"llm", "backbone"}


def test_before_the_backbone_can_judge_a_turn_asks_for_one(small_space: Space) -> None:
    # TPE's first 10 trials are random draws: no model judges candidates, so none are asked.
    llm = ScriptedLLM([answer({"x": 4.5, "kind": "b"}), _candidates(*MIXED)])
    study = optuna.create_study()
    study.sampler = AgentSampler(
        backbone=TPESampler(seed=0),
        llm=llm,
        space=small_space,
        policy=LLMPolicy(candidates=3),
        seed=0,
    )
    study.optimize(_objective, n_trials=1)
    assert "candidates" not in (llm.calls[0].schema or {}).get("properties", {})
    assert study.trials[0].params == {"x": 4.5, "kind": "b"}
    assert _keys.LLM_CANDIDATES not in study.trials[0].user_attrs


def test_a_proposal_prepared_while_the_last_startup_trial_runs_asks_for_all(
    small_space: Space,
) -> None:
    # Nine trials done and the tenth running: the proposal for trial 10 is asked while it
    # runs, and TPE will judge it (it will have its 10 trials), so it asks for all three.
    study, _own = _fitted(9)
    llm = ScriptedLLM([_candidates(*MIXED)])
    sampler = AgentSampler(
        backbone=TPESampler(seed=0),
        llm=llm,
        space=small_space,
        policy=LLMPolicy(candidates=3),
        seed=0,
    )
    study.sampler = sampler
    assert sampler.prefetch(study, 10)
    study.tell(9, 1.0)
    study.optimize(_objective, n_trials=1)
    assert len(llm.calls) == 1
    assert "3 different candidates" in llm.calls[0].messages[-1].content
    trial = study.trials[10]
    assert trial.user_attrs[_keys.LLM_PREFETCHED] is True
    assert trial.user_attrs[_keys.LLM_CANDIDATES]["judge"] == "TPE"
    assert len(trial.user_attrs[_keys.LLM_CANDIDATES]["values"]) == 3


def test_an_unusable_candidate_leaves_the_others_to_judge(small_space: Space) -> None:
    # An invalid candidate and a copy of another are dropped; the rest are judged.
    configs = [{"x": 9.0, "kind": "b"}, *MIXED, {"x": 4.9, "kind": "b"}]
    study = _judged(small_space, configs, candidates=5)
    verdict = study.trials[31].user_attrs[_keys.LLM_CANDIDATES]
    assert verdict["configs"] == MIXED
    assert len(verdict["values"]) == 3
    assert study.trials[31].params == {"x": 4.9, "kind": "b"}


def test_the_judgement_describes_every_value() -> None:
    j = Judgement(values=(0.1, 0.5, -0.2), own=0.3, backbone="GP", judge="TPE")
    assert j.describe() == (
        "TPE's density ratio picks candidate 2 of 3: log ratio 0.50; the others 0.10, -0.20;"
        " GP's proposal 0.30"
    )
    lost = Judgement(values=(0.1,), own=0.3, backbone="GP", judge="GP")
    assert not lost.passed
    assert lost.describe() == (
        "GP's expected improvement rates its own proposal above the LLM's candidate: log EI"
        " 0.30 against 0.10"
    )
    assert Judgement(values=(0.2, 0.2), own=0.2).best == 0  # the LLM's order breaks ties


def test_a_backbone_that_cannot_judge(small_space: Space) -> None:
    with pytest.raises(ValueError, match="candidates above 1 needs a TPESampler or Backbone"):
        AgentSampler(
            llm=ScriptedLLM(["{}"]),
            space=small_space,
            backbone=CmaEsSampler(seed=0),
            policy=preset("hybrid", candidates=3),
        )
    sampler = AgentSampler(
        llm=ScriptedLLM(["{}"]),
        space=small_space,
        backbone=CmaEsSampler(seed=0),
        policy="hybrid-judge",
    )
    assert sampler.policy().candidates == 1


def test_the_preset_judges_three_candidates_and_says_so(small_space: Space) -> None:
    assert preset("hybrid-judge").for_model(CAPABLE).candidates == 3
    sampler = AgentSampler(
        backbone=TPESampler(), llm=ScriptedLLM(["{}"]), space=small_space, policy="hybrid-judge"
    )
    assert "the LLM offers 3 candidates per turn and TPE's own acquisition runs the best" in (
        sampler.schedule()
    )


def test_the_task_file_sets_both_options(quadratic_task: Task) -> None:
    def task(**extra: Any) -> Task:
        return Task.model_validate({**quadratic_task.model_dump(), **extra})

    chosen = task(
        strategy="hybrid-tpe", policy={"preset": "hybrid", "initial_design": 4, "candidates": 2}
    ).llm_policy()
    assert chosen is not None
    assert (chosen.capable.initial_design, chosen.capable.candidates) == (4, 2)
    assert (chosen.embedded.initial_design, chosen.embedded.candidates) == (4, 2)
    with pytest.raises(ValidationError, match=r"policy\.candidates: the backbone judges"):
        task(strategy="centaur", policy={"candidates": 2})
    with pytest.raises(ValidationError, match="less than or equal to 16"):
        task(strategy="hybrid-tpe", policy={"candidates": 17})


def _gap(small_space: Space, configs: list[dict[str, Any]], **policy: Any) -> float:
    """How far below the backbone's own proposal the best of ``configs`` rates."""
    verdict = _judged(small_space, configs, **policy).trials[31].user_attrs[_keys.LLM_CANDIDATES]
    return float(verdict["own"]) - max(verdict["values"])


def test_a_margin_runs_the_best_candidate_within_it(small_space: Space) -> None:
    gap = _gap(small_space, WORSE, candidates=3)
    assert gap > 0.05, "the backbone rates its own proposal above every candidate"
    within = _judged(small_space, WORSE, candidates=3, screen_margin=gap + 0.01)
    trial = within.trials[31]
    verdict = trial.user_attrs[_keys.LLM_CANDIDATES]
    assert (verdict["ran"], verdict["margin"]) == ("llm", pytest.approx(gap + 0.01))
    assert trial.params == WORSE[verdict["index"] - 1]
    assert trial.user_attrs[_keys.PROPOSED_BY] == "llm"
    assert f"(margin {gap + 0.01:.2f})" in trial.user_attrs[_keys.RATIONALE]
    short = _judged(small_space, WORSE, candidates=3, screen_margin=gap - 0.01)
    assert short.trials[31].user_attrs[_keys.LLM_CANDIDATES]["ran"] == "backbone"
    assert short.trials[31].params not in WORSE


def test_a_margin_lets_one_screened_proposal_through(small_space: Space) -> None:
    config = {"x": -3.0, "kind": "b"}
    refused = _judged(small_space, [], answer(config), screen=True).trials[31]
    shown = refused.user_attrs[_keys.SCREENED]
    gap = shown["backbone_log_ratio"] - shown["log_ratio"]
    assert gap > 0.05
    passed = _judged(small_space, [], answer(config), screen=True, screen_margin=gap + 0.01)
    assert passed.trials[31].params == config
    assert passed.trials[31].user_attrs[_keys.PROPOSED_BY] == "llm"
    still = _judged(small_space, [], answer(config), screen=True, screen_margin=gap - 0.01)
    assert still.trials[31].params != config
    assert "rates it below the margin" in still.trials[31].user_attrs[_keys.RATIONALE]


def test_the_margin_preset_screens_every_model_after_its_startup(small_space: Space) -> None:
    policy = preset("hybrid-margin").for_model(CAPABLE)
    assert (policy.startup, policy.screen, policy.screen_margin) == (3, True, 1.0)
    with pytest.raises(ValueError, match="screen_margin must be at least 0"):
        LLMPolicy(screen_margin=-0.5)


def test_the_task_file_sets_the_margin(quadratic_task: Task) -> None:
    def task(**extra: Any) -> Task:
        return Task.model_validate({**quadratic_task.model_dump(), **extra})

    chosen = task(
        strategy="hybrid-tpe", policy={"preset": "hybrid", "screen": True, "screen_margin": 0.5}
    ).llm_policy()
    assert chosen is not None
    assert (chosen.capable.screen, chosen.capable.screen_margin) == (True, 0.5)
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        task(strategy="hybrid-tpe", policy={"screen_margin": -1})
