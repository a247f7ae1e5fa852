"""The schedule: which trials a policy gives the LLM, and the sentence that says so.

The schedule counts turns, not trials: a trial whose configuration was given rather than
proposed (an enqueued one, the task's default configuration, a warm start, a re-run of an
interrupted trial, an MCP client's proposal) takes no turn, so it never uses up the LLM's
start-up turns. A trial's turn, its *slot* (:func:`slot`), is its number less the trials
before it that took none. Slot ``k`` (from 0) is the backbone's during the policy's
``warmup``, the LLM's during its ``startup``, and after that the LLM's on an even spread of
``share`` of the slots: decided by the stored trials alone, so that every worker and a
resumed study agree. With an adaptive policy, a scheduled turn after the start-up goes to
the LLM only with probability :func:`~agenthpo.agent.trust.llm_trust`, drawn from the seed and
the trial number.

Example:
    >>> from agenthpo.agent.schedule import describe, llm_turn
    >>> from agenthpo.policy import LLMPolicy
    >>> policy = LLMPolicy(warmup=2, share=0.5)
    >>> [llm_turn(policy, k) for k in range(6)]
    [False, False, False, True, False, True]
    >>> describe(policy, backbone="TPE")
    'TPE proposes the first 2 trials, then the LLM 50% of the rest and TPE the others'
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial

from agenthpo import _keys
from agenthpo.agent.trust import Trust, llm_trust
from agenthpo.policy import LLMPolicy

__all__ = ["backbone_label", "describe", "llm_turn", "slot", "takes_no_turn", "trust", "turn"]

# How a run's first lines name the classical samplers behind the agent.
_BACKBONE_LABELS = {
    "TPESampler": "TPE",
    "CmaEsSampler": "CMA-ES",
    "GPSampler": "GP",
    "Backbone": "the backbone",
}


def backbone_label(backbone: BaseSampler) -> str:
    """``TPE``, ``CMA-ES``, ``GP`` or ``the backbone``: the backbone as a sentence names it."""
    return _BACKBONE_LABELS.get(type(backbone).__name__, "the backbone")


def takes_no_turn(trial: FrozenTrial) -> bool:
    """Whether a trial's configuration was given rather than proposed, so that it takes no
    turn of the schedule: an enqueued trial (``study.enqueue_trial``: the task's default
    configuration, a warm start, a re-run, an MCP client's proposal, a user's own), and
    every trial of the LLM's initial design (``LLMPolicy.initial_design``: the schedule
    follows it as it would without it). The other candidates of an LLM batch are enqueued
    too, but they are the LLM's proposals and take turns.

    Example:
        >>> import optuna
        >>> study = optuna.create_study()
        >>> study.enqueue_trial({"x": 1.0})
        >>> study.optimize(lambda t: t.suggest_float("x", 0, 2), n_trials=2)
        >>> [takes_no_turn(t) for t in study.trials]
        [True, False]
    """
    if trial.user_attrs.get(_keys.INITIAL_DESIGN):
        return True
    if trial.user_attrs.get(_keys.LLM_BATCH):
        return False
    return "fixed_params" in trial.system_attrs


def slot(trials: Iterable[FrozenTrial], number: int) -> int:
    """Trial ``number``'s turn in the schedule: its number less the trials before it that
    took no turn (:func:`takes_no_turn`). ``trials`` holds the study's trials (at least
    every one numbered below ``number``).

    Example:
        >>> import optuna
        >>> study = optuna.create_study()
        >>> study.enqueue_trial({"x": 1.0})
        >>> study.enqueue_trial({"x": 2.0})
        >>> slot(study.get_trials(deepcopy=False), 2)
        0
    """
    return number - sum(1 for t in trials if t.number < number and takes_no_turn(t))


def llm_turn(policy: LLMPolicy, slot: int) -> bool:
    """Whether the schedule gives turn ``slot`` to the LLM (before any trust check)."""
    if slot < policy.warmup:
        return False
    k = slot - policy.warmup
    if k < policy.startup:
        return True
    j = k - policy.startup
    return math.floor((j + 1) * policy.share + 1e-9) > math.floor(j * policy.share + 1e-9)


def trust(policy: LLMPolicy, study: Study) -> Trust | None:
    """The trust in the LLM from the study's trials (``None`` unless adaptive, or with
    several objectives)."""
    if not policy.adaptive or len(study.directions) != 1:
        return None
    return llm_trust(study.get_trials(deepcopy=False), study.direction, floor=policy.trust_floor)


def turn(
    policy: LLMPolicy, study: Study, number: int, seed: int | None
) -> tuple[bool, Trust | None]:
    """Whether trial ``number`` goes to the LLM, and the trust that decided it.

    The trial's turn is its :func:`slot`. Start-up turns always go to the LLM (there is no
    evidence yet); later scheduled turns go to it with probability ``trust``, drawn from the
    seed and the trial number so that every worker and a resumed study decide alike.
    """
    turn_ = slot(study.get_trials(deepcopy=False), number)
    if not llm_turn(policy, turn_):
        return False, None
    if turn_ < policy.warmup + policy.startup:
        return True, None
    level = trust(policy, study)
    if level is None or level.value >= 1.0:
        return True, level
    draw = random.Random(f"agenthpo-trust:{seed}:{number}").random()
    return draw < level.value, level


def _percent(share: float) -> str:
    """``25%``, ``0.4%``: a share as people write it, never rounded to 0% or 100%."""
    text = f"{share:.0%}"
    return f"{share:.1%}" if text in ("0%", "100%") and 0 < share < 1 else text


def _first(n: int) -> str:
    """``the first trial``, ``the first 10 trials``."""
    return "the first trial" if n == 1 else f"the first {n} trials"


def describe(policy: LLMPolicy, *, backbone: str, multi_objective: bool = False) -> str:
    """Who proposes which trials, in one sentence (a run's first lines show it).

    Args:
        policy: The policy in force.
        backbone: The backbone as the sentence names it (:func:`backbone_label`).
        multi_objective: Whether the study has several objectives (no adaptive share then).

    Example:
        >>> describe(LLMPolicy(), backbone="TPE")
        'The LLM proposes every trial (TPE steps in when an answer is unusable)'
    """
    warmup, startup, share = policy.warmup, policy.startup, policy.share
    fewer = (
        f" (fewer while its proposals do worse than {backbone}'s)"
        if policy.adaptive and share > 0 and not multi_objective
        else ""
    )
    shown = _percent(share)
    if policy.show_backbone:
        text = f"{backbone} proposes every trial"
        override = [f"the next {startup}"] if startup else []
        if share > 0:
            override.append(f"{shown} of {'the rest' if startup else 'them'}{fewer}")
        if not override:
            return text
        after = f" after the first {warmup}" if warmup else ""
        return f"{text};{after} the LLM may override {' and '.join(override)}"
    if share <= 0 and not startup:  # the warm-up is all there is: the backbone's alone
        return f"{backbone} proposes every trial"
    head = []
    if warmup:
        head.append(f"{backbone} proposes {_first(warmup)}")
    if startup:
        head.append(
            f"the LLM the next {startup}" if warmup else f"the LLM proposes {_first(startup)}"
        )
    if share >= 1:
        rest = "the LLM every trial after them" if head else "the LLM proposes every trial"
        rest += f" ({backbone} steps in when an answer is unusable)"
    elif share <= 0:
        rest = f"{backbone} the rest" if head else f"{backbone} proposes every trial"
    else:
        verb = "" if head else "proposes "
        rest = f"the LLM {verb}{shown} of the {'rest' if head else 'trials'}{fewer}"
        rest += f" and {backbone} the others"
    text = ", then ".join([", ".join(head), rest]) if head else rest
    if share > 0 and policy.screen:
        judge = "its density ratio" if backbone == "TPE" else "that"
        if policy.screen_margin > 0:
            rule = (
                f"its own proposal runs unless {judge} rates the LLM's within"
                f" {policy.screen_margin:g} log unit{'' if policy.screen_margin == 1 else 's'}"
                " of it"
            )
        elif backbone == "TPE":
            rule = "it keeps its own where its density ratio rates it higher"
        else:
            rule = "its own proposal runs where that rates it higher"
        who = "TPE" if backbone == "TPE" else f"{backbone}'s own acquisition"
        text += f"; {who} screens the LLM's proposals ({rule})"
    if policy.initial_design:
        when = "after the warm-up" if warmup else "first"
        text += (
            f"; the LLM proposes an initial design of {policy.initial_design} configurations"
            f" {when} (they take no turn)"
        )
    if policy.candidates > 1 and (share > 0 or startup > 0):
        text += (
            f"; the LLM offers {policy.candidates} candidates per turn and {backbone}'s own"
            " acquisition runs the best, or its own proposal where it rates that higher"
        )
    return text[0].upper() + text[1:]
