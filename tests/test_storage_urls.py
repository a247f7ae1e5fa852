"""Storage URLs as users see them, and new SQLite studies made by several threads at once.

A database password in ``--storage`` (or the task's ``storage:``) was printed by the run's
last lines and its errors and carried by the run's summary (which the MCP server returns);
threads of one process creating the same new SQLite study shared one temporary file and all
failed with a message blaming permissions.
"""

from __future__ import annotations

import threading
from pathlib import Path

import optuna
import pytest

from agenthpo.errors import AgentHPOError
from agenthpo.storage import open_storage, shown_url
from agenthpo.studies import ask_trial

SECRET = "Sup3rS3cretPw"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql://alice:{SECRET}@db:5432/optuna", "postgresql://alice:***@db:5432/optuna"),
        (
            f"mysql+pymysql://root:{SECRET}@localhost/test",
            "mysql+pymysql://root:***@localhost/test",
        ),
        (f"redis://:{SECRET}@localhost:6379/0", "redis://:***@localhost:6379/0"),
        (
            f"postgresql:///optuna?sslmode=require&password={SECRET}",
            "postgresql:///optuna?sslmode=require&password=***",
        ),
        (f"postgresql://a:p@{SECRET}@h/db", "postgresql://a:***@h/db"),  # an @ in the password
        (f"postgresql://a:x/{SECRET}@h/db", "postgresql://a:***@h/db"),  # a / in it
        (f"postgresql://a:x#{SECRET}@h/db", "postgresql://a:***@h/db"),  # a #
        (f"postgresql://a:x?{SECRET}@h/db", "postgresql://a:***@h/db"),  # a ?
        ("postgresql://alice@db/optuna", "postgresql://alice@db/optuna"),  # no password
        ("sqlite:///runs/a@b:c.db", "sqlite:///runs/a@b:c.db"),  # a path, not credentials
        ("journal:studies.log", "journal:studies.log"),
    ],
)
def test_a_shown_storage_url_hides_its_secrets_and_nothing_else(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def test_an_unreachable_database_is_named_without_its_password() -> None:
    with pytest.raises(AgentHPOError) as caught:
        open_storage(f"postgresql://alice:{SECRET}@127.0.0.1:1/optuna")
    assert SECRET not in str(caught.value)
    assert "alice:***@127.0.0.1:1" in str(caught.value)


def _task(tmp_path: Path) -> Path:
    (tmp_path / "quad.py").write_text("def objective(config):\n    return config['x'] ** 2\n")
    text = (
        "name: quad\n"
        "objective: {metric: loss, direction: minimize}\n"
        "space: {x: {type: float, low: -5.0, high: 5.0}}\n"
        "n_trials: 10\n"
        "function: quad:objective\n"
        "strategy: random\n"
    )
    path = tmp_path / "task.yaml"
    path.write_text(text)
    return path


def test_threads_creating_one_new_sqlite_study_all_succeed(tmp_path: Path) -> None:
    task_file = _task(tmp_path)
    n = 6
    barrier = threading.Barrier(n)
    numbers: list[int] = []
    errors: list[str] = []

    def ask() -> None:
        barrier.wait()
        try:
            numbers.append(ask_trial(task_file, llm="random")["trial"])
        except AgentHPOError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=ask) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sorted(numbers) == list(range(n))
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    url = f"sqlite:///{tmp_path / 'task.agenthpo.db'}"
    study = optuna.load_study(study_name="quad", storage=open_storage(url, for_reading=True))
    assert len(study.trials) == n


def test_a_sqlite_path_under_home_is_expanded_as_a_journal_path_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sqlite:///~/x.db failed with "the folder ~ does not exist" while journal:~/x.log
    expanded ~ (task probe)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    optuna.create_study(study_name="s", storage=open_storage("sqlite:///~/x.db"))
    assert (tmp_path / "x.db").is_file()
    assert not Path("~").exists()
    again = open_storage("sqlite:///~/x.db", for_reading=True)
    assert [s.study_name for s in again.get_all_studies()] == ["s"]
    # and the readers (show, best, report) open it too, as the run's hint tells them to
    from agenthpo.studies import open_study

    assert open_study(None, storage="sqlite:///~/x.db", study="s").study_name == "s"


def test_a_run_in_memory_says_that_nothing_is_kept(tmp_path: Path) -> None:
    """sqlite:///:memory: ran the budget and then pointed to a study that no longer
    existed (task probe): the first and last lines say the trials end with the run."""
    from typer.testing import CliRunner

    from agenthpo.cli import app

    (tmp_path / "f.py").write_text("def obj(c):\n    return (c['x'] - 1) ** 2\n")
    (tmp_path / "t.yaml").write_text(
        "name: m\nobjective: {metric: loss, direction: minimize}\n"
        "space: {x: {type: float, low: -2, high: 2}}\nn_trials: 2\nfunction: 'f:obj'\n"
        "strategy: random\n"
    )
    result = CliRunner().invoke(
        app, ["run", str(tmp_path / "t.yaml"), "--storage", "sqlite:///:memory:"]
    )
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert "every trial is lost when the run ends" in lines[0]
    assert lines[-1].startswith("Nothing is kept")
    assert "see every trial with" not in result.stdout
    assert not list(tmp_path.rglob("*.html"))  # no report of a study that is gone
