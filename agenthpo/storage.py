"""Storage URLs: where a study lives.

==============================================  ===============================================
``sqlite:///path/to/study.db``                  one process (the default, beside the task file)
``journal:path/to/study.log``                   several processes on one machine or a shared
                                                file system, no database needed (Optuna's
                                                JournalStorage with a file backend)
``postgresql://user@host:5432/db``              several processes on several machines
                                                (needs ``agenthpo[postgres]``)
``mysql://...``                                 likewise, with a MySQL driver installed
``redis://host:6379/0``                         Optuna's journal on Redis (needs ``redis``)
==============================================  ===============================================

SQLite is not safe under many parallel writers: use a journal file or PostgreSQL for
workers (``agenthpo worker``).

Example:
    >>> type(open_storage("sqlite:///:memory:")).__name__
    'RDBStorage'
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage

from agenthpo.errors import AgentHPOError

__all__ = ["STORAGE_HELP", "is_single_process", "open_storage"]

STORAGE_HELP = (
    "use sqlite:///PATH, journal:PATH, postgresql://USER@HOST:PORT/DB, mysql://... or"
    " redis://HOST:PORT/DB"
)


def is_single_process(url: str) -> bool:
    """Whether a storage is meant for one process only (SQLite)."""
    return url.startswith("sqlite:")


def journal_path(url: str) -> Path:
    """The file of a ``journal:`` URL (``journal:PATH`` or ``journal:///ABSOLUTE``)."""
    rest = url.removeprefix("journal:")
    if rest.startswith("//"):
        rest = rest[2:]
    if not rest:
        raise AgentHPOError(f"storage {url!r} names no file; write journal:PATH")
    return Path(rest).expanduser()


def open_storage(url: str) -> BaseStorage:
    """Opens the storage a URL names.

    Raises:
        AgentHPOError: An unknown scheme, a missing driver, or a database that cannot be
            reached; the message says what to do.
    """
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        path = journal_path(url)
        if not path.parent.exists():
            raise AgentHPOError(f"storage {url!r}: the folder {path.parent} does not exist")
        return JournalStorage(JournalFileBackend(str(path)))
    if url.startswith("redis://"):
        if importlib.util.find_spec("redis") is None:
            raise AgentHPOError("storage redis://... needs the redis package: pip install redis")
        from optuna.storages.journal import JournalRedisBackend

        return JournalStorage(JournalRedisBackend(url))
    if url.startswith(("sqlite:", "postgresql", "mysql")):
        engine_kwargs: dict[str, object] = {}
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            _create_sqlite_atomically(Path(url.removeprefix("sqlite:///")))
        if url.startswith("sqlite:"):
            # Wait for a lock instead of failing at once when another process writes.
            engine_kwargs["connect_args"] = {"timeout": 60}
        else:
            engine_kwargs["pool_pre_ping"] = True
        try:
            with _schema_lock(url), warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(url, engine_kwargs=engine_kwargs)
        except ImportError as exc:
            driver = "agenthpo[postgres]" if url.startswith("postgresql") else "a driver"
            raise AgentHPOError(
                f"storage {_safe(url)} needs a database driver ({exc}); install {driver}"
            ) from None
        except Exception as exc:
            raise AgentHPOError(f"cannot open storage {_safe(url)}: {_first_line(exc)}") from None
    raise AgentHPOError(f"unknown storage URL {_safe(url)}; {STORAGE_HELP}")


_SCHEMA_LOCK_KEY = 0x4147454E54485030  # "AGENTHP0": one advisory lock for schema creation


@contextlib.contextmanager
def _schema_lock(url: str) -> Iterator[None]:
    """Holds a PostgreSQL advisory lock while Optuna creates or checks its schema.

    Optuna's ``create_all`` is not safe under concurrency on PostgreSQL: two processes
    creating the same table on an empty database collide in the catalog (``UniqueViolation
    ... pg_type_typname_nsp_index``), so of N workers started together some died. With the
    lock they create the schema one at a time, and each later one finds it made. Other
    databases need no lock (SQLite files are created atomically, see below).
    """
    if not url.startswith("postgresql"):
        yield
        return
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    engine = sqlalchemy.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(
                sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": _SCHEMA_LOCK_KEY}
            )
            try:
                yield
            finally:
                conn.execute(
                    sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEMA_LOCK_KEY}
                )
    finally:
        engine.dispose()


def _create_sqlite_atomically(path: Path) -> None:
    """Creates a new SQLite study database in one step.

    Optuna creates its tables and indexes one statement at a time; a process killed in the
    middle leaves a schema without its unique constraints (seen: four studies of one name).
    So a new database is built in a temporary file and linked into place, which either
    happens whole or not at all; a process that loses the race keeps the winner's file.
    """
    if path.exists():
        return
    if not path.parent.exists():
        raise AgentHPOError(f"cannot create {path}: the folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = RDBStorage(f"sqlite:///{tmp}")
        storage.engine.dispose()
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _safe(url: str) -> str:
    """The URL with any password masked."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
