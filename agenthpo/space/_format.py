"""How values and choices are written in the space's messages."""

from __future__ import annotations

import difflib
import json
import re
from typing import TYPE_CHECKING, Any

from agenthpo.space._values import _CLOSE_RATIO, _parse_float

if TYPE_CHECKING:
    from agenthpo.space._params import _AnyParam


def _format_choice(choice: Any) -> str:
    if isinstance(choice, bool):
        return "true" if choice else "false"
    if isinstance(choice, str):
        plain = (
            choice
            and choice == choice.strip()
            and "," not in choice
            and _parse_float(choice) is None
            and choice.lower() not in ("true", "false", "null", "none", "nan", "inf")
        )
        return choice if plain else json.dumps(choice)
    return repr(choice)


def _param_repr(param: _AnyParam) -> str:
    fields = param.model_dump(exclude_defaults=True)
    return f"{type(param).__name__}({', '.join(f'{k}={v!r}' for k, v in fields.items())})"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(value: Any) -> str:
    names = {list: "a list", tuple: "a list", dict: "a mapping", str: "a string", bool: "a bool"}
    if value is None:
        return "null"
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{value} (true/false is not a number)"
    if isinstance(value, str):
        return f"the string {_short(value)}"
    if isinstance(value, (int, float)):
        return repr(value)
    return f"{_type_name(value)} {_short(value)}"


def _did_you_mean(word: str, options: Any) -> str:
    candidates = [str(option) for option in options]
    folded = {c.casefold(): c for c in candidates}
    if word.casefold() in folded:
        return f" (did you mean {folded[word.casefold()]!r}?)"
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=_CLOSE_RATIO)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _canonical_name(name: str) -> str:
    return re.sub(r"[\s\-_]+", "_", name.strip().casefold())
