"""How a training script talks to the tuner.

A script run by AgentHPO reports metrics with :func:`report`, which prints one tagged JSON
line on stdout (``@@agenthpo {"step": 3, "metrics": {"val_accuracy": 0.91}}``). The executor
reads those lines live, so the tuner sees the learning curve while the script runs. The
script reads its configuration from its command-line arguments or with :func:`get_config`.
Inside an in-process objective (see ``FunctionExecutor(isolate=False)``), :func:`report`
calls the active callback instead of printing.

This module uses the standard library only, so that importing it costs nothing.

Example:
    >>> from agenthpo.reporter import report
    >>> report(step=1, loss=0.5)
    @@agenthpo {"step": 1, "metrics": {"loss": 0.5}}
    >>> report(val_accuracy=0.91)
    @@agenthpo {"step": null, "metrics": {"val_accuracy": 0.91}}
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from agenthpo.errors import ExecutorError

__all__ = [
    "CONFIG_ENV",
    "METRICS_ENV",
    "REPORT_PREFIX",
    "TRIAL_ENV",
    "Report",
    "active_reporter",
    "check_report_line",
    "get_config",
    "parse_report_line",
    "report",
]

_logger = logging.getLogger("agenthpo")

REPORT_PREFIX = "@@agenthpo "
"""The start of every report line on a script's stdout."""

CONFIG_ENV = "AGENTHPO_CONFIG_FILE"
"""Environment variable holding the path of a JSON file with the trial's configuration."""

METRICS_ENV = "AGENTHPO_METRICS_FILE"
"""Environment variable holding a path where a script may write a JSON object of final
metrics; they override the reported values."""

TRIAL_ENV = "AGENTHPO_TRIAL_NUMBER"
"""Environment variable holding the trial number."""

_MAX_STEP = 2**53
"""The largest step a report may give: a larger one cannot be stored (a database integer,
a float in JSON) without being cut or refused, so the report is refused instead."""

_ReportCallback = Callable[[int | None, dict[str, float]], None]

_active: ContextVar[_ReportCallback | None] = ContextVar("agenthpo_active_reporter", default=None)


@dataclass(frozen=True)
class Report:
    """One parsed report: the metrics of one step, or final metrics when ``step`` is None.

    Example:
        >>> Report(step=2, metrics={"loss": 0.3}).metrics["loss"]
        0.3
    """

    step: int | None
    metrics: dict[str, float]


def _coerce_metric(name: str, value: Any) -> float:
    """Converts one metric value passed to :func:`report` to a float, or raises TypeError."""
    if isinstance(value, (bool, str, bytes)) or value is None:
        raise TypeError(
            f"report(): metric {name!r} must be a number, got {type(value).__name__} {value!r}"
        )
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(
            f"report(): metric {name!r} must be a number, got {type(value).__name__} {value!r}"
        ) from exc


def _coerce_step(step: Any) -> int | None:
    if step is None:
        return None
    if isinstance(step, bool):
        raise TypeError(f"report(): step must be an int or None, got {step!r}")
    try:
        index = step.__index__()  # ints and numpy integers
    except AttributeError:
        raise TypeError(
            f"report(): step must be an int or None, got {type(step).__name__} {step!r}"
        ) from None
    if not isinstance(index, int) or index < 0:
        raise ValueError(f"report(): step must be >= 0, got {step!r}")
    if index > _MAX_STEP:
        raise ValueError(
            f"report(): step must be at most 2**53, got {step!r}; report the epoch or"
            " iteration number"
        )
    return index


def report(step: int | None = None, **metrics: float) -> None:
    """Reports metrics of the running trial to the tuner.

    Call it after each epoch with ``step`` set to see a learning curve (and to let the tuner
    stop a hopeless trial early), and once at the end with ``step=None`` for final metrics.
    The tuner takes the last reported value of each metric as the trial's result, unless
    the script writes a metrics file (see :data:`METRICS_ENV`).

    Outside an in-process objective this prints one line on stdout and flushes it; the
    script's stdout must therefore reach the tuner (do not redirect ``sys.stdout``).

    Args:
        step: The step (epoch, iteration) the metrics belong to, a non-negative int; None
            for final or summary metrics.
        **metrics: Metric names and their values: ints, floats or numpy scalars. NaN and
            infinity are allowed (a diverged run).

    Raises:
        TypeError: A value is not a number, or ``step`` is not an int.
        ValueError: No metrics were given, or ``step`` is negative.

    Example:
        >>> report(step=3, val_accuracy=0.91, loss=0.3)
        @@agenthpo {"step": 3, "metrics": {"val_accuracy": 0.91, "loss": 0.3}}
    """
    checked_step = _coerce_step(step)
    if not metrics:
        raise ValueError("report() needs at least one metric, e.g. report(step=3, loss=0.25)")
    values = {name: _coerce_metric(name, value) for name, value in metrics.items()}
    callback = _active.get()
    if callback is not None:
        callback(checked_step, values)
        return
    line = REPORT_PREFIX + json.dumps({"step": checked_step, "metrics": values}, allow_nan=True)
    stream = sys.stdout
    if stream is None:  # pragma: no cover - pythonw and similar
        return
    stream.write(line + "\n")
    stream.flush()


@contextmanager
def active_reporter(callback: _ReportCallback) -> Iterator[None]:
    """Routes :func:`report` calls in this context to ``callback`` instead of stdout.

    The function executor uses it to run an objective in-process. The routing is held in a
    :class:`contextvars.ContextVar`, so it applies to the current thread (and asyncio task)
    only; threads the objective starts itself print instead.

    Args:
        callback: Called as ``callback(step, metrics)`` for each report.

    Example:
        >>> seen = []
        >>> with active_reporter(lambda step, metrics: seen.append((step, metrics))):
        ...     report(step=0, loss=1.0)
        >>> seen
        [(0, {'loss': 1.0})]
    """
    token = _active.set(callback)
    try:
        yield
    finally:
        _active.reset(token)


def get_config(default: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Returns the configuration (hyperparameters) of the trial this script runs.

    Reads the JSON file named by the environment variable :data:`CONFIG_ENV`, which the
    command executor sets for every trial.

    Args:
        default: Returned (as a copy) when the script is not run by AgentHPO, so that it can
            also run on its own. Without it, that case is an error.

    Returns:
        The parameter names and values of this trial.

    Raises:
        ExecutorError: The script was not started by AgentHPO (and no default was given),
            or the file is missing or is not a JSON object.

    Example:
        >>> get_config(default={"lr": 0.01})["lr"]
        0.01
    """
    path = os.environ.get(CONFIG_ENV)
    if not path:
        if default is not None:
            return dict(default)
        raise ExecutorError(
            f"get_config(): the environment variable {CONFIG_ENV} is not set, so this script "
            "was not started by AgentHPO; run it through agenthpo (a command task), or pass "
            "get_config(default={...}) to run it on its own"
        )
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except OSError as exc:
        raise ExecutorError(
            f"get_config(): cannot read the trial config file {path!r} ({exc.strerror}); "
            "it is written by AgentHPO before the script starts: do not delete the trial "
            "directory while a trial runs"
        ) from exc
    except ValueError as exc:
        raise ExecutorError(
            f"get_config(): the trial config file {path!r} is not valid JSON ({exc})"
        ) from exc
    if not isinstance(data, dict):
        raise ExecutorError(
            f"get_config(): the trial config file {path!r} holds a JSON "
            f"{type(data).__name__}, expected an object of parameter names and values"
        )
    return data


def _json_number(name: str, value: Any, line: str, problems: list[str]) -> float | None:
    """Returns a parsed JSON metric value as float, or None (with a problem) if not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(
            f"Dropped metric {name!r:.80}: its value {value!r:.80} is not a number (in report"
            f" line {line!r:.200})"
        )
        return None
    try:
        return float(value)
    except OverflowError:
        problems.append(f"Dropped metric {name!r:.80}: its value is too large (in {line!r:.200})")
        return None


def _parse_step(value: Any) -> tuple[bool, int | None]:
    """Returns (valid, step); step None means a final report. Integral floats are accepted;
    steps above :data:`_MAX_STEP` are not."""
    if value is None:
        return True, None
    if isinstance(value, bool):
        return False, None
    if isinstance(value, int):
        return 0 <= value <= _MAX_STEP, value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and value >= 0:
        return value <= _MAX_STEP, int(value)
    return False, None


def parse_report_line(line: str) -> Report | None:
    """Parses one line of a script's stdout.

    Never raises: a line without the :data:`REPORT_PREFIX` gives None silently; a tagged
    line that is malformed gives None and a logged warning. Metric values that are not
    numbers are dropped with a warning; NaN and infinity are kept.

    Args:
        line: One line, with or without its line ending.

    Returns:
        The report, or None if the line is not a (valid) report.

    Example:
        >>> parse_report_line('@@agenthpo {"step": 2, "metrics": {"loss": NaN}}')
        Report(step=2, metrics={'loss': nan})
        >>> parse_report_line("epoch 2: loss nan") is None
        True
    """
    report, problems = check_report_line(line)
    for problem in problems:
        _logger.warning("%s", problem)
    return report


def check_report_line(line: str) -> tuple[Report | None, list[str]]:
    """Like :func:`parse_report_line`, but returns what was wrong with the line (one
    message per problem) instead of logging it.

    Example:
        >>> check_report_line("@@agenthpo {broken")[1][0][:44]
        'Ignored a report line that is not valid JSON'
    """
    problems: list[str] = []
    tag = REPORT_PREFIX.rstrip()
    if not line.startswith(tag):
        return None, problems
    text = line.rstrip("\r\n")
    if not text.startswith(REPORT_PREFIX):
        problems.append(f"Ignored a malformed report line (no space after the tag): {text!r:.200}")
        return None, problems
    try:
        payload = json.loads(text[len(REPORT_PREFIX) :])
    except (ValueError, RecursionError) as exc:
        problems.append(
            f"Ignored a report line that is not valid JSON ({str(exc)[:100]}): {text!r:.200}"
        )
        return None, problems
    if not isinstance(payload, dict) or not isinstance(payload.get("metrics"), dict):
        problems.append(
            f'Ignored a report line without a "metrics" object: {text!r:.200}'
            ' (expected {"step": <int or null>, "metrics": {"name": <number>, ...}})'
        )
        return None, problems
    valid, step = _parse_step(payload.get("step"))
    if not valid:
        if step is not None and step > _MAX_STEP:
            problems.append(
                f"Ignored a report line whose step is above 2**53 (too large to store; report"
                f" the epoch or iteration number): {text!r:.200}"
            )
        else:
            problems.append(
                f"Ignored a report line whose step is not a non-negative int: {text!r:.200}"
            )
        return None, problems
    metrics: dict[str, float] = {}
    for name, value in payload["metrics"].items():
        if name == "step":
            problems.append(f'Dropped a metric named "step" (reserved) in {text!r:.200}')
            continue
        number = _json_number(name, value, text, problems)
        if number is not None:
            metrics[name] = number
    if not metrics:
        if problems:
            # The values dropped above are why: one problem for the line, not two.
            problems[:] = [f"Ignored a report line with no numeric metrics: {problems[0]}"]
        else:
            problems.append(f"Ignored a report line with no numeric metrics: {text!r:.200}")
        return None, problems
    return Report(step=step, metrics=metrics), problems
