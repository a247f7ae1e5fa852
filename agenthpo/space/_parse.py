"""Reading a space from its YAML/JSON form, with every problem named by its field path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic

from agenthpo.errors import SpaceError
from agenthpo.space._format import _article, _did_you_mean, _short, _type_name
from agenthpo.space._params import (
    _MODELS,
    _SKIP_CHECKS,
    _TYPES,
    CategoricalParam,
    FloatParam,
    IntParam,
    _AnyParam,
    _choices_problems,
    _name_problem,
    _param_problems,
)
from agenthpo.space._values import _unique


def _build(data: Any, *, root: str, flags: bool = True) -> dict[str, _AnyParam]:
    """The parameters of ``data``; :class:`SpaceError` lists every problem under ``root``.
    ``flags``: names must be usable as command-line flags (a task file's)."""
    if not isinstance(data, Mapping):
        raise SpaceError(
            f"{root}: must be a mapping from parameter name to its definition "
            f"(got {_type_name(data)})"
        )
    if not data:
        raise SpaceError(
            f"{root}: is empty; define at least one parameter, "
            "e.g. lr: {type: float, low: 1.0e-5, high: 0.1, log: true}"
        )
    problems: list[str] = []
    params: dict[str, _AnyParam] = {}
    for name, spec in data.items():
        path = f"{root}.{name}"
        name_problem = _name_problem(name, flags=flags)
        if name_problem is not None:
            problems.append(f"{path}: {name_problem}")
        param, errors = _parse_param(path, spec)
        problems.extend(errors)
        if param is not None and name_problem is None:
            params[name] = param
    if problems:
        raise SpaceError("\n".join(problems))
    return params


_FRIENDLY_ERRORS = {
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be a whole number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "finite_number": "must be a finite number",
    "list_type": "must be a list",
}


def _parse_param(path: str, spec: Any) -> tuple[_AnyParam | None, list[str]]:
    if isinstance(spec, (FloatParam, IntParam, CategoricalParam)):
        return spec, []
    if isinstance(spec, (list, tuple)):
        spec = {"type": "categorical", "choices": list(spec)}
    if not isinstance(spec, Mapping):
        return None, [
            f"{path}: must be a mapping such as {{type: float, low: 0.0, high: 1.0}} or a list "
            f"of choices (got {_type_name(spec)} {_short(spec)})"
        ]
    if "type" not in spec:
        return None, [
            f"{path}.type: missing; set it to one of: {', '.join(_TYPES)}{_guess_type(spec)}"
        ]
    kind = spec["type"]
    if not isinstance(kind, str) or kind not in _MODELS:
        hint = _did_you_mean(str(kind).lower(), _TYPES) if isinstance(kind, str) else ""
        return None, [f"{path}.type: unknown type {kind!r}; use one of: {', '.join(_TYPES)}{hint}"]
    model = _MODELS[kind]
    allowed = list(model.model_fields)
    problems: list[str] = []
    clean: dict[str, Any] = {}
    for key, value in spec.items():
        if key in allowed:
            clean[key] = value
        else:
            hint = _did_you_mean(str(key), allowed)
            problems.append(
                f"{path}.{key}: unknown key{hint}; {_article(kind)} {kind} parameter takes: "
                + ", ".join(allowed)
            )
    choice_errors = False
    if kind == "categorical" and "choices" in clean:
        pre = _choices_problems(clean["choices"])
        problems.extend(f"{path}.{field}: {message}" for field, message in pre)
        choice_errors = bool(pre)
    try:
        param = model.model_validate(clean, context={_SKIP_CHECKS: True})
    except pydantic.ValidationError as exc:
        problems.extend(_translate(path, kind, exc, skip_choices=choice_errors))
        return None, _unique(problems)
    if not choice_errors:  # for a categorical, _param_problems would repeat them
        problems.extend(f"{path}.{field}: {m}" for field, m in _param_problems(param))
    return (None if problems else param), problems


def _translate(
    path: str, kind: str, exc: pydantic.ValidationError, *, skip_choices: bool
) -> list[str]:
    out = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if skip_choices and loc and loc[0] == "choices":
            continue
        field = ""
        for part in loc:
            if isinstance(part, int):
                field += f"[{part}]"
            elif field and part in ("bool", "int", "float", "str"):
                break  # union member names: not part of the user's path
            else:
                field += f".{part}" if field else str(part)
        where = f"{path}.{field}" if field else path
        if error["type"] == "missing":
            needs = "choices" if kind == "categorical" else "low and high"
            out.append(f"{where}: missing; {_article(kind)} {kind} parameter needs {needs}")
            continue
        text = _FRIENDLY_ERRORS.get(error["type"])
        if text is None:
            text = str(error["msg"]).removeprefix("Value error, ")
        out.append(f"{where}: {text} (got {_short(error.get('input'))})")
    return out


def _guess_type(spec: Mapping[Any, Any]) -> str:
    if "choices" in spec:
        return " (it has choices, so probably type: categorical)"
    if "low" in spec or "high" in spec:
        bounds = [spec.get("low"), spec.get("high")]
        if all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
            return " (its bounds are integers, so perhaps type: int)"
        return " (it has low/high, so perhaps type: float)"
    return ""
