"""agenthpo.studies: study resolution, replay, ask and tell at the API level (issue 20, item 5).

The commands call these and print; here they are checked without the command line.
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from agenthpo import _keys
from agenthpo.errors import AgentHPOError
from agenthpo.llm import RandomLLM, ReplayLLM
from agenthpo.studies import (
    TRIAL_TEXT_FIELDS,
    ask_trial,
    metric_names,
    open_study,
    pareto_records,
    parse_metrics,
    recommendation,
    replay_from,
    run_llm,
    storage_url,
    tell_trial,
    trial_records,
    worker_storage,
)
from agenthpo.task import Task, load_task
from agenthpo.tuner import Tuner


def _task_file(tmp_path: Path, **extra: object) -> Path:
    task = {
        "name": "outside",
        "objective": {"metric": "acc", "direction": "maximize"},
        "space": {"lr": {"type": "float", "low": 0.001, "high": 1.0, "log": True}},
        "n_trials": 3,
        "command": ["python", "train.py", "--lr={lr}"],
        "strategy": "random",
        **extra,
    }
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task))
    return path


# -- which study --------------------------------------------------------------------------


def test_storage_url_prefers_the_option_then_the_task(tmp_path: Path) -> None:
    task_file = _task_file(tmp_path)
    assert storage_url(task_file, "sqlite:///other.db") == "sqlite:///other.db"
    assert storage_url(task_file, None) == load_task(task_file).default_storage()
    with pytest.raises(AgentHPOError, match="give a task file or --storage URL"):
        storage_url(None, None)


def test_open_study_resolves_task_storage_and_name(tmp_path: Path) -> None:
    task_file = _task_file(tmp_path)
    with pytest.raises(AgentHPOError, match="give a task file or --storage URL"):
        open_study()
    with pytest.raises(AgentHPOError, match="no study stored yet at"):
        open_study(task_file)  # and no database file is created
    assert not (tmp_path / "task.agenthpo.db").exists()

    url = load_task(task_file).default_storage()
    optuna.create_study(study_name="outside", storage=url)
    optuna.create_study(study_name="other", storage=url)
    assert open_study(task_file).study_name == "outside"  # the task's name
    assert open_study(task_file, study="other").study_name == "other"
    assert open_study(storage=url, study="other").study_name == "other"
    with pytest.raises(AgentHPOError, match=r"holds 2 studies \(.*\); choose one with --study"):
        open_study(storage=url)
    with pytest.raises(AgentHPOError, match="no study named 'nope'"):
        open_study(storage=url, study="nope")


def _other_sqlite(path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("kind", ["another database", "an empty file", "a text file"])
def test_open_study_refuses_a_sqlite_file_that_is_not_optunas_and_leaves_it(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "other.db"
    if kind == "another database":
        _other_sqlite(path)
    else:
        path.write_bytes(b"" if kind == "an empty file" else b"just text\n")
    before = path.read_bytes()
    with pytest.raises(AgentHPOError, match="is not an Optuna study database") as caught:
        open_study(storage=f"sqlite:///{path}")
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)
    assert path.read_bytes() == before  # Optuna's tables were once created in it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_open_study_reads_a_study_database_without_writing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(study_name="s", storage=url)
    before = (tmp_path / "s.db").read_bytes()
    assert open_study(storage=url).study_name == "s"
    assert (tmp_path / "s.db").read_bytes() == before


@pytest.mark.parametrize("scheme", ["sqlite", "journal"])
def test_open_study_on_a_storage_with_no_study_says_so(tmp_path: Path, scheme: str) -> None:
    if scheme == "sqlite":
        url = f"sqlite:///{tmp_path / 's.db'}"
        optuna.create_study(study_name="gone", storage=url)
        optuna.delete_study(study_name="gone", storage=url)
    else:
        (tmp_path / "s.log").write_bytes(b"")
        url = f"journal:{tmp_path / 's.log'}"
    with pytest.raises(AgentHPOError) as caught:
        open_study(storage=url)
    assert str(caught.value) == f"{url} holds no study yet; run `agenthpo run` first"
    # A writer on the same storage is unchanged: it creates its study there.
    Tuner(load_task(_task_file(tmp_path)), storage=url).load_study()
    assert open_study(storage=url).study_name == "outside"


def test_workers_need_a_storage_safe_for_several_writers(tmp_path: Path) -> None:
    task_file = _task_file(tmp_path)
    with pytest.raises(AgentHPOError, match="is SQLite, which is not safe under several writers"):
        worker_storage(task_file)  # the task's own: a SQLite file beside it
    journal = f"journal:{tmp_path / 'studies.log'}"
    assert worker_storage(task_file, journal) == journal


def test_metric_names_read_what_the_task_stored(tmp_path: Path) -> None:
    study = optuna.create_study()
    assert metric_names(study) == ["value"]
    study.set_user_attr(_keys.STUDY_METRIC, "acc")
    assert metric_names(study) == ["acc"]


def test_trial_records_hold_the_stored_text_as_is() -> None:
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    trial.set_user_attr(_keys.RATIONALE, "try [/] high")
    trial.set_user_attr(_keys.ERROR, "")
    study.tell(trial, state=TrialState.FAIL)
    first, second = trial_records(study)
    assert set(first) == {"number", "state", "values", "params", *TRIAL_TEXT_FIELDS, "stderr_tail"}
    assert first["state"] == "complete"
    assert first["values"] == {"value": first["params"]["x"]}
    assert second["state"] == "fail"
    assert second["values"] == {"value": None}
    assert second["rationale"] == "try [/] high"
    assert second["error"] is None  # empty text counts as none


# -- the LLM of a run ----------------------------------------------------------------------


def test_replay_refuses_to_write_into_the_study_it_replays(
    quadratic_task: Task, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    Tuner(quadratic_task, llm=RandomLLM(seed=1), storage=url, n_trials=2).run()
    with pytest.raises(AgentHPOError, match="would write into the study it replays"):
        replay_from(url, quadratic_task, storage=url)
    with pytest.raises(AgentHPOError, match="would write into the study it replays"):
        replay_from(f"{url}#quad", quadratic_task, storage=url)
    replayed = replay_from(url, quadratic_task, storage=f"sqlite:///{tmp_path / 'b.db'}")
    assert isinstance(replayed, ReplayLLM)
    assert replayed.remaining == 2
    with pytest.raises(AgentHPOError, match="no study named 'other'"):
        replay_from(f"{url}#other", quadratic_task, storage=f"sqlite:///{tmp_path / 'b.db'}")


def test_run_llm_picks_replay_or_spec_never_both(quadratic_task: Task, tmp_path: Path) -> None:
    assert run_llm(quadratic_task) == (None, None)
    with pytest.raises(AgentHPOError, match="give either --llm or --replay, not both"):
        run_llm(quadratic_task, llm="random:0", replay="sqlite:///x.db")
    client, note = run_llm(quadratic_task, llm="random:0")
    assert client is not None
    assert note
    url = f"sqlite:///{tmp_path / 'a.db'}"
    Tuner(quadratic_task, llm=RandomLLM(seed=1), storage=url, n_trials=2).run()
    replayed, note = run_llm(quadratic_task, replay=url, storage=f"sqlite:///{tmp_path / 'b.db'}")
    assert isinstance(replayed, ReplayLLM)
    assert note == "LLM: replaying 2 recorded answers of random"


# -- ask and tell ---------------------------------------------------------------------------


def test_parse_metrics_takes_an_object_of_numbers() -> None:
    assert parse_metrics('{"acc": 1, "loss": 0.5}') == {"acc": 1.0, "loss": 0.5}
    with pytest.raises(AgentHPOError, match="--metrics is not JSON"):
        parse_metrics("{acc: 1}")
    for bad in ("[1]", '{"acc": "high"}', '{"ok": true}'):
        with pytest.raises(AgentHPOError, match="JSON object of numbers"):
            parse_metrics(bad)


def test_ask_then_tell_without_the_command_line(tmp_path: Path) -> None:
    task_file = _task_file(tmp_path)
    first = ask_trial(task_file, seed=0)
    assert first["trial"] == 0
    assert first["command"][-1] == f"--lr={first['config']['lr']!r}"
    second = ask_trial(load_task(task_file), llm=RandomLLM(seed=0))
    third = ask_trial(task_file, llm="random:1")
    assert [second["trial"], third["trial"]] == [1, 2]

    done = tell_trial(task_file, 0, metrics='{"acc": 0.9, "loss": 0.2}')
    assert done.state == TrialState.COMPLETE
    assert done.values == [0.9]
    assert tell_trial(task_file, 1, failed="OOM").state == TrialState.FAIL
    pruned = tell_trial(task_file, 2, pruned="flat curve", intermediate=0.4, step=7)
    assert pruned.state == TrialState.PRUNED
    assert pruned.intermediate_values == {7: 0.4}
    with pytest.raises(AgentHPOError, match="trial 0 is not running"):
        tell_trial(task_file, 0, value=1.0)


def test_tell_checks_its_options_before_reading_the_task(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"  # never read: the options are wrong first
    with pytest.raises(AgentHPOError, match="a pruned trial has no final value"):
        tell_trial(missing, 0, pruned="flat", value=0.5)
    with pytest.raises(AgentHPOError, match="add --pruned REASON"):
        tell_trial(missing, 0, intermediate=0.5)
    with pytest.raises(AgentHPOError, match="add --pruned REASON"):
        tell_trial(missing, 0, step=3)


def test_tell_needs_a_study_and_opens_it_without_an_llm(tmp_path: Path) -> None:
    task_file = _task_file(tmp_path, strategy="agent", llm="openai:not-reachable")
    with pytest.raises(AgentHPOError, match="no study 'outside' stored"):
        tell_trial(task_file, 0, value=1.0)


# -- what a study recommends ----------------------------------------------------------------


def test_recommendation_is_the_selected_trial_else_the_best() -> None:
    study = optuna.create_study(direction="maximize")
    with pytest.raises(AgentHPOError, match="has no completed trial yet"):
        recommendation(study)
    for x in (0.2, 0.9, 0.5):
        study.enqueue_trial({"x": x})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    best = recommendation(study)
    assert best.trial.number == 1
    assert best.record()["selection"] is None
    study.set_user_attr(
        _keys.STUDY_SELECTION,
        {"recommended_trial": 2, "improvement": True, "reason": "steadier over seeds"},
    )
    chosen = recommendation(study)
    assert chosen.trial.number == 2
    record = chosen.record()
    assert record["trial"] == 2
    assert record["selection"]["verdict"].startswith("trial 2 is recommended")


def test_pareto_records_list_the_front_by_trial_number() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"])
    with pytest.raises(AgentHPOError, match="has no completed trial yet"):
        pareto_records(study)
    for x in (0.8, 0.2, 0.5):
        study.enqueue_trial({"x": x})
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.params["x"]), n_trials=3)
    records = pareto_records(study)
    assert [r["trial"] for r in records] == [0, 1, 2]
    assert records[1] == {
        "trial": 1,
        "values": {"value_0": 0.2, "value_1": 0.8},
        "config": {"x": 0.2},
    }


# -- configurations proposed from outside --------------------------------------------------


def test_propose_trial_queues_a_validated_configuration_and_refuses_its_twin(
    tmp_path: Path,
) -> None:
    from agenthpo.studies import propose_trial, queue_tuner

    task_file = _task_file(tmp_path, storage=f"sqlite:///{tmp_path}/s.db")
    first = propose_trial(
        task_file, {"lr": 0.01}, rationale="a common Adam start", proposer="client:me"
    )
    assert first.number == 0
    assert first.config == {"lr": 0.01}
    assert first.attrs[_keys.PROPOSED_BY] == "client:me"
    assert not first.screened
    with pytest.raises(AgentHPOError, match="trial 0 already has this configuration"):
        propose_trial(task_file, {"lr": 0.01}, rationale="again, the same", proposer="client:me")
    with pytest.raises(AgentHPOError, match="config: "):
        propose_trial(task_file, {"lr": 5.0}, rationale="far too high", proposer="client:me")
    with pytest.raises(AgentHPOError, match="rationale"):
        propose_trial(task_file, {"lr": 0.02}, rationale="", proposer="client:me")
    # the queued trial starts without an LLM, with the proposer's attributes
    event = queue_tuner(task_file).ask()
    assert event.number == 0
    assert event.config == {"lr": 0.01}
    study = open_study(task_file)
    assert study.trials[0].user_attrs[_keys.RATIONALE] == "a common Adam start"


def test_propose_trial_counts_queued_trials_against_the_budget(tmp_path: Path) -> None:
    from agenthpo.studies import propose_trial

    task_file = _task_file(tmp_path, storage=f"sqlite:///{tmp_path}/s.db")
    for lr in (0.01, 0.1, 0.5):  # n_trials is 3
        propose_trial(
            task_file,
            {"lr": lr},
            rationale=f"learning rate {lr} brackets the usual range",
            proposer="client:me",
        )
    with pytest.raises(AgentHPOError, match="budget of 3 trials is spent"):
        propose_trial(
            task_file,
            {"lr": 0.2},
            rationale="a fourth learning rate between them",
            proposer="client:me",
        )
    extra = propose_trial(
        task_file,
        {"lr": 0.2},
        rationale="queued past the budget",
        proposer="client:me",
        check_budget=False,
    )
    assert extra.queued_before == (0, 1, 2)
