"""The CLI on a user's mistakes: one clear line per problem on stderr, no traceback, exit 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from agenthpo import __version__
from agenthpo.cli import app

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "digits_mlp" / "task.yaml"
SUBPROCESS_TIMEOUT_S = 60


def _cli_argv() -> list[str]:
    """The installed ``agenthpo`` console script of this interpreter (editable install)."""
    beside = Path(sys.executable).with_name("agenthpo")
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("agenthpo")
    if found is not None:
        return [found]
    # No console script on PATH: the same entry point, through this interpreter.
    return [sys.executable, "-c", "from agenthpo.cli import main; main()"]


def run_cli(
    *args: str, cwd: Path, env_drop: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in env_drop}
    # A narrow, non-terminal console: long messages must still stay on one line.
    env.update({"COLUMNS": "80", "TERM": "dumb", "NO_COLOR": "1", "PYTHONWARNINGS": "ignore"})
    return subprocess.run(
        [*_cli_argv(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def good_task(tmp_path: Path) -> Path:
    """A valid copy of the example task in an empty directory (no storage yet)."""
    path = tmp_path / "task.yaml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture
def low_above_high_task(tmp_path: Path) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    old = "alpha: {type: float, low: 1.0e-6, high: 1.0e-1"
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, "alpha: {type: float, low: 1.0, high: 1.0e-1"), "utf-8")
    return path


# ---------------------------------------------------------------------- real subprocesses


@pytest.mark.integration
def test_run_broken_task_subprocess(tmp_path: Path, low_above_high_task: Path) -> None:
    proc = run_cli("run", str(low_above_high_task), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("error: ")
    assert str(low_above_high_task) in line
    assert "space.alpha.low" in line
    assert "lower than high" in line
    assert proc.stdout.strip() == ""
    # Nothing was started: no study storage beside the task.
    assert not list(tmp_path.glob("*.db"))


@pytest.mark.integration
def test_run_yaml_syntax_error_subprocess(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text("name: demo\nobjective: {metric: loss, direction: minimize\n", "utf-8")
    proc = run_cli("run", str(path), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert "invalid YAML at line" in lines[0]
    assert "column" in lines[0]


@pytest.mark.integration
def test_run_missing_file_subprocess(tmp_path: Path) -> None:
    proc = run_cli("run", "no_such_task.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = error_lines(proc.stderr)
    assert lines == ["error: no_such_task.yaml: no such task file"]


@pytest.mark.integration
def test_run_openai_without_key_subprocess(tmp_path: Path, good_task: Path) -> None:
    proc = run_cli(
        "run",
        str(good_task),
        "--llm",
        "openai:gpt-4o-mini",
        cwd=tmp_path,
        env_drop=("OPENAI_API_KEY",),
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert "OPENAI_API_KEY" in lines[0]
    assert not list(tmp_path.glob("*.db"))


# ---------------------------------------------------------------------- in-process (CliRunner)


def assert_user_error(result: Result, *needles: str) -> str:
    """Exit 2, no traceback, every needle on stderr; returns stderr."""
    stdout, stderr = result.stdout, result.stderr
    assert result.exit_code == 2, (stdout, stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in stdout + stderr
    for needle in needles:
        assert needle in stderr, stderr
    lines = error_lines(stderr)
    assert lines
    assert all(line.startswith("error: ") for line in lines), stderr
    return stderr


def test_run_broken_task_in_process(runner: CliRunner, low_above_high_task: Path) -> None:
    result = runner.invoke(app, ["run", str(low_above_high_task)])
    stderr = assert_user_error(result, "space.alpha.low")
    assert len(error_lines(stderr)) == 1


def test_run_every_problem_one_line_each(runner: CliRunner, tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("n_trials: 30", "n_trails: 30")
    text = text.replace("direction: maximize", "direction: max")
    path = tmp_path / "task.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["run", str(path)])
    stderr = assert_user_error(result, "objective.direction", "n_trails", "'n_trials'")
    assert len(error_lines(stderr)) == 2  # direction; unknown n_trails (did you mean n_trials)


@pytest.mark.parametrize("n", ["100001", "99999999999999999999"])
def test_a_budget_beyond_the_task_files_limit_is_refused(good_task: Path, n: str) -> None:
    """--n-trials had no upper bound while the task file's n_trials stops at 100,000: a slip
    of the keyboard started a run of 10**20 trials (task probe)."""
    done = run_cli("run", str(good_task), "--n-trials", n, cwd=good_task.parent)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = error_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), lines
    assert "100000" in lines[0], lines
    assert not list(good_task.parent.glob("*.db"))


def test_run_directory(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path)])
    assert_user_error(result, "is a directory")


def test_run_bogus_llm_spec(runner: CliRunner, good_task: Path) -> None:
    result = runner.invoke(app, ["run", str(good_task), "--llm", "bogus:thing"])
    stderr = assert_user_error(result, "bogus:thing")
    for spec in ("local", "openai:MODEL", "ollama:MODEL", "openai-compatible:URL#MODEL"):
        assert spec in stderr
    assert len(error_lines(stderr)) == 1
    assert not list(good_task.parent.glob("*.db"))


def test_run_openai_without_key_in_process(
    runner: CliRunner, good_task: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = runner.invoke(app, ["run", str(good_task), "--llm", "openai:gpt-4o-mini"])
    assert_user_error(result, "OPENAI_API_KEY")


@pytest.mark.parametrize("command", ["show", "best"])
def test_storage_does_not_exist_yet(runner: CliRunner, good_task: Path, command: str) -> None:
    result = runner.invoke(app, [command, str(good_task)])
    assert_user_error(result, "no study stored yet", "agenthpo run")
    assert not list(good_task.parent.glob("*.db"))


@pytest.mark.parametrize("command", ["show", "best", "report"])
@pytest.mark.parametrize("scheme", ["sqlite:///", "journal:"])
def test_explicit_storage_does_not_exist(
    runner: CliRunner, tmp_path: Path, command: str, scheme: str
) -> None:
    """Reading commands never create storage (a journal file once appeared, empty)."""
    result = runner.invoke(app, [command, "--storage", f"{scheme}{tmp_path / 'missing.db'}"])
    assert_user_error(result, "no study stored yet")
    assert not (tmp_path / "missing.db").exists()


READERS = ["show", "best", "report", "dashboard"]


@pytest.mark.parametrize("command", READERS)
@pytest.mark.parametrize("scheme", ["sqlite:///", "journal:"])
def test_a_folder_as_storage_is_one_line(
    runner: CliRunner, tmp_path: Path, command: str, scheme: str
) -> None:
    """A folder given as a journal once ended in a traceback (IsADirectoryError), exit 1."""
    folder = tmp_path / "somedir"
    folder.mkdir()
    stderr = assert_user_error(
        runner.invoke(app, [command, "--storage", f"{scheme}{folder}"]), "is a folder"
    )
    assert len(error_lines(stderr)) == 1, stderr
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("command", READERS)
@pytest.mark.parametrize(
    "content",
    [b"my important notes\nline two without newline", b'{"a": 1}\n[1,2]\nnot json'],
    ids=["text", "json-lines"],
)
def test_reading_a_file_that_is_not_a_journal_leaves_it(
    runner: CliRunner, tmp_path: Path, command: str, content: bytes
) -> None:
    """It was cut at its last newline (the rest moved to notes.txt.torn) and rewritten."""
    notes = tmp_path / "notes.txt"
    notes.write_bytes(content)
    stderr = assert_user_error(
        runner.invoke(app, [command, "--storage", f"journal:{notes}"]),
        f"{notes} is not an Optuna journal",
    )
    assert len(error_lines(stderr)) == 1, stderr
    assert notes.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("command", READERS)
@pytest.mark.parametrize("kind", ["another database", "an empty file"])
def test_reading_a_sqlite_file_that_is_not_a_study_leaves_it(
    runner: CliRunner, tmp_path: Path, command: str, kind: str
) -> None:
    """Optuna's tables were created in it (8 KB grew to 118 KB)."""
    import sqlite3

    other = tmp_path / "other.db"
    if kind == "an empty file":
        other.write_bytes(b"")
    else:
        conn = sqlite3.connect(other)
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.commit()
        conn.close()
    before = other.read_bytes()
    stderr = assert_user_error(
        runner.invoke(app, [command, "--storage", f"sqlite:///{other}"]),
        f"{other} is not an Optuna study database",
    )
    assert len(error_lines(stderr)) == 1, stderr
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


@pytest.mark.parametrize("command", ["show", "best"])
def test_a_storage_with_no_study_says_so(runner: CliRunner, tmp_path: Path, command: str) -> None:
    log = tmp_path / "empty.log"
    log.write_bytes(b"")
    stderr = assert_user_error(
        runner.invoke(app, [command, "--storage", f"journal:{log}"]), "holds no study yet"
    )
    assert "0 studies" not in stderr
    assert "--study" not in stderr
    assert log.read_bytes() == b""


@pytest.mark.parametrize("command", ["show", "best"])
def test_broken_task_for_show_and_best(
    runner: CliRunner, low_above_high_task: Path, command: str
) -> None:
    result = runner.invoke(app, [command, str(low_above_high_task)])
    assert_user_error(result, "space.alpha.low")


@pytest.mark.parametrize("command", ["show", "best"])
def test_neither_task_nor_storage(runner: CliRunner, command: str) -> None:
    result = runner.invoke(app, [command])
    assert_user_error(result, "task file", "--storage")


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'x.db'}"


def test_best_empty_study(runner: CliRunner, tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    optuna.create_study(study_name="empty", storage=url)
    result = runner.invoke(app, ["best", "--storage", url])
    # no mistake in the input, nothing to give yet: 1, as a run whose trials all failed
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1
    assert "no completed trial" in lines[0]
    assert "'empty'" in lines[0]


def test_show_empty_study_is_fine(runner: CliRunner, tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    optuna.create_study(study_name="empty", storage=url)
    result = runner.invoke(app, ["show", "--storage", url])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)


@pytest.mark.parametrize("command", ["show", "best"])
def test_unknown_study(runner: CliRunner, tmp_path: Path, command: str) -> None:
    url = _sqlite(tmp_path)
    optuna.create_study(study_name="real", storage=url)
    result = runner.invoke(app, [command, "--storage", url, "--study", "nosuch"])
    assert_user_error(result, "no study named 'nosuch'")


def test_several_studies_need_a_name(runner: CliRunner, tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    optuna.create_study(study_name="one", storage=url)
    optuna.create_study(study_name="two", storage=url)
    result = runner.invoke(app, ["best", "--storage", url])
    assert_user_error(result, "2 studies", "--study")


def test_best_prints_params_as_json(runner: CliRunner, tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    study = optuna.create_study(study_name="done", storage=url, direction="maximize")
    study.enqueue_trial({"lr": 0.01, "opt": "adam"})
    study.optimize(
        lambda t: (
            t.suggest_float("lr", 1e-4, 1.0, log=True)
            + (1.0 if t.suggest_categorical("opt", ["adam", "sgd"]) == "adam" else 0.0)
        ),
        n_trials=1,
    )
    result = runner.invoke(app, ["best", "--storage", url])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert json.loads(result.stdout) == {"lr": 0.01, "opt": "adam"}


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert f"agenthpo {__version__}" in result.stdout


@pytest.mark.integration
def test_version_subprocess(tmp_path: Path) -> None:
    proc = run_cli("--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"agenthpo {__version__}"


def _option_line(help_text: str, option: str) -> str:
    """The line of ``--help`` that lists ``option`` (first column), e.g. ``--version``."""
    for line in help_text.splitlines():
        cells = line.strip("│ ").split()
        if cells and cells[0] == option:
            return line
    raise AssertionError(f"{option} is not listed in:\n{help_text}")


def test_help_lists_version_as_a_plain_flag(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, (result.stdout, result.exception)
    line = _option_line(result.stdout, "--version")
    assert "Show the version." in line
    assert "<bool>" not in line, line  # a flag takes no value


def test_run_help_lists_flags_without_a_value(runner: CliRunner) -> None:
    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, (result.stdout, result.exception)
    for option in ("--verbose", "--report"):
        assert "<bool>" not in _option_line(result.stdout, option), option


def test_a_trial_command_that_cannot_start_spends_no_budget(
    runner: CliRunner, tmp_path: Path
) -> None:
    # Each attempt exits 2 as a setup mistake; it used to store a counted failure, so two
    # attempts filled a budget of 2 and the fixed command then ran nothing.
    task = {
        "name": "noprog",
        "objective": {"metric": "loss", "direction": "minimize"},
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "n_trials": 2,
        "strategy": "random",
        "command": ["nonexistent_prog_xyz", "train.py"],
    }
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task))
    for _ in range(2):
        assert_user_error(runner.invoke(app, ["run", str(path)]), "cannot start the trial command")
    (tmp_path / "train.py").write_text(
        "import sys\nfrom agenthpo import report\nreport(loss=float(sys.argv[-1].split('=')[-1]))\n"
    )
    task["command"] = [sys.executable, "train.py"]
    path.write_text(yaml.safe_dump(task))
    fixed = runner.invoke(app, ["run", str(path), "--no-report"])
    assert fixed.exit_code == 0, fixed.output
    study = optuna.load_study(
        study_name="noprog", storage=f"sqlite:///{tmp_path / 'task.agenthpo.db'}"
    )
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("run", "task.yaml", "--seed", "-1"), "Invalid value for '--seed': Input should be"),
        (("run", "task.yaml", "--n-trail", "3"), "No such option: --n-trail"),
        (("show", "task.yaml", "--format", "xml"), "Invalid value for '--format': 'xml' is not"),
        (("bogus",), "No such command 'bogus'"),
        (("run", "task.yaml", "--seed"), "Option '--seed' requires an argument"),
    ],
)
def test_a_mistake_in_the_options_is_one_line(
    tmp_path: Path, good_task: Path, args: tuple[str, ...], expected: str
) -> None:
    """As the CLI reference says: one line naming the option, exit 2 (typer drew a usage
    block and a boxed panel; docs probe)."""
    args = tuple(str(good_task) if a == "task.yaml" else a for a in args)
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: " + expected), lines[0]
    assert lines[0].endswith("--help)")


def test_a_task_without_n_trials_takes_the_budget_from_the_command_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    """n_trials was required in the task file even with --n-trials (docs probe); without
    either, one line says where to give it."""
    (tmp_path / "objectives.py").write_text(
        "def f(config):\n    return {'val_accuracy': config['x']}\n", encoding="utf-8"
    )
    path = tmp_path / "task.yaml"
    path.write_text(
        "name: nobudget\n"
        "objective: {metric: val_accuracy, direction: maximize}\n"
        "space: {x: {type: float, low: 0, high: 1}}\n"
        "strategy: random\n"
        "function: objectives:f\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["run", str(path), "--no-report"])
    stderr = assert_user_error(result, "no budget: add n_trials to the task file")
    assert "--n-trials" in stderr
    assert len(error_lines(stderr)) == 1
    ran = runner.invoke(app, ["run", str(path), "--n-trials", "2", "--no-report"])
    assert ran.exit_code == 0, (ran.stdout, ran.stderr)
    assert "nobudget: 2 trials run now (2 complete, 0 failed)" in " ".join(ran.stdout.split())
