"""Rationales checked against the stored numbers (issue 22, item 6).

A 1.5B model's rationales misread the history: it named trial #11 the best when #10 was, and
called 0.934 -> 0.932 an improvement of an accuracy. Such claims are flagged on the trial;
claims that cannot be tied to stored numbers, negated or hypothetical ones are left alone.
"""

from __future__ import annotations

import optuna
import pytest
from optuna.samplers import TPESampler

from agenthpo import _keys
from agenthpo.agent.claims import check_rationale
from agenthpo.agent.prompts import TaskContext
from agenthpo.llm import ScriptedLLM
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space
from tests.conftest import answer

RESULTS = {9: 0.910, 10: 0.941, 11: 0.934, 12: 0.932}


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("Trial #11 is the best so far, so refine around it", "claims #11 is the best"),
        ("best trial #11 used C=57.55; try a larger C", "claims #11 is the best"),
        ("The best so far is trial 12, keep gamma", "claims #12 is the best"),
        ("#11 (0.934) remains the best, push C up", "claims #11 is the best"),
        ("Best result: #14 with C 10", "claims #14 is the best; #14 has no result"),
        ("0.934 -> 0.932 is an improvement, continue raising C", "calls 0.934 -> 0.932 an"),
        ("improved from 0.934 to 0.932 by raising C", "calls 0.934 -> 0.932 an"),
        ("accuracy improved 93.4% -> 93.2%, keep going", "calls 93.4% -> 93.2% an"),
        ("#11 -> #12 improved, so raise C again", "calls #11 -> #12 an improvement"),
        ("Trial #12 is better than #11, go further", "claims #12 is better than #11"),
        ("#12 beats #10 on accuracy, so keep its gamma", "claims #12 is better than #10"),
    ],
)
def test_a_claim_that_contradicts_the_stored_numbers_is_flagged(text: str, flag: str) -> None:
    found = check_rationale(text, RESULTS, direction="maximize", metric="acc")
    assert found is not None
    assert flag in found, found


@pytest.mark.parametrize(
    "text",
    [
        "Trial #10 is the best so far, so refine around it",
        "best trial #10 used C=57.55; try a larger C",
        "#11 is the second best; combine it with #10",
        "#12 is not the best, so move away from it",
        "better than the best #11 would need a larger C",  # a comparison, not a naming
        "the previous best #11 was beaten by #10",
        "0.91 -> 0.941 is an improvement, continue raising C",  # a real gain
        "0.934 -> 0.932 is worse, so lower C",  # a loss called a loss
        "0.934 -> 0.932: no improvement, go back",
        "C 57.55 -> 58.55 should improve acc",  # parameters, and hypothetical
        "raising C from 0.934 to 0.932 may improve things",  # hypothetical
        "#10 -> #11 got worse; return to #10",
        "Trial #10 is better than #12, go back to it",
        "try gamma from 0.001 to 0.01 to improve",  # not stored values
        "",
    ],
)
def test_claims_that_agree_or_cannot_be_checked_are_left_alone(text: str) -> None:
    assert check_rationale(text, RESULTS, direction="maximize", metric="acc") is None


def test_the_direction_decides_what_a_loss_is() -> None:
    losses = {3: 0.52, 4: 0.48}
    assert check_rationale("0.52 -> 0.48 improved", losses, direction="minimize") is None
    assert check_rationale("#4 is the best", losses, direction="minimize") is None
    found = check_rationale("#3 is the best", losses, direction="minimize", metric="loss")
    assert found == "claims #3 is the best; the best is #4 (loss=0.48)"
    found = check_rationale("0.48 -> 0.52 improved", losses, direction="minimize", metric="loss")
    assert found == "calls 0.48 -> 0.52 an improvement; it is a loss (lower loss is better)"


def test_a_tie_with_the_best_counts_as_the_best() -> None:
    assert check_rationale("#5 is the best", {4: 0.9, 5: 0.9}, direction="maximize") is None


def test_a_contradicting_rationale_is_flagged_on_the_trial_not_refused() -> None:
    space = Space.from_dict({"x": {"type": "float", "low": 0.0, "high": 10.0}})
    values = iter([0.30, 0.20, 0.25])
    answers = [
        answer({"x": 1.0}, "start low"),
        answer({"x": 5.0}, "go to the middle"),
        answer({"x": 9.0}, "trial #0 is the best so far, so 0.3 -> 0.2 was an improvement"),
        answer({"x": 3.0}, "#1 is the best, refine near it"),
    ]
    sampler = AgentSampler(
        policy="agent",
        backbone=TPESampler(seed=0),
        llm=ScriptedLLM(answers),
        space=space,
        context=TaskContext(name="t", metric="loss", direction="minimize"),
        seed=0,
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: next(values, 0.1) + 0 * t.suggest_float("x", 0.0, 10.0), 4)
    attrs = [t.user_attrs for t in study.trials]
    assert [a[_keys.PROPOSED_BY] for a in attrs] == ["llm"] * 4  # never refused for it
    assert _keys.RATIONALE_CHECK not in attrs[1]
    assert attrs[2][_keys.RATIONALE_CHECK] == "claims #0 is the best; the best is #1 (loss=0.2)"
    assert _keys.RATIONALE_CHECK not in attrs[3]  # #1 is the best: nothing to flag
