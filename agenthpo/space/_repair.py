"""Fixing configurations: lossless coercions (normalize) and forcing into the space (repair)."""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from agenthpo.space._conditions import _active, _condition_text, _holds
from agenthpo.space._format import _canonical_name, _describe_value, _short
from agenthpo.space._geometry import _default, _snap_float
from agenthpo.space._params import CategoricalParam, Config, FloatParam, IntParam, _AnyParam
from agenthpo.space._values import (
    _CLOSE_RATIO,
    _choice_index,
    _family,
    _finite,
    _is_int,
    _is_number,
    _kind,
    _on_float_grid,
    _parse_float,
    _plain,
    _unique,
)

logger = logging.getLogger("agenthpo")


@dataclass(frozen=True)
class Change:
    """One change that :meth:`Space.normalize` or :meth:`Space.repair` made to a configuration.

    ``before`` is ``None`` when the value was missing; ``after`` is ``None`` when the name was
    removed.

    Attributes:
        name: The parameter (or removed unknown name).
        before: The value given.
        after: The value used instead.
        reason: Why, e.g. ``"clipped to the maximum"``.

    Example:
        >>> str(Change("epochs", 220, 200, "clipped to the maximum"))
        'epochs: 220 -> 200 (clipped to the maximum)'
    """

    name: str
    before: Any
    after: Any
    reason: str

    def __str__(self) -> str:
        if self.after is None:
            return f"{self.name}: removed {_short(self.before)} ({self.reason})"
        if self.before is None:
            return f"{self.name}: set to {_short(self.after)} ({self.reason})"
        return f"{self.name}: {_short(self.before)} -> {_short(self.after)} ({self.reason})"


def _normalize(
    params: Mapping[str, _AnyParam], config: Mapping[str, Any]
) -> tuple[Config, list[Change]]:
    """The lossless coercions of :meth:`Space.normalize`."""
    out: Config = {}
    changes: list[Change] = []
    for key, value in config.items():
        param = params.get(key)
        if param is None:
            out[key] = value
            continue
        new, reasons = _coerce(param, value)
        out[key] = new
        if reasons:
            changes.append(Change(key, value, new, "; ".join(reasons)))
    active = _active(params, out)
    for key in list(out):
        if key in params and key not in active:
            value = out.pop(key)
            if value is not None:
                changes.append(
                    Change(key, value, None, f"dropped: used {_condition_text(params[key])}")
                )
    return out, changes


def _repair(
    params: Mapping[str, _AnyParam], config: Mapping[str, Any]
) -> tuple[Config, list[Change]]:
    """Forces ``config`` into ``params`` (see :meth:`Space.repair`)."""
    out: Config = {}
    changes: list[Change] = []
    unknown = [key for key in config if key not in params]
    renamed: dict[str, str] = {}
    for name in params:
        if name in config:
            continue
        matches = [
            key
            for key in unknown
            if isinstance(key, str)
            and _canonical_name(key) == _canonical_name(name)
            and key not in renamed.values()
        ]
        if len(matches) == 1:
            renamed[name] = matches[0]
    for name, param in params.items():
        if param.condition and not _holds(params, param, out, list(out)):
            source = name if name in config else renamed.get(name)
            if source is not None and config[source] is not None:
                reason = f"not used here; it is used {_condition_text(param)}"
                changes.append(Change(name, config[source], None, reason))
            continue
        if name in config or name in renamed:
            source = name if name in config else renamed[name]
            value = config[source]
            new, reasons = _repair_value(param, value)
            if source != name:
                reasons.insert(0, f"taken from {source!r}")
            out[name] = new
            if reasons:
                changes.append(Change(name, value, new, "; ".join(reasons)))
        else:
            new = _default(param)
            out[name] = new
            changes.append(Change(name, None, new, "missing; filled with the default"))
    for key in unknown:
        if key not in renamed.values():
            changes.append(Change(str(key), config[key], None, "not a parameter of this space"))
    if changes:
        logger.debug("repaired a configuration: %s", "; ".join(map(str, changes)))
    return out, changes


def _coerce(param: _AnyParam, value: Any) -> tuple[Any, list[str]]:
    """Lossless coercions only; returns the (possibly unchanged) value and the reasons."""
    value = _plain(value)
    if isinstance(param, FloatParam):
        if isinstance(value, str):
            x = _parse_float(value)
            if x is not None:
                return x, ["converted the string to a number"]
        elif _is_int(value):
            try:
                x = float(value)
            except OverflowError:
                return value, []
            return (x if x == value else value), []
        return value, []
    if isinstance(param, IntParam):
        if isinstance(value, str):
            try:
                return int(value.strip()), ["converted the string to an integer"]
            except ValueError:
                x = _parse_float(value)
                if x is not None and x.is_integer():
                    return int(x), ["converted the string to an integer"]
        elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value), ["converted to an integer"]
        return value, []
    return _coerce_choice(param.choices, value)


def _coerce_choice(choices: list[Any], value: Any) -> tuple[Any, list[str]]:
    index = _choice_index(choices, value)
    if index is not None:
        return choices[index], []
    if isinstance(value, str):
        folded = value.strip().casefold()
        same = _unique(
            [c for c in choices if isinstance(c, str) and c.strip().casefold() == folded]
        )
        if len(same) == 1:
            return same[0], ["matched the choice ignoring case and spaces"]
        if folded in ("true", "false"):
            flag = folded == "true"
            if any(c is flag for c in choices):
                return flag, ["converted the string to a boolean"]
        x = _parse_float(value)
        if x is not None:
            for choice in choices:
                if _family(_kind(choice)) == "number" and choice == x:
                    return choice, ["converted the string to a number"]
    elif isinstance(value, bool):
        word = "true" if value else "false"
        same = _unique([c for c in choices if isinstance(c, str) and c.strip().casefold() == word])
        if len(same) == 1:
            return same[0], ["converted the boolean to the matching string choice"]
    elif _is_number(value):
        for choice in choices:
            if _is_int(choice) and choice == value:
                return choice, ["converted to an integer"]
        if _finite(value):
            for choice in choices:
                if isinstance(choice, str) and _parse_float(choice) == value:
                    return choice, ["converted the number to the matching string choice"]
    return value, []


def _repair_value(param: _AnyParam, value: Any) -> tuple[Any, list[str]]:
    new, reasons = _coerce(param, value)
    if isinstance(param, CategoricalParam):
        return _repair_choice(param, new, reasons)
    if not _is_number(new) or (isinstance(new, float) and math.isnan(new)):
        return _default(param), [f"{_describe_value(value)} is not a number; used the default"]
    if new < param.low:
        new = param.low
        reasons.append("clipped to the minimum")
    elif new > param.high:
        new = param.high
        reasons.append("clipped to the maximum")
    if isinstance(param, FloatParam):
        x = float(new)
        if param.step is not None and not _on_float_grid(x, param.low, param.step):
            x = _snap_float(param, x)
            reasons.append(f"rounded to the grid of step {param.step!r}")
        return x, reasons
    if not _is_int(new):
        new = math.floor(new + 0.5)
        reasons.append("rounded to an integer")
    offset = new - param.low
    if offset % param.step != 0:
        k = (2 * offset + param.step) // (2 * param.step)  # nearest, halves up
        new = min(param.low + k * param.step, param.high)
        reasons.append(f"rounded to the grid of step {param.step}")
    return new, reasons


def _repair_choice(
    param: CategoricalParam, value: Any, reasons: list[str]
) -> tuple[Any, list[str]]:
    choices = param.choices
    index = _choice_index(choices, value)
    if index is not None:
        return choices[index], reasons
    number: float | None = None
    if _is_number(value) and _finite(value):
        number = value
    elif isinstance(value, str):
        number = _parse_float(value)
    numeric = [c for c in choices if _family(_kind(c)) == "number"]
    if number is not None and numeric:
        target = Fraction(number)
        best = min(numeric, key=lambda c: abs(Fraction(c) - target))
        return best, ["not one of the choices; replaced by the nearest choice"]
    strings = [c for c in choices if isinstance(c, str)]
    if isinstance(value, str) and strings:
        folded = value.strip().casefold()
        scored = [
            (difflib.SequenceMatcher(None, folded, c.strip().casefold()).ratio(), -i, c)
            for i, c in enumerate(strings)
        ]
        ratio, _, best_str = max(scored)
        if ratio >= _CLOSE_RATIO:
            return best_str, ["not one of the choices; replaced by the closest choice"]
    return choices[0], ["not one of the choices; replaced by the default (the first choice)"]
