"""All prompt text in one place.

The Creator's prompt carries the task's background as the AgentHPO paper does (the
hyperparameters with their ranges, dataset facts, model facts, the goal) and a compact
history. The answer is JSON with the config first and a one-line rationale after it: a
rationale written first, with raw newlines, once ran to the token limit and broke the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agenthpo.space import Space

__all__ = [
    "RATIONALE_MAX_CHARS",
    "SYSTEM_PROMPT",
    "TaskContext",
    "answer_schema",
    "batch_request",
    "batch_schema",
    "creator_messages_text",
    "format_facts",
    "repair_prompt",
]

RATIONALE_MAX_CHARS = 240

SYSTEM_PROMPT = """\
You are an expert machine-learning engineer tuning the hyperparameters of a training run.
You read the task, the search space and the results of earlier trials, reason about what they
show (divergence, overfitting, underfitting, a budget too short), and propose the next
configuration to try. Stay inside the search space exactly: use only the listed names, keep
numbers within their bounds and pick categorical values from their choices. Never repeat a
configuration that was already tried. Answer with one JSON object and nothing else:
{"config": {<every hyperparameter>: <value>}, "rationale": "<one short sentence on why>"}"""


@dataclass(frozen=True)
class TaskContext:
    """The background the Creator reads: what is trained, on what, and the goal.

    Example:
        >>> ctx = TaskContext(name="digits", metric="val_accuracy", direction="maximize")
        >>> ctx.goal()
        'maximize val_accuracy'
    """

    name: str = "study"
    description: str = ""
    dataset: Mapping[str, Any] | str = field(default_factory=dict)
    model: Mapping[str, Any] | str = field(default_factory=dict)
    metric: str = "value"
    direction: Literal["maximize", "minimize"] = "minimize"
    objectives: tuple[tuple[str, Literal["maximize", "minimize"]], ...] = ()
    """Every objective as ``(metric, direction)``, when there are several (the first is
    ``metric``/``direction``); empty for one objective."""

    def __post_init__(self) -> None:
        if len(self.objectives) == 1:
            object.__setattr__(self, "objectives", ())
        elif self.objectives:  # the first objective is the primary metric
            object.__setattr__(self, "metric", self.objectives[0][0])
            object.__setattr__(self, "direction", self.objectives[0][1])

    @property
    def all_objectives(self) -> tuple[tuple[str, Literal["maximize", "minimize"]], ...]:
        """``(metric, direction)`` of every objective (one, or several for a trade-off)."""
        return self.objectives or ((self.metric, self.direction),)

    @property
    def is_multi_objective(self) -> bool:
        """Whether the goal is a trade-off between several metrics."""
        return len(self.all_objectives) > 1

    def goal(self) -> str:
        """``maximize val_accuracy`` (several objectives: a Pareto-front goal).

        Example:
            >>> ctx = TaskContext(objectives=(("acc", "maximize"), ("seconds", "minimize")))
            >>> ctx.goal().split(":")[0]
            'maximize acc and minimize seconds'
        """
        if not self.is_multi_objective:
            return f"{self.direction} {self.metric}"
        parts = " and ".join(f"{d} {m}" for m, d in self.all_objectives)
        return (
            f"{parts}: a trade-off, so find configurations on the Pareto front (no other trial"
            " is better on every objective) and spread along it"
        )


def format_facts(facts: Mapping[str, Any] | str) -> str:
    """Dataset or model facts as compact text (a mapping becomes ``key: value`` pairs)."""
    if isinstance(facts, str):
        return " ".join(facts.split())
    parts = []
    for key, value in facts.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        parts.append(f"{key}: {text}")
    return "; ".join(parts)


def answer_schema(space: Space) -> dict[str, Any]:
    """The JSON schema of one answer: the config first, then a capped one-line rationale."""
    return {
        "type": "object",
        "properties": {
            "config": space.json_schema(),
            "rationale": {
                "type": "string",
                "maxLength": RATIONALE_MAX_CHARS,
                # No quotes, backslashes or control characters: small models under a grammar
                # otherwise write newlines until they hit the token limit.
                "pattern": '^[^"\\\\\\x00-\\x1f]{1,' + str(RATIONALE_MAX_CHARS) + "}$",
            },
        },
        "required": ["config", "rationale"],
        "additionalProperties": False,
    }


def creator_messages_text(
    context: TaskContext,
    space: Space,
    history: str,
    *,
    noise_note: str | None = None,
) -> str:
    """The user message of a proposal request."""
    lines = [f"Task: {context.name}"]
    if context.description:
        lines.append(f"Description: {' '.join(context.description.split())}")
    if context.dataset:
        lines.append(f"Dataset: {format_facts(context.dataset)}")
    if context.model:
        lines.append(f"Model: {format_facts(context.model)}")
    lines.append(f"Goal: {context.goal()}.")
    lines.append("")
    lines.append("Search space:")
    lines.extend(space.describe())
    lines.append("")
    lines.append(history if history else "No trials have run yet.")
    if noise_note:
        lines.append(noise_note)
    lines.append("")
    lines.append(
        "Propose the next configuration. Answer with JSON only: "
        '{"config": {...}, "rationale": "..."}; the config holds every hyperparameter above.'
    )
    return "\n".join(lines)


def batch_schema(space: Space, k: int) -> dict[str, Any]:
    """The JSON schema of an answer with ``k`` candidates."""
    return {
        "type": "object",
        "properties": {
            "candidates": {
                "type": "array",
                "items": answer_schema(space),
                "minItems": k,
                "maxItems": k,
            }
        },
        "required": ["candidates"],
        "additionalProperties": False,
    }


def batch_request(k: int) -> str:
    """The closing line of a request for ``k`` candidates (replaces the one-config line)."""
    return (
        f"Propose {k} different configurations to run in parallel: spread them out so each"
        " tests a different idea, none repeating a tried or running one. Answer with JSON"
        ' only: {"candidates": [{"config": {...}, "rationale": "..."}, ...]}.'
    )


def repair_prompt(problems: Sequence[str]) -> str:
    """The follow-up message that sends an invalid answer's problems back to the LLM."""
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        "Your answer cannot be used:\n"
        f"{listed}\n"
        "Answer again with one corrected JSON object "
        '{"config": {...}, "rationale": "..."} that stays inside the search space'
        " and differs from every configuration already tried."
    )
