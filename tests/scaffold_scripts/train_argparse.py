"""Fit a toy quadratic with argparse options (a fixture for `agenthpo init`)."""

from __future__ import annotations

import argparse
import json
import os

from agenthpo import report

DEFAULT_DECAY = 1e-4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", "-l", type=float, default=0.01, help="step size")
    parser.add_argument("--weight-decay", type=float, default=DEFAULT_DECAY)
    parser.add_argument("--hidden", type=int, default=64, help="units per layer")
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--dropout", default=0.1, type=float)
    parser.add_argument("--momentum", default=0.9)
    parser.add_argument("--scheduler", default="cosine", help="learning-rate schedule")
    parser.add_argument("--use-bn", action="store_true", help="batch norm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="runs/")
    parser.add_argument("--data", default="data.csv")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--verbose", "-v", action="count", default=0)
    parser.add_argument("--layers", type=int, nargs="+", default=[64, 64])
    parser.add_argument("dataset_name", nargs="?", default="toy")
    args = parser.parse_args()
    loss = (args.lr - 0.03) ** 2 + args.weight_decay + abs(args.hidden - 100) / 1000
    for step in range(3):
        report(step=step, train_loss=loss * (3 - step))
    report(val_loss=loss, test_loss=loss * 1.1)
    path = os.environ.get("AGENTHPO_METRICS_FILE")
    if path:
        with open(path, "w") as f:
            json.dump({"val_loss": loss}, f)


if __name__ == "__main__":
    main()
