"""What a script can rely on after ``agenthpo run``: the exit status and why (issue 17).

A run whose trials all fail (the script is missing, it crashes, it never reports the metric)
exits with status 1 and one line on stderr saying why; the message of the failing program
(e.g. Python's "can't open file") reaches the run's output, ``agenthpo show`` and the report.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from agenthpo.cli import app
from agenthpo.tuner import RunSummary
from tests.test_cli_errors import _cli_argv, run_cli

pytestmark = pytest.mark.timeout(180)

CANT_OPEN = "can't open file"
NO_SUCH_FILE = "[Errno 2] No such file or directory"


def write_task(directory: Path, *, name: str, body: str, n_trials: int = 3) -> Path:
    """A task file of one float parameter ``x`` to maximize ``val_accuracy``; ``body`` adds
    the rest (``command:`` or ``function:``)."""
    path = directory / "task.yaml"
    path.write_text(
        f"name: {name}\n"
        "objective: {metric: val_accuracy, direction: maximize}\n"
        "space:\n"
        "  x: {type: float, low: 0.0, high: 1.0}\n"
        f"n_trials: {n_trials}\n"
        "strategy: random\n" + body,
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True)
class Ran:
    """A finished ``agenthpo run`` subprocess and its task."""

    task: Path
    proc: subprocess.CompletedProcess[str]
    script: Path


@pytest.fixture(scope="module")
def missing_script(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """``agenthpo run`` of a task whose training script does not exist (three trials)."""
    root = tmp_path_factory.mktemp("missing_script")
    script = root / "train.py"  # never written
    task = write_task(root, name="missing-script", body=f"command: [python, '{script}']\n")
    return Ran(task, run_cli("run", str(task), "--strategy", "random", cwd=root), script)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def wide_env() -> dict[str, str]:
    """A non-terminal environment wide enough that rich never wraps a line."""
    return {**os.environ, "COLUMNS": "1000", "TERM": "dumb", "NO_COLOR": "1"}


# ------------------------------------------------------------- item 2: the program's message


def test_run_output_shows_pythons_message_for_a_missing_script(missing_script: Ran) -> None:
    lines = [line for line in missing_script.proc.stdout.splitlines() if line.startswith("trial")]
    assert len(lines) == 3, missing_script.proc.stdout
    for line in lines:
        assert CANT_OPEN in line, line
        assert str(missing_script.script) in line, line
        assert NO_SUCH_FILE in line, line


def test_show_shows_pythons_message_for_a_missing_script(missing_script: Ran) -> None:
    proc = subprocess.run(
        [*_cli_argv(), "show", str(missing_script.task)],
        cwd=missing_script.task.parent,
        env=wide_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(CANT_OPEN) == 3, proc.stdout
    assert proc.stdout.count(NO_SUCH_FILE) == 3, proc.stdout


def test_show_piped_at_80_columns_keeps_each_trial_on_one_line(missing_script: Ran) -> None:
    proc = run_cli("show", str(missing_script.task), cwd=missing_script.task.parent)
    assert proc.returncode == 0, proc.stderr
    trials = [line for line in proc.stdout.splitlines() if CANT_OPEN in line]
    assert len(trials) == 3, proc.stdout
    for line in trials:
        assert len(line) > 80  # not wrapped at the 80 columns run_cli sets
        assert str(missing_script.script) in line
        assert NO_SUCH_FILE in line


def test_report_names_pythons_message_for_a_missing_script(missing_script: Ran) -> None:
    markdown = (missing_script.task.parent / "task-report" / "report.md").read_text("utf-8")
    summary = markdown.split("### What did not", 1)[1].split("###", 1)[0]
    assert CANT_OPEN in summary, summary
    assert NO_SUCH_FILE in summary, summary
    trials = markdown.split("## Trials", 1)[1]
    rows = [line for line in trials.splitlines() if line.startswith("| ") and CANT_OPEN in line]
    assert len(rows) == 3, trials
    for row in rows:
        assert row.count(CANT_OPEN) == 1, row  # the analysis does not repeat the error


# ------------------------------------------------------- item 1: a run that achieved nothing

NO_TRIAL = "error: no trial completed: "


def the_error_line(stderr: str) -> str:
    """The one non-blank line on stderr (a run that failed says why in exactly one)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_run_with_a_missing_script_exits_1_saying_why(missing_script: Ran) -> None:
    proc = missing_script.proc
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stdout + proc.stderr
    line = the_error_line(proc.stderr)
    assert line.startswith(NO_TRIAL + "all 3 failed; the last: "), line
    assert CANT_OPEN in line, line
    assert NO_SUCH_FILE in line, line
    # The study and its report are still written: they show every failure.
    assert "see every trial with: agenthpo show" in proc.stdout
    assert (missing_script.task.parent / "task-report" / "report.md").is_file()


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            "raise RuntimeError('CUDA out of memory')\n",
            "the last: RuntimeError: CUDA out of memory",
        ),
        (
            "print('trained, but forgot to report')\n",
            "the last: the run finished but never reported 'val_accuracy' (it reported nothing);"
            " call agenthpo.report(val_accuracy=...) in the training script",
        ),
    ],
    ids=["crashes", "never_reports"],
)
def test_run_whose_command_always_fails_exits_1(tmp_path: Path, script: str, expected: str) -> None:
    (tmp_path / "train.py").write_text(script, encoding="utf-8")
    task = write_task(tmp_path, name="fails", body="command: [python, train.py]\n", n_trials=2)
    proc = run_cli("run", str(task), "--no-report", cwd=tmp_path)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    line = the_error_line(proc.stderr)
    assert line == NO_TRIAL + "all 2 failed; " + expected, line


OBJECTIVES = """
import time


def raises(config):
    raise ValueError(f"x={config['x']:.3f} is out of the model's range")


def works(config):
    return {"val_accuracy": config["x"]}


def sleeps(config):
    time.sleep(30)
    return {"val_accuracy": config["x"]}
"""


def function_task(tmp_path: Path, function: str, n_trials: int = 2) -> Path:
    (tmp_path / "objectives.py").write_text(OBJECTIVES, encoding="utf-8")
    return write_task(
        tmp_path, name=function, body=f"function: objectives:{function}\n", n_trials=n_trials
    )


def test_run_whose_function_always_raises_exits_1(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["run", str(function_task(tmp_path, "raises")), "--no-report"])
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    line = the_error_line(result.stderr)
    assert line.startswith(NO_TRIAL + "all 2 failed; the last: ValueError: x="), line
    assert line.endswith(" is out of the model's range"), line


def test_run_with_a_completed_trial_exits_0_and_so_does_a_spent_budget(
    tmp_path: Path, runner: CliRunner
) -> None:
    task = str(function_task(tmp_path, "works"))
    first = runner.invoke(app, ["run", task, "--no-report"])
    assert first.exit_code == 0, (first.stdout, first.stderr, first.exception)
    again = runner.invoke(app, ["run", task, "--no-report"])  # nothing left to run
    assert again.exit_code == 0, (again.stdout, again.stderr, again.exception)
    assert "already holds its budget" in again.stdout


def test_a_trial_cut_by_the_time_limit_is_no_failure(tmp_path: Path, runner: CliRunner) -> None:
    task = str(function_task(tmp_path, "sleeps"))
    result = runner.invoke(app, ["run", task, "--time-limit", "1", "--no-report"])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert "Stopped at the time limit" in result.stdout
    assert "1 interrupted" in result.stdout


def test_worker_whose_trials_all_fail_exits_1(tmp_path: Path, runner: CliRunner) -> None:
    task = str(function_task(tmp_path, "raises"))
    storage = f"journal:{tmp_path / 'journal.log'}"
    result = runner.invoke(app, ["worker", task, "--storage", storage])
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert the_error_line(result.stderr).startswith(NO_TRIAL + "all 2 failed; the last: ")


def test_run_help_documents_the_exit_statuses(runner: CliRunner) -> None:
    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.stdout.replace("│", " ").split())
    assert "Exit status: 0 when" in text, text
    assert "1 when trials ran and none completed" in text, text
    assert "2 for a mistake" in text, text


def test_run_summary_failure_line() -> None:
    summary = RunSummary(study_name="s", storage="sqlite://", n_run=3, n_failed=3)
    summary.last_error = "boom"
    assert summary.failure() == "no trial completed: all 3 failed; the last: boom"
    mixed = RunSummary(
        study_name="s", storage="sqlite://", n_run=4, n_failed=2, n_pruned=1, n_interrupted=1
    )
    assert mixed.failure() == (
        "no trial completed: 2 failed, 1 pruned, 1 interrupted; the last: no error recorded"
    )
    assert (
        RunSummary(study_name="s", storage="", n_run=2, n_failed=1, n_complete=1).failure() is None
    )
    # Pruned alone: a failure only when the study has no result to give at all.
    pruned = RunSummary(study_name="s", storage="", n_run=2, n_pruned=2)
    assert (pruned.failure() or "").startswith("no trial completed: all 2 were pruned")
    pruned.best_config = {"x": 1.0}  # an earlier run's trial completed
    assert pruned.failure() is None
    assert RunSummary(study_name="s", storage="", n_run=1, n_interrupted=1).failure() is None
    assert RunSummary(study_name="s", storage="").failure() is None


def test_a_run_elsewhere_hints_at_its_own_storage_and_report(
    tmp_path: Path, runner: CliRunner
) -> None:
    task = str(function_task(tmp_path, "works"))
    first = runner.invoke(app, ["run", task, "--strategy", "random"])
    assert first.exit_code == 0, (first.stdout, first.stderr, first.exception)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    second = runner.invoke(app, ["run", task, "--storage", other, "--strategy", "random"])
    assert second.exit_code == 0, (second.stdout, second.stderr, second.exception)
    out = second.stdout.replace("\n", "")
    assert f"agenthpo show {task} --storage {other}" in out
    assert f"Report of works in {other}: " in out
    reports = sorted(p.parent.name for p in tmp_path.glob("*/report.html"))
    assert len(reports) == 2, reports  # the first study's report is still there
    assert reports[0] == "task-report"
    assert reports[1].startswith("task-report-works-other-")


def test_run_piped_at_80_columns_keeps_each_first_line_whole(tmp_path: Path) -> None:
    """The strategy and policy lines (and the LLM's note) are one line each into a pipe or
    a log, not wrapped at 80 columns (docs probe): grep finds them whole."""
    task = function_task(tmp_path, "works", n_trials=1)
    text = task.read_text(encoding="utf-8")
    task.write_text(text.replace("strategy: random\n", "strategy: hybrid-tpe\n"), "utf-8")
    proc = run_cli("run", str(task), "--llm", "random", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    lines = proc.stdout.splitlines()
    policy = [line for line in lines if line.startswith("Policy: ")]
    assert len(policy) == 1, proc.stdout
    assert len(policy[0]) > 80
    assert policy[0].endswith(".")
    schedule = [line for line in lines if line.startswith("hybrid-tpe: ")]
    assert len(schedule) == 1
    assert schedule[0].endswith(".")


def test_a_reader_that_goes_away_costs_the_output_not_the_run(tmp_path: Path) -> None:
    """agenthpo run ... | head -1 stopped after one trial with status 1 and nothing on stderr
    (Rich's default on a broken pipe; task probe): the run now finishes its budget."""
    task = function_task(tmp_path, "works", n_trials=5)
    storage = f"sqlite:///{tmp_path / 'p.db'}"
    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb", "NO_COLOR": "1"}
    with subprocess.Popen(
        [*_cli_argv(), "run", str(task), "--no-report", "--storage", storage],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.readline()  # as head -1 does: one line, then the reader is gone
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
        status = proc.wait(timeout=240)
    assert status == 0, stderr
    assert "Traceback" not in stderr
    study = optuna.load_study(study_name="works", storage=storage)
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 5
