"""Where configurations lie: the unit cube, distances, step grids and the range's centre."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from agenthpo.space._format import _short
from agenthpo.space._params import CategoricalParam, FloatParam, IntParam, _AnyParam
from agenthpo.space._values import _choice_index, _is_number


def _to_unit(params: Mapping[str, _AnyParam], config: Mapping[str, Any]) -> list[float]:
    """Each value mapped into ``[0, 1]`` (see :meth:`Space.to_unit`)."""
    return [
        0.0 if param.condition and name not in config else _unit(name, param, config)
        for name, param in params.items()
    ]


def _distance(params: Mapping[str, _AnyParam], a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """The largest per-parameter difference (see :meth:`Space.distance`)."""
    worst = 0.0
    for name, param in params.items():
        if param.condition and (name not in a or name not in b):
            diff = 0.0 if (name in a) == (name in b) else 1.0
        elif isinstance(param, CategoricalParam):
            diff = 0.0 if _index(name, param, a) == _index(name, param, b) else 1.0
        else:
            diff = abs(_unit(name, param, a) - _unit(name, param, b))
        worst = max(worst, diff)
    return worst


def _index(name: str, param: CategoricalParam, config: Mapping[str, Any]) -> int:
    if name not in config:
        raise ValueError(f"{name}: missing from the configuration")
    index = _choice_index(param.choices, config[name])
    if index is None:
        raise ValueError(f"{name}: {_short(config[name])} is not one of the choices")
    return index


def _unit(name: str, param: _AnyParam, config: Mapping[str, Any]) -> float:
    if isinstance(param, CategoricalParam):
        index = _index(name, param, config)
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
