"""The report's plots, as plotly figure specs (``{"data": [...], "layout": {...}}``).

History, importance, learning curves and the Pareto front are built here from
:class:`~agenthpo.reporting._data.ReportData`, so what they draw is exactly what storage holds;
slice and contour plots come from :mod:`optuna.visualization`, except that a pair of
parameters with a categorical one is drawn from the observed trials
(:mod:`agenthpo.reporting._pairs`). Outside text in a plot (names, category values,
rationales) is escaped for Plotly (:mod:`agenthpo.reporting._plotly_text`). A plot that
cannot be drawn (too few trials, a single-valued parameter) is left out with a note instead
of failing.

Example:
    >>> import optuna
    >>> from agenthpo.reporting._data import collect_data
    >>> study = optuna.create_study()
    >>> for x in (3.0, 1.0, 2.0):
    ...     study.add_trial(optuna.trial.create_trial(
    ...         params={"x": x}, value=x,
    ...         distributions={"x": optuna.distributions.FloatDistribution(0, 5)}))
    >>> fig = history_figure(collect_data(study))
    >>> [t["name"] for t in fig.spec["data"]]
    ['trials', 'best so far']
    >>> fig.spec["data"][1]["y"]
    [3.0, 1.0, 1.0]
"""

from __future__ import annotations

import json
import logging
import math
import random
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from agenthpo._text import clip
from agenthpo.reporting._data import ReportData, TrialRow
from agenthpo.reporting._format import fmt_config, fmt_share, fmt_value, plural
from agenthpo.reporting._importance import Importance, in_memory_study
from agenthpo.reporting._pairs import pair_traces
from agenthpo.reporting._plotly_text import escape_optuna_spec, plotly_text

__all__ = [
    "Figure",
    "build_figures",
    "contour_figure",
    "curves_figure",
    "history_figure",
    "importance_figure",
    "pareto_figure",
    "slice_figure",
]

_logger = logging.getLogger("agenthpo")

PALETTE = {
    "llm": "#7c3aed",
    "backbone": "#0ea5e9",
    "default_config": "#f59e0b",
    "enqueued": "#f59e0b",
}
OTHER_COLORS = ["#10b981", "#ef4444", "#64748b", "#ec4899", "#84cc16"]
BEST_COLOR = "#111827"
FRONT_COLOR = "#dc2626"
OTHER_TRIAL_COLOR = "#9ca3af"
REFERENCE_COLORS = ["#9ca3af", "#d97706", "#059669"]
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
MAX_SLICE_PARAMS = 4
MAX_CURVES = 5
MAX_CONTOUR_TRIALS = 100
"""The contour plot interpolates on a grid with a cell per pair of the trials' distinct
values; above this many completed trials it draws the best half of this many and a seeded
random sample of the rest (a grid of at most about this many cells a side)."""


@dataclass(frozen=True)
class Figure:
    """One plot: a key, a title, the plotly spec and a caption."""

    key: str
    title: str
    spec: dict[str, Any]
    caption: str = ""


def _layout(**extra: Any) -> dict[str, Any]:
    axis = {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db", "linecolor": "#9ca3af"}
    layout: dict[str, Any] = {
        "height": 420,
        "margin": {"l": 70, "r": 20, "t": 30, "b": 60},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"family": FONT, "size": 13, "color": "#1f2937"},
        "legend": {"orientation": "h", "y": -0.2, "yanchor": "top"},
        "hovermode": "closest",
        "xaxis": dict(axis),
        "yaxis": dict(axis),
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def _hover(t: TrialRow, metric: str) -> str:
    """A trial's hover text: its value, noise band, source and configuration, each escaped
    for Plotly (only the line breaks between them are markup)."""
    values = " / ".join(fmt_value(v) for v in t.values) if t.values else fmt_value(None)
    lines = [f"trial {t.number}: {metric} {values}"]
    if t.noise is not None:
        lines.append(f"seeds: {fmt_value(t.noise.mean)} ± {fmt_value(t.noise.std)} (n={t.noise.n})")
    if t.proposed_by:
        lines.append(f"by {t.proposed_by}")
    lines.append(clip(fmt_config(t.params), 90))
    return "<br>".join(plotly_text(line) for line in lines)


def _color(name: str, seen: dict[str, str]) -> str:
    if name in PALETTE:
        return PALETTE[name]
    if name not in seen:
        seen[name] = OTHER_COLORS[len(seen) % len(OTHER_COLORS)]
    return seen[name]


def history_figure(data: ReportData) -> Figure:
    """Every completed trial's value by trial number, the best so far, and references.

    Trials are coloured by who proposed them; a trial re-run with other seeds has an error
    bar of one standard deviation. Reference curves (e.g. random search) are dashed.
    """
    metric = data.metric
    done = data.completed
    groups: dict[str, list[TrialRow]] = {}
    for t in done:
        groups.setdefault(t.proposed_by or "trials", []).append(t)
    traces: list[dict[str, Any]] = []
    others: dict[str, str] = {}
    single = len(groups) == 1
    for name, rows in groups.items():
        trace: dict[str, Any] = {
            "type": "scatter",
            "mode": "markers",
            "name": "trials" if single else plotly_text(f"proposed by {name}"),
            "x": [t.number for t in rows],
            "y": [t.value for t in rows],
            "text": [_hover(t, metric) for t in rows],
            "hovertemplate": "%{text}<extra></extra>",
            "marker": {"size": 9, "color": _color(name, others), "opacity": 0.85},
        }
        if any(t.noise is not None for t in rows):
            trace["error_y"] = {
                "type": "data",
                "array": [t.noise.std if t.noise else 0.0 for t in rows],
                "visible": True,
                "thickness": 1.2,
            }
        traces.append(trace)
    best_x: list[int] = []
    best_y: list[float] = []
    current: float | None = None
    for t in done:
        assert t.value is not None
        if current is None or data.better(t.value, current):
            current = t.value
        best_x.append(t.number)
        best_y.append(current)
    if best_x:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "best so far",
                "x": best_x,
                "y": best_y,
                "line": {"color": BEST_COLOR, "width": 2.5, "shape": "hv"},
                "hovertemplate": "best after trial %{x}: %{y:.5g}<extra></extra>",
            }
        )
    for i, (label, values) in enumerate(data.references.items()):
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": plotly_text(label),
                "meta": plotly_text(label),
                "x": list(range(len(values))),
                "y": list(values),
                "line": {
                    "color": REFERENCE_COLORS[i % len(REFERENCE_COLORS)],
                    "width": 2,
                    "dash": "dash",
                    "shape": "hv",
                },
                "hovertemplate": "%{meta}: %{y:.5g} after %{x}<extra></extra>",
            }
        )
    counts = data.counts()
    skipped = [
        f"{counts[s]} {s}" for s in ("fail", "pruned", "interrupted", "running") if counts[s]
    ]
    caption = f"{plural(len(done), 'completed trial')}; {data.direction} {metric}"
    caption += " (the first objective)." if data.multi_objective else "."
    if skipped:
        caption += " Not drawn: " + ", ".join(skipped).replace("fail", "failed") + "."
    if data.references:
        caption += " Dashed: reference best-so-far curves after each trial."
    spec = {
        "data": traces,
        "layout": _layout(
            xaxis={"title": {"text": "trial"}, "range": [-0.6, max(len(data.trials), 2) - 0.4]},
            yaxis={"title": {"text": plotly_text(metric)}},
        ),
    }
    return Figure("history", "Optimization history", spec, caption)


def importance_figure(
    importance: Importance, llm_params: list[str] | None = None, target: str = ""
) -> Figure:
    """The measured importance shares as horizontal bars (most important on top)."""
    items = [(p, importance.values[p]) for p in importance.ranking()][::-1]
    llm = set(llm_params or [])
    colors = ["#7c3aed" if p in llm else "#0ea5e9" for p, _ in items]
    trace: dict[str, Any] = {
        "type": "bar",
        "orientation": "h",
        "x": [v for _, v in items],
        "y": [plotly_text(p) for p, _ in items],
        "text": [fmt_share(v) for _, v in items],
        "textposition": "auto",
        "marker": {"color": colors},
        "hovertemplate": "%{y}: %{text}<extra></extra>",
        "name": "measured importance",
    }
    spec = {
        "data": [trace],
        "layout": _layout(
            height=max(220, 60 + 38 * len(items)),
            xaxis={
                "title": {"text": f"share of the variation ({importance.evaluator})"},
                "tickformat": ".0%",
                "rangemode": "tozero",
            },
            yaxis={"automargin": True},
            showlegend=False,
            margin={"l": 20},
        ),
    }
    caption = f"{importance.evaluator} over {plural(importance.n_trials, 'completed trial')}"
    caption += f", for {target}." if target else "."
    if llm_params is not None:
        caption += " Purple bars: parameters the LLM listed as important."
    if importance.single_valued:
        caption += (
            f" Not measurable, tried at one value only: {', '.join(importance.single_valued)}."
        )
    if importance.note:
        caption += f" {importance.note[0].upper()}{importance.note[1:]}."
    return Figure("importance", "Parameter importance", spec, caption)


def _optuna_figure(
    make: Callable[[], Any], choices: Mapping[str, Sequence[Any]] | None = None
) -> dict[str, Any]:
    """The spec of an :mod:`optuna.visualization` figure in the report's style, its outside
    text escaped (:func:`~agenthpo.reporting._plotly_text.escape_optuna_spec`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        try:
            fig = make()
        finally:
            optuna.logging.set_verbosity(verbosity)
    fig.update_layout(template="plotly_white", title_text="", font={"family": FONT})
    spec = json.loads(fig.to_json())
    # Optuna fixes a width for multi-panel plots; the page sizes plots to their section.
    spec.get("layout", {}).pop("width", None)
    if not isinstance(spec, dict):  # pragma: no cover - plotly always returns an object
        raise TypeError("plotly returned a non-object figure")
    escape_optuna_spec(spec, choices or {})
    return spec


def _target(data: ReportData) -> Callable[[optuna.trial.FrozenTrial], float] | None:
    if not data.multi_objective:
        return None
    return lambda t: float(t.values[0])


def _distributions(study: optuna.Study) -> dict[str, BaseDistribution]:
    """Each parameter's distribution, as its latest trial stored it."""
    out: dict[str, BaseDistribution] = {}
    for trial in study.get_trials(deepcopy=False):
        out.update(trial.distributions)
    return out


def _choices(study: optuna.Study) -> dict[str, list[Any]]:
    """The choices of each categorical parameter of ``study``."""
    return {
        name: list(dist.choices)
        for name, dist in _distributions(study).items()
        if isinstance(dist, CategoricalDistribution)
    }


def _varied(data: ReportData, params: list[str]) -> list[str]:
    done = data.completed
    return [p for p in params if len({repr(t.params.get(p)) for t in done if p in t.params}) > 1]


def slice_figure(study: optuna.Study, data: ReportData, params: list[str]) -> Figure | None:
    """Optuna's slice plot of the given parameters; ``None`` when it cannot be drawn."""
    params = _varied(data, params)[:MAX_SLICE_PARAMS]
    if len(data.completed) < 2 or not params:
        return None
    spec = _optuna_figure(
        lambda: optuna.visualization.plot_slice(
            study, params=params, target=_target(data), target_name=data.metric
        ),
        _choices(study),
    )
    spec["layout"]["height"] = 380
    for trace in spec.get("data", []):
        marker = trace.get("marker")
        if isinstance(marker, dict) and "colorscale" in marker:
            # Optuna's Blues start near white: the first trials vanished on the page
            marker["colorscale"] = "Viridis"
    return Figure(
        "slice",
        "Slice plots",
        spec,
        f"{data.metric} against each of the most important parameters ({', '.join(params)});"
        " colour: trial number.",
    )


def _contour_trials(
    study: optuna.Study, data: ReportData, limit: int, seed: int = 0
) -> tuple[optuna.Study, str]:
    """``study``, or, with more than ``limit`` completed trials, a study in memory of the best
    ``limit // 2`` of them and a seeded random sample of the others; and which trials these
    are, for the caption."""
    ranked = data.ranked()
    if len(ranked) <= limit:
        return study, "the trials (dots)"
    n_best = limit // 2
    rest = sorted(t.number for t in ranked[n_best:])
    chosen = {t.number for t in ranked[:n_best]}
    chosen.update(random.Random(seed).sample(rest, limit - n_best))
    trials = [t for t in study.get_trials(deepcopy=False) if t.number in chosen]
    which = (
        f"{limit} of the {len(ranked):,} completed trials (dots): the best {n_best} and"
        f" {limit - n_best} others drawn at random"
    )
    return in_memory_study(study, trials), which


def _pair_figure(
    study: optuna.Study, data: ReportData, params: list[str], choices: dict[str, list[Any]]
) -> Figure:
    """The plot of two parameters of which one or both are categorical: observed values
    only (:mod:`agenthpo.reporting._pairs`), since nothing lies between two categories."""
    logs = frozenset(
        name
        for name, dist in _distributions(study).items()
        if isinstance(dist, (FloatDistribution, IntDistribution)) and dist.log
    )
    metric = data.metric
    traces, xaxis, yaxis = pair_traces(
        data.completed,
        (params[0], params[1]),
        choices,
        metric=metric,
        hover=lambda t: _hover(t, metric),
        log=logs,
    )
    spec = {
        "data": traces,
        "layout": _layout(height=480, xaxis=xaxis, yaxis=yaxis, margin={"r": 40}),
    }
    categorical = [p for p in params if p in choices]
    if len(categorical) == 2:
        caption = (
            f"mean {metric} of the trials in each combination of {params[0]} and {params[1]}"
            " that was tried (blank: never tried). Both are categorical, so nothing is"
            " interpolated between their values."
        )
    else:
        caption = (
            f"{metric} of each completed trial over {params[0]} and {params[1]}."
            f" {categorical[0]} is categorical, so nothing is interpolated between its values."
        )
    return Figure("contour", "Pair plot", spec, caption)


def contour_figure(
    study: optuna.Study, data: ReportData, params: list[str], limit: int = MAX_CONTOUR_TRIALS
) -> Figure | None:
    """The plot of the two most important parameters; ``None`` if not drawable.

    Two numeric parameters get Optuna's contour plot. With more than ``limit`` completed
    trials it draws ``limit`` of them (the best half and a random sample of the rest), so
    its grid and the page stay small. A categorical parameter has no order to interpolate
    along, so a pair with one gets a plot of the observed trials instead.
    """
    params = _varied(data, params)[:2]
    if len(data.completed) < 3 or len(params) < 2:
        return None
    choices = {p: c for p, c in _choices(study).items() if p in params}
    if choices:
        return _pair_figure(study, data, params, choices)
    drawn, which = _contour_trials(study, data, limit)
    spec = _optuna_figure(
        lambda: optuna.visualization.plot_contour(
            drawn, params=params, target=_target(data), target_name=data.metric
        )
    )
    spec["layout"]["height"] = 480
    return Figure(
        "contour",
        "Contour plot",
        spec,
        f"{data.metric} over {params[0]} and {params[1]}, interpolated between {which}.",
    )


def curves_figure(data: ReportData, n: int = MAX_CURVES) -> Figure | None:
    """The learning curves (the metric by step) of the best ``n`` trials that reported one."""
    metric = data.metric
    rows = [t for t in data.ranked() if any(metric in p for p in t.curve)][:n]
    if not rows:
        return None
    traces = []
    for i, t in enumerate(rows):
        points = [p for p in t.curve if metric in p]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if len(points) < 30 else "lines",
                "name": f"trial {t.number} ({fmt_value(t.value)})",
                "x": [p.get("step", j) for j, p in enumerate(points)],
                "y": [p[metric] for p in points],
                "line": {"width": 3 if i == 0 else 1.6},
                "marker": {"size": 5},
                "hovertemplate": f"trial {t.number}, step %{{x}}: %{{y:.5g}}<extra></extra>",
            }
        )
    spec = {
        "data": traces,
        "layout": _layout(
            xaxis={"title": {"text": "step"}}, yaxis={"title": {"text": plotly_text(metric)}}
        ),
    }
    return Figure(
        "curves",
        "Learning curves",
        spec,
        f"{metric} as reported at each step by the best {plural(len(rows), 'trial')}"
        " (bold: the best).",
    )


def _pareto_trace(
    rows: list[TrialRow], name: str, marker: dict[str, Any], metric: str, dims: int
) -> dict[str, Any]:
    trace: dict[str, Any] = {
        "type": "scatter3d" if dims == 3 else "scatter",
        "mode": "markers",
        "name": name,
        "text": [_hover(t, metric) for t in rows],
        "hovertemplate": "%{text}<extra></extra>",
        "marker": marker,
    }
    for axis, i in zip("xyz", range(dims), strict=False):
        trace[axis] = [t.values[i] if t.values else None for t in rows]
    return trace


def pareto_figure(study: optuna.Study, data: ReportData) -> Figure | None:
    """The Pareto front of a study with two or three objectives, over all its trials.

    The front's trials are drawn in one strong colour (and, with two objectives, joined in
    order of the first), the others in grey: every point is visible on the white page,
    whatever its trial number.
    """
    dims = len(data.directions)
    if not data.multi_objective or dims > 3 or not data.completed:
        return None

    def finite(t: TrialRow) -> bool:
        return t.values is not None and len(t.values) == dims and all(map(math.isfinite, t.values))

    front = sorted((t for t in data.pareto if finite(t)), key=lambda t: (t.values or (0.0,))[0])
    on_front = {t.number for t in front}
    others = [t for t in data.completed if finite(t) and t.number not in on_front]
    metric = " / ".join(data.metric_names)
    titles = [f"{m} ({d})" for d, m in data.objectives()]
    traces = [
        _pareto_trace(
            others, "other trials", {"size": 8, "color": OTHER_TRIAL_COLOR}, metric, dims
        ),
        _pareto_trace(
            front,
            "Pareto-optimal trials",
            {"size": 11, "color": FRONT_COLOR, "line": {"width": 1, "color": BEST_COLOR}},
            metric,
            dims,
        ),
    ]
    if dims == 2:
        traces[1]["mode"] = "lines+markers"
        traces[1]["line"] = {"color": FRONT_COLOR, "width": 1.5}
        layout = _layout(
            height=480,
            xaxis={"title": {"text": plotly_text(titles[0])}},
            yaxis={"title": {"text": plotly_text(titles[1])}},
        )
    else:
        layout = _layout(
            height=560,
            scene={
                axis: {"title": {"text": plotly_text(title)}}
                for axis, title in zip(("xaxis", "yaxis", "zaxis"), titles, strict=True)
            },
        )
    goals = ", ".join(f"{d} {m}" for d, m in data.objectives())
    caption = f"{plural(len(data.pareto), 'Pareto-optimal trial')} ({goals}) in red"
    caption += ", joined in order of the first objective;" if dims == 2 else ";"
    caption += " the other completed trials in grey."
    return Figure("pareto", "Pareto front", {"data": traces, "layout": layout}, caption)


def build_figures(
    study: optuna.Study,
    data: ReportData,
    importance: Importance,
    *,
    llm_params: list[str] | None = None,
) -> tuple[list[Figure], list[str]]:
    """Every figure the study supports, and a note for each one left out.

    Returns:
        The figures in report order, and notes such as ``"no learning curves were stored"``.
    """
    figures: list[Figure] = []
    notes: list[str] = []

    def add(key: str, make: Callable[[], Figure | None], missing: str) -> None:
        try:
            figure = make()
        except Exception as exc:  # a plot must never cost the whole report
            _logger.warning("the %s plot could not be drawn: %s", key, exc)
            notes.append(f"the {key} plot could not be drawn: {exc}")
            return
        if figure is None:
            if missing:
                notes.append(missing)
        else:
            figures.append(figure)

    top = importance.ranking() or data.param_names
    if data.completed:
        add("history", lambda: history_figure(data), "")
    else:
        notes.append("no completed trial yet: nothing to plot")
        return figures, notes
    if importance.measured:
        target = f"{data.metric} (the first objective)" if data.multi_objective else ""
        add("importance", lambda: importance_figure(importance, llm_params, target), "")
    add("pareto", lambda: pareto_figure(study, data), "")
    add(
        "slice",
        lambda: slice_figure(study, data, top),
        "slice plots need two completed trials and a parameter tried at two values",
    )
    add(
        "contour",
        lambda: contour_figure(study, data, top),
        "a contour plot needs three completed trials and two parameters that varied",
    )
    add("curves", lambda: curves_figure(data), "no learning curves were stored")
    return figures, notes
