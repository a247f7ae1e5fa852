"""Outside text (parameter names, category values, metric names, rationales) made safe for Plotly.

Plotly reads every label, tick, legend entry and hover text as its own subset of HTML:
``<i>a</i>`` shows as an italic "a", ``<br>`` breaks the line, and ``&lt;`` shows as ``<``.
Text that did not come from this package is therefore escaped here (``&``, ``<``, ``>``), so
the plot shows exactly what storage holds. Category values can be long, so ticks show a
shortened label and the hover the whole value.

Example:
    >>> plotly_text("<i>a</i> & b")
    '&lt;i&gt;a&lt;/i&gt; &amp; b'
    >>> axis = category_axis(["adam", "a very long optimizer name with many words in it"])
    >>> axis["ticktext"]
    ['adam', 'a very long optimizer …']
    >>> axis["tickvals"][1]
    'a very long optimizer name with many words in it'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from agenthpo._text import clip
from agenthpo.reporting._format import fmt_param

__all__ = [
    "MAX_TICK_LABEL",
    "category_axis",
    "category_labels",
    "escape_optuna_spec",
    "plotly_text",
]

MAX_TICK_LABEL = 24
"""The most characters of a category value shown on an axis tick (the hover shows it all)."""


def plotly_text(value: Any) -> str:
    """``value`` as text Plotly shows literally: ``&``, ``<`` and ``>`` as entities."""
    return escape(str(value), quote=False)


def category_labels(choices: Sequence[Any]) -> list[str]:
    """The raw display label of each choice: as the user wrote it (``relu``, ``64``), or,
    when two choices would read the same (``1`` and ``"1"``), as Python writes them."""
    labels = [fmt_param(c) for c in choices]
    if len(set(labels)) < len(labels):
        labels = [repr(c) for c in choices]
    return labels


def category_axis(labels: Iterable[str]) -> dict[str, Any]:
    """Layout for a category axis of raw ``labels``, in their order: each category is the
    escaped full label (what the hover shows), each tick its escaped, shortened form."""
    full = list(labels)
    values = [plotly_text(label) for label in full]
    return {
        "type": "category",
        "categoryorder": "array",
        "categoryarray": values,
        "tickmode": "array",
        "tickvals": values,
        "ticktext": [plotly_text(clip(label, MAX_TICK_LABEL)) for label in full],
        "automargin": True,
    }


def _escape_title(holder: Any) -> None:
    if not isinstance(holder, dict):
        return
    title = holder.get("title")
    if isinstance(title, dict) and isinstance(title.get("text"), str):
        title["text"] = plotly_text(title["text"])
    elif isinstance(title, str):
        holder["title"] = plotly_text(title)


def escape_optuna_spec(spec: dict[str, Any], choices: Mapping[str, Sequence[Any]]) -> None:
    """Escapes, in place, the outside text in a figure from :mod:`optuna.visualization`.

    Axis and colour-bar titles (parameter and metric names) are escaped. Optuna writes a
    category as ``repr(choice)`` (``'relu'``); each one of a choice in ``choices`` (the
    categorical parameters' choices) becomes its label as the rest of the report writes it,
    and each category axis gets shortened ticks (:func:`category_axis`).
    """
    shown: dict[str, str] = {}
    for options in choices.values():
        for choice, label in zip(options, category_labels(list(options)), strict=True):
            shown.setdefault(repr(choice), label)
    layout = spec.get("layout", {})
    for key, axis in layout.items():
        if not key.startswith(("xaxis", "yaxis")) or not isinstance(axis, dict):
            continue
        _escape_title(axis)
        if axis.get("type") == "category" and isinstance(axis.get("categoryarray"), list):
            axis.update(category_axis(shown.get(c, str(c)) for c in axis["categoryarray"]))
    for trace in spec.get("data", []):
        _escape_title(trace.get("colorbar"))
        _escape_title(trace.get("marker", {}).get("colorbar"))
        for key in ("x", "y"):
            values = trace.get(key)
            if isinstance(values, list) and any(isinstance(v, str) for v in values):
                trace[key] = [
                    plotly_text(shown.get(v, v)) if isinstance(v, str) else v for v in values
                ]
