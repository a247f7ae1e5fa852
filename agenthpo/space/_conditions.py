"""Conditional parameters: which parameters a configuration activates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agenthpo.space._format import _format_choice
from agenthpo.space._params import CategoricalParam, _AnyParam
from agenthpo.space._values import _choice_index


def _active(params: Mapping[str, _AnyParam], config: Mapping[str, Any]) -> list[str]:
    """The names of the parameters that exist for ``config``, in order."""
    active: list[str] = []
    for name, param in params.items():
        if _holds(params, param, config, active):
            active.append(name)
    return active


def _holds(
    params: Mapping[str, _AnyParam],
    param: _AnyParam,
    config: Mapping[str, Any],
    active: Sequence[str],
) -> bool:
    for parent, values in (param.condition or {}).items():
        if parent not in active or parent not in config:
            return False
        choices = params[parent]
        assert isinstance(choices, CategoricalParam)
        index = _choice_index(choices.choices, config[parent])
        if index is None or _choice_index(values, choices.choices[index]) is None:
            return False
    return True


def _condition_text(param: _AnyParam) -> str:
    """``only when optimizer is sgd`` (empty for an unconditional parameter)."""
    condition = param.condition
    if not condition:
        return ""
    parts = [
        f"{parent} is {' or '.join(_format_choice(v) for v in values)}"
        for parent, values in condition.items()
    ]
    return "only when " + " and ".join(parts)
