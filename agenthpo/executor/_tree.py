"""Every process a trial starts, tracked so that all of them end with the trial.

Killing the trial's process group misses a descendant that left the group (``setsid``, a
daemonizing double fork). So while a trial runs, its process tree is read from ``/proc``
(by parent id) a few times a second, and each process is remembered with its start time;
and the tuner makes itself a *child subreaper* (Linux ``prctl``), so that a descendant
orphaned between two looks is reparented to the tuner instead of init and is still found
(as a child of the tuner started after the trial). When the trial ends, every remembered
process that is still the same process (same start time) is killed, and reaped if it
became the tuner's child.

Elsewhere (no ``/proc``) only the process group is killed, as before.

The tuner itself may die by SIGKILL (the OOM killer, ``kill -9``), and then neither it nor
its subreaper role is left to end the trial's descendants (the trial's own process dies
with it, by ``PR_SET_PDEATHSIG``; its children do not). So while the trial runs, the
processes seen are also written to a small record file, named by the trial process's id
and start time (:func:`record_path`), and removed when the trial ends. A later run that
finds the trial's runner dead ends the processes of that record that are still the same
processes (``agenthpo._lifecycle``, which computes the same path).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

__all__ = ["ProcessTree", "record_path"]

_logger = logging.getLogger("agenthpo")

_PROC = "/proc"
_PR_SET_CHILD_SUBREAPER = 36
_SCAN_EVERY_S = 0.25
_subreaper: bool | None = None


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return cast(Callable[..., int], ctypes.CDLL(None, use_errno=True).prctl)
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        return None


def become_subreaper() -> bool:
    """Makes this process adopt its orphaned descendants (once; Linux only)."""
    global _subreaper
    if _subreaper is None:
        prctl = _prctl()
        _subreaper = prctl is not None and prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    return _subreaper


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, start time in ticks, state) of a process, or None if it is gone."""
    try:
        with open(f"{_PROC}/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[19]), fields[0]
    except (OSError, IndexError, ValueError):
        return None


def record_path(root: int, root_start: int) -> Path:
    """The file that records the processes of the trial whose process is ``root``, started
    at ``root_start`` (clock ticks since boot): in a folder of this user's under the
    temporary directory. ``agenthpo._lifecycle`` computes the same path (it sits below this
    package and cannot import it).

    Example:
        >>> record_path(1234, 5678).name
        'tree-1234-5678.json'
    """
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"agenthpo-{uid}" / f"tree-{root}-{root_start}.json"


def _private_folder(folder: Path) -> bool:
    """Creates ``folder`` (mode 0700) if needed; whether it is a real folder of this user's
    that no one else may write to (another user's file there could name our processes)."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700, parents=True)
    info = os.lstat(folder)
    return (
        stat.S_ISDIR(info.st_mode)
        and (not hasattr(os, "getuid") or info.st_uid == os.getuid())
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def _table() -> dict[int, tuple[int, int, str]]:
    table: dict[int, tuple[int, int, str]] = {}
    with contextlib.suppress(OSError):
        for name in os.listdir(_PROC):
            if name.isdigit():
                info = _stat(int(name))
                if info is not None:
                    table[int(name)] = info
    return table


class ProcessTree:
    """The processes a trial's root process started, directly or not.

    Args:
        root: The trial's process id.
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.available = os.path.isdir(_PROC)
        info = _stat(root) if self.available else None
        self.root_start = info[1] if info is not None else None
        self.seen: dict[int, int] = {}  # pid -> start ticks
        self._last = 0.0
        self._record = None if self.root_start is None else record_path(root, self.root_start)
        self._recorded: frozenset[int] = frozenset()

    def scan(self, *, force: bool = False) -> None:
        """Looks for new descendants (at most every quarter second unless ``force``)."""
        now = time.monotonic()
        if not self.available or self.root_start is None:
            return
        if not force and now - self._last < _SCAN_EVERY_S:
            return
        self._last = now
        table = _table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        frontier = [self.root, *self.seen]
        me = os.getpid()
        if _subreaper:
            # Orphans adopted by this process since the trial started.
            frontier += [
                pid
                for pid in children.get(me, [])
                if pid != self.root and table[pid][1] >= self.root_start
            ]
        while frontier:
            pid = frontier.pop()
            info = table.get(pid)
            if pid != self.root and info is not None and pid not in self.seen:
                if info[1] < self.root_start:
                    continue  # an older process that reuses a pid
                self.seen[pid] = info[1]
            frontier.extend(c for c in children.get(pid, []) if c not in self.seen)
        # The descendants alive now (a pid seen before but started again is another one).
        live = {
            pid: start
            for pid, start in self.seen.items()
            if pid in table and table[pid][1] == start
        }
        if frozenset(live) != self._recorded:
            self._write_record(live)

    def _write_record(self, live: dict[int, int]) -> None:
        """Writes the live descendants to the record file, for a later run to end them
        should this process be killed; never fails the trial."""
        if self._record is None:
            return
        self._recorded = frozenset(live)
        try:
            if not _private_folder(self._record.parent):
                _logger.debug(
                    "not recording the trial's processes: %s is not private", self._record.parent
                )
                self._record = None
                return
            data = {
                "root": self.root,
                "root_start": self.root_start,
                "processes": sorted([pid, start] for pid, start in live.items()),
            }
            partial = self._record.with_suffix(".partial")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(data, file)
            os.replace(partial, self._record)  # a reader never sees half a record
        except OSError as exc:
            _logger.debug("cannot record the trial's processes: %s", exc)

    def forget(self) -> None:
        """Removes the record file: the trial's processes are ended."""
        if self._record is not None:
            with contextlib.suppress(OSError):
                self._record.unlink(missing_ok=True)
            self._recorded = frozenset()

    def signal(self, sig: int) -> int:
        """Sends ``sig`` to every descendant still alive; returns how many got it."""
        self.scan(force=True)
        sent = 0
        for pid, start in self.seen.items():
            info = _stat(pid)
            if info is None or info[1] != start or info[2] == "Z":
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
                sent += 1
        return sent

    def end(self) -> None:
        """Kills every descendant still alive and reaps those this process adopted."""
        if self.signal(signal.SIGKILL):
            _logger.info("ended processes the trial left behind (outside its process group)")
        deadline = time.monotonic() + 1.0
        pending = set(self.seen)
        while pending and time.monotonic() < deadline:
            for pid in list(pending):
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pending.discard(pid)  # not ours to reap (its parent or init will)
                    continue
                except OSError:
                    pending.discard(pid)
                    continue
                if done:
                    pending.discard(pid)
            if pending:
                time.sleep(0.02)
        self.forget()
