"""How far to trust the LLM's proposals, judged by how they did against the backbone's.

Independent studies found that an LLM's proposals help early in some tasks and hurt in
others, and that a weak model costs a hybrid its edge over TPE as the budget grows. So the
hybrid strategies measure it: a trial *wins* when its value beats the median of the trials
that came before it (by trial number, at least ``min_history`` of them). This compares each
proposal with the state of the search when it was made, so the backbone's random start-up
trials and its later, sharper ones are judged on the same footing as the LLM's. Each side's
win rate gets a uniform Beta prior; the trust is ``2 * P(LLM rate >= backbone rate)``, capped
at 1 and floored at ``floor``: 1 while the evidence is even or favours the LLM, falling
towards ``floor`` as the LLM keeps losing. The sampler gives the LLM a scheduled turn with
that probability (a deterministic draw per trial number), so with a weak model the study
drifts towards plain TPE while a good model keeps its share.

The trust stays 1 until at least :data:`MIN_LLM_JUDGED` of the LLM's proposals were judged.
Without that, a backbone doing well is itself read as evidence against an LLM that has not
proposed anything (eight backbone wins out of eight put the trust at 0.2), and each turn
withheld on that reading denies the LLM the trials that could change it.

Example:
    >>> import optuna
    >>> from agenthpo.agent.trust import llm_trust
    >>> study = optuna.create_study()
    >>> rows = [(5, "backbone"), (4, "backbone"), (9, "llm"), (1, "backbone")]
    >>> for x, who in rows:
    ...     study.add_trial(optuna.trial.create_trial(
    ...         params={}, distributions={}, value=x, user_attrs={"proposed_by": who}))
    >>> t = llm_trust(study.trials, study.direction)
    >>> (t.llm_wins, t.llm_judged, t.backbone_wins, t.backbone_judged)
    (0, 1, 1, 1)
    >>> t.value  # one proposal judged: too few to withhold a turn on
    1.0
    >>> round(llm_trust(study.trials, study.direction, min_llm_judged=1).value, 2)
    0.33
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys

__all__ = ["MIN_LLM_JUDGED", "Trust", "llm_trust", "prob_greater"]

MIN_LLM_JUDGED = 3
"""The LLM's judged proposals needed before its trust may fall below 1. A proposal as good
as the running median loses half the time, so one or two losses are what a median-level
model shows one time in two or in four; three losses in a row happen to it one time in
eight, and the trust they give (0.04 to 0.1 against a backbone winning most of its trials)
still leaves it a share of its turns."""


@dataclass(frozen=True)
class Trust:
    """The evidence on the LLM's proposals and the trust drawn from it."""

    value: float
    """In ``[floor, 1]``: the chance that a scheduled LLM turn goes to the LLM."""
    llm_wins: int
    llm_judged: int
    backbone_wins: int
    backbone_judged: int

    def describe(self) -> str:
        """One line for a trial's rationale and the logs."""
        return (
            f"the LLM's proposals beat the running median in {self.llm_wins} of"
            f" {self.llm_judged}, the backbone's in {self.backbone_wins} of"
            f" {self.backbone_judged} (trust {self.value:.2f})"
        )


def llm_trust(
    trials: Sequence[FrozenTrial],
    direction: StudyDirection,
    *,
    floor: float = 0.1,
    min_history: int = 2,
    min_llm_judged: int = MIN_LLM_JUDGED,
) -> Trust:
    """The trust in the LLM from the finished trials of a single-objective study.

    Trials proposed by the LLM (``proposed_by == "llm"``) are judged against those the
    backbone proposed (its turns and the LLM's fallbacks); other trials (a default config,
    warm starts, enqueued ones) only count towards the running median. Until
    ``min_llm_judged`` of the LLM's proposals are judged there is no evidence on it, and
    the trust is 1 whatever the backbone's record.
    """
    sign = -1.0 if direction == StudyDirection.MAXIMIZE else 1.0
    done = sorted(
        (
            t
            for t in trials
            if t.state == TrialState.COMPLETE and t.value is not None and not math.isnan(t.value)
        ),
        key=lambda t: t.number,
    )
    before: list[float] = []  # values seen so far, sorted, in "smaller is better" form
    wins = {"llm": 0, "backbone": 0}
    judged = {"llm": 0, "backbone": 0}
    for t in done:
        x = sign * float(t.value)  # type: ignore[arg-type]
        who = t.user_attrs.get(_keys.PROPOSED_BY)
        if who in wins and len(before) >= min_history:
            judged[who] += 1
            if x < _median(before):
                wins[who] += 1
        bisect.insort(before, x)
    if judged["llm"] < min_llm_judged:
        value = 1.0
    else:
        p = prob_greater(
            1 + wins["llm"],
            1 + judged["llm"] - wins["llm"],
            1 + wins["backbone"],
            1 + judged["backbone"] - wins["backbone"],
        )
        value = max(floor, min(1.0, 2.0 * p))
    return Trust(
        value=value,
        llm_wins=wins["llm"],
        llm_judged=judged["llm"],
        backbone_wins=wins["backbone"],
        backbone_judged=judged["backbone"],
    )


def prob_greater(a1: int, b1: int, a2: int, b2: int) -> float:
    """``P(X >= Y)`` for independent ``X ~ Beta(a1, b1)`` and ``Y ~ Beta(a2, b2)``.

    Exact for integer parameters (Evan Miller's closed form, summed over ``a1``).

    Example:
        >>> round(prob_greater(1, 1, 1, 1), 3)
        0.5
        >>> prob_greater(20, 2, 2, 20) > 0.999
        True
    """
    # P(X > Y) = sum_{i < a1} B(a2 + i, b1 + b2) / ((b1 + i) B(1 + i, b1) B(a2, b2))
    total = 0.0
    base = _log_beta(a2, b2)
    for i in range(a1):
        total += math.exp(
            _log_beta(a2 + i, b1 + b2) - math.log(b1 + i) - _log_beta(1 + i, b1) - base
        )
    return min(1.0, max(0.0, total))


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _median(sorted_values: Sequence[float]) -> float:
    n = len(sorted_values)
    mid = n // 2
    if n % 2:
        return sorted_values[mid]
    return 0.5 * (sorted_values[mid - 1] + sorted_values[mid])
