"""The adaptive share: trust in the LLM from how its proposals did against the backbone's."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.samplers import TPESampler

from agenthpo import _keys
from agenthpo.agent.prompts import TaskContext
from agenthpo.agent.trust import MIN_LLM_JUDGED, llm_trust, prob_greater
from agenthpo.llm import LocalClient, ScriptedLLM
from agenthpo.policy import LLMPolicy, preset
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space
from agenthpo.strategies import make_sampler
from tests.conftest import answer

CTX = TaskContext(name="quad", metric="loss", direction="minimize")


def _trial(value: float, who: str, **attrs: Any) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(
        params={}, distributions={}, value=value, user_attrs={_keys.PROPOSED_BY: who, **attrs}
    )


def _study(rows: list[tuple[float, str]], direction: str = "minimize") -> optuna.Study:
    study = optuna.create_study(direction=direction)
    for value, who in rows:
        study.add_trial(_trial(value, who))
    return study


@pytest.mark.parametrize(("a1", "b1", "a2", "b2"), [(1, 1, 1, 1), (3, 7, 5, 2), (12, 4, 9, 9)])
def test_prob_greater_matches_monte_carlo(a1: int, b1: int, a2: int, b2: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.beta(a1, b1, 400_000)
    y = rng.beta(a2, b2, 400_000)
    assert prob_greater(a1, b1, a2, b2) == pytest.approx(float(np.mean(x >= y)), abs=0.004)


def test_no_evidence_means_full_trust() -> None:
    assert llm_trust([], optuna.study.StudyDirection.MINIMIZE).value == 1.0
    # Two trials are the least history a trial is judged against: nothing judged yet.
    study = _study([(1.0, "llm"), (2.0, "backbone")])
    trust = llm_trust(study.trials, study.direction)
    assert (trust.value, trust.llm_judged, trust.backbone_judged) == (1.0, 0, 0)


def test_a_good_backbone_alone_is_no_evidence_against_the_llm() -> None:
    rows = [(10.0 - i, "backbone") for i in range(10)]  # the backbone beats the median each time
    trust = llm_trust(_study(rows).trials, optuna.study.StudyDirection.MINIMIZE)
    assert (trust.llm_judged, trust.backbone_wins, trust.backbone_judged) == (0, 8, 8)
    assert trust.value == 1.0
    # Fewer than MIN_LLM_JUDGED proposals judged, even lost ones, are too few to withhold on.
    for n in range(1, MIN_LLM_JUDGED + 1):
        study = _study(rows + [(100.0, "llm")] * n)
        trust = llm_trust(study.trials, study.direction)
        assert (trust.llm_wins, trust.llm_judged) == (0, n)
        assert (trust.value == 1.0) is (n < MIN_LLM_JUDGED), trust


@pytest.mark.parametrize("seed", range(5))
def test_an_llm_turn_is_not_withheld_before_the_llm_proposed_anything(
    small_space: Space, seed: int
) -> None:
    distributions = small_space.to_optuna()
    study = optuna.create_study(
        sampler=AgentSampler(
            backbone=TPESampler(seed=seed),
            llm=_optimum_llm(),
            space=small_space,
            context=CTX,
            seed=seed,
            policy=LLMPolicy(warmup=10, adaptive=True, duplicate_tolerance=FINE),
        )
    )
    for i in range(10):  # the backbone's warm-up went well: every trial beat the median
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": 5.0 - 0.3 * i, "kind": "a"},
                distributions=distributions,
                value=(3.0 - 0.3 * i) ** 2,
                user_attrs={_keys.PROPOSED_BY: "backbone"},
            )
        )
    study.optimize(_bad_llm_objective, n_trials=1)
    first = study.trials[-1]
    assert first.user_attrs[_keys.PROPOSED_BY] == "llm", first.user_attrs[_keys.RATIONALE]
    assert first.user_attrs[_keys.LLM_TRUST] == 1.0


def test_an_llm_that_keeps_losing_falls_to_the_floor() -> None:
    rows = [(10.0, "backbone"), (9.0, "backbone")]
    for i in range(12):  # the backbone improves, the LLM proposes the worst value each time
        rows += [(8.0 - i * 0.5, "backbone"), (100.0, "llm")]
    study = _study(rows)
    trust = llm_trust(study.trials, study.direction, floor=0.1)
    assert (trust.llm_wins, trust.llm_judged) == (0, 12)
    assert trust.backbone_wins == 12
    assert trust.value == 0.1
    assert "beat the running median in 0 of 12" in trust.describe()


def test_an_llm_as_good_as_the_backbone_keeps_its_turns() -> None:
    rows = [(10.0, "backbone"), (9.0, "backbone")]
    for i in range(10):  # both improve on the median every time
        rows += [(8.0 - i, "backbone"), (7.5 - i, "llm")]
    study = _study(rows)
    assert llm_trust(study.trials, study.direction).value == 1.0


def test_direction_is_respected() -> None:
    rows = [(0.5, "backbone"), (0.6, "backbone")] + [(0.9, "llm"), (0.1, "backbone")] * 6
    low = llm_trust(_study(rows, "maximize").trials, optuna.study.StudyDirection.MAXIMIZE)
    high = llm_trust(_study(rows, "minimize").trials, optuna.study.StudyDirection.MINIMIZE)
    assert low.llm_wins == 6  # 0.9 is good when maximizing
    assert low.value == 1.0
    assert high.llm_wins == 0
    assert high.value < 0.5


def test_only_complete_trials_of_the_two_sides_are_judged() -> None:
    study = optuna.create_study()
    for i in range(3):
        study.add_trial(_trial(5.0 + i, "default_config"))
    # A finished run counts, even one a recovery marked "interrupted" as its runner
    # finished it (the recovery lost the race: the mark is stale).
    study.add_trial(_trial(0.0, "llm", **{_keys.NOT_COUNTED: "interrupted"}))
    study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.FAIL, user_attrs={_keys.PROPOSED_BY: "llm"}
        )
    )
    study.add_trial(_trial(1.0, "enqueued"))
    study.add_trial(_trial(0.5, "llm"))
    trust = llm_trust(study.trials, study.direction)
    assert (trust.llm_wins, trust.llm_judged, trust.backbone_judged) == (2, 2, 0)


def _bad_llm_objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return (x - 2) ** 2 + (0.0 if kind == "a" else 1.0)


# These scripted models move in small steps on purpose; the near-copy rule (5% of each
# range by default, tested in test_creator) would refuse them, so these tests keep 0.1%.
FINE = 1e-3


def _stubborn_llm() -> ScriptedLLM:
    """Proposes a different bad corner every time (x far from the optimum at 2)."""
    counter = iter(range(10_000))

    def propose(messages: Any, schema: Any) -> str:
        return answer({"x": -5.0 + next(counter) * 0.05, "kind": "b"}, "try the left edge")

    return ScriptedLLM([propose])


def _optimum_llm() -> ScriptedLLM:
    """Proposes points next to the optimum, a different one each time."""
    counter = iter(range(10_000))

    def propose(messages: Any, schema: Any) -> str:
        k = next(counter)
        return answer({"x": 2.0 + 0.015 * k * (-1) ** k, "kind": "a"}, "stay at the best")

    return ScriptedLLM([propose])


def _who(study: optuna.Study) -> list[str]:
    return [t.user_attrs[_keys.PROPOSED_BY] for t in study.trials]


def test_the_adaptive_share_gives_a_losing_llm_fewer_turns(small_space: Space) -> None:
    n = 60

    def run(adaptive: bool) -> optuna.Study:
        sampler = make_sampler(
            "hybrid-tpe",
            llm=_stubborn_llm(),
            space=small_space,
            context=CTX,
            seed=3,
            policy=preset("hybrid", adaptive=adaptive, duplicate_tolerance=FINE),
        )
        study = optuna.create_study(sampler=sampler)
        study.optimize(_bad_llm_objective, n_trials=n)
        return study

    fixed, adaptive = run(False), run(True)
    fixed_llm = Counter(_who(fixed))["llm"]
    adaptive_llm = Counter(_who(adaptive))["llm"]
    assert fixed_llm == 3 + round(0.25 * (n - 3))
    assert _who(adaptive)[:3] == ["llm"] * 3  # start-up turns are never withheld
    assert adaptive_llm <= 3 + 0.5 * (fixed_llm - 3)
    withheld = [
        t
        for t in adaptive.trials
        if t.user_attrs[_keys.PROPOSED_BY] == "backbone"
        and "beat the running median" in t.user_attrs[_keys.RATIONALE]
    ]
    assert withheld, "the trials the LLM lost say why"
    assert all(t.user_attrs[_keys.LLM_TRUST] < 1.0 for t in withheld)
    assert min(t.value for t in adaptive.trials) <= min(t.value for t in fixed.trials) + 0.05


def test_the_adaptive_share_keeps_the_turns_of_an_llm_that_wins(small_space: Space) -> None:
    # On plain TPE, whose proposals lose to the optimum's for long (GP finds it quickly and
    # then its own proposals tie the LLM's, which is a different test).
    sampler = make_sampler(
        "hybrid-tpe",
        llm=_optimum_llm(),
        space=small_space,
        context=CTX,
        seed=3,
        backbone="tpe",
        policy=preset("hybrid", duplicate_tolerance=FINE),
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(_bad_llm_objective, n_trials=40)
    kept = Counter(_who(study))["llm"]
    assert kept >= 3 + 0.8 * round(0.25 * 37)
    trusts = [
        t.user_attrs[_keys.LLM_TRUST] for t in study.trials if _keys.LLM_TRUST in t.user_attrs
    ]
    assert trusts
    assert min(trusts) > 0.5


def test_the_decisions_are_reproducible_from_the_seed(small_space: Space) -> None:
    def run() -> list[str]:
        sampler = make_sampler(
            "hybrid-tpe", llm=_stubborn_llm(), space=small_space, context=CTX, seed=11
        )
        study = optuna.create_study(sampler=sampler)
        study.optimize(_bad_llm_objective, n_trials=40)
        return _who(study)

    assert run() == run()


def test_the_agent_strategy_is_not_adaptive(small_space: Space) -> None:
    sampler = make_sampler(
        "agent",
        llm=_stubborn_llm(),
        space=small_space,
        context=CTX,
        seed=0,
        policy=preset("agent", duplicate_tolerance=FINE),
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(_bad_llm_objective, n_trials=15)
    assert Counter(_who(study))["llm"] == 15


def test_multi_objective_studies_keep_the_fixed_schedule(small_space: Space) -> None:
    sampler = AgentSampler(
        backbone=TPESampler(seed=0),
        llm=_stubborn_llm(),
        space=small_space,
        seed=0,
        policy=LLMPolicy(share=0.5, adaptive=True),
    )
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    assert sampler.trust(study) is None


def test_the_embedded_model_gets_no_repair_rounds(small_space: Space) -> None:
    out_of_range = answer({"x": 50.0, "kind": "a"})
    sampler = AgentSampler(
        policy="agent",
        backbone=TPESampler(),
        llm=ScriptedLLM([out_of_range]),
        space=small_space,
        context=CTX,
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(_bad_llm_objective, n_trials=1)
    assert study.trials[0].user_attrs[_keys.LLM_CALLS] == 2  # the answer and one repair round

    local = LocalClient.__new__(LocalClient)  # no model is loaded by this test
    local.embedded = True
    sampler = AgentSampler(
        policy="agent", backbone=TPESampler(), llm=local, space=small_space, context=CTX
    )
    assert sampler.policy().repair_rounds == 0
    given = AgentSampler(
        backbone=TPESampler(), llm=local, space=small_space, policy=preset("agent", repair_rounds=2)
    )
    assert given.policy().repair_rounds == 2
    local.embedded = False  # a GGUF of the user's own: a capable model may fix its answer
    assert (
        AgentSampler(policy="agent", backbone=TPESampler(), llm=local, space=small_space)
        .policy()
        .repair_rounds
        == 1
    )


@pytest.mark.parametrize(("given", "expected"), [(None, True), (False, False), (True, True)])
def test_the_task_file_can_turn_the_adaptive_share_off(
    quadratic_task: Any, tmp_path: Any, given: bool | None, expected: bool
) -> None:
    from agenthpo.tuner import Tuner

    task = quadratic_task.model_copy(update={"strategy": "hybrid-tpe", "adaptive_share": given})
    tuner = Tuner(task, llm=_stubborn_llm(), storage=f"sqlite:///{tmp_path / 's.db'}")
    sampler = tuner.sampler()
    assert isinstance(sampler, AgentSampler)
    assert sampler.policy().adaptive is expected


@pytest.mark.parametrize("floor", [-0.1, 1.5])
def test_an_impossible_floor_is_refused(small_space: Space, floor: float) -> None:
    with pytest.raises(ValueError, match="trust_floor"):
        AgentSampler(
            backbone=TPESampler(),
            llm=_stubborn_llm(),
            space=small_space,
            policy=LLMPolicy(trust_floor=floor),
        )
