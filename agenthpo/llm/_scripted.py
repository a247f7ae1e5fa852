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
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

from agenthpo.errors import LLMError
from agenthpo.llm._base import LLMResponse, Message, Usage

__all__ = ["RandomLLM", "SamplingSpace", "ScriptedLLM"]

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


class SamplingSpace(Protocol):
    """What :class:`RandomLLM` needs of a search space (:class:`agenthpo.space.Space` has it)."""

    def to_optuna(self) -> Mapping[str, BaseDistribution]:
        """The parameters as Optuna distributions (log scales and steps included)."""
        ...

    def active(self, config: Mapping[str, Any]) -> list[str]:
        """The parameters that exist for ``config`` (conditional ones may not)."""
        ...


def _sample_space(space: SamplingSpace, rng: random.Random) -> dict[str, Any]:
    """One configuration drawn as Optuna's ``RandomSampler`` draws it: uniform in each
    parameter's transformed range (log space for log scales), snapped to its step grid,
    categoricals uniform; conditional parameters that are inactive are ``None``."""
    import numpy as np
    from optuna.distributions import IntDistribution

    from agenthpo import _optuna

    distributions = dict(space.to_optuna())
    state = np.random.RandomState(rng.randrange(2**32))
    drawn = _optuna.uniform_draw(distributions, state)
    config: dict[str, Any] = {}
    for name, dist in distributions.items():
        value = drawn[name]
        if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            value = int(value) if isinstance(dist, IntDistribution) else float(value)
        config[name] = value
    active = set(space.active(config))
    return {name: (value if name in active else None) for name, value in config.items()}


_UNBOUNDED_WIDTH = 100.0
"""How far a number with one bound (or none: from 0) is drawn: a schema without bounds allows
any number, and this keeps the draw a number a parser reads back exactly."""


def _bounds(schema: Mapping[str, Any]) -> tuple[float, float]:
    """A number schema's ``[minimum, maximum]``; a missing side lies ``_UNBOUNDED_WIDTH``
    from the other (from 0 when both are missing)."""
    low: float | None = None if schema.get("minimum") is None else float(schema["minimum"])
    high: float | None = None if schema.get("maximum") is None else float(schema["maximum"])
    if low is None:
        low = (high if high is not None else _UNBOUNDED_WIDTH) - _UNBOUNDED_WIDTH
    if high is None:
        high = low + _UNBOUNDED_WIDTH
    return low, high


def _sample(schema: dict[str, Any], rng: random.Random, space: SamplingSpace | None) -> Any:
    if "enum" in schema:
        return rng.choice(list(schema["enum"]))
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"] or schema["anyOf"]
        return _sample(rng.choice(options), rng, space)
    kind = schema.get("type")
    if kind in ("integer", "number"):
        low, high = _bounds(schema)
        if kind == "integer":
            return rng.randint(math.ceil(low), math.floor(high))
        return rng.uniform(low, high)
    if kind == "object":
        properties = schema.get("properties", {})
        if space is not None and properties and set(properties) == set(space.to_optuna()):
            return _sample_space(space, rng)
        return {k: _sample(v, rng, space) for k, v in properties.items()}
    if kind == "array":
        count = int(schema.get("minItems", schema.get("maxItems", 1)))
        return [_sample(schema.get("items", {}), rng, space) for _ in range(count)]
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "string":
        return "a random proposal"
    if kind == "null":
        return None
    raise ValueError(f"RandomLLM cannot sample schema {schema!r}")


@dataclass
class RandomLLM:
    """Answers every request with a random answer that follows the request's JSON schema.

    Deterministic for a given ``seed`` and request sequence (or per-call ``seed``). Useful
    as the LLM behind :class:`agenthpo.AgentSampler` in contract tests and dry runs, and as
    the benchmarks' control: a proposer with no ideas.

    A JSON schema cannot say that a parameter is log-scaled or on a step grid, so without a
    ``space`` numbers are drawn uniformly between the schema's bounds. Given the search
    ``space``, every configuration in an answer is drawn through it as Optuna's
    ``RandomSampler`` draws (log scales in log space, steps on their grid), so the control
    proposes like random search.

    Example:
        >>> from agenthpo.space import Space
        >>> space = Space.from_dict({"lr": {"type": "float", "low": 1e-6, "high": 1.0,
        ...                                 "log": True}})
        >>> schema = {"type": "object", "properties": {"config": space.json_schema()}}
        >>> llm = RandomLLM(seed=0, space=space)
        >>> answer = json.loads(llm.complete([Message("user", "go")], schema=schema).text)
        >>> 1e-6 <= answer["config"]["lr"] <= 1.0
        True
    """

    seed: int | None = 0
    model: str = "random"
    calls: int = 0
    latency_s: float = 0.0
    """Seconds each call sleeps: a stand-in for a real model's latency in benchmarks."""
    space: SamplingSpace | None = None
    """The search space configurations are drawn through (log scales, steps); see above."""

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
        value = _sample(schema, rng, self.space) if schema is not None else {}
        text = json.dumps(value)
        return LLMResponse(
            text=text,
            model=self.model,
            provider="random",
            usage=_usage(messages, text),
            latency_s=self.latency_s,
        )
