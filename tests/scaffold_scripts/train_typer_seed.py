"""Train a toy model with typer options and a seed (a fixture for `agenthpo init`)."""

from __future__ import annotations

import random

import typer

from agenthpo.reporter import report


def main(lr: float = 0.01, depth: int = 3, seed: int = 0) -> None:
    noise = random.Random(seed).random() / 100
    report(val_loss=abs(lr - 0.02) + depth / 100 + noise)


if __name__ == "__main__":
    typer.run(main)
