"""What the report writes: Markdown that never carries stored HTML, every objective named, a
stale selection ignored, plain wording, and bounded work on large studies."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState, create_trial

from agenthpo import _keys
from agenthpo.llm import ScriptedLLM
from agenthpo.reporting import (
    _figures,
    _importance,
    build_report,
    collect_data,
    make_report,
    read_selection,
)

X: dict[str, BaseDistribution] = {"x": FloatDistribution(-10, 10)}


@pytest.fixture
def storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"


def _add(study: optuna.Study, values: list[float | None], **attrs: Any) -> None:
    for i, v in enumerate(values):
        study.add_trial(
            create_trial(
                params={"x": float(i)},
                distributions=X,
                value=v,
                state=TrialState.COMPLETE if v is not None else TrialState.FAIL,
                user_attrs=attrs,
            )
        )


# ------------------------------------------------------------------- hostile text


def _evil(tag: str) -> str:
    return f"<img src=x onerror=alert('{tag}')></td></tr>&amp;"


def _hostile_study(storage: str) -> optuna.Study:
    study = optuna.create_study(study_name="s" + _evil("study"), storage=storage)
    study.set_user_attr(_keys.STUDY_METRIC, "m" + _evil("metric"))
    study.set_user_attr(_keys.STUDY_HIDDEN, [_evil("hidden")])
    study.set_user_attr(
        _keys.STUDY_TASK,
        {
            "name": _evil("task"),
            "description": _evil("description") + "\n\nsecond paragraph",
            "dataset": {"k" + _evil("key"): _evil("value"), "n": [_evil("list")]},
            "model": _evil("model"),
        },
    )
    name = "p" + _evil("param")
    choice = _evil("choice")
    dists = {name: FloatDistribution(0, 10), "c": CategoricalDistribution((choice, "b"))}
    for i in range(6):
        failed = i == 5
        study.add_trial(
            create_trial(
                params={name: float(i), "c": choice if i % 2 else "b"},
                distributions=dists,
                value=None if failed else float(i),
                state=TrialState.FAIL if failed else TrialState.COMPLETE,
                user_attrs={
                    _keys.PROPOSED_BY: "llm" if i % 2 else _evil("by"),
                    _keys.RATIONALE: _evil("rationale"),
                    _keys.ANALYSIS: _evil("analysis"),
                    _keys.ERROR: _evil("error"),
                    _keys.FALLBACK_REASON: _evil("fallback"),
                    _keys.RATIONALE_CHECK: _evil("check"),
                    _keys.LLM_MODEL: _evil("model"),
                    _keys.LLM_CALLS: 1,
                    _keys.METRICS: {"k" + _evil("metric"): 1.0},
                },
            )
        )
    return study


def _hostile_llm() -> ScriptedLLM:
    answer = {
        "important_params": ["c", _evil("unknown")],
        "what_mattered": "The choice mattered most, more than anything else here at all "
        + _evil("summary")
        + " in {trial:1}.",
        "what_did_not": _evil("did not") + " nothing else made a difference at all.",
        "next_steps": [_evil("step") + " try more trials of this kind."],
    }
    return ScriptedLLM([json.dumps(answer)])


def _cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_never_carries_html_from_stored_or_llm_text(storage: str, tmp_path: Path) -> None:
    paths = build_report(_hostile_study(storage), out_dir=tmp_path, llm=_hostile_llm())
    assert paths.report.summary.source == "llm"  # the LLM's own prose is in the report
    md = paths.markdown.read_text(encoding="utf-8")
    assert "<" not in md, [line for line in md.splitlines() if "<" in line][:5]
    assert ">" not in md.replace("-&gt;", "")
    assert "&lt;img src=x onerror=alert('summary')&gt;&lt;/td&gt;&lt;/tr&gt;&amp;amp;" in md
    for tag in (
        "study",
        "metric",
        "hidden",
        "description",
        "key",
        "value",
        "model",
        "param",
        "choice",
        "by",
        "rationale",
        "analysis",
        "error",
        "check",
        "did not",
        "step",
    ):
        assert f"alert('{tag}')" in md, tag  # escaped, not dropped
    # Every table row keeps its header's number of columns: no stored text ends a cell.
    table: list[str] = []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            widths = {len(_cells(row)) for row in table}
            assert len(widths) == 1, table
            table = []
    # Numbers and our own markup are untouched.
    assert "| 4 | complete | 4 |" in md
    assert "`c`" in md


def test_markdown_helpers_escape_once() -> None:
    from agenthpo.reporting._markdown import md_cell, md_code, md_text

    assert md_text("1 < 2 & 3 > 2") == "1 &lt; 2 &amp; 3 &gt; 2"
    assert md_cell("a|<b>") == "a\\|&lt;b&gt;"
    assert md_code("lr") == "`lr`"
    assert md_code("<b>") == "&lt;b&gt;"
    assert md_cell(md_code("<b>")) == "&lt;b&gt;"  # our own Markdown is not escaped twice
    assert md_text(0.5) == "0.5"


_UNSAFE_LINKS = (
    "[x](javascript:alert(1))",
    "![img]( JavaScript:alert(2))",
    "[y](javascript\\:alert(3))",
    "[z](data:text/html,hi)",
)


def _linked_study(storage: str) -> optuna.Study:
    study = optuna.create_study(study_name="links", storage=storage)
    study.set_user_attr(
        _keys.STUDY_TASK,
        {
            "description": "See [the docs](https://optuna.org) and " + " ".join(_UNSAFE_LINKS),
            "model": "[m](vbscript:msgbox(1))",
        },
    )
    for i in range(4):
        study.add_trial(
            create_trial(
                params={"x": float(i)},
                distributions=X,
                value=float(i),
                user_attrs={
                    _keys.PROPOSED_BY: "llm",
                    _keys.RATIONALE: "[click me](javascript:alert(4)) or [ok](https://a.b)",
                },
            )
        )
    return study


def test_markdown_keeps_no_link_to_an_unsafe_scheme(storage: str, tmp_path: Path) -> None:
    answer = {
        "important_params": ["x"],
        "what_mattered": "x mattered most of all the parameters in this study, see"
        " [bad](javascript:alert(5)) and [good](https://example.org) in {trial:1}.",
        "what_did_not": "Nothing else made a difference [r]: javascript:alert(6) at all.",
        "next_steps": ["Try [this](javascript:alert(7)) and more trials of this kind."],
    }
    llm = ScriptedLLM([json.dumps(answer)])
    paths = build_report(_linked_study(storage), out_dir=tmp_path, llm=llm)
    assert paths.report.summary.source == "llm"
    md = paths.markdown.read_text(encoding="utf-8")
    # A link is ``](`` (or a definition ``]:``) straight before its target.
    live = re.findall(r"(?<!\\)\]\(\s*([^\s)]*)|(?<!\\)\]:\s*(\S*)", md)
    targets = [a or b for a, b in live]
    assert targets, "the safe links are gone too"
    assert all(t.startswith(("https://", "http://")) for t in targets), targets
    assert "[the docs](https://optuna.org)" in md  # the author's link stays a link
    assert "[ok](https://a.b)" in md
    assert "[good](https://example.org)" in md
    for text in ("[click me]\\(javascript:alert(4))", "[bad]\\(javascript:", "[m]\\(vbscript:"):
        assert text in md, text  # shown, not dropped
    assert "[x]\\(javascript:alert(1))" in md


# ------------------------------------------------------------- several objectives


def test_the_trials_table_names_every_objective(storage: str, tmp_path: Path) -> None:
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
    study.set_user_attr(_keys.STUDY_METRIC, ["acc", "seconds"])
    for i in range(4):
        study.add_trial(create_trial(params={"x": float(i)}, distributions=X, values=[i, 5 - i]))
    paths = build_report(study, out_dir=tmp_path)
    md = paths.markdown.read_text(encoding="utf-8")
    html = paths.html.read_text(encoding="utf-8")
    assert "| trial | state | acc / seconds | config |" in md
    assert "| 1 | complete | 1 / 4 |" in md
    trials = html[html.index('<section id="trials">') :]
    assert '<th class="num">acc / seconds</th>' in trials


# ------------------------------------------------------------- a stale selection


@pytest.mark.parametrize(
    ("recommended", "why"),
    [(99, "which does not exist"), (3, "which did not complete (fail)"), ("x", "cannot be read")],
)
def test_a_stale_or_malformed_selection_is_ignored_with_a_note(
    storage: str, tmp_path: Path, recommended: Any, why: str
) -> None:
    study = optuna.create_study(study_name="sel", storage=storage)
    _add(study, [3.0, 1.0, 2.0, None])
    selection = {"recommended_trial": recommended, "improvement": True, "reason": "r"}
    study.set_user_attr(_keys.STUDY_SELECTION, selection if recommended != "x" else "garbage")
    assert read_selection(study)[0] is None
    assert why in read_selection(study)[1]
    paths = build_report(study, out_dir=tmp_path)
    data = paths.report.data
    assert data.selection is None
    assert data.best is not None
    assert data.best.number == 1
    md = paths.markdown.read_text(encoding="utf-8")
    assert "is recommended" not in md
    assert "## Best result" in md
    assert why in md
    assert "ignored" in md
    assert "ignored" in paths.html.read_text(encoding="utf-8")


def test_a_valid_selection_still_recommends_its_trial(storage: str) -> None:
    study = optuna.create_study(study_name="sel", storage=storage)
    _add(study, [3.0, 1.0, 2.0])
    study.set_user_attr(
        _keys.STUDY_SELECTION,
        {
            "recommended_trial": 0,
            "improvement": False,
            "reason": "r",
            "default_trial": 0,
            "best_single_run": 77,
        },
    )
    selection, _ = read_selection(study)
    assert selection is not None
    assert selection.recommended == 0
    assert selection.best_single_run is None  # not a trial of the study: left out
    assert collect_data(study).best is not None
    assert collect_data(study).best.number == 0  # type: ignore[union-attr]


# ------------------------------------------------------------------------ wording


def test_the_llm_summary_line_says_who_wrote_it_once(storage: str, tmp_path: Path) -> None:
    study = optuna.create_study(storage=storage)
    _add(study, [3.0, 1.0, 2.0])
    answer = {
        "important_params": ["x"],
        "what_mattered": "The value of x mattered a great deal in {trial:1}.",
        "what_did_not": "",
        "next_steps": [],
    }
    llm = ScriptedLLM([json.dumps(answer)])
    md = build_report(study, out_dir=tmp_path, llm=llm).markdown.read_text(encoding="utf-8")
    line = next(x for x in md.splitlines() if x.startswith("_") and "digest" in x)
    assert line.count("written by") == 1, line
    assert line.count(llm.name) == 1, line


def test_one_trial_is_one_trial(storage: str, tmp_path: Path) -> None:
    study = optuna.create_study(storage=storage)
    _add(study, [0.5])
    paths = build_report(study, out_dir=tmp_path)
    md = paths.markdown.read_text(encoding="utf-8")
    html = paths.html.read_text(encoding="utf-8")
    assert "1 trial (1 complete)" in md
    assert "1 trials" not in md
    assert "1 trials" not in html
    assert "1 completed trials" not in md
    assert "found late" not in md  # "trial 0 of 1" says nothing


def test_one_pareto_optimal_trial(storage: str, tmp_path: Path) -> None:
    study = optuna.create_study(storage=storage, directions=["minimize", "minimize"])
    for i in range(3):
        study.add_trial(create_trial(params={"x": float(i)}, distributions=X, values=[i, i]))
    paths = build_report(study, out_dir=tmp_path)
    md = paths.markdown.read_text(encoding="utf-8")
    html = paths.html.read_text(encoding="utf-8")
    assert "1 Pareto-optimal trial:" in md
    assert "1 Pareto-optimal trials" not in md + html
    assert "1 trial is Pareto-optimal" in html
    assert "holds 1 trials" not in md
    assert "among the 1 " not in md


def test_an_empty_study_has_no_empty_task_heading(storage: str, tmp_path: Path) -> None:
    study = optuna.create_study(storage=storage)
    md = build_report(study, out_dir=tmp_path).markdown.read_text(encoding="utf-8")
    task = md.split("## Task", 1)[1].split("##", 1)[0]
    assert task.strip(), "the Task section is empty"


def test_importance_says_why_huge_values_were_not_measured(storage: str) -> None:
    study = optuna.create_study(storage=storage)
    _add(study, [math.inf, 1e300, 0.0, 1e-300, 123456789.0, 1e-5])
    report = make_report(study)
    assert not report.importance.measured
    assert "too large or not finite for fANOVA" in report.importance.note
    assert "rough measure" not in report.importance.note


def test_importance_says_non_finite_values_left_too_few_trials(storage: str) -> None:
    study = optuna.create_study(storage=storage)
    _add(study, [-math.inf, 1.0])
    note = make_report(study).importance.note
    assert "the study has 2, 1 of them with a value that is not finite" in note


def _next_steps(study: optuna.Study) -> list[str]:
    summary = make_report(study).summary
    section = next(s for s in summary.sections if s.key == "next_steps")
    return [p.plain() for p in section.paragraphs]


def _two_param_study(storage: str, n: int) -> optuna.Study:
    study = optuna.create_study(storage=storage)
    dists = {"x": FloatDistribution(0, 10), "y": IntDistribution(0, 10)}
    for i in range(n):
        x = (i * 7 % n) * 10 / n
        study.add_trial(
            create_trial(params={"x": x, "y": i % 3}, distributions=dists, value=(x - 5) ** 2)
        )
    return study


def test_no_narrowing_advice_from_a_handful_of_trials(storage: str) -> None:
    assert not any("Narrow" in s for s in _next_steps(_two_param_study(storage, 4)))


def test_narrowing_advice_from_enough_trials(tmp_path: Path) -> None:
    steps = _next_steps(_two_param_study(f"sqlite:///{tmp_path / 'n.db'}", 20))
    narrow = [s for s in steps if s.startswith("Narrow x")]
    assert narrow, steps
    assert "0 to 9.5" not in narrow[0]  # not the whole range tried


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-1.5", "-1.5"),
        ("+3", "+3"),
        (-0.25, "-0.25"),
        (-3, "-3"),
        ("relu", "relu"),
        (None, ""),
    ],
)
def test_csv_cells_are_not_formulas(value: Any, cell: str) -> None:
    from agenthpo.reporting._format import csv_cell

    assert csv_cell(value) == cell


# ------------------------------------------------------------------ large studies


def test_importance_of_a_large_study_is_measured_on_a_sample(
    storage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_importance, "MAX_TRIALS", 20)
    study = _two_param_study(storage, 30)
    importance = _importance.measure_importance(study)
    assert importance.measured
    assert importance.n_trials == 20
    assert "random sample of 20 of the 30 completed trials (seed 0)" in importance.note
    assert importance.ranking()[0] == "x"
    again = _importance.measure_importance(study)
    assert again.values == importance.values  # seeded: the same sample each time


def test_the_contour_plot_of_a_large_study_is_bounded(storage: str) -> None:
    study = _two_param_study(storage, 60)
    data = collect_data(study)
    figure = _figures.contour_figure(study, data, ["x", "y"], limit=10)
    assert figure is not None
    contour = next(t for t in figure.spec["data"] if t.get("type") == "contour")
    assert len(contour["x"]) <= 12  # a grid of at most about limit cells a side
    assert len(contour["z"]) <= 12
    dots = [t for t in figure.spec["data"] if t.get("type") == "scatter"]
    assert sum(len(t["x"]) for t in dots) == 10
    assert "10 of the 60 completed trials" in figure.caption
    small = _figures.contour_figure(study, data, ["x", "y"])
    assert small is not None
    assert "the trials (dots)" in small.caption
