"""Reading a training script's hyperparameters statically, with :mod:`ast`.

The script is parsed, never imported or run. Four styles are read: argparse
(``parser.add_argument``), click (``@click.option``), typer (a command's parameters) and a
plain function's signature (names, annotations, defaults). A function that takes a config
mapping (``def objective(config, report)``) is read from the keys it looks up in it.

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
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from agenthpo.errors import TaskError

__all__ = ["Option", "ScriptInfo", "read_source", "read_target", "split_target"]

_logger = logging.getLogger("agenthpo")

Kind = Literal["float", "int", "bool", "str"]
Style = Literal["argparse", "click", "typer", "function", "config"]

_TYPE_NAMES: dict[str, Kind] = {"float": "float", "int": "int", "bool": "bool", "str": "str"}
_PATH_TYPES = {"Path", "PurePath", "FileType", "File", "open"}
_CONFIG_NAMES = {"config", "cfg", "params", "hparams", "hp", "conf", "args"}
_NOT_PARAMS = {"self", "cls", "report", "reporter", "trial"}
_FUNCTION_RE = re.compile(r"^[A-Za-z_]\w*$")


@dataclass(frozen=True)
class Option:
    """One option of a script, or one parameter of a function, as written in the source.

    Attributes:
        name: The key in the task's space (the long flag without its dashes, or the
            parameter's name).
        flag: How the command passes it (``--lr``); ``None`` for a function's parameter.
        kind: ``float``, ``int``, ``bool`` or ``str``.
        default: The default value (``None`` if there is none or it is computed).
        has_default: Whether the source gives a literal default.
        choices: The allowed values, when the source lists them.
        help: The help text.
        line: The line of the source it was read from.
        type_guess: How the type was found: ``""`` (declared), ``"from the default"`` or
            ``"assumed"``.
        low: A lower bound the source declares (``click.IntRange(1, 10)``), if any.
        high: An upper bound the source declares, if any.
        skip: Why it cannot be tuned as written, if it cannot (a flag, a positional
            argument, several values, a path).
        required: The script cannot run without it (a required positional argument or
            option); when it is left out, the command needs a value for it.
    """

    name: str
    flag: str | None
    kind: Kind
    default: Any = None
    has_default: bool = False
    choices: tuple[Any, ...] | None = None
    help: str = ""
    line: int = 0
    type_guess: str = ""
    low: float | None = None
    high: float | None = None
    skip: str | None = None
    required: bool = False


@dataclass(frozen=True)
class ScriptInfo:
    """What was read from a script.

    Attributes:
        path: The script.
        style: ``argparse``, ``click``, ``typer``, ``function`` (keyword parameters) or
            ``config`` (a function reading a config mapping).
        function: The function read, for the function styles and typer/click commands.
        options: The options in source order.
        metrics: The metric names the script reports, in order of appearance.
        description: The first paragraph of the module's (or function's) docstring.
        subcommand: The command name to put after the script (a typer/click app with
            several commands).
    """

    path: Path
    style: Style
    function: str | None
    options: tuple[Option, ...]
    metrics: tuple[str, ...] = ()
    description: str = ""
    subcommand: str | None = None


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
    if path.suffix != ".py":
        raise TaskError(f"{path}: give a Python script (SCRIPT.py or SCRIPT.py:FUNCTION)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaskError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TaskError(f"{path}: is a directory; give the training script") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(f"{path}: cannot read the file ({exc})") from None
    return read_source(text, path=path, function=function)


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
    reader = _Reader(tree, path)
    info = reader.read(function)
    if not info.options:
        raise TaskError(reader.nothing_found(function))
    return info


# ---------------------------------------------------------------------------- helpers


class _Unknown(Exception):
    """The expression cannot be worked out from the source alone."""


@dataclass(frozen=True)
class _Ref:
    """A name that is not data (a function or class), e.g. a ``type=`` converter."""

    name: str


_BUILTIN_TYPES: dict[str, type] = {"float": float, "int": int, "str": str, "bool": bool}
_MAX_ITEMS = 1000


def _evaluate(node: ast.AST, env: Mapping[str, Any]) -> Any:
    """The value of a data expression (literals, names bound in ``env``, ``d.get(k)``,
    ``type(x)``, ``a if c else b``, f-strings, arithmetic on numbers), never by running it.

    Raises:
        _Unknown: The expression needs more than the source to be known.
    """
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = _dotted(node)
        if name in env:
            return env[name]
        if name in _BUILTIN_TYPES:
            return _BUILTIN_TYPES[name]
        if name:
            return _Ref(name)
        raise _Unknown
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        values = [_evaluate(e, env) for e in node.elts]
        return tuple(values) if isinstance(node, ast.Tuple) else values
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise _Unknown
        return {
            _evaluate(k, env): _evaluate(v, env)
            for k, v in zip(node.keys, node.values, strict=True)
            if k is not None
        }
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, env)
        if isinstance(node.op, ast.Not):
            return not operand
        if _is_number(operand):
            return -operand if isinstance(node.op, ast.USub) else +operand
        raise _Unknown
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, env), _evaluate(node.right, env)
        if not (_is_number(left) and _is_number(right)):
            raise _Unknown
        ops: dict[type, Any] = {
            ast.Add: lambda a, b: a + b,
            ast.Sub: lambda a, b: a - b,
            ast.Mult: lambda a, b: a * b,
            ast.Div: lambda a, b: a / b,
        }
        if isinstance(node.op, ast.Pow) and abs(right) <= 64 and abs(left) <= 1e6:
            return left**right
        if type(node.op) in ops:
            try:
                return ops[type(node.op)](left, right)
            except ArithmeticError:
                raise _Unknown from None
        raise _Unknown
    if isinstance(node, ast.IfExp):
        return _evaluate(node.body if _evaluate(node.test, env) else node.orelse, env)
    if isinstance(node, ast.BoolOp):
        values = [_evaluate(v, env) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = _evaluate(node.left, env), _evaluate(node.comparators[0], env)
        op = node.ops[0]
        if isinstance(op, (ast.Eq, ast.Is)):
            return left == right
        if isinstance(op, (ast.NotEq, ast.IsNot)):
            return left != right
        if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (list, tuple, set, dict, str)):
            return (left in right) == isinstance(op, ast.In)
        raise _Unknown
    if isinstance(node, ast.Subscript):
        container = _evaluate(node.value, env)
        key = _evaluate(node.slice, env)
        try:
            return container[key]
        except (KeyError, IndexError, TypeError):
            raise _Unknown from None
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                if value.format_spec is not None or value.conversion != -1:
                    raise _Unknown
                parts.append(str(_evaluate(value.value, env)))
            else:
                parts.append(str(_evaluate(value, env)))
        return "".join(parts)
    if isinstance(node, ast.Call):
        return _evaluate_call(node, env)
    raise _Unknown


def _evaluate_call(node: ast.Call, env: Mapping[str, Any]) -> Any:
    args = [_evaluate(a, env) for a in node.args] if not node.keywords else None
    if args is None:
        raise _Unknown
    if isinstance(node.func, ast.Attribute):
        owner = _evaluate(node.func.value, env)
        method = node.func.attr
        if isinstance(owner, dict):
            if method == "get" and 1 <= len(args) <= 2:
                return owner.get(args[0], args[1] if len(args) > 1 else None)
            if method in ("items", "keys", "values") and not args:
                return list(getattr(owner, method)())
        raise _Unknown
    func = _dotted(node.func)
    if func == "type" and len(args) == 1 and isinstance(args[0], (bool, int, float, str)):
        return type(args[0])
    if func == "isinstance" and len(args) == 2:
        kinds = args[1] if isinstance(args[1], tuple) else (args[1],)
        if all(isinstance(k, type) for k in kinds):
            return isinstance(args[0], kinds)
    if (
        func in ("tuple", "list", "sorted")
        and len(args) == 1
        and isinstance(args[0], (list, tuple, dict))
    ):
        items = list(args[0])
        return tuple(items) if func == "tuple" else sorted(items) if func == "sorted" else items
    if func == "range" and 1 <= len(args) <= 3 and all(isinstance(a, int) for a in args):
        values = range(*args)
        if len(values) <= _MAX_ITEMS:
            return list(values)
    if (
        func in ("float", "int", "str")
        and len(args) == 1
        and isinstance(args[0], (int, float, str))
    ):
        try:
            return _BUILTIN_TYPES[func](args[0])
        except ValueError:
            raise _Unknown from None
    raise _Unknown


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _has_ref(value: Any) -> bool:
    if isinstance(value, (_Ref, type)):
        return True
    if isinstance(value, (list, tuple, set)):
        return any(_has_ref(v) for v in value)
    if isinstance(value, dict):
        return any(_has_ref(v) for v in value.values())
    return False


def _literal(node: ast.AST | None, constants: Mapping[str, Any]) -> tuple[bool, Any]:
    """``(True, value)`` for a data expression (see :func:`_evaluate`), else ``(False, None)``."""
    if node is None:
        return False, None
    try:
        value = _evaluate(node, constants)
    except (_Unknown, RecursionError, TypeError, ValueError, OverflowError):
        return False, None
    if _has_ref(value):
        return False, None
    return True, value


def _dotted(node: ast.AST) -> str:
    """``a.b.c`` for a name or attribute chain, else ``""``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _last(name: str) -> str:
    return name.rpartition(".")[2]


def _kind_of_value(value: Any) -> Kind | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return None


def _kwargs(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords if k.arg is not None}


def _string(node: ast.AST | None) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "…"
            for v in node.values
        )
    return ""


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def _common_kind(values: Sequence[Any]) -> Kind:
    kinds = {_kind_of_value(v) for v in values}
    if kinds == {"int"}:
        return "int"
    if kinds <= {"int", "float"}:
        return "float"
    if kinds == {"bool"}:
        return "bool"
    return "str"


class _Reader:
    """Walks one module's tree for options, commands and reported metrics."""

    def __init__(self, tree: ast.Module, path: Path) -> None:
        self.tree = tree
        self.path = path
        self.constants = self._module_constants()
        self.enums = self._enums()
        self.constants.update(self._enum_members())
        self.functions = {
            node.name: node
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        self.imports = self._imports()
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent

    # -- module facts

    def _module_constants(self) -> dict[str, Any]:
        return _assignments(self.tree.body, {})

    def _enums(self) -> dict[str, tuple[Any, ...]]:
        enums: dict[str, tuple[Any, ...]] = {}
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef) and any(
                _last(_dotted(b)).endswith("Enum") for b in node.bases
            ):
                values = []
                for item in node.body:
                    if isinstance(item, ast.Assign):
                        ok, value = _literal(item.value, {})
                        if ok:
                            values.append(value)
                if values:
                    enums[node.name] = tuple(values)
        return enums

    def _enum_members(self) -> dict[str, Any]:
        """``{"Color.red": "red"}`` for the members of the module's enums."""
        members: dict[str, Any] = {}
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef) and node.name in self.enums:
                for item in node.body:
                    if isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name):
                        ok, value = _literal(item.value, {})
                        if ok:
                            members[f"{node.name}.{item.targets[0].id}"] = value
        return members

    def _imports(self) -> set[str]:
        found: set[str] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module.split(".")[0])
        return found

    def _calls(self, root: ast.AST | None = None) -> Iterator[ast.Call]:
        for node in ast.walk(root or self.tree):
            if isinstance(node, ast.Call):
                yield node

    # -- the entry point

    def read(self, function: str | None) -> ScriptInfo:
        doc = _first_paragraph(ast.get_docstring(self.tree))
        if function is not None:
            node = self.functions.get(function)
            if node is None:
                close = sorted(self.functions)
                hint = f"; its functions: {', '.join(close)}" if close else ""
                raise TaskError(
                    f"{self.path}: no function named {function!r} at module level{hint}"
                )
            if self._is_click_command(node):
                return self._finish(
                    "click", function, self._click_options(node), doc, _group_command(node)
                )
            if "typer" in self.imports and self._typer_commands():
                names = [n.name for n in self._typer_commands()]
                sub = self._typer_subcommand(node, names)
                if node.name in names:
                    return self._finish("typer", function, self._typer_options(node), doc, sub)
            return self._read_function(node, doc)
        if "argparse" in self.imports:
            options = self._argparse_options()
            if options:
                return self._finish("argparse", None, options, doc)
        if "click" in self.imports:
            commands = [n for n in self.functions.values() if self._is_click_command(n)]
            commands = [n for n in commands if self._click_options(n)] or commands
            if len(commands) > 1:
                self._several(commands)
            if commands:
                node = commands[0]
                return self._finish(
                    "click", node.name, self._click_options(node), doc, _group_command(node)
                )
        if "typer" in self.imports:
            commands = self._typer_commands()
            if len(commands) > 1:
                self._several(commands)
            if commands:
                node = commands[0]
                return self._finish("typer", node.name, self._typer_options(node), doc)
        return ScriptInfo(self.path, "argparse", None, ())

    def _several(self, commands: Sequence[ast.FunctionDef | ast.AsyncFunctionDef]) -> None:
        names = ", ".join(n.name for n in commands)
        raise TaskError(
            f"{self.path}: has several commands ({names}); choose one with"
            f" {self.path}:{commands[0].name}"
        )

    def nothing_found(self, function: str | None) -> str:
        if function is not None:
            return (
                f"{self.path}:{function}: found no parameter to tune; the function takes no"
                " parameters with names (or only reads a config that it never indexes with"
                " a literal key)"
            )
        funcs = ", ".join(sorted(self.functions)[:5])
        hint = (
            f" (e.g. {self.path}:{sorted(self.functions)[0]}; its functions: {funcs})"
            if funcs
            else ""
        )
        return (
            f"{self.path}: found no command-line options (argparse add_argument, click"
            " options or a typer command); to read a function's parameters instead, write"
            f" SCRIPT.py:FUNCTION{hint}"
        )

    def _finish(
        self,
        style: Style,
        function: str | None,
        options: list[Option],
        doc: str,
        subcommand: str | None = None,
    ) -> ScriptInfo:
        node = self.functions.get(function) if function else None
        if not doc and node is not None:
            doc = _first_paragraph(ast.get_docstring(node))
        return ScriptInfo(
            path=self.path,
            style=style,
            function=function,
            options=tuple(_dedupe(options)),
            metrics=tuple(self._metrics(node if style in ("function", "config") else None)),
            description=doc,
            subcommand=subcommand,
        )

    # -- argparse

    def _argparse_options(self) -> list[Option]:
        parents = self.parents
        options: list[Option] = []
        for call in self._calls():
            if not (isinstance(call.func, ast.Attribute) and call.func.attr == "add_argument"):
                continue
            for env in self._environments(call, parents):
                option = self._argparse_option(call, env)
                if option is not None:
                    options.append(option)
        return sorted(options, key=lambda o: o.line)

    def _environments(self, call: ast.AST, parents: dict[ast.AST, ast.AST]) -> list[dict[str, Any]]:
        """The names a call sees: the module's constants, its function's assignments, and
        one binding per item of an enclosing ``for`` loop over data
        (``for name, default in DEFAULTS.items(): parser.add_argument(f"--{name}", ...)``)."""
        chain: list[ast.AST] = []
        node: ast.AST | None = call
        while node is not None:
            chain.append(node)
            node = parents.get(node)
        env: dict[str, Any] = dict(self.constants)
        function = next(
            (n for n in chain if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None
        )
        if function is not None:
            env = _assignments(function.body, env, before=chain)
        loop = next((n for n in chain if isinstance(n, ast.For)), None)
        if loop is None:
            return [env]
        ok, items = _literal(loop.iter, env)
        if not ok or not isinstance(items, (list, tuple)) or len(items) > _MAX_ITEMS:
            return [env]
        envs = []
        for item in items:
            bound = _bind(loop.target, item)
            if bound is None:
                return [env]
            envs.append(_assignments(loop.body, {**env, **bound}, before=chain))
        return envs

    def _argparse_option(self, call: ast.Call, env: Mapping[str, Any]) -> Option | None:
        flags = [v for v in (_literal(a, env)[1] for a in call.args) if isinstance(v, str) and v]
        if not flags:
            return None
        kw = _kwargs(call)
        _, dest_value = _literal(kw.get("dest"), env)
        dest = dest_value if isinstance(dest_value, str) else ""
        long = next((f for f in flags if f.startswith("--")), None)
        positional = not flags[0].startswith("-")
        if positional:
            name, flag = dest or flags[0], None
        elif long is not None:
            name, flag = long[2:], long
        else:
            name, flag = dest or flags[0].lstrip("-"), flags[0]
        if name in ("help", "version", "h"):
            return None
        help_text = _string(kw.get("help"))
        has_default, default = _literal(kw.get("default"), env)
        ok_choices, choices = _literal(kw.get("choices"), env)
        choice_tuple = (
            tuple(choices)
            if ok_choices and isinstance(choices, (list, tuple, range, set))
            else None
        )
        action = _string(kw.get("action")) or _last(_dotted(kw["action"])) if "action" in kw else ""
        kind: Kind | None = None
        guess = ""
        skip: str | None = None
        type_node = kw.get("type")
        type_name = _last(_dotted(type_node)) if type_node is not None else ""
        if type_node is not None:
            try:
                converter = _evaluate(type_node, env)
            except (_Unknown, RecursionError, TypeError, ValueError, OverflowError):
                converter = None
            if isinstance(converter, type) and converter.__name__ in _TYPE_NAMES:
                type_name = converter.__name__
            elif isinstance(converter, _Ref):
                type_name = _last(converter.name)
        if action in ("store_true", "store_false", "BooleanOptionalAction"):
            kind = "bool"
            if not has_default:
                has_default, default = True, action == "store_false"
            skip = (
                "an on/off flag: it takes no value, and the command passes --name value;"
                " to tune it, give it a value (e.g. type=lambda s: s == 'true')"
            )
        elif action in (
            "count",
            "append",
            "append_const",
            "store_const",
            "extend",
            "version",
            "help",
        ):
            return Option(
                name,
                flag,
                "str",
                line=call.lineno,
                help=help_text,
                skip=f"action={action!r}: not a single value to tune",
            )
        elif type_name in _TYPE_NAMES:
            kind = _TYPE_NAMES[type_name]
            if kind == "bool":
                skip = (
                    "type=bool reads any non-empty text, even 'false', as True; use"
                    " type=lambda s: s == 'true' to tune it"
                )
        elif type_name in _PATH_TYPES:
            kind, skip = "str", "a path"
        elif type_name:
            kind = "bool" if "bool" in type_name.lower() else None
            if (
                kind is None
                and isinstance(type_node, ast.Lambda)
                and "true" in ast.unparse(type_node).lower()
            ):
                kind = "bool"
            guess = f"converted by {type_name}" if kind else ""
        if kind is None and choice_tuple:
            kind = _common_kind(choice_tuple)
        if kind is None:
            value_kind = _kind_of_value(default) if has_default and default is not None else None
            if value_kind is not None and not type_name:
                kind, guess = value_kind, "from the default" if value_kind != "str" else ""
            elif type_name:
                kind, guess = "str", f"unknown converter {type_name}"
            else:
                kind = "str"  # argparse's own default type
        nargs = kw.get("nargs")
        if nargs is not None:
            ok, n = _literal(nargs, self.constants)
            if not (ok and n in ("?", 1)):
                skip = f"takes several values (nargs={ast.unparse(nargs)})"
        if positional and skip is None:
            skip = "a positional argument: the command passes --name value; make it an option"
        ok_req, req = _literal(kw.get("required"), {})
        required = bool(ok_req and req) or (
            positional
            and not has_default
            and not (nargs is not None and _literal(nargs, {})[1] in ("?", "*"))
        )
        if guess == "from the default" and not type_name and kind in ("int", "float"):
            guess = f"from the default; no type= in the script, so it gets text: add type={kind}"
        if has_default and default is None:
            has_default = False
        if help_text and has_default:
            help_text = help_text.replace("%(default)s", str(default))
        return Option(
            name=name,
            flag=flag,
            kind=kind,
            default=default if has_default else None,
            has_default=has_default,
            choices=choice_tuple,
            help=help_text,
            line=call.lineno,
            type_guess=guess,
            skip=skip,
            required=required,
        )

    # -- click

    def _click_name(self, call: ast.Call) -> str:
        name = _dotted(call.func)
        return _last(name) if name.startswith("click.") or "click" in self.imports else ""

    def _is_click_command(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        if "click" not in self.imports:
            return False
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            if _last(_dotted(target)) in ("command", "option") and (
                _dotted(target).startswith("click") or _last(_dotted(target)) == "option"
            ):
                return True
            if _last(_dotted(target)) == "command" and "typer" not in self.imports:
                return True
        return False

    def _click_options(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Option]:
        options: list[Option] = []
        for deco in node.decorator_list:
            if not isinstance(deco, ast.Call):
                continue
            which = self._click_name(deco)
            if which not in ("option", "argument"):
                continue
            decls = [_string(a) for a in deco.args if _string(a)]
            if not decls:
                continue
            kw = _kwargs(deco)
            flags = [d for d in decls if d.startswith("-")]
            bare = [d for d in decls if not d.startswith("-")]
            split_flags = [f.split("/")[0] for f in flags]
            long = next((f for f in split_flags if f.startswith("--")), None)
            if which == "argument":
                name, flag = decls[0], None
            elif long is not None:
                name, flag = long[2:], long
            elif split_flags:
                name, flag = (bare[0] if bare else split_flags[0].lstrip("-")), split_flags[0]
            else:
                continue
            options.append(self._click_option(deco, kw, name, flag, which, flags))
        return sorted(options, key=lambda o: o.line)

    def _click_option(
        self,
        deco: ast.Call,
        kw: dict[str, ast.expr],
        name: str,
        flag: str | None,
        which: str,
        flags: list[str],
    ) -> Option:
        has_default, default = _literal(kw.get("default"), self.constants)
        help_text = _string(kw.get("help"))
        kind: Kind | None = None
        guess = ""
        skip: str | None = None
        choices: tuple[Any, ...] | None = None
        low = high = None
        type_node = kw.get("type")
        if isinstance(type_node, ast.Call):
            ctor = _last(_dotted(type_node.func))
            if ctor == "Choice" and type_node.args:
                ok, values = _literal(type_node.args[0], self.constants)
                if ok and isinstance(values, (list, tuple)):
                    choices = tuple(values)
                    kind = _common_kind(choices)
            elif ctor in ("IntRange", "FloatRange"):
                kind = "int" if ctor == "IntRange" else "float"
                bounds = list(type_node.args[:2])
                bkw = _kwargs(type_node)
                bounds += [bkw[k] for k in ("min", "max") if k in bkw]
                got = [_literal(b, self.constants) for b in bounds[:2]]
                if len(got) > 0 and got[0][0] and isinstance(got[0][1], (int, float)):
                    low = float(got[0][1])
                if len(got) > 1 and got[1][0] and isinstance(got[1][1], (int, float)):
                    high = float(got[1][1])
            elif ctor in ("Path", "File"):
                kind, skip = "str", "a path"
        elif type_node is not None:
            type_name = _last(_dotted(type_node))
            if type_name in _TYPE_NAMES:
                kind = _TYPE_NAMES[type_name]
            elif type_name in ("INT", "FLOAT", "BOOL", "STRING"):
                kind = {"INT": "int", "FLOAT": "float", "BOOL": "bool", "STRING": "str"}[type_name]  # type: ignore[assignment]
            elif type_name in _PATH_TYPES:
                kind, skip = "str", "a path"
        is_flag = any("/" in f for f in flags)
        ok_flag, flag_value = _literal(kw.get("is_flag"), {})
        if (ok_flag and flag_value) or is_flag or (kind is None and isinstance(default, bool)):
            kind = "bool"
            if not (type_node is not None and not is_flag and not (ok_flag and flag_value)):
                skip = (
                    "an on/off flag: it takes no value, and the command passes --name value;"
                    " to tune it, declare it with type=bool and is_flag=False"
                )
                if not has_default:
                    has_default, default = True, False
        for key, why in (
            ("multiple", "takes several values (multiple=True)"),
            ("count", "a counter (count=True)"),
        ):
            ok, value = _literal(kw.get(key), {})
            if ok and value:
                skip = why
        ok_nargs, nargs = _literal(kw.get("nargs"), {})
        if ok_nargs and nargs not in (1, None):
            skip = f"takes several values (nargs={nargs})"
        if kind is None:
            value_kind = _kind_of_value(default) if has_default and default is not None else None
            kind, guess = (value_kind, "from the default") if value_kind else ("str", "")
        if which == "argument" and skip is None:
            skip = "a positional argument: the command passes --name value; make it an option"
        ok_req, req = _literal(kw.get("required"), {})
        required = bool(ok_req and req) if which == "option" or ok_req else not has_default
        if has_default and default is None:
            has_default = False
        return Option(
            name=name,
            flag=flag,
            kind=kind,
            default=default if has_default else None,
            has_default=has_default,
            choices=choices,
            help=help_text,
            line=deco.lineno,
            type_guess=guess,
            low=low,
            high=high,
            skip=skip,
            required=required,
        )

    # -- typer

    def _typer_commands(self) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        commands: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        for node in self.functions.values():
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if isinstance(target, ast.Attribute) and target.attr == "command":
                    commands.append(node)
                    break
        for call in self._calls():
            if _dotted(call.func) in ("typer.run", "run") and call.args:
                name = _dotted(call.args[0])
                found = self.functions.get(name)
                if found is not None and found not in commands:
                    commands.append(found)
        return commands

    def _typer_subcommand(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, names: list[str]
    ) -> str | None:
        if len(names) <= 1:
            return None
        for deco in node.decorator_list:
            if isinstance(deco, ast.Call) and deco.args and _string(deco.args[0]):
                return _string(deco.args[0])
        return node.name.replace("_", "-")

    def _typer_options(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Option]:
        options: list[Option] = []
        for arg, default_node in _params_with_defaults(node.args):
            annotation = arg.annotation
            info: ast.Call | None = None
            if (
                isinstance(annotation, ast.Subscript)
                and _last(_dotted(annotation.value)) == "Annotated"
            ):
                elts = (
                    annotation.slice.elts
                    if isinstance(annotation.slice, ast.Tuple)
                    else [annotation.slice]
                )
                annotation = elts[0]
                info = next(
                    (
                        e
                        for e in elts[1:]
                        if isinstance(e, ast.Call)
                        and _last(_dotted(e.func)) in ("Option", "Argument")
                    ),
                    None,
                )
            default_call = (
                default_node
                if isinstance(default_node, ast.Call)
                and _last(_dotted(default_node.func)) in ("Option", "Argument")
                else None
            )
            call = info or default_call
            which = (
                _last(_dotted(call.func))
                if call is not None
                else ("Option" if default_node is not None else "Argument")
            )
            decls = [
                _string(a)
                for a in (call.args if call is not None else [])
                if _string(a).startswith("-")
            ]
            required = False
            if default_call is not None:
                has_default, default = (
                    _literal(default_call.args[0], self.constants)
                    if default_call.args
                    else (False, None)
                )
                if "default" in _kwargs(default_call):
                    has_default, default = _literal(
                        _kwargs(default_call)["default"], self.constants
                    )
                if default is Ellipsis or not default_call.args:
                    has_default, default, required = False, None, True
            else:
                has_default, default = _literal(default_node, self.constants)
                required = default_node is None
            help_text = _string(_kwargs(call).get("help")) if call is not None else ""
            long = next((d.split("/")[0] for d in decls if d.startswith("--")), None)
            flag = long or (decls[0].split("/")[0] if decls else "--" + arg.arg.replace("_", "-"))
            name = flag.lstrip("-") if flag.startswith("--") else arg.arg
            kind, choices, guess = self._annotation_kind(annotation, default, has_default)
            skip: str | None = None
            if kind == "bool":
                skip = (
                    "an on/off flag (typer makes --name/--no-name): it takes no value, and the"
                    " command passes --name value"
                )
            if kind is None:
                kind, skip = "str", "type unknown"
            where: str | None = flag
            if which == "Argument":
                skip = "a positional argument: the command passes --name value; make it an option"
                where = None
            if skip is None and annotation is not None and _is_path_annotation(annotation):
                skip = "a path"
            if has_default and default is None:
                has_default = False
            options.append(
                Option(
                    name=name,
                    flag=where,
                    kind=kind,
                    default=default if has_default else None,
                    has_default=has_default,
                    choices=choices,
                    help=help_text,
                    line=arg.lineno,
                    type_guess=guess,
                    skip=skip,
                    required=required,
                )
            )
        return options

    def _annotation_kind(
        self, annotation: ast.expr | None, default: Any, has_default: bool
    ) -> tuple[Kind | None, tuple[Any, ...] | None, str]:
        """The kind, choices and how the kind was found, from an annotation and a default."""
        if annotation is not None:
            # Optional[X] and X | None
            if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
                parts = [annotation.left, annotation.right]
                rest = [p for p in parts if not (isinstance(p, ast.Constant) and p.value is None)]
                if len(rest) == 1:
                    annotation = rest[0]
            if (
                isinstance(annotation, ast.Subscript)
                and _last(_dotted(annotation.value)) == "Optional"
            ):
                annotation = annotation.slice
            if (
                isinstance(annotation, ast.Subscript)
                and _last(_dotted(annotation.value)) == "Literal"
            ):
                elts = (
                    annotation.slice.elts
                    if isinstance(annotation.slice, ast.Tuple)
                    else [annotation.slice]
                )
                values = [v for ok, v in (_literal(e, {}) for e in elts) if ok]
                if values:
                    return _common_kind(values), tuple(values), ""

            name = _dotted(annotation) or _string(annotation)
            if _last(name) in _TYPE_NAMES:
                return _TYPE_NAMES[_last(name)], None, ""
            if _last(name) in self.enums:
                members = self.enums[_last(name)]
                return _common_kind(members), members, ""
            if _last(name) in _PATH_TYPES:
                return "str", None, ""
        if has_default and default is not None:
            kind = _kind_of_value(default)
            if kind is not None:
                return kind, None, "from the default"
        if isinstance(default, str) or (has_default and default is None):
            return None, None, ""
        return None, None, ""

    # -- a function's signature

    def _read_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, doc: str) -> ScriptInfo:
        params = _params_with_defaults(node.args)
        names = [a.arg for a, _ in params if a.arg not in ("self", "cls")]
        if (
            names
            and names[0] in _CONFIG_NAMES
            and all(a.arg in _CONFIG_NAMES | _NOT_PARAMS or d is not None for a, d in params)
        ):
            options = self._config_keys(node, names[0])
            if options:
                return self._finish("config", node.name, options, doc)
        options = []
        for arg, default_node in params:
            if arg.arg in ("self", "cls"):
                continue
            has_default, default = _literal(default_node, self.constants)
            found_kind, choices, guess = self._annotation_kind(arg.annotation, default, has_default)
            kind: Kind = found_kind or "str"
            skip: str | None = None
            if arg.arg in _NOT_PARAMS:
                skip = "the reporter or trial, not a hyperparameter"
            elif found_kind is None:
                skip = "no type annotation and no literal default"
            if arg.annotation is not None and _is_path_annotation(arg.annotation):
                skip = "a path"
            required = default_node is None
            if has_default and default is None:
                has_default = False
            options.append(
                Option(
                    name=arg.arg,
                    flag=None,
                    kind=kind,
                    default=default if has_default else None,
                    has_default=has_default,
                    choices=choices,
                    line=arg.lineno,
                    type_guess=guess,
                    skip=skip,
                    required=required,
                )
            )
        return self._finish("function", node.name, options, doc)

    def _config_keys(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, config: str
    ) -> list[Option]:
        """Options from ``config["x"]`` and ``config.get("x", default)`` in the body."""
        found: dict[str, Option] = {}
        parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(node):
            for child in ast.iter_child_nodes(parent):
                parents[child] = parent
        for sub in ast.walk(node):
            key: str = ""
            has_default, default = False, None
            if (
                isinstance(sub, ast.Subscript)
                and isinstance(sub.value, ast.Name)
                and sub.value.id == config
            ):
                key = _string(sub.slice)
            elif (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Attribute)
                and sub.func.attr == "get"
                and isinstance(sub.func.value, ast.Name)
                and sub.func.value.id == config
                and sub.args
            ):
                key = _string(sub.args[0])
                if len(sub.args) > 1:
                    has_default, default = _literal(sub.args[1], self.constants)
            elif (
                isinstance(sub, ast.Attribute)
                and isinstance(sub.value, ast.Name)
                and sub.value.id == config
                and config == "args"
                and not isinstance(parents.get(sub), ast.Call)
            ):
                key = sub.attr
            if not key or not key.isidentifier():
                continue
            kind: Kind | None = _kind_of_value(default) if has_default else None
            guess = "from the default" if kind else ""
            wrapper = parents.get(sub)
            if (
                kind is None
                and isinstance(wrapper, ast.Call)
                and _dotted(wrapper.func) in _TYPE_NAMES
            ):
                kind, guess = (
                    _TYPE_NAMES[_dotted(wrapper.func)],
                    f"from {_dotted(wrapper.func)}(...)",
                )
            previous = found.get(key)
            if previous is not None:
                if previous.type_guess == "assumed" and kind is not None:
                    found[key] = replace(previous, kind=kind, type_guess=guess)
                if not previous.has_default and has_default and default is not None:
                    found[key] = replace(found[key], default=default, has_default=True)
                continue
            found[key] = Option(
                name=key,
                flag=None,
                kind=kind or "float",
                default=default if has_default and default is not None else None,
                has_default=has_default and default is not None,
                line=getattr(sub, "lineno", 0),
                type_guess=guess if kind else "assumed",
            )
        return sorted(found.values(), key=lambda o: o.line)

    # -- metrics

    def _metrics(self, function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> list[str]:
        names: list[str] = []
        dicts = self._dict_keys()
        calls = sorted(self._calls(function), key=lambda c: (c.lineno, c.col_offset))
        for call in calls:
            callee = _dotted(call.func)
            if _last(callee) == "report" and not callee.startswith("trial."):
                for k in call.keywords:
                    if k.arg is not None and k.arg != "step":
                        names.append(k.arg)
                    elif k.arg is None and isinstance(k.value, ast.Name):
                        names.extend(dicts.get(k.value.id, []))
                    elif k.arg is None and isinstance(k.value, ast.Dict):
                        names.extend(_dict_literal_keys(k.value))
                if call.args and isinstance(call.args[0], ast.Dict):
                    names.extend(_dict_literal_keys(call.args[0]))
            elif callee in ("json.dump", "json.dumps", "dump") and call.args:
                first = call.args[0]
                if isinstance(first, ast.Dict):
                    names.extend(_dict_literal_keys(first))
                elif isinstance(first, ast.Name):
                    names.extend(dicts.get(first.id, []))
        if function is not None:
            returns_number = False
            for sub in ast.walk(function):
                if isinstance(sub, ast.Return) and sub.value is not None:
                    if isinstance(sub.value, ast.Dict):
                        names.extend(_dict_literal_keys(sub.value))
                    elif isinstance(sub.value, ast.Name) and sub.value.id in dicts:
                        names.extend(dicts[sub.value.id])
                    elif not (isinstance(sub.value, ast.Constant) and sub.value.value is None):
                        returns_number = True
            if returns_number:
                names.append("value")
        return list(dict.fromkeys(n for n in names if n.isidentifier()))

    def _dict_keys(self) -> dict[str, list[str]]:
        """Keys of dict literals (and ``d["k"] = ...``) assigned to each name."""
        keys: dict[str, list[str]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and isinstance(node.value, ast.Dict):
                        keys.setdefault(target.id, []).extend(_dict_literal_keys(node.value))
                    elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                        names = keys.setdefault(target.value.id, [])
                        if _string(target.slice) and isinstance(target.slice, ast.Constant):
                            names.append(_string(target.slice))
                            continue
                        # final[f"{split}_auc"] = ... inside `for split in ("val", "test")`
                        for env in self._environments(target, self.parents):
                            ok, key = _literal(target.slice, env)
                            if ok and isinstance(key, str):
                                names.append(key)
        return keys


def _dict_literal_keys(node: ast.Dict) -> list[str]:
    return [_string(k) for k in node.keys if k is not None and _string(k)]


def _is_path_annotation(annotation: ast.expr) -> bool:
    return _last(_dotted(annotation)) in _PATH_TYPES


def _params_with_defaults(args: ast.arguments) -> list[tuple[ast.arg, ast.expr | None]]:
    """Each named parameter with its default (``None`` when it has none)."""
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    pairs = list(zip(positional, defaults, strict=True))
    pairs += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    return pairs


def _dedupe(options: list[Option]) -> list[Option]:
    seen: dict[str, Option] = {}
    for option in options:
        seen.setdefault(option.name, option)
    return list(seen.values())


def _bind(target: ast.expr, item: Any) -> dict[str, Any] | None:
    """The names a ``for`` target binds to one item, or ``None`` if it is not that simple."""
    if isinstance(target, ast.Name):
        return {target.id: item}
    if isinstance(target, ast.Tuple) and isinstance(item, (list, tuple)):
        if len(target.elts) != len(item):
            return None
        bound: dict[str, Any] = {}
        for elt, value in zip(target.elts, item, strict=True):
            inner = _bind(elt, value)
            if inner is None:
                return None
            bound.update(inner)
        return bound
    return None


def _assignments(
    body: Sequence[ast.stmt], env: Mapping[str, Any], before: Sequence[ast.AST] = ()
) -> dict[str, Any]:
    """``env`` plus the data assigned to plain names in ``body``'s top-level statements
    (up to the statement holding one of ``before``); what cannot be worked out is skipped."""
    out = dict(env)
    stop = set(map(id, before))
    for statement in body:
        if id(statement) in stop:
            break
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if isinstance(target, ast.Name):
            try:
                out[target.id] = _evaluate(value, out)
            except (_Unknown, RecursionError, TypeError, ValueError, OverflowError):
                out.pop(target.id, None)
    return out


def _group_command(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The name to type for a command of a click group (``@cli.command()``), else ``None``."""
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Attribute) and target.attr == "command":
            owner = _dotted(target.value)
            if owner and owner != "click":
                if isinstance(deco, ast.Call) and deco.args and _string(deco.args[0]):
                    return _string(deco.args[0])
                return node.name.replace("_", "-")  # click's default command name
    return None
