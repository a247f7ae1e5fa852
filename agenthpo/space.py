"""The search space: parameters, validation, repair, and conversion to Optuna and JSON Schema.

A :class:`Space` maps parameter names to :class:`FloatParam`, :class:`IntParam` or
:class:`CategoricalParam` definitions. It checks configurations proposed by an LLM
(:meth:`Space.validate`), fixes the harmless slips without losing information
(:meth:`Space.normalize`), forces any configuration into the space when that is not enough
(:meth:`Space.repair`), and converts itself to Optuna distributions and to the JSON Schema that
constrains the LLM's answer.

Example:
    >>> from agenthpo.space import Space
    >>> space = Space.from_dict({
    ...     "lr": {"type": "float", "low": 1e-5, "high": 0.1, "log": True},
    ...     "units": {"type": "int", "low": 16, "high": 256, "step": 16},
    ...     "activation": ["relu", "tanh"],
    ... })
    >>> [str(v) for v in space.validate({"lr": 0.5, "units": 64, "activation": "relu"})]
    ['lr: 0.5 is above the maximum 0.1']
    >>> config, changes = space.repair({"lr": 0.5, "units": "70", "activation": "ReLU"})
    >>> config
    {'lr': 0.1, 'units': 64, 'activation': 'relu'}
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import numbers
import re
from collections.abc import ItemsView, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pydantic
from pydantic import StrictBool, StrictFloat, StrictInt, StrictStr

from agenthpo.errors import SpaceError

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

__all__ = [
    "CategoricalParam",
    "Change",
    "Config",
    "FloatParam",
    "IntParam",
    "Param",
    "Space",
    "Violation",
    "ViolationKind",
]

logger = logging.getLogger("agenthpo")

Config = dict[str, Any]
"""One configuration: parameter name -> value."""

ViolationKind = Literal["unknown", "missing", "type", "range", "step", "choice", "inactive"]

_TYPES = ("float", "int", "categorical")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NAME_RULE = (
    "names must start with a letter or '_' and contain only letters, digits, '_', '.' and '-' "
    "(they become command-line flags)"
)
# Validation context key that turns off the cross-field checks, so that Space.from_dict can run
# them itself and report each problem under its own field path.
_SKIP_CHECKS = "agenthpo_space_skip_checks"
# Relative tolerance when checking that a float value lies on a step grid.
_GRID_TOL = 1e-9
# Minimum difflib ratio for repair() to snap a string to the closest string choice.
_CLOSE_RATIO = 0.6

_MODEL_CONFIG = pydantic.ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


def _check_after_validation(param: _AnyParam, info: pydantic.ValidationInfo) -> None:
    context = info.context if isinstance(info.context, Mapping) else {}
    if context.get(_SKIP_CHECKS):
        return
    problems = _param_problems(param)
    if problems:
        raise ValueError("; ".join(f"{field}: {message}" for field, message in problems))


def _listify_condition(value: Any) -> Any:
    """``{optimizer: sgd}`` is shorthand for ``{optimizer: [sgd]}``."""
    if isinstance(value, Mapping):
        return {
            key: list(val) if isinstance(val, (list, tuple)) else [val]
            for key, val in value.items()
        }
    return value


class FloatParam(pydantic.BaseModel):
    """A real-valued parameter in ``[low, high]``, optionally log-scaled or on a step grid.

    Attributes:
        type: Always ``"float"``.
        low: Lower bound (inclusive); must be positive when ``log`` is true.
        high: Upper bound (inclusive); must be greater than ``low``.
        log: Sample on a log scale.
        step: Grid spacing; ``high - low`` must be a multiple of it. Not allowed with ``log``.
        description: Free text shown to the LLM.
        condition: Makes the parameter conditional: it exists only when each named
            categorical parameter (defined earlier) takes one of the listed values, e.g.
            ``{optimizer: [sgd]}`` for a momentum.

    Example:
        >>> FloatParam(low=1e-5, high=0.1, log=True).log
        True
    """

    model_config = _MODEL_CONFIG

    type: Literal["float"] = "float"
    low: float
    high: float
    log: bool = False
    step: float | None = None
    description: str | None = None
    condition: dict[str, list[StrictBool | StrictInt | StrictFloat | StrictStr]] | None = None

    _cond = pydantic.field_validator("condition", mode="before")(_listify_condition)

    _no_bool = pydantic.field_validator("low", "high", "step", mode="before")(_reject_bool)

    @pydantic.model_validator(mode="after")
    def _check(self, info: pydantic.ValidationInfo) -> FloatParam:
        _check_after_validation(self, info)
        return self


class IntParam(pydantic.BaseModel):
    """An integer parameter in ``[low, high]``, optionally log-scaled or on a step grid.

    Attributes:
        type: Always ``"int"``.
        low: Lower bound (inclusive); at least 1 when ``log`` is true.
        high: Upper bound (inclusive); must be greater than ``low``.
        log: Sample on a log scale (only with ``step`` 1).
        step: Grid spacing; ``high - low`` must be a multiple of it.
        description: Free text shown to the LLM.

    Example:
        >>> IntParam(low=16, high=256, step=16).step
        16
    """

    model_config = _MODEL_CONFIG

    type: Literal["int"] = "int"
    low: int
    high: int
    log: bool = False
    step: int = 1
    description: str | None = None
    condition: dict[str, list[StrictBool | StrictInt | StrictFloat | StrictStr]] | None = None

    _cond = pydantic.field_validator("condition", mode="before")(_listify_condition)

    _no_bool = pydantic.field_validator("low", "high", "step", mode="before")(_reject_bool)

    @pydantic.model_validator(mode="after")
    def _check(self, info: pydantic.ValidationInfo) -> IntParam:
        _check_after_validation(self, info)
        return self


class CategoricalParam(pydantic.BaseModel):
    """A parameter that takes one of a list of scalar choices.

    The choices keep their exact types: ``True`` stays a bool, ``1`` an int, ``0.1`` a float
    and ``"a"`` a string.

    Attributes:
        type: Always ``"categorical"``.
        choices: The allowed values (non-empty, no duplicates).
        description: Free text shown to the LLM.

    Example:
        >>> CategoricalParam(choices=["adam", 2, 0.5, True]).choices
        ['adam', 2, 0.5, True]
    """

    model_config = _MODEL_CONFIG

    type: Literal["categorical"] = "categorical"
    choices: list[StrictBool | StrictInt | StrictFloat | StrictStr]
    description: str | None = None
    condition: dict[str, list[StrictBool | StrictInt | StrictFloat | StrictStr]] | None = None

    _cond = pydantic.field_validator("condition", mode="before")(_listify_condition)

    @pydantic.model_validator(mode="after")
    def _check(self, info: pydantic.ValidationInfo) -> CategoricalParam:
        _check_after_validation(self, info)
        return self


_AnyParam = FloatParam | IntParam | CategoricalParam
Param = Annotated[_AnyParam, pydantic.Field(discriminator="type")]
"""Any parameter definition, discriminated by its ``type`` field."""

_MODELS: dict[str, type[FloatParam] | type[IntParam] | type[CategoricalParam]] = {
    "float": FloatParam,
    "int": IntParam,
    "categorical": CategoricalParam,
}


@dataclass(frozen=True)
class Violation:
    """One way in which a configuration does not fit the space.

    Attributes:
        name: The parameter concerned (``""`` if it concerns the whole configuration).
        kind: ``"unknown"``, ``"missing"``, ``"type"``, ``"range"``, ``"step"`` or ``"choice"``.
        message: A readable explanation, starting with the parameter name.

    Example:
        >>> str(Violation("lr", "range", "lr: 0.5 is above the maximum 0.1"))
        'lr: 0.5 is above the maximum 0.1'
    """

    name: str
    kind: ViolationKind
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Change:
    """One change that :meth:`Space.normalize` or :meth:`Space.repair` made to a configuration.

    ``before`` is ``None`` when the value was missing; ``after`` is ``None`` when the name was
    removed.

    Attributes:
        name: The parameter (or removed unknown name).
        before: The value given.
        after: The value used instead.
        reason: Why, e.g. ``"clipped to the maximum"``.

    Example:
        >>> str(Change("epochs", 220, 200, "clipped to the maximum"))
        'epochs: 220 -> 200 (clipped to the maximum)'
    """

    name: str
    before: Any
    after: Any
    reason: str

    def __str__(self) -> str:
        if self.after is None:
            return f"{self.name}: removed {_short(self.before)} ({self.reason})"
        if self.before is None:
            return f"{self.name}: set to {_short(self.after)} ({self.reason})"
        return f"{self.name}: {_short(self.before)} -> {_short(self.after)} ({self.reason})"


class Space:
    """An ordered set of named hyperparameters.

    Args:
        params: Parameter name -> definition; the order is kept (prompts, :meth:`to_unit`).

    Raises:
        SpaceError: If ``params`` is empty or a name is not a valid flag name.

    Example:
        >>> space = Space({"lr": FloatParam(low=1e-4, high=1.0, log=True),
        ...                "opt": CategoricalParam(choices=["adam", "sgd"])})
        >>> space.names
        ['lr', 'opt']
        >>> space.default_value("lr")
        0.01
    """

    __slots__ = ("_params",)

    def __init__(self, params: Mapping[str, FloatParam | IntParam | CategoricalParam]) -> None:
        if not isinstance(params, Mapping):
            raise TypeError(f"Space() takes a mapping of name -> parameter, got {type(params)}")
        if not params:
            raise SpaceError(
                "space: is empty; define at least one parameter, "
                "e.g. lr: {type: float, low: 1.0e-5, high: 0.1, log: true}"
            )
        checked: dict[str, _AnyParam] = {}
        for name, param in params.items():
            problem = _name_problem(name)
            if problem is not None:
                raise SpaceError(f"space.{name}: {problem}")
            if not isinstance(param, (FloatParam, IntParam, CategoricalParam)):
                raise TypeError(
                    f"space.{name}: expected a FloatParam, IntParam or CategoricalParam, got "
                    f"{type(param).__name__}; use Space.from_dict() for plain mappings"
                )
            checked[name] = param
        problems: list[str] = []
        for name, param in checked.items():
            problems.extend(_condition_problems(name, param, checked))
        if problems:
            raise SpaceError("\n".join(problems))
        self._params = checked

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Space:
        """Build a space from its YAML/JSON form.

        Each entry maps a name to ``{type: float|int|categorical, ...}``; a plain list is
        shorthand for a categorical (a ready parameter object is accepted too). Numeric strings such as ``"1e-5"`` (which PyYAML produces
        for ``1e-5`` without a dot) are accepted for ``low``, ``high`` and ``step``.

        Args:
            data: Parameter name -> definition.

        Returns:
            The space.

        Raises:
            SpaceError: Listing every problem found, one per line, each starting with its field
                path (``space.<name>.<field>``) and saying what to fix.

        Example:
            >>> space = Space.from_dict({"lr": {"type": "float", "low": "1e-5", "high": 0.1},
            ...                          "batch_size": [32, 64, 128]})
            >>> space["lr"].low, space["batch_size"].choices
            (1e-05, [32, 64, 128])
            >>> Space.from_dict({"lr": {"type": "float", "low": 1, "high": 0.1}})
            Traceback (most recent call last):
              ...
            agenthpo.errors.SpaceError: space.lr.low: must be lower than high (got low=1.0, high=0.1); swap them
        """  # noqa: E501
        return cls._build(data, root="space")

    @classmethod
    def from_optuna(cls, distributions: Mapping[str, BaseDistribution]) -> Space:
        """Build a space from Optuna distributions (e.g. ``trial.distributions``).

        A float or int distribution with ``low == high`` becomes a categorical with one choice,
        since a :class:`FloatParam`/:class:`IntParam` needs ``low < high``.

        Args:
            distributions: Parameter name -> Optuna distribution.

        Returns:
            The space (without descriptions; Optuna has none).

        Raises:
            SpaceError: For unsupported distributions or choices (e.g. ``None``).

        Example:
            >>> from optuna.distributions import FloatDistribution
            >>> Space.from_optuna({"x": FloatDistribution(0.0, 1.0)})["x"].high
            1.0
        """
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        specs: dict[str, Any] = {}
        for name, dist in distributions.items():
            if isinstance(dist, (FloatDistribution, IntDistribution)):
                kind = "float" if isinstance(dist, FloatDistribution) else "int"
                if dist.low == dist.high:
                    specs[name] = {"type": "categorical", "choices": [dist.low]}
                elif kind == "float" and dist.step is None:
                    specs[name] = {
                        "type": kind,
                        "low": dist.low,
                        "high": dist.high,
                        "log": dist.log,
                    }
                else:
                    specs[name] = {
                        "type": kind,
                        "low": dist.low,
                        "high": dist.high,
                        "log": dist.log,
                        "step": dist.step,
                    }
            elif isinstance(dist, CategoricalDistribution):
                specs[name] = {"type": "categorical", "choices": list(dist.choices)}
            else:
                raise SpaceError(
                    f"distributions.{name}: unsupported Optuna distribution "
                    f"{type(dist).__name__}; use FloatDistribution, IntDistribution or "
                    "CategoricalDistribution"
                )
        return cls._build(specs, root="distributions")

    @classmethod
    def _build(cls, data: Any, *, root: str) -> Space:
        if not isinstance(data, Mapping):
            raise SpaceError(
                f"{root}: must be a mapping from parameter name to its definition "
                f"(got {_type_name(data)})"
            )
        if not data:
            raise SpaceError(
                f"{root}: is empty; define at least one parameter, "
                "e.g. lr: {type: float, low: 1.0e-5, high: 0.1, log: true}"
            )
        problems: list[str] = []
        params: dict[str, _AnyParam] = {}
        for name, spec in data.items():
            path = f"{root}.{name}"
            name_problem = _name_problem(name)
            if name_problem is not None:
                problems.append(f"{path}: {name_problem}")
            param, errors = _parse_param(path, spec)
            problems.extend(errors)
            if param is not None and name_problem is None:
                params[name] = param
        if problems:
            raise SpaceError("\n".join(problems))
        return cls(params)

    # ------------------------------------------------------------------ conversion

    def to_optuna(self) -> dict[str, BaseDistribution]:
        """Convert to Optuna distributions, in the space's order.

        Returns:
            Name -> ``FloatDistribution``, ``IntDistribution`` or ``CategoricalDistribution``.

        Example:
            >>> Space.from_dict({"n": {"type": "int", "low": 1, "high": 9, "step": 2}}).to_optuna()
            {'n': IntDistribution(high=9, log=False, low=1, step=2)}
        """
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        out: dict[str, BaseDistribution] = {}
        for name, param in self._params.items():
            if isinstance(param, FloatParam):
                out[name] = FloatDistribution(param.low, param.high, log=param.log, step=param.step)
            elif isinstance(param, IntParam):
                out[name] = IntDistribution(param.low, param.high, log=param.log, step=param.step)
            else:
                out[name] = CategoricalDistribution(list(param.choices))
        return out

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Return the JSON-able form that :meth:`from_dict` reads back.

        Example:
            >>> Space.from_dict({"act": ["relu", "tanh"]}).to_dict()
            {'act': {'type': 'categorical', 'choices': ['relu', 'tanh']}}
        """
        return {
            name: param.model_dump(mode="json", exclude_none=True)
            for name, param in self._params.items()
        }

    # ------------------------------------------------------------------ container protocol

    @property
    def names(self) -> list[str]:
        """The parameter names, in order.

        Example:
            >>> Space.from_dict({"b": [1, 2], "a": [3]}).names
            ['b', 'a']
        """
        return list(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __getitem__(self, name: str) -> FloatParam | IntParam | CategoricalParam:
        try:
            return self._params[name]
        except KeyError:
            raise KeyError(
                f"{name!r} is not a parameter of this space; the parameters are: "
                f"{', '.join(self._params)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def items(self) -> ItemsView[str, FloatParam | IntParam | CategoricalParam]:
        """The ``(name, parameter)`` pairs, in order.

        Example:
            >>> [(n, p.type) for n, p in Space.from_dict({"a": [1, 2]}).items()]
            [('a', 'categorical')]
        """
        return self._params.items()

    # ------------------------------------------------------------------ conditional parameters

    def is_conditional(self, name: str) -> bool:
        """Whether a parameter exists only under a condition on other parameters."""
        return bool(self[name].condition)

    def active(self, config: Mapping[str, Any]) -> list[str]:
        """The parameters that exist for ``config``, in order.

        A conditional parameter is active when every parent it names is active and takes one
        of the listed values.

        Example:
            >>> space = Space.from_dict({
            ...     "optimizer": ["sgd", "adam"],
            ...     "momentum": {"type": "float", "low": 0.0, "high": 0.99,
            ...                  "condition": {"optimizer": "sgd"}}})
            >>> space.active({"optimizer": "adam"})
            ['optimizer']
            >>> space.active({"optimizer": "sgd"})
            ['optimizer', 'momentum']
        """
        active: list[str] = []
        for name, param in self._params.items():
            if self._holds(param, config, active):
                active.append(name)
        return active

    def _holds(self, param: _AnyParam, config: Mapping[str, Any], active: Sequence[str]) -> bool:
        for parent, values in (param.condition or {}).items():
            if parent not in active or parent not in config:
                return False
            choices = self._params[parent]
            assert isinstance(choices, CategoricalParam)
            index = _choice_index(choices.choices, config[parent])
            if index is None or _choice_index(values, choices.choices[index]) is None:
                return False
        return True

    def condition_text(self, name: str) -> str:
        """``only when optimizer is sgd`` (empty for an unconditional parameter)."""
        condition = self[name].condition
        if not condition:
            return ""
        parts = [
            f"{parent} is {' or '.join(_format_choice(v) for v in values)}"
            for parent, values in condition.items()
        ]
        return "only when " + " and ".join(parts)

    def __eq__(self, other: object) -> bool:
        """Spaces are equal when they allow the same values for the same names.

        Order and descriptions are ignored: they do not change what can be sampled (and Optuna
        distributions carry no descriptions, so ``Space.from_optuna(s.to_optuna()) == s``).
        """
        if not isinstance(other, Space):
            return NotImplemented
        return self._signature() == other._signature()

    __hash__ = None  # type: ignore[assignment]

    def _signature(self) -> dict[str, tuple[Any, ...]]:
        out: dict[str, tuple[Any, ...]] = {}
        for name, param in self._params.items():
            cond = tuple(
                (k, tuple((type(v), v) for v in vals))
                for k, vals in (param.condition or {}).items()
            )
            if isinstance(param, CategoricalParam):
                out[name] = ("categorical", tuple((type(c), c) for c in param.choices), cond)
            else:
                out[name] = (param.type, param.low, param.high, param.log, param.step, cond)
        return out

    def __repr__(self) -> str:
        inner = ", ".join(f"{name!r}: {_param_repr(p)}" for name, p in self._params.items())
        return f"Space({{{inner}}})"

    # ------------------------------------------------------------------ checking and fixing

    def validate(self, config: Mapping[str, Any]) -> list[Violation]:
        """List every way in which ``config`` does not fit the space.

        Checks each parameter in order (missing, wrong type, out of range, off the step grid,
        not one of the choices; at most one violation per parameter), then names that are not
        parameters. Types are strict: a bool is never a number, an int parameter needs an
        ``int`` (``64.0`` is reported; :meth:`normalize` converts it), a float parameter
        accepts ints.

        Args:
            config: Name -> value.

        Returns:
            The violations; empty when the configuration is valid.

        Example:
            >>> space = Space.from_dict({"lr": {"type": "float", "low": 0.0, "high": 1.0},
            ...                          "opt": ["adam", "sgd"]})
            >>> for v in space.validate({"lr": "0.5", "opt": "AdamW", "seed": 1}):
            ...     print(v.kind, "|", v)
            type | lr: expected a number, got the string '0.5'
            choice | opt: 'AdamW' is not one of the choices: adam, sgd (did you mean 'adam'?)
            unknown | seed: not a parameter of this space; the parameters are: lr, opt
        """
        violations: list[Violation] = []
        active = self.active(config)
        for name, param in self._params.items():
            if name not in active:
                if name in config:
                    violations.append(
                        Violation(
                            name,
                            "inactive",
                            f"{name}: is used {self.condition_text(name)}; leave it out here",
                        )
                    )
                continue
            if name not in config:
                violations.append(
                    Violation(name, "missing", f"{name}: missing; give {_expectation(param)}")
                )
                continue
            violation = _check_value(name, param, config[name])
            if violation is not None:
                violations.append(violation)
        for key in config:
            if key not in self._params:
                hint = _did_you_mean(str(key), self._params)
                violations.append(
                    Violation(
                        str(key),
                        "unknown",
                        f"{key}: not a parameter of this space{hint}; "
                        f"the parameters are: {', '.join(self._params)}",
                    )
                )
        return violations

    def normalize(self, config: Mapping[str, Any]) -> tuple[Config, list[Change]]:
        """Apply the lossless coercions that turn near-misses into valid values.

        Numeric strings become numbers for numeric parameters (``"0.01"`` -> ``0.01``), integral
        floats become ints for int parameters (``64.0`` -> ``64``), ints become floats for float
        parameters (not reported), a string matching a string choice up to case and surrounding
        spaces becomes that choice (``"Adam"`` -> ``"adam"``), ``"true"``/``"false"`` become a
        bool choice, numbers equal to a choice become that choice. Never clips, never guesses;
        unknown names are kept (:meth:`validate` reports them).

        Args:
            config: Name -> value.

        Returns:
            The new configuration (same key order) and the changes made.

        Example:
            >>> space = Space.from_dict({"n": {"type": "int", "low": 1, "high": 9},
            ...                          "opt": ["adam", "sgd"]})
            >>> config, changes = space.normalize({"n": 64.0, "opt": " Adam "})
            >>> config
            {'n': 64, 'opt': 'adam'}
            >>> [str(c) for c in changes]
            ['n: 64.0 -> 64 (converted to an integer)', "opt: ' Adam ' -> 'adam' (matched the choice ignoring case and spaces)"]
        """  # noqa: E501
        out: Config = {}
        changes: list[Change] = []
        for key, value in config.items():
            param = self._params.get(key)
            if param is None:
                out[key] = value
                continue
            new, reasons = _coerce(param, value)
            out[key] = new
            if reasons:
                changes.append(Change(key, value, new, "; ".join(reasons)))
        active = self.active(out)
        for key in list(out):
            if key in self._params and key not in active:
                value = out.pop(key)
                if value is not None:
                    changes.append(
                        Change(key, value, None, f"dropped: used {self.condition_text(key)}")
                    )
        return out, changes

    def repair(self, config: Mapping[str, Any]) -> tuple[Config, list[Change]]:
        """Force any configuration into the space, reporting every change.

        Applies :meth:`normalize`'s coercions, then: removes unknown names (a name that only
        differs from a missing parameter in case, spaces or ``-``/``_`` is used for it), fills
        missing or unusable values with :meth:`default_value`, clips numbers to
        ``[low, high]``, rounds to integers and to the step grid, and replaces an invalid choice
        by the numerically nearest choice (numbers), the closest string by
        :func:`difflib.SequenceMatcher` ratio (strings, if the ratio is at least 0.6), or else
        the first choice. The result always passes :meth:`validate`; a valid configuration comes
        back unchanged with no changes.

        Args:
            config: Name -> value; anything goes.

        Returns:
            The repaired configuration (in the space's order) and the changes made.

        Example:
            >>> space = Space.from_dict({"epochs": {"type": "int", "low": 10, "high": 200},
            ...                          "opt": ["adam", "sgd"]})
            >>> config, changes = space.repair({"epochs": 220, "opt": "AdamW", "x": 1})
            >>> config
            {'epochs': 200, 'opt': 'adam'}
            >>> [str(c) for c in changes]
            ['epochs: 220 -> 200 (clipped to the maximum)', "opt: 'AdamW' -> 'adam' (not one of the choices; replaced by the closest choice)", 'x: removed 1 (not a parameter of this space)']
        """  # noqa: E501
        out: Config = {}
        changes: list[Change] = []
        unknown = [key for key in config if key not in self._params]
        renamed: dict[str, str] = {}
        for name in self._params:
            if name in config:
                continue
            matches = [
                key
                for key in unknown
                if isinstance(key, str)
                and _canonical_name(key) == _canonical_name(name)
                and key not in renamed.values()
            ]
            if len(matches) == 1:
                renamed[name] = matches[0]
        for name, param in self._params.items():
            if param.condition and not self._holds(param, out, list(out)):
                source = name if name in config else renamed.get(name)
                if source is not None and config[source] is not None:
                    reason = f"not used here; it is used {self.condition_text(name)}"
                    changes.append(Change(name, config[source], None, reason))
                continue
            if name in config or name in renamed:
                source = name if name in config else renamed[name]
                value = config[source]
                new, reasons = _repair_value(param, value)
                if source != name:
                    reasons.insert(0, f"taken from {source!r}")
                out[name] = new
                if reasons:
                    changes.append(Change(name, value, new, "; ".join(reasons)))
            else:
                new = _default(param)
                out[name] = new
                changes.append(Change(name, None, new, "missing; filled with the default"))
        for key in unknown:
            if key not in renamed.values():
                changes.append(Change(str(key), config[key], None, "not a parameter of this space"))
        if changes:
            logger.debug("repaired a configuration: %s", "; ".join(map(str, changes)))
        return out, changes

    def default_value(self, name: str) -> Any:
        """The centre of a parameter's range, used to fill missing values.

        Float: the midpoint (geometric mean on a log scale). Int: the same, rounded. On a step
        grid, the middle grid point (the lower one when two are equally central). Categorical:
        the first choice.

        Args:
            name: A parameter name.

        Returns:
            A valid value for the parameter.

        Example:
            >>> space = Space.from_dict({"lr": {"type": "float", "low": 1e-5, "high": 0.1,
            ...                                 "log": True},
            ...                          "units": {"type": "int", "low": 16, "high": 256,
            ...                                    "step": 16}})
            >>> space.default_value("lr"), space.default_value("units")
            (0.001, 128)
        """
        return _default(self[name])

    # ------------------------------------------------------------------ for the LLM

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of one configuration object, for LLM structured output.

        Uses only keywords that structured-output backends accept: ``type``, ``properties``,
        ``required``, ``additionalProperties``, ``enum``, ``minimum``, ``maximum`` and
        ``description`` (which also carries the log-scale and step notes the schema cannot
        express).

        Example:
            >>> Space.from_dict({"n": {"type": "int", "low": 1, "high": 9}}).json_schema()
            {'type': 'object', 'properties': {'n': {'type': 'integer', 'minimum': 1, 'maximum': 9}}, 'required': ['n'], 'additionalProperties': False}
        """  # noqa: E501
        properties: dict[str, Any] = {}
        for name, param in self._params.items():
            prop: dict[str, Any]
            if isinstance(param, CategoricalParam):
                prop = {"enum": list(param.choices)}
            else:
                json_type = "number" if isinstance(param, FloatParam) else "integer"
                prop = {"type": json_type, "minimum": param.low, "maximum": param.high}
            notes = _scale_notes(param)
            text = "; ".join(part for part in (param.description, ", ".join(notes)) if part)
            if text:
                prop["description"] = text
            if param.condition:
                prop = {
                    "anyOf": [prop, {"type": "null"}],
                    "description": f"{self.condition_text(name)}; null otherwise",
                }
            properties[name] = prop
        return {
            "type": "object",
            "properties": properties,
            "required": list(self._params),
            "additionalProperties": False,
        }

    def describe(self) -> list[str]:
        """One line per parameter, for an LLM prompt.

        Example:
            >>> space = Space.from_dict({
            ...     "lr": {"type": "float", "low": 1e-5, "high": 0.1, "log": True,
            ...            "description": "initial step size"},
            ...     "units": {"type": "int", "low": 16, "high": 256, "step": 16},
            ...     "activation": ["relu", "tanh", "logistic"]})
            >>> print("\\n".join(space.describe()))
            - lr (float, 1e-05 to 0.1, log scale): initial step size
            - units (int, 16 to 256, step 16)
            - activation (one of: relu, tanh, logistic)
        """
        lines = []
        for name, param in self._params.items():
            if isinstance(param, CategoricalParam):
                inner = "one of: " + ", ".join(_format_choice(c) for c in param.choices)
            else:
                inner = ", ".join(
                    [param.type, f"{_fmt(param.low)} to {_fmt(param.high)}", *_scale_notes(param)]
                )
            if param.condition:
                inner += f"; {self.condition_text(name)}"
            line = f"- {name} ({inner})"
            if param.description:
                line += f": {param.description}"
            lines.append(line)
        return lines

    # ------------------------------------------------------------------ geometry

    def to_unit(self, config: Mapping[str, Any]) -> list[float]:
        """Map each value into ``[0, 1]``, in the space's order.

        Numbers are scaled linearly (logarithmically for log parameters) and clamped; a
        categorical value maps to ``index / (n - 1)`` (``0.0`` with a single choice).

        Args:
            config: A configuration with a value for every parameter.

        Returns:
            One float per parameter.

        Raises:
            ValueError: If a value is missing, not a number, or not one of the choices.

        Example:
            >>> space = Space.from_dict({"lr": {"type": "float", "low": 1e-4, "high": 1.0,
            ...                                 "log": True}, "opt": ["a", "b", "c"]})
            >>> space.to_unit({"lr": 0.01, "opt": "c"})
            [0.5, 1.0]
        """
        return [
            0.0 if param.condition and name not in config else self._unit(name, param, config)
            for name, param in self._params.items()
        ]

    def distance(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
        """The largest per-parameter difference between two configurations, in ``[0, 1]``.

        Numbers compare in :meth:`to_unit` coordinates; a categorical counts 1.0 when the
        choices differ and 0.0 when they are the same.

        Raises:
            ValueError: As :meth:`to_unit`.

        Example:
            >>> space = Space.from_dict({"x": {"type": "float", "low": 0.0, "high": 10.0},
            ...                          "opt": ["a", "b", "c"]})
            >>> space.distance({"x": 1.0, "opt": "a"}, {"x": 6.0, "opt": "a"})
            0.5
            >>> space.distance({"x": 1.0, "opt": "a"}, {"x": 1.0, "opt": "b"})
            1.0
        """
        worst = 0.0
        for name, param in self._params.items():
            if param.condition and (name not in a or name not in b):
                diff = 0.0 if (name in a) == (name in b) else 1.0
            elif isinstance(param, CategoricalParam):
                diff = 0.0 if self._index(name, param, a) == self._index(name, param, b) else 1.0
            else:
                diff = abs(self._unit(name, param, a) - self._unit(name, param, b))
            worst = max(worst, diff)
        return worst

    @staticmethod
    def _index(name: str, param: CategoricalParam, config: Mapping[str, Any]) -> int:
        if name not in config:
            raise ValueError(f"{name}: missing from the configuration")
        index = _choice_index(param.choices, config[name])
        if index is None:
            raise ValueError(f"{name}: {_short(config[name])} is not one of the choices")
        return index

    @classmethod
    def _unit(cls, name: str, param: _AnyParam, config: Mapping[str, Any]) -> float:
        if isinstance(param, CategoricalParam):
            index = cls._index(name, param, config)
            count = len(param.choices)
            return index / (count - 1) if count > 1 else 0.0
        if name not in config:
            raise ValueError(f"{name}: missing from the configuration")
        value = config[name]
        if not _is_number(value) or (isinstance(value, float) and math.isnan(value)):
            raise ValueError(f"{name}: expected a number, got {_short(value)}")
        x = float(min(max(value, param.low), param.high))
        if param.log:
            low, high = math.log(param.low), math.log(param.high)
            unit = (math.log(x) - low) / (high - low)
        else:
            unit = (x - param.low) / (param.high - param.low)
        return min(max(unit, 0.0), 1.0)


# ---------------------------------------------------------------------- definition checks


def _condition_problems(name: str, param: _AnyParam, params: Mapping[str, _AnyParam]) -> list[str]:
    if not param.condition:
        return []
    problems = []
    names = list(params)
    for parent, values in param.condition.items():
        where = f"space.{name}.condition.{parent}"
        if parent not in params:
            problems.append(f"{where}: {parent!r} is not a parameter; name a categorical one")
            continue
        if names.index(parent) >= names.index(name):
            problems.append(f"{where}: define {parent!r} before {name!r}")
            continue
        owner = params[parent]
        if not isinstance(owner, CategoricalParam):
            problems.append(f"{where}: a condition must name a categorical parameter")
            continue
        if not values:
            problems.append(f"{where}: list at least one of {parent}'s choices")
        for value in values:
            if _choice_index(owner.choices, value) is None:
                choices = ", ".join(_format_choice(c) for c in owner.choices)
                problems.append(f"{where}: {value!r} is not one of {parent}'s choices: {choices}")
    return problems


def _name_problem(name: Any) -> str | None:
    if not isinstance(name, str):
        return f"parameter name {name!r} must be a string; {_NAME_RULE}"
    if not _NAME_RE.fullmatch(name):
        return f"invalid parameter name {name!r}; {_NAME_RULE}"
    return None


_MAX_EXACT_INT = 2**53


def _param_problems(param: _AnyParam) -> list[tuple[str, str]]:
    """Cross-field problems of a parameter whose fields have the right types."""
    if isinstance(param, CategoricalParam):
        return _choices_problems(param.choices)
    problems: list[tuple[str, str]] = []
    low, high = param.low, param.high
    if isinstance(param, IntParam):
        # Beyond 2**53 an int no longer survives the float round trips of the stores, the
        # LLM's JSON and the tables: the shown and the stored number would differ.
        for field_name, bound in (("low", low), ("high", high)):
            if abs(bound) > _MAX_EXACT_INT:
                problems.append(
                    (
                        field_name,
                        f"must be within -2**53..2**53 (about 9.0e15; got {float(bound):.3g});"
                        " use a float parameter with log: true for larger numbers",
                    )
                )
        if problems:
            return problems
    ordered = low < high
    if not ordered:
        if low == high:
            problems.append(
                (
                    "low",
                    f"must be lower than high (got low = high = {low!r}); a parameter with a "
                    "single value is a constant: remove it or use a categorical with one choice",
                )
            )
        else:
            problems.append(
                ("low", f"must be lower than high (got low={low!r}, high={high!r}); swap them")
            )
    if isinstance(param, FloatParam):
        if param.log and low <= 0:
            problems.append(
                (
                    "low",
                    f"must be positive on a log scale (got {low!r}); raise it or set log: false",
                )
            )
        if param.step is not None:
            if param.log:
                problems.append(("step", "use either log or step, not both (Optuna forbids both)"))
            if param.step <= 0:
                problems.append(("step", f"must be positive (got {param.step!r})"))
            elif ordered and not param.log:
                fix = _float_grid_problem(low, high, param.step)
                if fix is not None:
                    problems.append(("high", fix))
    else:
        if param.log and low < 1:
            problems.append(
                (
                    "low",
                    f"must be at least 1 on a log scale (got {low!r}); raise it or set log: false",
                )
            )
        if param.log and param.step != 1:
            problems.append(
                ("step", f"use either log or step, not both (got log: true, step: {param.step})")
            )
        if param.step <= 0:
            problems.append(("step", f"must be positive (got {param.step!r})"))
        elif ordered and not param.log and (high - low) % param.step != 0:
            down = low + (high - low) // param.step * param.step
            problems.append(
                ("high", _grid_message(high - low, param.step, down, down + param.step, low))
            )
    return problems


def _float_grid_problem(low: float, high: float, step: float) -> str | None:
    # Same decimal arithmetic as Optuna, which otherwise silently lowers high.
    d_low, d_high, d_step = Decimal(str(low)), Decimal(str(high)), Decimal(str(step))
    if (d_high - d_low) % d_step == 0:
        return None
    down = d_low + (d_high - d_low) // d_step * d_step
    return _grid_message(float(d_high - d_low), step, float(down), float(down + d_step), low)


def _grid_message(span: float, step: float, down: float, up: float, low: float) -> str:
    options = f"{up!r}" if down <= low else f"{down!r} or {up!r}"
    return (
        f"high - low ({span!r}) is not a multiple of step {step!r}; set high to {options} "
        "(or change low or step)"
    )


def _choices_problems(choices: Any) -> list[tuple[str, str]]:
    if not isinstance(choices, (list, tuple)):
        return [("choices", f"must be a list of values (got {_type_name(choices)})")]
    if not choices:
        return [("choices", "must not be empty; list at least one value")]
    problems: list[tuple[str, str]] = []
    for i, choice in enumerate(choices):
        field = f"choices[{i}]"
        if choice is None:
            problems.append(
                (
                    field,
                    "null is not supported; use a string such as 'none' and translate it in "
                    "your training code",
                )
            )
        elif not isinstance(choice, (bool, int, float, str)):
            problems.append(
                (
                    field,
                    f"must be a bool, int, float or string (got {_type_name(choice)} "
                    f"{_short(choice)}); nested values are not supported",
                )
            )
        elif isinstance(choice, float) and not math.isfinite(choice):
            problems.append((field, f"must be a finite number (got {choice!r})"))
    if problems:
        return problems
    for i, choice in enumerate(choices):
        for earlier in choices[:i]:
            if earlier == choice:
                if type(earlier) is type(choice):
                    text = f"{choice!r} appears more than once; remove the duplicate"
                else:
                    text = (
                        f"{earlier!r} and {choice!r} are the same choice to Optuna (it compares "
                        "choices with ==); keep only one"
                    )
                problems.append((f"choices[{i}]", text))
                break
    return problems


_FRIENDLY_ERRORS = {
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be a whole number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "finite_number": "must be a finite number",
    "list_type": "must be a list",
}


def _parse_param(path: str, spec: Any) -> tuple[_AnyParam | None, list[str]]:
    if isinstance(spec, (FloatParam, IntParam, CategoricalParam)):
        return spec, []
    if isinstance(spec, (list, tuple)):
        spec = {"type": "categorical", "choices": list(spec)}
    if not isinstance(spec, Mapping):
        return None, [
            f"{path}: must be a mapping such as {{type: float, low: 0.0, high: 1.0}} or a list "
            f"of choices (got {_type_name(spec)} {_short(spec)})"
        ]
    if "type" not in spec:
        return None, [
            f"{path}.type: missing; set it to one of: {', '.join(_TYPES)}{_guess_type(spec)}"
        ]
    kind = spec["type"]
    if not isinstance(kind, str) or kind not in _MODELS:
        hint = _did_you_mean(str(kind).lower(), _TYPES) if isinstance(kind, str) else ""
        return None, [f"{path}.type: unknown type {kind!r}; use one of: {', '.join(_TYPES)}{hint}"]
    model = _MODELS[kind]
    allowed = list(model.model_fields)
    problems: list[str] = []
    clean: dict[str, Any] = {}
    for key, value in spec.items():
        if key in allowed:
            clean[key] = value
        else:
            hint = _did_you_mean(str(key), allowed)
            problems.append(
                f"{path}.{key}: unknown key{hint}; {_article(kind)} {kind} parameter takes: "
                + ", ".join(allowed)
            )
    choice_errors = False
    if kind == "categorical" and "choices" in clean:
        pre = _choices_problems(clean["choices"])
        problems.extend(f"{path}.{field}: {message}" for field, message in pre)
        choice_errors = bool(pre)
    try:
        param = model.model_validate(clean, context={_SKIP_CHECKS: True})
    except pydantic.ValidationError as exc:
        problems.extend(_translate(path, kind, exc, skip_choices=choice_errors))
        return None, _unique(problems)
    if not choice_errors:  # for a categorical, _param_problems would repeat them
        problems.extend(f"{path}.{field}: {m}" for field, m in _param_problems(param))
    return (None if problems else param), problems


def _translate(
    path: str, kind: str, exc: pydantic.ValidationError, *, skip_choices: bool
) -> list[str]:
    out = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if skip_choices and loc and loc[0] == "choices":
            continue
        field = ""
        for part in loc:
            if isinstance(part, int):
                field += f"[{part}]"
            elif field and part in ("bool", "int", "float", "str"):
                break  # union member names: not part of the user's path
            else:
                field += f".{part}" if field else str(part)
        where = f"{path}.{field}" if field else path
        if error["type"] == "missing":
            needs = "choices" if kind == "categorical" else "low and high"
            out.append(f"{where}: missing; {_article(kind)} {kind} parameter needs {needs}")
            continue
        text = _FRIENDLY_ERRORS.get(error["type"])
        if text is None:
            text = str(error["msg"]).removeprefix("Value error, ")
        out.append(f"{where}: {text} (got {_short(error.get('input'))})")
    return out


def _guess_type(spec: Mapping[Any, Any]) -> str:
    if "choices" in spec:
        return " (it has choices, so probably type: categorical)"
    if "low" in spec or "high" in spec:
        bounds = [spec.get("low"), spec.get("high")]
        if all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
            return " (its bounds are integers, so perhaps type: int)"
        return " (it has low/high, so perhaps type: float)"
    return ""


# ---------------------------------------------------------------------- value checks


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: int | float) -> bool:
    """Like math.isfinite, but without overflowing on huge ints."""
    return isinstance(value, int) or math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: Any) -> str | None:
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind.__name__
    return None


def _family(kind: str | None) -> str | None:
    return "number" if kind in ("int", "float") else kind


def _choice_index(choices: list[Any], value: Any) -> int | None:
    """Index of the choice ``value`` stands for; an int matches an equal float choice."""
    kind = _kind(value)
    if kind is None:
        return None
    for i, choice in enumerate(choices):
        choice_kind = _kind(choice)
        if (choice_kind == kind or (choice_kind == "float" and kind == "int")) and choice == value:
            return i
    return None


def _on_float_grid(x: float, low: float, step: float) -> bool:
    snapped = low + round((x - low) / step) * step
    return math.isclose(x, snapped, rel_tol=_GRID_TOL, abs_tol=_GRID_TOL * step)


def _check_value(name: str, param: _AnyParam, value: Any) -> Violation | None:
    if isinstance(param, CategoricalParam):
        return _check_choice(name, param, value)
    if isinstance(param, IntParam) and not _is_int(value):
        if _is_number(value) and math.isfinite(value) and float(value).is_integer():
            detail = f"the float {value!r}; write {int(value)}"
        elif _is_number(value) and math.isfinite(value):
            detail = f"{value!r}, which has a fractional part"
        else:
            detail = _describe_value(value)
        return Violation(name, "type", f"{name}: expected an integer, got {detail}")
    if not _is_number(value) or (isinstance(value, float) and math.isnan(value)):
        return Violation(name, "type", f"{name}: expected a number, got {_describe_value(value)}")
    if value < param.low:
        return Violation(name, "range", f"{name}: {value!r} is below the minimum {param.low!r}")
    if value > param.high:
        return Violation(name, "range", f"{name}: {value!r} is above the maximum {param.high!r}")
    step = param.step
    if isinstance(param, IntParam):
        if (value - param.low) % param.step != 0:
            down = value - (value - param.low) % param.step
            return Violation(
                name,
                "step",
                f"{name}: {value!r} is not on the grid {param.low} + k * {param.step}; "
                f"the nearest allowed values are {down} and {down + param.step}",
            )
    elif step is not None and not _on_float_grid(float(value), param.low, step):
        k = math.floor((value - param.low) / step)
        down, up = _grid_point(param.low, step, k), _grid_point(param.low, step, k + 1)
        return Violation(
            name,
            "step",
            f"{name}: {value!r} is not on the grid {param.low!r} + k * {step!r}; "
            f"the nearest allowed values are {down!r} and {up!r}",
        )
    return None


def _check_choice(name: str, param: CategoricalParam, value: Any) -> Violation | None:
    if _choice_index(param.choices, value) is not None:
        return None
    listing = ", ".join(_format_choice(c) for c in param.choices)
    families = {_family(_kind(c)) for c in param.choices}
    family = _family(_kind(value))
    if family is None or family not in families:
        got = f"{value} (a bool)" if isinstance(value, bool) else _describe_value(value)
        return Violation(name, "type", f"{name}: expected one of: {listing}; got {got}")
    hint = ""
    if isinstance(value, str):
        hint = _did_you_mean(value, [c for c in param.choices if isinstance(c, str)])
    else:
        equal = [c for c in param.choices if _family(_kind(c)) == family and c == value]
        if equal:
            hint = f" (write it as {equal[0]!r})"
    return Violation(
        name, "choice", f"{name}: {_short(value)} is not one of the choices: {listing}{hint}"
    )


def _expectation(param: _AnyParam) -> str:
    if isinstance(param, CategoricalParam):
        return "one of: " + ", ".join(_format_choice(c) for c in param.choices)
    kind = "a float" if isinstance(param, FloatParam) else "an integer"
    return f"{kind} from {param.low!r} to {param.high!r}"


# ---------------------------------------------------------------------- coercion and repair


def _plain(value: Any) -> Any:
    """Turn numeric scalars of other libraries (numpy, ...) into int or float."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def _parse_float(text: str) -> float | None:
    try:
        x = float(text.strip())
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _coerce(param: _AnyParam, value: Any) -> tuple[Any, list[str]]:
    """Lossless coercions only; returns the (possibly unchanged) value and the reasons."""
    value = _plain(value)
    if isinstance(param, FloatParam):
        if isinstance(value, str):
            x = _parse_float(value)
            if x is not None:
                return x, ["converted the string to a number"]
        elif _is_int(value):
            try:
                x = float(value)
            except OverflowError:
                return value, []
            return (x if x == value else value), []
        return value, []
    if isinstance(param, IntParam):
        if isinstance(value, str):
            try:
                return int(value.strip()), ["converted the string to an integer"]
            except ValueError:
                x = _parse_float(value)
                if x is not None and x.is_integer():
                    return int(x), ["converted the string to an integer"]
        elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value), ["converted to an integer"]
        return value, []
    return _coerce_choice(param.choices, value)


def _coerce_choice(choices: list[Any], value: Any) -> tuple[Any, list[str]]:
    index = _choice_index(choices, value)
    if index is not None:
        return choices[index], []
    if isinstance(value, str):
        folded = value.strip().casefold()
        same = _unique(
            [c for c in choices if isinstance(c, str) and c.strip().casefold() == folded]
        )
        if len(same) == 1:
            return same[0], ["matched the choice ignoring case and spaces"]
        if folded in ("true", "false"):
            flag = folded == "true"
            if any(c is flag for c in choices):
                return flag, ["converted the string to a boolean"]
        x = _parse_float(value)
        if x is not None:
            for choice in choices:
                if _family(_kind(choice)) == "number" and choice == x:
                    return choice, ["converted the string to a number"]
    elif isinstance(value, bool):
        word = "true" if value else "false"
        same = _unique([c for c in choices if isinstance(c, str) and c.strip().casefold() == word])
        if len(same) == 1:
            return same[0], ["converted the boolean to the matching string choice"]
    elif _is_number(value):
        for choice in choices:
            if _is_int(choice) and choice == value:
                return choice, ["converted to an integer"]
        if _finite(value):
            for choice in choices:
                if isinstance(choice, str) and _parse_float(choice) == value:
                    return choice, ["converted the number to the matching string choice"]
    return value, []


def _repair_value(param: _AnyParam, value: Any) -> tuple[Any, list[str]]:
    new, reasons = _coerce(param, value)
    if isinstance(param, CategoricalParam):
        return _repair_choice(param, new, reasons)
    if not _is_number(new) or (isinstance(new, float) and math.isnan(new)):
        return _default(param), [f"{_describe_value(value)} is not a number; used the default"]
    if new < param.low:
        new = param.low
        reasons.append("clipped to the minimum")
    elif new > param.high:
        new = param.high
        reasons.append("clipped to the maximum")
    if isinstance(param, FloatParam):
        x = float(new)
        if param.step is not None and not _on_float_grid(x, param.low, param.step):
            x = _snap_float(param, x)
            reasons.append(f"rounded to the grid of step {param.step!r}")
        return x, reasons
    if not _is_int(new):
        new = math.floor(new + 0.5)
        reasons.append("rounded to an integer")
    offset = new - param.low
    if offset % param.step != 0:
        k = (2 * offset + param.step) // (2 * param.step)  # nearest, halves up
        new = min(param.low + k * param.step, param.high)
        reasons.append(f"rounded to the grid of step {param.step}")
    return new, reasons


def _repair_choice(
    param: CategoricalParam, value: Any, reasons: list[str]
) -> tuple[Any, list[str]]:
    choices = param.choices
    index = _choice_index(choices, value)
    if index is not None:
        return choices[index], reasons
    number: float | None = None
    if _is_number(value) and _finite(value):
        number = value
    elif isinstance(value, str):
        number = _parse_float(value)
    numeric = [c for c in choices if _family(_kind(c)) == "number"]
    if number is not None and numeric:
        target = Fraction(number)
        best = min(numeric, key=lambda c: abs(Fraction(c) - target))
        return best, ["not one of the choices; replaced by the nearest choice"]
    strings = [c for c in choices if isinstance(c, str)]
    if isinstance(value, str) and strings:
        folded = value.strip().casefold()
        scored = [
            (difflib.SequenceMatcher(None, folded, c.strip().casefold()).ratio(), -i, c)
            for i, c in enumerate(strings)
        ]
        ratio, _, best_str = max(scored)
        if ratio >= _CLOSE_RATIO:
            return best_str, ["not one of the choices; replaced by the closest choice"]
    return choices[0], ["not one of the choices; replaced by the default (the first choice)"]


def _grid_point(low: float, step: float, k: int) -> float:
    return float(Decimal(str(low)) + k * Decimal(str(step)))


def _snap_float(param: FloatParam, x: float) -> float:
    assert param.step is not None
    count = round((param.high - param.low) / param.step)
    k = min(max(math.floor((x - param.low) / param.step + 0.5), 0), count)
    return min(max(_grid_point(param.low, param.step, k), param.low), param.high)


def _default(param: _AnyParam) -> Any:
    if isinstance(param, CategoricalParam):
        return param.choices[0]
    low, high = param.low, param.high
    if isinstance(param, IntParam):
        if param.log:
            middle = math.floor(math.exp((math.log(low) + math.log(high)) / 2) + 0.5)
            return min(max(middle, low), high)
        return low + (high - low) // param.step // 2 * param.step
    if param.step is not None:
        count = round((high - low) / param.step)
        return _grid_point(low, param.step, count // 2)
    x = math.exp((math.log(low) + math.log(high)) / 2) if param.log else low / 2 + high / 2
    return min(max(float(f"{x:.12g}"), low), high)


# ---------------------------------------------------------------------- formatting


def _fmt(x: float) -> str:
    return format(x, ".6g")


def _format_choice(choice: Any) -> str:
    if isinstance(choice, bool):
        return "true" if choice else "false"
    if isinstance(choice, str):
        plain = (
            choice
            and choice == choice.strip()
            and "," not in choice
            and _parse_float(choice) is None
            and choice.lower() not in ("true", "false", "null", "none", "nan", "inf")
        )
        return choice if plain else json.dumps(choice)
    return repr(choice)


def _scale_notes(param: _AnyParam) -> list[str]:
    if isinstance(param, CategoricalParam):
        return []
    notes = []
    if param.log:
        notes.append("log scale")
    if param.step is not None and not (isinstance(param, IntParam) and param.step == 1):
        notes.append(f"step {_fmt(param.step)}")
    return notes


def _param_repr(param: _AnyParam) -> str:
    fields = param.model_dump(exclude_defaults=True)
    return f"{type(param).__name__}({', '.join(f'{k}={v!r}' for k, v in fields.items())})"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(value: Any) -> str:
    names = {list: "a list", tuple: "a list", dict: "a mapping", str: "a string", bool: "a bool"}
    if value is None:
        return "null"
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"


def _describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{value} (true/false is not a number)"
    if isinstance(value, str):
        return f"the string {_short(value)}"
    if isinstance(value, (int, float)):
        return repr(value)
    return f"{_type_name(value)} {_short(value)}"


def _did_you_mean(word: str, options: Any) -> str:
    candidates = [str(option) for option in options]
    folded = {c.casefold(): c for c in candidates}
    if word.casefold() in folded:
        return f" (did you mean {folded[word.casefold()]!r}?)"
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=_CLOSE_RATIO)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _canonical_name(name: str) -> str:
    return re.sub(r"[\s\-_]+", "_", name.strip().casefold())


def _unique(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if not any(type(item) is type(seen) and item == seen for seen in out):
            out.append(item)
    return out
