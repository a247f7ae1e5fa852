"""How numbers and values are written in the report (one place, so prose and tables agree).

Example:
    >>> fmt_value(0.975123456)
    '0.97512'
    >>> fmt_share(0.6234)
    '62.3%'
    >>> fmt_param(1e-4), fmt_param(64), fmt_param("relu")
    ('0.0001', '64', 'relu')
    >>> plural(1, "trial"), plural(3, "trial")
    ('1 trial', '3 trials')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "csv_cell",
    "fmt_config",
    "fmt_cost",
    "fmt_int",
    "fmt_param",
    "fmt_share",
    "fmt_value",
    "plural",
]

DASH = "—"


def fmt_value(value: float | None) -> str:
    """A metric value: five significant digits; a dash for none."""
    if value is None:
        return DASH
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return format(value, ".5g")


def fmt_param(value: Any) -> str:
    """A hyperparameter value as the user would write it."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return format(value, ".4g")
    return str(value)


def fmt_share(share: float) -> str:
    """An importance share (0..1) as a percentage."""
    return f"{share * 100:.1f}%"


def fmt_int(value: int) -> str:
    """An integer with thousands separators."""
    return f"{value:,}"


def fmt_cost(dollars: float | None) -> str:
    """Dollars; ``n/a`` when no price was known."""
    if dollars is None:
        return "n/a"
    return f"${dollars:.4f}" if dollars < 1 else f"${dollars:,.2f}"


def fmt_config(config: Mapping[str, Any]) -> str:
    """``name=value`` pairs on one line."""
    return ", ".join(f"{k}={fmt_param(v)}" for k, v in config.items())


def plural(n: int, word: str, words: str = "") -> str:
    """``n`` and ``word``, in the plural (``words``, else ``word`` + s) unless ``n`` is 1."""
    return f"{n} {word if n == 1 else words or word + 's'}"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula: empty for ``None``, floats in full
    (``repr``), and text that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage
    return) and is not a number gets a leading ``'``.

    Example:
        >>> csv_cell("=HYPERLINK(1)"), csv_cell("-1.5"), csv_cell(-0.25), csv_cell(None)
        ("'=HYPERLINK(1)", '-1.5', '-0.25', '')
    """
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if isinstance(value, (int, bool)) or not text.startswith(_FORMULA_START):
        return text
    try:
        float(text)
    except ValueError:
        return "'" + text
    return text
