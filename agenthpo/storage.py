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
import errno
import importlib.util
import json
import logging
import os
import sqlite3
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

from agenthpo import _optuna
from agenthpo.errors import AgentHPOError, StorageError

__all__ = [
    "IN_MEMORY",
    "STORAGE_HELP",
    "SafeJournalFileBackend",
    "expand_home",
    "is_single_process",
    "open_storage",
    "shown_url",
]

_logger = logging.getLogger("agenthpo")

STORAGE_HELP = (
    "use sqlite:///PATH, journal:PATH, postgresql://USER@HOST:PORT/DB, mysql://... or"
    " redis://HOST:PORT/DB"
)


IN_MEMORY = "sqlite:///:memory:"
"""SQLite in memory: the study lives as long as the process that opened it."""


def expand_home(url: str) -> str:
    """``url`` with a SQLite path under ``~`` made absolute, as a journal's is
    (SQLAlchemy would take ``~`` for a folder's name); any other URL as it is.

    Example:
        >>> expand_home("sqlite:///~/x.db") == "sqlite:///" + str(Path.home() / "x.db")
        True
    """
    if url.startswith("sqlite:///~"):
        return "sqlite:///" + str(Path(url.removeprefix("sqlite:///")).expanduser())
    return url


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


def open_storage(url: str, *, for_reading: bool = False) -> BaseStorage:
    """Opens the storage a URL names.

    Args:
        url: The storage URL (see the module's table).
        for_reading: Open a study storage that exists already, changing nothing by opening
            it, as ``agenthpo show``, ``best``, ``report`` and ``dashboard`` do: no file,
            table or schema is created, a journal's torn last line is left alone (what is
            complete is read), and a file that is not an Optuna storage is refused. A write
            made later through the storage (a dashboard note) goes ahead as any writer's.
            ``False`` (the default, for writers such as ``agenthpo run``) creates what is
            missing and repairs a torn journal first.

    Example:
        >>> open_storage("sqlite:///no/such.db", for_reading=True)
        Traceback (most recent call last):
        ...
        agenthpo.errors.StorageError: cannot open storage sqlite:///no/such.db: no/such.db ...

    Raises:
        AgentHPOError: An unknown scheme, a missing driver, or a database that cannot be
            reached; the message says what to do.
        StorageError: The file is a folder, or (``for_reading``) it does not exist or is not
            an Optuna storage.
    """
    if url.startswith("journal:"):
        path = journal_path(url)
        if not path.parent.exists():
            raise AgentHPOError(f"storage {url!r}: the folder {path.parent} does not exist")
        _check_file(url, path, must_exist=for_reading, example="study.log")
        return _open_journal(url, path, for_reading=for_reading)
    if url.startswith("redis://"):
        if importlib.util.find_spec("redis") is None:
            raise AgentHPOError("storage redis://... needs the redis package: pip install redis")
        from optuna.storages.journal import JournalRedisBackend

        return JournalStorage(JournalRedisBackend(url))
    if url.startswith(("sqlite:", "postgresql", "mysql")):
        engine_kwargs: dict[str, object] = {}
        url = expand_home(url)
        if url.startswith("sqlite:///") and url != IN_MEMORY:
            path = Path(url.removeprefix("sqlite:///"))
            _check_file(shown_url(url), path, must_exist=for_reading, example="study.db")
            if for_reading:
                _check_sqlite_study(url, path)
            else:
                _create_sqlite_atomically(path)
        if url.startswith("sqlite:"):
            # Wait for a lock instead of failing at once when another process writes.
            engine_kwargs["connect_args"] = {"timeout": 60}
        else:
            engine_kwargs["pool_pre_ping"] = True
        try:
            if for_reading and not url.startswith("sqlite:"):
                _check_server_study(url)
            with _schema_lock(url), warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                # A reader creates no tables: Optuna's create_all would write them into a
                # database that has none (checked above for SQLite files).
                return RDBStorage(url, engine_kwargs=engine_kwargs, skip_table_creation=for_reading)
        except AgentHPOError:
            raise
        except ImportError as exc:
            driver = "agenthpo[postgres]" if url.startswith("postgresql") else "a driver"
            raise AgentHPOError(
                f"storage {shown_url(url)} needs a database driver ({exc}); install {driver}"
            ) from None
        except Exception as exc:
            raise AgentHPOError(
                f"cannot open storage {shown_url(url)}: {_first_line(exc)}"
            ) from None
    raise AgentHPOError(f"unknown storage URL {shown_url(url)}; {STORAGE_HELP}")


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


def _check_file(url: str, path: Path, *, must_exist: bool, example: str) -> None:
    """Refuses a storage file that is a folder or (``must_exist``) is missing."""
    if path.is_dir():
        scheme = url.split(":", 1)[0]
        fix = f"journal:{path / example}" if scheme == "journal" else f"sqlite:///{path / example}"
        raise StorageError(
            f"cannot open storage {url}: {path} is a folder, not a file; name a file in it,"
            f" e.g. {fix}"
        )
    if must_exist and not path.exists():
        raise StorageError(f"cannot open storage {url}: {path} does not exist")


_OPTUNA_TABLES = ("studies", "trials", "version_info", "alembic_version")
"""Tables every Optuna study database has; the last two hold one row each, which Optuna
writes when it opens a database that lacks them."""


def _check_server_study(url: str) -> None:
    """Refuses, for a reader, a PostgreSQL or MySQL database without Optuna's tables (Optuna
    would fail on it with an unrelated "exception during the commit")."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, pool_pre_ping=True)
    try:
        inspector = sqlalchemy.inspect(engine)
        missing = [t for t in _OPTUNA_TABLES if not inspector.has_table(t)]
    finally:
        engine.dispose()
    if missing:
        raise StorageError(
            f"{shown_url(url)} holds no study yet (no Optuna table {missing[0]!r}); run"
            " `agenthpo run` with this --storage first"
        )


def _check_sqlite_study(url: str, path: Path) -> None:
    """Refuses a SQLite file that is not an Optuna study database, reading it read-only.

    Optuna, handed such a file, creates its tables in it (a user's database, an empty file);
    a reader must leave it as it is. The file is opened through SQLite's read-only URI, so
    this check cannot change it either.
    """

    def not_optuna(why: str) -> StorageError:
        return StorageError(
            f"{path} is not an Optuna study database ({why}); give the --storage of a study"
            " `agenthpo run` made"
        )

    if path.stat().st_size == 0:
        raise not_optuna("the file is empty")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open storage {url}: {exc}") from None
    try:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        missing = [t for t in _OPTUNA_TABLES if t not in tables]
        unstamped = not missing and (
            conn.execute("SELECT 1 FROM version_info LIMIT 1").fetchone() is None
            or conn.execute("SELECT 1 FROM alembic_version LIMIT 1").fetchone() is None
        )
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            raise not_optuna("not a SQLite database") from None
        raise StorageError(f"cannot open storage {url}: {exc}") from None
    finally:
        conn.close()
    if missing:
        raise not_optuna(f"it has no table {missing[0]!r}")
    if unstamped:
        raise not_optuna("its schema version is not recorded")


_JOURNAL_OP_CODES = range(11)
"""The operation codes of Optuna's journal records (``JournalOperation`` in
``optuna/storages/journal/_storage.py``, 0 ``CREATE_STUDY`` to 10 ``DISCARD_TRIALS``;
checked against Optuna 5.1). Every record is one JSON object with ``op_code`` and
``worker_id``."""


def _is_journal_record(line: bytes) -> bool:
    """Whether one line of a file is an Optuna journal record (or ends in one, glued to a
    torn line an earlier version left)."""
    good = _salvage(line)
    if good is None:
        return False
    record = json.loads(good)
    if not isinstance(record, dict):
        return False
    op = record.get("op_code")
    if type(op) is not int or op not in _JOURNAL_OP_CODES:
        return False
    if not isinstance(record.get("worker_id"), str):
        return False
    if op == 0:  # CREATE_STUDY, the first record of every journal Optuna writes
        return isinstance(record.get("study_name"), str) and isinstance(
            record.get("directions"), list
        )
    return True


_FIRST_LINE_LIMIT = 1 << 20
"""The most of a journal's first line read to check it (a record is far shorter)."""


def _check_journal(url: str, path: Path) -> None:
    """Refuses a file that is not an Optuna journal (an empty file is one, not written yet).

    Only its first line is read: a journal's first record is Optuna's. A first line
    without its newline is the torn first write of a journal, if it begins as a record does.
    """
    try:
        with path.open("rb") as f:
            first = f.readline(_FIRST_LINE_LIMIT)
    except OSError as exc:
        raise StorageError(f"cannot open storage {url}: {exc.strerror or exc}") from None
    if not first:
        return
    if first.endswith(b"\n"):
        sound = _is_journal_record(first.rstrip(b"\r\n"))
    else:
        sound = first.startswith(b'{"op_code":')
    if not sound:
        raise StorageError(
            f"{path} is not an Optuna journal (its first line is not a journal record);"
            " give the --storage of a study `agenthpo run` made, or a new file"
        )


def _open_journal(url: str, path: Path, *, for_reading: bool) -> JournalStorage:
    """A journal file storage; a writer's has its torn tail or glued lines repaired first.

    A reader's is read as it is: Optuna's replay skips a torn last line (a write not
    finished, perhaps still being written) and reads what is complete.
    """
    if path.exists():
        _check_journal(url, path)
    backend = SafeJournalFileBackend(path, repair=not for_reading)
    try:
        storage = JournalStorage(backend)
    except (ValueError, AttributeError, KeyError, AssertionError) as exc:
        # A bad line in the middle (a write appended to a torn one by an earlier version):
        # Optuna's replay fails on it. A writer repairs the file and reads it again. Its
        # replay also asserts on an operation it does not know: a record of a newer Optuna,
        # whose lines are sound, so repairing would change nothing.
        _logger.debug("replaying %s failed", path, exc_info=True)
        if isinstance(exc, AssertionError) and _has_unknown_operation(path):
            raise StorageError(
                f"the journal {path} holds a record this Optuna ({optuna.__version__}) does"
                " not know, written by a newer version; upgrade Optuna (pip install -U"
                " optuna) to open it"
            ) from None
        if for_reading:
            raise StorageError(
                f"the journal {path} has damaged lines (a write glued to a torn one); a"
                " writer (`agenthpo run` or `agenthpo worker` on it) repairs it, keeping the"
                f" torn parts in {path}.torn"
            ) from None
    else:
        if for_reading and backend.torn_tail():
            _logger.debug(
                "%s ends in an incomplete line (a write in progress or one that did not"
                " finish); read what is complete",
                path,
            )
        return storage
    if not backend.repair(full=True):
        raise StorageError(
            f"the journal {path} is damaged and could not be repaired; restore it from a"
            " backup or start a new study with another --storage"
        )
    try:
        return JournalStorage(SafeJournalFileBackend(path))
    except (ValueError, AttributeError, KeyError, AssertionError) as exc:
        raise StorageError(
            f"the journal {path} is damaged ({_first_line(exc)}) even after repair; restore"
            " it from a backup or start a new study with another --storage"
        ) from None


def _has_unknown_operation(path: Path) -> bool:
    """Whether a line of the journal names an operation this Optuna does not know."""
    known = _optuna.journal_operations()
    with contextlib.suppress(OSError), path.open("rb") as f:
        for line in f:
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and record.get("op_code") not in known:
                    return True
    return False


class SafeJournalFileBackend(JournalFileBackend):
    """Optuna's journal file backend, safe against torn writes.

    * A write that fails (disk full, file size limit) is taken back by truncating the file
      to where it was, and raises :class:`~agenthpo.errors.StorageError` with one line that
      says what happened and what to do; nothing written before is touched.
    * A write that died half way (the process killed, the truncation itself failed) leaves
      a last line without its newline: before each write, and on a writer's open, such a
      torn tail is cut off (kept beside the journal in ``PATH.torn``), under the journal's
      lock, so no writer is mid-line then. It was never acknowledged, so nothing completed
      is lost. A reader's open (``repair=False``) leaves it: Optuna's replay skips it.
    * A journal an earlier version damaged (a write glued to a torn line) is repaired on a
      writer's open: the complete entry at the end of the glued line is kept, the torn part
      dropped.
    """

    def __init__(self, path: Path, *, repair: bool = True) -> None:
        """Opens (creating if missing) the journal at ``path``; ``repair``: cut a torn tail
        off now (a reader passes ``False`` and leaves the file as it is; the tail is cut
        before this backend's first write all the same)."""
        self.path = path
        # Optuna's default lock, kept here: Optuna holds its own reference privately.
        self._journal_lock = JournalFileSymlinkLock(str(path))
        try:
            super().__init__(str(path), lock_obj=self._journal_lock)
        except OSError as exc:
            raise StorageError(f"cannot create the journal {path}: {exc.strerror}") from None
        if repair:
            self.repair()

    def torn_tail(self) -> bool:
        """Whether the file ends in a line without its newline (read, never changed)."""
        with contextlib.suppress(OSError), open(self.path, "rb") as f:
            if f.seek(0, os.SEEK_END) == 0:
                return False
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
        return False

    def repair(self, *, full: bool = False) -> bool:
        """Cuts a torn last line; with ``full``, also salvages or drops undecodable lines.

        Returns:
            Whether the file is sound now.
        """
        self._journal_lock.acquire()
        try:
            return self._repair_locked(full=full)
        finally:
            self._journal_lock.release()

    def _repair_locked(self, *, full: bool) -> bool:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        torn = data[end:]
        if not full:
            if torn:
                self._keep_torn(torn)
                os.truncate(self.path, end)
                _logger.warning(
                    "%s ended in a torn line (a write that did not finish); cut it off", self.path
                )
            return True
        kept: list[bytes] = []
        dropped: list[bytes] = []
        for line in data[:end].splitlines():
            good = _salvage(line)
            if good is None:
                dropped.append(line)
            else:
                kept.append(good)
                if good != line:
                    dropped.append(line[: len(line) - len(good)])
        if torn:
            dropped.append(torn)
        if not dropped:
            return True
        self._keep_torn(b"\n".join(dropped))
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.repair")
        tmp.write_bytes(b"".join(line + b"\n" for line in kept))
        os.replace(tmp, self.path)
        _optuna.journal_forget_read_offsets(self)  # the lines moved
        _logger.warning(
            "%s held %d damaged line(s) (torn writes); repaired, the torn parts kept in %s",
            self.path,
            len(dropped),
            self.path.with_name(self.path.name + ".torn"),
        )
        return True

    def _keep_torn(self, torn: bytes) -> None:
        with contextlib.suppress(OSError), open(f"{self.path}.torn", "ab") as f:
            f.write(torn + b"\n")

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        """Appends whole lines, or nothing: see the class docstring."""
        data = ("\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n").encode()
        self._journal_lock.acquire()
        try:
            self._repair_locked(full=False)
            # Unbuffered: a buffer would write its rest again when the file is closed, after
            # the truncation that takes a failed write back.
            with open(self.path, "ab", buffering=0) as f:
                start = f.tell()
                try:
                    view = memoryview(data)
                    while view:
                        view = view[f.write(view) or 0 :]
                    os.fsync(f.fileno())
                except OSError as exc:
                    with contextlib.suppress(OSError):
                        os.truncate(self.path, start)
                    raise StorageError(_write_failed(self.path, exc)) from None
        finally:
            self._journal_lock.release()


def _write_failed(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        why = "no space left on the device"
    elif exc.errno == errno.EFBIG:
        why = "the file is too large for the file system or the process's limit"
    elif exc.errno == errno.EDQUOT:
        why = "the disk quota is exceeded"
    else:
        why = exc.strerror or type(exc).__name__
    return (
        f"cannot write to the journal {path}: {why}; free some space and run the same"
        " command again (every finished trial is stored, the unfinished one runs again)"
    )


def _salvage(line: bytes) -> bytes | None:
    """The line if it is one JSON object, else its longest suffix that is, else ``None``."""
    try:
        json.loads(line)
        return line
    except ValueError:
        pass
    start = line.find(b'{"op_code"', 1)
    while start != -1:
        try:
            json.loads(line[start:])
            return line[start:]
        except ValueError:
            start = line.find(b'{"op_code"', start + 1)
    return None


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
    # One temporary file per caller: threads of one process (the MCP server's jobs, a
    # thread pool of asks) race here as processes do.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = RDBStorage(f"sqlite:///{tmp}")
        storage.engine.dispose()
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    except Exception as exc:
        # An unwritable place (/proc, a read-only mount, no permission): the user's to fix.
        raise AgentHPOError(
            f"cannot create the study database {path}: {_first_line(exc)}; give a storage in a"
            " folder you can write to"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


_SECRET_QUERY_WORDS = ("pass", "pwd", "secret", "token", "key", "auth")
"""Query parameters whose values are masked in a shown URL (``password``, ``sslpassword``,
``api_key``, ...); the others (``sslmode``, ``connect_timeout``) say where, not who."""


def shown_url(url: str) -> str:
    """A storage URL as the user sees it: its password and secret query values masked.

    What a run, a report or an error prints, and what a run's summary carries; the URL
    itself, to connect with, is never changed.

    Example:
        >>> shown_url("postgresql://alice:s3cret@db:5432/optuna?sslmode=require&password=x")
        'postgresql://alice:***@db:5432/optuna?password=***&sslmode=require'
        >>> shown_url("sqlite:///studies.db")
        'sqlite:///studies.db'
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    try:  # SQLAlchemy's own reading: a password may hold "/", "?" or "#"
        parsed = sqlalchemy.engine.make_url(url)
    except Exception:
        parsed = None
    if parsed is not None and parsed.password is not None:
        scheme, _, rest = parsed.render_as_string(hide_password=True).partition("://")
    rest, hashmark, fragment = rest.partition("#")
    rest, qmark, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    creds, at, hostport = authority.rpartition("@")
    if at and ":" in creds:
        rest = f"{creds.split(':', 1)[0]}:***@{hostport}{slash}{path}"
    if query:
        parts = []
        for item in query.split("&"):
            name, eq, value = item.partition("=")
            secret = eq and value and any(w in name.lower() for w in _SECRET_QUERY_WORDS)
            parts.append(f"{name}=***" if secret else item)
        query = "&".join(parts)
    return f"{scheme}://{rest}{qmark}{query}{hashmark}{fragment}"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
