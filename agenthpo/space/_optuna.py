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


def _kind(dist: BaseDistribution) -> str:
    """A distribution in words: ``float``, ``int (log)``, ``categorical ['a', 'b']``."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    if isinstance(dist, CategoricalDistribution):
        return f"categorical {list(dist.choices)!r}"
    kind = "float" if isinstance(dist, FloatDistribution) else "int"
    return f"{kind} (log)" if getattr(dist, "log", False) else kind


def _conflicts(
    params: Mapping[str, _AnyParam], stored: Mapping[str, BaseDistribution]
) -> list[str]:
    """Parameters whose stored distribution Optuna would refuse to mix with the space's
    (see :meth:`Space.conflicts_with`)."""
    from optuna.distributions import check_distribution_compatibility

    ours = _to_optuna(params)
    out: list[str] = []
    for name, old in stored.items():
        new = ours.get(name)
        if new is None:
            continue
        try:
            check_distribution_compatibility(old, new)
        except ValueError:
            out.append(f"{name}: stored as {_kind(old)}, the space now says {_kind(new)}")
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
