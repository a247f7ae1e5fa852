"""Train scikit-learn's MLPClassifier on the digits data set, epoch by epoch.

A training script run by AgentHPO as a command; its command-line options are the search
space. After each epoch it reports ``train_loss``, ``train_accuracy`` and ``val_accuracy``
with ``agenthpo.report``; it stops early when the validation accuracy has not improved for
``--patience`` epochs; at the end it restores the best epoch's model (as early stopping
with ``restore_best_weights`` does) and reports its ``val_accuracy`` and ``test_accuracy``,
with ``best_epoch`` and ``train_time_s``. Test accuracy is never shown to the agent: the
task file lists it under ``hidden_metrics``.

Data: ``sklearn.datasets.load_digits()`` (1797 8x8 images, bundled with scikit-learn), split
once, stratified, with ``random_state=0``: 60% train, 20% validation, 20% test.
Standardized with a ``StandardScaler`` fitted on the training part.

BLAS runs on one thread: the matrices are small, so more threads only add overhead (and
contention when trials run in parallel on the same cores).

Usage:
    python train.py --hidden_units 128 --n_layers 2 --learning_rate_init 0.003
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from agenthpo.reporter import report

SPLIT_SEED = 0


def load_splits() -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """Returns the standardized (X, y) of the train, val and test splits (60/20/20)."""
    x, y = load_digits(return_X_y=True)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.4, stratify=y, random_state=SPLIT_SEED
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=SPLIT_SEED
    )
    scaler = StandardScaler().fit(x_train)
    return {
        "train": (scaler.transform(x_train), y_train),
        "val": (scaler.transform(x_val), y_val),
        "test": (scaler.transform(x_test), y_test),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The hyperparameters; defaults are scikit-learn's where it has one."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden_units", type=int, default=100, help="units per hidden layer")
    parser.add_argument("--n_layers", type=int, default=1, help="number of hidden layers")
    parser.add_argument("--activation", choices=["relu", "tanh", "logistic"], default="relu")
    parser.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty")
    parser.add_argument("--learning_rate_init", type=float, default=1e-3, help="Adam step size")
    parser.add_argument("--batch_size", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=200, help="maximum number of epochs")
    parser.add_argument("--seed", type=int, default=0, help="weight init and shuffling")
    parser.add_argument(
        "--patience", type=int, default=20, help="epochs without val improvement before stopping"
    )
    args = parser.parse_args(argv)
    for name in ("hidden_units", "n_layers", "batch_size", "epochs", "patience"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    return args


def train(args: argparse.Namespace, *, verbose: bool = True) -> dict[str, float]:
    """Trains one model, reporting each epoch; returns the final metrics."""
    data = load_splits()
    x_train, y_train = data["train"]
    x_val, y_val = data["val"]
    x_test, y_test = data["test"]
    model = MLPClassifier(
        hidden_layer_sizes=(args.hidden_units,) * args.n_layers,
        activation=args.activation,
        solver="adam",
        alpha=args.alpha,
        learning_rate_init=args.learning_rate_init,
        batch_size=args.batch_size,
        random_state=args.seed,
    )
    classes = np.unique(y_train)
    best_val, best_epoch = -1.0, 0
    best_model = model
    start = time.perf_counter()
    epoch = 0
    for epoch in range(1, args.epochs + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # overflow in a diverging run
            model.partial_fit(x_train, y_train, classes=classes)
        val_accuracy = float(model.score(x_val, y_val))
        report(
            step=epoch,
            train_loss=float(model.loss_),
            train_accuracy=float(model.score(x_train, y_train)),
            val_accuracy=val_accuracy,
        )
        if val_accuracy > best_val:
            best_val, best_epoch = val_accuracy, epoch
            best_model = copy.deepcopy(model)
        elif epoch - best_epoch >= args.patience:
            if verbose:
                print(
                    f"early stop at epoch {epoch}: val_accuracy has not improved for "
                    f"{args.patience} epochs (best {best_val:.4f} at epoch {best_epoch})"
                )
            break
    train_time = time.perf_counter() - start
    final = {
        "val_accuracy": float(best_model.score(x_val, y_val)),
        "test_accuracy": float(best_model.score(x_test, y_test)),
        "train_time_s": train_time,
        "epochs_run": float(epoch),
        "best_epoch": float(best_epoch),
    }
    report(**final)
    return final


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with threadpool_limits(limits=1):
        final = train(args)
    print(
        f"best model (epoch {final['best_epoch']:.0f} of {final['epochs_run']:.0f}): val_accuracy "
        f"{final['val_accuracy']:.4f}, test_accuracy {final['test_accuracy']:.4f}, "
        f"{final['train_time_s']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
