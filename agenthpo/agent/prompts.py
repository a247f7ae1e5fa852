"""All prompt text in one place.

The Creator's prompt carries the task's background as the AgentHPO paper does (the
hyperparameters with their ranges, dataset facts, model facts, the goal) and a compact
history. The answer is JSON with the config first and a one-line rationale after it: a
rationale written first, with raw newlines, once ran to the token limit and broke the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

# TaskContext sits beside Task (agenthpo.task); it is re-exported here because callers import
# it from this module.
from agenthpo._context import TaskContext
from agenthpo.space import CategoricalParam, IntParam, Param, Space

# Choices are written as the space's own messages write them ("64" quoted, plain words bare).
from agenthpo.space._format import _format_choice

__all__ = [
    "RATIONALE_MAX_CHARS",
    "SYSTEM_PROMPT",
    "TaskContext",
    "answer_schema",
    "batch_request",
    "batch_schema",
    "config_schema",
    "creator_messages_text",
    "describe_space",
    "duplicate_problem",
    "format_facts",
    "goal_text",
    "not_json_problem",
    "repair_prompt",
    "valid_value_hint",
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


def goal_text(context: TaskContext) -> str:
    """The goal as the Creator reads it: ``maximize val_accuracy``, or a Pareto-front goal.

    Example:
        >>> goal_text(TaskContext(metric="val_accuracy", direction="maximize"))
        'maximize val_accuracy'
        >>> ctx = TaskContext(objectives=(("acc", "maximize"), ("seconds", "minimize")))
        >>> goal_text(ctx).split(":")[0]
        'maximize acc and minimize seconds'
    """
    if not context.is_multi_objective:
        return f"{context.direction} {context.metric}"
    parts = " and ".join(f"{d} {m}" for m, d in context.all_objectives)
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


def _fmt(x: float) -> str:
    return format(x, ".6g")


def _scale_notes(param: Param) -> list[str]:
    """What a numeric range's bounds do not say: ``log scale``, ``step 16``."""
    if isinstance(param, CategoricalParam):
        return []
    notes = []
    if param.log:
        notes.append("log scale")
    if param.step is not None and not (isinstance(param, IntParam) and param.step == 1):
        notes.append(f"step {_fmt(param.step)}")
    return notes


def describe_space(space: Space) -> list[str]:
    """One line per parameter, for the Creator's prompt.

    Example:
        >>> space = Space.from_dict({
        ...     "lr": {"type": "float", "low": 1e-5, "high": 0.1, "log": True,
        ...            "description": "initial step size"},
        ...     "units": {"type": "int", "low": 16, "high": 256, "step": 16},
        ...     "activation": ["relu", "tanh", "logistic"]})
        >>> print("\\n".join(describe_space(space)))
        - lr (float, 1e-05 to 0.1, log scale): initial step size
        - units (int, 16 to 256, step 16)
        - activation (one of: relu, tanh, logistic)
    """
    lines = []
    for name, param in space.items():
        if isinstance(param, CategoricalParam):
            inner = "one of: " + ", ".join(_format_choice(c) for c in param.choices)
        else:
            inner = ", ".join(
                [param.type, f"{_fmt(param.low)} to {_fmt(param.high)}", *_scale_notes(param)]
            )
        if param.condition:
            inner += f"; {space.condition_text(name)}"
        line = f"- {name} ({inner})"
        if param.description:
            line += f": {param.description}"
        lines.append(line)
    return lines


def config_schema(space: Space) -> dict[str, Any]:
    """:meth:`Space.json_schema` with the notes an LLM reads in each ``description``.

    A parameter's description gains the scale notes the schema cannot express (log scale,
    step); a conditional parameter says when it applies and that it is ``null`` otherwise.

    Example:
        >>> space = Space.from_dict({"n": {"type": "int", "low": 16, "high": 256, "step": 16}})
        >>> config_schema(space)["properties"]["n"]
        {'type': 'integer', 'minimum': 16, 'maximum': 256, 'description': 'step 16'}
    """
    schema = space.json_schema()
    for name, param in space.items():
        prop = schema["properties"][name]
        inner = prop["anyOf"][0] if param.condition else prop
        text = "; ".join(
            part for part in (param.description, ", ".join(_scale_notes(param))) if part
        )
        if text:
            inner["description"] = text
        if param.condition:
            prop["description"] = f"{space.condition_text(name)}; null otherwise"
    return schema


def answer_schema(space: Space) -> dict[str, Any]:
    """The JSON schema of one answer: the config first, then a capped one-line rationale."""
    return {
        "type": "object",
        "properties": {
            "config": config_schema(space),
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
    lines.append(f"Goal: {goal_text(context)}.")
    lines.append("")
    lines.append("Search space:")
    lines.extend(describe_space(space))
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


def not_json_problem(reason: str) -> str:
    """The problem line of an answer that is not the JSON object asked for."""
    return f"{reason}; answer with one JSON object"


def valid_value_hint(name: str, value: Any) -> str:
    """A hint sent with an invalid answer: a value of ``name`` the space accepts.

    Example:
        >>> valid_value_hint("epochs", 200)
        'epochs: a valid value would be 200'
    """
    return f"{name}: a valid value would be {value!r}"


def duplicate_problem(number: int) -> str:
    """The problem line of an answer that repeats a tried or running trial's config."""
    return f"this configuration was already tried or is running (trial #{number})"


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
