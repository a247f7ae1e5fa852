"""Trials that outlive their runner: heartbeats, recovery, process clean-up, the budget.

Every running trial carries a heartbeat (a timestamp in its system attributes, refreshed by
the process that runs it) and the identity of its training process. A trial whose heartbeat
is older than the grace period belongs to a runner that died (killed, crashed, machine
gone): any worker that notices marks it failed as *interrupted*, kills its leftover process
group if it was on this machine, and enqueues its configuration again, so it runs to the end
once. Interrupted trials (and surplus trials that lost a race for the last slot of the
budget) do not count toward the budget.

This works the same on every storage (SQLite, a journal file, PostgreSQL), unlike Optuna's
own heartbeats, which only RDB storages have.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import BaseStorage, InMemoryStorage
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys, _optuna

__all__ = [
    "Budget",
    "Heartbeat",
    "WorkClaim",
    "asked_only",
    "budget",
    "claimed_elsewhere",
    "grace_period",
    "heartbeat_interval",
    "is_counted",
    "record_process",
    "recover_stale",
]

_logger = logging.getLogger("agenthpo")

HEARTBEAT_KEY = "agenthpo:heartbeat"
PROCESS_KEY = "agenthpo:process"
EXTERNAL_KEY = "agenthpo:external"  # asked with `agenthpo ask`: run elsewhere, no heartbeat


def _env_seconds(name: str, default: float) -> float:
    try:
        return max(0.05, float(os.environ.get(name, default)))
    except ValueError:
        return default


def heartbeat_interval() -> float:
    """Seconds between heartbeats (``AGENTHPO_HEARTBEAT_INTERVAL``, default 10)."""
    return _env_seconds("AGENTHPO_HEARTBEAT_INTERVAL", 10.0)


def grace_period() -> float:
    """Seconds without a heartbeat after which a trial is stale (``AGENTHPO_GRACE_PERIOD``,
    default 60; at least three intervals)."""
    return max(_env_seconds("AGENTHPO_GRACE_PERIOD", 60.0), 3 * heartbeat_interval())


class Heartbeat:
    """Refreshes a trial's heartbeat from a background thread while the block runs."""

    def __init__(self, storage: BaseStorage, trial_id: int) -> None:
        self._storage = storage
        self._trial_id = trial_id
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"agenthpo-heartbeat-{trial_id}", daemon=True
        )

    def _write(self) -> None:
        self._storage.set_trial_system_attr(self._trial_id, HEARTBEAT_KEY, time.time())

    def __enter__(self) -> Heartbeat:
        self._write()
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(heartbeat_interval()):
            try:
                self._write()
            except UpdateFinishedTrialError:
                return
            except Exception:
                _logger.debug("heartbeat failed", exc_info=True)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


CLAIM_PREFIX = "agenthpo:claim:"
"""Study system attributes naming the worker doing a piece of study-wide work."""


def _settle_seconds() -> float:
    """How long a claim waits before reading who holds it (``AGENTHPO_CLAIM_SETTLE``,
    default 0.3 s): longer than a rival takes between reading the claim and writing its own."""
    return _env_seconds("AGENTHPO_CLAIM_SETTLE", 0.3)


def _held_elsewhere(held: object, owner: str, now: float) -> bool:
    return (
        isinstance(held, dict)
        and held.get("by") != owner
        and isinstance(held.get("beat"), (int, float))
        and now - float(held["beat"]) <= grace_period()
    )


def _holder(study: optuna.Study, key: str) -> object:
    """The claim on ``key`` as stored now."""
    attrs = _optuna.storage_of(study).get_study_system_attrs(_optuna.study_id(study))
    return attrs.get(CLAIM_PREFIX + key)


def claimed_elsewhere(study: optuna.Study, key: str, owner: str) -> bool:
    """Whether another live worker holds the work ``key`` (its heartbeat is fresh)."""
    return _held_elsewhere(_holder(study, key), owner, time.time())


class WorkClaim:
    """One worker's claim on a piece of study-wide work that must run once, whoever runs
    the study (a re-evaluation of a configuration on further seeds).

    The claim is a study system attribute: ``{"by": owner, "beat": time}``. A worker writes
    its own unless a live rival's is there, waits a moment and reads it back: of two
    workers racing, the later write wins and the other yields. While the work runs, a
    background thread refreshes the beat, so a claim whose worker died goes stale after the
    grace period and another may take the work over.

    Example:
        >>> study = optuna.create_study()
        >>> with WorkClaim.take(study, "reeval:3", "worker-a") as claim:
        ...     claimed_elsewhere(study, "reeval:3", "worker-b")
        True
    """

    def __init__(self, study: optuna.Study, key: str, owner: str) -> None:
        self._store = _optuna.storage_of(study)
        self._study_id = _optuna.study_id(study)
        self._attr = CLAIM_PREFIX + key
        self._owner = owner
        self._stop = threading.Event()
        self._beating = threading.Thread(target=self._beat, name="agenthpo-claim", daemon=True)

    @classmethod
    def take(
        cls, study: optuna.Study, key: str, owner: str, *, alone: bool = False
    ) -> WorkClaim | None:
        """The claim on ``key`` for ``owner``, its heartbeat started; ``None`` if another
        live worker holds it (or won the race for it). ``alone``: the storage serves this
        process only (SQLite), so no rival can be racing and the claim needs no settling."""
        if claimed_elsewhere(study, key, owner):
            return None
        claim = cls(study, key, owner)
        claim._write()
        if not alone and not isinstance(claim._store, InMemoryStorage):
            time.sleep(_settle_seconds())
        held = _holder(study, key)
        if not isinstance(held, dict) or held.get("by") != owner:
            return None
        claim._beating.start()
        return claim

    def _write(self, beat: float | None = None) -> None:
        value: dict[str, Any] = {"by": self._owner, "beat": time.time() if beat is None else beat}
        self._store.set_study_system_attr(self._study_id, self._attr, value)

    @property
    def lost(self) -> bool:
        """Whether another worker has taken the claim over (this one's beat went stale, on
        a machine too busy to refresh it): the work is then that worker's."""
        held = self._store.get_study_system_attrs(self._study_id).get(self._attr)
        return not isinstance(held, dict) or held.get("by") != self._owner

    def _beat(self) -> None:
        while not self._stop.wait(heartbeat_interval()):
            try:
                if self.lost:
                    return  # never write over the claim of the worker that took it over
                self._write()
            except Exception:
                _logger.debug("claim heartbeat failed", exc_info=True)

    def __enter__(self) -> WorkClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        """Ends the heartbeat and releases the claim (a stale beat), so that the work, if
        it did not finish (Ctrl-C), can be taken at once by the next run or worker."""
        self._stop.set()
        self._beating.join()
        with contextlib.suppress(Exception):
            if not self.lost:
                self._write(beat=0.0)


def _start_ticks(pid: int) -> int | None:
    """A process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def record_process(storage: BaseStorage, trial_id: int, pid: int) -> None:
    """Stores where a trial's training process runs, so a later run can clean up after it."""
    info: dict[str, Any] = {"host": socket.gethostname(), "pid": pid, "start": _start_ticks(pid)}
    storage.set_trial_system_attr(trial_id, PROCESS_KEY, info)


def _kill_leftover(trial: FrozenTrial) -> None:
    """Ends what a dead runner left of a trial on this machine: the trial's process group,
    and every process its runner saw the trial start (recorded while it ran, see
    :func:`_kill_recorded`), even those that left the group."""
    info = trial.system_attrs.get(PROCESS_KEY)
    if not isinstance(info, dict) or info.get("host") != socket.gethostname():
        return
    pid = info.get("pid")
    if not isinstance(pid, int) or pid <= 1:
        return
    start = info.get("start")
    ticks = _start_ticks(pid)
    # A pid that now belongs to another process: while the old group still had members,
    # Linux would not have reused its id, so that group is empty.
    if ticks is None or start is None or ticks == start:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
            _logger.info("killed the leftover processes of trial %d (group %d)", trial.number, pid)
    if isinstance(start, int):
        ended = _kill_recorded(pid, start)
        if ended:
            _logger.info(
                "killed %d leftover process(es) of trial %d outside its group", ended, trial.number
            )


def _record_path(pid: int, start: int) -> Path:
    """The record of the processes a trial (process ``pid`` started at ``start`` ticks)
    started: the same path as ``agenthpo.executor._tree.record_path``, which writes it (this
    module sits below the executor and cannot import it)."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"agenthpo-{uid}" / f"tree-{pid}-{start}.json"


def _owned_by_me(path: Path) -> bool:
    """Whether the file ``path`` and its folder are this user's, and no one else may write
    to the folder: a record planted by another user could name any of our processes."""
    try:
        for item in (path.parent, path):
            info = os.lstat(item)
            if stat.S_ISLNK(info.st_mode):
                return False
            if hasattr(os, "getuid") and info.st_uid != os.getuid():
                return False
        if os.lstat(path.parent).st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
    except OSError:
        return False
    return True


def _parents() -> dict[int, list[tuple[int, int]]]:
    """Every process's children, as (pid, start ticks), by parent pid (Linux ``/proc``)."""
    children: dict[int, list[tuple[int, int]]] = {}
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as file:
                    fields = file.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append((int(name), int(fields[19])))
            except (OSError, IndexError, ValueError):
                continue
    return children


def _kill_recorded(pid: int, start: int) -> int:
    """Kills the processes recorded for the trial whose process was ``pid`` (started at
    ``start``), and their descendants started since; returns how many were killed.

    A process is killed only while it is still the one recorded (same start time), so a
    reused pid is left alone; its descendants are those started after the trial. The record
    is removed.
    """
    path = _record_path(pid, start)
    if not _owned_by_me(path):
        return 0
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        recorded = [
            (int(p), int(s)) for p, s in data["processes"] if int(p) > 1 and int(p) != os.getpid()
        ]
    except (OSError, ValueError, TypeError, KeyError):
        recorded = []
    children = _parents()
    targets: dict[int, int] = {}
    frontier = [(p, s) for p, s in recorded if _start_ticks(p) == s]
    while frontier:
        proc, ticks = frontier.pop()
        if proc in targets or proc == os.getpid():
            continue
        targets[proc] = ticks
        frontier.extend((c, t) for c, t in children.get(proc, []) if t >= start)
    killed = 0
    for proc, ticks in targets.items():
        if _start_ticks(proc) != ticks:
            continue  # gone since, and maybe its pid reused
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(proc, signal.SIGKILL)
            killed += 1
    with contextlib.suppress(OSError):
        path.unlink()
    return killed


def _last_sign_of_life(trial: FrozenTrial) -> float:
    beat = trial.system_attrs.get(HEARTBEAT_KEY)
    if isinstance(beat, (int, float)):
        return float(beat)
    start = trial.datetime_start
    return start.timestamp() if start is not None else time.time()


def recover_stale(study: optuna.Study, *, now: float | None = None) -> list[int]:
    """Fails the stale running trials of ``study``, cleans up and re-enqueues them.

    Returns:
        The numbers of the trials this call recovered (another worker may get others).
    """
    now = time.time() if now is None else now
    limit = grace_period()
    recovered = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.system_attrs.get(EXTERNAL_KEY):
            continue  # run outside AgentHPO; it ends with `agenthpo tell`
        if now - _last_sign_of_life(trial) <= limit:
            continue
        silent = now - _last_sign_of_life(trial)
        try:
            storage = _optuna.storage_of(study)
            trial_id = _optuna.trial_id(trial)
            # Why, written first: a finished trial takes no attributes. Readers (`show`, the
            # report, the LLM's history) then tell it from a run that failed on its own.
            storage.set_trial_user_attr(
                trial_id,
                _keys.ERROR,
                f"interrupted: its runner was lost (no heartbeat for {silent:.0f} s); it runs"
                " again",
            )
            storage.set_trial_user_attr(trial_id, _keys.NOT_COUNTED, "interrupted")
            if not storage.set_trial_state_values(trial_id, TrialState.FAIL):
                continue
        except UpdateFinishedTrialError:
            continue  # another worker got there first, or its runner finished it after all
        recovered.append(trial.number)
        _logger.warning(
            "trial %d lost its runner (no heartbeat for %.0f s); it is marked interrupted"
            " and will run again",
            trial.number,
            silent,
        )
        _kill_leftover(trial)
    requeue_interrupted(study)
    return recovered


def _needs_rerun(trial: FrozenTrial) -> bool:
    why = trial.user_attrs.get(_keys.NOT_COUNTED)
    return (
        trial.state == TrialState.FAIL
        and not is_counted(trial)
        and why != "surplus"
        # A setup error ("error": the trial could not start) is queued again once: should
        # its rerun fail so too, the configuration is let go rather than block every run.
        and not (why == "error" and _keys.RERUN_OF in trial.user_attrs)
        and bool(trial.params)
    )


def requeue_interrupted(study: optuna.Study) -> list[int]:
    """Enqueues a rerun of every interrupted trial that has none yet.

    Marking a trial interrupted and enqueueing its rerun are two storage writes; a runner
    killed between them would lose the rerun, so every recovery pass looks for interrupted
    trials without one (whoever marked them).

    Returns:
        The numbers of the interrupted trials re-enqueued now.
    """
    trials = study.get_trials(deepcopy=False)
    rerun = {t.user_attrs.get(_keys.RERUN_OF) for t in trials}
    done = []
    for trial in trials:
        if not _needs_rerun(trial) or trial.number in rerun:
            continue
        attrs: dict[str, Any] = {_keys.RERUN_OF: trial.number}
        for key in (_keys.PROPOSED_BY, _keys.RATIONALE, _keys.LLM_MODEL, _keys.LEFT_OUT):
            if key in trial.user_attrs:
                attrs[key] = trial.user_attrs[key]
        study.enqueue_trial(dict(trial.params), user_attrs=attrs)
        done.append(trial.number)
    return done


def is_counted(trial: FrozenTrial) -> bool:
    """Whether a trial spends the budget: finished, and not interrupted or surplus."""
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    if trial.state != TrialState.FAIL:
        return False
    attrs = trial.user_attrs
    return _keys.ERROR in attrs and not attrs.get(_keys.NOT_COUNTED)


@dataclass(frozen=True)
class Budget:
    """How much of a study's budget is spent, and how much is being spent right now."""

    counted: int
    active: int  # running now (somewhere), not counted yet; waiting trials are not included


def budget(study: optuna.Study) -> Budget:
    """The study's spent and in-flight trials."""
    counted = active = 0
    for trial in study.get_trials(deepcopy=False):
        if is_counted(trial):
            counted += 1
        elif trial.state == TrialState.RUNNING:
            active += 1
    return Budget(counted, active)


def asked_only(study: optuna.Study) -> tuple[int, ...]:
    """The numbers of the running trials when every one of them was asked for (``agenthpo
    ask``) and not yet told, else ``()``: such trials end only when someone tells them, and
    no heartbeat says whether anyone will."""
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running or not all(t.system_attrs.get(EXTERNAL_KEY) for t in running):
        return ()
    return tuple(t.number for t in running)


def claims_before(study: optuna.Study, number: int) -> int:
    """Trials numbered below ``number`` that hold a slot of the budget."""
    return sum(
        1
        for t in study.get_trials(deepcopy=False)
        if t.number < number
        and (is_counted(t) or t.state in (TrialState.RUNNING, TrialState.WAITING))
    )


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Silences Optuna's info logs (e.g. "Trial 3 failed") inside the block."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)
