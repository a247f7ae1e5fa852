"""Finding the JSON in an LLM's answer.

Example:
    >>> extract_json('Sure: {"a": 1} hope that helps')
    {'a': 1}
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["extract_json"]

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """The first JSON value in an LLM answer: bare, in a Markdown fence, or inside prose.

    Raises:
        ValueError: The text holds no JSON object.

    """
    candidates = [text.strip()]
    candidates.extend(m.group(1).strip() for m in _FENCE.finditer(text))
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ValueError("no JSON object found")
