"""Confinement of every path the MCP server touches to one root folder.

Example:
    >>> import tempfile
    >>> root = Root(tempfile.mkdtemp())
    >>> root.path("task.yaml", what="task_file", must_exist=False).name
    'task.yaml'
    >>> root.path("../etc/passwd", what="task_file")
    Traceback (most recent call last):
    ...
    agenthpo.mcp._paths.PathOutsideRootError: task_file '../etc/passwd' is outside ...
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from agenthpo.errors import AgentHPOError
from agenthpo.task import Task

__all__ = ["PathOutsideRootError", "Root"]

_FILE_PREFIXES = ("sqlite:///", "journal:")


class PathOutsideRootError(AgentHPOError):
    """A path given to (or named by a task given to) the MCP server leaves its root folder."""


class Root:
    """The folder the server may read and write in; every path is resolved inside it.

    Args:
        root: The folder (``agenthpo mcp --root``); symbolic links are resolved, so a link
            that points outside is refused too.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def path(self, value: str, *, what: str, must_exist: bool = True) -> Path:
        """``value`` (relative to the root, or absolute) resolved, if it lies inside the root.

        Raises:
            PathOutsideRootError: It leaves the root (``..``, an absolute path elsewhere, a
                symbolic link pointing out).
            AgentHPOError: It is empty, holds a NUL byte, or (with ``must_exist``) is missing.
        """
        if not value or "\x00" in value:
            raise AgentHPOError(f"{what}: give a non-empty path without NUL bytes")
        given = Path(os.path.expanduser(value)) if value.startswith("~") else Path(value)
        full = (given if given.is_absolute() else self.root / given).resolve()
        if not self.contains(full):
            raise PathOutsideRootError(
                f"{what} {value!r} is outside the server's root {self.root}; give a path"
                " inside it (agenthpo mcp --root DIR sets the root)"
            )
        if must_exist and not full.exists():
            raise AgentHPOError(f"{what} {value!r}: no such file under {self.root}")
        return full

    def contains(self, path: Path) -> bool:
        """Whether ``path`` (resolved) is the root or lies under it."""
        resolved = path.resolve()
        return resolved == self.root or self.root in resolved.parents

    def relative(self, path: Path) -> str:
        """``path`` relative to the root, as results show it."""
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def storage_url(self, url: str, *, what: str) -> None:
        """Refuses a file storage (SQLite, journal) outside the root; servers pass."""
        for prefix in _FILE_PREFIXES:
            if url.startswith(prefix):
                location = url.removeprefix(prefix)
                if not location or location == ":memory:":
                    return
                self.path(location, what=what, must_exist=False)

    def check_task(self, task: Task) -> None:
        """Refuses a task that would read, write or run anything outside the root.

        Its folder, its storage, a warm-start study's storage, a function's module and every
        argument of its command that names an existing file (an option's value after ``=``,
        as in ``--script=PATH``, included) must lie inside the root; the
        command's program must be Python or a file inside the root (or a program on
        ``PATH`` given by bare name, e.g. ``Rscript``). Nothing ever runs through a shell.
        """
        base = task.base_dir
        if not self.contains(base):
            raise PathOutsideRootError(f"the task's folder {base} is outside the root {self.root}")
        self.storage_url(task.default_storage(), what="the task's storage")
        if task.warm_start_from is not None:
            url = task.warm_start_from.study.partition("#")[0]
            self.storage_url(url, what="warm_start_from")
        if task.function is not None:
            module = task.function.split(":", 1)[0].strip()
            stem = base / Path(*module.split("."))
            candidates = [stem.with_suffix(".py"), stem / "__init__.py"]
            if not any(c.exists() and self.contains(c) for c in candidates):
                raise PathOutsideRootError(
                    f"function {task.function!r}: its module must be a file under the task's"
                    f" folder inside the root ({stem.with_suffix('.py')} is not there)"
                )
        if task.command:
            program, *args = task.command
            if program not in ("python", "python3", sys.executable):
                if os.sep in program or "/" in program:
                    self.path(str(base / program), what="the command's program")
                elif shutil.which(program) is None:
                    raise AgentHPOError(f"command: no program {program!r} on PATH")
            for given in args:
                for arg in _named_paths(given):
                    if not arg or "{" in arg or "\x00" in arg:
                        continue
                    candidate = Path(arg) if Path(arg).is_absolute() else base / arg
                    try:
                        exists = candidate.exists()
                    except OSError:
                        exists = False
                    if exists and not self.contains(candidate):
                        raise PathOutsideRootError(
                            f"command argument {given!r} names {candidate.resolve()}, outside"
                            f" the root {self.root}"
                        )


def _named_paths(arg: str) -> list[str]:
    """What one command argument may name as a file: itself, the value of an option or a
    setting given in it (``--script=PATH``, Hydra's ``data.path=PATH``), and the value of a
    short option glued to it (``-oPATH``); an option alone names none.

    Example:
        >>> _named_paths("--script=../x.py"), _named_paths("data.dir=/d"), _named_paths("-o../x")
        (['../x.py'], ['data.dir=/d', '/d'], ['../x'])
    """
    if arg.startswith("--"):
        return [arg.partition("=")[2]]
    if arg.startswith("-"):
        return [arg[2:].removeprefix("=")] if len(arg) > 2 else []
    named = [arg]
    if "=" in arg:
        named.append(arg.partition("=")[2])
    return named
