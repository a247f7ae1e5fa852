"""Journal storage on a full disk (issue 19, item 7): the run ended in a traceback, the
partial line it left was glued to the next write, and every later open failed with a bare
JSONDecodeError. Disk-full is now a clear error and a torn tail is repaired on open, with
nothing completed lost."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from agenthpo.errors import StorageError
from agenthpo.storage import open_storage

TASK = {
    "name": "j",
    "objective": {"metric": "loss", "direction": "minimize"},
    "space": {"x": {"type": "float", "low": -5.0, "high": 5.0}},
    "n_trials": 4,
    "function": "quad:objective",
    "strategy": "random",
}


def _study(url: str) -> optuna.Study:
    return optuna.load_study(study_name="j", storage=open_storage(url))


def _make(tmp_path: Path, n: int = 3) -> tuple[Path, str]:
    path = tmp_path / "study.log"
    url = f"journal:{path}"
    study = optuna.create_study(study_name="j", storage=open_storage(url))
    for i in range(n):
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": float(i)},
                distributions={"x": optuna.distributions.FloatDistribution(-5, 5)},
                value=float(i),
            )
        )
    return path, url


def test_a_torn_tail_is_repaired_on_open(tmp_path: Path) -> None:
    path, url = _make(tmp_path)
    with path.open("ab") as f:
        f.write(b'{"op_code":5,"worker_id":"x","trial_id":9,"us')  # the write that died
    study = _study(url)
    assert [t.value for t in study.trials] == [0.0, 1.0, 2.0]
    assert path.read_bytes().endswith(b"\n")
    assert (tmp_path / "study.log.torn").read_bytes().startswith(b'{"op_code":5')
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=3.0))
    assert [t.value for t in _study(url).trials] == [0.0, 1.0, 2.0, 3.0]


def test_a_write_glued_to_a_torn_line_is_recovered(tmp_path: Path) -> None:
    """The file as an earlier version left it: the next write appended to the torn line."""
    path, url = _make(tmp_path)
    last = path.read_bytes().splitlines()[-1]  # creates a trial of value 2.0
    with path.open("ab") as f:
        f.write(b'{"op_code":5,"worker_id":"x","trial_id":9,"us' + last + b"\n" + last + b"\n")
    with pytest.raises(ValueError):
        JournalStorage(JournalFileBackend(str(path)))  # Optuna's own: bricked
    assert [t.value for t in _study(url).trials] == [0.0, 1.0, 2.0, 2.0, 2.0]
    assert (tmp_path / "study.log.torn").read_bytes().startswith(b'{"op_code":5')


def _cli() -> list[str]:
    return [sys.executable, "-c", "from agenthpo.cli import main; main()"]


@pytest.mark.integration
def test_a_full_disk_is_a_clear_error_and_the_study_goes_on(tmp_path: Path) -> None:
    (tmp_path / "quad.py").write_text(
        "def objective(config, report):\n    return {'loss': (config['x'] - 2) ** 2}\n"
    )
    task = tmp_path / "task.yaml"
    task.write_text(yaml.safe_dump(TASK))
    log = tmp_path / "study.log"
    env = dict(
        os.environ,
        PYTHONWARNINGS="ignore",
        AGENTHPO_HEARTBEAT_INTERVAL="0.5",
        AGENTHPO_GRACE_PERIOD="1.5",
    )
    args = [*_cli(), "run", str(task), "--storage", f"journal:{log}", "--no-report"]
    first = subprocess.run([*args, "--n-trials", "2"], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    size = log.stat().st_size

    def limit() -> None:  # the file may grow by 1.5 KB: the disk is full after that
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 1500, size + 1500))

    full = subprocess.run(
        [*args, "--n-trials", "4"], capture_output=True, text=True, env=env, preexec_fn=limit
    )
    assert full.returncode == 2, full.stdout + full.stderr
    assert "Traceback" not in full.stderr
    lines = [line for line in full.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, full.stderr
    assert "no space" in lines[0] or "too large" in lines[0]
    assert str(log) in lines[0]
    assert log.read_bytes().endswith(b"\n")  # the failed write was taken back

    again = subprocess.run([*args, "--n-trials", "4"], capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr
    trials = _study(f"journal:{log}").trials
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) >= 4
    for line in log.read_bytes().splitlines():
        json.loads(line)


# -- readers change nothing (``open_storage(..., for_reading=True)``, ``agenthpo show``) ---


def _read(url: str) -> optuna.Study:
    return optuna.load_study(study_name="j", storage=open_storage(url, for_reading=True))


def test_a_reader_leaves_a_torn_tail_alone_and_reads_what_is_complete(tmp_path: Path) -> None:
    """The tail may be a write still in progress: only a writer, under the lock, cuts it."""
    path, url = _make(tmp_path)
    with path.open("ab") as f:
        f.write(b'{"op_code":5,"worker_id":"x","trial_id":9,"us')
    before = path.read_bytes()
    assert [t.value for t in _read(url).trials] == [0.0, 1.0, 2.0]
    assert path.read_bytes() == before
    assert not (tmp_path / "study.log.torn").exists()
    assert not list(tmp_path.glob("*.lock"))


def test_a_write_through_a_readers_storage_repairs_first(tmp_path: Path) -> None:
    """A dashboard note, written through the storage ``agenthpo dashboard`` opened to read."""
    path, url = _make(tmp_path)
    with path.open("ab") as f:
        f.write(b'{"op_code":5,"worker_id":"x","trial_id":9,"us')
    study = _read(url)
    study.set_user_attr("note", "n")
    assert (tmp_path / "study.log.torn").read_bytes().startswith(b'{"op_code":5')
    for line in path.read_bytes().splitlines():
        json.loads(line)
    assert _read(url).user_attrs == {"note": "n"}


def test_writers_still_repair_a_torn_tail(tmp_path: Path) -> None:
    """``agenthpo run`` and ``worker`` open the study through the tuner: it repairs."""
    from agenthpo.task import task_from_dict
    from agenthpo.tuner import Tuner

    path, url = _make(tmp_path)
    with path.open("ab") as f:
        f.write(b'{"op_code":5,"worker_id":"x","trial_id":9,"us')
    study = Tuner(task_from_dict(TASK), storage=url).load_study()
    assert [t.value for t in study.trials] == [0.0, 1.0, 2.0]
    assert path.read_bytes().endswith(b"\n")
    assert (tmp_path / "study.log.torn").exists()


def test_a_reader_refuses_a_damaged_journal_and_leaves_it(tmp_path: Path) -> None:
    path, url = _make(tmp_path)
    last = path.read_bytes().splitlines()[-1]
    with path.open("ab") as f:
        f.write(b'{"op_code":5,"worker_id":"x","trial_id":9,"us' + last + b"\n" + last + b"\n")
    before = path.read_bytes()
    with pytest.raises(StorageError, match=r"has damaged lines.*a writer .* repairs it"):
        _read(url)
    assert path.read_bytes() == before
    assert not (tmp_path / "study.log.torn").exists()


@pytest.mark.parametrize("for_reading", [True, False], ids=["reader", "writer"])
def test_a_record_from_a_newer_optuna_is_named_and_left(tmp_path: Path, for_reading: bool) -> None:
    path, url = _make(tmp_path)
    with path.open("ab") as f:
        f.write(b'{"op_code": 99, "worker_id": "w", "trial_id": 0}\n')  # an operation to come
    before = path.read_bytes()
    with pytest.raises(StorageError, match=r"does not know, written by a newer version") as caught:
        open_storage(url, for_reading=for_reading)
    assert optuna.__version__ in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.log"]


def test_a_malformed_record_of_a_known_operation_is_damage_not_a_newer_optuna(
    tmp_path: Path,
) -> None:
    path, url = _make(tmp_path)
    # A study user-attribute record without its attribute: Optuna's replay asserts on it.
    with path.open("ab") as f:
        f.write(b'{"op_code": 2, "worker_id": "w", "study_id": 0, "user_attr": {}}\n')
    with pytest.raises(StorageError) as caught:
        open_storage(url, for_reading=True)
    assert "newer version" not in str(caught.value)
    assert "damaged" in str(caught.value)


NOT_JOURNALS = {
    "text, last line without newline": b"my important notes\nline two without newline",
    "JSON lines": b'{"a": 1}\n[1,2]\nnot json',
    "JSON lines, last one torn": b'{"a": 1}\n{"b": 2}',
    "records of another shape": b'{"op_code": 99, "worker_id": "w"}\n',
    "a study record without its fields": b'{"op_code": 0, "worker_id": "w"}\n',
    "a SQLite database": b"SQLite format 3\x00" + bytes(200),
    "one line, no newline": b"hello",
}


@pytest.mark.parametrize("for_reading", [True, False], ids=["reader", "writer"])
@pytest.mark.parametrize("content", NOT_JOURNALS.values(), ids=NOT_JOURNALS.keys())
def test_a_file_that_is_not_a_journal_is_refused_and_left_as_it_is(
    tmp_path: Path, content: bytes, for_reading: bool
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(StorageError, match="is not an Optuna journal") as caught:
        open_storage(f"journal:{path}", for_reading=for_reading)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    "content",
    [b"", b'{"op_code":0,"worker_id":"w","study_name":"j","dire'],
    ids=["empty", "its first write torn"],
)
def test_a_journal_with_no_complete_record_opens_empty_for_reading(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "study.log"
    path.write_bytes(content)
    assert optuna.get_all_study_names(open_storage(f"journal:{path}", for_reading=True)) == []
    assert path.read_bytes() == content


def test_a_journal_whose_first_write_was_glued_is_still_one(tmp_path: Path) -> None:
    path, url = _make(tmp_path)
    data = path.read_bytes()
    path.write_bytes(b'{"op_code":0,"worker_id":"x","stu' + data)  # as an earlier version left
    assert [t.value for t in _study(url).trials] == [0.0, 1.0, 2.0]  # the writer repairs


@pytest.mark.parametrize("for_reading", [True, False], ids=["reader", "writer"])
@pytest.mark.parametrize("scheme", ["journal:", "sqlite:///"])
def test_a_folder_is_refused_in_one_line(tmp_path: Path, scheme: str, for_reading: bool) -> None:
    folder = tmp_path / "somedir"
    folder.mkdir()
    with pytest.raises(StorageError, match=r"is a folder, not a file; name a file in it"):
        open_storage(f"{scheme}{folder}", for_reading=for_reading)
    assert list(folder.iterdir()) == []
