"""optuna-dashboard on loopback: trial notes written by AgentHPO, read back over its JSON API.

The dashboard runs in a child process started the way ``agenthpo dashboard`` starts it (the
typer command :func:`agenthpo.cli.dashboard.dashboard_command`), on 127.0.0.1 and a free
port; the test reads ``/api/studies`` and ``/api/studies/<id>``, the endpoints the dashboard's
own front end uses. Needs optuna-dashboard (``pip install 'agenthpo[dashboard]'``).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import optuna_dashboard  # noqa: F401  (the dashboard extra; make test installs it)
import pytest
from optuna.samplers import TPESampler

from agenthpo import _keys
from agenthpo.agent.prompts import TaskContext
from agenthpo.dashboard import trial_note, write_study_notes, write_trial_note
from agenthpo.llm import ScriptedLLM
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space

pytestmark = pytest.mark.integration


ROOT = Path(__file__).resolve().parents[2]
COMMAND = (
    "import typer; from agenthpo.cli.dashboard import dashboard_command;"
    " typer.run(dashboard_command)"
)
ANSWERS = [
    {"config": {"x": 0.0, "kind": "a"}, "rationale": "start at the centre of the range"},
    {"config": {"x": 2.5, "kind": "a"}, "rationale": "move right: the loss fell towards x=2"},
    {"config": {"x": 2.0, "kind": "b"}, "rationale": "check whether kind b helps near x=2"},
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    if kind == "b":
        # What the tuner stores for a failed run.
        trial.set_user_attr(_keys.ERROR, "RuntimeError: kind b is not implemented")
        trial.set_user_attr(_keys.STDERR_TAIL, "Traceback ...\nRuntimeError: kind b")
        trial.set_user_attr(_keys.ANALYSIS, "crashed: RuntimeError: kind b is not implemented")
        raise RuntimeError("kind b is not implemented")
    loss = (x - 2) ** 2
    trial.set_user_attr(_keys.METRICS, {"loss": loss, "test_loss": loss + 0.1})
    trial.set_user_attr(_keys.ANALYSIS, f"still improving at the end (loss {loss:.3g})")
    trial.set_user_attr(_keys.DURATION_S, 0.01)
    return loss


@pytest.fixture
def study_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    sampler = AgentSampler(
        policy="agent",
        backbone=TPESampler(seed=0),
        llm=ScriptedLLM([json.dumps(a) for a in ANSWERS], model="dash"),
        space=Space.from_dict(
            {"x": {"type": "float", "low": -5.0, "high": 5.0}, "kind": ["a", "b"]}
        ),
        context=TaskContext(name="dash", metric="loss", direction="minimize"),
        seed=0,
    )
    study = optuna.create_study(study_name="dash", storage=url, sampler=sampler)
    study.set_user_attr(_keys.STUDY_METRIC, "loss")
    study.optimize(objective, n_trials=3, catch=(RuntimeError,))
    # The first trial's note is written as the tuner writes it; the others are left for
    # `agenthpo dashboard` to fill in.
    write_trial_note(study, study.trials[0])
    return url


@pytest.fixture
def dashboard(study_url: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    yield from _serve(study_url)


def _serve(study_url: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", COMMAND, "--storage", study_url, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read() if proc.stdout else ""
                pytest.fail(f"the dashboard exited with status {proc.returncode}: {out}")
            try:
                _get(base + "/api/meta")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail("the dashboard did not answer within 60 s")
                time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_dashboard_serves_rationales_and_notes(
    dashboard: tuple[str, subprocess.Popen[str]],
) -> None:
    base, _ = dashboard
    studies = _get(base + "/api/studies")["study_summaries"]
    (summary,) = [s for s in studies if s["study_name"] == "dash"]
    detail = _get(f"{base}/api/studies/{summary['study_id']}")
    trials = sorted(detail["trials"], key=lambda t: t["number"])
    assert [t["state"] for t in trials] == ["Complete", "Complete", "Fail"]
    for trial, answer in zip(trials, ANSWERS, strict=True):
        attrs = {a["key"]: a["value"] for a in trial["user_attrs"]}
        assert attrs[_keys.RATIONALE] == answer["rationale"]
        assert attrs[_keys.PROPOSED_BY] == "llm"
        note = trial["note"]["body"]
        assert trial["note"]["version"] >= 1
        assert note.startswith(f"## Trial {trial['number']}: ")
        assert f"**Why:** {answer['rationale']}" in note
        assert "**Proposed by:** llm (model `scripted:dash`" in note
        assert attrs[_keys.ANALYSIS] in note
        assert "### The LLM's answers" in note
        assert json.dumps(answer) in note  # the model's raw answer
    assert "| test_loss |" in trials[1]["note"]["body"]  # every metric, hidden ones too
    failed = trials[2]["note"]["body"]
    assert "### Error" in failed
    assert "RuntimeError: kind b is not implemented" in failed
    assert "Traceback" in failed


def test_the_command_says_where_the_dashboard_is(
    dashboard: tuple[str, subprocess.Popen[str]],
) -> None:
    base, proc = dashboard
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    assert "wrote the notes of 2 trials" in out
    assert f"{base}/dashboard/studies/" in out


def test_a_taken_port_is_a_clear_error(study_url: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-c", COMMAND, "--storage", study_url, "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 2
    assert f"cannot serve the dashboard on 127.0.0.1:{port}" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_missing_study_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    out = subprocess.run(
        [sys.executable, "-c", COMMAND, "--storage", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "no study stored yet" in out.stderr


def test_notes_are_rewritten_not_duplicated(study_url: str) -> None:
    study = optuna.load_study(study_name="dash", storage=study_url)
    assert write_study_notes(study) == 2  # trial 0 already had one
    assert write_study_notes(study) == 0
    assert write_study_notes(study, overwrite=True) == 3
    from optuna_dashboard import get_note

    handle = optuna.load_study(study_name="dash", storage=study_url)
    live = optuna.Trial(handle, study.trials[1]._trial_id)
    assert get_note(live) == trial_note(study.trials[1], metric="loss")


def test_a_note_for_a_trial_id_and_an_unknown_id(study_url: str) -> None:
    study = optuna.load_study(study_name="dash", storage=study_url)
    body = write_trial_note(study, study.trials[2]._trial_id)
    assert body.startswith("## Trial 2: fail")
    from agenthpo.errors import AgentHPOError

    with pytest.raises(AgentHPOError, match="no trial with id 999"):
        write_trial_note(study, 999)


TRADE_OFF = """
def objective(config, report):
    acc = 1.0 - 1.0 / config["width"]
    report(step=0, acc=acc / 2, seconds=config["width"] / 4)
    return {"acc": acc, "seconds": config["width"] / 2}
"""


def test_a_multi_objective_study_shows_its_metric_names_and_notes(tmp_path: Path) -> None:
    from agenthpo.task import task_from_dict
    from agenthpo.tuner import Tuner

    (tmp_path / "tradeoff.py").write_text(TRADE_OFF)
    task = task_from_dict(
        {
            "name": "tradeoff",
            "objective": [
                {"metric": "acc", "direction": "maximize"},
                {"metric": "seconds", "direction": "minimize"},
            ],
            "space": {"width": {"type": "int", "low": 1, "high": 64, "log": True}},
            "n_trials": 4,
            "function": "tradeoff:objective",
            "strategy": "agent",
        },
        base_dir=tmp_path,
    )
    url = f"sqlite:///{tmp_path / 'mo.db'}"
    answers = [
        json.dumps({"config": {"width": w}, "rationale": f"width {w}"}) for w in (2, 8, 32, 64)
    ]
    Tuner(task, llm=ScriptedLLM(answers, model="mo"), storage=url).run()
    served = _serve(url)
    base, _ = next(served)
    try:
        studies = _get(base + "/api/studies")["study_summaries"]
        (summary,) = [s for s in studies if s["study_name"] == "tradeoff"]
        assert summary["directions"] == ["maximize", "minimize"]
        detail = _get(f"{base}/api/studies/{summary['study_id']}")
        assert detail["objective_names"] == ["acc", "seconds"]  # its axis labels
        trials = sorted(detail["trials"], key=lambda t: t["number"])
        assert [t["values"][1] for t in trials] == [1.0, 4.0, 16.0, 32.0]
        for trial in trials:
            head = trial["note"]["body"].splitlines()[0]
            assert head.startswith(f"## Trial {trial['number']}: complete, acc ")
            assert ", seconds " in head
    finally:
        served.close()
