from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path

import pytest

from agenthpo.errors import ExecutorError
from agenthpo.reporter import (
    CONFIG_ENV,
    REPORT_PREFIX,
    Report,
    active_reporter,
    check_report_line,
    get_config,
    parse_report_line,
    report,
)

# --- report() -------------------------------------------------------------------------


def test_report_prints_one_tagged_line(capsys: pytest.CaptureFixture[str]) -> None:
    report(step=3, val_accuracy=0.91, loss=0.3)
    out = capsys.readouterr().out
    assert out == REPORT_PREFIX + '{"step": 3, "metrics": {"val_accuracy": 0.91, "loss": 0.3}}\n'
    assert parse_report_line(out) == Report(step=3, metrics={"val_accuracy": 0.91, "loss": 0.3})


def test_report_final_has_null_step(capsys: pytest.CaptureFixture[str]) -> None:
    report(accuracy=1)
    parsed = parse_report_line(capsys.readouterr().out)
    assert parsed == Report(step=None, metrics={"accuracy": 1.0})
    assert isinstance(parsed.metrics["accuracy"], float)


def test_report_nan_and_inf_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    report(step=0, loss=float("nan"), grad=float("inf"), low=float("-inf"))
    out = capsys.readouterr().out
    assert "NaN" in out
    assert "\n" not in out.rstrip("\n")
    parsed = parse_report_line(out)
    assert parsed is not None
    assert math.isnan(parsed.metrics["loss"])
    assert parsed.metrics["grad"] == math.inf
    assert parsed.metrics["low"] == -math.inf


def test_report_metric_name_with_newline_stays_on_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report(**{"odd\nname": 1.0})
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert parse_report_line(out) == Report(step=None, metrics={"odd\nname": 1.0})


def test_report_accepts_numpy_scalars(capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    report(step=np.int64(2), a=np.float32(0.5), b=np.int64(7), c=np.float64(0.25))
    parsed = parse_report_line(capsys.readouterr().out)
    assert parsed == Report(step=2, metrics={"a": 0.5, "b": 7.0, "c": 0.25})


@pytest.mark.parametrize("value", [True, "0.5", None, [1.0], b"1"])
def test_report_rejects_non_numbers(value: object) -> None:
    with pytest.raises(TypeError, match="metric 'loss' must be a number"):
        report(step=1, loss=value)  # type: ignore[arg-type]


def test_report_rejects_bad_steps_and_empty_reports() -> None:
    with pytest.raises(ValueError, match="at least one metric"):
        report(step=1)
    with pytest.raises(ValueError, match=">= 0"):
        report(step=-1, loss=1.0)
    with pytest.raises(TypeError, match="step"):
        report(step=True, loss=1.0)
    with pytest.raises(TypeError, match="step"):
        report(step=1.5, loss=1.0)  # type: ignore[arg-type]


def test_active_reporter_routes_reports_and_restores(capsys: pytest.CaptureFixture[str]) -> None:
    outer: list[tuple[int | None, dict[str, float]]] = []
    inner: list[tuple[int | None, dict[str, float]]] = []
    with active_reporter(lambda step, metrics: outer.append((step, metrics))):
        report(step=0, loss=1.0)
        with active_reporter(lambda step, metrics: inner.append((step, metrics))):
            report(loss=0.5)
        report(step=1, loss=0.25)
    assert outer == [(0, {"loss": 1.0}), (1, {"loss": 0.25})]
    assert inner == [(None, {"loss": 0.5})]
    assert capsys.readouterr().out == ""
    report(loss=2.0)
    assert capsys.readouterr().out.startswith(REPORT_PREFIX)


def test_active_reporter_is_reset_after_an_exception(capsys: pytest.CaptureFixture[str]) -> None:
    def callback(step: int | None, metrics: dict[str, float]) -> None:
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"), active_reporter(callback):
        report(loss=1.0)
    report(loss=1.0)
    assert capsys.readouterr().out.startswith(REPORT_PREFIX)


# --- parse_report_line() --------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    ["", "\n", "epoch 1: loss 0.3", "  @@agenthpo {}", '{"metrics": {"a": 1}}', "@@"],
)
def test_parse_ignores_plain_lines_silently(line: str, warnings_seen: list[str]) -> None:
    assert parse_report_line(line) is None
    assert warnings_seen == []


@pytest.mark.parametrize(
    "line",
    [
        "@@agenthpo {not json",
        "@@agenthpo []",
        "@@agenthpo ",
        '@@agenthpo {"step": 1}',
        '@@agenthpo {"metrics": [1, 2]}',
        '@@agenthpo {"step": -1, "metrics": {"a": 1}}',
        '@@agenthpo {"step": "3", "metrics": {"a": 1}}',
        '@@agenthpo {"step": true, "metrics": {"a": 1}}',
        '@@agenthpo {"step": 1.5, "metrics": {"a": 1}}',
        '@@agenthpo {"metrics": {"a": "high"}}',
        '@@agenthpo {"metrics": {}}',
        '@@agenthpo{"metrics": {"a": 1}}',
        "@@agenthpo " + "[" * 100_000,
    ],
)
def test_parse_malformed_tagged_lines_warn_and_return_none(
    line: str, warnings_seen: list[str]
) -> None:
    assert parse_report_line(line) is None
    assert len(warnings_seen) >= 1


def test_parse_drops_non_numeric_values_but_keeps_the_rest(warnings_seen: list[str]) -> None:
    line = (
        '@@agenthpo {"step": 2, "metrics": {"a": 0.5, "b": "x", "c": true, "d": null, '
        '"e": [1], "f": 3, "step": 4, "g": 1' + "0" * 400 + "}}\r\n"
    )
    assert parse_report_line(line) == Report(step=2, metrics={"a": 0.5, "f": 3.0})
    dropped = " ".join(warnings_seen)
    for name in ("'b'", "'c'", "'d'", "'e'", '"step"', "'g'"):
        assert name in dropped


def test_parse_accepts_integral_float_steps_and_missing_step() -> None:
    assert parse_report_line('@@agenthpo {"step": 3.0, "metrics": {"a": 1}}') == Report(
        step=3, metrics={"a": 1.0}
    )
    assert parse_report_line('@@agenthpo {"metrics": {"a": -Infinity}}') == Report(
        step=None, metrics={"a": -math.inf}
    )


@pytest.mark.parametrize("step", ["100000000000000000000", "1e19", "9007199254740993"])
def test_parse_refuses_steps_above_2_to_the_53(step: str, warnings_seen: list[str]) -> None:
    """A step too large to store was passed on and crashed the tuner's storage write."""
    line = '@@agenthpo {"step": ' + step + ', "metrics": {"a": 0.5}}'
    report_, problems = check_report_line(line)
    assert report_ is None
    assert len(problems) == 1
    assert "step is above 2**53" in problems[0]


def test_parse_accepts_a_step_of_2_to_the_53() -> None:
    line = '@@agenthpo {"step": 9007199254740992, "metrics": {"a": 0.5}}'
    assert check_report_line(line) == (Report(step=2**53, metrics={"a": 0.5}), [])


def test_report_refuses_steps_above_2_to_the_53(capsys: pytest.CaptureFixture[str]) -> None:
    for step in (2**53 + 1, 10**20):
        with pytest.raises(ValueError, match=r"step must be at most 2\*\*53"):
            report(step=step, a=1.0)
    assert capsys.readouterr().out == ""
    report(step=2**53, a=1.0)
    assert '"step": 9007199254740992' in capsys.readouterr().out


def test_a_string_value_is_one_problem() -> None:
    report_, problems = check_report_line('@@agenthpo {"step": 1, "metrics": {"acc": "high"}}')
    assert report_ is None
    assert len(problems) == 1
    assert problems[0].startswith("Ignored a report line with no numeric metrics: Dropped")


# --- get_config() ---------------------------------------------------------------------


def test_get_config_reads_the_trial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"lr": 0.001, "optimizer": "adam", "layers": 2}))
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert get_config() == {"lr": 0.001, "optimizer": "adam", "layers": 2}
    assert get_config(default={"lr": 1.0}) == {"lr": 0.001, "optimizer": "adam", "layers": 2}


def test_get_config_outside_agenthpo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    with pytest.raises(ExecutorError, match="not started by AgentHPO"):
        get_config()
    default = {"lr": 0.1}
    config = get_config(default=default)
    assert config == default
    assert config is not default


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("{oops", "not valid JSON"), ("[1, 2]", "expected an object")],
)
def test_get_config_bad_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None, message: str
) -> None:
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv(CONFIG_ENV, str(path))
    with pytest.raises(ExecutorError, match=message):
        get_config()


# --- import cost ------------------------------------------------------------------------


def test_reporter_imports_only_the_standard_library() -> None:
    import agenthpo.reporter as module

    tree = ast.parse(Path(module.__file__ or "").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or name in {"__future__", "agenthpo.errors"}
