"""The one small protocol every LLM provider implements.

Messages and an optional JSON schema go in; text, token usage and latency come out.

Example:
    >>> from agenthpo.llm import Message, LLMResponse, Usage
    >>> msg = Message(role="user", content="Propose a learning rate.")
    >>> LLMResponse(text="{}", model="m", provider="fake", usage=Usage(3, 1)).usage.total
    4
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = ["LLMClient", "LLMResponse", "Message", "Usage", "is_embedded"]


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Literal["system", "user", "assistant"]
    content: str

    def to_dict(self) -> dict[str, str]:
        """Returns the OpenAI-style ``{"role": ..., "content": ...}`` mapping."""
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Usage:
    """Token counts of one call (zero where the backend did not report them)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class LLMResponse:
    """The text of one completion and what it cost."""

    text: str
    model: str
    provider: str
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    attempts: int = 1
    structured: str = "none"
    """How the output was constrained: json_schema, json_object_schema, json_object, grammar,
    or none."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def truncated(self) -> bool:
        """Whether the answer stopped at the ``max_tokens`` budget rather than ending: an
        OpenAI-compatible ``finish_reason`` of ``length`` or Anthropic's ``stop_reason`` of
        ``max_tokens``. Half an answer is not bad JSON: the fix is a shorter answer.

        Example:
            >>> LLMResponse("{", "m", "p", extra={"finish_reason": "length"}).truncated
            True
        """
        return (
            self.extra.get("finish_reason") == "length"
            or self.extra.get("stop_reason") == "max_tokens"
        )


@runtime_checkable
class LLMClient(Protocol):
    """What the agent needs from a model.

    ``schema`` is a JSON schema the answer should follow; a provider constrains decoding
    with it where the backend can, and otherwise just asks for JSON. Callers validate the
    answer either way.
    """

    @property
    def name(self) -> str:
        """A short identifier such as ``openai:gpt-4o-mini``; never contains a secret."""
        ...

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> LLMResponse:
        """Returns one completion; raises :class:`agenthpo.errors.LLMError` on failure."""
        ...


def is_embedded(llm: object) -> bool:
    """Whether a client is (or replays) the embedded SmolLM2-135M: a tiny model whose first
    ideas are no better than random draws and whose invalid answers a repair round rarely
    fixes. Clients say so with an ``embedded`` attribute.

    Example:
        >>> from agenthpo.llm import RandomLLM, ReplayLLM
        >>> is_embedded(RandomLLM(seed=0)), is_embedded(ReplayLLM(["{}"], embedded=True))
        (False, True)
    """
    return bool(getattr(llm, "embedded", False))
