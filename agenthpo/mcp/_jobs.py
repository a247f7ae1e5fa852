"""Runs of N trials in a background thread, with progress, status and cancel.

A run is a :class:`agenthpo.tuner.Tuner` in its own thread, so the MCP protocol keeps
answering while trials run. Cancelling stops the running trial's whole process group; that
trial is stored as interrupted (outside the budget) and queued to run again, as when a user
presses Ctrl-C in ``agenthpo run``, so nothing is lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from agenthpo import _keys
from agenthpo.errors import AgentHPOError, LLMUnavailableWarning
from agenthpo.executor import Executor, ReportCallback, StartCallback, TrialResult
from agenthpo.llm._mask import redact_url
from agenthpo.tuner import RunSummary, TrialEvent, Tuner

__all__ = ["Cancelled", "Job", "JobState", "state_name"]

_logger = logging.getLogger("agenthpo")

JobState = Literal["running", "finished", "cancelled", "failed"]


class Cancelled(KeyboardInterrupt):
    """Raised inside a run's thread when the client cancels it (or the server stops).

    A ``KeyboardInterrupt``, so the tuner treats it as Ctrl-C: the running trial is stored
    as interrupted, outside the budget, and queued to run again.
    """

    def __init__(self, why: str = "the background run was stopped") -> None:
        super().__init__(why)


class _CancellableExecutor:
    """Wraps the task's executor so that a cancel stops the running trial at once."""

    def __init__(self, inner: Executor, cancel: threading.Event) -> None:
        self.inner = inner
        self.cancel = cancel
        self.pid: int | None = None

    def run(
        self,
        config: Mapping[str, Any],
        *,
        trial_number: int,
        on_report: ReportCallback | None = None,
        on_start: StartCallback | None = None,
        timeout: float | None = None,
    ) -> TrialResult:
        if self.cancel.is_set():
            raise Cancelled()

        def report(step: int | None, metrics: dict[str, float]) -> None:
            if self.cancel.is_set():
                raise Cancelled()
            if on_report is not None:
                on_report(step, metrics)

        def started(pid: int) -> None:
            self.pid = pid
            if on_start is not None:
                on_start(pid)

        try:
            result = self.inner.run(
                config,
                trial_number=trial_number,
                on_report=report,
                on_start=started,
                timeout=timeout,
            )
        finally:
            self.pid = None
        if self.cancel.is_set():
            raise Cancelled()
        return result

    def stop(self) -> None:
        """Kills the running trial's process group (the executor starts one per trial)."""
        pid = self.pid
        if pid is None or not hasattr(os, "killpg"):
            return
        with contextlib.suppress(OSError):  # it may have ended meanwhile
            os.killpg(pid, signal.SIGKILL)


def state_name(state: str) -> str:
    """A trial's state as every result of the MCP server names it: Optuna's ``fail`` (as
    the tuner and the report name it) is ``failed``, as the ``trials`` tool's filter takes it.

    Example:
        >>> state_name("fail"), state_name("complete")
        ('failed', 'complete')
    """
    return "failed" if state == "fail" else state


def _event(event: TrialEvent) -> dict[str, Any]:
    return {
        "trial": event.number,
        "state": state_name(event.state),
        "value": event.value,
        "values": list(event.values) or None,
        "best_value": event.best_value,
        "config": dict(event.config),
        "proposed_by": event.attrs.get(_keys.PROPOSED_BY),
        "rationale": event.attrs.get(_keys.RATIONALE),
        "error": event.error,
    }


@dataclass
class Job:
    """One background run: its progress, its end, and how to stop it."""

    task_file: str
    n_trials: int
    """Trials this run adds to the study."""
    target: int
    """The study's total budget for this run: the trials counted and in flight before it
    (asked and not yet told, or run elsewhere), plus ``n_trials``."""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: JobState = "running"
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    finished: list[dict[str, Any]] = field(default_factory=list)
    running: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None
    note: str | None = None
    """Why the run ended before running its ``n_trials`` trials (``None`` when it ran them
    all, or has not ended)."""
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    _executor: _CancellableExecutor | None = None

    @property
    def done(self) -> int:
        """Trials of this run that finished (completed, failed or pruned)."""
        return len(self.finished)

    def progress(self) -> dict[str, Any]:
        """Trials done of this run's budget and the study's best value so far, as data.

        Example:
            >>> Job(task_file="task.yaml", n_trials=3, target=3).progress()["done"]
            0
        """
        last = self.finished[-1] if self.finished else None
        best = None if last is None else last["best_value"]
        running = self.running
        return {
            "job": self.id,
            "state": self.state,
            "done": self.done,
            "n_trials": self.n_trials,
            "best_value": best,
            "last": None
            if last is None
            else {"trial": last["trial"], "state": last["state"], "value": last["value"]},
            "running": None if running is None else running["trial"],
            "message": f"{self.done}/{self.n_trials} trials done"
            + ("" if best is None else f", best {best:.6g}")
            + f" ({self.state})",
        }

    def start(self, make_tuner: Callable[..., Tuner], executor: Executor) -> None:
        """Starts the run in a daemon thread; ``make_tuner`` builds the tuner with the
        listeners and executor it is given."""
        self._executor = _CancellableExecutor(executor, self.cancel)
        tuner = make_tuner(
            executor=self._executor,
            on_trial_start=[self._on_start],
            on_trial_end=[self._on_end],
        )
        self.thread = threading.Thread(
            target=self._work, args=(tuner,), name=f"agenthpo-run-{self.id}", daemon=True
        )
        self.thread.start()

    def _on_start(self, event: TrialEvent) -> None:
        self.running = _event(event)

    def _on_end(self, event: TrialEvent) -> None:
        self.running = None
        self.finished.append(_event(event))
        if self.cancel.is_set():
            raise Cancelled()

    def _work(self, tuner: Tuner) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", LLMUnavailableWarning)
                summary = tuner.run()
            self.summary = _summary(summary)
            self.state = "cancelled" if self.cancel.is_set() else "finished"
            if self.state == "finished":
                self.note = _shortfall(summary, self.n_trials)
        except Cancelled:
            self.state = "cancelled"
        except AgentHPOError as exc:
            self.state = "failed"
            self.error = str(exc)
        except Exception as exc:  # a run must report, never vanish
            _logger.exception("background run %s failed", self.id)
            self.state = "failed"
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.running = None
            self.ended_at = time.time()

    def stop(self) -> None:
        """Asks the run to stop: the running trial is killed and queued to run again."""
        self.cancel.set()
        if self._executor is not None:
            self._executor.stop()

    def status(self, *, recent: int = 5) -> dict[str, Any]:
        """The run's state and progress as data."""
        return {
            "job": self.id,
            "task_file": self.task_file,
            "state": self.state,
            "n_trials": self.n_trials,
            "done": self.done,
            "progress": self.progress(),
            "running": self.running,
            "recent": self.finished[-recent:],
            "seconds": round((self.ended_at or time.time()) - self.started_at, 2),
            "summary": self.summary,
            "error": self.error,
            "note": self.note,
        }


def _summary(summary: RunSummary) -> dict[str, Any]:
    data = asdict(summary)
    data.pop("llm_note", None)
    data["storage"] = redact_url(summary.storage)  # a database's password stays out
    return data


def _shortfall(summary: RunSummary, n_trials: int) -> str | None:
    """Why a finished run ran fewer than its ``n_trials`` trials, on one line, so that the
    client reads it in the result rather than only on the server's stderr.

    Example:
        >>> _shortfall(RunSummary("s", "sqlite://", n_run=1, stopped_by_time_limit=True), 3)
        "ran 1 of 3 trials: the task's time_limit stopped the run"
    """
    if summary.n_run >= n_trials:
        return None
    head = f"ran {summary.n_run} of {n_trials} trials: "
    if summary.stopped_by_time_limit:
        return head + "the task's time_limit stopped the run"
    if summary.n_reevaluations:
        return head + (
            f"{summary.n_reevaluations} runs re-evaluated the best configurations on further"
            " seeds, and count against the budget like trials (the task's noise settings)"
        )
    return head + (
        "other runs of the study (agenthpo run or worker) took the rest of its budget"
        " meanwhile, or trials were interrupted and queued again"
    )
