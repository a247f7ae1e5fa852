"""Recovery bookkeeping: stale trials, reruns, and what counts toward the budget."""

from __future__ import annotations

import optuna

from agenthpo import _keys
from agenthpo._lifecycle import budget, is_counted, recover_stale, requeue_interrupted


def _running(study: optuna.Study, x: float) -> optuna.Trial:
    study.enqueue_trial({"x": x})
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    return trial


def test_a_stale_trial_is_failed_requeued_once_and_not_counted() -> None:
    study = optuna.create_study()
    trial = _running(study, 0.25)
    assert recover_stale(study, now=1e12) == [trial.number]
    assert recover_stale(study, now=1e12) == []  # already recovered
    trials = study.trials
    assert trials[0].state == optuna.trial.TrialState.FAIL
    assert not is_counted(trials[0])
    reruns = [t for t in trials if t.user_attrs.get(_keys.RERUN_OF) == trial.number]
    assert len(reruns) == 1
    assert reruns[0].state == optuna.trial.TrialState.WAITING
    assert reruns[0].system_attrs["fixed_params"] == {"x": 0.25}
    assert budget(study).counted == 0


def test_a_rerun_lost_between_two_writes_is_enqueued_later() -> None:
    study = optuna.create_study()
    trial = _running(study, 0.5)
    # A runner killed after marking the trial failed, before enqueueing its rerun:
    study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
    assert requeue_interrupted(study) == [trial.number]
    assert requeue_interrupted(study) == []
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.user_attrs[_keys.RERUN_OF] for t in waiting] == [trial.number]


def test_counted_failures_and_surplus_are_not_rerun() -> None:
    study = optuna.create_study()
    failed = _running(study, 0.1)
    failed.set_user_attr(_keys.ERROR, "ValueError: boom")
    study.tell(failed, state=optuna.trial.TrialState.FAIL)
    surplus = _running(study, 0.2)
    surplus.set_user_attr(_keys.ERROR, "surplus")
    surplus.set_user_attr(_keys.NOT_COUNTED, "surplus")
    study.tell(surplus, state=optuna.trial.TrialState.FAIL)
    assert requeue_interrupted(study) == []
    assert [is_counted(t) for t in study.trials] == [True, False]
