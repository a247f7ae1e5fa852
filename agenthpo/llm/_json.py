"""Finding the JSON in an LLM's answer.

Example:
    >>> extract_json('Sure: {"a": 1} hope that helps')
    {'a': 1}
"""

from __future__ import annotations

import re
from typing import Any

from agenthpo._jsonsafe import loads

__all__ = ["extract_json"]

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """The first JSON value in an LLM answer: bare, in a Markdown fence, or inside prose.

    Nesting is bounded (:data:`agenthpo._jsonsafe.MAX_DEPTH`): a deeper value is not JSON
    here, so ``"[" * 1000`` is an unusable answer rather than a :class:`RecursionError`.

    Raises:
        ValueError: The text holds no JSON value, or only one nested too deeply.

    """
    candidates = [text.strip()]
    candidates.extend(m.group(1).strip() for m in _FENCE.finditer(text))
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    too_deep: ValueError | None = None
    for candidate in candidates:
        try:
            return loads(candidate)
        except ValueError as exc:
            if "nested" in str(exc):
                too_deep = exc
            continue
    if too_deep is not None:
        raise too_deep
    raise ValueError("no JSON object found")
