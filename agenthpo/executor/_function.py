"""Runs a trial as a Python function: in a child process (default) or in-process.

Example:
    >>> from agenthpo.executor import FunctionExecutor
    >>> def objective(config, report):
    ...     for epoch in range(3):
    ...         report(step=epoch, loss=config["lr"] / (epoch + 1))
    ...     return {"loss": config["lr"] / 10}
    >>> result = FunctionExecutor(objective, isolate=False).run({"lr": 1.0}, trial_number=0)
    >>> result.status, result.metrics, len(result.curve)
    ('ok', {'loss': 0.1}, 3)
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.machinery
import importlib.util
import inspect
import logging
import os
import re
import site
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from agenthpo.errors import ExecutorError
from agenthpo.executor._base import (
    TAIL_CHARS,
    ReportCallback,
    StartCallback,
    TrialResult,
    _CurveRecorder,
    _exception_line,
    _metrics_from_return,
)
from agenthpo.executor._command import CommandExecutor
from agenthpo.reporter import active_reporter, report

__all__ = ["FunctionExecutor"]

_logger = logging.getLogger("agenthpo")

_RUNNER_MODULE = "agenthpo.executor._runner"
_IDENTIFIER_PATH = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_TARGET = re.compile(rf"^({_IDENTIFIER_PATH}):({_IDENTIFIER_PATH})$")
_TARGET_EXAMPLE = "e.g. 'train:objective' for the function objective in train.py"
_WHERE_HINT = (
    "check the name (a task file's module is found beside the task file; in Python, pass "
    "the directory that holds it as search_path)"
)


def _split_target(target: str) -> tuple[str, str]:
    """Splits ``"package.module:callable"``; raises ExecutorError for any other form.

    The hints serve both callers: a task file's ``function:`` (whose module is found beside
    the task file, and which has no ``search_path``) and ``FunctionExecutor`` in Python.
    """
    match = _TARGET.match(target.strip())
    module_part, _, function_part = target.strip().partition(":")
    if match is not None and not module_part.endswith(".py"):
        return match.group(1), match.group(2)
    if module_part.endswith(".py") or "/" in module_part or "\\" in module_part:
        stem = Path(module_part.replace("\\", "/")).stem or "module"
        suggestion = f"{stem}:{function_part or 'function'}"
        hint = (
            f"give the module name, not the file path: write {suggestion!r} (in a task file "
            "the module is found beside the task file; in Python, pass the file's directory "
            "as search_path)"
        )
    elif ":" not in target:
        hint = f"add ':' and the function's name ({_TARGET_EXAMPLE})"
    else:
        hint = f"both parts must be dotted Python names ({_TARGET_EXAMPLE})"
    raise ExecutorError(f"invalid function target {target!r}: {hint}")


def _resolve_attribute(module: Any, module_name: str, attr_path: str) -> Callable[..., Any]:
    obj = module
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ExecutorError(
                f"module {module_name!r} has no attribute {attr_path!r}; check the name after "
                f"the ':' in '{module_name}:{attr_path}'"
            ) from None
    if not callable(obj):
        raise ExecutorError(
            f"'{module_name}:{attr_path}' is a {type(obj).__name__}, not a function; point "
            "the target at the objective function"
        )
    return obj  # type: ignore[no-any-return]


def _load_target(target: str) -> Callable[..., Any]:
    """Imports ``"package.module:callable"`` and returns the callable.

    Raises:
        ExecutorError: Bad form, module not found, attribute missing or not callable.
        Exception: Whatever importing the module raises (it was found, but its code failed).
    """
    module_name, attr_path = _split_target(target)
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (
            module_name == exc.name or module_name.startswith(exc.name + ".")
        ):
            raise ExecutorError(
                f"cannot import module {module_name!r} of the function target {target!r}: "
                f"{exc}; {_WHERE_HINT}"
            ) from exc
        raise
    return _resolve_attribute(module, module_name, attr_path)


def _positional_capacity(fn: Callable[..., Any]) -> int:
    """How many positional arguments ``fn`` takes (2 if unknown or unlimited)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    count = 0
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return 2
        if parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            count += 1
    return count


def _call_objective(
    fn: Callable[..., Any], config: dict[str, Any], report_fn: Callable[..., None]
) -> Any:
    """Calls ``fn(config, report)``, or ``fn(config)`` if it takes one argument.

    A function with a ``seed`` argument gets the configuration's ``seed`` (the tuner's
    re-evaluation seed) there as well, e.g. ``fn(config, report, seed=1)``.
    """
    seeded: dict[str, Any] = {}
    after: list[str] = []
    if "seed" in config:
        try:
            parameters = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            parameters = []
        names = [p.name for p in parameters]
        if "seed" in names[1:]:
            seeded = {"seed": config["seed"]}
            after = names[1 : names.index("seed")]
    if seeded and not after:
        return fn(config, **seeded)  # fn(config, seed): no room for the reporter
    if _positional_capacity(fn) == 1:
        return fn(config, **seeded)
    return fn(config, report_fn, **seeded)


@contextmanager
def _sys_path_prepended(paths: Sequence[str]) -> Iterator[None]:
    saved = list(sys.path)
    sys.path[:0] = list(paths)
    try:
        yield
    finally:
        sys.path[:] = saved


def _check_findable(
    module_name: str,
    target: str,
    search_path: Sequence[str],
    attr_path: str = "",
    cwd: str | None = None,
) -> None:
    """Checks that a module exists, and that it defines the function's name, without running
    the code of it or its packages (so a misspelt name costs no trial).

    ``cwd`` is the child's working directory (default: this process's).
    """
    parts = module_name.split(".")
    importlib.invalidate_caches()
    # The child runs ``python -m``, which puts its working directory first on sys.path.
    with _sys_path_prepended([*search_path, cwd or os.getcwd()]):
        try:
            spec = importlib.util.find_spec(parts[0])
        except (ImportError, ValueError):
            spec = None
    fullname = parts[0]
    for part in parts[1:]:
        if spec is None:
            break
        locations = spec.submodule_search_locations
        if locations is None:
            raise ExecutorError(
                f"{fullname!r} is a module, not a package, so the function target {target!r} "
                "cannot name a submodule of it"
            )
        fullname = f"{fullname}.{part}"
        if fullname in sys.modules:
            spec = getattr(sys.modules[fullname], "__spec__", None) or spec
            continue
        spec = importlib.machinery.PathFinder.find_spec(fullname, list(locations))
    if spec is None:
        where = f" in {list(search_path)} or" if search_path else ""
        raise ExecutorError(
            f"cannot find module {module_name!r} of the function target {target!r}{where} on "
            f"the Python path; {_WHERE_HINT}"
        )
    if attr_path and spec.submodule_search_locations is None:
        _check_defines(spec.origin, module_name, attr_path.split(".")[0], target)


def _bound_names(tree: ast.Module) -> set[str] | None:
    """Every name the module's source could bind, at any depth; None if it could bind any
    name at all (a star import, a module ``__getattr__``).

    Generous on purpose: a name bound anywhere (even inside a function, or given as a string,
    as ``globals()["f"] = ...`` would) counts, so only a name that is clearly absent is
    reported.
    """
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == "__getattr__":
                return None
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            if node.id == "__getattr__":
                return None
            names.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


def _defined_names(tree: ast.Module) -> list[str]:
    """The names the module defines at its top level, for a did-you-mean."""
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append(node.name)
        elif isinstance(node, ast.Assign):
            found += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.append(node.target.id)
    return found


def _check_defines(origin: str | None, module_name: str, name: str, target: str) -> None:
    """Raises ExecutorError if the module's source (``origin``) clearly never binds ``name``.

    The source is parsed, never run. Anything unsure (no Python source, a syntax error, a
    star import, a module ``__getattr__``) passes: the trial's import then says what is
    wrong.
    """
    if origin is None or not origin.endswith(".py"):
        return
    try:
        source = Path(origin).read_bytes()
        tree = ast.parse(source, filename=origin)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return
    names = _bound_names(tree)
    if names is None or name in names:
        return
    close = difflib.get_close_matches(name, _defined_names(tree), n=1)
    mean = f"did you mean {close[0]!r}? " if close else ""
    raise ExecutorError(
        f"module {module_name!r} ({origin}) defines no {name!r}, so the function target "
        f"{target!r} cannot be run; {mean}check the name after the ':'"
    )


def _package_root() -> str:
    """The directory that holds the ``agenthpo`` package."""
    return str(Path(__file__).resolve().parents[2])


def _child_env() -> dict[str, str]:
    """Environment additions so that the child interpreter can import this agenthpo."""
    root = _package_root()
    known = {os.path.realpath(p) for p in site.getsitepackages()}
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        known.add(os.path.realpath(user_site))
    current = os.environ.get("PYTHONPATH", "")
    if os.path.realpath(root) in known or root in current.split(os.pathsep):
        return {}
    return {"PYTHONPATH": root + (os.pathsep + current if current else "")}


def _target_of_callable(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if (
        not isinstance(module, str)
        or not isinstance(qualname, str)
        or module == "__main__"
        or not _TARGET.match(f"{module}:{qualname}")
    ):
        raise ExecutorError(
            f"{fn!r} cannot be run in a separate process because it cannot be imported by "
            "name (a lambda, a nested function, or defined in the main script); move it to a "
            "module and pass 'module:function', or use isolate=False"
        )
    return f"{module}:{qualname}"


class FunctionExecutor:
    """Runs each trial by calling a Python function.

    The function is called as ``fn(config, report)`` (or ``fn(config)`` if it takes one
    argument), where ``config`` is a dict of parameter values and ``report(step=None,
    **metrics)`` reports metrics (:func:`agenthpo.reporter.report` works too). It may return
    a number (the objective's value: stored as the metric named by ``metric``, overriding
    what was reported under that name), a mapping of metric names to numbers (final
    metrics, overriding the reports), or None (the last report of each metric counts).

    With ``isolate=True`` (the default for a target string) the function runs in a child
    Python process (``python -m agenthpo.executor._runner module:function``), so a crash,
    a segfault or a leak cannot take the tuner down, and the timeout really stops it. With
    ``isolate=False`` (the default for a callable) it runs in the tuner's process: faster to
    start and fine for quick, trusted functions, but ``timeout`` is not enforced and a crash
    is the tuner's crash.

    Args:
        target: ``"package.module:function"``, or the function itself. A function object
            with ``isolate=True`` must be importable by name (defined at module level, not
            in the main script).
        search_path: A directory put first on ``sys.path`` to find the module. For
            in-process runs it is added to ``sys.path`` for good.
        isolate: Run in a child process; default True for target strings, False for
            callables.
        timeout: Seconds a trial may run (child process only; ignored in-process).
        keep_metrics: Metric names never dropped by the limit on metric names.
        metric: The name under which a returned number is stored: the objective's metric
            (the tuner passes it for a single-objective task); ``"value"`` by default.
        cwd: The folder the function runs in, so that its relative paths resolve there
            (the tuner passes the task file's folder, where a command trial runs too); it
            is also where ``python -m`` finds the module. Only a child process can have a
            folder of its own: an in-process run (``isolate=False``) runs in this
            process's working directory, whatever ``cwd`` says. Default: this process's.

    Raises:
        ExecutorError: The target is malformed or cannot be found; in-process, also if
            importing it fails or it is not callable.

    Example:
        >>> executor = FunctionExecutor("train:objective", search_path="examples/quad")
        ... # doctest: +SKIP
        >>> executor.run({"x": 0.5}, trial_number=0).metrics  # doctest: +SKIP
        {'value': 0.25}
    """

    def __init__(
        self,
        target: str | Callable[..., Any],
        *,
        search_path: str | Path | None = None,
        isolate: bool | None = None,
        timeout: float | None = None,
        keep_metrics: Sequence[str] = (),
        metric: str = "value",
        cwd: str | Path | None = None,
    ) -> None:
        if not isinstance(metric, str) or not metric:
            raise ExecutorError(f"metric must be a non-empty metric name, got {metric!r:.100}")
        self.target = target
        self.metric = metric
        self.cwd = None if cwd is None else str(Path(cwd).resolve())
        self.search_path = None if search_path is None else str(Path(search_path).resolve())
        self.timeout = timeout
        self.keep_metrics = tuple(keep_metrics)
        paths = [] if self.search_path is None else [self.search_path]
        self._fn: Callable[..., Any] | None = None
        self._command: CommandExecutor | None = None
        module_name = target_name = attr_path = ""
        if isinstance(target, str):
            module_name, attr_path = _split_target(target)
            self.isolate = True if isolate is None else isolate
            target_name = target.strip()
        elif callable(target):
            self.isolate = False if isolate is None else isolate
            if self.isolate:
                target_name = _target_of_callable(target)
                module_name, attr_path = _split_target(target_name)
            else:
                self._fn = target
        else:
            raise ExecutorError(
                f"the function target must be 'module:function' or a callable, got "
                f"{type(target).__name__} {target!r:.100}"
            )
        if self.isolate:
            if self.cwd is not None and not Path(self.cwd).is_dir():
                raise ExecutorError(
                    f"the working directory {self.cwd!r} of the function does not exist; fix cwd"
                )
            _check_findable(module_name, target_name, paths, attr_path, cwd=self.cwd)
            argv = [sys.executable, "-m", _RUNNER_MODULE]
            for path in paths:
                argv += ["--search-path", path]
            argv += [f"--metric={metric}", target_name]  # one element: a name may start with "-"
            self._command = CommandExecutor(
                argv,
                cwd=self.cwd,
                timeout=timeout,
                env=_child_env(),
                pass_args=False,
                keep_metrics=self.keep_metrics,
            )
        else:
            if timeout is not None:
                _logger.warning(
                    "FunctionExecutor(isolate=False) cannot enforce timeout=%g s; use "
                    "isolate=True to stop trials at the time limit",
                    timeout,
                )
            if self._fn is None:
                for path in paths:
                    if path not in sys.path:
                        sys.path.insert(0, path)
                try:
                    self._fn = _load_target(target_name)
                except ExecutorError:
                    raise
                except Exception as exc:
                    raise ExecutorError(
                        f"importing the function target {target_name!r} failed: "
                        f"{_exception_line(exc)}"
                    ) from exc

    def run(
        self,
        config: Mapping[str, Any],
        *,
        trial_number: int,
        on_report: ReportCallback | None = None,
        on_start: StartCallback | None = None,
        timeout: float | None = None,
    ) -> TrialResult:
        """Runs one trial.

        Args:
            config: Parameter names and values (the function gets a copy as a dict).
            trial_number: The trial's number.
            on_report: Called as ``on_report(step, metrics)`` for each report as it is
                made. If it raises, the trial stops and the exception propagates.
            on_start: Called with the child's process id (isolated runs only).
            timeout: Seconds for this run instead of the executor's (isolated runs only).

        Returns:
            The result; an exception in the function gives status ``"failed"`` with its
            last line as ``error`` and the traceback in ``stderr_tail``.

        Raises:
            ExecutorError: The child process cannot be started.
        """
        if self._command is not None:
            return self._command.run(
                config,
                trial_number=trial_number,
                on_report=on_report,
                on_start=on_start,
                timeout=timeout,
            )
        assert self._fn is not None
        return self._run_in_process(self._fn, config, on_report)

    def _run_in_process(
        self,
        fn: Callable[..., Any],
        config: Mapping[str, Any],
        on_report: ReportCallback | None,
    ) -> TrialResult:
        recorder = _CurveRecorder(keep=self.keep_metrics)
        callback_errors: list[BaseException] = []

        def callback(step: int | None, metrics: dict[str, float]) -> None:
            kept = recorder.add(step, metrics)
            if on_report is not None:
                try:
                    on_report(step, kept)
                except BaseException as exc:
                    callback_errors.append(exc)
                    raise

        status: Literal["ok", "failed", "timeout"] = "ok"
        error: str | None = None
        stderr_tail = ""
        returned: dict[str, float] | None = None
        start = time.monotonic()
        with active_reporter(callback):
            try:
                value = _call_objective(fn, dict(config), report)
            except (Exception, SystemExit) as exc:
                if callback_errors:
                    raise callback_errors[0] from None
                status, error = "failed", _exception_line(exc)
                stderr_tail = traceback.format_exc()[-TAIL_CHARS:]
            else:
                if callback_errors:
                    raise callback_errors[0]
                try:
                    dropped: list[str] = []
                    returned = _metrics_from_return(value, dropped, metric=self.metric)
                    for problem in dropped:
                        recorder.problem(problem)
                except TypeError as exc:
                    status, error = "failed", _exception_line(exc)
        duration = time.monotonic() - start
        metrics = dict(recorder.last)
        if status == "ok" and returned is not None:
            metrics.update(recorder.admit(returned))
        return TrialResult(
            status=status,
            metrics=metrics,
            curve=recorder.points(),
            metrics_cut=recorder.note(),
            problems=recorder.problems,
            error=error,
            exit_code=None,
            stdout_tail="",
            stderr_tail=stderr_tail,
            duration_s=duration,
        )
