"""Reading a function's signature: its parameters' annotations and defaults.

A function that takes a config mapping (``def objective(config, report)``) is read from
the keys it looks up in it instead. The kinds an annotation gives are shared with typer,
whose commands are read from their signatures too.

Example:
    >>> import ast, pathlib
    >>> from agenthpo.scaffold._facts import _Module
    >>> module = _Module(ast.parse("def fit(lr: float = 0.1, depth=3): ..."), pathlib.Path("t.py"))
    >>> style, options = _function_options(module, module.functions["fit"])
    >>> style, [(o.name, o.kind, o.type_guess) for o in options]
    ('function', [('lr', 'float', ''), ('depth', 'int', 'from the default')])
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any, Literal

from agenthpo.scaffold._facts import _Module
from agenthpo.scaffold._option import (
    _PATH_TYPES,
    _TYPE_NAMES,
    Kind,
    Option,
    _common_kind,
    _kind_of_default,
    _kind_of_value,
    _make_option,
)
from agenthpo.scaffold._static import (
    _dotted,
    _FunctionNode,
    _last,
    _literal,
    _params_with_defaults,
    _parent_map,
    _string,
    _subscript_items,
)

_CONFIG_NAMES = {"config", "cfg", "params", "hparams", "hp", "conf", "args"}
_NOT_PARAMS = {"self", "cls", "report", "reporter", "trial"}


def _is_path_annotation(annotation: ast.expr) -> bool:
    return _last(_dotted(annotation)) in _PATH_TYPES


def _annotation_kind(
    module: _Module, annotation: ast.expr | None, default: Any, has_default: bool
) -> tuple[Kind | None, tuple[Any, ...] | None, str]:
    """The kind, choices and how the kind was found, from an annotation and a default."""
    if annotation is not None:
        # Optional[X] and X | None
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            parts = [annotation.left, annotation.right]
            rest = [p for p in parts if not (isinstance(p, ast.Constant) and p.value is None)]
            if len(rest) == 1:
                annotation = rest[0]
        if isinstance(annotation, ast.Subscript) and _last(_dotted(annotation.value)) == "Optional":
            annotation = annotation.slice
        if isinstance(annotation, ast.Subscript) and _last(_dotted(annotation.value)) == "Literal":
            elts = _subscript_items(annotation.slice)
            values = [v for ok, v in (_literal(e, {}) for e in elts) if ok]
            if values:
                return _common_kind(values), tuple(values), ""

        name = _dotted(annotation) or _string(annotation)
        if _last(name) in _TYPE_NAMES:
            return _TYPE_NAMES[_last(name)], None, ""
        if _last(name) in module.enums:
            members = module.enums[_last(name)]
            return _common_kind(members), members, ""
        if _last(name) in _PATH_TYPES:
            return "str", None, ""
    kind = _kind_of_default(default, has_default)
    if kind is not None:
        return kind, None, "from the default"
    return None, None, ""


def _function_options(
    module: _Module, node: _FunctionNode
) -> tuple[Literal["function", "config"], list[Option]]:
    """The options of a function: the keys of its config, or else its parameters."""
    params = _params_with_defaults(node.args)
    names = [a.arg for a, _ in params if a.arg not in ("self", "cls")]
    if (
        names
        and names[0] in _CONFIG_NAMES
        and all(a.arg in _CONFIG_NAMES | _NOT_PARAMS or d is not None for a, d in params)
    ):
        options = _config_keys(module, node, names[0])
        if options:
            return "config", options
    options = []
    for arg, default_node in params:
        if arg.arg in ("self", "cls"):
            continue
        has_default, default = _literal(default_node, module.constants)
        found_kind, choices, guess = _annotation_kind(module, arg.annotation, default, has_default)
        skip: str | None = None
        if arg.arg in _NOT_PARAMS:
            skip = "the reporter or trial, not a hyperparameter"
        elif found_kind is None:
            skip = "no type annotation and no literal default"
        if arg.annotation is not None and _is_path_annotation(arg.annotation):
            skip = "a path"
        options.append(
            _make_option(
                arg.arg,
                None,
                found_kind or "str",
                default,
                has_default,
                arg.lineno,
                choices=choices,
                type_guess=guess,
                skip=skip,
                required=default_node is None,
            )
        )
    return "function", options


def _config_key(
    module: _Module, sub: ast.AST, config: str, parents: dict[ast.AST, ast.AST]
) -> tuple[str, bool, Any]:
    """The key ``sub`` looks up in the config, if it is such a lookup, with its default."""
    if (
        isinstance(sub, ast.Subscript)
        and isinstance(sub.value, ast.Name)
        and sub.value.id == config
    ):
        return _string(sub.slice), False, None
    if (
        isinstance(sub, ast.Call)
        and isinstance(sub.func, ast.Attribute)
        and sub.func.attr == "get"
        and isinstance(sub.func.value, ast.Name)
        and sub.func.value.id == config
        and sub.args
    ):
        has_default, default = (
            _literal(sub.args[1], module.constants) if len(sub.args) > 1 else (True, None)
        )
        return _string(sub.args[0]), has_default, default
    if (
        isinstance(sub, ast.Attribute)
        and isinstance(sub.value, ast.Name)
        and sub.value.id == config
        and config == "args"
        and not isinstance(parents.get(sub), ast.Call)
    ):
        return sub.attr, False, None
    return "", False, None


def _config_keys(module: _Module, node: _FunctionNode, config: str) -> list[Option]:
    """Options from ``config["x"]`` and ``config.get("x", default)`` in the body."""
    found: dict[str, Option] = {}
    parents = _parent_map(node)
    for sub in ast.walk(node):
        key, has_default, default = _config_key(module, sub, config, parents)
        if not key or not key.isidentifier():
            continue
        kind: Kind | None = _kind_of_value(default) if has_default else None
        guess = "from the default" if kind else ""
        wrapper = parents.get(sub)
        if kind is None and isinstance(wrapper, ast.Call) and _dotted(wrapper.func) in _TYPE_NAMES:
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
            if previous.default_none and not (has_default and default is None):
                # config["x"] somewhere, or a real default: not a value it can do without
                found[key] = replace(found[key], default_none=False)
            continue
        found[key] = _make_option(
            key,
            None,
            kind or "float",
            default,
            has_default,
            getattr(sub, "lineno", 0),
            type_guess=guess if kind else "assumed",
        )
    return sorted(found.values(), key=lambda o: o.line)
