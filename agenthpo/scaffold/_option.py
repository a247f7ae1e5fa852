"""What reading a script yields (:class:`Option`, :class:`ScriptInfo`) and how options are made.

The front-end readers (argparse, click, typer, a function's signature) each work out a
name, a kind, a default and why an option cannot be tuned; the kinds, the reasons they
share and the final :class:`Option` are made here, the same way for all of them.

Example:
    >>> option = _make_option("depth", "--depth", "int", None, True, 3)
    >>> option.has_default, option.default_none  # None is no default: the script's own
    (False, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Kind = Literal["float", "int", "bool", "str"]
Style = Literal["argparse", "click", "typer", "function", "config"]

_TYPE_NAMES: dict[str, Kind] = {"float": "float", "int": "int", "bool": "bool", "str": "str"}
_PATH_TYPES = {"Path", "PurePath", "FileType", "File", "open"}

_POSITIONAL = "a positional argument: the command passes --name value; make it an option"
_ON_OFF = "an on/off flag: it takes no value, and the command passes --name value"


@dataclass(frozen=True)
class Option:
    """One option of a script, or one parameter of a function, as written in the source.

    Attributes:
        name: The key in the task's space (the long flag without its dashes, or the
            parameter's name).
        flag: How the command passes it (``--lr``); ``None`` for a function's parameter.
        kind: ``float``, ``int``, ``bool`` or ``str``.
        default: The default value (``None`` if there is none or it is computed).
        has_default: Whether the source gives a literal default other than ``None``.
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
        default_none: Its default is ``None`` (written, or argparse's and click's own for
            an option without one): the script runs without a value, so the baseline
            leaves it out of the command.
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
    default_none: bool = False


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


def _make_option(
    name: str,
    flag: str | None,
    kind: Kind,
    default: Any,
    has_default: bool,
    line: int,
    *,
    choices: tuple[Any, ...] | None = None,
    help: str = "",
    type_guess: str = "",
    low: float | None = None,
    high: float | None = None,
    skip: str | None = None,
    required: bool = False,
    unset_is_none: bool = False,
) -> Option:
    """An :class:`Option`, where a default of ``None`` counts as no default.

    ``unset_is_none``: the front-end gives an option written without a default the value
    ``None`` (argparse, click), so it runs without one unless it is required.
    """
    default_none = not required and ((has_default and default is None) or unset_is_none)
    has_default = has_default and default is not None
    return Option(
        name=name,
        flag=flag,
        kind=kind,
        default=default if has_default else None,
        has_default=has_default,
        choices=choices,
        help=help,
        line=line,
        type_guess=type_guess,
        low=low,
        high=high,
        skip=skip,
        required=required,
        default_none=default_none and not has_default,
    )


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


def _kind_of_default(default: Any, has_default: bool) -> Kind | None:
    """The kind of a literal default, or ``None`` when there is none (or it is ``None``)."""
    return _kind_of_value(default) if has_default and default is not None else None


def _common_kind(values: Sequence[Any]) -> Kind:
    kinds = {_kind_of_value(v) for v in values}
    if kinds == {"int"}:
        return "int"
    if kinds <= {"int", "float"}:
        return "float"
    if kinds == {"bool"}:
        return "bool"
    return "str"


def _dedupe(options: list[Option]) -> list[Option]:
    seen: dict[str, Option] = {}
    for option in options:
        seen.setdefault(option.name, option)
    return list(seen.values())
