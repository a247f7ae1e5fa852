"""How the report counts and describes trials that are no ordinary result: interrupted ones
(outside the budget), queued reruns, studies where nothing or one trial completed, and the
advice to narrow a range."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from agenthpo import _keys
from agenthpo.reporting import build_report, collect_data, make_report
from agenthpo.reporting._data import ReportData
from agenthpo.reporting._importance import Importance
from agenthpo.reporting._summary import data_summary

STOPPED = "stopped: the study's time limit was reached"
X = {"x": FloatDistribution(-1, 1)}


@pytest.fixture
def storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'states.db'}"


def _interrupted_study(storage: str) -> optuna.Study:
    """Trial 0 (the LLM's) stopped at the time limit; trial 1, its rerun, still queued."""
    study = optuna.create_study(study_name="interrupted", storage=storage)
    study.set_user_attr(_keys.STUDY_METRIC, "loss")
    attrs = {_keys.PROPOSED_BY: "llm", _keys.RATIONALE: "try the right side"}
    study.add_trial(
        create_trial(
            state=TrialState.FAIL,
            params={"x": 0.6888},
            distributions=X,
            user_attrs={**attrs, _keys.NOT_COUNTED: "time_limit", _keys.ERROR: STOPPED},
        )
    )
    study.enqueue_trial({"x": 0.6888}, user_attrs={**attrs, _keys.RERUN_OF: 0})
    return study


def _resume(study: optuna.Study, values: list[float]) -> None:
    """Runs the queued rerun, then more trials of the LLM."""
    for i, value in enumerate(values):
        trial = study.ask()
        trial.suggest_float("x", -1, 1)
        if i:
            trial.set_user_attr(_keys.PROPOSED_BY, "llm")
        study.tell(trial, value)


def _summary_text(data: ReportData, importance: Importance | None = None) -> str:
    summary = data_summary(data, importance or Importance())
    return " ".join(p.plain() for s in summary.sections for p in s.paragraphs)


def test_an_interrupted_trial_is_counted_apart_and_never_called_a_failure(
    storage: str, tmp_path: Path
) -> None:
    study = _interrupted_study(storage)
    data = collect_data(study)
    stopped = data.trial(0)
    assert stopped is not None
    assert stopped.state == "interrupted"
    counts = data.counts()
    assert (counts["fail"], counts["interrupted"], counts["waiting"]) == (0, 1, 1)
    assert data.state_text() == "1 interrupted and not counted, 1 waiting"
    text = _summary_text(data)
    assert "failed" not in text
    assert "fix their cause" not in text
    assert "1 trial was interrupted before finishing and not counted (trial 0:" in text
    paths = build_report(study, out_dir=tmp_path)
    md = paths.markdown.read_text(encoding="utf-8")
    assert "2 trials (1 interrupted and not counted, 1 waiting)" in md
    assert "| 0 | interrupted |" in md
    assert "failed" not in md.split("## ", 2)[1]  # the task and summary sections
    html = paths.html.read_text(encoding="utf-8")
    assert '<td class="state-interrupted">interrupted</td>' in html


def test_a_queued_rerun_shows_its_configuration(storage: str, tmp_path: Path) -> None:
    study = _interrupted_study(storage)
    data = collect_data(study)
    rerun = data.trial(1)
    assert rerun is not None
    assert rerun.params == {"x": 0.6888}
    md = build_report(study, out_dir=tmp_path).markdown.read_text(encoding="utf-8")
    assert "| 1 | waiting | — | x=0.6888 | llm |" in md


def test_an_interrupted_proposal_and_its_rerun_count_once_for_the_llm(storage: str) -> None:
    study = _interrupted_study(storage)
    (llm,) = collect_data(study).contribution.sources
    assert (llm.source, llm.n, llm.n_finished) == ("LLM", 1, 0)
    _resume(study, [0.3, 0.2, 0.1])
    data = collect_data(study)
    (llm,) = data.contribution.sources
    assert (llm.n, llm.n_finished) == (3, 3)
    assert data.proposers["llm"].n == 3


def test_no_mean_rank_when_no_trial_completed(storage: str) -> None:
    study = optuna.create_study(study_name="allfail", storage=storage)
    for x in (0.1, 0.2, 0.3):
        study.add_trial(
            create_trial(
                state=TrialState.FAIL,
                params={"x": x},
                distributions=X,
                user_attrs={_keys.PROPOSED_BY: "llm", _keys.ERROR: "RuntimeError: OOM"},
            )
        )
    contribution = collect_data(study).contribution
    (llm,) = contribution.sources
    assert (llm.n, llm.n_finished, llm.mean_rank) == (3, 3, None)
    assert contribution.rows() == [["LLM", "3", "3", "—", "—", "—", "—"]]


def test_one_completed_trial_gets_no_advice_about_its_lead(storage: str) -> None:
    study = optuna.create_study(study_name="one", storage=storage)
    study.add_trial(create_trial(params={"x": 0.5}, distributions=X, value=0.47))
    text = _summary_text(make_report(study, llm=None).data)
    assert "noise" not in text
    assert "too little data" in text


def _layers_study(storage: str, best: list[int], rest: list[int]) -> optuna.Study:
    """A study of ``layers`` (1..8): the ``best`` values score 0, the ``rest`` 1 and worse."""
    study = optuna.create_study(study_name="layers", storage=storage)
    study.set_user_attr(
        _keys.STUDY_TASK, {"space": {"layers": {"type": "int", "low": 1, "high": 8}}}
    )
    dist = {"layers": IntDistribution(1, 8)}
    for i, layers in enumerate(best + rest):
        value = 0.0 + i / 1000 if i < len(best) else 1.0 + i / 100
        study.add_trial(create_trial(params={"layers": layers}, distributions=dist, value=value))
    return study


@pytest.mark.parametrize(
    ("best", "advised"),
    [
        ([1, 7, 3, 4], False),  # 1 to 7 of 1..8: leaves out one value of eight
        ([2, 3, 3, 2], True),  # 2 to 3: a material narrowing
    ],
)
def test_narrowing_is_advised_only_when_it_leaves_out_much_of_the_range(
    storage: str, best: list[int], advised: bool
) -> None:
    study = _layers_study(storage, best, [1, 8, 5, 6, 2, 8, 7, 1, 4, 6, 5, 8])
    data = collect_data(study)
    text = _summary_text(data, Importance(values={"layers": 1.0}, evaluator="test"))
    assert ("Narrow layers to" in text) is advised, text


def test_narrowing_a_log_parameter_is_judged_on_its_log_scale(storage: str) -> None:
    study = optuna.create_study(study_name="lr", storage=storage)
    space = {"lr": {"type": "float", "low": 1e-5, "high": 1.0, "log": True}}
    study.set_user_attr(_keys.STUDY_TASK, {"space": space})
    dist: dict[str, Any] = {"lr": FloatDistribution(1e-5, 1.0, log=True)}
    # The best quarter spans 1e-5 to 0.1: nine tenths of the range on a linear scale is
    # left out, but only a fifth on the log scale the parameter is searched on.
    best = [1e-5, 1e-3, 0.1, 1e-4]
    lrs = [*best, 0.5, 1.0, 0.3, 1e-5, 0.9, 0.01, 0.7, 0.2, 1e-4, 0.6]
    for i, lr in enumerate(lrs):
        study.add_trial(
            create_trial(params={"lr": lr}, distributions=dist, value=i / 1000 + (i >= 4))
        )
    text = _summary_text(collect_data(study), Importance(values={"lr": 1.0}, evaluator="t"))
    assert "Narrow lr to" not in text
