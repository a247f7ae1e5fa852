"""The pair plot of two parameters when one or both are categorical: what was observed, no more.

A contour plot interpolates between its axes' values; between categories (``sgd``, ``rmsprop``,
``adam``) there is no order and nothing in between, so a smooth surface across them would show
values that were never measured. Instead, two categorical parameters give a heatmap of the
mean result in each combination that was tried (blank where none was); one categorical and one
numeric parameter give a scatter of the trials, the categories as rows, coloured by result.

Example:
    >>> from agenthpo.reporting._data import TrialRow
    >>> rows = [TrialRow(number=i, state="complete", values=(v,), params={"opt": o, "act": a})
    ...         for i, (o, a, v) in enumerate([("sgd", "relu", 1.0), ("sgd", "relu", 3.0),
    ...                                        ("adam", "tanh", 5.0)])]
    >>> traces, xaxis, yaxis = pair_traces(
    ...     rows, ("opt", "act"), {"opt": ["sgd", "adam"], "act": ["relu", "tanh"]},
    ...     metric="loss", hover=lambda t: str(t.number))
    >>> traces[0]["type"], traces[0]["z"]
    ('heatmap', [[2.0, None], [None, 5.0]])
    >>> xaxis["categoryarray"], yaxis["categoryarray"]
    (['sgd', 'adam'], ['relu', 'tanh'])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agenthpo.reporting._data import TrialRow
from agenthpo.reporting._format import fmt_value, plural
from agenthpo.reporting._plotly_text import category_axis, category_labels, plotly_text

__all__ = ["COLOR_SCALE", "pair_traces"]

COLOR_SCALE = "Viridis"
"""Dark to light with no near-white end, so every cell and point stands out on white."""


def _observed(rows: Sequence[TrialRow], params: tuple[str, str]) -> list[TrialRow]:
    return [
        t
        for t in rows
        if all(p in t.params for p in params) and t.value is not None and math.isfinite(t.value)
    ]


def _titled(axis: dict[str, Any], param: str) -> dict[str, Any]:
    return {**axis, "title": {"text": plotly_text(param)}}


def _colorbar(metric: str) -> dict[str, Any]:
    return {"title": {"text": plotly_text(metric)}}


def _heatmap(
    rows: list[TrialRow], params: tuple[str, str], choices: Mapping[str, Sequence[Any]], metric: str
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    px, py = params
    xs, ys = list(choices[px]), list(choices[py])
    x_labels, y_labels = category_labels(xs), category_labels(ys)
    cells: dict[tuple[int, int], list[TrialRow]] = {}
    for t in rows:
        if t.params[px] in xs and t.params[py] in ys:
            cells.setdefault((xs.index(t.params[px]), ys.index(t.params[py])), []).append(t)
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    for j, y_label in enumerate(y_labels):
        z_row: list[float | None] = []
        text_row: list[str] = []
        for i, x_label in enumerate(x_labels):
            cell = cells.get((i, j), [])
            values = [t.value for t in cell if t.value is not None]
            if not values:
                z_row.append(None)
                text_row.append("")
                continue
            mean = sum(values) / len(values)
            z_row.append(mean)
            text_row.append(
                "<br>".join(
                    [
                        plotly_text(f"{px}={x_label}, {py}={y_label}"),
                        plotly_text(
                            f"mean {metric} {fmt_value(mean)} over {plural(len(values), 'trial')}"
                        ),
                        "trials " + ", ".join(str(t.number) for t in cell[:20]),
                    ]
                )
            )
        z.append(z_row)
        text.append(text_row)
    trace = {
        "type": "heatmap",
        "x": [plotly_text(label) for label in x_labels],
        "y": [plotly_text(label) for label in y_labels],
        "z": z,
        "text": text,
        "hovertemplate": "%{text}<extra></extra>",
        "hoverongaps": False,
        "texttemplate": "%{z:.4g}",
        "colorscale": COLOR_SCALE,
        "colorbar": _colorbar(metric),
        "name": plotly_text(metric),
    }
    return [trace], _titled(category_axis(x_labels), px), _titled(category_axis(y_labels), py)


def _scatter(
    rows: list[TrialRow],
    numeric: str,
    categorical: str,
    options: Sequence[Any],
    metric: str,
    hover: Callable[[TrialRow], str],
    log: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    options = list(options)
    labels = category_labels(options)
    shown = [t for t in rows if t.params[categorical] in options]
    trace = {
        "type": "scatter",
        "mode": "markers",
        "name": "trials",
        "x": [t.params[numeric] for t in shown],
        "y": [plotly_text(labels[options.index(t.params[categorical])]) for t in shown],
        "text": [hover(t) for t in shown],
        "hovertemplate": "%{text}<extra></extra>",
        "marker": {
            "size": 10,
            "color": [t.value for t in shown],
            "colorscale": COLOR_SCALE,
            "colorbar": _colorbar(metric),
            "line": {"width": 0.5, "color": "#374151"},
        },
    }
    xaxis = _titled({"type": "log"} if log else {}, numeric)
    return [trace], xaxis, _titled(category_axis(labels), categorical)


def pair_traces(
    rows: Sequence[TrialRow],
    params: tuple[str, str],
    choices: Mapping[str, Sequence[Any]],
    *,
    metric: str,
    hover: Callable[[TrialRow], str],
    log: frozenset[str] = frozenset(),
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """The traces and the x and y axis layouts of the pair plot of ``params``.

    Args:
        rows: The completed trials (those missing a parameter or with a non-finite value are
            left out).
        params: The two parameters, at least one of them a key of ``choices``.
        choices: The choices of each categorical parameter, in the order to show them.
        metric: The metric's name, for the colour bar and hover.
        hover: Each trial's (escaped) hover text, for the scatter.
        log: The numeric parameters drawn on a log axis.

    Returns:
        A heatmap of means when both are categorical, else a scatter with the categorical
        parameter on the y axis; and the x and y axis layouts, titled with the parameters.
    """
    observed = _observed(rows, params)
    px, py = params
    if px in choices and py in choices:
        return _heatmap(observed, params, choices, metric)
    numeric, categorical = (py, px) if px in choices else (px, py)
    return _scatter(
        observed, numeric, categorical, choices[categorical], metric, hover, numeric in log
    )
