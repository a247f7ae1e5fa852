"""Reading typer commands: a command function's parameters, with ``typer.Option`` and
``typer.Argument`` read from their defaults or from ``Annotated[...]``.

Example:
    >>> import ast, pathlib
    >>> from agenthpo.scaffold._facts import _Module
    >>> tree = ast.parse("import typer\\ndef main(lr: float = 0.1): ...\\ntyper.run(main)")
    >>> module = _Module(tree, pathlib.Path("t.py"))
    >>> [n.name for n in _typer_commands(module)]
    ['main']
    >>> [(o.name, o.flag, o.kind) for o in _typer_options(module, module.functions["main"])]
    [('lr', '--lr', 'float')]
"""

from __future__ import annotations

import ast
from typing import Any, TypeGuard

from agenthpo.scaffold._facts import _Module
from agenthpo.scaffold._option import _POSITIONAL, Option, _make_option
from agenthpo.scaffold._signature import _annotation_kind, _is_path_annotation
from agenthpo.scaffold._static import (
    _command_name,
    _dashed,
    _decorator_target,
    _dotted,
    _FunctionNode,
    _kwargs,
    _last,
    _literal,
    _params_with_defaults,
    _string,
    _subscript_items,
)


def _typer_commands(module: _Module) -> list[_FunctionNode]:
    commands: list[_FunctionNode] = []
    for node in module.functions.values():
        for deco in node.decorator_list:
            target = _decorator_target(deco)
            if isinstance(target, ast.Attribute) and target.attr == "command":
                commands.append(node)
                break
    for call in module.calls():
        if _dotted(call.func) in ("typer.run", "run") and call.args:
            name = _dotted(call.args[0])
            found = module.functions.get(name)
            if found is not None and found not in commands:
                commands.append(found)
    return commands


def _typer_subcommand(node: _FunctionNode, names: list[str]) -> str | None:
    if len(names) <= 1:
        return None
    given = (_command_name(deco) for deco in node.decorator_list)
    return next((name for name in given if name), _dashed(node.name))


def _is_typer_call(node: ast.expr | None) -> TypeGuard[ast.Call]:
    """Whether ``node`` is ``typer.Option(...)`` or ``typer.Argument(...)``."""
    return isinstance(node, ast.Call) and _last(_dotted(node.func)) in ("Option", "Argument")


def _typer_default(
    module: _Module, default_node: ast.expr | None, default_call: ast.Call | None
) -> tuple[bool, Any, bool]:
    """Whether a parameter has a literal default, the default, and whether it is required."""
    if default_call is None:
        has_default, default = _literal(default_node, module.constants)
        return has_default, default, default_node is None
    has_default, default = (
        _literal(default_call.args[0], module.constants) if default_call.args else (False, None)
    )
    keyword = "default" in _kwargs(default_call)
    if keyword:
        has_default, default = _literal(_kwargs(default_call)["default"], module.constants)
    if default is Ellipsis or not (default_call.args or keyword):
        return False, None, True
    return has_default, default, False


def _typer_options(module: _Module, node: _FunctionNode) -> list[Option]:
    options: list[Option] = []
    for arg, default_node in _params_with_defaults(node.args):
        annotation = arg.annotation
        info: ast.Call | None = None
        if (
            isinstance(annotation, ast.Subscript)
            and _last(_dotted(annotation.value)) == "Annotated"
        ):
            elts = _subscript_items(annotation.slice)
            annotation = elts[0]
            info = next((e for e in elts[1:] if _is_typer_call(e)), None)
        default_call = default_node if _is_typer_call(default_node) else None
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
        has_default, default, required = _typer_default(module, default_node, default_call)
        help_text = _string(_kwargs(call).get("help")) if call is not None else ""
        long = next((d.split("/")[0] for d in decls if d.startswith("--")), None)
        flag = long or (decls[0].split("/")[0] if decls else "--" + arg.arg.replace("_", "-"))
        name = flag.lstrip("-") if flag.startswith("--") else arg.arg
        kind, choices, guess = _annotation_kind(module, annotation, default, has_default)
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
            skip = _POSITIONAL
            where = None
        if skip is None and annotation is not None and _is_path_annotation(annotation):
            skip = "a path"
        options.append(
            _make_option(
                name,
                where,
                kind,
                default,
                has_default,
                arg.lineno,
                choices=choices,
                help=help_text,
                type_guess=guess,
                skip=skip,
                required=required,
            )
        )
    return options
