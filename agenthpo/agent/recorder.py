"""What the sampler writes on a trial: who proposed it, why, and what the LLM cost.

Every attribute goes into the trial's ``user_attrs`` (optuna-dashboard shows them) under the
names of :mod:`agenthpo._keys`; every LLM request and answer goes into its system
attributes, for audit and replay.

Example:
    >>> from agenthpo.agent.recorder import cut
    >>> cut("a long answer", 6)
    'a long... [7 characters cut]'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from optuna.study import Study
from optuna.trial import FrozenTrial

from agenthpo import _keys, _optuna
from agenthpo._text import one_line
from agenthpo.agent.creator import CallRecord, Proposal, ProposalFailed
from agenthpo.agent.failures import FailureRegion
from agenthpo.agent.screen import ScreenVerdict

__all__ = ["MAX_STORED_ANSWER_CHARS", "RATIONALE_ATTR_MAX", "Recorder", "cut"]

RATIONALE_ATTR_MAX = 480
"""The longest one-line attribute (a rationale, a fallback's reason)."""
MAX_STORED_ANSWER_CHARS = 20_000
"""How much of one LLM answer is stored with a trial (an answer that long is unusable
anyway); the cut is marked in the stored text."""


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with how much went."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit:,} characters cut]"


def rounded(config: dict[str, Any]) -> dict[str, Any]:
    """Floats to four significant digits, for a line a person reads."""
    return {k: (float(format(v, ".4g")) if isinstance(v, float) else v) for k, v in config.items()}


class Recorder:
    """Builds and stores a trial's attributes.

    Args:
        backbone_name: The backbone's class name, as rationales name it.
        model: The LLM's name (called when needed: the LLM may resolve lazily).
        cost: Dollars for ``(prompt tokens, completion tokens)``, or ``None`` if unknown.
        record_calls: Whether every request and answer is stored.
    """

    def __init__(
        self,
        *,
        backbone_name: str,
        model: Callable[[], str],
        cost: Callable[[int, int], float | None],
        record_calls: bool,
    ) -> None:
        self._backbone = backbone_name
        self._model = model
        self._cost = cost
        self._record_calls = record_calls

    @staticmethod
    def store(study: Study, trial: FrozenTrial, attrs: dict[str, Any]) -> None:
        """Writes ``attrs`` as the trial's user attributes."""
        for key, value in attrs.items():
            _optuna.set_trial_user_attr(study, trial, key, value)

    def calls(self, study: Study, trial: FrozenTrial, calls: Sequence[CallRecord]) -> None:
        """Stores every request and answer of ``calls`` on the trial (answers cut)."""
        if not self._record_calls or not calls:
            return
        payload: list[Any] = [
            {
                "messages": c.messages,
                "text": cut(c.text, MAX_STORED_ANSWER_CHARS),
                "model": c.model,
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "latency_s": round(c.latency_s, 3),
            }
            for c in calls
        ]
        _optuna.set_trial_system_attr(study, trial, _keys.SYS_LLM_CALLS, payload)

    def proposal(self, proposal: Proposal) -> dict[str, Any]:
        """The attributes of a trial that runs the LLM's proposal."""
        attrs: dict[str, Any] = {
            _keys.PROPOSED_BY: "llm",
            _keys.RATIONALE: one_line(proposal.rationale, RATIONALE_ATTR_MAX),
            _keys.LLM_MODEL: self._model(),
            _keys.LLM_PROMPT_TOKENS: proposal.prompt_tokens,
            _keys.LLM_COMPLETION_TOKENS: proposal.completion_tokens,
            _keys.LLM_LATENCY_S: round(proposal.latency_s, 3),
            _keys.LLM_CALLS: len(proposal.calls),
        }
        cost = self._cost(proposal.prompt_tokens, proposal.completion_tokens)
        if cost is not None:
            attrs[_keys.LLM_COST] = round(cost, 6)
        if proposal.repaired:
            attrs[_keys.LLM_REPAIRED] = one_line("; ".join(proposal.repaired), RATIONALE_ATTR_MAX)
        if proposal.near_copy is not None:
            attrs[_keys.LLM_NEAR_COPY] = proposal.near_copy.to_attr(repaired=True)
        if proposal.failure_region is not None:
            attrs[_keys.LLM_FAILURE_REGION] = _region_attr(proposal.failure_region, True)
        if proposal.rationale_check:
            attrs[_keys.RATIONALE_CHECK] = one_line(proposal.rationale_check, RATIONALE_ATTR_MAX)
        return attrs

    def batch_candidate(self, proposal: Proposal) -> dict[str, Any]:
        """The attributes of a batch's other candidate, enqueued for any worker."""
        attrs: dict[str, Any] = {
            _keys.PROPOSED_BY: "llm",
            _keys.RATIONALE: one_line(proposal.rationale, RATIONALE_ATTR_MAX),
            _keys.LLM_MODEL: self._model(),
            _keys.LLM_BATCH: True,
        }
        if proposal.rationale_check:
            attrs[_keys.RATIONALE_CHECK] = one_line(proposal.rationale_check, RATIONALE_ATTR_MAX)
        return attrs

    def fallback(self, failed: ProposalFailed) -> dict[str, Any]:
        """The attributes of a backbone trial the LLM was asked for but gave nothing usable."""
        prompt = sum(c.prompt_tokens for c in failed.calls)
        completion = sum(c.completion_tokens for c in failed.calls)
        attrs: dict[str, Any] = {
            _keys.PROPOSED_BY: "backbone",
            _keys.FALLBACK_REASON: one_line(f"{failed.kind}: {failed.detail}", RATIONALE_ATTR_MAX),
            _keys.RATIONALE: f"{self._backbone} proposed (LLM fallback: {failed.kind})",
            _keys.LLM_MODEL: self._model(),
            _keys.LLM_PROMPT_TOKENS: prompt,
            _keys.LLM_COMPLETION_TOKENS: completion,
            _keys.LLM_LATENCY_S: round(sum(c.latency_s for c in failed.calls), 3),
            _keys.LLM_CALLS: len(failed.calls),
        }
        cost = self._cost(prompt, completion)
        if cost is not None:
            attrs[_keys.LLM_COST] = round(cost, 6)
        if failed.near_copy is not None:
            attrs[_keys.LLM_NEAR_COPY] = failed.near_copy.to_attr(repaired=False)
        if failed.failure_region is not None:
            attrs[_keys.LLM_FAILURE_REGION] = _region_attr(failed.failure_region, False)
        return attrs

    def screened(
        self, config: dict[str, Any], rationale: str, verdict: ScreenVerdict, *, proposer: str
    ) -> dict[str, Any]:
        """The attributes of a trial whose ``proposer``'s configuration the screen refused:
        the backbone's turn, with the proposal, its reason and both scores kept."""
        shown = json.dumps(rounded(config))
        return {
            _keys.PROPOSED_BY: "backbone",
            _keys.FALLBACK_REASON: one_line(
                f"screened: {shown}; {verdict.describe()}; {proposer}'s reason: {rationale}",
                RATIONALE_ATTR_MAX,
            ),
            _keys.RATIONALE: one_line(
                f"{self._backbone} proposed: it screened out {proposer}'s"
                f" proposal {shown}, {verdict.describe()}",
                RATIONALE_ATTR_MAX,
            ),
            _keys.SCREENED: {
                "proposed_by": proposer,
                "config": dict(config),
                "rationale": one_line(rationale, RATIONALE_ATTR_MAX),
                "log_ratio": round(verdict.llm, 4),
                "backbone_log_ratio": round(verdict.own, 4),
            },
        }

    def screened_llm(self, proposal: Proposal, verdict: ScreenVerdict) -> dict[str, Any]:
        """:meth:`screened` for the LLM's own proposal (its calls' tokens counted)."""
        attrs = self.fallback(ProposalFailed("screened", "", proposal.calls))
        attrs.update(
            self.screened(proposal.config, proposal.rationale, verdict, proposer="the LLM")
        )
        attrs[_keys.SCREENED]["proposed_by"] = "llm"
        attrs[_keys.LLM_CANDIDATES] = verdict.to_attr(proposal.config)
        if proposal.near_copy is not None:
            attrs[_keys.LLM_NEAR_COPY] = proposal.near_copy.to_attr(repaired=True)
        if proposal.rationale_check:
            attrs[_keys.RATIONALE_CHECK] = one_line(proposal.rationale_check, RATIONALE_ATTR_MAX)
        return attrs


def _region_attr(region: FailureRegion, repaired: bool) -> dict[str, Any]:
    """The trial attribute ``llm_failure_region``: which failures, and whether a repair round
    moved the answer out of their region."""
    return {"cause": region.cause, "trials": list(region.trials), "repaired": repaired}
