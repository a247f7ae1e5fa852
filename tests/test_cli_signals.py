"""SIGTERM and SIGHUP stop ``agenthpo run`` and ``agenthpo worker`` as Ctrl-C does.

kill, timeout, docker stop and cluster schedulers send SIGTERM; a closed terminal sends
SIGHUP. Either must leave the study as Ctrl-C does: the trial in flight stored as
interrupted (outside the budget) and queued again, its processes gone, one line saying so
and the shell's status for the signal, so that the next run starts that trial at once
instead of waiting a grace period for a runner it believes lost.

Also here: a worker's closing hints name only what a worker can do (it has no --n-trials).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest
import typer
from typer.testing import CliRunner

from agenthpo import _keys
from agenthpo.cli import app
from agenthpo.cli._common import stop_on_signals
from agenthpo.storage import open_storage
from tests.test_cli_errors import _cli_argv
from tests.test_cli_exit import function_task
from tests.test_descendants import _alive

pytestmark = pytest.mark.timeout(300)

TRAIN = """
import os, time
from agenthpo import report
open(os.path.join(os.environ["PIDDIR"], str(os.getpid())), "w").close()
time.sleep(float(os.environ["SLEEP"]))
report(value=1.0)
"""


def _sleeping_task(tmp_path: Path, name: str) -> Path:
    """A task of one trial whose script notes its pid in ``tmp_path/pids`` and sleeps
    ``SLEEP`` seconds (:func:`_env`); its pid folder."""
    piddir = tmp_path / "pids"
    piddir.mkdir()
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "task.yaml").write_text(
        f"name: {name}\n"
        "objective: {metric: value, direction: minimize}\n"
        "space:\n"
        "  x: {type: float, low: 0.0, high: 1.0}\n"
        "n_trials: 1\n"
        "strategy: random\n"
        "command: [python, train.py]\n"
        f"env: {{PIDDIR: '{piddir}'}}\n",
        encoding="utf-8",
    )
    return piddir


def _env(sleep: float) -> dict[str, str]:
    env = dict(os.environ)
    # A grace period far longer than the test's timeouts: a next run that had to wait for
    # it (the trial left RUNNING by a runner that died) would time out.
    env.update({"SLEEP": str(sleep), "AGENTHPO_GRACE_PERIOD": "3600", "PYTHONWARNINGS": "ignore"})
    env.update({"COLUMNS": "200", "TERM": "dumb", "NO_COLOR": "1"})
    return env


def _start(argv: list[str], cwd: Path) -> subprocess.Popen[str]:
    """The CLI with a trial that sleeps, and SIGHUP at its default even when these tests
    run under ``nohup``: a signal this process catches is reset in the child, while one it
    ignores would stay ignored (and the CLI rightly keeps it so)."""
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: None)
    try:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=_env(600),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        signal.signal(signal.SIGHUP, previous)


@pytest.mark.integration
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to see processes")
@pytest.mark.parametrize(
    ("command", "sig", "status"),
    [("run", signal.SIGTERM, 143), ("worker", getattr(signal, "SIGHUP", 1), 129)],
)
def test_a_signal_mid_trial_stores_it_interrupted_and_the_next_run_starts_it_at_once(
    tmp_path: Path, command: str, sig: int, status: int
) -> None:
    piddir = _sleeping_task(tmp_path, "signals")
    task = tmp_path / "task.yaml"
    storage = f"journal:{tmp_path / 'study.log'}"
    argv = [*_cli_argv(), command, str(task), "--storage", storage]
    if command == "run":
        argv.append("--no-report")

    proc = _start(argv, tmp_path)
    deadline = time.monotonic() + 120
    while not any(piddir.iterdir()) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if proc.poll() is not None or not any(piddir.iterdir()):
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the trial never started ({proc.returncode}): {out}{err}")
    time.sleep(0.5)  # well inside the trial
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)

    name = signal.Signals(sig).name
    assert proc.returncode == status, out + err
    assert [line for line in err.splitlines() if line.strip()] == [
        f"stopped by {name}; every finished trial is stored"
    ], err
    assert "Traceback" not in out + err
    time.sleep(0.5)
    children = [int(p.name) for p in piddir.iterdir()]
    assert [pid for pid in children if _alive(pid)] == [], "the trial's process outlived it"

    study = optuna.load_study(study_name="signals", storage=open_storage(storage, for_reading=True))
    first = study.trials[0]
    assert first.state == optuna.trial.TrialState.FAIL
    assert first.user_attrs[_keys.NOT_COUNTED] == "interrupted"
    assert optuna.trial.TrialState.RUNNING not in {t.state for t in study.trials}

    again = subprocess.run(
        argv, cwd=tmp_path, env=_env(0), capture_output=True, text=True, timeout=180
    )
    assert again.returncode == 0, again.stdout + again.stderr
    study = optuna.load_study(study_name="signals", storage=open_storage(storage, for_reading=True))
    rerun = [t for t in study.trials if t.user_attrs.get(_keys.RERUN_OF) == first.number]
    assert [t.state for t in rerun] == [optuna.trial.TrialState.COMPLETE]
    assert rerun[0].params == first.params


def _signal_self_in_the_block(sig: int) -> None:
    with stop_on_signals():
        os.kill(os.getpid(), sig)
        time.sleep(10)  # the handler raises at once


def test_a_sigterm_in_the_block_exits_143_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: list[int] = []

    def record(signum: int, frame: object) -> None:
        seen.append(signum)

    # Ours before the block: were the block's handler missing, the test would fail rather
    # than end the test session; after the block, it must be back.
    before = signal.signal(signal.SIGTERM, record)
    try:
        with pytest.raises(typer.Exit) as stopped:
            _signal_self_in_the_block(signal.SIGTERM)
        after = signal.getsignal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert stopped.value.exit_code == 143
    assert capsys.readouterr().err == "stopped by SIGTERM; every finished trial is stored\n"
    assert seen == []
    assert after is record


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP")
def test_handlers_come_back_after_a_command_and_an_ignored_signal_stays_ignored(
    tmp_path: Path,
) -> None:
    """The CLI runs in-process in tests and under ``nohup`` (SIGHUP ignored): a command
    changes neither for good."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        term = signal.getsignal(signal.SIGTERM)
        with stop_on_signals():
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) != term
        result = CliRunner().invoke(app, ["run", str(tmp_path / "missing.yaml")])
        assert result.exit_code == 2
        assert signal.getsignal(signal.SIGTERM) == term
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_a_worker_on_a_spent_budget_names_what_a_worker_can_raise(tmp_path: Path) -> None:
    task = str(function_task(tmp_path, "works"))
    storage = f"journal:{tmp_path / 'journal.log'}"
    runner = CliRunner()
    first = runner.invoke(app, ["worker", task, "--storage", storage])
    assert first.exit_code == 0, (first.stdout, first.stderr, first.exception)
    again = runner.invoke(app, ["worker", task, "--storage", storage], env={"COLUMNS": "80"})
    assert again.exit_code == 0, (again.stdout, again.stderr, again.exception)
    text = " ".join(again.stdout.split())
    assert (
        f"The study already holds its budget: 2 trials; raise n_trials in {task} to"
        " continue it, or give another --storage to start afresh."
    ) in text
    assert "--n-trials" not in text  # the worker has no such option
    run = runner.invoke(app, ["run", task, "--storage", storage, "--no-report"])
    assert "raise --n-trials to continue it" in " ".join(run.stdout.split())


@pytest.mark.integration
def test_the_mcp_server_stopped_by_sigterm_exits_143_with_one_line(tmp_path: Path) -> None:
    """``agenthpo mcp`` runs trials too (in the background): a supervisor's or client's
    SIGTERM ends it as Ctrl-C does."""
    pytest.importorskip("mcp")
    proc = subprocess.Popen(
        [*_cli_argv(), "mcp", "--root", str(tmp_path)],
        cwd=tmp_path,
        env=_env(0),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        },
    }
    proc.stdin.write(json.dumps(hello) + "\n")
    proc.stdin.flush()
    assert '"id":1' in proc.stdout.readline().replace(" ", "")  # serving
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert [line for line in err.splitlines() if line.strip()] == [
        "stopped by SIGTERM; every finished trial is stored"
    ], err


@pytest.mark.integration
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to see processes")
def test_the_mcp_server_stops_its_background_run_on_sigterm(tmp_path: Path) -> None:
    """A background run's trial in flight was left RUNNING when the server exited (its
    thread died with the process), and the next run waited a grace period for it."""
    pytest.importorskip("mcp")
    piddir = _sleeping_task(tmp_path, "mcpstop")
    proc = _start([*_cli_argv(), "mcp", "--root", str(tmp_path)], tmp_path)
    assert proc.stdin is not None
    assert proc.stdout is not None
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "run_trials", "arguments": {"task_file": "task.yaml"}},
        },
    ]
    for message in messages:
        proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()
    deadline = time.monotonic() + 120
    while not any(piddir.iterdir()) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert any(piddir.iterdir()), "the trial never started"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    children = [int(p.name) for p in piddir.iterdir()]
    assert [pid for pid in children if _alive(pid)] == []
    storage = f"sqlite:///{tmp_path / 'task.agenthpo.db'}"
    study = optuna.load_study(study_name="mcpstop", storage=open_storage(storage, for_reading=True))
    first = study.trials[0]
    assert first.state == optuna.trial.TrialState.FAIL
    assert first.user_attrs[_keys.NOT_COUNTED] == "interrupted"
    assert first.user_attrs[_keys.ERROR] == "interrupted: the background run was stopped"
    assert optuna.trial.TrialState.RUNNING not in {t.state for t in study.trials}


def test_ctrl_c_while_the_command_loads_exits_130_without_a_traceback(tmp_path: Path) -> None:
    """A Ctrl-C in the first second, while the command was still importing its modules,
    printed a 30-line traceback and died by the signal (executor probe)."""
    task = function_task(tmp_path, "works")
    proc = subprocess.Popen(
        [*_cli_argv(), "run", str(task), "--no-report"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1", "TERM": "dumb"},
        # As from a shell: an xdist worker ignores SIGINT, and a child inherits that (CI).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(0.15)  # inside the imports (they take about a second here)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in out + err
