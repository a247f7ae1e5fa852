from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import sys
import textwrap
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from agenthpo.errors import ExecutorError
from agenthpo.executor import (
    CommandExecutor,
    Executor,
    FunctionExecutor,
    ReportCallback,
    TrialResult,
)
from agenthpo.reporter import report

ROOT = str(Path(__file__).resolve().parents[1])
# Scripts that import agenthpo find it even when it is not installed.
ENV = {"PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}

pytestmark = pytest.mark.timeout(60)


def write_script(tmp_path: Path, body: str, name: str = "script.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def python(script: Path, **kwargs: Any) -> CommandExecutor:
    kwargs.setdefault("env", ENV)
    return CommandExecutor([sys.executable, str(script)], **kwargs)


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:  # pragma: no cover - no procfs
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def wait_dead(pid: int, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


# --- CommandExecutor: reports and metrics ---------------------------------------------


def test_reports_arrive_live_and_in_order(tmp_path: Path) -> None:
    ack = tmp_path / "ack"
    script = write_script(
        tmp_path,
        f"""
        import os, sys, time
        from agenthpo.reporter import report
        report(step=0, loss=1.0)
        deadline = time.time() + 10
        while not os.path.exists({str(ack)!r}):  # the tuner saw step 0 while we run
            if time.time() > deadline:
                sys.exit("step 0 was not seen live")
            time.sleep(0.01)
        report(step=1, loss=0.5, acc=0.7)
        report(step=2, loss=0.25)
        """,
    )
    seen: list[tuple[int | None, dict[str, float]]] = []

    def on_report(step: int | None, metrics: dict[str, float]) -> None:
        seen.append((step, metrics))
        ack.touch()

    result = python(script).run({}, trial_number=0, on_report=on_report)
    assert result.status == "ok", result.stderr_tail
    assert seen == [(0, {"loss": 1.0}), (1, {"loss": 0.5, "acc": 0.7}), (2, {"loss": 0.25})]
    assert result.curve == [
        {"step": 0, "loss": 1.0},
        {"step": 1, "loss": 0.5, "acc": 0.7},
        {"step": 2, "loss": 0.25},
    ]
    assert result.metrics == {"loss": 0.25, "acc": 0.7}
    assert result.exit_code == 0
    assert result.error is None
    assert result.duration_s > 0


def test_metrics_merge_last_reports_and_the_metrics_file_overrides(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        import json, os, sys
        from agenthpo.reporter import report
        report(step=0, loss=1.0, acc=0.5)
        report(step=1, loss=0.5)
        report(acc=0.8)
        if sys.argv[-1] == "file":
            with open(os.environ["AGENTHPO_METRICS_FILE"], "w") as f:
                json.dump({"acc": 0.9, "extra": 1, "bad": "x"}, f)
        """,
    )
    plain = python(script).run({"mode": "none"}, trial_number=0)
    assert plain.metrics == {"loss": 0.5, "acc": 0.8}
    assert plain.curve == [
        {"step": 0, "loss": 1.0, "acc": 0.5},
        {"step": 1, "loss": 0.5},
        {"acc": 0.8},
    ]
    with_file = python(script).run({"mode": "file"}, trial_number=1)
    assert with_file.status == "ok"
    assert with_file.metrics == {"loss": 0.5, "acc": 0.9, "extra": 1.0}


def test_report_free_run_has_no_metrics(tmp_path: Path) -> None:
    script = write_script(tmp_path, "print('hello')\n")
    result = python(script).run({"x": 1}, trial_number=0)
    assert result.status == "ok"
    assert result.metrics == {}
    assert result.curve == []
    assert result.stdout_tail == "hello\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [("{oops", "not valid JSON"), ("[0.9]", "holds a JSON list")],
)
def test_invalid_metrics_file_fails_the_trial(tmp_path: Path, content: str, message: str) -> None:
    script = write_script(
        tmp_path,
        f"""
        import os
        open(os.environ["AGENTHPO_METRICS_FILE"], "w").write({content!r})
        """,
    )
    result = python(script).run({}, trial_number=0)
    assert result.status == "failed"
    assert result.error is not None
    assert "metrics file" in result.error
    assert message in result.error
    assert result.exit_code == 0


def test_nan_reports_come_through(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        from agenthpo.reporter import report
        report(step=0, loss=float("nan"))
        report(step=1, loss=float("inf"), acc=0.1)
        report(acc=float("nan"))
        """,
    )
    result = python(script).run({}, trial_number=0)
    assert result.status == "ok"
    assert result.metrics["loss"] == math.inf
    assert math.isnan(result.metrics["acc"])
    assert math.isnan(result.curve[0]["loss"])


def test_garbage_output_and_malformed_reports_do_not_crash(
    tmp_path: Path, warnings_seen: list[str]
) -> None:
    script = write_script(
        tmp_path,
        """
        import sys
        out = sys.stdout.buffer
        out.write(b"\\xff\\xfe\\x00 binary garbage\\n")
        out.write(b"@@agenthpo {not json\\n")
        out.write(b"@@agenthpo []\\n")
        out.write(b'@@agenthpo {"step": 0, "metrics": {"a": "x", "b": 1}}\\n')
        out.write(b'@@agenthpo {"step": -1, "metrics": {"a": 1}}\\n')
        out.write(b"x" * 200000 + b"\\n")
        out.write(b"@@agenthpo " + b"[" * 100000 + b"\\n")
        out.write(b'@@agenthpo {"step": 1, "metrics": {"b": 2}}\\n')
        out.write(b"progress\\r" * 1000)
        out.write(b'@@agenthpo {"metrics": {"b": 3}}')  # no final newline
        out.flush()
        sys.stderr.buffer.write(b"\\xc3\\x28 invalid utf-8 on stderr\\n")
        """,
    )
    result = python(script).run({}, trial_number=0)
    assert result.status == "ok", result.stderr_tail
    assert result.curve == [{"step": 0, "b": 1.0}, {"step": 1, "b": 2.0}, {"b": 3.0}]
    assert result.metrics == {"b": 3.0}
    assert len(result.stdout_tail) <= 4000
    assert "invalid utf-8" in result.stderr_tail
    assert len(warnings_seen) >= 4


def test_tails_exclude_reports_and_are_bounded(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        import sys
        from agenthpo.reporter import report
        for i in range(2000):
            print(f"line {i}")
            report(step=i, loss=1.0 / (i + 1))
        sys.stderr.write("E" * 1_000_000 + "\\nlast stderr line\\n")
        print("the end")
        """,
    )
    result = python(script).run({}, trial_number=0)
    assert result.status == "ok"
    assert len(result.curve) == 2000
    assert "@@agenthpo" not in result.stdout_tail
    assert result.stdout_tail.endswith("line 1999\nthe end\n")
    assert 3000 <= len(result.stdout_tail) <= 4000
    assert result.stderr_tail.endswith("last stderr line\n")
    assert len(result.stderr_tail) <= 4000


# --- CommandExecutor: how the configuration is passed ---------------------------------

ARGV_DUMP = """
import json, sys
print(json.dumps(sys.argv[1:]))
"""


def test_parameters_are_appended_in_config_order(tmp_path: Path) -> None:
    script = write_script(tmp_path, ARGV_DUMP)
    config = {"lr": 0.1 + 0.2, "layers": 3, "adam": True, "nesterov": False, "act": "relu"}
    result = python(script).run(config, trial_number=0)
    args = json.loads(result.stdout_tail)
    assert args == [
        "--lr",
        "0.30000000000000004",
        "--layers",
        "3",
        "--adam",
        "true",
        "--nesterov",
        "false",
        "--act",
        "relu",
    ]
    assert float(args[1]) == 0.1 + 0.2


def test_placeholders_are_substituted_and_nothing_is_appended(
    tmp_path: Path, warnings_seen: list[str]
) -> None:
    script = write_script(tmp_path, ARGV_DUMP)
    executor = CommandExecutor(
        [sys.executable, str(script), "--lr={lr}", "{act}", "{unknown}", "--x", "{lr}/{act}"]
    )
    result = executor.run({"lr": 1e-05, "act": "{lr}", "epochs": 3}, trial_number=0)
    # "{unknown}" is no optional parameter: it stays as written (review: "${OUT}" in a
    # shell snippet was dropped with its whole element).
    assert json.loads(result.stdout_tail) == [
        "--lr=1e-05",
        "{lr}",
        "{unknown}",
        "--x",
        "1e-05/{lr}",
    ]
    assert any("epochs" in message for message in warnings_seen)


def test_command_line_without_pass_args_is_verbatim() -> None:
    executor = CommandExecutor(["prog", "{lr}"], pass_args=False)
    assert executor.command_line({"lr": 0.5}) == ["prog", "{lr}"]
    import numpy as np

    assert CommandExecutor(["prog"]).command_line({"a": np.float64(0.5), "b": np.bool_(True)}) == [
        "prog",
        "--a",
        "0.5",
        "--b",
        "true",
    ]


def test_config_file_environment_and_workdir(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        import json, os
        from agenthpo.reporter import get_config
        print(json.dumps({
            "config": get_config(),
            "config_file": os.environ["AGENTHPO_CONFIG_FILE"],
            "metrics_file": os.environ["AGENTHPO_METRICS_FILE"],
            "trial": os.environ["AGENTHPO_TRIAL_NUMBER"],
            "unbuffered": os.environ.get("PYTHONUNBUFFERED"),
            "mine": os.environ.get("MY_VAR"),
        }))
        """,
    )
    config = {"lr": 0.001, "optimizer": "adam", "layers": 2, "wd": None, "flag": True}
    workdir = tmp_path / "runs"
    result = python(script, workdir=workdir, env={**ENV, "MY_VAR": "x"}).run(config, trial_number=7)
    assert result.status == "ok", result.stderr_tail
    seen = json.loads(result.stdout_tail)
    assert seen["config"] == config
    assert seen["trial"] == "7"
    assert seen["unbuffered"] == "1"
    assert seen["mine"] == "x"
    assert Path(seen["config_file"]) == (workdir / "trial_7" / "config.json").resolve()
    assert Path(seen["metrics_file"]) == (workdir / "trial_7" / "metrics.json").resolve()
    assert json.loads((workdir / "trial_7" / "config.json").read_text()) == config
    assert "optimizer" in (workdir / "trial_7" / "stdout.log").read_text()

    # Without a workdir, the per-trial temporary directory is removed afterwards.
    result = python(script).run(config, trial_number=8)
    temp_file = Path(json.loads(result.stdout_tail)["config_file"])
    assert temp_file.name == "config.json"
    assert not temp_file.parent.parent.exists()


def test_stale_metrics_file_is_removed_before_a_rerun(tmp_path: Path) -> None:
    workdir = tmp_path / "runs"
    (workdir / "trial_0").mkdir(parents=True)
    (workdir / "trial_0" / "metrics.json").write_text('{"acc": 1.0}')
    script = write_script(tmp_path, "print('no metrics this time')\n")
    result = python(script, workdir=workdir).run({}, trial_number=0)
    assert result.metrics == {}


def test_shell_metacharacters_reach_the_script_literally(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        import json, sys
        from agenthpo.reporter import get_config
        with open("received.json", "w") as f:
            json.dump({"argv": sys.argv[1:], "config": get_config()}, f)
        """,
    )
    nasty = {
        "a": "; rm -rf /tmp/x",
        "b": "$(touch pwned1)",
        "c": "`touch pwned2`",
        "d": "line1\nline2 && touch pwned3",
        "e": "| touch pwned4 > /dev/null",
        "f": "'\"{a}\\",
    }
    for argv_tail in ([], ["--all={a}{b}{c}{d}{e}{f}"]):
        executor = CommandExecutor([sys.executable, str(script), *argv_tail], cwd=tmp_path, env=ENV)
        result = executor.run(nasty, trial_number=0)
        assert result.status == "ok", result.stderr_tail
        received = json.loads((tmp_path / "received.json").read_text())
        assert received["config"] == nasty
        if argv_tail:
            assert received["argv"] == ["--all=" + "".join(nasty.values())]
        else:
            expected: list[str] = []
            for name, value in nasty.items():
                expected += [f"--{name}", value]
            assert received["argv"] == expected
    assert not list(tmp_path.glob("pwned*"))
    assert not list(Path.cwd().glob("pwned*"))


# --- CommandExecutor: failures --------------------------------------------------------


def test_nonzero_exit_reports_the_exception_line(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        import sys
        from agenthpo.reporter import report
        report(step=0, loss=1.0)
        print("some output")
        def train(lr):
            if lr <= 0:
                raise ValueError("lr must be positive\\n(got a negative value)")
        train(float(sys.argv[-1]))
        """,
    )
    result = python(script).run({"lr": -1.0}, trial_number=0)
    assert result.status == "failed"
    assert result.error == "ValueError: lr must be positive"
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr_tail
    assert result.metrics == {"loss": 1.0}
    assert result.stdout_tail == "some output\n"


def test_nonzero_exit_without_exception(tmp_path: Path) -> None:
    script = write_script(
        tmp_path, "import sys\nsys.stderr.write('cannot open data dir\\n')\nsys.exit(3)\n"
    )
    result = python(script).run({}, trial_number=0)
    assert result.status == "failed"
    # The program's own last word on stderr says why; the status alone does not.
    assert result.error == "cannot open data dir (exited with status 3)"
    assert result.exit_code == 3
    assert result.stderr_tail == "cannot open data dir\n"


def test_missing_script_shows_pythons_own_message(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_train.py"
    result = python(missing).run({"lr": 0.1}, trial_number=0)
    assert result.status == "failed"
    assert result.exit_code == 2
    assert result.error is not None
    assert "can't open file" in result.error, result.error
    assert str(missing) in result.error
    assert "No such file or directory" in result.error
    assert result.error.endswith("(exited with status 2)"), result.error


def test_the_last_meaningful_stderr_line_is_the_error(tmp_path: Path) -> None:
    # Decoration, progress-bar redraws, colour codes and blank lines are not the reason.
    script = write_script(
        tmp_path,
        """
        import sys
        sys.stderr.write("loading data\\n")
        sys.stderr.write("100%|####| 10/10\\rfatal: ")
        sys.stderr.write("\\x1b[31mcheckpoint dir is read-only\\x1b[0m\\n")
        sys.stderr.write("----------\\n\\n   \\n")
        sys.exit(4)
        """,
    )
    result = python(script).run({}, trial_number=0)
    assert result.error == "fatal: checkpoint dir is read-only (exited with status 4)"


def test_killed_by_signal_after_output_names_the_signal_first(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "import os, signal, sys\n"
        "sys.stderr.write('epoch 3: loss 0.52\\n'); sys.stderr.flush()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n",
    )
    result = python(script).run({}, trial_number=0)
    assert result.error == (
        "exited with status -9 (killed by signal SIGKILL); the last line on stderr:"
        " epoch 3: loss 0.52"
    )


def test_killed_by_signal(tmp_path: Path) -> None:
    script = write_script(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    result = python(script).run({}, trial_number=0)
    assert result.status == "failed"
    assert result.exit_code == -signal.SIGKILL
    assert result.error == "exited with status -9 (killed by signal SIGKILL)"


GRANDCHILD = """
import subprocess, sys, time
child = subprocess.Popen(["sleep", "60"])
print(f"grandchild {child.pid}", flush=True)
"""


def grandchild_pid(result: TrialResult) -> int:
    match = re.search(r"grandchild (\d+)", result.stdout_tail)
    assert match is not None, result.stdout_tail
    return int(match.group(1))


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        GRANDCHILD
        + """
from agenthpo.reporter import report
report(step=0, loss=1.0)
time.sleep(60)
""",
    )
    start = time.monotonic()
    result = python(script, timeout=1.0).run({}, trial_number=0)
    assert time.monotonic() - start < 10
    assert result.status == "timeout"
    assert result.error == "timed out after 1 s"
    assert result.exit_code == -signal.SIGTERM
    assert result.curve == [{"step": 0, "loss": 1.0}]
    assert wait_dead(grandchild_pid(result))


def test_timeout_escalates_to_sigkill(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ignoring SIGTERM", flush=True)
        time.sleep(60)
        """,
    )
    start = time.monotonic()
    result = python(script, timeout=0.5, kill_grace=0.5).run({}, trial_number=0)
    assert time.monotonic() - start < 10
    assert result.status == "timeout"
    assert result.exit_code == -signal.SIGKILL


def test_leftover_group_members_are_killed_after_a_normal_exit(tmp_path: Path) -> None:
    script = write_script(tmp_path, GRANDCHILD)  # exits at once, leaving `sleep 60` behind
    start = time.monotonic()
    result = python(script).run({}, trial_number=0)
    assert time.monotonic() - start < 10
    assert result.status == "ok"
    assert wait_dead(grandchild_pid(result))


def test_a_raising_on_report_stops_the_trial(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        import os, time
        from agenthpo.reporter import report
        with open("pid", "w") as f:
            f.write(str(os.getpid()))
        for step in range(1000):
            report(step=step, loss=1.0)
            time.sleep(0.05)
        """,
    )

    class Prune(Exception):
        pass

    def on_report(step: int | None, metrics: dict[str, float]) -> None:
        if step == 2:
            raise Prune

    start = time.monotonic()
    with pytest.raises(Prune):
        python(script, cwd=tmp_path).run({}, trial_number=0, on_report=on_report)
    assert time.monotonic() - start < 10
    assert wait_dead(int((tmp_path / "pid").read_text()))


def test_no_deadlock_with_much_output_on_both_pipes(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        import sys
        for i in range(20000):
            sys.stderr.write("e" * 100 + "\\n")
            sys.stdout.write("o" * 100 + "\\n")
        """,
    )
    result = python(script, timeout=30).run({}, trial_number=0)
    assert result.status == "ok"


def test_program_that_cannot_start_raises_executor_error(tmp_path: Path) -> None:
    with pytest.raises(ExecutorError, match=r"no-such-program-xyz.*not found"):
        CommandExecutor(["no-such-program-xyz", "train.py"]).run({}, trial_number=0)
    script = write_script(tmp_path, "print(1)\n", name="not_executable.py")
    with pytest.raises(ExecutorError, match="chmod"):
        CommandExecutor([str(script)]).run({}, trial_number=0)
    with pytest.raises(ExecutorError, match="working directory"):
        CommandExecutor([sys.executable], cwd=tmp_path / "missing").run({}, trial_number=0)


def test_bad_commands_are_rejected_up_front() -> None:
    with pytest.raises(ExecutorError, match="list of arguments"):
        CommandExecutor("python train.py")
    with pytest.raises(ExecutorError, match="empty"):
        CommandExecutor([])
    with pytest.raises(ExecutorError, match="timeout"):
        CommandExecutor(["python"], timeout=0)


# --- FunctionExecutor -----------------------------------------------------------------

OBJECTIVES = """
import math, os, sys, time
from agenthpo.reporter import report as global_report

def returns_float(config, report):
    for step in range(3):
        report(step=step, loss=config["x"] / (step + 1))
    return config["x"] ** 2

def returns_dict(config, report):
    report(step=0, loss=1.0, acc=0.5)
    return {"acc": 0.75, "f1": 0.5}

def returns_none(config, report):
    report(step=0, loss=1.0)
    report(loss=0.5)

def one_argument(config):
    global_report(step=0, loss=config["x"])
    return {"acc": 1.0}

def raises(config, report):
    report(step=0, loss=1.0)
    raise ValueError(f"x must be positive, got {config['x']}")

def returns_text(config, report):
    return "good"

def exits(config, report):
    sys.exit(3)

def sleeps(config, report):
    report(step=0, loss=1.0)
    time.sleep(60)

def returns_nan(config, report):
    return float("nan")

class Holder:
    @staticmethod
    def method(config, report):
        return 1.0

not_callable = 42
"""


@pytest.fixture
def objectives(tmp_path: Path) -> str:
    """Writes the objectives module under a unique name and returns that name."""
    name = f"objectives_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(OBJECTIVES)
    return name


@pytest.fixture(params=[True, False], ids=["isolated", "in_process"])
def isolate(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def function_executor(module: str, fn: str, tmp_path: Path, isolate: bool) -> FunctionExecutor:
    return FunctionExecutor(f"{module}:{fn}", search_path=tmp_path, isolate=isolate)


def test_function_returning_a_float(tmp_path: Path, objectives: str, isolate: bool) -> None:
    seen: list[tuple[int | None, dict[str, float]]] = []
    executor = function_executor(objectives, "returns_float", tmp_path, isolate)
    result = executor.run({"x": 3.0}, trial_number=0, on_report=lambda s, m: seen.append((s, m)))
    assert result.status == "ok", result.stderr_tail
    assert result.metrics == {"loss": 1.0, "value": 9.0}
    assert seen == [(0, {"loss": 3.0}), (1, {"loss": 1.5}), (2, {"loss": 1.0})]
    assert result.curve == [{"step": s, **m} for s, m in seen]
    assert (result.exit_code == 0) if isolate else (result.exit_code is None)


def test_function_returning_a_dict_or_none(tmp_path: Path, objectives: str, isolate: bool) -> None:
    result = function_executor(objectives, "returns_dict", tmp_path, isolate).run(
        {}, trial_number=0
    )
    assert result.metrics == {"loss": 1.0, "acc": 0.75, "f1": 0.5}
    result = function_executor(objectives, "returns_none", tmp_path, isolate).run(
        {}, trial_number=1
    )
    assert result.status == "ok"
    assert result.metrics == {"loss": 0.5}
    assert result.curve == [{"step": 0, "loss": 1.0}, {"loss": 0.5}]
    result = function_executor(objectives, "one_argument", tmp_path, isolate).run(
        {"x": 2.0}, trial_number=2
    )
    assert result.metrics == {"loss": 2.0, "acc": 1.0}
    result = function_executor(objectives, "Holder.method", tmp_path, isolate).run(
        {}, trial_number=3
    )
    assert result.metrics == {"value": 1.0}
    result = function_executor(objectives, "returns_nan", tmp_path, isolate).run({}, trial_number=4)
    assert result.status == "ok"
    assert math.isnan(result.metrics["value"])


def test_function_raising(tmp_path: Path, objectives: str, isolate: bool) -> None:
    result = function_executor(objectives, "raises", tmp_path, isolate).run(
        {"x": -1}, trial_number=0
    )
    assert result.status == "failed"
    assert result.error == "ValueError: x must be positive, got -1"
    assert "Traceback" in result.stderr_tail
    assert "raise ValueError" in result.stderr_tail
    assert result.metrics == {"loss": 1.0}


def test_function_bad_return_or_exit(tmp_path: Path, objectives: str, isolate: bool) -> None:
    result = function_executor(objectives, "returns_text", tmp_path, isolate).run(
        {}, trial_number=0
    )
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.startswith("TypeError: the objective returned str")
    result = function_executor(objectives, "exits", tmp_path, isolate).run({}, trial_number=1)
    assert result.status == "failed"
    assert result.error == ("exited with status 3" if isolate else "SystemExit: 3")


def test_isolated_function_timeout(tmp_path: Path, objectives: str) -> None:
    executor = FunctionExecutor(f"{objectives}:sleeps", search_path=tmp_path, timeout=1.0)
    start = time.monotonic()
    result = executor.run({}, trial_number=0)
    assert time.monotonic() - start < 10
    assert result.status == "timeout"
    assert result.curve == [{"step": 0, "loss": 1.0}]


def test_in_process_report_goes_to_the_callback(capsys: pytest.CaptureFixture[str]) -> None:
    def objective(config: dict[str, Any], report_fn: Any) -> None:
        report(step=0, loss=config["x"])  # the global agenthpo.report
        report_fn(step=1, loss=config["x"] / 2)

    seen: list[tuple[int | None, dict[str, float]]] = []
    executor = FunctionExecutor(objective)
    assert executor.isolate is False
    result = executor.run({"x": 1.0}, trial_number=0, on_report=lambda s, m: seen.append((s, m)))
    assert seen == [(0, {"loss": 1.0}), (1, {"loss": 0.5})]
    assert result.metrics == {"loss": 0.5}
    assert capsys.readouterr().out == ""


def test_in_process_on_report_exception_propagates() -> None:
    class Prune(Exception):
        pass

    def objective(config: Mapping[str, Any], report_fn: Any) -> float:
        for step in range(10):
            with contextlib.suppress(Exception):  # a careless objective swallows it
                report_fn(step=step, loss=1.0)
        return 1.0

    def on_report(step: int | None, metrics: dict[str, float]) -> None:
        if step == 3:
            raise Prune

    with pytest.raises(Prune):
        FunctionExecutor(objective).run({}, trial_number=0, on_report=on_report)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("train", "add ':'"),
        ("train.py:objective", "not the file path"),
        ("dir/train:objective", "not the file path"),
        ("a:b:c", "dotted Python names"),
        ("mod:", "dotted Python names"),
        (":fn", "dotted Python names"),
        ("no_such_module_xyz:objective", "cannot (find|import) module"),
        ("no_such_module_xyz.sub:objective", "cannot (find|import) module"),
    ],
)
def test_bad_target_strings(target: str, message: str, isolate: bool) -> None:
    with pytest.raises(ExecutorError, match=message):
        FunctionExecutor(target, isolate=isolate)


def test_bad_targets_in_process(tmp_path: Path, objectives: str) -> None:
    with pytest.raises(ExecutorError, match="has no attribute 'missing'"):
        FunctionExecutor(f"{objectives}:missing", search_path=tmp_path, isolate=False)
    with pytest.raises(ExecutorError, match="not a function"):
        FunctionExecutor(f"{objectives}:not_callable", search_path=tmp_path, isolate=False)
    broken = f"broken_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{broken}.py").write_text("import no_such_dependency_xyz\n")
    with pytest.raises(ExecutorError, match="No module named 'no_such_dependency_xyz'"):
        FunctionExecutor(f"{broken}:fn", search_path=tmp_path, isolate=False)
    with pytest.raises(ExecutorError, match="callable"):
        FunctionExecutor(42)  # type: ignore[arg-type]
    with pytest.raises(ExecutorError, match="cannot be run in a separate process"):
        FunctionExecutor(lambda config, report: 1.0, isolate=True)


def test_bad_targets_isolated_fail_the_trial(tmp_path: Path, objectives: str) -> None:
    # The parent checks that the module exists and, reading its source without running
    # it, that it defines the name; what it cannot tell shows in the trial's result.
    with pytest.raises(ExecutorError, match="defines no 'missing'"):
        FunctionExecutor(f"{objectives}:missing", search_path=tmp_path)
    dynamic = f"dynamic_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{dynamic}.py").write_text(
        "def __getattr__(name):\n    raise AttributeError(name)\n"
    )
    result = FunctionExecutor(f"{dynamic}:missing", search_path=tmp_path).run({}, trial_number=0)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.startswith("ExecutorError: module")
    assert "has no attribute 'missing'" in result.error
    broken = f"broken_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{broken}.py").write_text(
        "import no_such_dependency_xyz\ndef fn(config):\n    return 1.0\n"
    )
    result = FunctionExecutor(f"{broken}:fn", search_path=tmp_path).run({}, trial_number=1)
    assert result.status == "failed"
    assert result.error == "ModuleNotFoundError: No module named 'no_such_dependency_xyz'"


def test_isolated_target_check_does_not_run_package_code(tmp_path: Path) -> None:
    package = f"pkg_{uuid.uuid4().hex[:8]}"
    (tmp_path / package).mkdir()
    marker = tmp_path / "imported"
    (tmp_path / package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (tmp_path / package / "sub.py").write_text("def objective(config):\n    return 2.0\n")
    executor = FunctionExecutor(f"{package}.sub:objective", search_path=tmp_path)
    assert not marker.exists()
    with pytest.raises(ExecutorError, match="cannot find module"):
        FunctionExecutor(f"{package}.nope:objective", search_path=tmp_path)
    assert executor.run({}, trial_number=0).metrics == {"value": 2.0}


def test_executors_satisfy_the_protocol(tmp_path: Path, objectives: str) -> None:
    executors: list[Executor] = [
        CommandExecutor([sys.executable, "-c", "pass"]),
        FunctionExecutor(f"{objectives}:returns_none", search_path=tmp_path),
    ]
    callback: ReportCallback = lambda step, metrics: None  # noqa: E731
    for executor in executors:
        assert isinstance(executor, Executor)
        assert executor.run({}, trial_number=0, on_report=callback).ok


def test_argparse_usage_error_becomes_the_error_line(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        import argparse
        parser = argparse.ArgumentParser(prog="train.py")
        parser.add_argument("--optimizer", choices=["adam", "sgd"])
        parser.parse_args()
        """,
    )
    result = python(script).run({"optimizer": "AdamW"}, trial_number=0)
    assert result.status == "failed"
    assert result.exit_code == 2
    assert result.error is not None
    assert result.error.startswith("train.py: error: argument --optimizer: invalid choice: 'AdamW'")


def test_a_timeout_cut_to_the_time_left_reads_as_a_round_number(tmp_path: Path) -> None:
    # The study's time limit cuts a trial's timeout to the seconds left (5.82881 s): the
    # stored error, which `show` and the LLM read, said every digit.
    script = tmp_path / "sleepy.py"
    script.write_text("import time\ntime.sleep(60)\n")
    result = python(script, timeout=1.54321).run({}, trial_number=0)
    assert result.status == "timeout"
    assert result.error == "timed out after 1.5 s"
