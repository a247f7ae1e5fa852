"""Workers started together on an empty PostgreSQL database (issue 19, item 4): creating
Optuna's schema raced (UniqueViolation on pg_type), and half of them died."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator

import pytest

from agenthpo.storage import open_storage

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
