"""The failure-prone benchmark task and how the benchmark runner reads its failures."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import optuna
import pytest

from agenthpo import _keys
from agenthpo.agent.analyst import analyze
from agenthpo.executor import TrialResult

pytest.importorskip("torch")

from benchmarks.real import FAILURE_PRONE, RealObjective, load_example
from benchmarks.runner import _Recorder
from benchmarks.tasks import get_task, suite_tasks

EXAMPLE = FAILURE_PRONE[0]


def _train(config: Mapping[str, Any]) -> dict[str, float]:
    from agenthpo.reporter import active_reporter

    module = load_example(EXAMPLE.folder)
    with warnings.catch_warnings(), active_reporter(lambda _s, _m: None):
        warnings.simplefilter("ignore")
        return dict(module.train(dict(config)))


def test_the_fragile_task_is_its_own_suite() -> None:
    assert suite_tasks("fragile") == (EXAMPLE.name,)
    assert EXAMPLE.name not in suite_tasks("full")
    assert EXAMPLE.name not in suite_tasks("real")


def test_each_way_of_failing_comes_from_its_real_cause() -> None:
    ok = _train({"epochs": 3, "width": 32, "depth": 1})
    assert 0.5 < ok["val_accuracy"] <= 1.0
    # a learning rate far too high for SGD with momentum: the loss goes NaN
    assert math.isnan(_train({"learning_rate": 2.0, "batch_size": 16, "epochs": 3})["val_accuracy"])
    # batch normalization on a batch of one sample: PyTorch's own error
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        _train({"norm": "batch", "batch_size": 1, "epochs": 1, "width": 16})
    # too much compute for the run's limit
    with pytest.raises(TimeoutError, match="compute limit at epoch 1 of 5"):
        _train({"width": 1024, "depth": 4, "epochs": 5})


def _failed_trial(config: dict[str, Any]) -> optuna.trial.FrozenTrial:
    task = get_task(EXAMPLE.name)
    rec = _Recorder(task, RealObjective(EXAMPLE, "val_accuracy"))
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(config)
    study.optimize(rec, n_trials=1, catch=(RuntimeError,))
    return study.trials[0]


DEFAULT = {"momentum": 0.9, "width": 32, "depth": 1, "norm": "none", "batch_size": 64}


def test_the_runner_stores_why_a_benchmark_run_failed() -> None:
    diverged = _failed_trial({**DEFAULT, "learning_rate": 2.0, "batch_size": 16, "epochs": 5})
    assert diverged.state == optuna.trial.TrialState.FAIL
    assert diverged.user_attrs[_keys.ANALYSIS].startswith("diverged: val_accuracy became nan")
    timed_out = _failed_trial(
        {**DEFAULT, "learning_rate": 0.05, "width": 1024, "depth": 4, "epochs": 5}
    )
    assert timed_out.user_attrs[_keys.ANALYSIS].startswith("timed out: TimeoutError: the run")
    crashed = _failed_trial(
        {**DEFAULT, "learning_rate": 0.05, "norm": "batch", "batch_size": 1, "epochs": 5}
    )
    assert crashed.user_attrs[_keys.ANALYSIS].startswith("crashed: ValueError: Expected more")
    assert "Expected more than 1 value" in crashed.user_attrs[_keys.ERROR]


def test_a_run_stopped_by_its_own_limit_reads_as_timed_out() -> None:
    result = TrialResult(status="failed", error="TimeoutError: the job hit its limit")
    reading = analyze(result, metric="acc", direction="maximize", error=result.error)
    assert reading == "timed out: TimeoutError: the job hit its limit"
    crash = analyze(result, metric="acc", direction="maximize", error="ValueError: bad")
    assert crash == "crashed: ValueError: bad"


def test_a_stored_run_names_each_failed_trials_cause() -> None:
    from benchmarks.runner import _cause

    assert _cause({}) is None
    assert _cause({_keys.ERROR: "x", _keys.ANALYSIS: "timed out: TimeoutError: y"}) == "timed out"
    assert _cause({_keys.ERROR: "x", _keys.ANALYSIS: "diverged: acc became nan"}) == "diverged"
    assert _cause({_keys.ERROR: "ValueError: z"}) == "crashed"
