"""Reading click commands: the ``@click.option`` and ``@click.argument`` decorators of a function.

Example:
    >>> import ast, pathlib
    >>> from agenthpo.scaffold._facts import _Module
    >>> source = "import click\\n@click.command()\\n@click.option('--lr', default=0.1)"
    >>> tree = ast.parse(source + "\\ndef main(lr): ...")
    >>> module = _Module(tree, pathlib.Path("t.py"))
    >>> [(o.name, o.kind, o.default) for o in _click_options(module, module.functions["main"])]
    [('lr', 'float', 0.1)]
"""

from __future__ import annotations

import ast
from typing import Any

from agenthpo.scaffold._facts import _Module
from agenthpo.scaffold._option import (
    _ON_OFF,
    _PATH_TYPES,
    _POSITIONAL,
    _TYPE_NAMES,
    Kind,
    Option,
    _common_kind,
    _kind_of_default,
    _make_option,
)
from agenthpo.scaffold._static import (
    _command_name,
    _dashed,
    _decorator_target,
    _dotted,
    _FunctionNode,
    _kwargs,
    _last,
    _literal,
    _string,
)

_CLICK_TYPES: dict[str, Kind] = {"INT": "int", "FLOAT": "float", "BOOL": "bool", "STRING": "str"}


def _click_name(module: _Module, call: ast.Call) -> str:
    name = _dotted(call.func)
    return _last(name) if name.startswith("click.") or "click" in module.imports else ""


def _is_click_command(module: _Module, node: _FunctionNode) -> bool:
    if "click" not in module.imports:
        return False
    for deco in node.decorator_list:
        target = _decorator_target(deco)
        if _last(_dotted(target)) in ("command", "option") and (
            _dotted(target).startswith("click") or _last(_dotted(target)) == "option"
        ):
            return True
        if _last(_dotted(target)) == "command" and "typer" not in module.imports:
            return True
    return False


def _group_command(node: _FunctionNode) -> str | None:
    """The name to type for a command of a click group (``@cli.command()``), else ``None``."""
    for deco in node.decorator_list:
        target = _decorator_target(deco)
        if isinstance(target, ast.Attribute) and target.attr == "command":
            owner = _dotted(target.value)
            if owner and owner != "click":
                return _command_name(deco) or _dashed(node.name)  # click's default name
    return None


def _click_options(module: _Module, node: _FunctionNode) -> list[Option]:
    options: list[Option] = []
    for deco in node.decorator_list:
        if not isinstance(deco, ast.Call):
            continue
        which = _click_name(module, deco)
        if which not in ("option", "argument"):
            continue
        decls = [_string(a) for a in deco.args if _string(a)]
        if not decls:
            continue
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
        options.append(_click_option(module, deco, name, flag, which, flags))
    return sorted(options, key=lambda o: o.line)


def _click_type(
    module: _Module, type_node: ast.expr | None
) -> tuple[Kind | None, tuple[Any, ...] | None, float | None, float | None, str | None]:
    """The kind, choices, bounds and skip reason a ``type=`` declares."""
    kind: Kind | None = None
    choices: tuple[Any, ...] | None = None
    low = high = None
    skip: str | None = None
    if isinstance(type_node, ast.Call):
        ctor = _last(_dotted(type_node.func))
        if ctor == "Choice" and type_node.args:
            ok, values = _literal(type_node.args[0], module.constants)
            if ok and isinstance(values, (list, tuple)):
                choices = tuple(values)
                kind = _common_kind(choices)
        elif ctor in ("IntRange", "FloatRange"):
            kind = "int" if ctor == "IntRange" else "float"
            bounds = list(type_node.args[:2])
            bkw = _kwargs(type_node)
            bounds += [bkw[k] for k in ("min", "max") if k in bkw]
            got = [_literal(b, module.constants) for b in bounds[:2]]
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
        elif type_name in _CLICK_TYPES:
            kind = _CLICK_TYPES[type_name]
        elif type_name in _PATH_TYPES:
            kind, skip = "str", "a path"
    return kind, choices, low, high, skip


def _click_option(
    module: _Module,
    deco: ast.Call,
    name: str,
    flag: str | None,
    which: str,
    flags: list[str],
) -> Option:
    kw = _kwargs(deco)
    has_default, default = _literal(kw.get("default"), module.constants)
    type_node = kw.get("type")
    kind, choices, low, high, skip = _click_type(module, type_node)
    guess = ""
    is_flag = any("/" in f for f in flags)
    ok_flag, flag_value = _literal(kw.get("is_flag"), {})
    if (ok_flag and flag_value) or is_flag or (kind is None and isinstance(default, bool)):
        kind = "bool"
        if not (type_node is not None and not is_flag and not (ok_flag and flag_value)):
            skip = f"{_ON_OFF}; to tune it, declare it with type=bool and is_flag=False"
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
        value_kind = _kind_of_default(default, has_default)
        kind, guess = (value_kind, "from the default") if value_kind else ("str", "")
    if which == "argument" and skip is None:
        skip = _POSITIONAL
    ok_req, req = _literal(kw.get("required"), {})
    required = bool(ok_req and req) if which == "option" or ok_req else not has_default
    return _make_option(
        name,
        flag,
        kind,
        default,
        has_default,
        deco.lineno,
        choices=choices,
        help=_string(kw.get("help")),
        type_guess=guess,
        low=low,
        high=high,
        skip=skip,
        required=required,
        unset_is_none="default" not in kw and which == "option",
    )
