"""Conversion between a space's parameters and Optuna distributions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agenthpo.errors import SpaceError
from agenthpo.space._params import FloatParam, IntParam, _AnyParam

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution


def _to_optuna(params: Mapping[str, _AnyParam]) -> dict[str, BaseDistribution]:
    """Name -> Optuna distribution, in order (see :meth:`Space.to_optuna`)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, BaseDistribution] = {}
    for name, param in params.items():
        if isinstance(param, FloatParam):
            out[name] = FloatDistribution(param.low, param.high, log=param.log, step=param.step)
        elif isinstance(param, IntParam):
            out[name] = IntDistribution(param.low, param.high, log=param.log, step=param.step)
        else:
            out[name] = CategoricalDistribution(list(param.choices))
    return out


def _specs_from_optuna(distributions: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """The YAML/JSON form of Optuna distributions (see :meth:`Space.from_optuna`).

    A float or int distribution with ``low == high`` becomes a categorical with one choice,
    since a :class:`FloatParam`/:class:`IntParam` needs ``low < high``.
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
    return specs
