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

The package is split by concern; :class:`Space` is the façade whose methods delegate:
``_params`` (the parameter definitions and their checks), ``_parse`` (reading the YAML/JSON
form), ``_validate`` (violations), ``_repair`` (coercion and repair), ``_conditions``
(conditional parameters), ``_geometry`` (the unit cube, distances, grids, defaults),
``_schema`` (the JSON Schema of a configuration), ``_optuna`` (conversion to and from
distributions), ``_values`` and ``_format`` (shared predicates and message formatting). The
text an LLM reads about a space (its description, scale notes) is in
:mod:`agenthpo.agent.prompts`.
"""

from __future__ import annotations

from agenthpo.space._params import CategoricalParam, Config, FloatParam, IntParam, Param
from agenthpo.space._repair import Change
from agenthpo.space._space import Space
from agenthpo.space._validate import Violation, ViolationKind

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
