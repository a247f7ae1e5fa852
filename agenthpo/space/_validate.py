"""Checking a configuration against the space: one :class:`Violation` per problem."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from agenthpo.space._conditions import _active, _condition_text
from agenthpo.space._format import _describe_value, _did_you_mean, _format_choice, _short
from agenthpo.space._geometry import _grid_point
from agenthpo.space._params import CategoricalParam, FloatParam, IntParam, _AnyParam
from agenthpo.space._values import (
    _choice_index,
    _family,
    _is_int,
    _is_number,
    _kind,
    _on_float_grid,
)

ViolationKind = Literal["unknown", "missing", "type", "range", "step", "choice", "inactive"]


@dataclass(frozen=True)
class Violation:
    """One way in which a configuration does not fit the space.

    Attributes:
        name: The parameter concerned (``""`` if it concerns the whole configuration).
        kind: ``"unknown"``, ``"missing"``, ``"type"``, ``"range"``, ``"step"`` or ``"choice"``.
        message: A readable explanation, starting with the parameter name.

    Example:
        >>> str(Violation("lr", "range", "lr: 0.5 is above the maximum 0.1"))
        'lr: 0.5 is above the maximum 0.1'
    """

    name: str
    kind: ViolationKind
    message: str

    def __str__(self) -> str:
        return self.message


def _validate(params: Mapping[str, _AnyParam], config: Mapping[str, Any]) -> list[Violation]:
    """Every way in which ``config`` does not fit ``params`` (see :meth:`Space.validate`)."""
    violations: list[Violation] = []
    active = _active(params, config)
    for name, param in params.items():
        if name not in active:
            if name in config:
                violations.append(
                    Violation(
                        name,
                        "inactive",
                        f"{name}: is used {_condition_text(param)}; leave it out here",
                    )
                )
            continue
        if name not in config:
            violations.append(
                Violation(name, "missing", f"{name}: missing; give {_expectation(param)}")
            )
            continue
        violation = _check_value(name, param, config[name])
        if violation is not None:
            violations.append(violation)
    for key in config:
        if key not in params:
            hint = _did_you_mean(str(key), params)
            violations.append(
                Violation(
                    str(key),
                    "unknown",
                    f"{key}: not a parameter of this space{hint}; "
                    f"the parameters are: {', '.join(params)}",
                )
            )
    return violations


def _check_value(name: str, param: _AnyParam, value: Any) -> Violation | None:
    if isinstance(param, CategoricalParam):
        return _check_choice(name, param, value)
    if isinstance(param, IntParam) and not _is_int(value):
        if _is_number(value) and math.isfinite(value) and float(value).is_integer():
            detail = f"the float {value!r}; write {int(value)}"
        elif _is_number(value) and math.isfinite(value):
            detail = f"{value!r}, which has a fractional part"
        else:
            detail = _describe_value(value)
        return Violation(name, "type", f"{name}: expected an integer, got {detail}")
    if not _is_number(value) or (isinstance(value, float) and math.isnan(value)):
        return Violation(name, "type", f"{name}: expected a number, got {_describe_value(value)}")
    if value < param.low:
        return Violation(name, "range", f"{name}: {value!r} is below the minimum {param.low!r}")
    if value > param.high:
        return Violation(name, "range", f"{name}: {value!r} is above the maximum {param.high!r}")
    step = param.step
    if isinstance(param, IntParam):
        if (value - param.low) % param.step != 0:
            down = value - (value - param.low) % param.step
            return Violation(
                name,
                "step",
                f"{name}: {value!r} is not on the grid {param.low} + k * {param.step}; "
                f"the nearest allowed values are {down} and {down + param.step}",
            )
    elif step is not None and not _on_float_grid(float(value), param.low, step):
        k = math.floor((value - param.low) / step)
        down, up = _grid_point(param.low, step, k), _grid_point(param.low, step, k + 1)
        return Violation(
            name,
            "step",
            f"{name}: {value!r} is not on the grid {param.low!r} + k * {step!r}; "
            f"the nearest allowed values are {down!r} and {up!r}",
        )
    return None


def _check_choice(name: str, param: CategoricalParam, value: Any) -> Violation | None:
    if _choice_index(param.choices, value) is not None:
        return None
    listing = ", ".join(_format_choice(c) for c in param.choices)
    families = {_family(_kind(c)) for c in param.choices}
    family = _family(_kind(value))
    if family is None or family not in families:
        got = f"{value} (a bool)" if isinstance(value, bool) else _describe_value(value)
        return Violation(name, "type", f"{name}: expected one of: {listing}; got {got}")
    hint = ""
    if isinstance(value, str):
        hint = _did_you_mean(value, [c for c in param.choices if isinstance(c, str)])
    else:
        equal = [c for c in param.choices if _family(_kind(c)) == family and c == value]
        if equal:
            hint = f" (write it as {equal[0]!r})"
    return Violation(
        name, "choice", f"{name}: {_short(value)} is not one of the choices: {listing}{hint}"
    )


def _expectation(param: _AnyParam) -> str:
    if isinstance(param, CategoricalParam):
        return "one of: " + ", ".join(_format_choice(c) for c in param.choices)
    kind = "a float" if isinstance(param, FloatParam) else "an integer"
    return f"{kind} from {param.low!r} to {param.high!r}"
