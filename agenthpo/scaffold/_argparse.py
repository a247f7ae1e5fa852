"""Reading argparse options: each ``parser.add_argument(...)`` call of the script.

Calls inside a ``for`` loop over data are read once per item
(``for name, default in DEFAULTS.items(): parser.add_argument(f"--{name}", ...)``).

Example:
    >>> import ast, pathlib
    >>> from agenthpo.scaffold._facts import _Module
    >>> tree = ast.parse("p.add_argument('--lr', type=float, default=0.1)")
    >>> module = _Module(tree, pathlib.Path("t.py"))
    >>> [(o.name, o.kind, o.default) for o in _argparse_options(module)]
    [('lr', 'float', 0.1)]
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
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
    _NOT_KNOWN,
    _dotted,
    _evaluate,
    _kwargs,
    _last,
    _literal,
    _Ref,
    _string,
)

_NO_VALUE_ACTIONS = ("count", "append", "append_const", "store_const", "extend", "version", "help")


def _argparse_options(module: _Module) -> list[Option]:
    """The options of every ``add_argument`` call, in source order."""
    options: list[Option] = []
    for call in module.calls():
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "add_argument"):
            continue
        for env in module.environments(call):
            option = _argparse_option(module, call, env)
            if option is not None:
                options.append(option)
    return sorted(options, key=lambda o: o.line)


def _type_name(type_node: ast.expr | None, env: Mapping[str, Any]) -> str:
    """The name of a ``type=`` converter (``float``, ``str2bool``), or ``""`` without one."""
    if type_node is None:
        return ""
    type_name = _last(_dotted(type_node))
    try:
        converter = _evaluate(type_node, env)
    except _NOT_KNOWN:
        converter = None
    if isinstance(converter, type) and converter.__name__ in _TYPE_NAMES:
        type_name = converter.__name__
    elif isinstance(converter, _Ref):
        type_name = _last(converter.name)
    return type_name


def _argparse_option(module: _Module, call: ast.Call, env: Mapping[str, Any]) -> Option | None:
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
        tuple(choices) if ok_choices and isinstance(choices, (list, tuple, range, set)) else None
    )
    action = _string(kw.get("action")) or _last(_dotted(kw["action"])) if "action" in kw else ""
    kind: Kind | None = None
    guess = ""
    skip: str | None = None
    type_node = kw.get("type")
    type_name = _type_name(type_node, env)
    if action in ("store_true", "store_false", "BooleanOptionalAction"):
        kind = "bool"
        if not has_default:
            has_default, default = True, action == "store_false"
        skip = f"{_ON_OFF}; to tune it, give it a value (e.g. type=lambda s: s == 'true')"
    elif action in _NO_VALUE_ACTIONS:
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
        value_kind = _kind_of_default(default, has_default)
        if value_kind is not None and not type_name:
            kind, guess = value_kind, "from the default" if value_kind != "str" else ""
        elif type_name:
            kind, guess = "str", f"unknown converter {type_name}"
        else:
            kind = "str"  # argparse's own default type
    nargs = kw.get("nargs")
    if nargs is not None:
        ok, n = _literal(nargs, module.constants)
        if not (ok and n in ("?", 1)):
            skip = f"takes several values (nargs={ast.unparse(nargs)})"
    if positional and skip is None:
        skip = _POSITIONAL
    ok_req, req = _literal(kw.get("required"), {})
    required = bool(ok_req and req) or (
        positional
        and not has_default
        and not (nargs is not None and _literal(nargs, {})[1] in ("?", "*"))
    )
    if guess == "from the default" and not type_name and kind in ("int", "float"):
        guess = f"from the default; no type= in the script, so it gets text: add type={kind}"
    if help_text and has_default and default is not None:
        help_text = help_text.replace("%(default)s", str(default))
    return _make_option(
        name,
        flag,
        kind,
        default,
        has_default,
        call.lineno,
        choices=choice_tuple,
        help=help_text,
        type_guess=guess,
        skip=skip,
        required=required,
        unset_is_none="default" not in kw and not positional,
    )
