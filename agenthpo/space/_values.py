"""Value predicates shared by validation, repair and geometry: kinds of values, choices."""

from __future__ import annotations

import math
import numbers
from typing import Any

# Relative tolerance when checking that a float value lies on a step grid.
_GRID_TOL = 1e-9
# Minimum difflib ratio for repair() to snap a string to the closest string choice.
_CLOSE_RATIO = 0.6


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: int | float) -> bool:
    """Like math.isfinite, but without overflowing on huge ints."""
    return isinstance(value, int) or math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: Any) -> str | None:
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind.__name__
    return None


def _family(kind: str | None) -> str | None:
    return "number" if kind in ("int", "float") else kind


def _choice_index(choices: list[Any], value: Any) -> int | None:
    """Index of the choice ``value`` stands for; an int matches an equal float choice."""
    kind = _kind(value)
    if kind is None:
        return None
    for i, choice in enumerate(choices):
        choice_kind = _kind(choice)
        if (choice_kind == kind or (choice_kind == "float" and kind == "int")) and choice == value:
            return i
    return None


def _on_float_grid(x: float, low: float, step: float) -> bool:
    snapped = low + round((x - low) / step) * step
    return math.isclose(x, snapped, rel_tol=_GRID_TOL, abs_tol=_GRID_TOL * step)


def _plain(value: Any) -> Any:
    """Turn numeric scalars of other libraries (numpy, ...) into int or float."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def _parse_float(text: str) -> float | None:
    try:
        x = float(text.strip())
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _unique(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if not any(type(item) is type(seen) and item == seen for seen in out):
            out.append(item)
    return out
