"""Train a toy model with click options whose seed flag differs from its name (a fixture)."""

from __future__ import annotations

import click

from agenthpo.reporter import report


@click.command()
@click.option("--lr", type=float, default=0.01)
@click.option("--random-state", "random_state", type=int, default=0)
def main(lr: float, random_state: int) -> None:
    report(val_loss=abs(lr - 0.02) + random_state / 1000)


if __name__ == "__main__":
    main()
