"""The study report: its figures match the storage, and the agent's summary is checked."""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import pytest
import typer
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial
from typer.testing import CliRunner

from agenthpo import _keys
from agenthpo.cli.report import report_command
from agenthpo.errors import LLMError
from agenthpo.llm import Message, ScriptedLLM
from agenthpo.report_files import write_run_report
from agenthpo.reporting import (
    NOISE,
    STUDY_REFERENCE,
    Filler,
    build_report,
    collect_data,
    find_literal_numbers,
    make_report,
    measure_importance,
    plotly_js,
    summary_schema,
)
from agenthpo.task import Task
from agenthpo.tuner import Tuner

RICH_STUDY = "digits-mlp-demo"
HIDDEN = "test_accuracy"

SPACE: dict[str, dict[str, Any]] = {
    "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "hidden_units": {"type": "int", "low": 16, "high": 512, "log": True, "step": 1},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5, "log": False},
    "activation": {"type": "categorical", "choices": ["relu", "tanh", "logistic"]},
    "batch_size": {"type": "categorical", "choices": [64]},
}
DISTRIBUTIONS = {
    "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
    "hidden_units": IntDistribution(16, 512, log=True),
    "dropout": FloatDistribution(0.0, 0.5),
    "activation": CategoricalDistribution(["relu", "tanh", "logistic"]),
    "batch_size": CategoricalDistribution([64]),
}


def _accuracy(config: dict[str, Any]) -> float:
    """A made-up but plausible response surface: the learning rate matters most."""
    lr_term = 0.09 * (math.log10(config["learning_rate"]) + 2.6) ** 2
    act = {"relu": 0.0, "tanh": 0.01, "logistic": 0.06}[config["activation"]]
    units = 0.008 * abs(math.log2(config["hidden_units"]) - 7)
    return round(max(0.1, 0.985 - lr_term - act - units - 0.002 * config["dropout"]), 4)


def _curve(final: float, lr: float, steps: int = 12) -> list[dict[str, float]]:
    rate = 0.15 + 0.6 * min(1.0, lr / 0.004)  # a small learning rate learns slowly
    return [
        {
            "step": float(s),
            "train_loss": round(2.3 * math.exp(-rate * s) + 0.02, 4),
            "val_accuracy": round(final - (final - 0.1) * math.exp(-rate * s), 4),
        }
        for s in range(steps)
    ]


def build_rich_study(storage: str, n: int = 30, seed: int = 2) -> optuna.Study:
    """A stored study with every kind of trial the report handles.

    Completed trials by the LLM and by the backbone (some after a fallback), the default
    configuration first, two failed trials, one pruned trial, curves, a hidden metric, LLM
    token and cost attributes, a noise band on the best trial, a random-search reference.
    """
    rng = random.Random(seed)
    study = optuna.create_study(study_name=RICH_STUDY, storage=storage, direction="maximize")
    study.set_user_attr(_keys.STUDY_METRIC, "val_accuracy")
    study.set_user_attr(_keys.STUDY_HIDDEN, [HIDDEN])
    study.set_user_attr(
        _keys.STUDY_TASK,
        {
            "name": RICH_STUDY,
            "description": "Classify 8x8 images of handwritten digits with an MLP trained by"
            " Adam (a demo study for the report).",
            "dataset": {"name": "scikit-learn digits", "samples": 1797, "classes": 10},
            "model": {"type": "MLPClassifier", "solver": "adam"},
            "space": SPACE,
        },
    )
    reference: list[float] = []
    best_ref = 0.0
    for i in range(n):
        best_ref = max(best_ref, 0.55 + 0.4 * (1 - math.exp(-0.25 * (i + 1))))
        reference.append(round(best_ref, 4))
    study.set_user_attr(STUDY_REFERENCE, {"random search (median of 10 seeds)": reference})
    trials: list[tuple[dict[str, Any], float, TrialState, dict[str, Any], dict[int, float]]] = []
    for i in range(n):
        if i == 0:
            config: dict[str, Any] = {
                "learning_rate": 1e-3,
                "hidden_units": 100,
                "dropout": 0.0,
                "activation": "relu",
                "batch_size": 64,
            }
        else:
            # The search homes in on a learning rate near 2.5e-3 as trials go on.
            spread = 1.6 * math.exp(-i / 10) + 0.15
            config = {
                "learning_rate": float(10 ** min(-1, max(-4, -2.6 + rng.gauss(0, spread)))),
                "hidden_units": rng.choice([32, 64, 128, 200, 256, 384]),
                "dropout": round(rng.uniform(0.0, 0.5), 2),
                "activation": rng.choice(["relu", "relu", "tanh", "logistic"]),
                "batch_size": 64,
            }
        value = _accuracy(config)
        attrs: dict[str, Any] = {_keys.DURATION_S: round(1.5 + rng.random(), 3)}
        if i == 0:
            attrs[_keys.PROPOSED_BY] = "default_config"
            attrs[_keys.RATIONALE] = "the task's default configuration, run first as a baseline"
        elif i % 3 == 1:
            attrs.update(
                {
                    _keys.PROPOSED_BY: "llm",
                    _keys.RATIONALE: "lower the learning rate: the last run oscillated",
                    _keys.LLM_MODEL: "openai:gpt-4o-mini",
                    _keys.LLM_CALLS: 1,
                    _keys.LLM_PROMPT_TOKENS: 900 + 10 * i,
                    _keys.LLM_COMPLETION_TOKENS: 60 + i,
                    _keys.LLM_LATENCY_S: 1.25,
                    _keys.LLM_COST: 0.0002,
                }
            )
        elif i % 6 == 2:
            attrs.update(
                {
                    _keys.PROPOSED_BY: "backbone",
                    _keys.FALLBACK_REASON: "duplicate: the LLM proposed trial 1's configuration",
                    _keys.RATIONALE: "TPESampler proposed (LLM fallback: duplicate)",
                    _keys.LLM_MODEL: "openai:gpt-4o-mini",
                    _keys.LLM_CALLS: 2,
                    _keys.LLM_PROMPT_TOKENS: 1900,
                    _keys.LLM_COMPLETION_TOKENS: 120,
                    _keys.LLM_LATENCY_S: 2.5,
                    _keys.LLM_COST: 0.0004,
                }
            )
        else:
            attrs[_keys.PROPOSED_BY] = "backbone"
            attrs[_keys.RATIONALE] = "TPESampler's turn by the schedule"
        state = TrialState.COMPLETE
        intermediate: dict[int, float] = {}
        if i in (7, 19):
            state = TrialState.FAIL
            config["learning_rate"] = 0.1
            attrs[_keys.ERROR] = (
                "val_accuracy is nan (the run diverged or produced an invalid value)"
            )
            attrs[_keys.ANALYSIS] = "diverged: the loss became NaN at step 3"
        elif i == 13:
            state = TrialState.PRUNED
            curve = _curve(0.6, config["learning_rate"], steps=4)
            attrs[_keys.CURVE] = curve
            intermediate = {int(p["step"]): p["val_accuracy"] for p in curve}
            attrs[_keys.ANALYSIS] = "pruned at step 3: far below the best trials"
        else:
            curve = _curve(value, config["learning_rate"])
            attrs[_keys.CURVE] = curve
            intermediate = {int(p["step"]): p["val_accuracy"] for p in curve}
            attrs[_keys.METRICS] = {"val_accuracy": value, HIDDEN: round(value - 0.006, 4)}
            attrs[_keys.ANALYSIS] = (
                "still improving at the last step" if value > 0.95 else "plateaued early"
            )
        trials.append((config, value, state, attrs, intermediate))
    done = [i for i, t in enumerate(trials) if t[2] == TrialState.COMPLETE]
    best = max(done, key=lambda i: (trials[i][1], -i))
    # The incumbent was re-run with other seeds (what the agent's noise option stores).
    trials[best][3][NOISE] = {"mean": round(trials[best][1] - 0.002, 4), "std": 0.0041, "n": 5}
    study.add_trials(
        [
            create_trial(
                params=config,
                distributions=DISTRIBUTIONS,
                value=value if state == TrialState.COMPLETE else None,
                state=state,
                user_attrs=attrs,
                intermediate_values=intermediate,
            )
            for config, value, state, attrs, intermediate in trials
        ]
    )
    return optuna.load_study(study_name=RICH_STUDY, storage=storage)


def good_llm_answer() -> str:
    """An LLM summary that follows the rules."""
    return json.dumps(
        {
            "important_params": ["learning_rate", "activation"],
            "what_mattered": "The learning rate dominated: it explains {importance:learning_rate}"
            " of the variation, and the best quarter of trials used {top_range:learning_rate}."
            " {best_trial} reached {best_value}, against {default_value} for the default"
            " ({trial:0}).",
            "what_did_not": "Dropout barely mattered ({importance:dropout}); batch_size was"
            " never varied.",
            "next_steps": [
                "Narrow learning_rate to {top_range:learning_rate}.",
                "Gains smaller than {noise_std}, the best configuration's spread over"
                " {noise_n} seeds, are noise: re-run close contenders such as {trial:1}.",
            ],
        }
    )


@pytest.fixture
def storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"


@pytest.fixture(scope="module")
def rich_storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One rich study for the module (reports only read it)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('rich') / 'rich.db'}"
    build_rich_study(url)
    return url


@pytest.fixture
def rich(rich_storage: str) -> optuna.Study:
    return optuna.load_study(study_name=RICH_STUDY, storage=rich_storage)


def _stored(storage: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=RICH_STUDY, storage=storage).get_trials()


# ------------------------------------------------------------------------- figures


def test_report_figures_match_the_storage(
    rich: optuna.Study, rich_storage: str, tmp_path: Path
) -> None:
    paths = build_report(rich, out_dir=tmp_path / "out")
    report = paths.report
    stored = _stored(rich_storage)
    completed = [t for t in stored if t.state == TrialState.COMPLETE]
    best = max(completed, key=lambda t: t.value or 0.0)

    assert report.data.best is not None
    assert report.data.best.number == best.number
    assert report.data.best.value == best.value
    assert len(report.data.trials) == len(stored) == 30
    assert report.data.counts() == {
        "complete": 27,
        "pruned": 1,
        "fail": 2,
        "interrupted": 0,
        "running": 0,
        "waiting": 0,
    }

    history = report.figure("history")
    assert history is not None
    scatter = [t for t in history.spec["data"] if t["mode"] == "markers"]
    drawn = {x: y for trace in scatter for x, y in zip(trace["x"], trace["y"], strict=True)}
    assert drawn == {t.number: t.value for t in completed}
    best_line = next(t for t in history.spec["data"] if t["name"] == "best so far")
    running = -math.inf
    for x, y in zip(best_line["x"], best_line["y"], strict=True):
        running = max(running, stored[x].value or -math.inf)
        assert y == running
    assert best_line["y"][-1] == best.value
    reference = next(t for t in history.spec["data"] if t["name"].startswith("random search"))
    assert reference["y"] == rich.user_attrs[STUDY_REFERENCE]["random search (median of 10 seeds)"]
    # The best trial's noise band is drawn as its error bar.
    bars = {
        x: e
        for trace in scatter
        if "error_y" in trace
        for x, e in zip(trace["x"], trace["error_y"]["array"], strict=True)
    }
    assert bars[best.number] == 0.0041

    # Importance: every varied parameter, shares summing to one, from Optuna's fANOVA.
    importance = report.importance
    assert importance.evaluator == "fANOVA"
    assert set(importance.values) == set(SPACE)
    assert math.isclose(sum(importance.values.values()), 1.0)
    assert importance.ranking()[0] == "learning_rate"
    assert importance.single_valued == ("batch_size",)
    expected = optuna.importance.get_param_importances(
        rich, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0), params=sorted(SPACE)
    )
    assert set(expected) == set(importance.values)

    curves = report.figure("curves")
    assert curves is not None
    top5 = sorted(completed, key=lambda t: (-(t.value or 0.0), t.number))[:5]
    assert [tr["name"].split()[1] for tr in curves.spec["data"]] == [str(t.number) for t in top5]
    assert curves.spec["data"][0]["y"] == [p["val_accuracy"] for p in best.user_attrs["curve"]]
    assert {f.key for f in report.figures} == {
        "history",
        "importance",
        "slice",
        "contour",
        "curves",
    }

    # LLM usage: totals are the sums of the stored attributes.
    usage = report.data.llm
    assert usage.calls == sum(t.user_attrs.get(_keys.LLM_CALLS, 0) for t in stored)
    assert usage.prompt_tokens == sum(t.user_attrs.get(_keys.LLM_PROMPT_TOKENS, 0) for t in stored)
    assert usage.completion_tokens == sum(
        t.user_attrs.get(_keys.LLM_COMPLETION_TOKENS, 0) for t in stored
    )
    assert usage.cost_usd == pytest.approx(sum(t.user_attrs.get(_keys.LLM_COST, 0) for t in stored))
    assert usage.fallbacks == sum(1 for t in stored if t.user_attrs.get(_keys.FALLBACK_REASON))
    assert usage.fallback_reasons == {"duplicate": usage.fallbacks}


def test_html_holds_every_row_and_is_self_contained(rich: optuna.Study, tmp_path: Path) -> None:
    paths = build_report(rich, out_dir=tmp_path)
    html = paths.html.read_text(encoding="utf-8")
    stored = rich.get_trials()
    rows = re.findall(r'<tr id="trial-(\d+)"', html)
    assert [int(r) for r in rows] == [t.number for t in stored]
    # plotly.js is inlined exactly once, and nothing is loaded from elsewhere.
    assert html.count("plotly.js v") == 1
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=", html)
    outside_plotly = html.replace(plotly_js(), "")
    assert "https://" not in outside_plotly
    islands = re.findall(r'class="agenthpo-figure" data-target="fig-(\d+)"', html)
    assert len(islands) == len(paths.report.figures)
    facts = json.loads(
        re.search(
            r'<script type="application/json" id="agenthpo-facts">(.*?)</script>', html
        ).group(1)  # type: ignore[union-attr]
    )
    assert facts["best_value"] == rich.best_value
    assert facts["n_trials"] == len(stored)
    assert facts["llm_tokens"] == paths.report.data.llm.total_tokens
    # Every failed trial's error and the rationale of every trial are in the table.
    for t in stored:
        if t.state == TrialState.FAIL:
            assert "error: " + t.user_attrs[_keys.ERROR] in html
    assert "hidden from the agent" in html
    # The Markdown has the same facts.
    md = paths.markdown.read_text(encoding="utf-8")
    assert md.startswith(f"# {RICH_STUDY}: AgentHPO study report")
    assert f"**val_accuracy = {rich.best_value:.5g}**" in md
    assert md.count("\n| ") >= len(stored)
    for t in stored:
        assert f"\n| {t.number} | {t.state.name.lower()} |" in md


# ------------------------------------------------------------------------- summary


def test_llm_summary_is_filled_from_the_data(rich: optuna.Study, tmp_path: Path) -> None:
    llm = ScriptedLLM([good_llm_answer()])
    report = build_report(rich, out_dir=tmp_path, llm=llm).report
    summary = report.summary
    assert summary.source == "llm"
    assert summary.problems == []
    # The request carried a JSON schema and a digest without hidden metrics.
    call = llm.calls[0]
    assert call.schema == summary_schema(report.data.param_names)
    prompt = "\n".join(m.content for m in call.messages)
    assert HIDDEN not in prompt
    best = rich.best_trial
    text = " ".join(p.plain() for s in summary.sections for p in s.paragraphs)
    share = report.importance.values["learning_rate"]
    assert f"explains {share * 100:.1f}% of the variation" in text
    assert f"trial {best.number} reached {best.value:.5g}" in text
    default_value = rich.trials[0].value
    assert f"against {default_value:.5g} for the default (trial 0)" in text
    assert "Gains smaller than 0.0041, the best configuration's spread over 5 seeds" in text
    filler = Filler(report.data, report.importance)
    assert filler.top_range("learning_rate") in text  # type: ignore[operator]
    assert "{" not in text
    assert summary.cited_trials == [best.number, 0, 1]
    # LLM list and measurement agree on learning_rate; batch_size cannot be measured.
    rows = {r.param: r for r in summary.comparison}
    assert rows["learning_rate"].status == "agree"
    assert rows["batch_size"].status == "not_measurable"
    assert not rows["batch_size"].flagged
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"by {llm.name}" in html


def test_fabricated_numbers_and_unknown_trials_are_caught(
    rich: optuna.Study, tmp_path: Path
) -> None:
    answer = {
        "important_params": ["dropout", "optimizer"],
        "what_mattered": "Dropout of 0.3 gave 98.7% accuracy in {trial:999}; see {trial:2}.",
        "what_did_not": "The {importance:momentum} of momentum and {bogus} did not matter.",
        "next_steps": ["Try 5 more trials with lr=3e-4.", "Check {trial:abc.value}."],
    }
    llm = ScriptedLLM([json.dumps(answer)])
    summary = build_report(rich, out_dir=tmp_path, llm=llm).report.summary
    kinds = [p.kind for p in summary.problems]
    assert kinds.count("literal_number") == 4  # 0.3, 98.7%, 5, 3e-4
    assert kinds.count("unknown_trial") == 2  # 999 and "abc"
    assert kinds.count("unknown_param") == 2  # momentum, optimizer
    assert kinds.count("unknown_placeholder") == 1  # {bogus}
    shown = " ".join(p.plain() for s in summary.sections for p in s.paragraphs)
    for literal in ("0.3", "98.7", "3e-4", "999", "5 more"):
        assert literal not in shown
    assert "[number removed]" in shown
    assert "[no such trial]" in shown
    assert summary.cited_trials == [2]
    # Its important parameters disagree with the measurement, and that is flagged.
    rows = {r.param: r for r in summary.comparison}
    assert summary.important_params == ["dropout"]
    assert rows["dropout"].status == "llm_only"
    assert rows["dropout"].flagged
    assert rows["learning_rate"].status == "measured_only"
    assert rows["learning_rate"].flagged
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "98.7" not in html.split('id="summary"')[1].split("</section>")[0].replace(
        "&#x27;98.7%&#x27;", ""
    ).replace("'98.7%'", "")
    assert 'class="flag"' in html
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "DISAGREE" in md


def test_literal_number_detection() -> None:
    assert find_literal_numbers("trial 12 reached 0.97 (+3.5%), 1e-3 and 1,000 runs") == [
        "12",
        "0.97",
        "+3.5%",
        "1e-3",
        "1,000",
    ]
    # Digits inside names are not numbers.
    assert find_literal_numbers("l2 penalty, fp16, layer_3 and conv2d") == []
    assert find_literal_numbers("n_layers3 is fine", frozenset({"n_layers3"})) == []


def test_no_llm_summary_is_data_only_and_consistent(rich: optuna.Study, tmp_path: Path) -> None:
    report = build_report(rich, out_dir=tmp_path).report
    summary = report.summary
    assert summary.source == "data"
    assert summary.problems == []
    assert "without an LLM" in summary.note
    text = " ".join(p.plain() for s in summary.sections for p in s.paragraphs)
    assert f"The best val_accuracy is {rich.best_value:.5g} (trial {rich.best_trial.number}" in text
    assert "learning_rate" in text
    assert "batch_size was only ever tried at one value" in text
    assert "2 trials failed" in text
    assert summary.important_params == report.importance.important()
    assert "learning_rate" in summary.important_params
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "data-only summary" in html


@pytest.mark.parametrize(
    "script",
    [
        LLMError("the endpoint is down"),
        "I think the learning rate mattered.",  # not JSON
        json.dumps({"important_params": [], "what_mattered": ""}),  # empty
        json.dumps(  # placeholders and no prose: says nothing
            {"important_params": [], "what_mattered": "{best_value} ({best_trial})"}
        ),
    ],
)
def test_llm_failure_falls_back_to_the_data(
    rich: optuna.Study, tmp_path: Path, script: Any
) -> None:
    llm = ScriptedLLM([script])
    summary = build_report(rich, out_dir=tmp_path, llm=llm).report.summary
    assert summary.source == "data"
    assert "scripted:scripted could not write the summary" in summary.note
    assert (tmp_path / "report.html").exists()


# ------------------------------------------------------------------------- edge cases


def _tiny_study(storage: str, values: Sequence[float | None], **kw: Any) -> optuna.Study:
    study = optuna.create_study(study_name="tiny", storage=storage, **kw)
    for i, v in enumerate(values):
        study.add_trial(
            create_trial(
                params={"x": float(i), "k": "a"},
                distributions={
                    "x": FloatDistribution(0, 10),
                    "k": CategoricalDistribution(["a", "b"]),
                },
                value=v,
                state=TrialState.COMPLETE if v is not None else TrialState.FAIL,
                user_attrs={} if v is not None else {_keys.ERROR: "boom: {weird} error"},
            )
        )
    return study


@pytest.mark.parametrize(
    ("values", "note"),
    [
        ([], "needs at least 2 completed trials"),
        ([None, None], "needs at least 2 completed trials"),
        ([0.5], "needs at least 2 completed trials"),
        ([0.5, 0.5, 0.5], "same value"),
    ],
)
def test_small_and_flat_studies_still_report(
    storage: str, tmp_path: Path, values: list[float | None], note: str
) -> None:
    study = _tiny_study(storage, values)
    paths = build_report(study, out_dir=tmp_path)
    report = paths.report
    assert not report.importance.measured
    assert note in report.importance.note
    assert report.summary.problems == []
    assert paths.html.exists()
    assert paths.markdown.exists()
    if not any(v is not None for v in values):
        assert report.figures == []
        assert "No trial has completed yet" in paths.html.read_text(encoding="utf-8")


def test_infinite_values_do_not_break_the_page(storage: str, tmp_path: Path) -> None:
    study = _tiny_study(storage, [1.0, math.inf, 2.0, None, 0.5])
    paths = build_report(study, out_dir=tmp_path)
    html = paths.html.read_text(encoding="utf-8")
    assert "Infinity" not in html.replace(plotly_js(), "")
    assert "NaN" not in html.replace(plotly_js(), "")
    assert paths.report.data.best is not None
    assert paths.report.data.best.value == 0.5


def test_single_valued_parameters_are_not_called_unimportant(storage: str) -> None:
    study = _tiny_study(storage, [1.0, 2.0, 4.0, 3.0])
    importance = measure_importance(study)
    assert importance.single_valued == ("k",)
    assert importance.ranking() == ["x"]
    assert importance.important() == ["x"]
    report = make_report(study, llm=None)
    rows = {r.param: r for r in report.summary.comparison}
    assert rows["k"].status == "not_measurable"


def test_multi_objective_study_gets_a_pareto_front(storage: str, tmp_path: Path) -> None:
    study = optuna.create_study(
        study_name="mo", storage=storage, directions=["maximize", "minimize"]
    )
    study.set_user_attr(_keys.STUDY_METRIC, ["accuracy", "latency_ms"])
    for i in range(12):
        x = i / 11
        study.add_trial(
            create_trial(
                params={"width": x},
                distributions={"width": FloatDistribution(0, 1)},
                values=[0.8 + 0.15 * x, 5 + 20 * x * x],
            )
        )
    paths = build_report(study, out_dir=tmp_path)
    report = paths.report
    assert report.data.metric_names == ("accuracy", "latency_ms")
    assert report.figure("pareto") is not None
    assert {t.number for t in report.data.pareto} == {t.number for t in study.best_trials}
    assert "Pareto" in paths.html.read_text(encoding="utf-8")


def test_placeholder_values_come_from_storage(rich: optuna.Study) -> None:
    report = make_report(rich)
    filler = Filler(report.data, report.importance)
    trial5 = rich.trials[5]
    filled = filler.fill(
        "{trial:5.value} {trial:5.activation} {best:learning_rate} {n_trials} {n_failed}"
        " {llm_tokens} {llm_cost} {trial:7.value}",
        "test",
    )
    assert filled.problems == []
    parts = [s.text for s in filled.segments if s.kind == "value"]
    assert parts == [
        f"{trial5.value:.5g}",
        trial5.params["activation"],
        f"{rich.best_params['learning_rate']:.4g}",
        "30",
        "2",
        f"{report.data.llm.total_tokens:,}",
        f"${report.data.llm.cost_usd:.4f}",
        "no value (fail)",
    ]


# ------------------------------------------------------------------------- end to end


def test_report_of_a_study_run_by_the_tuner(quadratic_task: Task, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'q.db'}"

    def propose(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
        n = sum("trial" in m.content for m in messages)
        return json.dumps({"config": {"x": 1.0 + 0.37 * n, "kind": "a"}, "rationale": "walk"})

    Tuner(quadratic_task, llm=ScriptedLLM([propose]), storage=storage).run()
    study = optuna.load_study(study_name="quad", storage=storage)
    answer = {
        "important_params": ["x"],
        "what_mattered": "Getting x close to its optimum was all that counted: {best_trial}"
        " gave {best_value}.",
        "what_did_not": "",
        "next_steps": [],
    }
    summary_llm = ScriptedLLM([json.dumps(answer)])
    paths = build_report(study, out_dir=tmp_path / "r", llm=summary_llm)
    report = paths.report
    stored = study.get_trials()
    assert report.data.metric == "loss"
    assert report.data.hidden_metrics == ("test_loss",)
    assert report.data.best is not None
    assert report.data.best.value == study.best_value
    assert report.data.llm.total_tokens == sum(
        t.user_attrs.get(_keys.LLM_PROMPT_TOKENS, 0)
        + t.user_attrs.get(_keys.LLM_COMPLETION_TOKENS, 0)
        for t in stored
    )
    assert report.data.llm.total_tokens > 0
    assert all(len(t.curve) == 3 for t in report.data.completed)
    assert report.summary.source == "llm"
    assert report.summary.sections[0].paragraphs[0].plain() == (
        "Getting x close to its optimum was all that counted:"
        f" trial {study.best_trial.number} gave {study.best_value:.5g}."
    )
    assert paths.markdown.exists()


# ------------------------------------------------------------------------- command line


def _cli() -> typer.Typer:
    """``agenthpo report`` on an app of its own (agenthpo.cli registers it on the real one)."""
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """Test app."""

    app.command("report")(report_command)
    return app


TASK_YAML = """
name: cli-demo
description: a quadratic bowl
objective: {metric: loss, direction: minimize}
space:
  x: {type: float, low: -5.0, high: 5.0}
n_trials: 5
function: quad:objective
"""


def test_report_command_writes_beside_the_task(tmp_path: Path) -> None:
    task_file = tmp_path / "task.yaml"
    task_file.write_text(TASK_YAML)
    storage = f"sqlite:///{(tmp_path / 'task.agenthpo.db').resolve()}"
    study = optuna.create_study(study_name="cli-demo", storage=storage)
    study.set_user_attr(_keys.STUDY_METRIC, "loss")
    for x in (3.0, -1.0, 2.5, 1.0, 0.0):
        study.add_trial(
            create_trial(
                params={"x": x}, distributions={"x": FloatDistribution(-5, 5)}, value=(x - 2) ** 2
            )
        )
    result = CliRunner().invoke(_cli(), ["report", str(task_file), "--no-llm"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "task-report"
    assert (out / "report.html").exists()
    assert (out / "report.md").exists()
    assert "task-report" in result.output
    assert "without an LLM" in result.output

    reference = tmp_path / "ref.json"
    reference.write_text(json.dumps({"random search": [9.0, 4.0, 4.0, 1.0, 1.0]}))
    result = CliRunner().invoke(
        _cli(),
        [
            "report",
            "--storage",
            storage,
            "-o",
            str(tmp_path / "o"),
            "--no-llm",
            "--reference",
            str(reference),
            "--importance",
            "ped-anova",
        ],
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert "random search" in html
    assert "PED-ANOVA" in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--llm", "local", "--no-llm"], "not both"),
        (["--importance", "shap"], "choose one of fanova"),
        (["--reference", "missing.json"], "cannot read the file"),
        (["--study", "nope"], "no study named 'nope'"),
    ],
)
def test_report_command_errors_exit_2_without_traceback(
    rich_storage: str, tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        _cli(), ["report", "--storage", rich_storage, "-o", str(tmp_path), *args]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_write_run_report_never_raises(tmp_path: Path) -> None:
    assert write_run_report(tmp_path / "missing.yaml") is None
    task_file = tmp_path / "task.yaml"
    task_file.write_text(TASK_YAML)
    assert write_run_report(task_file) is None  # no study stored yet
    study = optuna.create_study(
        study_name="cli-demo", storage=f"sqlite:///{(tmp_path / 'task.agenthpo.db').resolve()}"
    )
    study.add_trial(
        create_trial(params={"x": 1.0}, distributions={"x": FloatDistribution(-5, 5)}, value=1.0)
    )
    paths = write_run_report(task_file)
    assert paths is not None
    assert paths.html == tmp_path / "task-report" / "report.html"
    assert paths.report.summary.source == "data"


# ------------------------------------------------------------ reports belong to their study


def _quad_study(storage: str, values: Sequence[float]) -> None:
    study = optuna.create_study(study_name="cli-demo", storage=storage)
    study.set_user_attr(_keys.STUDY_METRIC, "loss")
    for x in values:
        study.add_trial(
            create_trial(
                params={"x": x}, distributions={"x": FloatDistribution(-5, 5)}, value=(x - 2) ** 2
            )
        )


def test_two_studies_of_one_task_never_share_a_report_folder(tmp_path: Path) -> None:
    task_file = tmp_path / "task.yaml"
    task_file.write_text(TASK_YAML)
    default = f"sqlite:///{(tmp_path / 'task.agenthpo.db').resolve()}"
    other = f"sqlite:///{(tmp_path / 'elsewhere' / 'other.db').resolve()}"
    (tmp_path / "elsewhere").mkdir()
    _quad_study(default, [3.0, -1.0, 2.5])
    _quad_study(other, [0.0, 1.0, 4.0, 2.0])
    first = write_run_report(task_file)
    second = write_run_report(task_file, storage=other)
    assert first is not None
    assert second is not None
    assert first.html == tmp_path / "task-report" / "report.html"  # the task's own storage
    assert second.html.parent != first.html.parent
    assert second.html.parent.parent == tmp_path
    assert "other" in second.html.parent.name  # named after its storage
    assert len(first.report.data.trials) == 3
    assert len(second.report.data.trials) == 4
    assert first.html.exists()
    assert second.html.exists()
    # The same storage file name in another folder is another storage: another folder.
    (tmp_path / "third").mkdir()
    third_url = f"sqlite:///{(tmp_path / 'third' / 'other.db').resolve()}"
    _quad_study(third_url, [1.0, 2.0])
    third = write_run_report(task_file, storage=third_url)
    assert third is not None
    assert third.html.parent not in (first.html.parent, second.html.parent)
    # `agenthpo report` picks the same folder as the run did, and says which storage.
    result = CliRunner().invoke(_cli(), ["report", str(task_file), "--storage", other, "--no-llm"])
    assert result.exit_code == 0, result.output
    assert str(second.html) in result.output.replace("\n", "")
    assert other in result.output.replace("\n", "")


def _echoed_template() -> str:
    return json.dumps(
        {
            "important_params": [],
            "what_mattered": "{best_value} {best_trial} {best_trial} {n_trials} {default_value}",
            "what_did_not": "",
            "next_steps": [],
        }
    )


def _unfilled() -> str:
    return json.dumps(
        {
            "important_params": ["learning_rate"],
            "what_mattered": "The learning rate mattered most: the best run reached {{best value}}"
            " while the default stayed at {default value}.",
            "what_did_not": "",
            "next_steps": ["Narrow the learning rate."],
        }
    )


@pytest.mark.parametrize("bad", [_echoed_template(), _unfilled()], ids=["echo", "unfilled"])
def test_an_unusable_llm_summary_is_retried_once_saying_why(
    rich: optuna.Study, tmp_path: Path, bad: str
) -> None:
    llm = ScriptedLLM([bad, good_llm_answer()])
    summary = build_report(rich, out_dir=tmp_path, llm=llm).report.summary
    assert len(llm.calls) == 2
    assert summary.source == "llm"
    assert "retried once" in summary.note
    retry = llm.calls[1].messages
    assert retry[-2].role == "assistant"
    assert retry[-2].content == bad
    assert "unusable" in retry[-1].content
    shown = " ".join(p.plain() for s in summary.sections for p in s.paragraphs)
    assert "{" not in shown


@pytest.mark.parametrize("bad", [_echoed_template(), _unfilled()], ids=["echo", "unfilled"])
def test_a_summary_unusable_twice_falls_back_saying_why(
    rich: optuna.Study, tmp_path: Path, bad: str
) -> None:
    llm = ScriptedLLM([bad])
    summary = build_report(rich, out_dir=tmp_path, llm=llm).report.summary
    assert len(llm.calls) == 2  # the answer, and one retry
    assert summary.source == "data"
    assert "could not write the summary" in summary.note
    assert "first answer:" in summary.note
    assert "retry:" in summary.note
    if "unfilled" in bad or "{{" in bad:
        assert "unfilled placeholder" in summary.note


# -------------------------------------- what the LLM added (issue 22, item 7)


def _sourced_study(storage: str, rows: Sequence[tuple[float | None, str, dict[str, Any]]]) -> Any:
    study = optuna.create_study(study_name="sourced", storage=storage, direction="maximize")
    study.set_user_attr(_keys.STUDY_METRIC, "acc")
    for i, (value, by, extra) in enumerate(rows):
        study.add_trial(
            create_trial(
                params={"x": i / 10},
                distributions={"x": FloatDistribution(0, 1)},
                value=value,
                state=TrialState.COMPLETE if value is not None else TrialState.FAIL,
                user_attrs={_keys.PROPOSED_BY: by, **extra},
            )
        )
    return study


def test_the_report_says_what_the_llm_added(storage: str, tmp_path: Path) -> None:
    study = _sourced_study(
        storage,
        [
            (0.91, "default_config", {}),
            (0.93, "llm", {}),
            (0.92, "backbone", {}),
            (0.941, "llm", {_keys.LLM_NEAR_COPY: {"of": 1, "distance": 0.01, "repaired": True}}),
            (0.934, "backbone", {}),
            (
                0.932,
                "llm",
                {
                    _keys.RATIONALE_CHECK: "claims #4 is the best; the best is #3",
                    _keys.LLM_FAILURE_REGION: {"cause": "crashed", "trials": [6], "repaired": True},
                },
            ),
            (None, "backbone", {}),
        ],
    )
    paths = build_report(study, out_dir=tmp_path)
    c = paths.report.data.contribution
    # Ranks among the 7 finished trials (the failure last): the LLM's 50%, 100%, 67%.
    stats = [(s.source, s.n, round(s.mean_rank or 0), s.beat_median, s.judged) for s in c.sources]
    assert stats == [("LLM", 3, 72, 3, 3), ("backbone", 3, 39, 1, 3), ("given", 1, 17, 0, 0)]
    assert (c.best_trial, c.best_source, c.near_copies) == (3, "LLM", 1)
    assert c.flagged == ((5, "claims #4 is the best; the best is #3"),)
    md = paths.markdown.read_text(encoding="utf-8")
    assert "### What the LLM added" in md
    assert "| LLM | 3 | 3 | 72% | 3 of 3 | 0.941 | 3 |" in md
    assert "| given | 1 | 1 | 17% | — | 0.91 | 0 |" in md
    assert "Best found by the LLM (trial 3, acc=0.941)." in md
    assert "rationale check: claims #4 is the best" in md
    html = paths.html.read_text(encoding="utf-8")
    assert "<h3>What the LLM added</h3>" in html
    assert "rationale check: claims #4 is the best" in html
    assert "an LLM answer nearly repeated trial 1" in html
    assert "an LLM answer lay where #6 crashed" in html
    assert "an LLM answer lay where #6 crashed" in md


def test_who_came_within_one_percent_of_the_best_first(storage: str) -> None:
    study = _sourced_study(
        storage,
        [(0.80, "backbone", {}), (0.936, "backbone", {}), (0.90, "llm", {}), (0.94, "llm", {})],
    )
    c = collect_data(study).contribution
    assert (c.best_trial, c.best_source) == (3, "LLM")
    assert (c.first_near_best, c.first_near_source) == (1, "backbone")
    assert c.lines("acc", 0.94) == [
        "Best found by the LLM (trial 3, acc=0.94); first within 1% of it: trial 1 (the backbone)."
    ]


def test_a_study_without_llm_trials_says_so_instead_of_a_table(
    storage: str, tmp_path: Path
) -> None:
    study = _sourced_study(storage, [(0.8, "backbone", {}), (0.9, "backbone", {})])
    paths = build_report(study, out_dir=tmp_path)
    md = paths.markdown.read_text(encoding="utf-8")
    section = md.split("### What the LLM added", 1)[1].split("\n#", 1)[0]
    assert section.strip() == "No trial of this study was proposed by an LLM."


def test_a_finished_run_counts_for_its_source_even_with_a_stale_interrupted_mark(
    storage: str,
) -> None:
    # A recovery that lost the race to the runner's own result leaves "not counted" on a
    # complete trial; the run still happened, and its proposer earned it.
    stale = {_keys.NOT_COUNTED: "interrupted", _keys.ERROR: "interrupted: its runner was lost"}
    study = _sourced_study(
        storage, [(0.80, "backbone", {}), (0.90, "backbone", {}), (0.95, "llm", stale)]
    )
    c = collect_data(study).contribution
    assert (c.best_trial, c.best_source) == (2, "LLM")
