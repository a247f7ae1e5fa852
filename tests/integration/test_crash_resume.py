"""Kill ``agenthpo run`` with SIGKILL at random moments, restart it, and lose nothing.

Each trial's training script starts a grandchild (``sleep 30``) in its process group and
records both pids; after the last run no recorded process may be alive.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

from agenthpo import _keys
from agenthpo._lifecycle import is_counted

pytestmark = pytest.mark.integration

TRAIN = """
import os, subprocess, sys, time
from agenthpo import report
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
x, kind = float(args["--x"]), args["--kind"]
child = subprocess.Popen(["sleep", "30"])
open(os.path.join(os.environ["PIDDIR"], f"{os.getpid()}-{child.pid}"), "w").close()
time.sleep(0.15 + abs(x) % 0.4)
child.kill()
child.wait()
report(value=(x - 2) ** 2 + (1.0 if kind == "b" else 0.0))
"""

N_TRIALS = 40
KILLS = 20


def _cli() -> list[str]:
    exe = shutil.which("agenthpo")
    return [exe] if exe else [sys.executable, "-c", "from agenthpo.cli import main; main()"]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    piddir = tmp_path / "pids"
    piddir.mkdir()
    (tmp_path / "train.py").write_text(TRAIN)
    task = {
        "name": "crash",
        "objective": {"metric": "value", "direction": "minimize"},
        "space": {"x": {"type": "float", "low": -5.0, "high": 5.0}, "kind": ["a", "b"]},
        "n_trials": N_TRIALS,
        "command": ["python", "train.py"],
        "env": {"PIDDIR": str(piddir)},
        "strategy": "random",
        "seed": 0,
    }
    task_file = tmp_path / "task.yaml"
    task_file.write_text(yaml.safe_dump(task))
    storage = f"sqlite:///{tmp_path / 'crash.db'}"
    env = dict(os.environ)
    env.update({"AGENTHPO_HEARTBEAT_INTERVAL": "0.2", "AGENTHPO_GRACE_PERIOD": "1"})
    argv = [*_cli(), "run", str(task_file), "--storage", storage]

    rng = random.Random(7)
    kills = 0
    while kills < KILLS:
        started = len(list(piddir.iterdir()))
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if kills % 2:
            time.sleep(rng.uniform(1.0, 3.5))  # any moment: start-up, between or in trials
        else:
            # In a trial: a busy machine can take longer than the sleep above just to start
            # the CLI, and a run killed only at start-up never interrupts a trial.
            deadline = time.monotonic() + 60
            while len(list(piddir.iterdir())) == started and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"the run ended before it was killed ({proc.returncode}): {err}")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.stderr:
            proc.stderr.close()
        kills += 1

    final = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stdout + final.stderr
    assert "Traceback" not in final.stderr

    study = optuna.load_study(study_name="crash", storage=storage)
    trials = study.trials
    counted = [t for t in trials if is_counted(t)]
    assert len(counted) == N_TRIALS
    states = {t.state for t in trials}
    assert optuna.trial.TrialState.RUNNING not in states
    assert optuna.trial.TrialState.WAITING not in states
    for t in trials:
        if t.state == optuna.trial.TrialState.COMPLETE:
            expected = (t.params["x"] - 2) ** 2 + (1.0 if t.params["kind"] == "b" else 0.0)
            assert t.value == pytest.approx(expected)
    interrupted = [
        t for t in trials if t.state == optuna.trial.TrialState.FAIL and not is_counted(t)
    ]
    assert interrupted, "with 20 kills some trial must have been interrupted"
    reruns = {t.user_attrs.get(_keys.RERUN_OF) for t in trials} - {None}
    for t in interrupted:
        if t.params:
            assert t.number in reruns, f"interrupted trial {t.number} was not run again"

    time.sleep(0.5)
    leftovers = [
        int(pid) for name in os.listdir(piddir) for pid in name.split("-") if _alive(int(pid))
    ]
    assert leftovers == [], f"processes outlived their trials: {leftovers}"
