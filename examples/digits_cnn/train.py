"""Train a small convolutional network (PyTorch) on scikit-learn's 8x8 digits.

A training script for AgentHPO (the image family of the AgentHPO paper, CPU-sized). Run as a
command, its options are the search space; imported, :func:`train` takes a configuration
mapping and returns the final metrics, so a benchmark can call it in-process.

After each epoch it reports ``train_loss``, ``val_loss`` and ``val_accuracy`` with
``agenthpo.report``. The kept model is the epoch with the lowest validation loss (early
stopping with best-weight restore, patience 10 epochs); its ``val_loss`` (the objective),
``val_accuracy``, ``test_loss`` and ``test_accuracy`` are reported at the end. The test
metrics are never shown to the agent (``hidden_metrics`` in ``task.yaml``).

Data: ``sklearn.datasets.load_digits()`` (1797 8x8 grey images, bundled with scikit-learn),
split once, stratified, with ``random_state=0``: 60% train (1078), 20% validation (359), 20%
test (360); pixels scaled from 0..16 to 0..1.

Model: conv3x3(channels) -> ReLU -> maxpool2 -> conv3x3(2*channels) -> ReLU -> maxpool2 ->
dropout -> linear(10). One CPU thread (``torch.set_num_threads(1)``); deterministic for a
fixed ``--seed``. A run takes about 0.5 to 3 s.

Usage:
    python train.py --channels 16 --learning_rate 0.003 --epochs 20
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
import torch
from torch import nn

from agenthpo.reporter import report

SPLIT_SEED = 0
PATIENCE = 10

DEFAULTS: dict[str, Any] = {
    "channels": 8,
    "learning_rate": 3e-3,
    "weight_decay": 1e-4,
    "dropout": 0.2,
    "batch_size": 64,
    "epochs": 20,
    "optimizer": "adam",
}
"""The configuration a run uses for every hyperparameter it is not given."""

OPTIMIZERS = ("adam", "sgd")


@cache
def load_splits() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The train, val and test splits as (images N x 1 x 8 x 8, labels N) tensors."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.4, stratify=y, random_state=SPLIT_SEED
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=SPLIT_SEED
    )
    return {
        name: (torch.from_numpy(np.ascontiguousarray(a)), torch.from_numpy(b).long())
        for name, (a, b) in {
            "train": (x_train, y_train),
            "val": (x_val, y_val),
            "test": (x_test, y_test),
        }.items()
    }


def build_model(channels: int, dropout: float) -> nn.Module:
    """The CNN: two conv/ReLU/max-pool blocks (8x8 -> 4x4 -> 2x2), dropout, a linear layer."""
    return nn.Sequential(
        nn.Conv2d(1, channels, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(2 * channels * 4, 10),
    )


def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on ``(x, y)``."""
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = float(nn.functional.cross_entropy(logits, y))
        accuracy = float((logits.argmax(dim=1) == y).float().mean())
    return loss, accuracy


def _check(config: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown hyperparameter(s): {', '.join(sorted(unknown))}")
    cfg = {**DEFAULTS, **config}
    for name in ("channels", "batch_size", "epochs"):
        if int(cfg[name]) < 1:
            raise ValueError(f"{name} must be at least 1, got {cfg[name]}")
    if not 0.0 <= float(cfg["dropout"]) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {cfg['dropout']}")
    if cfg["optimizer"] not in OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {cfg['optimizer']!r}"
        )
    return cfg


def train(config: Mapping[str, Any] | None = None, *, seed: int = 0) -> dict[str, float]:
    """Trains one CNN, reporting each epoch; returns the final metrics.

    Args:
        config: Hyperparameters (missing ones take :data:`DEFAULTS`).
        seed: Weight initialization and batch order.

    Returns:
        ``val_loss`` (the objective), ``val_accuracy``, ``test_loss``, ``test_accuracy``,
        ``best_epoch``, ``epochs_run`` and ``train_time_s``.

    Raises:
        ValueError: An unknown or invalid hyperparameter.
    """
    cfg = _check(config or {})
    data = load_splits()
    x_train, y_train = data["train"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = build_model(int(cfg["channels"]), float(cfg["dropout"]))
        lr, wd = float(cfg["learning_rate"]), float(cfg["weight_decay"])
        optimizer: torch.optim.Optimizer = (
            torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
            if cfg["optimizer"] == "adam"
            else torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
        )
        batch = int(cfg["batch_size"])
        best: tuple[float, int, dict[str, torch.Tensor]] = (math.inf, 0, {})
        start = time.perf_counter()
        epoch = 0
        for epoch in range(1, int(cfg["epochs"]) + 1):
            model.train()
            order = torch.randperm(len(x_train), generator=generator)
            total = 0.0
            for i in range(0, len(order), batch):
                idx = order[i : i + batch]
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                total += loss.item() * len(idx)
            val_loss, val_accuracy = _evaluate(model, *data["val"])
            train_loss = total / len(order)
            report(step=epoch, train_loss=train_loss, val_loss=val_loss, val_accuracy=val_accuracy)
            if not math.isfinite(train_loss):
                break  # diverged: the best epoch so far stands
            if val_loss < best[0]:
                best = (val_loss, epoch, copy.deepcopy(model.state_dict()))
            elif epoch - best[1] >= PATIENCE:
                break
        if best[2]:
            model.load_state_dict(best[2])
        val_loss, val_accuracy = _evaluate(model, *data["val"])
        test_loss, test_accuracy = _evaluate(model, *data["test"])
    finally:
        torch.set_num_threads(threads)
    final = {
        "val_loss": val_loss,
        "val_accuracy": val_accuracy,
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "best_epoch": float(best[1]),
        "epochs_run": float(epoch),
        "train_time_s": time.perf_counter() - start,
    }
    report(None, **final)
    return final


def parse_args(argv: Sequence[str] | None = None) -> tuple[dict[str, Any], int]:
    """The configuration and the seed from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, default in DEFAULTS.items():
        kind = type(default)
        choices = OPTIMIZERS if name == "optimizer" else None
        parser.add_argument(f"--{name}", type=kind, default=default, choices=choices)
    parser.add_argument("--seed", type=int, default=0, help="weight init and batch order")
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
        f"best epoch {final['best_epoch']:.0f} of {final['epochs_run']:.0f}:"
        f" val_loss {final['val_loss']:.4f}, val_accuracy {final['val_accuracy']:.4f},"
        f" {final['train_time_s']:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
