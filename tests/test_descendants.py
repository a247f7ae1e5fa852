"""A trial's every descendant ends with it (issue 19, item 16): a grandchild that left the
trial's process group with setsid survived the trial's timeout."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from agenthpo.executor import CommandExecutor

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

SPAWN = """
import subprocess, sys, time
child = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(120)"],
    start_new_session=True,  # setsid: out of the trial's process group
    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
open("grandchild.pid", "w").write(str(child.pid))
{tail}
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _grandchild(tmp_path: Path) -> int:
    return int((tmp_path / "grandchild.pid").read_text())


@pytest.mark.parametrize(
    ("tail", "timeout"),
    [
        ("time.sleep(60)", 3.0),  # the trial times out with its grandchild alive
        ("time.sleep(1.5)\nprint('done')", None),  # the trial ends, the grandchild lives on
        ("", None),  # the trial exits at once, leaving an orphan
    ],
)
def test_a_setsid_grandchild_ends_with_the_trial(
    tmp_path: Path, tail: str, timeout: float | None
) -> None:
    (tmp_path / "spawn.py").write_text(SPAWN.format(tail=tail))
    executor = CommandExecutor(
        [sys.executable, "spawn.py"], cwd=tmp_path, timeout=timeout, kill_grace=0.5
    )
    executor.run({}, trial_number=0)
    pid = _grandchild(tmp_path)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = _alive(pid)
    if alive:
        os.kill(pid, 9)
    assert not alive, "the setsid grandchild outlived its trial"
