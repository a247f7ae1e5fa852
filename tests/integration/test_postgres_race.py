"""Workers started together on an empty PostgreSQL database (issue 19, item 4): creating
Optuna's schema raced (UniqueViolation on pg_type), and half of them died."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agenthpo.cli import app
from agenthpo.storage import open_storage
from agenthpo.task import load_task
from agenthpo.tuner import Tuner

pytestmark = pytest.mark.integration

SERVER = os.environ.get("AGENTHPO_TEST_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture
def empty_database() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    name = f"agenthpo_race_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(f"{SERVER}/test", autocommit=True, connect_timeout=5)
    except Exception as exc:
        pytest.skip(f"no PostgreSQL answers at {SERVER}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with (
            contextlib.suppress(Exception),
            psycopg.connect(f"{SERVER}/test", autocommit=True) as admin,
        ):
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_sixteen_storages_open_an_empty_database_at_once(empty_database: str) -> None:
    n = 16
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def open_one() -> None:
        barrier.wait()
        try:
            storage = open_storage(empty_database)
            storage.get_all_studies()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, [str(e)[:200] for e in errors]


def test_a_reader_on_an_empty_database_says_it_holds_no_study_and_creates_nothing(
    empty_database: str,
) -> None:
    import sqlalchemy

    from agenthpo.errors import AgentHPOError

    with pytest.raises(AgentHPOError, match="holds no study yet"):
        open_storage(empty_database, for_reading=True)
    engine = sqlalchemy.create_engine(empty_database)
    try:
        assert sqlalchemy.inspect(engine).get_table_names() == []  # nothing was created
    finally:
        engine.dispose()
    storage = open_storage(empty_database)  # a writer creates the schema
    storage.get_all_studies()
    assert open_storage(empty_database, for_reading=True).get_all_studies() == []


def test_a_run_on_a_database_with_a_password_never_prints_it(
    empty_database: str, tmp_path: Path
) -> None:
    # The server trusts local connections, so the password is carried and ignored: what
    # matters is where the URL is shown.
    secret = "Sup3rS3cretPw"
    url = empty_database.replace("postgresql://postgres@", f"postgresql://postgres:{secret}@")
    (tmp_path / "quad.py").write_text("def objective(config):\n    return config['x'] ** 2\n")
    task_file = tmp_path / "task.yaml"
    task_file.write_text(
        "name: quad\n"
        "objective: {metric: loss, direction: minimize}\n"
        "space: {x: {type: float, low: -5.0, high: 5.0}}\n"
        "n_trials: 2\n"
        "function: quad:objective\n"
        "strategy: random\n"
    )
    result = CliRunner().invoke(app, ["run", str(task_file), "--storage", url, "--no-report"])
    assert result.exit_code == 0, result.output
    assert "postgres:***@127.0.0.1" in result.output
    assert "(its password masked: type it in)" in result.output
    assert secret not in result.output
    summary = Tuner(load_task(task_file), storage=url).run()  # the budget is spent
    assert secret not in summary.storage
    assert summary.n_total == 2
