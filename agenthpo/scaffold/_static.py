"""Static evaluation of a script's expressions and small :mod:`ast` helpers.

Shared by the readers of each front-end (argparse, click, typer, a function's signature).
Nothing here imports or runs the script: an expression's value is worked out from
literals and names bound to literals, or it is unknown.

Example:
    >>> import ast
    >>> _literal(ast.parse("2 * N", mode="eval").body, {"N": 8})
    (True, 16)
    >>> _literal(ast.parse("f(1)", mode="eval").body, {})
    (False, None)
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_BUILTIN_TYPES: dict[str, type] = {"float": float, "int": int, "str": str, "bool": bool}
_MAX_ITEMS = 1000


class _Unknown(Exception):
    """The expression cannot be worked out from the source alone."""


@dataclass(frozen=True)
class _Ref:
    """A name that is not data (a function or class), e.g. a ``type=`` converter."""

    name: str


_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
"""A function definition, plain or async."""

_NOT_KNOWN = (_Unknown, RecursionError, TypeError, ValueError, OverflowError)
"""What evaluating an expression raises when its value cannot be known."""


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
                part = _evaluate(value.value, env)
                if isinstance(part, _Ref):  # a name the source does not bind to data
                    raise _Unknown
                parts.append(str(part))
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
    except _NOT_KNOWN:
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
            except _NOT_KNOWN:
                out.pop(target.id, None)
    return out


def _params_with_defaults(args: ast.arguments) -> list[tuple[ast.arg, ast.expr | None]]:
    """Each named parameter with its default (``None`` when it has none)."""
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    pairs = list(zip(positional, defaults, strict=True))
    pairs += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    return pairs


def _parent_map(root: ast.AST) -> dict[ast.AST, ast.AST]:
    """Each node below ``root`` mapped to the node that holds it."""
    parents: dict[ast.AST, ast.AST] = {}
    for parent in ast.walk(root):
        for child in ast.iter_child_nodes(parent):
            parents[child] = parent
    return parents


def _decorator_target(deco: ast.expr) -> ast.expr:
    """What a decorator names: ``app.command`` for both ``@app.command`` and ``@app.command()``."""
    return deco.func if isinstance(deco, ast.Call) else deco


def _subscript_items(node: ast.expr) -> list[ast.expr]:
    """The items inside ``X[...]``: ``[a, b]`` for ``X[a, b]``, ``[a]`` for ``X[a]``."""
    return node.elts if isinstance(node, ast.Tuple) else [node]


def _command_name(deco: ast.expr) -> str:
    """The name a decorator gives its command (``@app.command("fit")``), else ``""``."""
    if isinstance(deco, ast.Call) and deco.args:
        return _string(deco.args[0])
    return ""


def _dashed(name: str) -> str:
    """A function's name as click and typer name a command: ``train_model`` -> ``train-model``."""
    return name.replace("_", "-")
