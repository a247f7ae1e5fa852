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

import pytest

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
