"""A tuner killed by SIGKILL leaves a trial's descendants behind; the next run that finds the
trial's runner dead ends them, those that left the trial's process group included.

Real processes throughout: a "tuner" child process runs a command trial whose script starts
one grandchild in its group and one in a session of its own; the test kills the tuner with
SIGKILL and runs the recovery of stale trials.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest

from agenthpo import _lifecycle
from agenthpo.executor._tree import record_path

ROOT = str(Path(__file__).resolve().parents[1])

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and prctl"),
]

TRAIN = """
import json, subprocess, sys, time
sleeper = [sys.executable, "-c", "import time; time.sleep(300)"]
same_group = subprocess.Popen(sleeper)
own_session = subprocess.Popen(sleeper, start_new_session=True)
with open(sys.argv[1] + ".tmp", "w") as f:
    json.dump([same_group.pid, own_session.pid], f)
import os; os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(300)
"""

TUNER = """
import json, os, sys
from agenthpo.executor import CommandExecutor
from agenthpo.executor._tree import _stat

def on_start(pid):
    with open(sys.argv[3] + ".tmp", "w") as f:
        json.dump({"pid": pid, "start": _stat(pid)[1]}, f)
    os.replace(sys.argv[3] + ".tmp", sys.argv[3])

CommandExecutor([sys.executable, sys.argv[1], sys.argv[2]]).run(
    {}, trial_number=0, on_start=on_start
)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return bool(predicate())  # type: ignore[operator]


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def test_a_sigkilled_tuner_leaves_nothing_once_its_trial_is_recovered(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(textwrap.dedent(TRAIN))
    (tmp_path / "tuner.py").write_text(textwrap.dedent(TUNER))
    pids_file, root_file = tmp_path / "pids.json", tmp_path / "root.json"
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    tuner = subprocess.Popen(
        [sys.executable, str(tmp_path / "tuner.py"), "train.py", str(pids_file), str(root_file)],
        cwd=tmp_path,
        env=env,
    )
    grandchildren: list[int] = []
    try:
        assert _wait_for(lambda: isinstance(_read_json(pids_file), list), 20)
        assert _wait_for(lambda: isinstance(_read_json(root_file), dict), 5)
        grandchildren = list(_read_json(pids_file))  # type: ignore[call-overload]
        root = dict(_read_json(root_file))  # type: ignore[call-overload]
        record = record_path(root["pid"], root["start"])

        def recorded() -> bool:
            data = _read_json(record)
            seen = {p for p, _ in data["processes"]} if isinstance(data, dict) else set()
            return set(grandchildren) <= seen

        assert _wait_for(recorded, 10), "the trial's processes were never recorded"

        tuner.send_signal(signal.SIGKILL)
        tuner.wait(10)
        # The trial's own process dies with the tuner; its children do not.
        assert _wait_for(lambda: not _alive(root["pid"]), 5)
        time.sleep(0.3)
        assert all(_alive(pid) for pid in grandchildren)

        # The next run finds the trial's heartbeat stale and cleans up after it.
        study = optuna.create_study()
        trial = study.ask()
        storage = study._storage
        trial_id = trial._trial_id
        info = {"host": socket.gethostname(), "pid": root["pid"], "start": root["start"]}
        storage.set_trial_system_attr(trial_id, _lifecycle.PROCESS_KEY, info)
        storage.set_trial_system_attr(trial_id, _lifecycle.HEARTBEAT_KEY, time.time() - 3600)
        assert _lifecycle.recover_stale(study) == [trial.number]

        assert _wait_for(lambda: not any(_alive(pid) for pid in grandchildren), 5)
        assert not record.exists()
    finally:
        with contextlib.suppress(ProcessLookupError):
            tuner.kill()
        tuner.wait(10)
        for pid in grandchildren:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)  # adopted by this process if it is a subreaper


def test_a_recorded_pid_that_was_reused_is_left_alone(tmp_path: Path) -> None:
    """A record whose start time no longer matches names another process now."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = 123  # no trial process started at tick 123 of this boot has this pid now
        record = record_path(999_999_999, start)
        record.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        record.write_text(json.dumps({"processes": [[other.pid, 1]]}))
        assert _lifecycle._kill_recorded(999_999_999, start) == 0
        assert _alive(other.pid)
        assert not record.exists()
    finally:
        other.kill()
        other.wait()


def test_a_normal_trial_end_removes_its_record(tmp_path: Path) -> None:
    from agenthpo.executor import CommandExecutor

    script = tmp_path / "child.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'],"
        " start_new_session=True)\n"
        "time.sleep(1)\n"
    )
    roots: list[int] = []
    result = CommandExecutor([sys.executable, str(script)]).run(
        {}, trial_number=0, on_start=roots.append
    )
    assert result.ok
    folder = record_path(roots[0], 0).parent
    assert not list(folder.glob(f"tree-{roots[0]}-*.json"))


def test_a_record_others_could_write_is_never_trusted(tmp_path: Path) -> None:
    """A record names processes to kill: one in a folder another user may write to, or
    reached through a symlink, could name any of ours, so it is not read (review)."""
    from agenthpo.executor._tree import _private_folder

    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = _lifecycle._start_ticks(victim.pid)
        assert start is not None
        shared = tmp_path / "shared"
        shared.mkdir()
        shared.chmod(0o777)
        record = shared / "tree-1-1.json"
        record.write_text(json.dumps({"processes": [[victim.pid, start]]}))
        assert not _lifecycle._owned_by_me(record)
        assert not _private_folder(shared)
        private = tmp_path / "private"
        private.mkdir(mode=0o700)
        link = tmp_path / "link"
        link.symlink_to(private)
        (private / "tree-1-1.json").write_text(record.read_text())
        assert not _lifecycle._owned_by_me(link / "tree-1-1.json")
        assert _lifecycle._owned_by_me(private / "tree-1-1.json")  # the one case trusted
        assert _private_folder(private)
        assert victim.poll() is None  # nothing above killed it
    finally:
        victim.kill()
        victim.wait()
