"""A GCN-like training script (a fixture for `agenthpo init`, issue 18's draft mistakes).

Its options are those of a two-layer GCN on a citation graph: the GCN paper's defaults, and
a seed. It trains nothing: the loss is a smooth function of the options, so drafted tasks
run in milliseconds.
"""

from __future__ import annotations

import argparse
import math

from agenthpo import report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    parser.add_argument("--hidden", type=int, default=16, help="units of the hidden layer")
    parser.add_argument("--weight_decay", type=float, default=5e-4, help="L2 on layer one")
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=200, help="maximum epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    loss = (math.log10(args.lr) + 2) ** 2 + abs(math.log2(args.hidden) - 5) / 10
    loss += (math.log10(args.weight_decay) + 3.3) ** 2 / 10 + (args.dropout - 0.5) ** 2
    loss += 0.01 * ((args.seed * 7919) % 13) / 13  # seed noise
    report(val_loss=loss, epochs_run=min(args.epochs, 50))


if __name__ == "__main__":
    main()
