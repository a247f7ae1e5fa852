"""Replay: serve the answers an earlier study recorded, in the order it recorded them.

Every LLM request and response is stored with the study's trials; a replayed run asks no
LLM at all. With the same seed and the same strategy, the replayed run makes the same
proposals, whatever its trials' results.

Example:
    >>> from agenthpo.llm import Message, ReplayLLM
    >>> llm = ReplayLLM(["first answer", "second answer"], model="scripted:m")
    >>> llm.complete([Message("user", "anything")]).text
    'first answer'
    >>> llm.remaining
    1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agenthpo.errors import LLMError
from agenthpo.llm._base import LLMResponse, Message, Usage

__all__ = ["ReplayLLM"]


class ReplayLLM:
    """Answers with recorded texts, one per call, in order; raises when they run out.

    Args:
        texts: The recorded answers, oldest first.
        model: The name of the model that wrote them (shown as ``replay:<model>``).
        embedded: Whether that model was the embedded one, so the replay gets its schedule
            and repair rounds (:func:`agenthpo.llm.is_embedded`).
    """

    def __init__(
        self, texts: Sequence[str], *, model: str = "recorded", embedded: bool = False
    ) -> None:
        self._texts = list(texts)
        self._next = 0
        self.model = model
        self.embedded = embedded

    @property
    def name(self) -> str:
        """``replay:<model>``."""
        return f"replay:{self.model}"

    @property
    def remaining(self) -> int:
        """Recorded answers not served yet."""
        return len(self._texts) - self._next

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> LLMResponse:
        """The next recorded answer (no tokens are spent)."""
        if self._next >= len(self._texts):
            raise LLMError(
                f"replay: all {len(self._texts)} recorded answers were used; the replayed run"
                " asked for more than the original (a different strategy, seed or budget?)"
            )
        text = self._texts[self._next]
        self._next += 1
        return LLMResponse(text=text, model=self.model, provider="replay", usage=Usage())
