"""Recovery bookkeeping: stale trials, reruns, and what counts toward the budget."""

from __future__ import annotations

import time

import optuna
import pytest

from agenthpo import _keys
from agenthpo._lifecycle import (
    WorkClaim,
    budget,
    claimed_elsewhere,
    is_counted,
    recover_stale,
    requeue_interrupted,
)
from agenthpo.agent.failures import failure_regions
from agenthpo.agent.history import taken_configs, trial_views
from agenthpo.space import Space


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


def test_a_recovered_trial_says_why_it_failed_and_stays_out_of_the_budget() -> None:
    study = optuna.create_study()
    trial = _running(study, 0.25)
    assert recover_stale(study, now=1e12) == [trial.number]
    attrs = study.trials[0].user_attrs
    assert attrs[_keys.ERROR].startswith("interrupted: its runner was lost (no heartbeat for")
    assert attrs[_keys.NOT_COUNTED] == "interrupted"
    assert not is_counted(study.trials[0])
    assert requeue_interrupted(study) == []  # its rerun is queued once


def test_a_trial_that_did_not_run_to_its_end_is_no_failure_of_its_configuration() -> None:
    space = Space.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})
    study = optuna.create_study()
    for x in (0.1, 0.2, 0.3):
        study.enqueue_trial({"x": x})
        study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=1)
    interrupted = _running(study, 0.9)  # Ctrl-C, a lost runner, the time limit, a lost race
    interrupted.set_user_attr(_keys.ERROR, "interrupted by the user")
    interrupted.set_user_attr(_keys.NOT_COUNTED, "interrupted")
    study.tell(interrupted, state=optuna.trial.TrialState.FAIL)
    views = trial_views(study.trials)
    assert [v.number for v in views] == [0, 1, 2]
    assert failure_regions(views, space) == []
    crashed = _running(study, 0.9)  # a run that failed on its own still marks its region
    crashed.set_user_attr(_keys.ERROR, "RuntimeError: boom")
    study.tell(crashed, state=optuna.trial.TrialState.FAIL)
    (region,) = failure_regions(trial_views(study.trials), space)
    assert region.trials == (crashed.number,)


def test_a_work_claim_is_one_workers_until_released_or_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTHPO_HEARTBEAT_INTERVAL", "0.05")
    monkeypatch.setenv("AGENTHPO_GRACE_PERIOD", "0.2")
    study = optuna.create_study()
    claim = WorkClaim.take(study, "reeval:0", "a")
    assert claim is not None
    with claim:
        assert WorkClaim.take(study, "reeval:0", "b") is None  # a lives: its beat is fresh
        time.sleep(0.5)
        assert WorkClaim.take(study, "reeval:0", "b") is None  # still beating
    # Released (a Ctrl-C in the work, say): the next run takes it at once.
    again = WorkClaim.take(study, "reeval:0", "b")
    assert again is not None
    again._stop.set()  # b's process "dies": its beat stops without a release
    again._beating.join()
    time.sleep(0.3)
    taken = WorkClaim.take(study, "reeval:0", "c")  # stale: taken over
    assert taken is not None
    assert again.lost
    again.__exit__(None, None, None)  # b, back, never writes over c's claim
    assert claimed_elsewhere(study, "reeval:0", "b")
    taken.__exit__(None, None, None)


def test_a_setup_error_is_queued_again_once() -> None:
    # A trial that could not start runs again once fixed; a rerun that could not start
    # either is let go, or a configuration an executor always refuses would block every run.
    study = optuna.create_study()
    first = _running(study, 0.3)
    first.set_user_attr(_keys.ERROR, "cannot start the trial command")
    first.set_user_attr(_keys.NOT_COUNTED, "error")
    study.tell(first, state=optuna.trial.TrialState.FAIL)
    assert requeue_interrupted(study) == [first.number]
    rerun = study.ask()
    rerun.suggest_float("x", 0.0, 1.0)
    assert rerun.user_attrs[_keys.RERUN_OF] == first.number
    rerun.set_user_attr(_keys.ERROR, "cannot start the trial command")
    rerun.set_user_attr(_keys.NOT_COUNTED, "error")
    study.tell(rerun, state=optuna.trial.TrialState.FAIL)
    assert requeue_interrupted(study) == []
    assert budget(study).counted == 0


def test_an_interrupted_trial_is_stood_for_by_its_queued_rerun() -> None:
    # The LLM's history left the interrupted trial out, but its duplicate check still held
    # it (and not the queued rerun, whose configuration waits in fixed params): a
    # re-proposal was refused as a copy of a trial the LLM had never been shown.
    study = optuna.create_study()
    trial = _running(study, 0.7)
    trial.set_user_attr(_keys.ERROR, "interrupted by the user")
    trial.set_user_attr(_keys.NOT_COUNTED, "interrupted")
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    (rerun_of,) = requeue_interrupted(study)
    views = trial_views(study.trials)
    assert [(v.number, v.state, dict(v.config)) for v in views] == [(1, "running", {"x": 0.7})]
    assert taken_configs(study.trials) == [(1, {"x": 0.7})]
    assert rerun_of == trial.number
