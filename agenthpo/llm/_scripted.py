"""Deterministic stand-ins for an LLM: for tests, contract suites and dry runs.

Example:
    >>> from agenthpo.llm import Message, ScriptedLLM
    >>> llm = ScriptedLLM(['{"config": {"x": 1.0}, "rationale": "start"}'])
    >>> llm.complete([Message("user", "hi")]).text
    '{"config": {"x": 1.0}, "rationale": "start"}'
    >>> len(llm.calls)
    1
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agenthpo.errors import LLMError
from agenthpo.llm._base import LLMResponse, Message, Usage

__all__ = ["RandomLLM", "ScriptedLLM"]

Script = str | Exception | Callable[[Sequence[Message], dict[str, Any] | None], str]


@dataclass
class RecordedCall:
    """One call a fake LLM received."""

    messages: list[Message]
    schema: dict[str, Any] | None
    seed: int | None


def _usage(messages: Sequence[Message], text: str) -> Usage:
    # A rough count (about four characters a token) so cost accounting has numbers to add.
    prompt = sum(len(m.content) for m in messages) // 4 + 1
    return Usage(prompt_tokens=prompt, completion_tokens=len(text) // 4 + 1)


@dataclass
class ScriptedLLM:
    """Answers with the given script, in order.

    Each entry is a text, an exception to raise, or a function of ``(messages, schema)``
    returning a text. After the last entry it repeats the last one (``cycle=False``) or
    starts over (``cycle=True``).
    """

    script: Sequence[Script]
    cycle: bool = False
    model: str = "scripted"
    calls: list[RecordedCall] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``scripted:<model>``."""
        return f"scripted:{self.model}"

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> LLMResponse:
        """Returns the next scripted answer."""
        if not self.script:
            raise LLMError("ScriptedLLM has an empty script")
        index = len(self.calls)
        self.calls.append(RecordedCall(list(messages), schema, seed))
        if self.cycle:
            entry = self.script[index % len(self.script)]
        else:
            entry = self.script[min(index, len(self.script) - 1)]
        if isinstance(entry, Exception):
            raise entry
        text = entry if isinstance(entry, str) else entry(messages, schema)
        return LLMResponse(
            text=text, model=self.model, provider="scripted", usage=_usage(messages, text)
        )


def _sample(schema: dict[str, Any], rng: random.Random) -> Any:
    if "enum" in schema:
        return rng.choice(list(schema["enum"]))
    kind = schema.get("type")
    if kind == "integer":
        return rng.randint(int(schema["minimum"]), int(schema["maximum"]))
    if kind == "number":
        return rng.uniform(float(schema["minimum"]), float(schema["maximum"]))
    if kind == "object":
        return {k: _sample(v, rng) for k, v in schema.get("properties", {}).items()}
    if kind == "string":
        return "a random proposal"
    raise ValueError(f"RandomLLM cannot sample schema {schema!r}")


@dataclass
class RandomLLM:
    """Answers every request with a random answer that follows the request's JSON schema.

    Deterministic for a given ``seed`` and request sequence (or per-call ``seed``). Useful
    as the LLM behind :class:`agenthpo.AgentSampler` in contract tests and dry runs.
    """

    seed: int | None = 0
    model: str = "random"
    calls: int = 0
    latency_s: float = 0.0
    """Seconds each call sleeps: a stand-in for a real model's latency in benchmarks."""

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def name(self) -> str:
        """``random:<model>``."""
        return f"random:{self.model}"

    def reseed(self, seed: int | None) -> None:
        """Restarts the random stream."""
        self.seed = seed
        self._rng = random.Random(seed)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> LLMResponse:
        """A random answer following ``schema`` (``{}`` without one)."""
        self.calls += 1
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        rng = random.Random(seed) if seed is not None else self._rng
        value = _sample(schema, rng) if schema is not None else {}
        text = json.dumps(value)
        return LLMResponse(
            text=text,
            model=self.model,
            provider="random",
            usage=_usage(messages, text),
            latency_s=self.latency_s,
        )
