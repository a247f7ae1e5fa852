"""Approximate prices of known hosted models, for cost accounting and ``--max-llm-cost``.

US dollars per million tokens (input, output), as published by the providers in 2025-2026;
prices change, so a task can set its own (``llm: {price_per_mtok: [input, output]}``).
Local models cost nothing.

Example:
    >>> round(price_of("openai:gpt-4o-mini", 1_000_000, 100_000), 3)
    0.21
"""

from __future__ import annotations

__all__ = ["KNOWN_PRICES", "price_of"]

KNOWN_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o4-mini": (1.10, 4.40),
    "claude-3-5-haiku-latest": (0.80, 4.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-sonnet-4-0": (3.00, 15.00),
    "deepseek-chat": (0.27, 1.10),
    "deepseek-reasoner": (0.55, 2.19),
}


def price_of(
    name: str,
    prompt_tokens: int,
    completion_tokens: int,
    *,
    price_per_mtok: tuple[float, float] | None = None,
) -> float | None:
    """Dollars for the tokens of model ``name`` (``provider:model``); ``None`` if unknown.

    Local and scripted models cost 0.
    """
    provider, _, model = name.partition(":")
    if price_per_mtok is None:
        if provider in ("local", "scripted", "random", "replay"):
            return 0.0
        price_per_mtok = KNOWN_PRICES.get(model) or KNOWN_PRICES.get(model.split("/")[-1])
        if price_per_mtok is None:
            return None
    inp, out = price_per_mtok
    return (prompt_tokens * inp + completion_tokens * out) / 1_000_000
