"""Reading a training script's hyperparameters statically, with :mod:`ast`.

The script is parsed, never imported or run. Four styles are read: argparse
(``parser.add_argument``), click (``@click.option``), typer (a command's parameters) and a
plain function's signature (names, annotations, defaults). A function that takes a config
mapping (``def objective(config, report)``) is read from the keys it looks up in it.

This module chooses the front-end and assembles the :class:`ScriptInfo`; each front-end
has its own module (``_argparse``, ``_click``, ``_typer``, ``_signature``), on top of what
they share: the module's facts (``_facts``), static evaluation (``_static``), the
:class:`Option` they make (``_option``) and the metric names (``_metrics``).

Example:
    >>> info = read_source('''
    ... import argparse
    ... p = argparse.ArgumentParser()
    ... p.add_argument("--lr", type=float, default=0.01, help="step size")
    ... ''', path="train.py")
    >>> [(o.name, o.kind, o.default) for o in info.options]
    [('lr', 'float', 0.01)]
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Sequence
from pathlib import Path

from agenthpo.errors import TaskError
from agenthpo.scaffold._argparse import _argparse_options
from agenthpo.scaffold._click import _click_options, _group_command, _is_click_command
from agenthpo.scaffold._facts import _Module
from agenthpo.scaffold._metrics import _metrics
from agenthpo.scaffold._option import Option, ScriptInfo, Style, _dedupe
from agenthpo.scaffold._signature import _function_options
from agenthpo.scaffold._static import _first_paragraph, _FunctionNode
from agenthpo.scaffold._typer import _typer_commands, _typer_options, _typer_subcommand

__all__ = ["Option", "ScriptInfo", "check_script", "read_source", "read_target", "split_target"]

_FUNCTION_RE = re.compile(r"^[A-Za-z_]\w*$")


def split_target(target: str) -> tuple[Path, str | None]:
    """Splits ``"train.py"`` or ``"train.py:function"`` into the path and the function.

    Example:
        >>> split_target("src/train.py:fit")
        (PosixPath('src/train.py'), 'fit')
        >>> split_target("train.py")
        (PosixPath('train.py'), None)
    """
    head, sep, tail = target.rpartition(":")
    if sep and head.endswith(".py") and _FUNCTION_RE.match(tail):
        return Path(head), tail
    if sep and head.endswith(".py"):
        raise TaskError(
            f"{target}: {tail!r} is not a function name; write SCRIPT.py:FUNCTION, e.g."
            " train.py:fit"
        )
    return Path(target), None


def read_target(target: str | Path) -> ScriptInfo:
    """Reads the hyperparameters of ``SCRIPT.py`` or ``SCRIPT.py:FUNCTION`` without running it.

    Raises:
        TaskError: The file is missing or unreadable, is not Python, the function does not
            exist, or no option or parameter was found.

    Example:
        >>> import pathlib, tempfile
        >>> script = pathlib.Path(tempfile.mkdtemp()) / "fit.py"
        >>> _ = script.write_text("def fit(lr: float = 0.1, depth: int = 3): ...")
        >>> [(o.name, o.kind) for o in read_target(f"{script}:fit").options]
        [('lr', 'float'), ('depth', 'int')]
    """
    path, function = split_target(str(target))
    check_script(path)
    try:
        text = _decode(path.read_bytes())
    except FileNotFoundError:
        raise TaskError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TaskError(f"{path}: is a directory; give the training script") from None
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise TaskError(f"{path}: cannot read the file ({reason})") from None
    return read_source(text, path=path, function=function)


def check_script(path: Path) -> None:
    """Refuses ``path`` unless it names an existing Python script.

    ``agenthpo init`` calls this before anything else looks at the output file, so a typo
    in the script's name is reported as such (``--force`` would not fix it).

    Raises:
        TaskError: ``path`` does not end in ``.py``, does not exist, or is a directory.

    Example:
        >>> check_script(Path("train.yaml"))
        Traceback (most recent call last):
        ...
        agenthpo.errors.TaskError: train.yaml: give a Python script (SCRIPT.py or ...)
    """
    if path.suffix != ".py":
        raise TaskError(f"{path}: give a Python script (SCRIPT.py or SCRIPT.py:FUNCTION)")
    if path.is_dir():
        raise TaskError(f"{path}: is a directory; give the training script")
    if not path.exists():
        raise TaskError(f"{path}: no such file")


def _decode(data: bytes) -> str:
    """The source text of a script's bytes, decoded as Python decodes it.

    Python honours a UTF-8 byte-order mark and a PEP 263 coding line
    (``# -*- coding: latin-1 -*-``), so a script that runs is read here too.

    Raises:
        SyntaxError: The coding line names an unknown encoding, or contradicts the mark.
        UnicodeDecodeError: The bytes are not valid in the declared encoding.

    Example:
        >>> source = b"# -*- coding: latin-1 -*-\\nname = 'Ren\\xe9'\\n"
        >>> _decode(source).splitlines()[1] == "name = 'René'"
        True
    """
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)  # "utf-8-sig" when there is a mark: it drops it


def read_source(
    text: str, *, path: str | Path = "script.py", function: str | None = None
) -> ScriptInfo:
    """Reads the hyperparameters of Python source ``text``; see :func:`read_target`.

    Raises:
        TaskError: The source has a syntax error, the function does not exist, or no
            option or parameter was found.
    """
    path = Path(path)
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        raise TaskError(
            f"{path}: cannot be read, it has a syntax error{where}: {exc.msg}; fix the script"
        ) from None
    module = _Module(tree, path)
    info = _read_module(module, function)
    if not info.options:
        raise TaskError(_nothing_found(module, function))
    return info


def _read_module(module: _Module, function: str | None) -> ScriptInfo:
    """The options of ``function``, or of the script's command line when it is ``None``."""
    doc = _first_paragraph(ast.get_docstring(module.tree))
    if function is not None:
        node = module.functions.get(function)
        if node is None:
            close = sorted(module.functions)
            hint = f"; its functions: {', '.join(close)}" if close else ""
            raise TaskError(f"{module.path}: no function named {function!r} at module level{hint}")
        if _is_click_command(module, node):
            options = _click_options(module, node)
            return _finish(module, "click", function, options, doc, _group_command(node))
        if "typer" in module.imports and _typer_commands(module):
            names = [n.name for n in _typer_commands(module)]
            sub = _typer_subcommand(node, names)
            if node.name in names:
                options = _typer_options(module, node)
                return _finish(module, "typer", function, options, doc, sub)
        style, options = _function_options(module, node)
        return _finish(module, style, node.name, options, doc)
    if "argparse" in module.imports:
        options = _argparse_options(module)
        if options:
            return _finish(module, "argparse", None, options, doc)
    if "click" in module.imports:
        commands = [n for n in module.functions.values() if _is_click_command(module, n)]
        commands = [n for n in commands if _click_options(module, n)] or commands
        if len(commands) > 1:
            _several(module, commands)
        if commands:
            node = commands[0]
            options = _click_options(module, node)
            return _finish(module, "click", node.name, options, doc, _group_command(node))
    if "typer" in module.imports:
        commands = _typer_commands(module)
        if len(commands) > 1:
            _several(module, commands)
        if commands:
            node = commands[0]
            return _finish(module, "typer", node.name, _typer_options(module, node), doc)
    return ScriptInfo(module.path, "argparse", None, ())


def _several(module: _Module, commands: Sequence[_FunctionNode]) -> None:
    names = ", ".join(n.name for n in commands)
    raise TaskError(
        f"{module.path}: has several commands ({names}); choose one with"
        f" {module.path}:{commands[0].name}"
    )


def _nothing_found(module: _Module, function: str | None) -> str:
    """The error message when no option or parameter was found."""
    path = module.path
    if function is not None:
        return (
            f"{path}:{function}: found no parameter to tune; the function takes no"
            " parameters with names (or only reads a config that it never indexes with"
            " a literal key)"
        )
    funcs = ", ".join(sorted(module.functions)[:5])
    hint = f" (e.g. {path}:{sorted(module.functions)[0]}; its functions: {funcs})" if funcs else ""
    return (
        f"{path}: found no command-line options (argparse add_argument, click"
        " options or a typer command); to read a function's parameters instead, write"
        f" SCRIPT.py:FUNCTION{hint}"
    )


def _finish(
    module: _Module,
    style: Style,
    function: str | None,
    options: list[Option],
    doc: str,
    subcommand: str | None = None,
) -> ScriptInfo:
    node = module.functions.get(function) if function else None
    if not doc and node is not None:
        doc = _first_paragraph(ast.get_docstring(node))
    return ScriptInfo(
        path=module.path,
        style=style,
        function=function,
        options=tuple(_dedupe(options)),
        metrics=tuple(_metrics(module, node if style in ("function", "config") else None)),
        description=doc,
        subcommand=subcommand,
    )
