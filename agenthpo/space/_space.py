"""The :class:`Space` façade: one object whose methods delegate to the space's modules."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from agenthpo.errors import SpaceError
from agenthpo.space._conditions import _active, _condition_text
from agenthpo.space._format import _param_repr
from agenthpo.space._geometry import _default, _distance, _to_unit
from agenthpo.space._optuna import _conflicts, _specs_from_optuna, _to_optuna
from agenthpo.space._params import (
    CategoricalParam,
    Config,
    FloatParam,
    IntParam,
    _AnyParam,
    _condition_problems,
    _name_problem,
)
from agenthpo.space._parse import _build
from agenthpo.space._repair import Change, _normalize, _repair
from agenthpo.space._schema import _json_schema
from agenthpo.space._validate import Violation, _validate

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution


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
            problem = _name_problem(name, flags=False)  # from_dict checks a task file's
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
        return cls(_build(data, root="space"))

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
        return cls(_build(_specs_from_optuna(distributions), root="distributions", flags=False))

    # ------------------------------------------------------------------ conversion

    def to_optuna(self) -> dict[str, BaseDistribution]:
        """Convert to Optuna distributions, in the space's order.

        Returns:
            Name -> ``FloatDistribution``, ``IntDistribution`` or ``CategoricalDistribution``.

        Example:
            >>> Space.from_dict({"n": {"type": "int", "low": 1, "high": 9, "step": 2}}).to_optuna()
            {'n': IntDistribution(high=9, log=False, low=1, step=2)}
        """
        return _to_optuna(self._params)

    def conflicts_with(self, stored: Mapping[str, BaseDistribution]) -> list[str]:
        """The parameters a study's stored trials hold in a form Optuna cannot mix with this
        space's: another type, another log setting, or (categoricals) other choices. Ranges
        may change freely; parameters only one side has are no conflict.

        Args:
            stored: Parameter name -> the distribution earlier trials were stored with.

        Returns:
            One line per conflicting parameter (empty when the study can go on).

        Example:
            >>> from optuna.distributions import FloatDistribution
            >>> space = Space.from_dict({"x": ["a", "b"], "lr": {"type": "float", "low": 0.1,
            ...                          "high": 2.0}})
            >>> space.conflicts_with({"x": FloatDistribution(0.0, 1.0),
            ...                       "lr": FloatDistribution(0.0, 1.0)})
            ["x: stored as float, the space now says categorical ['a', 'b']"]
        """
        return _conflicts(self._params, stored)

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

    def with_range(self, name: str, low: float, high: float) -> Space:
        """A copy whose numeric parameter ``name`` ranges over ``[low, high]`` (everything
        else, its scale, step and hard limits included, as it was).

        Raises:
            KeyError: ``name`` is not a parameter.
            SpaceError: ``name`` is categorical, or the range is not valid for it (checked
                as a task file's would be).

        Example:
            >>> space = Space.from_dict({"lr": {"type": "float", "low": 1e-5, "high": 0.1,
            ...                                 "log": True}})
            >>> space.with_range("lr", 1e-4, 0.1)["lr"].low
            0.0001
        """
        param = self[name]
        if isinstance(param, CategoricalParam):
            raise SpaceError(f"space.{name}: a categorical parameter has no range")
        spec = {**param.model_dump(exclude_none=True), "low": low, "high": high}
        params: dict[str, FloatParam | IntParam | CategoricalParam] = dict(self._params)
        params[name] = _build({name: spec}, root="space", flags=False)[name]
        return Space(params)

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
        return _active(self._params, config)

    def condition_text(self, name: str) -> str:
        """``only when optimizer is sgd`` (empty for an unconditional parameter).

        Example:
            >>> space = Space.from_dict({
            ...     "optimizer": ["sgd", "adam"],
            ...     "momentum": {"type": "float", "low": 0.0, "high": 0.99,
            ...                  "condition": {"optimizer": "sgd"}}})
            >>> space.condition_text("momentum")
            'only when optimizer is sgd'
        """
        return _condition_text(self[name])

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
        return _validate(self._params, config)

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
        return _normalize(self._params, config)

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
        return _repair(self._params, config)

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
        ``required``, ``additionalProperties``, ``enum``, ``minimum``, ``maximum``, ``anyOf``
        (a conditional parameter may be ``null``) and ``description`` (the parameter's own).
        The notes the schema cannot express (log scale, step, when a conditional parameter
        applies) are prompt text: :func:`agenthpo.agent.prompts.config_schema` adds them.

        Example:
            >>> Space.from_dict({"n": {"type": "int", "low": 1, "high": 9}}).json_schema()
            {'type': 'object', 'properties': {'n': {'type': 'integer', 'minimum': 1, 'maximum': 9}}, 'required': ['n'], 'additionalProperties': False}
        """  # noqa: E501
        return _json_schema(self._params)

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
        return _to_unit(self._params, config)

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
        return _distance(self._params, a, b)
