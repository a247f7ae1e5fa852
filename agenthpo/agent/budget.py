"""The LLM's token and cost budget: spent once the study's trials used it up.

Example:
    >>> from agenthpo.agent.budget import spent
    >>> from agenthpo.policy import LLMPolicy
    >>> spent(LLMPolicy(max_tokens=100), []) is None
    True
"""

from __future__ import annotations

from collections.abc import Sequence

from optuna.trial import FrozenTrial

from agenthpo import _keys
from agenthpo.llm._pricing import price_of
from agenthpo.policy import LLMPolicy

__all__ = ["cost", "spent"]


def spent(policy: LLMPolicy, trials: Sequence[FrozenTrial]) -> str | None:
    """Why the LLM's budget is spent (tokens or dollars over the policy's limit), or ``None``."""
    if policy.max_tokens is None and policy.max_cost is None:
        return None
    tokens = 0
    dollars = 0.0
    for t in trials:
        attrs = t.user_attrs
        tokens += int(attrs.get(_keys.LLM_PROMPT_TOKENS, 0))
        tokens += int(attrs.get(_keys.LLM_COMPLETION_TOKENS, 0))
        revision = attrs.get(_keys.SPACE_REVISION)
        if isinstance(revision, dict):  # a revision of the space made at this trial
            tokens += int(revision.get("prompt_tokens", 0)) + int(
                revision.get("completion_tokens", 0)
            )
        dollars += float(attrs.get(_keys.LLM_COST, 0.0) or 0.0)
    if policy.max_tokens is not None and tokens >= policy.max_tokens:
        return f"{tokens} LLM tokens used, limit {policy.max_tokens}"
    if policy.max_cost is not None and dollars >= policy.max_cost:
        return f"${dollars:.4f} spent on the LLM, limit ${policy.max_cost:g}"
    return None


def cost(policy: LLMPolicy, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Dollars for one proposal's tokens (the policy's price, else the table's), or ``None``."""
    return price_of(model, prompt_tokens, completion_tokens, price_per_mtok=policy.price_per_mtok)
