"""The executor's fixes for the probe of command and function trials (probe-exec): a
returned number is the objective's value, inactive conditional placeholders are left out,
a function runs in its task's folder, a burst of reports reaches ``on_report`` whole, report
lines mid-line or on stderr, function-target hints, and the wording of a few messages.

Trials run as real subprocesses wherever the behaviour is about subprocesses.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agenthpo.errors import ExecutorError
from agenthpo.executor import CommandExecutor, FunctionExecutor
from agenthpo.executor._command import _failure_line

ROOT = str(Path(__file__).resolve().parents[1])
# Scripts that import agenthpo find it even when it is not installed.
ENV = {"PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}

pytestmark = pytest.mark.timeout(90)


def write(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body))
    return path


def python(script: Path, **kwargs: object) -> CommandExecutor:
    return CommandExecutor([sys.executable, str(script)], env=ENV, **kwargs)  # type: ignore[arg-type]


# --- 1. a returned number is the objective's value -------------------------------------

CURVE_THEN_NUMBER = """
def objective(config, report):
    for step in range(3):
        report(step=step, val_accuracy=0.1 * step, loss=1.0 - 0.1 * step)
    return 0.95
"""


def _curve_then_number(config: dict[str, float], report: object) -> float:
    for step in range(3):
        report(step=step, val_accuracy=0.1 * step)  # type: ignore[operator]
    return 0.95


def test_a_returned_number_is_the_metric_named_in_process() -> None:
    executor = FunctionExecutor(_curve_then_number, isolate=False, metric="val_accuracy")
    result = executor.run({}, trial_number=0)
    assert result.ok
    assert result.metrics == {"val_accuracy": 0.95}  # the return, not the last report 0.2
    assert len(result.curve) == 3


def test_a_returned_number_is_the_metric_named_in_a_child(tmp_path: Path) -> None:
    write(tmp_path / "curve_mod.py", CURVE_THEN_NUMBER)
    executor = FunctionExecutor(
        "curve_mod:objective", search_path=tmp_path, metric="val_accuracy", timeout=60
    )
    result = executor.run({}, trial_number=0)
    assert result.ok, result.error
    assert result.metrics["val_accuracy"] == 0.95
    assert "value" not in result.metrics
    assert [p["val_accuracy"] for p in result.curve] == pytest.approx([0.0, 0.1, 0.2])


def test_a_returned_number_is_value_by_default(tmp_path: Path) -> None:
    write(tmp_path / "curve_mod2.py", CURVE_THEN_NUMBER)
    result = FunctionExecutor("curve_mod2:objective", search_path=tmp_path).run({}, trial_number=0)
    assert result.metrics["value"] == 0.95
    assert result.metrics["val_accuracy"] == pytest.approx(0.2)


def test_the_metric_must_be_a_name() -> None:
    with pytest.raises(ExecutorError, match="metric must be a non-empty metric name"):
        FunctionExecutor(_curve_then_number, isolate=False, metric="")


# --- 2. an inactive conditional parameter's element is left out ------------------------


def test_an_element_for_an_inactive_parameter_is_left_out() -> None:
    argv = ["prog", "--optimizer={optimizer}", "--momentum={momentum}", "-c", "{1}", "${OUT}"]
    executor = CommandExecutor(argv, optional=["momentum"])
    assert executor.command_line({"optimizer": "adam"}) == [
        "prog",
        "--optimizer=adam",
        "-c",
        "{1}",  # not a parameter's name: passed as written
        "${OUT}",  # no optional parameter: passed as written (review)
    ]
    assert executor.command_line({"optimizer": "sgd", "momentum": 0.9}) == [
        "prog",
        "--optimizer=sgd",
        "--momentum=0.9",
        "-c",
        "{1}",
        "${OUT}",
    ]


def test_a_program_never_receives_an_unfilled_placeholder(tmp_path: Path) -> None:
    script = write(
        tmp_path / "train.py",
        """
        import argparse
        from agenthpo.reporter import report
        parser = argparse.ArgumentParser()
        parser.add_argument("--optimizer")
        parser.add_argument("--momentum", type=float, default=0.0)
        args = parser.parse_args()
        report(acc=args.momentum)
        """,
    )
    executor = CommandExecutor(
        [sys.executable, str(script), "--optimizer={optimizer}", "--momentum={momentum}"],
        env=ENV,
        optional=["momentum"],
    )
    adam = executor.run({"optimizer": "adam"}, trial_number=0)
    assert adam.ok, adam.error
    assert adam.metrics == {"acc": 0.0}
    sgd = executor.run({"optimizer": "sgd", "momentum": 0.5}, trial_number=1)
    assert sgd.metrics == {"acc": 0.5}


# --- 3. a step too large to store ---------------------------------------------------------


def test_a_step_too_large_to_store_never_reaches_on_report(tmp_path: Path) -> None:
    script = write(
        tmp_path / "bigstep.py",
        """
        from agenthpo.reporter import report
        report(step=0, acc=0.1)
        print('@@agenthpo {"step": 1e19, "metrics": {"acc": 0.3}}')
        print('@@agenthpo {"step": 100000000000000000000, "metrics": {"acc": 0.4}}')
        try:
            report(step=10**20, acc=0.5)
        except ValueError as exc:
            print("refused:", exc)
        report(acc=0.6)
        """,
    )
    steps: list[int | None] = []
    result = python(script).run(
        {}, trial_number=0, on_report=lambda step, metrics: steps.append(step)
    )
    assert result.ok
    assert steps == [0, None]  # a storage write of step 1e19 crashed the tuner
    assert result.metrics == {"acc": 0.6}
    assert len(result.problems) == 2
    assert all("step is above 2**53" in p for p in result.problems)
    assert "refused: report(): step must be at most 2**53" in result.stdout_tail


# --- 4. a function runs in the folder it is given -----------------------------------------


def test_an_isolated_function_runs_in_its_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_dir = tmp_path / "task"
    write(
        task_dir / "obj_fcwd.py",
        """
        import os
        def objective(config):
            return {"acc": float(open("data.txt").read()), "cwd": len(os.getcwd())}
        """,
    )
    (task_dir / "data.txt").write_text("0.75")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    # No search_path: the module is found in the child's folder, as `python -m` finds it.
    executor = FunctionExecutor("obj_fcwd:objective", cwd=task_dir)
    result = executor.run({}, trial_number=0)
    assert result.ok, result.stderr_tail
    assert result.metrics["acc"] == 0.75
    assert result.metrics["cwd"] == len(str(task_dir.resolve()))


def test_a_missing_cwd_is_one_clear_error(tmp_path: Path) -> None:
    write(tmp_path / "obj_nocwd.py", "def objective(config):\n    return 1.0\n")
    with pytest.raises(ExecutorError, match=r"working directory .* does not exist"):
        FunctionExecutor("obj_nocwd:objective", search_path=tmp_path, cwd=tmp_path / "nope")


# --- 5. a burst of reports ------------------------------------------------------------------


def test_a_burst_of_reports_reaches_on_report_whole(
    tmp_path: Path, warnings_seen: list[str]
) -> None:
    n = 2000
    script = write(
        tmp_path / "burst.py",
        f"""
        from agenthpo.reporter import report
        for i in range({n}):
            report(step=i, acc=i / {n})
        report(acc=1.0)
        """,
    )
    seen: list[int | None] = []

    def slow_storage(step: int | None, metrics: dict[str, float]) -> None:
        time.sleep(0.002)  # a storage write per step, as trial.report does
        seen.append(step)

    result = python(script).run({}, trial_number=0, on_report=slow_storage)
    assert result.ok
    assert seen == [*range(n), None]
    assert result.metrics == {"acc": 1.0}
    assert not [w for w in warnings_seen if "holds its stdout open" in w]


# --- 7. report lines mid-line or on stderr --------------------------------------------------


def test_a_report_after_text_without_a_line_end_is_found(tmp_path: Path) -> None:
    script = write(
        tmp_path / "midline.py",
        """
        from agenthpo.reporter import report
        print("epoch 3 done. ", end="")
        report(step=3, val_accuracy=0.7)
        print("progress 50%\\r", end="")
        report(val_accuracy=0.8)
        """,
    )
    result = python(script).run({}, trial_number=0)
    assert result.metrics == {"val_accuracy": 0.8}
    assert result.curve == [{"step": 3, "val_accuracy": 0.7}, {"val_accuracy": 0.8}]
    assert "epoch 3 done." in result.stdout_tail
    assert "@@agenthpo" not in result.stdout_tail
    assert not result.problems


def test_a_report_line_on_stderr_is_named_as_the_problem(
    tmp_path: Path, warnings_seen: list[str]
) -> None:
    script = write(
        tmp_path / "stderr_report.py",
        """
        import sys
        for step in range(3):
            print('@@agenthpo {"step": %d, "metrics": {"acc": 0.5}}' % step, file=sys.stderr)
        """,
    )
    result = python(script).run({}, trial_number=0)
    assert result.metrics == {}
    assert len(result.problems) == 1
    assert "printed to stderr" in result.problems[0]
    assert "report() lines go to stdout" in result.problems[0]
    assert sum("printed to stderr" in w for w in warnings_seen) == 1


# --- 9. function-target hints and a misspelt function name ----------------------------------


def test_a_file_path_target_suggests_the_module_name() -> None:
    with pytest.raises(ExecutorError) as caught:
        FunctionExecutor("obj_fpath.py:objective")
    message = str(caught.value)
    assert "write 'obj_fpath:objective'" in message
    assert "beside the task file" in message


def test_a_missing_module_hint_speaks_to_task_files(tmp_path: Path) -> None:
    with pytest.raises(ExecutorError, match="beside the task file"):
        FunctionExecutor("obj_nosuchmodule_xyz:objective", search_path=tmp_path)


def test_a_misspelt_function_is_refused_up_front_without_importing(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    write(
        tmp_path / "obj_fnoattr.py",
        f"""
        open({str(marker)!r}, "w").close()  # importing would leave this file
        def objective(config):
            return 1.0
        """,
    )
    with pytest.raises(ExecutorError) as caught:
        FunctionExecutor("obj_fnoattr:objectiv", search_path=tmp_path)
    message = str(caught.value)
    assert "defines no 'objectiv'" in message
    assert "did you mean 'objective'?" in message
    assert not marker.exists()


@pytest.mark.parametrize(
    "source",
    [
        "def __getattr__(name):\n    return lambda config: 1.0\n",
        "from os.path import *\n",
        "import sys\nsetattr(sys.modules[__name__], 'objectiv', lambda config: 1.0)\n",
        "try:\n    from fast import objectiv\nexcept ImportError:\n    objectiv = None\n",
    ],
)
def test_a_name_the_module_may_define_is_not_refused(tmp_path: Path, source: str) -> None:
    name = f"obj_maybe_{abs(hash(source)) % 10**8}"
    write(tmp_path / f"{name}.py", source)
    FunctionExecutor(f"{name}:objectiv", search_path=tmp_path)  # no error up front


# --- 11. the metrics file's dropped items ---------------------------------------------------


def test_a_dropped_metrics_file_item_names_the_metrics_file(tmp_path: Path) -> None:
    script = write(
        tmp_path / "mfile.py",
        """
        import json, os
        with open(os.environ["AGENTHPO_METRICS_FILE"], "w") as f:
            json.dump({"acc": 0.5, "note": "hi"}, f)
        """,
    )
    result = python(script).run({}, trial_number=0)
    assert result.metrics == {"acc": 0.5}
    assert len(result.problems) == 1
    assert "from the metrics file $AGENTHPO_METRICS_FILE" in result.problems[0]
    assert "return value" not in result.problems[0]


# --- 12. cosmetics --------------------------------------------------------------------------


def test_colour_codes_are_stripped_from_the_exception_line() -> None:
    stderr = "Traceback (most recent call last):\n  x\nRuntimeError: caf\x1b[31mred\x1b[0m\n"
    assert _failure_line(stderr, 1) == "RuntimeError: cafred"
    assert _failure_line("\x1b[1mValueError: bad lr\x1b[0m\n", 1) == "ValueError: bad lr"


def test_a_bare_program_name_is_looked_up_on_path(tmp_path: Path) -> None:
    with pytest.raises(ExecutorError) as caught:
        CommandExecutor(["pythn3-no-such-xyz", "train.py"], cwd=tmp_path).run({}, trial_number=0)
    message = str(caught.value)
    assert "'pythn3-no-such-xyz' not found on PATH" in message
    assert "relative to the working directory" not in message
    with pytest.raises(ExecutorError, match="relative to the working directory"):
        CommandExecutor(["./missing.sh"], cwd=tmp_path).run({}, trial_number=0)


def test_a_string_value_is_one_problem_and_one_warning(
    tmp_path: Path, warnings_seen: list[str]
) -> None:
    script = write(
        tmp_path / "strval.py",
        """print('@@agenthpo {"step": 1, "metrics": {"acc": "high"}}')\n""",
    )
    result = python(script).run({}, trial_number=0)
    assert len(result.problems) == 1
    assert "Dropped metric 'acc': its value 'high' is not a number" in result.problems[0]
    assert len([w for w in warnings_seen if "'high'" in w]) == 1
