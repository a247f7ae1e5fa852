"""Forecast yearly sunspot activity with lag features and gradient boosting.

A training script for AgentHPO (the time-series family of the AgentHPO paper, CPU-sized).
Run as a command, its options are the search space; imported, :func:`train` takes a
configuration mapping and returns the final metrics, so a benchmark can call it in-process.

Data: ``statsmodels.datasets.sunspots`` (yearly mean sunspot activity, 1700 to 2008, 309
values, bundled with statsmodels). Task: forecast next year's value from the last
``n_lags`` years.

Protocol: rolling-origin evaluation with an expanding window. The validation period is
1889-1968 in 8 folds of 10 years: for each fold the model is fitted on every year before it
and forecasts the fold's years one step ahead (from the true lags). ``val_rmse`` (the
objective) is the root mean squared error over the 80 validation years (about seven solar
cycles: with 40 years, 1929-1968, the record peak of 1957 decided the score). The test
period, 1969-2008, is evaluated the same way (models fitted on every year before each fold);
its ``test_rmse`` is never shown to the agent.

Held-out folds (``--fold 1`` to ``--fold 4``): the same protocol on an earlier window of 20
years (fold 1: 1869-1888, 2: 1849-1868, 3: 1829-1848, 4: 1809-1828, two folds of 10 years
each), which the search never scores; ``val_rmse`` is then that window's RMSE. The tuner
re-evaluates its best configuration and the default on them (the task file's
``noise: {fold_param: fold}``): the training is deterministic, so re-running on further seeds
would show nothing, while a gain the search found by fitting the validation years does not
carry over to other years. Fold 0 (the default) is the validation period.

Model: ``HistGradientBoostingRegressor`` (squared error) on the lags, fitted on the
transformed series (``none``, ``sqrt`` or ``log1p``: the series is skewed, with long quiet
spells), forecasts transformed back. After the fits it reports the learning curve, one step
per boosting round (``val_rmse`` of the ensemble after that many rounds), then the final
metrics. One CPU thread; deterministic; about 0.5 to 4 s a run.

Usage:
    python train.py --n_lags 12 --transform sqrt --learning_rate 0.05 --max_iter 200
    python train.py --n_lags 12 --fold 2      # the held-out window 1849-1868
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np

from agenthpo.reporter import report

FOLD_YEARS = 10
VAL_START, VAL_FOLDS = 1889, 8
"""The validation period the search scores: 1889-1968, 8 folds of 10 years."""
TEST_START, TEST_FOLDS = 1969, 4
"""The test period: 1969-2008 (the last fold ends with the data, in 2008)."""
HELD_OUT_YEARS, HELD_OUT_FOLDS = 20, 4
"""Held-out folds 1..4: the 20-year windows before the validation period (1869-1888 back to
1809-1828, the first fitted on 69 years)."""
MAX_LAGS = 40

DEFAULTS: dict[str, Any] = {
    "n_lags": 10,
    "transform": "none",
    "learning_rate": 0.1,
    "max_iter": 100,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "l2_regularization": 0.0,
}
"""The configuration a run uses for every hyperparameter it is not given (scikit-learn's
defaults for the model)."""

TRANSFORMS = ("none", "sqrt", "log1p")

Array = np.ndarray[Any, Any]


@cache
def load_series() -> tuple[Array, Array]:
    """(years, values) of the yearly sunspot series."""
    import statsmodels.api as sm

    frame = sm.datasets.sunspots.load_pandas().data
    return frame["YEAR"].to_numpy(int), frame["SUNACTIVITY"].to_numpy(float)


def _forward(values: Array, transform: str) -> Array:
    if transform == "sqrt":
        return np.sqrt(values)
    if transform == "log1p":
        return np.log1p(values)
    return values


def _inverse(values: Array, transform: str) -> Array:
    if transform == "sqrt":
        return np.square(np.maximum(values, 0.0))
    if transform == "log1p":
        return np.expm1(values)
    return values


def lag_matrix(series: Array, n_lags: int) -> tuple[Array, Array]:
    """Rows ``t >= MAX_LAGS``: features ``series[t-1], ..., series[t-n_lags]``, target
    ``series[t]`` (every model starts at the same year, whatever ``n_lags``)."""
    rows = np.arange(MAX_LAGS, len(series))
    x = np.stack([series[rows - k] for k in range(1, n_lags + 1)], axis=1)
    return x, series[rows]


def _check(config: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown hyperparameter(s): {', '.join(sorted(unknown))}")
    cfg = {**DEFAULTS, **config}
    if not 1 <= int(cfg["n_lags"]) <= MAX_LAGS:
        raise ValueError(f"n_lags must be in 1..{MAX_LAGS}, got {cfg['n_lags']}")
    if cfg["transform"] not in TRANSFORMS:
        raise ValueError(f"transform must be one of {', '.join(TRANSFORMS)}")
    return cfg


def window(fold: int) -> tuple[int, int]:
    """The first year and the number of 10-year folds that ``val_rmse`` covers: fold 0 is
    the validation period, folds 1..4 the held-out windows before it.

    Example:
        >>> window(0), window(1), window(4)
        ((1889, 8), (1869, 2), (1809, 2))
    """
    if fold == 0:
        return VAL_START, VAL_FOLDS
    if not 1 <= fold <= HELD_OUT_FOLDS:
        raise ValueError(f"fold must be in 0..{HELD_OUT_FOLDS}, got {fold}")
    return VAL_START - fold * HELD_OUT_YEARS, HELD_OUT_YEARS // FOLD_YEARS


def _rolling(
    cfg: Mapping[str, Any], start_year: int, n_folds: int, seed: int
) -> tuple[list[Array], Array]:
    """Forecasts of ``n_folds`` folds from ``start_year`` after each boosting round (one
    array per round, the folds concatenated; the last is the model's) and the truth."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    years, values = load_series()
    transform = str(cfg["transform"])
    x, y = lag_matrix(_forward(values, transform), int(cfg["n_lags"]))
    target_years = years[MAX_LAGS:]
    truth = values[MAX_LAGS:]
    staged: list[list[Array]] = []
    actual: list[Array] = []
    for fold in range(n_folds):
        lo = start_year + fold * FOLD_YEARS
        fit = target_years < lo
        predict = (target_years >= lo) & (target_years < lo + FOLD_YEARS)
        model = HistGradientBoostingRegressor(
            learning_rate=float(cfg["learning_rate"]),
            max_iter=int(cfg["max_iter"]),
            max_leaf_nodes=int(cfg["max_leaf_nodes"]),
            min_samples_leaf=int(cfg["min_samples_leaf"]),
            l2_regularization=float(cfg["l2_regularization"]),
            early_stopping=False,
            random_state=seed,
        )
        model.fit(x[fit], y[fit])
        # Incremental: each stage adds one tree's predictions to the previous stage's.
        staged.append([_inverse(p, transform) for p in model.staged_predict(x[predict])])
        actual.append(truth[predict])
    rounds = [np.concatenate(per_fold) for per_fold in zip(*staged, strict=True)]
    return rounds, np.concatenate(actual)


def _rmse(pred: Array, truth: Array) -> float:
    return float(np.sqrt(np.mean((pred - truth) ** 2)))


def train(
    config: Mapping[str, Any] | None = None, *, seed: int = 0, fold: int = 0
) -> dict[str, float]:
    """Runs the rolling-origin evaluation, reports the learning curve and the final metrics.

    Args:
        config: Hyperparameters (missing ones take :data:`DEFAULTS`); a ``fold`` key, as
            the tuner passes it to a function, is the same as the ``fold`` argument.
        seed: The model's ``random_state`` (no effect without subsampling; kept for
            symmetry with the other examples).
        fold: Which years ``val_rmse`` scores: 0 the validation period, 1..4 a held-out
            window (:func:`window`). The test period is the same for every fold.

    Returns:
        ``val_rmse`` (the objective, on the fold's years), ``val_mae``, ``test_rmse``,
        ``test_mae`` and ``train_time_s``.

    Raises:
        ValueError: An unknown or invalid hyperparameter, or fold.
    """
    # Imported before threadpool_limits, which only limits libraries already loaded
    # (scikit-learn's OpenMP runtime comes with the model's module).
    import sklearn.ensemble  # noqa: F401
    from threadpoolctl import threadpool_limits

    config = dict(config or {})
    fold = int(config.pop("fold", fold))
    first_year, n_folds = window(fold)
    cfg = _check(config)
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        val_rounds, val_truth = _rolling(cfg, first_year, n_folds, seed)
        test_rounds, test_truth = _rolling(cfg, TEST_START, TEST_FOLDS, seed)
    for step, pred in enumerate(val_rounds, start=1):
        report(step=step, val_rmse=_rmse(pred, val_truth))
    val_pred, test_pred = val_rounds[-1], test_rounds[-1]
    final = {
        "val_rmse": _rmse(val_pred, val_truth),
        "val_mae": float(np.mean(np.abs(val_pred - val_truth))),
        "test_rmse": _rmse(test_pred, test_truth),
        "test_mae": float(np.mean(np.abs(test_pred - test_truth))),
        "train_time_s": time.perf_counter() - start,
    }
    report(None, **final)
    return final


def parse_args(argv: Sequence[str] | None = None) -> tuple[dict[str, Any], int, int]:
    """The configuration, the seed and the fold from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, default in DEFAULTS.items():
        choices = TRANSFORMS if name == "transform" else None
        parser.add_argument(f"--{name}", type=type(default), default=default, choices=choices)
    parser.add_argument("--seed", type=int, default=0, help="the model's random_state")
    parser.add_argument(
        "--fold",
        type=int,
        default=0,
        choices=range(HELD_OUT_FOLDS + 1),
        help="0: val_rmse on the validation period 1889-1968; 1-4: on a held-out window",
    )
    args = vars(parser.parse_args(argv))
    seed = int(args.pop("seed"))
    fold = int(args.pop("fold"))
    return args, seed, fold


def main(argv: Sequence[str] | None = None) -> int:
    """Runs :func:`train` with the command line's configuration and prints a summary."""
    config, seed, fold = parse_args(argv)
    try:
        final = train(config, seed=seed, fold=fold)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"val_rmse {final['val_rmse']:.3f}, val_mae {final['val_mae']:.3f},"
        f" {final['train_time_s']:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
