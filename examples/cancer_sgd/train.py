"""A linear classifier trained by SGD on scikit-learn's breast-cancer data: a small task whose
default configuration is already good, so most apparent gains are seed noise.

Run by AgentHPO as a command (``python train.py --alpha 1e-4 ... --seed 0``); it reports
``val_accuracy`` (the objective) and ``test_accuracy`` (hidden from the agent) through
:func:`agenthpo.report`. The data split is fixed (``random_state=0``); ``--seed`` sets the
SGD's shuffling and initialisation, so a run is deterministic for a seed and differs across
seeds. A run takes a few milliseconds after the imports.

Example:
    .. code-block:: console

        $ python train.py --alpha 1e-3 --seed 1
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Sequence
from typing import Any

from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from agenthpo import report

DEFAULTS: dict[str, Any] = {
    "alpha": 3e-3,
    "penalty": "l2",
    "max_iter": 20,
    "eta0": 0.01,
    "learning_rate": "optimal",
}
"""A well-tuned default: scikit-learn's, with the penalty raised to ``alpha=3e-3`` (about
the best mean validation accuracy over seeds found for this split) and 20 epochs."""


def load_splits() -> dict[str, tuple[Any, Any]]:
    """569 tumours, 30 features: 60% train, 20% validation, 20% test (stratified, fixed)."""
    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.4, stratify=y, random_state=0
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=0
    )
    scaler = StandardScaler().fit(x_train)
    return {
        "train": (scaler.transform(x_train), y_train),
        "val": (scaler.transform(x_val), y_val),
        "test": (scaler.transform(x_test), y_test),
    }


def train(config: dict[str, Any] | None = None, *, seed: int = 0) -> dict[str, float]:
    """Fits one classifier; returns (and reports) its validation and test accuracy."""
    cfg = {**DEFAULTS, **(config or {})}
    unknown = set(cfg) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown hyperparameter(s): {', '.join(sorted(unknown))}")
    data = load_splits()
    model = SGDClassifier(
        loss="log_loss",
        alpha=float(cfg["alpha"]),
        penalty=str(cfg["penalty"]),
        max_iter=int(cfg["max_iter"]),
        eta0=float(cfg["eta0"]),
        learning_rate=str(cfg["learning_rate"]),
        tol=None,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(*data["train"])
    final = {
        "val_accuracy": float(model.score(*data["val"])),
        "test_accuracy": float(model.score(*data["test"])),
    }
    report(**final)
    return final


def parse_args(argv: Sequence[str] | None = None) -> tuple[dict[str, Any], int]:
    """The configuration and the seed from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alpha", type=float, default=DEFAULTS["alpha"], help="L2/L1 penalty")
    parser.add_argument("--penalty", choices=["l2", "l1", "elasticnet"], default="l2")
    parser.add_argument("--max_iter", type=int, default=DEFAULTS["max_iter"], help="epochs")
    parser.add_argument("--eta0", type=float, default=DEFAULTS["eta0"], help="initial step")
    parser.add_argument(
        "--learning_rate", choices=["optimal", "invscaling", "adaptive"], default="optimal"
    )
    parser.add_argument("--seed", type=int, default=0, help="shuffling and initialisation")
    args = vars(parser.parse_args(argv))
    seed = int(args.pop("seed"))
    return args, seed


def main(argv: Sequence[str] | None = None) -> None:
    """Trains once with the command line's configuration."""
    config, seed = parse_args(argv)
    train(config, seed=seed)


if __name__ == "__main__":
    main()
