"""Synthetic proposers that stand in for an LLM, to measure the mechanism apart from ideas.

``--llm random`` is :class:`agenthpo.llm.RandomLLM` (a proposer with no ideas, drawing as
random search does). ``--llm corners`` is :class:`CornerLLM`, a confidently wrong proposer:
every numeric hyperparameter at one end of its range (learning rates of 1e-5 or 1, one layer
or three, the smallest or the largest width), categoricals at random. Extreme settings are
rarely good, so it stands for a model whose advice is systematically bad, and shows what such
a model costs each strategy: the fixed share pays for it to the end of the budget, the
adaptive share (``agenthpo.agent.trust``) stops listening.

Example:
    >>> import json
    >>> from agenthpo.llm import Message
    >>> from agenthpo.space import Space
    >>> space = Space.from_dict({"lr": {"type": "float", "low": 1e-5, "high": 1.0, "log": True},
    ...                          "opt": ["adam", "sgd"]})
    >>> llm = CornerLLM(seed=0, space=space)
    >>> schema = {"type": "object", "properties": {"config": space.json_schema()}}
    >>> config = json.loads(llm.complete([Message("user", "go")], schema=schema).text)["config"]
    >>> config["lr"] in (1e-5, 1.0), config["opt"] in ("adam", "sgd")
    (True, True)
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from agenthpo.llm import Message
from agenthpo.llm._base import LLMResponse, Usage
from agenthpo.space import Space

__all__ = ["CONTROLS", "CornerLLM"]

CONTROLS: tuple[str, ...] = ("random", "corners")
"""``--llm`` values that are synthetic proposers, not models."""


@dataclass
class CornerLLM:
    """Answers every proposal request with a random corner of the search space."""

    seed: int | None = 0
    space: Space | None = None
    model: str = "corners"

    def __post_init__(self) -> None:
        if self.space is None:
            raise ValueError("CornerLLM needs the task's space")
        self._rng = random.Random(self.seed)

    @property
    def name(self) -> str:
        """``control:corners``."""
        return f"control:{self.model}"

    def corner(self) -> dict[str, Any]:
        """One corner: each numeric parameter at its low or high end."""
        assert self.space is not None
        config: dict[str, Any] = {}
        for name, dist in self.space.to_optuna().items():
            if isinstance(dist, (FloatDistribution, IntDistribution)):
                config[name] = dist.low if self._rng.random() < 0.5 else dist.high
            elif isinstance(dist, CategoricalDistribution):
                config[name] = self._rng.choice(list(dist.choices))
        active = set(self.space.active(config))
        return {k: (v if k in active else None) for k, v in config.items()}

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> LLMResponse:
        """A corner as the answer (several, if the schema asks for candidates)."""
        del max_tokens, temperature, seed
        wants = (schema or {}).get("properties", {})
        if "candidates" in wants:
            count = int(wants["candidates"].get("minItems", 1))
            body: dict[str, Any] = {
                "candidates": [
                    {"config": self.corner(), "rationale": "an extreme setting"}
                    for _ in range(count)
                ]
            }
        else:
            body = {"config": self.corner(), "rationale": "an extreme setting"}
        text = json.dumps(body)
        return LLMResponse(
            text=text,
            model=self.model,
            provider="control",
            usage=Usage(prompt_tokens=0, completion_tokens=0),
        )
