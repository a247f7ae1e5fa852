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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from agenthpo._text import one_line

__all__ = [
    "MAX_CURVE_POINTS",
    "MAX_METRIC_NAMES",
    "TAIL_CHARS",
    "Executor",
    "ReportCallback",
    "TrialResult",
]

_logger = logging.getLogger("agenthpo")

StartCallback = Callable[[int], None]
ReportCallback = Callable[[int | None, dict[str, float]], None]
"""Called as ``callback(step, metrics)`` for each report of a running trial; ``step`` is None
for a final report. If it raises, the executor stops the trial and ``run`` re-raises the
exception (the tuner raises ``optuna.TrialPruned`` there to prune)."""

TAIL_CHARS = 4000
"""How many trailing characters of stdout and stderr a result keeps."""

MAX_CURVE_POINTS = 2_000
"""How many points a result's curve keeps: past that, every other point is dropped (the
curve stays spread over the whole run) and the latest point is always kept; every report
still updates the final metrics."""
MAX_METRIC_NAMES = 100
"""How many distinct metric names a trial keeps: later new names are dropped (the task's own
metrics never are), and the trial says so in its ``metrics_cut`` attribute."""

_MAX_ERROR_CHARS = 500
_MAX_PROBLEMS = 3
PROBLEMS_KEY = "agenthpo:problems"
"""The key of the metrics file under which the function runner passes back what it dropped
from the objective's return value."""


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
            final reports); at most :data:`MAX_CURVE_POINTS` entries (plus the last), of
            at most :data:`MAX_METRIC_NAMES` names.
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
    metrics_cut: str | None = None
    """What the limits on metric names dropped, in one line; ``None`` if nothing."""
    problems: list[str] = field(default_factory=list)
    """Report lines ignored and values dropped (the first few), each in one line: what went
    wrong when a metric is missing."""

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
    """Collects reports into a bounded curve and the last value of each metric.

    Args:
        keep: Metric names never dropped (the task's objectives and hidden metrics).
    """

    def __init__(self, keep: Iterable[str] = ()) -> None:
        self.curve: list[dict[str, float]] = []
        self.last: dict[str, float] = {}
        self.keep = frozenset(keep)
        self.dropped = 0
        self.dropped_names: list[str] = []  # the first few, for the note
        self._seen_dropped: set[str] = set()
        self._stride = 1
        self._count = 0
        self._latest: dict[str, float] | None = None
        self._others = 0  # names admitted that are not in ``keep``
        self.problems: list[str] = []  # the first few
        self.n_problems = 0

    def admit(self, metrics: Mapping[str, float]) -> dict[str, float]:
        """The metrics whose names fit the limit on names (new names beyond it dropped)."""
        kept: dict[str, float] = {}
        room = max(0, MAX_METRIC_NAMES - len(self.keep))  # the task's own always fit
        for name, value in metrics.items():
            if name in self.last or name in self.keep or self._others < room:
                kept[name] = value
                if name not in self.last:
                    self.last[name] = value
                    self._others += name not in self.keep
            elif name not in self._seen_dropped:
                self.dropped += 1
                if len(self.dropped_names) < 5:
                    self.dropped_names.append(name)
                if len(self._seen_dropped) < 100_000:
                    self._seen_dropped.add(name)
        return kept

    def add(self, step: int | None, metrics: Mapping[str, float]) -> dict[str, float]:
        """Records one report; returns the metrics kept."""
        kept = self.admit(metrics)
        self.last.update(kept)
        point: dict[str, float] = {} if step is None else {"step": step}
        point.update(kept)
        self._latest = point
        self._count += 1
        if (self._count - 1) % self._stride == 0:
            self.curve.append(point)
            if len(self.curve) > MAX_CURVE_POINTS:
                self.curve = self.curve[::2]
                self._stride *= 2
        return kept

    def problem(self, text: str) -> None:
        """Notes a report line ignored or a value dropped."""
        self.n_problems += 1
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)

    def points(self) -> list[dict[str, float]]:
        """The curve, ending with the latest report."""
        if self._latest is not None and (not self.curve or self.curve[-1] is not self._latest):
            return [*self.curve, self._latest]
        return list(self.curve)

    def note(self) -> str | None:
        """One line on what the limit on names dropped, or ``None``."""
        if not self.dropped:
            return None
        shown = ", ".join(self.dropped_names)
        more = ", ..." if self.dropped > len(self.dropped_names) else ""
        total = len(self.last) + self.dropped
        return (
            f"the run reported {total} metric names; {self.dropped} beyond the limit of"
            f" {MAX_METRIC_NAMES} were dropped ({shown}{more}); the task's own metrics are kept"
        )


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


def _metrics_from_return(
    value: Any,
    problems: list[str] | None = None,
    *,
    metric: str = "value",
    source: str = "the objective's return value",
) -> dict[str, float] | None:
    """Turns an objective's return value (or a metrics file's object) into final metrics.

    A number becomes ``{metric: number}``: the function's result is the objective's value,
    so the tuner passes the objective's name (``"value"`` by default, for direct library
    use). A mapping keeps its numeric items (others are dropped with a warning, and a line
    in ``problems`` naming ``source``, where they came from); None means "use the reports".

    Raises:
        TypeError: The value is neither a number, a mapping, nor None.

    Example:
        >>> _metrics_from_return(0.9, metric="val_accuracy")
        {'val_accuracy': 0.9}
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        metrics: dict[str, float] = {}
        for name, item in value.items():
            number = _to_metric(item)
            if not isinstance(name, str) or number is None:
                problem = (
                    f"Dropped {name!r:.80} from {source}: expected a metric"
                    f" name (str) and a number, got {type(item).__name__}"
                )
                _logger.warning("%s", problem)
                if problems is not None:
                    problems.append(problem)
                continue
            metrics[name] = number
        return metrics
    number = _to_metric(value)
    if number is None:
        raise TypeError(
            f"the objective returned {type(value).__name__} {value!r:.100}; return a number, "
            "a mapping of metric names to numbers, or None (then the reports count)"
        )
    return {metric: number}
