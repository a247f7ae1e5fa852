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
