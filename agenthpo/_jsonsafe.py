"""JSON from outside (an LLM's answer, a training script's report): parsed with a bound.

Python's decoder recurses once per nesting level, so ``"[" * 1000`` raises
:class:`RecursionError`, which callers that catch :class:`ValueError` miss; and a value nested
a few hundred levels deep that does decode makes later ``json.dumps`` calls fail the same way.
:func:`loads` refuses anything nested deeper than ``max_depth`` before decoding it, and turns
any decoder failure into a :class:`ValueError`.

Example:
    >>> loads('{"a": [1, 2]}')
    {'a': [1, 2]}
    >>> loads("[" * 1000)
    Traceback (most recent call last):
    ...
    ValueError: JSON nested deeper than 64 levels
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

__all__ = ["MAX_DEPTH", "dumps", "loads", "nesting_depth", "without_nonfinite"]

MAX_DEPTH = 64
"""How deep a JSON value from outside may nest (an answer or a report needs 3 or 4)."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text, brackets inside strings not counted."""
    if text.count("[") + text.count("{") == 0:
        return 0
    bare = _STRING.sub("", text)
    steps = (1 if c in "[{" else -1 for c in _BRACKET.findall(bare))
    return max(accumulate(steps, initial=0))


def loads(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` for untrusted text: too deep a nesting is a :class:`ValueError`.

    Raises:
        ValueError: Not JSON, or nested deeper than ``max_depth``.
    """
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {max_depth} levels") from None


def dumps(value: Any, **options: Any) -> str:
    """JSON text that every parser reads: non-finite floats (which :func:`json.dumps`
    writes as the non-standard ``Infinity``, ``-Infinity`` and ``NaN``) become the strings
    ``"inf"``, ``"-inf"`` and ``"nan"``, which Python's ``float()`` reads back.

    Example:
        >>> dumps({"value": float("-inf"), "x": [1.5, float("nan")]})
        '{"value": "-inf", "x": [1.5, "nan"]}'
    """
    return json.dumps(without_nonfinite(value, as_text=True), allow_nan=False, **options)


def without_nonfinite(value: Any, *, as_text: bool) -> Any:
    """``value`` (dicts, lists and tuples walked) with every NaN or infinity replaced: by its
    text (``"inf"``) or, without ``as_text``, by ``None`` (JSON has neither).

    Example:
        >>> without_nonfinite({"a": [float("inf"), 2.0]}, as_text=False)
        {'a': [None, 2.0]}
    """
    if isinstance(value, float) and not math.isfinite(value):
        return str(value) if as_text else None
    if isinstance(value, dict):
        return {key: without_nonfinite(item, as_text=as_text) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_nonfinite(item, as_text=as_text) for item in value]
    return value
