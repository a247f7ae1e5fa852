"""A training run cannot flood the study with metric names or curve points (issue 19, item 6):
10,000 steps with 200 new names each stored 2,000,001 keys (38 MB for one trial, 2.6 GB of
tuner memory). Names per trial and points per curve are bounded; the objective is kept, and
the trial says what was dropped."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from agenthpo import _keys
from agenthpo.executor._base import MAX_CURVE_POINTS, MAX_METRIC_NAMES, _CurveRecorder
from agenthpo.llm import RandomLLM
from agenthpo.task import task_from_dict
from agenthpo.tuner import Tuner

FLOOD = """
import sys
from agenthpo import report
for step in range({steps}):
    report(step=step, **{{f"m{{step}}_{{i}}": float(i) for i in range({names})}})
    if step % 7 == 0:
        report(step=step, acc=step / {steps})
report(acc=0.5, test_acc=0.25)
"""


@pytest.mark.parametrize("kind", ["command", "function"])
def test_a_flood_of_metric_names_is_bounded_and_the_objective_kept(
    tmp_path: Path, kind: str
) -> None:
    script = FLOOD.format(steps=400, names=50)
    if kind == "command":
        (tmp_path / "train.py").write_text(script)
        runner: dict[str, object] = {"command": ["python", "train.py"]}
    else:
        body = "\n".join("    " + line for line in script.strip().splitlines()[1:])
        (tmp_path / "train.py").write_text(
            "def objective(config, report):\n" + body.replace("from agenthpo import report", "")
        )
        runner = {"function": "train:objective"}
    task = task_from_dict(
        {
            "name": "flood",
            "objective": {"metric": "acc", "direction": "maximize"},
            "hidden_metrics": ["test_acc"],
            "space": {"lr": {"type": "float", "low": 0.001, "high": 1.0, "log": True}},
            "n_trials": 1,
            "strategy": "random",
            **runner,
        },
        base_dir=tmp_path,
    )
    storage = f"sqlite:///{tmp_path / 's.db'}"
    Tuner(task, llm=RandomLLM(seed=0), storage=storage).run()
    (trial,) = optuna.load_study(study_name="flood", storage=storage).trials
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.value == 0.5
    metrics = trial.user_attrs[_keys.METRICS]
    assert len(metrics) <= MAX_METRIC_NAMES
    assert metrics["acc"] == 0.5
    assert metrics["test_acc"] == 0.25
    assert all(len(point) <= MAX_METRIC_NAMES + 1 for point in trial.user_attrs[_keys.CURVE])
    assert "reported 20002 metric names" in trial.user_attrs[_keys.METRICS_CUT]
    assert (tmp_path / "s.db").stat().st_size < 2_000_000


def test_the_curve_keeps_a_bounded_spread_of_points_and_the_last() -> None:
    recorder = _CurveRecorder(keep=("acc",))
    for step in range(50_000):
        recorder.add(step, {"acc": float(step)})
    curve = recorder.points()
    assert len(curve) <= MAX_CURVE_POINTS + 1
    assert curve[0]["step"] == 0
    assert curve[-1]["step"] == 49_999
    assert curve[len(curve) // 2]["step"] > 10_000  # spread over the run, not its start
