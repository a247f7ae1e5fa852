"""The parameter definitions and the checks of a definition's fields."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

import pydantic
from pydantic import StrictBool, StrictFloat, StrictInt, StrictStr

from agenthpo.space._format import _format_choice, _short, _type_name
from agenthpo.space._values import _choice_index

Config = dict[str, Any]
"""One configuration: parameter name -> value."""

_TYPES = ("float", "int", "categorical")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NAME_RULE = (
    "names must start with a letter or '_' and contain only letters, digits, '_', '.' and '-' "
    "(they become command-line flags)"
)
# Validation context key that turns off the cross-field checks, so that Space.from_dict can run
# them itself and report each problem under its own field path.
_SKIP_CHECKS = "agenthpo_space_skip_checks"

_MODEL_CONFIG = pydantic.ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


def _check_after_validation(param: _AnyParam, info: pydantic.ValidationInfo) -> None:
    context = info.context if isinstance(info.context, Mapping) else {}
    if context.get(_SKIP_CHECKS):
        return
    problems = _param_problems(param)
    if problems:
        raise ValueError("; ".join(f"{field}: {message}" for field, message in problems))


def _listify_condition(value: Any) -> Any:
    """``{optimizer: sgd}`` is shorthand for ``{optimizer: [sgd]}``."""
    if isinstance(value, Mapping):
        return {
            key: list(val) if isinstance(val, (list, tuple)) else [val]
            for key, val in value.items()
        }
    return value


class FloatParam(pydantic.BaseModel):
    """A real-valued parameter in ``[low, high]``, optionally log-scaled or on a step grid.

    Attributes:
        type: Always ``"float"``.
        low: Lower bound (inclusive); must be positive when ``log`` is true.
        high: Upper bound (inclusive); must be greater than ``low``.
        log: Sample on a log scale.
        step: Grid spacing; ``high - low`` must be a multiple of it. Not allowed with ``log``.
        limits: Optional hard limits ``[least, most]`` around ``[low, high]`` that a revision
            of the space (:mod:`agenthpo.agent.revision`) never widens the range beyond, e.g.
            ``[0, 1]`` for a dropout rate searched in ``[0, 0.5]``.
        description: Free text shown to the LLM.
        condition: Makes the parameter conditional: it exists only when each named
            categorical parameter (defined earlier) takes one of the listed values, e.g.
            ``{optimizer: [sgd]}`` for a momentum.

    Example:
        >>> FloatParam(low=1e-5, high=0.1, log=True).log
        True
    """

    model_config = _MODEL_CONFIG

    type: Literal["float"] = "float"
    low: float
    high: float
    log: bool = False
    step: float | None = None
    description: str | None = None
    limits: tuple[float, float] | None = None
    condition: dict[str, list[StrictBool | StrictInt | StrictFloat | StrictStr]] | None = None

    _cond = pydantic.field_validator("condition", mode="before")(_listify_condition)

    _no_bool = pydantic.field_validator("low", "high", "step", mode="before")(_reject_bool)

    @pydantic.model_validator(mode="after")
    def _check(self, info: pydantic.ValidationInfo) -> FloatParam:
        _check_after_validation(self, info)
        return self


class IntParam(pydantic.BaseModel):
    """An integer parameter in ``[low, high]``, optionally log-scaled or on a step grid.

    Attributes:
        type: Always ``"int"``.
        low: Lower bound (inclusive); at least 1 when ``log`` is true.
        high: Upper bound (inclusive); must be greater than ``low``.
        log: Sample on a log scale (only with ``step`` 1).
        step: Grid spacing; ``high - low`` must be a multiple of it.
        limits: Optional hard limits ``[least, most]`` around ``[low, high]`` that a revision
            of the space never widens the range beyond.
        description: Free text shown to the LLM.

    Example:
        >>> IntParam(low=16, high=256, step=16).step
        16
    """

    model_config = _MODEL_CONFIG

    type: Literal["int"] = "int"
    low: int
    high: int
    log: bool = False
    step: int = 1
    description: str | None = None
    limits: tuple[int, int] | None = None
    condition: dict[str, list[StrictBool | StrictInt | StrictFloat | StrictStr]] | None = None

    _cond = pydantic.field_validator("condition", mode="before")(_listify_condition)

    _no_bool = pydantic.field_validator("low", "high", "step", mode="before")(_reject_bool)

    @pydantic.model_validator(mode="after")
    def _check(self, info: pydantic.ValidationInfo) -> IntParam:
        _check_after_validation(self, info)
        return self


class CategoricalParam(pydantic.BaseModel):
    """A parameter that takes one of a list of scalar choices.

    The choices keep their exact types: ``True`` stays a bool, ``1`` an int, ``0.1`` a float
    and ``"a"`` a string.

    Attributes:
        type: Always ``"categorical"``.
        choices: The allowed values (non-empty, no duplicates).
        description: Free text shown to the LLM.

    Example:
        >>> CategoricalParam(choices=["adam", 2, 0.5, True]).choices
        ['adam', 2, 0.5, True]
    """

    model_config = _MODEL_CONFIG

    type: Literal["categorical"] = "categorical"
    choices: list[StrictBool | StrictInt | StrictFloat | StrictStr]
    description: str | None = None
    condition: dict[str, list[StrictBool | StrictInt | StrictFloat | StrictStr]] | None = None

    _cond = pydantic.field_validator("condition", mode="before")(_listify_condition)

    @pydantic.model_validator(mode="after")
    def _check(self, info: pydantic.ValidationInfo) -> CategoricalParam:
        _check_after_validation(self, info)
        return self


_AnyParam = FloatParam | IntParam | CategoricalParam
Param = Annotated[_AnyParam, pydantic.Field(discriminator="type")]
"""Any parameter definition, discriminated by its ``type`` field."""

_MODELS: dict[str, type[FloatParam] | type[IntParam] | type[CategoricalParam]] = {
    "float": FloatParam,
    "int": IntParam,
    "categorical": CategoricalParam,
}


# ---------------------------------------------------------------------- definition checks


def _condition_problems(name: str, param: _AnyParam, params: Mapping[str, _AnyParam]) -> list[str]:
    if param.condition is None:
        return []
    if not param.condition:
        return [
            f"space.{name}.condition: names no parameter; give {{parent: [choices]}}, or leave"
            " the condition out for a parameter that is always active"
        ]
    problems = []
    names = list(params)
    for parent, values in param.condition.items():
        where = f"space.{name}.condition.{parent}"
        if parent == name:
            problems.append(f"{where}: a parameter cannot depend on itself")
            continue
        if parent not in params:
            problems.append(f"{where}: {parent!r} is not a parameter; name a categorical one")
            continue
        if names.index(parent) >= names.index(name):
            problems.append(f"{where}: define {parent!r} before {name!r}")
            continue
        owner = params[parent]
        if not isinstance(owner, CategoricalParam):
            problems.append(f"{where}: a condition must name a categorical parameter")
            continue
        if not values:
            problems.append(f"{where}: list at least one of {parent}'s choices")
        for value in values:
            if _choice_index(owner.choices, value) is None:
                choices = ", ".join(_format_choice(c) for c in owner.choices)
                problems.append(f"{where}: {value!r} is not one of {parent}'s choices: {choices}")
    return problems


def _name_problem(name: Any, *, flags: bool = True) -> str | None:
    """What is wrong with a parameter name. A task file's names (``flags``) become
    command-line flags and placeholders; a name that comes from Optuna (an objective's
    ``suggest_*``, Ray Tune's nested ``model/lr``) may be any printable text."""
    if not isinstance(name, str):
        rule = _NAME_RULE if flags else "give a name as text"
        return f"parameter name {name!r} must be a string; {rule}"
    if flags and not _NAME_RE.fullmatch(name):
        return f"invalid parameter name {name!r}; {_NAME_RULE}"
    if not name or not name.isprintable():
        return f"invalid parameter name {name!r}; a name must be printable text, not empty"
    return None


_MAX_EXACT_INT = 2**53


def _param_problems(param: _AnyParam) -> list[tuple[str, str]]:
    """Cross-field problems of a parameter whose fields have the right types."""
    if isinstance(param, CategoricalParam):
        return _choices_problems(param.choices)
    problems: list[tuple[str, str]] = []
    low, high = param.low, param.high
    if isinstance(param, IntParam):
        # Beyond 2**53 an int no longer survives the float round trips of the stores, the
        # LLM's JSON and the tables: the shown and the stored number would differ.
        for field_name, bound in (("low", low), ("high", high)):
            if abs(bound) > _MAX_EXACT_INT:
                problems.append(
                    (
                        field_name,
                        f"must be within -2**53..2**53 (about 9.0e15; got {float(bound):.3g});"
                        " use a float parameter with log: true for larger numbers",
                    )
                )
        if problems:
            return problems
    ordered = low < high
    if not ordered:
        if low == high:
            problems.append(
                (
                    "low",
                    f"must be lower than high (got low = high = {low!r}); a parameter with a "
                    "single value is a constant: remove it or use a categorical with one choice",
                )
            )
        else:
            problems.append(
                ("low", f"must be lower than high (got low={low!r}, high={high!r}); swap them")
            )
    if isinstance(param, FloatParam):
        if ordered and not param.log and not math.isfinite(high - low):
            # Every sampler draws low + u * (high - low): an infinite width has no draws.
            problems.append(
                (
                    "high",
                    f"the range from {low!r} to {high!r} is wider than a float can hold;"
                    " narrow it, or set log: true for a positive range over many magnitudes",
                )
            )
        if param.log and low <= 0:
            problems.append(
                (
                    "low",
                    f"must be positive on a log scale (got {low!r}); raise it or set log: false",
                )
            )
        if param.step is not None:
            if param.log:
                problems.append(("step", "use either log or step, not both (Optuna forbids both)"))
            if param.step <= 0:
                problems.append(("step", f"must be positive (got {param.step!r})"))
            elif ordered and not param.log:
                fix = _float_grid_problem(low, high, param.step)
                if fix is not None:
                    problems.append(("high", fix))
    else:
        if param.log and low < 1:
            problems.append(
                (
                    "low",
                    f"must be at least 1 on a log scale (got {low!r}); raise it or set log: false",
                )
            )
        if param.log and param.step != 1:
            problems.append(
                ("step", f"use either log or step, not both (got log: true, step: {param.step})")
            )
        if param.step <= 0:
            problems.append(("step", f"must be positive (got {param.step!r})"))
        elif ordered and not param.log and (high - low) % param.step != 0:
            down = low + (high - low) // param.step * param.step
            problems.append(
                ("high", _grid_message(high - low, param.step, down, down + param.step, low))
            )
    return problems + _limits_problems(param)


def _limits_problems(param: FloatParam | IntParam) -> list[tuple[str, str]]:
    """Problems of a parameter's hard ``limits``: ordered, around ``[low, high]``, and
    positive (at least 1 for an int) on a log scale."""
    if param.limits is None:
        return []
    least, most = param.limits
    if not least < most:
        return [("limits", f"must be [least, most] with least < most (got {[least, most]})")]
    if not least <= param.low <= param.high <= most:
        return [
            (
                "limits",
                f"must contain [low, high] = [{param.low!r}, {param.high!r}] (got {[least, most]})",
            )
        ]
    floor = 1 if isinstance(param, IntParam) else 0
    if param.log and (least < floor or (floor == 0 and least == 0)):
        need = "at least 1" if floor else "positive"
        return [("limits", f"the lower limit must be {need} on a log scale (got {least!r})")]
    return []


def _float_grid_problem(low: float, high: float, step: float) -> str | None:
    # Same decimal arithmetic as Optuna, which otherwise silently lowers high.
    d_low, d_high, d_step = Decimal(str(low)), Decimal(str(high)), Decimal(str(step))
    if (d_high - d_low) % d_step == 0:
        return None
    down = d_low + (d_high - d_low) // d_step * d_step
    return _grid_message(float(d_high - d_low), step, float(down), float(down + d_step), low)


def _grid_message(span: float, step: float, down: float, up: float, low: float) -> str:
    options = f"{up!r}" if down <= low else f"{down!r} or {up!r}"
    return (
        f"high - low ({span!r}) is not a multiple of step {step!r}; set high to {options} "
        "(or change low or step)"
    )


def _choices_problems(choices: Any) -> list[tuple[str, str]]:
    if not isinstance(choices, (list, tuple)):
        return [("choices", f"must be a list of values (got {_type_name(choices)})")]
    if not choices:
        return [("choices", "must not be empty; list at least one value")]
    problems: list[tuple[str, str]] = []
    for i, choice in enumerate(choices):
        field = f"choices[{i}]"
        if choice is None:
            problems.append(
                (
                    field,
                    "null is not supported; use a string such as 'none' and translate it in "
                    "your training code",
                )
            )
        elif not isinstance(choice, (bool, int, float, str)):
            problems.append(
                (
                    field,
                    f"must be a bool, int, float or string (got {_type_name(choice)} "
                    f"{_short(choice)}); nested values are not supported",
                )
            )
        elif isinstance(choice, float) and not math.isfinite(choice):
            problems.append((field, f"must be a finite number (got {choice!r})"))
    if problems:
        return problems
    for i, choice in enumerate(choices):
        for earlier in choices[:i]:
            if earlier == choice:
                if type(earlier) is type(choice):
                    text = f"{choice!r} appears more than once; remove the duplicate"
                else:
                    text = (
                        f"{earlier!r} and {choice!r} are the same choice to Optuna (it compares "
                        "choices with ==); keep only one"
                    )
                problems.append((f"choices[{i}]", text))
                break
    return problems
