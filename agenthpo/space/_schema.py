"""The JSON Schema of one configuration, for LLM structured output.

The schema states the constraints the space enforces (types, bounds, choices, required
names, conditional parameters as nullable) and keeps each parameter's own ``description``.
The notes an LLM reads beside it (log scale, step, when a conditional parameter applies)
are prompt text: :func:`agenthpo.agent.prompts.config_schema` adds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agenthpo.space._params import CategoricalParam, FloatParam, _AnyParam


def _json_schema(params: Mapping[str, _AnyParam]) -> dict[str, Any]:
    """The schema of one configuration object (see :meth:`Space.json_schema`)."""
    properties: dict[str, Any] = {}
    for name, param in params.items():
        prop: dict[str, Any]
        if isinstance(param, CategoricalParam):
            prop = {"enum": list(param.choices)}
        else:
            json_type = "number" if isinstance(param, FloatParam) else "integer"
            prop = {"type": json_type, "minimum": param.low, "maximum": param.high}
        if param.description:
            prop["description"] = param.description
        if param.condition:
            prop = {"anyOf": [prop, {"type": "null"}]}
        properties[name] = prop
    return {
        "type": "object",
        "properties": properties,
        "required": list(params),
        "additionalProperties": False,
    }
