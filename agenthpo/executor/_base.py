"""What every executor returns, and the protocol it implements.

Example:
    >>> from agenthpo.executor import TrialResult
    >>> result = TrialResult(status="ok", metrics={"val_accuracy": 0.9})
    >>> result.ok, result.metrics["val_accuracy"]
    (True, 0.9)
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from agenthpo._text import one_line

__all__ = ["MAX_CURVE_POINTS", "TAIL_CHARS", "Executor", "ReportCallback", "TrialResult"]

_logger = logging.getLogger("agenthpo")

StartCallback = Callable[[int], None]
ReportCallback = Callable[[int | None, dict[str, float]], None]
"""Called as ``callback(step, metrics)`` for each report of a running trial; ``step`` is None
for a final report. If it raises, the executor stops the trial and ``run`` re-raises the
exception (the tuner raises ``optuna.TrialPruned`` there to prune)."""

TAIL_CHARS = 4000
"""How many trailing characters of stdout and stderr a result keeps."""

MAX_CURVE_POINTS = 10_000
"""How many reports a result's curve keeps; later ones still update the final metrics."""

_MAX_ERROR_CHARS = 500


@dataclass
class TrialResult:
    """The outcome of one trial.

    Attributes:
        status: ``"ok"`` if the trial finished normally, ``"failed"`` if it raised or exited
            with a non-zero status, ``"timeout"`` if it was stopped at its time limit.
        metrics: Final metrics: the last reported value of each metric, overridden by the
            metrics file or the function's return value, if any. Whether the objective
            metric is among them is for the caller to check.
        curve: Every report in order, each ``{"step": s, **metrics}`` (no ``"step"`` key for
            final reports); at most :data:`MAX_CURVE_POINTS` entries.
        error: One readable line when not ok, e.g. ``"ValueError: lr must be positive"``.
        exit_code: The process exit status (negative: killed by that signal); None for
            in-process functions.
        stdout_tail: The last characters of stdout, report lines excluded.
        stderr_tail: The last characters of stderr; for in-process functions, the traceback.
        duration_s: Wall-clock seconds the trial ran.

    Example:
        >>> TrialResult(status="failed", error="ValueError: bad lr").ok
        False
    """

    status: Literal["ok", "failed", "timeout"]
    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None
    exit_code: int | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the trial finished normally."""
        return self.status == "ok"


@runtime_checkable
class Executor(Protocol):
    """Runs one trial of a configuration and returns its result.

    Implementations must not raise for a trial that fails (that is a result with status
    ``"failed"``); they raise :class:`~agenthpo.errors.ExecutorError` only when no trial can
    start at all (missing program, unimportable function), and re-raise what ``on_report``
    raised.
    """

    def run(
        self,
        config: Mapping[str, Any],
        *,
        trial_number: int,
        on_report: ReportCallback | None = None,
        on_start: StartCallback | None = None,
        timeout: float | None = None,
    ) -> TrialResult:
        """Runs the trial.

        Args:
            config: Parameter names and values.
            trial_number: The trial's number, used to name its files.
            on_report: Called for each report as it arrives.
            on_start: Called with the process id of a trial run in a child process.
            timeout: Seconds for this run, overriding the executor's own limit.

        Returns:
            The result; never raises for a failing trial.
        """
        ...


class _CurveRecorder:
    """Collects reports into a curve and the last value of each metric."""

    def __init__(self) -> None:
        self.curve: list[dict[str, float]] = []
        self.last: dict[str, float] = {}
        self._warned = False

    def add(self, step: int | None, metrics: Mapping[str, float]) -> None:
        self.last.update(metrics)
        if len(self.curve) >= MAX_CURVE_POINTS:
            if not self._warned:
                self._warned = True
                _logger.warning(
                    "A trial reported more than %d times; the curve keeps the first %d "
                    "(final metrics still follow every report)",
                    MAX_CURVE_POINTS,
                    MAX_CURVE_POINTS,
                )
            return
        point: dict[str, float] = {} if step is None else {"step": step}
        point.update(metrics)
        self.curve.append(point)


def _one_line(text: str, limit: int = _MAX_ERROR_CHARS) -> str:
    """Collapses whitespace (newlines included); a longer line is cut between words."""
    return one_line(text, limit)


def _exception_line(exc: BaseException) -> str:
    """Returns ``"TypeName: message"`` on one line."""
    message = str(exc)
    name = type(exc).__name__
    return _one_line(f"{name}: {message}" if message else name)


def _signal_name(number: int) -> str | None:
    try:
        return signal.Signals(number).name
    except ValueError:
        return None


def _killed_by_signal(code: int) -> bool:
    """Whether an exit status means a signal ended the program (or, above 128, its child)."""
    return code < 0 or (code > 128 and _signal_name(code - 128) is not None)


def _exit_status_line(code: int) -> str:
    """Describes an exit status, e.g. ``exited with status -9 (killed by signal SIGKILL)``."""
    if code < 0:
        name = _signal_name(-code)
        return f"exited with status {code} (killed by signal {name or -code})"
    if code > 128:
        name = _signal_name(code - 128)
        if name is not None:
            return f"exited with status {code} (128 + {name}: a child was killed by a signal?)"
    return f"exited with status {code}"


def _to_metric(value: Any) -> float | None:
    """Converts a number (int, float, numpy scalar) to float; None if it is not a number."""
    if isinstance(value, (bool, str, bytes)) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _metrics_from_return(value: Any) -> dict[str, float] | None:
    """Turns an objective's return value into final metrics.

    A number becomes ``{"value": number}``, a mapping keeps its numeric items (others are
    dropped with a warning), None means "use the reports".

    Raises:
        TypeError: The value is neither a number, a mapping, nor None.
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        metrics: dict[str, float] = {}
        for name, item in value.items():
            number = _to_metric(item)
            if not isinstance(name, str) or number is None:
                _logger.warning(
                    "Dropped %r from the objective's return value: expected a metric name "
                    "(str) and a number, got %s",
                    name,
                    type(item).__name__,
                )
                continue
            metrics[name] = number
        return metrics
    number = _to_metric(value)
    if number is None:
        raise TypeError(
            f"the objective returned {type(value).__name__} {value!r:.100}; return a number, "
            "a mapping of metric names to numbers, or None (then the reports count)"
        )
    return {"value": number}
