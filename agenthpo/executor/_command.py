"""Runs a trial as a command: an argv list, never a shell string.

Example:
    >>> import sys
    >>> from agenthpo.executor import CommandExecutor
    >>> executor = CommandExecutor([sys.executable, "-c", "import sys; print(sys.argv[1:])"])
    >>> result = executor.run({"lr": 0.01, "optimizer": "adam"}, trial_number=0)
    >>> result.status, result.stdout_tail
    ('ok', "['--lr', '0.01', '--optimizer', 'adam']\\n")
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Literal, cast

from agenthpo._jsonsafe import loads
from agenthpo.errors import ExecutorError
from agenthpo.executor._base import (
    PROBLEMS_KEY,
    TAIL_CHARS,
    ReportCallback,
    StartCallback,
    TrialResult,
    _CurveRecorder,
    _exit_status_line,
    _killed_by_signal,
    _metrics_from_return,
    _one_line,
)
from agenthpo.executor._tree import ProcessTree, become_subreaper
from agenthpo.reporter import (
    CONFIG_ENV,
    METRICS_ENV,
    REPORT_PREFIX,
    TRIAL_ENV,
    Report,
    check_report_line,
)

__all__ = ["CommandExecutor"]

_logger = logging.getLogger("agenthpo")

_POSIX = os.name == "posix" and hasattr(os, "killpg")


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return cast(Callable[..., int], libc.prctl)
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        return None


_PDEATHSIG = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # Resolved in the parent, so the child only makes one system call here.
    assert _PDEATHSIG is not None
    _PDEATHSIG(_PR_SET_PDEATHSIG, signal.SIGKILL)


_SIGKILL: int = getattr(signal, "SIGKILL", signal.SIGTERM)  # Windows has no SIGKILL
_POLL_S = 0.05
_DRAIN_S = 2.0
"""How long to wait for the output pipes to close after the program exited."""
_LINE_LIMIT = 65536
"""Longest line parsed as a report; longer lines only go to the tails."""

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_PARAMETER_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.\-]*)\}")
"""A placeholder that can name a parameter (as a task file's check reads them); other
braces (``{1}``, a JSON snippet) are never taken for a missing parameter."""
_TRACEBACK = "Traceback (most recent call last):"
_EXCEPTION_HEADER = re.compile(r"^[A-Za-z_][\w.]*(?::.*)?$")
_ARGPARSE_ERROR = re.compile(r"^[^\s:]+: error: .+$")  # "train.py: error: argument --lr: ..."
_EXCEPTION_LINE = re.compile(
    r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Fault|Failure)(?::.*)?$"
)
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def _format_value(value: Any) -> str:
    """Formats a parameter value for the command line.

    Bools become ``true``/``false``, floats their ``repr`` (which round-trips), everything
    else ``str()``. Numpy scalars are treated as the Python value they hold.
    """
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(float(value))
    return str(value)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _uses_placeholders(
    argv: Sequence[str], config: Mapping[str, Any], optional: Collection[str] = ()
) -> bool:
    """Whether ``argv`` places a parameter itself: a placeholder of the configuration's, or
    of an optional one it lacks (then nothing is appended either)."""
    return any(
        match.group(1) in config or match.group(1) in optional
        for arg in argv
        for match in _PLACEHOLDER.finditer(arg)
    )


def _command_line(
    argv: Sequence[str],
    config: Mapping[str, Any],
    pass_args: bool,
    optional: Collection[str] = (),
) -> list[str]:
    """Builds the argv of one trial: placeholders substituted, or ``--name value`` appended;
    an element holding the placeholder of an ``optional`` parameter absent from ``config``
    is left out."""
    if not pass_args:
        return list(argv)
    if _uses_placeholders(argv, config, optional):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            return _format_value(config[name]) if name in config else match.group(0)

        # An element whose placeholder names an optional parameter the configuration lacks
        # (an inactive conditional parameter) is left out, e.g. "--momentum={momentum}" for
        # adam: passed as written, the program would get the literal "{momentum}". Any other
        # placeholder stays as written ("${OUT}" in a shell snippet is no parameter).
        # One pass, so that a value that itself looks like "{name}" is never substituted.
        return [
            _PLACEHOLDER.sub(substitute, arg)
            for arg in argv
            if not any(
                match.group(1) in optional and match.group(1) not in config
                for match in _PARAMETER_PLACEHOLDER.finditer(arg)
            )
        ]
    command = list(argv)
    for name, value in config.items():
        text = _format_value(value)
        if isinstance(value, str) and text.startswith("-"):
            # A choice such as "--help" would be read as an option of its own.
            command.append(f"--{name}={text}")
        else:
            command += [f"--{name}", text]
    return command


def _error_from_stderr(text: str) -> str | None:
    """Returns the exception line of a Python traceback (or similar) at the end of stderr.

    Colour codes are removed first, as a terminal would hide them (``_last_meaningful_line``
    does the same).
    """
    text = _ANSI_ESCAPE.sub("", text)
    index = text.rfind(_TRACEBACK)
    if index >= 0:
        for line in text[index + len(_TRACEBACK) :].splitlines():
            if not line.strip() or line[0].isspace():
                continue
            if _EXCEPTION_HEADER.match(line):
                return _one_line(line)
            break
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and (_EXCEPTION_LINE.match(lines[-1]) or _ARGPARSE_ERROR.match(lines[-1])):
        return _one_line(lines[-1])
    return None


def _last_meaningful_line(text: str) -> str | None:
    """The last line of ``text`` that says something, on one line; None if none does.

    What a terminal would show: the text after a progress bar's carriage return, without
    colour codes. Blank lines and lines of mere decoration (``-----``) are skipped.
    """
    for raw in reversed(text.splitlines()):  # splitlines also splits at "\r"
        line = _ANSI_ESCAPE.sub("", raw).strip()
        if any(char.isalnum() for char in line):
            return _one_line(line)
    return None


def _failure_line(stderr: str, code: int) -> str:
    """Why a program that exited with the non-zero status ``code`` failed, on one line.

    The exception of a traceback (or an argparse error) if stderr ends with one; else the
    program's last meaningful line on stderr with the exit status, e.g. Python's own
    ``python: can't open file '/x/train.py': [Errno 2] No such file or directory (exited
    with status 2)``: the status alone does not say what to fix. A program killed by a
    signal did not write that line as its reason, so the signal comes first then.
    """
    found = _error_from_stderr(stderr)
    if found is not None:
        return found
    status = _exit_status_line(code)
    last = _last_meaningful_line(stderr)
    if last is None:
        return status
    if _killed_by_signal(code):
        return f"{status}; the last line on stderr: {last}"
    return f"{last} ({status})"


class _Tail:
    """The last ``limit`` characters written to it; thread-safe."""

    def __init__(self, limit: int = TAIL_CHARS) -> None:
        self._limit = limit
        self._parts: list[str] = []
        self._size = 0
        self._lock = threading.Lock()

    def append(self, text: str) -> None:
        with self._lock:
            self._parts.append(text)
            self._size += len(text)
            if self._size > 2 * self._limit:
                joined = "".join(self._parts)[-self._limit :]
                self._parts = [joined]
                self._size = len(joined)

    def text(self) -> str:
        with self._lock:
            return "".join(self._parts)[-self._limit :]


_EOF = object()


@dataclasses.dataclass(frozen=True)
class _Problem:
    """A report line that was ignored, or a value dropped from one."""

    text: str


_STDERR_REPORT = (
    "A report line was printed to stderr, where the tuner does not read reports; report()"
    " lines go to stdout (do not send them through a logging handler or print(...,"
    " file=sys.stderr))"
)


def _report_in(text: str, tail: _Tail, reports: queue.SimpleQueue[object]) -> bool:
    """Looks for a report in one complete line of stdout; queues it (or what was wrong with
    it) and returns True if the line held one.

    A terminal shows only the text after a progress bar's last carriage return, so a
    report there is still a report; and a report printed after text without a line end
    (``print("epoch 3 ", end="")``) is found after that text. The text before the report
    goes to the tail.
    """
    line = text.rstrip("\r\n")
    before, cr, last = line.rpartition("\r")
    ending = cr
    if not last.startswith(REPORT_PREFIX.rstrip()):
        index = line.find(REPORT_PREFIX + "{")  # mid-line: only a well-formed tag counts
        if index < 0:
            return False
        before, last, ending = line[:index], line[index:], "\n"
    parsed, problems = check_report_line(last)
    for problem in problems:
        _logger.warning("%s", problem)
        reports.put(_Problem(problem))
    if parsed is None:
        return False
    reports.put(parsed)
    if before:
        tail.append(before + ending)
    return True


def _pump(
    pipe: IO[bytes],
    tail: _Tail,
    log: IO[bytes] | None,
    reports: queue.SimpleQueue[object] | None,
    *,
    stderr: bool = False,
) -> None:
    """Reads a pipe line by line until EOF; reports go to the queue, the rest to the tail.

    For stdout (``stderr`` False), the queue gets each report, each problem with a report
    line, and :data:`_EOF` at the end. For stderr, it gets one problem if a report line
    shows up there (reports are read from stdout only), and no ``_EOF``.
    """
    continuation = False
    noted_stderr = False
    try:
        while True:
            chunk = pipe.readline(_LINE_LIMIT)
            if not chunk:
                break
            if log is not None:
                log.write(chunk)
            text = chunk.decode("utf-8", errors="replace")
            truncated = len(chunk) >= _LINE_LIMIT and not chunk.endswith(b"\n")
            is_continuation, continuation = continuation, truncated
            if reports is not None and stderr:
                if not noted_stderr and REPORT_PREFIX + "{" in text:
                    noted_stderr = True
                    _logger.warning("%s", _STDERR_REPORT)
                    reports.put(_Problem(_STDERR_REPORT))
            elif reports is not None and not is_continuation:
                if not truncated:
                    if _report_in(text, tail, reports):
                        continue
                elif text.startswith(REPORT_PREFIX):
                    problem = (
                        f"Ignored a report line longer than {_LINE_LIMIT} bytes; report fewer"
                        " metrics per line"
                    )
                    _logger.warning("%s", problem)
                    reports.put(_Problem(problem))
            tail.append(text)
    except (OSError, ValueError):  # pipe closed under us
        pass
    finally:
        if log is not None:
            with contextlib.suppress(OSError, ValueError):
                log.flush()
        if reports is not None and not stderr:
            reports.put(_EOF)


def _take_reports(
    reports: queue.SimpleQueue[object],
    recorder: _CurveRecorder,
    on_report: ReportCallback | None,
    *,
    wait: float = _POLL_S,
    at_most: int | None = None,
) -> bool:
    """Handles every queued report and problem (waiting up to ``wait`` for the first);
    returns True if stdout's end was among them.

    A pass takes all that is queued, so a burst of reports does not trail behind the
    program. With ``at_most`` it takes that many items at most (what was queued, while a
    pipe another process holds open may still bring more); without, it stops after
    :data:`_POLL_S` of work, so that the caller still checks the time limit while a slow
    ``on_report`` (a storage write per step) works through a long backlog.
    """
    eof = False
    started = time.monotonic()
    timeout: float | None = wait
    taken = 0
    while at_most is None or taken < at_most:
        taken += 1
        try:
            item = reports.get_nowait() if not timeout else reports.get(timeout=timeout)
        except queue.Empty:
            return eof
        timeout = None
        if item is _EOF:
            eof = True
        elif isinstance(item, _Problem):
            recorder.problem(item.text)
        elif isinstance(item, Report):
            kept = recorder.add(item.step, item.metrics)
            if on_report is not None:
                on_report(item.step, kept)
        if at_most is None and time.monotonic() - started >= _POLL_S:
            return eof
    return eof


def _kill_group(process: subprocess.Popen[bytes], sig: int) -> None:
    """Sends a signal to the process group of ``process``; quiet if nothing is left."""
    if _POSIX:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
    elif process.poll() is None:  # pragma: no cover - not POSIX
        if sig == signal.SIGTERM:
            process.terminate()
        else:
            process.kill()


def _read_metrics_file(
    path: Path, problems: list[str] | None = None
) -> tuple[dict[str, float] | None, str | None]:
    """Returns (metrics, error) from the metrics file; (None, None) if there is none.

    What the function runner dropped from a return value (under :data:`PROBLEMS_KEY`) goes
    to ``problems``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot read the metrics file ${METRICS_ENV} ({exc.strerror})"
    try:
        data = loads(text)
    except ValueError as exc:
        return None, _one_line(f"the metrics file ${METRICS_ENV} is not valid JSON ({exc})")
    if not isinstance(data, dict):
        return None, (
            f"the metrics file ${METRICS_ENV} holds a JSON {type(data).__name__}; write an "
            'object of metric names and numbers, e.g. {"val_accuracy": 0.91}'
        )
    passed = data.pop(PROBLEMS_KEY, None)
    if problems is not None and isinstance(passed, list):
        problems.extend(str(p) for p in passed[:3])
    return _metrics_from_return(data, problems, source=f"the metrics file ${METRICS_ENV}"), None


class CommandExecutor:
    """Runs each trial as a program: an argv list, never through a shell.

    The configuration reaches the program in two ways:

    * as arguments: if an element of ``argv`` contains a placeholder ``{name}`` for a
      parameter of the configuration, each such placeholder is replaced by the value and
      nothing is appended; otherwise ``--name value`` is appended for every parameter, in
      the configuration's order (bools as ``true``/``false``, floats so that they
      round-trip; a string value that starts with ``-`` as ``--name=value``, so that a
      choice such as ``--help`` is never read as an option). An element with the
      placeholder of an ``optional`` parameter the configuration lacks (an inactive
      conditional parameter) is left out of argv, so write such an option as one element,
      ``--momentum={momentum}``; any other placeholder of a name not in the configuration
      stays as written. Values are separate list elements, so shell metacharacters reach
      the program literally;
    * as a JSON file whose path is in the environment variable ``AGENTHPO_CONFIG_FILE``
      (read it with :func:`agenthpo.reporter.get_config`).

    The program reports metrics with :func:`agenthpo.reporter.report` (tagged lines on
    stdout, read live) and may also write a JSON object of final metrics to the path in
    ``AGENTHPO_METRICS_FILE``, which overrides the reports. It runs in a new session (process
    group); at the time limit the whole group gets SIGTERM and, ``kill_grace`` seconds later,
    SIGKILL. Processes of the group still alive when the program exits are killed too.

    Args:
        argv: The program and its arguments, e.g. ``[sys.executable, "train.py"]``.
        cwd: Working directory of the program; default: the tuner's.
        timeout: Seconds a trial may run; None for no limit.
        env: Extra environment variables (added to the tuner's environment).
        workdir: Directory for the trial files (``trial_<n>/config.json``,
            ``metrics.json``, ``stdout.log``, ``stderr.log``), kept afterwards; default: a
            temporary directory per trial, removed when it ends.
        pass_args: False to pass the configuration only through the config file (argv is
            then used exactly as given).
        kill_grace: Seconds between SIGTERM and SIGKILL at the time limit.
        keep_metrics: Metric names never dropped by the limit on metric names.
        optional: Parameters a configuration may lack (conditional ones): an element
            holding such a parameter's placeholder is left out when it is absent.

    Raises:
        ExecutorError: ``argv`` is empty or a single string.

    Example:
        >>> import sys
        >>> executor = CommandExecutor([sys.executable, "train.py", "--lr={lr}"], timeout=600)
        >>> executor.command_line({"lr": 0.001, "epochs": 5})[1:]
        ['train.py', '--lr=0.001']
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        workdir: str | Path | None = None,
        pass_args: bool = True,
        kill_grace: float = 3.0,
        keep_metrics: Sequence[str] = (),
        optional: Collection[str] = (),
    ) -> None:
        if isinstance(argv, (str, bytes)):
            raise ExecutorError(
                f"the command must be a list of arguments, not the string {argv!r}; "
                'split it, e.g. ["python", "train.py"] (it is never run through a shell)'
            )
        if not argv:
            raise ExecutorError(
                'the command is empty; give the program and its arguments, e.g. ["python", '
                '"train.py"]'
            )
        if not all(isinstance(arg, str) for arg in argv):
            raise ExecutorError(f"every element of the command must be a string, got {argv!r}")
        if timeout is not None and not timeout > 0:
            raise ExecutorError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if env is not None and not all(
            isinstance(key, str) and isinstance(value, str) for key, value in env.items()
        ):
            raise ExecutorError("env must map variable names to strings")
        self.argv = list(argv)
        self.cwd = cwd
        self.timeout = timeout
        self.env = dict(env) if env is not None else {}
        self.workdir = workdir
        self.pass_args = pass_args
        self.kill_grace = kill_grace
        self.keep_metrics = tuple(keep_metrics)
        self.optional = frozenset(optional)
        self._warned_unplaced: set[str] = set()

    def command_line(self, config: Mapping[str, Any]) -> list[str]:
        """Returns the argv a trial with this configuration runs.

        Args:
            config: Parameter names and values.

        Returns:
            The argv list.

        Example:
            >>> CommandExecutor(["prog"]).command_line({"lr": 0.1, "adam": True})
            ['prog', '--lr', '0.1', '--adam', 'true']
        """
        return _command_line(self.argv, config, self.pass_args, self.optional)

    def run(
        self,
        config: Mapping[str, Any],
        *,
        trial_number: int,
        on_report: ReportCallback | None = None,
        on_start: StartCallback | None = None,
        timeout: float | None = None,
    ) -> TrialResult:
        """Runs one trial and waits for it.

        Args:
            config: Parameter names and values.
            trial_number: The trial's number (names ``trial_<n>`` and sets
                ``AGENTHPO_TRIAL_NUMBER``).
            on_report: Called as ``on_report(step, metrics)`` for each report as it
                arrives, in the calling thread. If it raises, the program's process group
                is killed and the exception propagates.
            on_start: Called with the process id (which is also its process group id)
                once the program started, e.g. to record it so that a later run can clean
                up after a crash of this one.
            timeout: Seconds for this run, instead of the executor's ``timeout`` (the
                tuner passes what is left of a study-wide time limit).

        Returns:
            The result: ``"ok"``, ``"failed"`` (non-zero exit status, or an invalid metrics
            file) or ``"timeout"``.

        Raises:
            ExecutorError: The program cannot be started, or the trial files cannot be
                written.
        """
        command = self.command_line(config)
        self._warn_unplaced(config)
        cleanup = self.workdir is None
        if self.workdir is not None:
            root = Path(self.workdir)
        else:
            try:
                root = Path(tempfile.mkdtemp(prefix="agenthpo-"))
            except OSError as exc:
                raise ExecutorError(f"cannot create a temporary directory: {exc}") from exc
        try:
            trial_dir = root / f"trial_{trial_number}"
            config_path = trial_dir / "config.json"
            metrics_path = trial_dir / "metrics.json"
            try:
                trial_dir.mkdir(parents=True, exist_ok=True)
                config_path.write_text(
                    json.dumps(dict(config), indent=2, allow_nan=True, default=_json_default)
                    + "\n",
                    encoding="utf-8",
                )
                metrics_path.unlink(missing_ok=True)  # a stale file of an earlier run
            except OSError as exc:
                raise ExecutorError(
                    f"cannot write the trial files under {str(trial_dir)!r} ({exc}); "
                    "choose a writable workdir"
                ) from exc
            except (TypeError, ValueError) as exc:
                raise ExecutorError(
                    f"the configuration cannot be written as JSON ({exc}); parameter values "
                    "must be numbers, strings, bools or None"
                ) from exc
            env = dict(os.environ)
            env["PYTHONUNBUFFERED"] = "1"
            env.update(self.env)
            env[CONFIG_ENV] = str(config_path.resolve())
            env[METRICS_ENV] = str(metrics_path.resolve())
            env[TRIAL_ENV] = str(trial_number)
            return self._execute(
                command,
                env=env,
                metrics_path=metrics_path,
                log_dir=None if cleanup else trial_dir,
                on_report=on_report,
                on_start=on_start,
                timeout=self.timeout if timeout is None else timeout,
            )
        finally:
            if cleanup:
                shutil.rmtree(root, ignore_errors=True)

    def _warn_unplaced(self, config: Mapping[str, Any]) -> None:
        if not self.pass_args or not _uses_placeholders(self.argv, config, self.optional):
            return
        joined = "\n".join(self.argv)
        missing = {name for name in config if "{" + name + "}" not in joined}
        new = sorted(missing - self._warned_unplaced)
        if new:
            self._warned_unplaced.update(new)
            _logger.warning(
                "The command has placeholders but none for %s; the program gets %s only "
                "through the config file (agenthpo.reporter.get_config())",
                ", ".join(new),
                "it" if len(new) == 1 else "them",
            )

    def _start(self, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        cwd = None if self.cwd is None else Path(self.cwd)
        if cwd is not None and not cwd.is_dir():
            raise ExecutorError(
                f"the working directory {str(cwd)!r} of the trial command does not exist; fix cwd"
            )
        program = command[0]
        if os.sep not in program and (os.altsep is None or os.altsep not in program):
            where = " on PATH"  # a bare name is looked up there, never in the working directory
        elif cwd is not None and not os.path.isabs(program):
            where = f" (relative to the working directory {str(cwd)!r})"
        else:
            where = ""
        try:
            return subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=_POSIX,
                # If the tuner dies (even by SIGKILL), the kernel kills the program too.
                preexec_fn=_die_with_parent if _PDEATHSIG else None,
            )
        except FileNotFoundError as exc:
            raise ExecutorError(
                f"cannot start the trial command: program {program!r} not found{where}; "
                "check the spelling, give its full path or put it on PATH (for a Python "
                "script use [sys.executable, 'script.py'])"
            ) from exc
        except PermissionError as exc:
            raise ExecutorError(
                f"cannot start the trial command: permission denied for {program!r}{where}; "
                "make it executable (chmod +x) or run it through its interpreter, e.g. "
                "['python', 'script.py']"
            ) from exc
        except OSError as exc:
            raise ExecutorError(
                f"cannot start the trial command {program!r}: {exc.strerror or exc}; if it "
                "is a script without a '#!' line, run it through its interpreter"
            ) from exc

    def _execute(
        self,
        command: list[str],
        *,
        env: dict[str, str],
        metrics_path: Path,
        log_dir: Path | None,
        on_report: ReportCallback | None,
        on_start: StartCallback | None = None,
        timeout: float | None = None,
    ) -> TrialResult:
        logs: list[IO[bytes]] = []
        stdout_log = stderr_log = None
        if log_dir is not None:
            try:
                stdout_log = open(log_dir / "stdout.log", "wb")  # noqa: SIM115
                logs.append(stdout_log)
                stderr_log = open(log_dir / "stderr.log", "wb")  # noqa: SIM115
                logs.append(stderr_log)
            except OSError as exc:
                _logger.warning("Cannot write the trial's output logs: %s", exc)
        start = time.monotonic()
        become_subreaper()  # orphans of the trial come to us, to be ended with it
        try:
            process = self._start(command, env)
        except BaseException:
            for log in logs:
                log.close()
            raise
        _logger.debug("Trial started (pid %d): %s", process.pid, command)
        tree = ProcessTree(process.pid)
        if on_start is not None:
            try:
                on_start(process.pid)
            except Exception:
                _logger.warning("recording the trial's process failed", exc_info=True)
        assert process.stdout is not None
        assert process.stderr is not None
        stdout_tail, stderr_tail = _Tail(), _Tail()
        reports: queue.SimpleQueue[object] = queue.SimpleQueue()
        readers = [
            threading.Thread(
                target=_pump,
                args=(process.stdout, stdout_tail, stdout_log, reports),
                name=f"agenthpo-stdout-{process.pid}",
                daemon=True,
            ),
            threading.Thread(
                target=_pump,
                args=(process.stderr, stderr_tail, stderr_log, reports),
                kwargs={"stderr": True},
                name=f"agenthpo-stderr-{process.pid}",
                daemon=True,
            ),
        ]
        for reader in readers:
            reader.start()

        recorder = _CurveRecorder(keep=self.keep_metrics)
        deadline = None if timeout is None else start + timeout
        timed_out = False
        term_sent_at: float | None = None
        kill_sent = False
        exited_at: float | None = None
        stdout_done = False
        stdout_reader = readers[0]
        try:
            while True:
                stdout_done = _take_reports(reports, recorder, on_report) or stdout_done
                now = time.monotonic()
                if exited_at is None:
                    tree.scan()
                if exited_at is None and process.poll() is not None:
                    exited_at = now
                    _kill_group(process, _SIGKILL)  # leftovers of the group
                    tree.end()  # and those that left it
                if exited_at is not None:
                    if stdout_done:
                        break
                    if not stdout_reader.is_alive():
                        continue  # the pipe is closed: the rest of the queue is a backlog
                    if now - exited_at > _DRAIN_S:
                        _logger.warning(
                            "A process started by the trial (outside its process group) "
                            "still holds its stdout open; not waiting for it"
                        )
                        break
                    continue
                if deadline is not None and now >= deadline and term_sent_at is None:
                    timed_out = True
                    term_sent_at = now
                    _logger.info(
                        "Trial timed out after %s s; stopping its process group",
                        _seconds(timeout or 0.0),
                    )
                    _kill_group(process, signal.SIGTERM)
                    tree.signal(signal.SIGTERM)
                grace_over = term_sent_at is not None and now - term_sent_at >= self.kill_grace
                if grace_over and not kill_sent:
                    kill_sent = True
                    _kill_group(process, _SIGKILL)
                    tree.signal(_SIGKILL)
        except BaseException:
            # KeyboardInterrupt, or on_report raised (e.g. to prune): stop the whole group.
            _kill_group(process, _SIGKILL)
            tree.signal(_SIGKILL)
            process.wait()
            tree.end()
            raise
        finally:
            if process.poll() is None:  # pragma: no cover - defensive
                _kill_group(process, _SIGKILL)
                process.wait()
            tree.end()
            for reader in readers:
                reader.join(timeout=_DRAIN_S)
            if not any(reader.is_alive() for reader in readers):
                process.stdout.close()
                process.stderr.close()
                for log in logs:
                    log.close()
        duration = time.monotonic() - start
        # Reports that arrived after the loop ended (only when a pipe stayed open): they
        # reach on_report too, so the pruner and the storage see the whole curve.
        _take_reports(reports, recorder, on_report, wait=0.0, at_most=reports.qsize())
        code = process.returncode
        status: Literal["ok", "failed", "timeout"]
        metrics = dict(recorder.last)
        error: str | None = None
        err_text = stderr_tail.text()
        if timed_out:
            status = "timeout"
            # to a tenth of a second: a limit cut to the study's time left is no round number
            error = f"timed out after {_seconds(timeout or 0.0)} s"
        elif code != 0:
            status = "failed"
            error = _failure_line(err_text, code)
        else:
            status = "ok"
            dropped: list[str] = []
            file_metrics, file_error = _read_metrics_file(metrics_path, dropped)
            for problem in dropped:
                recorder.problem(problem)
            if file_error is not None:
                status, error = "failed", file_error
            elif file_metrics is not None:
                metrics.update(recorder.admit(file_metrics))
        _logger.debug("Trial finished: %s in %.1f s (exit status %s)", status, duration, code)
        return TrialResult(
            status=status,
            metrics=metrics,
            curve=recorder.points(),
            metrics_cut=recorder.note(),
            problems=recorder.problems,
            error=error,
            exit_code=code,
            stdout_tail=stdout_tail.text(),
            stderr_tail=err_text,
            duration_s=duration,
        )


def _seconds(seconds: float) -> str:
    """A time limit for a person: a tenth of a second over one, two digits under it (a
    limit cut to the study's time left is no round number).

    Example:
        >>> _seconds(3600.0), _seconds(5.82881), _seconds(0.0312)
        ('3600', '5.8', '0.031')
    """
    return f"{round(seconds, 1):g}" if seconds >= 1 else f"{seconds:.2g}"
