"""``agenthpo best`` says on stderr when the recommendation no longer fits the task's space.

The study keeps each configuration as it was run; when the task file changed since (a
parameter removed, renamed or added, a range narrowed, a choice dropped), one stderr line says
so, because users pipe ``best`` into their training. Stdout stays exactly the stored
configuration, so pipes keep working.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
)
from optuna.trial import create_trial
from typer.testing import CliRunner

from agenthpo import _keys
from agenthpo.agent.revision import RangeChange
from agenthpo.cli import app
from agenthpo.space import Space

SPACE: dict[str, Any] = {"x": {"type": "float", "low": 0.0, "high": 1.0}, "c": ["a", "b"]}
BEST = {"x": 0.278, "c": "b"}
DISTRIBUTIONS: dict[str, BaseDistribution] = {
    "x": FloatDistribution(0.0, 1.0),
    "c": CategoricalDistribution(["a", "b"]),
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write_task(folder: Path, space: dict[str, Any], name: str = "demo") -> Path:
    """A task file whose study (``name``) lives in ``folder/demo.db``."""
    (folder / "fn.py").write_text("def objective(config, report):\n    return {'acc': 1.0}\n")
    path = folder / "task.yaml"
    task = {
        "name": name,
        "objective": {"metric": "acc", "direction": "maximize"},
        "space": space,
        "n_trials": 5,
        "function": "fn:objective",
        "storage": "sqlite:///demo.db",
    }
    path.write_text(yaml.safe_dump(task, sort_keys=False))
    return path


@pytest.fixture
def study(tmp_path: Path) -> optuna.Study:
    """Study ``demo``, run on ``SPACE``: its best trial (2) is ``BEST``."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    created = optuna.create_study(study_name="demo", storage=url, direction="maximize")
    for i, (params, value) in enumerate(
        [({"x": 0.9, "c": "a"}, 0.2), ({"x": 0.5, "c": "a"}, 0.5), (BEST, 0.9)]
    ):
        created.add_trial(create_trial(params=params, distributions=DISTRIBUTIONS, value=value))
        assert created.trials[-1].number == i
    return created


def best(runner: CliRunner, *args: str) -> tuple[str, str]:
    result = runner.invoke(app, ["best", *args])
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


@pytest.mark.parametrize(
    ("space", "note"),
    [
        (
            {"x": SPACE["x"]},
            "note: trial 2 was run with c, which the space no longer has. The task's space"
            " changed after it ran: check the configuration before you use it.",
        ),
        (
            {"x": SPACE["x"], "cc": ["a", "b"]},
            "note: trial 2 was run without cc, which the space now has; with c, which the"
            " space no longer has. The task's space changed after it ran: check the"
            " configuration before you use it.",
        ),
        (
            {"x": {"type": "float", "low": 0.4, "high": 0.5}, "c": ["a", "b"]},
            "note: trial 2 was run with x = 0.278, which the space no longer allows (now a"
            " float from 0.4 to 0.5). The task's space changed after it ran: check the"
            " configuration before you use it.",
        ),
        (
            {"x": SPACE["x"], "c": ["a", "z"]},
            'note: trial 2 was run with c = "b", which the space no longer allows (now one'
            ' of "a", "z"). The task\'s space changed after it ran: check the configuration'
            " before you use it.",
        ),
        (
            {"x": SPACE["x"], "c": ["a", "b"], "d": {"type": "int", "low": 1, "high": 4}},
            "note: trial 2 was run without d, which the space now has. The task's space"
            " changed after it ran: check the configuration before you use it.",
        ),
    ],
)
def test_a_changed_space_gets_one_stderr_note_and_the_same_stdout(
    runner: CliRunner,
    tmp_path: Path,
    study: optuna.Study,
    space: dict[str, Any],
    note: str,
) -> None:
    task = write_task(tmp_path, space)
    plain, _ = best(runner, "--storage", f"sqlite:///{tmp_path / 'demo.db'}", "--study", "demo")
    out, err = best(runner, str(task))
    assert out == plain
    assert json.loads(out) == BEST
    assert err.splitlines() == [note]


@pytest.mark.parametrize("fmt", ["config", "json", "text"])
def test_every_format_keeps_its_stdout_and_adds_the_note(
    runner: CliRunner, tmp_path: Path, study: optuna.Study, fmt: str
) -> None:
    before, none = best(runner, str(write_task(tmp_path, SPACE)), "--format", fmt)
    assert none == ""
    after, note = best(runner, str(write_task(tmp_path, {"x": SPACE["x"]})), "--format", fmt)
    assert after == before
    assert len(note.splitlines()) == 1
    assert note.startswith("note: trial 2 was run with c, which the space no longer has")


def test_no_note_without_the_task_file(
    runner: CliRunner, tmp_path: Path, study: optuna.Study
) -> None:
    out, err = best(runner, "--storage", f"sqlite:///{tmp_path / 'demo.db'}")
    assert json.loads(out) == BEST
    assert err == ""


def test_no_note_for_another_study_than_the_tasks(
    runner: CliRunner, tmp_path: Path, study: optuna.Study
) -> None:
    """``--study`` names another task's study: the task's space says nothing about it."""
    task = write_task(tmp_path, {"y": ["p", "q"]}, name="other")
    out, err = best(runner, str(task), "--study", "demo")
    assert json.loads(out) == BEST
    assert err == ""


def test_a_range_the_run_revised_is_no_change(
    runner: CliRunner, tmp_path: Path, study: optuna.Study
) -> None:
    """The agent's accepted range revision is part of the space the study searched."""
    change = RangeChange(
        at_trial=1, param="x", old=(0.4, 0.5), new=(0.2, 0.5), status="accepted", kind="widen"
    )
    study.set_user_attr(
        f"{_keys.STUDY_SPACE_REVISION}1", {"round": 1, "changes": [change.to_attr()]}
    )
    task = write_task(tmp_path, {"x": {"type": "float", "low": 0.4, "high": 0.5}, "c": ["a", "b"]})
    out, err = best(runner, str(task))
    assert json.loads(out) == BEST
    assert err == ""


def test_a_parameter_now_conditional_and_inactive_is_named() -> None:
    from agenthpo.cli.best import space_drift  # here, so the CLI tests run without it

    space = Space.from_dict(
        {
            "opt": ["sgd", "adam"],
            "momentum": {"type": "float", "low": 0.0, "high": 0.99, "condition": {"opt": "sgd"}},
        }
    )
    note = space_drift(4, {"opt": "adam", "momentum": 0.9}, space)
    assert note is not None
    assert note.startswith(
        "note: trial 4 was run with momentum, which the space now uses only when opt is sgd."
    )
    assert space_drift(4, {"opt": "sgd", "momentum": 0.9}, space) is None


def test_a_pareto_front_off_the_space_gets_one_note(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    created = optuna.create_study(
        study_name="demo", storage=url, directions=["maximize", "minimize"]
    )
    for params, values in [({"x": 0.1, "c": "a"}, [0.5, 1.0]), ({"x": 0.9, "c": "b"}, [0.9, 2.0])]:
        created.add_trial(create_trial(params=params, distributions=DISTRIBUTIONS, values=values))
    task = tmp_path / "task.yaml"
    write_task(tmp_path, SPACE)
    data = yaml.safe_load(task.read_text())
    data["objective"] = [
        {"metric": "acc", "direction": "maximize"},
        {"metric": "secs", "direction": "minimize"},
    ]
    task.write_text(yaml.safe_dump(data))
    before, none = best(runner, str(task))
    assert none == ""
    data["space"] = {"x": {"type": "float", "low": 0.0, "high": 0.5}, "c": ["a", "b"]}
    task.write_text(yaml.safe_dump(data))
    after, note = best(runner, str(task))
    assert after == before
    assert note.splitlines() == [
        "note: 1 of the 2 configurations on the Pareto front no longer fit the task's space:"
        " trial 1 was run with x = 0.9, which the space no longer allows (now a float from 0"
        " to 0.5). Check a configuration before you use it."
    ]


def test_the_run_closing_lines_note_it_too(
    runner: CliRunner, tmp_path: Path, study: optuna.Study
) -> None:
    """agenthpo run printed the same stale configuration as its Best line, without the
    note (the review of best's note)."""
    study.set_user_attr(_keys.STUDY_METRIC, "acc")
    task = write_task(tmp_path, {"x": {"type": "float", "low": 0.4, "high": 0.5}, "c": ["a", "b"]})
    result = runner.invoke(app, ["run", str(task), "--n-trials", "3", "--no-report"])
    assert result.exit_code == 0, result.output
    assert "note: trial 2 was run with x = 0.278, which the space no longer allows" in (
        result.stdout
    )
