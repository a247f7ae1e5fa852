"""What the report's plots draw: no interpolation across categories, a Pareto front whose every
point is visible, and outside text shown literally (Plotly reads labels as HTML)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
)
from optuna.trial import create_trial

from agenthpo import _keys
from agenthpo.reporting import _figures, collect_data, measure_importance
from agenthpo.reporting._plotly_text import MAX_TICK_LABEL

ITALIC = "<i>a</i>"
LONG = "a rather long category value that would squash the whole row of plots"


@pytest.fixture
def storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"


def _study(
    storage: str, dists: dict[str, BaseDistribution], rows: list[tuple[dict[str, Any], float]]
) -> optuna.Study:
    study = optuna.create_study(storage=storage, direction="maximize")
    for params, value in rows:
        study.add_trial(create_trial(params=params, distributions=dists, value=value))
    return study


def _types(spec: dict[str, Any]) -> set[str]:
    return {str(t.get("type")) for t in spec["data"]}


# ------------------------------------------------------------------- categorical pairs

OPT = CategoricalDistribution(("sgd", "rmsprop", "adam"))
ACT = CategoricalDistribution(("relu", "tanh"))


def test_two_categorical_parameters_get_a_heatmap_of_observed_means(storage: str) -> None:
    rows = [
        ({"opt": "sgd", "act": "relu"}, 0.5),
        ({"opt": "sgd", "act": "relu"}, 0.7),
        ({"opt": "adam", "act": "tanh"}, 0.9),
        ({"opt": "rmsprop", "act": "relu"}, 0.8),
    ]
    study = _study(storage, {"opt": OPT, "act": ACT}, rows)
    figure = _figures.contour_figure(study, collect_data(study), ["opt", "act"])
    assert figure is not None
    assert _types(figure.spec) == {"heatmap"}  # no contour: nothing between categories
    (heat,) = figure.spec["data"]
    assert heat["x"] == ["sgd", "rmsprop", "adam"]
    assert heat["y"] == ["relu", "tanh"]
    assert heat["z"][0][0] == pytest.approx(0.6)  # sgd/relu: the mean of its two trials
    assert heat["z"][0] == [pytest.approx(0.6), 0.8, None]
    assert heat["z"][1] == [None, None, 0.9]  # never-tried cells stay blank
    assert figure.spec["layout"]["xaxis"]["type"] == "category"
    assert "interpolated between their values" in figure.caption
    assert "nothing" in figure.caption


def test_one_categorical_parameter_gets_a_scatter_of_the_trials(storage: str) -> None:
    lr = FloatDistribution(1e-4, 1e-1, log=True)
    rows = [({"lr": 10 ** -(1 + i % 3), "opt": OPT.choices[i % 3]}, i / 10) for i in range(9)]
    study = _study(storage, {"lr": lr, "opt": OPT}, rows)
    figure = _figures.contour_figure(study, collect_data(study), ["opt", "lr"])
    assert figure is not None
    assert _types(figure.spec) == {"scatter"}
    (points,) = figure.spec["data"]
    assert points["mode"] == "markers"
    assert len(points["x"]) == 9  # every trial, nothing in between
    assert set(points["y"]) == {"sgd", "rmsprop", "adam"}
    layout = figure.spec["layout"]
    assert layout["xaxis"]["type"] == "log"
    assert layout["xaxis"]["title"]["text"] == "lr"
    assert layout["yaxis"]["type"] == "category"
    assert layout["yaxis"]["categoryarray"] == ["sgd", "rmsprop", "adam"]


def test_two_numeric_parameters_keep_the_contour(storage: str) -> None:
    dists: dict[str, BaseDistribution] = {
        "x": FloatDistribution(0, 1),
        "y": FloatDistribution(0, 1),
    }
    rows = [({"x": i / 7, "y": (i * 3 % 7) / 7}, float(i)) for i in range(7)]
    study = _study(storage, dists, rows)
    figure = _figures.contour_figure(study, collect_data(study), ["x", "y"])
    assert figure is not None
    assert "contour" in _types(figure.spec)


def test_slice_points_are_coloured_without_a_near_white_end(storage: str) -> None:
    """Optuna's slice plot colours by trial number on Blues, whose start is near white: the
    first trials vanished (report probe)."""
    dists: dict[str, BaseDistribution] = {"x": FloatDistribution(0, 1)}
    study = _study(storage, dists, [({"x": i / 7}, float(i)) for i in range(7)])
    figure = _figures.slice_figure(study, collect_data(study), ["x"])
    assert figure is not None
    scales = [
        t["marker"]["colorscale"]
        for t in figure.spec["data"]
        if "colorscale" in t.get("marker", {})
    ]
    assert scales
    assert all(scale == "Viridis" for scale in scales)


# ------------------------------------------------------------------- Pareto front


def _two_objective_study(storage: str) -> optuna.Study:
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
    study.set_user_attr(_keys.STUDY_METRIC, ["accuracy", "latency_ms"])
    for i in range(12):
        x = i / 11
        on_front = i % 3 != 2
        study.add_trial(
            create_trial(
                params={"w": x},
                distributions={"w": FloatDistribution(0, 1)},
                values=[0.8 + 0.15 * x, 5 + 20 * x * x + (0 if on_front else 5)],
            )
        )
    return study


def _luminance(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_every_pareto_point_is_drawn_in_a_visible_colour(storage: str) -> None:
    study = _two_objective_study(storage)
    data = collect_data(study)
    figure = _figures.pareto_figure(study, data)
    assert figure is not None
    for trace in figure.spec["data"]:
        marker = trace["marker"]
        assert "colorscale" not in marker  # no colour by trial number, so no near-white
        assert isinstance(marker["color"], str)
        assert _luminance(marker["color"]) < 0.7, trace["name"]
    front, others = {}, {}
    for trace in figure.spec["data"]:
        (front if "Pareto" in trace["name"] else others)[trace["name"]] = trace
    (front_trace,) = front.values()
    (other_trace,) = others.values()
    assert front_trace["marker"]["color"] != other_trace["marker"]["color"]
    assert sorted(front_trace["x"]) == sorted(t.values[0] for t in study.best_trials)
    assert len(front_trace["x"]) + len(other_trace["x"]) == 12
    assert front_trace["x"] == sorted(front_trace["x"])  # joined in order of the first
    assert "lines" in front_trace["mode"]


# ------------------------------------------------------------------- outside text


def _hostile_categorical_study(storage: str) -> optuna.Study:
    name = "p<b>x</b>"
    kind = CategoricalDistribution((ITALIC, LONG, "b"))
    dists: dict[str, BaseDistribution] = {name: FloatDistribution(0, 10), "kind": kind}
    study = optuna.create_study(storage=storage)
    study.set_user_attr(_keys.STUDY_METRIC, "loss<br>x")
    for i in range(9):
        study.add_trial(
            create_trial(
                params={name: float(i), "kind": kind.choices[i % 3]},
                distributions=dists,
                value=float((i * 5) % 9),
                user_attrs={_keys.PROPOSED_BY: "llm" if i % 2 else "<u>me</u>"},
            )
        )
    return study


def _all_text(spec: dict[str, Any]) -> str:
    return json.dumps(spec, ensure_ascii=False)


def test_outside_text_reaches_plotly_escaped(storage: str) -> None:
    study = _hostile_categorical_study(storage)
    data = collect_data(study)
    importance = measure_importance(study, evaluator="mean-decrease-impurity")
    figures = [
        _figures.history_figure(data),
        _figures.importance_figure(importance),
        _figures.slice_figure(study, data, data.param_names),
        _figures.contour_figure(study, data, data.param_names),
    ]
    for figure in figures:
        assert figure is not None
        text = _all_text(figure.spec)
        for markup in (ITALIC, "<b>x</b>", "loss<br>x", "<u>me</u>"):
            assert markup not in text, (figure.key, markup)
    history = _all_text(figures[0].spec)
    assert "kind=&lt;i&gt;a&lt;/i&gt;" in history  # the hover shows the value as stored
    assert "proposed by &lt;u&gt;me&lt;/u&gt;" in history
    assert "p&lt;b&gt;x&lt;/b&gt;" in _all_text(figures[1].spec)
    assert "loss&lt;br&gt;x" in _all_text(figures[2].spec)


def test_category_ticks_are_short_and_unquoted_with_the_whole_value_in_hover(
    storage: str,
) -> None:
    study = _hostile_categorical_study(storage)
    data = collect_data(study)
    figure = _figures.slice_figure(study, data, ["kind"])
    assert figure is not None
    axis = figure.spec["layout"]["xaxis"]
    assert axis["type"] == "category"
    assert axis["tickvals"] == ["&lt;i&gt;a&lt;/i&gt;", LONG, "b"]  # no 'quotes'
    assert all(len(t) <= MAX_TICK_LABEL for t in axis["ticktext"] if "&" not in t)
    assert axis["ticktext"][1] != LONG
    assert axis["ticktext"][1].endswith("…")
    points = figure.spec["data"][0]
    assert LONG in points["x"]  # the hover (the point's x) holds the whole value
    assert set(points["x"]) <= set(axis["categoryarray"])

    pair = _figures.contour_figure(study, data, data.param_names)
    assert pair is not None
    yaxis = pair.spec["layout"]["yaxis"]
    assert yaxis["ticktext"][1].endswith("…")
    assert yaxis["tickvals"][1] == LONG


def test_parameter_names_with_braces_read_whole_in_the_summary(storage: str) -> None:
    """Names from Optuna may hold braces; the summary's placeholders could not, and
    '{importance:a{b}}' came out as 'a_[unknown placeholder]_' (review)."""
    from agenthpo.reporting import build_report

    dists: dict[str, BaseDistribution] = {
        "a{b}": FloatDistribution(0, 1),
        "c}": FloatDistribution(0, 1),
    }
    rows = [({"a{b}": i / 9, "c}": (i * 4 % 9) / 9}, float(i) + (i * 4 % 9) / 9) for i in range(9)]
    study = _study(storage, dists, rows)
    paths = build_report(study, out_dir=Path(storage.removeprefix("sqlite:///")).parent / "r")
    text = paths.markdown.read_text(encoding="utf-8")
    assert "placeholder" not in text.split("## ")[1]  # the summary's own section
    assert "a{b} **" in text
    assert "c} **" in text
    assert not paths.report.summary.problems
