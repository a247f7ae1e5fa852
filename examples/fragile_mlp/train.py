"""Train a multilayer perceptron (PyTorch, plain SGD) on scikit-learn's 8x8 digits: a task
where runs fail.

A training script for AgentHPO whose search space holds the three ways training runs fail in
practice, each from a real cause:

- **diverges**: SGD with momentum and a learning rate too high for the depth and the
  normalization makes the loss NaN; the run stops at that epoch and reports it (its final
  ``val_accuracy`` is NaN);
- **crashes**: batch normalization cannot train on a batch of one sample (PyTorch raises
  ``ValueError: Expected more than 1 value per channel when training``), which happens with
  ``batch_size`` 1, and also with a batch size that leaves a last batch of one sample
  (1078 training images: ``batch_size`` 3 or 359);
- **times out**: each run has a compute limit, as a cluster job has a time limit, counted in
  multiply-adds (forward and backward) plus a fixed cost per optimizer step so that it is the
  same on a busy machine; a wide, deep network trained for many epochs in small batches
  exceeds it and the run raises ``TimeoutError`` at the epoch where it did.

Run as a command, its options are the search space; imported, :func:`train` takes a
configuration mapping and returns the final metrics, so a benchmark can call it in-process.
After each epoch it reports ``train_loss``, ``val_loss`` and ``val_accuracy``. The final
``val_accuracy`` (the objective) is the best epoch's; ``test_accuracy`` is never shown to the
agent.

Data: ``sklearn.datasets.load_digits()``, split once, stratified, ``random_state=0``: 60%
train (1078), 20% validation (359), 20% test (360); pixels standardized with the training
split's mean and deviation.

Model: ``depth`` hidden layers of ``width`` units, each linear -> norm -> ReLU (norm: none,
batch or layer normalization), then linear(10). SGD with ``momentum``, no weight decay. One
CPU thread; deterministic for a fixed ``--seed``. A run takes 0.1 to about 2 s on an idle
machine.

Usage:
    python train.py --learning_rate 0.05 --width 128 --depth 2 --norm batch
"""

from __future__ import annotations

import argparse
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

COMPUTE_LIMIT = 1.0e10
"""The run's compute limit: multiply-adds (forward and backward) plus :data:`STEP_COST` per
optimizer step: about 2 s of single-thread training on an idle 2-core machine."""

STEP_COST = 2.0e6
"""What one optimizer step costs beyond its arithmetic (Python and PyTorch dispatch), in
multiply-adds: a run of many tiny batches is slow though its arithmetic is small."""

DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.05,
    "momentum": 0.9,
    "width": 128,
    "depth": 2,
    "norm": "none",
    "batch_size": 64,
    "epochs": 20,
}
"""The configuration a run uses for every hyperparameter it is not given."""

NORMS = ("none", "batch", "layer")


@cache
def load_splits() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The train, val and test splits as (features N x 64, labels N) tensors."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.4, stratify=y, random_state=SPLIT_SEED
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=SPLIT_SEED
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-6
    return {
        name: (
            torch.from_numpy(((a - mean) / std).astype(np.float32)),
            torch.from_numpy(b).long(),
        )
        for name, (a, b) in {
            "train": (x_train, y_train),
            "val": (x_val, y_val),
            "test": (x_test, y_test),
        }.items()
    }


def build_model(width: int, depth: int, norm: str) -> nn.Module:
    """``depth`` blocks of linear -> norm -> ReLU, then a linear layer to the 10 classes."""
    layers: list[nn.Module] = []
    fan_in = 64
    for _ in range(depth):
        layers.append(nn.Linear(fan_in, width))
        if norm == "batch":
            layers.append(nn.BatchNorm1d(width))
        elif norm == "layer":
            layers.append(nn.LayerNorm(width))
        layers.append(nn.ReLU())
        fan_in = width
    layers.append(nn.Linear(fan_in, 10))
    return nn.Sequential(*layers)


def epoch_cost(width: int, depth: int, batch_size: int, n_train: int) -> float:
    """One epoch's cost against :data:`COMPUTE_LIMIT`: three multiply-adds per weight and
    sample (forward, and the two products of the backward pass), plus each step's fixed
    cost."""
    weights = 64 * width + (depth - 1) * width * width + width * 10
    steps = math.ceil(n_train / batch_size)
    return 3.0 * weights * n_train + STEP_COST * steps


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
    for name in ("width", "depth", "batch_size", "epochs"):
        if int(cfg[name]) < 1:
            raise ValueError(f"{name} must be at least 1, got {cfg[name]}")
    if float(cfg["learning_rate"]) <= 0 or not 0.0 <= float(cfg["momentum"]) < 1.0:
        raise ValueError("learning_rate must be positive and momentum in [0, 1)")
    if cfg["norm"] not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {cfg['norm']!r}")
    return cfg


def train(config: Mapping[str, Any] | None = None, *, seed: int = 0) -> dict[str, float]:
    """Trains one MLP, reporting each epoch; returns the final metrics.

    Args:
        config: Hyperparameters (missing ones take :data:`DEFAULTS`).
        seed: Weight initialization and batch order.

    Returns:
        ``val_accuracy`` (the objective: the best epoch's; NaN if the loss diverged),
        ``val_loss``, ``test_accuracy``, ``best_epoch``, ``epochs_run`` and ``compute``
        (the share of the compute limit used).

    Raises:
        ValueError: An unknown or invalid hyperparameter, or batch normalization given a
            batch of one sample (PyTorch's own error).
        TimeoutError: The run exceeded its compute limit.
    """
    cfg = _check(config or {})
    data = load_splits()
    x_train, y_train = data["train"]
    width, depth, batch = int(cfg["width"]), int(cfg["depth"]), int(cfg["batch_size"])
    per_epoch = epoch_cost(width, depth, batch, len(x_train))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    start = time.perf_counter()
    try:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = build_model(width, depth, str(cfg["norm"]))
        optimizer = torch.optim.SGD(
            model.parameters(), lr=float(cfg["learning_rate"]), momentum=float(cfg["momentum"])
        )
        best = (-1.0, math.nan, 0, math.nan)  # val_accuracy, val_loss, epoch, test_accuracy
        used = 0.0
        epoch = 0
        diverged = False
        for epoch in range(1, int(cfg["epochs"]) + 1):
            used += per_epoch
            if used > COMPUTE_LIMIT:
                needed = per_epoch * int(cfg["epochs"]) / COMPUTE_LIMIT
                raise TimeoutError(
                    f"the run exceeded its compute limit at epoch {epoch} of {cfg['epochs']}"
                    f" ({needed:.1f}x the limit for every epoch)"
                )
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
            train_loss = total / len(order)
            val_loss, val_accuracy = _evaluate(model, *data["val"])
            if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
                report(step=epoch, train_loss=math.nan, val_loss=math.nan, val_accuracy=math.nan)
                diverged = True
                break
            report(step=epoch, train_loss=train_loss, val_loss=val_loss, val_accuracy=val_accuracy)
            if val_accuracy > best[0]:
                best = (val_accuracy, val_loss, epoch, _evaluate(model, *data["test"])[1])
    finally:
        torch.set_num_threads(threads)
    final = {
        "val_accuracy": math.nan if diverged else best[0],
        "val_loss": math.nan if diverged else best[1],
        "test_accuracy": math.nan if diverged else best[3],
        "best_epoch": float(best[2]),
        "epochs_run": float(epoch),
        "compute": used / COMPUTE_LIMIT,
        "train_time_s": time.perf_counter() - start,
    }
    report(None, **final)
    return final


def parse_args(argv: Sequence[str] | None = None) -> tuple[dict[str, Any], int]:
    """The configuration and the seed from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, default in DEFAULTS.items():
        choices = NORMS if name == "norm" else None
        parser.add_argument(f"--{name}", type=type(default), default=default, choices=choices)
    parser.add_argument("--seed", type=int, default=0, help="weight init and batch order")
    args = vars(parser.parse_args(argv))
    seed = int(args.pop("seed"))
    return args, seed


def main(argv: Sequence[str] | None = None) -> int:
    """Runs :func:`train` with the command line's configuration and prints a summary.

    A run that diverged exits 0 with its NaN metrics reported (the curve says where); a
    crash or a run over its compute limit exits 1 with the error on stderr.
    """
    config, seed = parse_args(argv)
    try:
        final = train(config, seed=seed)
    except (ValueError, TimeoutError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(
        f"best epoch {final['best_epoch']:.0f} of {final['epochs_run']:.0f}:"
        f" val_accuracy {final['val_accuracy']:.4f}, {final['train_time_s']:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
