"""A revision of the search space: when one is due, the one LLM call, and what is stored.

:class:`Reviser` is the sampler's part for ``LLMPolicy.revise_space_every``. At the first
trial to start once ``warmup + k * revise_space_every`` trials have completed (and at least
:data:`~agenthpo.agent.revision.MIN_TRIALS`), revision ``k`` (at most
``revise_space_max``) is claimed in the study (``agenthpo_space_revision_K``, written
first, so another worker that reaches the same point finds it and goes on), the LLM is
asked once (the task, the space in force, the history with the best trial and the metric's
direction stated, where the best trials lie in each range and the rules) and every change it
proposes is checked (:mod:`agenthpo.agent.revision`). The record, accepted and rejected
changes alike, replaces the claim; the trial it was made at carries a short note
(``space_revision``) that the run's console shows. An answer that is not JSON gets the
policy's repair rounds; an LLM error or an unreadable answer ends the revision with the
reason stored, and the search goes on on the space as it was.

Example:
    >>> from agenthpo.policy import LLMPolicy
    >>> Reviser.due_round(LLMPolicy(revise_space_every=10), {}, completed=10)
    1
    >>> Reviser.due_round(LLMPolicy(revise_space_every=10, warmup=5), {}, completed=10)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys, _optuna
from agenthpo._text import one_line
from agenthpo.agent.budget import spent
from agenthpo.agent.history import render_history, trial_views
from agenthpo.agent.prompts import (
    REVISION_SYSTEM_PROMPT,
    TaskContext,
    creator_messages_text,
    not_json_problem,
    revision_repair_prompt,
    revision_request,
    revision_schema,
)
from agenthpo.agent.revision import (
    KEEP_TOP,
    MIN_KEPT,
    MIN_TRIALS,
    NEAR_BOUND,
    RangeChange,
    check_changes,
    range_facts,
    space_in_force,
    stored_rounds,
)
from agenthpo.errors import LLMError
from agenthpo.llm import LLMClient, Message, extract_json
from agenthpo.policy import LLMPolicy
from agenthpo.space import FloatParam, IntParam, Space

__all__ = ["Reviser", "parse_revisions"]

_logger = logging.getLogger("agenthpo")

_MAX_TOKENS = 768


def parse_revisions(text: str) -> list[Any]:
    """The list of proposed changes in an answer (``{"revisions": [...]}`` or a bare list).

    Raises:
        ValueError: No JSON, or no list of revisions in it.

    Example:
        >>> parse_revisions('{"revisions": [{"param": "x", "low": 0, "high": 2}]}')
        [{'param': 'x', 'low': 0, 'high': 2}]
    """
    data = extract_json(text)
    items = data.get("revisions") if isinstance(data, dict) else data
    if isinstance(data, dict) and items is None and "param" in data:
        items = [data]
    if not isinstance(items, list):
        raise ValueError('the answer has no "revisions" list')
    return items


def _ranked(trials: Sequence[FrozenTrial], direction: str) -> list[tuple[int, dict[str, Any]]]:
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
    sign = -1.0 if direction == "maximize" else 1.0
    done.sort(key=lambda t: (sign * t.values[0], t.number))
    return [(t.number, dict(t.params)) for t in done]


class Reviser:
    """Makes the study's revisions of the search space (``LLMPolicy.revise_space_every``).

    Args:
        context_for: The task's background for a study (the proposer's).
        hidden_metrics: Stored metrics never shown to the LLM.
    """

    def __init__(
        self, *, context_for: Callable[[Study], TaskContext], hidden_metrics: Sequence[str]
    ) -> None:
        self._context_for = context_for
        self._hidden = tuple(hidden_metrics)

    @staticmethod
    def due_round(
        policy: LLMPolicy, user_attrs: Mapping[str, Any], *, completed: int
    ) -> int | None:
        """The revision due with ``completed`` trials completed, or ``None``."""
        every = policy.revise_space_every
        if not every:
            return None
        k = len(stored_rounds(user_attrs)) + 1
        if k > policy.revise_space_max or completed < max(MIN_TRIALS, policy.warmup + k * every):
            return None
        return k

    def due(self, study: Study, number: int, policy: LLMPolicy) -> int | None:
        """The revision due at trial ``number``, or ``None`` (several objectives never
        revise; a spent LLM budget neither)."""
        if not policy.revise_space_every or len(study.directions) > 1:
            return None
        trials = [t for t in study.get_trials(deepcopy=False) if t.number != number]
        completed = sum(1 for t in trials if t.state == TrialState.COMPLETE and t.values)
        k = self.due_round(policy, study.user_attrs, completed=completed)
        if k is None or spent(policy, trials) is not None:
            return None
        return k

    def revise(
        self,
        study: Study,
        trial: FrozenTrial,
        base: Space,
        policy: LLMPolicy,
        *,
        llm: LLMClient,
        seed: int | None,
        k: int,
    ) -> list[RangeChange] | None:
        """Revision ``k`` at ``trial``: claims it, asks the LLM and stores the record; the
        changes checked (``None`` when another worker claimed it or the LLM gave none)."""
        key = f"{_keys.STUDY_SPACE_REVISION}{k}"
        if key in study.user_attrs:
            return None
        record: dict[str, Any] = {"round": k, "at_trial": trial.number, "state": "asking"}
        study.set_user_attr(key, record)
        claimed = study.user_attrs.get(key)
        if not isinstance(claimed, dict) or claimed.get("at_trial") != trial.number:
            return None  # another worker makes it
        space = space_in_force(base, study.user_attrs)
        trials = [t for t in study.get_trials(deepcopy=False) if t.number != trial.number]
        context = self._context_for(study)
        ranked = _ranked(trials, context.direction)
        record["completed"] = len(ranked)
        try:
            outcome = self._ask(study, trials, space, base, ranked, context, policy, llm, seed)
        except Exception as exc:  # the answer is outside input: it costs the revision only
            outcome = f"unexpected {type(exc).__name__}: {one_line(str(exc), 200)}"
        if isinstance(outcome, str):
            record.update(state="failed", failed=one_line(outcome, 300), changes=[])
            study.set_user_attr(key, record)
            _logger.info("trial %d: no space revision %d (%s)", trial.number, k, outcome)
            self._note(study, trial, {"round": k, "failed": one_line(outcome, 200)})
            return None
        items, usage = outcome
        changes, _ = check_changes(
            items, space, ranked, at_trial=trial.number, completed=[n for n, _ in ranked]
        )
        record.update(state="done", changes=[c.to_attr() for c in changes], **usage)
        study.set_user_attr(key, record)
        accepted = [c for c in changes if c.accepted]
        summary = "; ".join(c.describe() for c in changes) or "no change proposed"
        _logger.info("trial %d: space revision %d: %s", trial.number, k, summary)
        self._note(
            study,
            trial,
            {
                "round": k,
                "accepted": len(accepted),
                "rejected": len(changes) - len(accepted),
                "summary": one_line(summary, 300),
                "prompt_tokens": usage["prompt_tokens"],
                "completion_tokens": usage["completion_tokens"],
            },
        )
        return changes

    @staticmethod
    def _note(study: Study, trial: FrozenTrial, note: dict[str, Any]) -> None:
        _optuna.set_trial_user_attr(study, trial, _keys.SPACE_REVISION, note)

    def _ask(
        self,
        study: Study,
        trials: Sequence[FrozenTrial],
        space: Space,
        base: Space,
        ranked: Sequence[tuple[int, Mapping[str, Any]]],
        context: TaskContext,
        policy: LLMPolicy,
        llm: LLMClient,
        seed: int | None,
    ) -> tuple[list[Any], dict[str, Any]] | str:
        """The LLM's proposed changes and the call's usage, or why there are none."""
        views = trial_views(trials, hidden_metrics=self._hidden, metric=context.metric)
        history = render_history(
            views,
            metric=context.metric,
            direction=context.direction,
            space=space,
            hidden_metrics=self._hidden,
        )
        facts = range_facts(space, ranked)
        original = {
            name: (p.low, p.high)
            for name, p in base.items()
            if isinstance(p, (FloatParam, IntParam))
        }
        body = creator_messages_text(context, space, history).rsplit("\n", 1)[0]
        request = revision_request(
            facts, original, keep_top=KEEP_TOP, near_bound=NEAR_BOUND, min_kept=MIN_KEPT
        )
        messages = [
            Message("system", REVISION_SYSTEM_PROMPT),
            Message("user", f"{body}\n{request}"),
        ]
        integers = [n for n, p in space.items() if isinstance(p, IntParam)]
        schema = revision_schema(facts, integers=integers)
        usage: dict[str, Any] = {"model": llm.name}
        prompt_tokens = completion_tokens = 0
        problem = "no answer"
        for round_ in range(policy.repair_rounds + 1):
            try:
                response = llm.complete(
                    messages,
                    schema=schema,
                    max_tokens=_MAX_TOKENS,
                    temperature=policy.temperature,
                    seed=None if seed is None else seed + round_,
                )
            except LLMError as exc:
                return f"llm_error: {exc}"
            prompt_tokens += response.usage.prompt_tokens
            completion_tokens += response.usage.completion_tokens
            usage.update(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
            if policy.record_calls:
                usage["answer"] = one_line(response.text, 2000)
            try:
                return parse_revisions(response.text), usage
            except ValueError as exc:
                problem = not_json_problem(str(exc))
            messages = [
                *messages,
                Message("assistant", one_line(response.text, 2000)),
                Message("user", revision_repair_prompt(problem)),
            ]
        return f"not_json: {problem}"
