"""Train a toy model with click options (a fixture for `agenthpo init`)."""

from __future__ import annotations

import click

from agenthpo.reporter import report


@click.command()
@click.option("--learning-rate", "lr", type=float, default=0.001, help="Adam step size")
@click.option("--epochs", type=click.IntRange(1, 50), default=10)
@click.option("--activation", type=click.Choice(["relu", "gelu"]), default="relu")
@click.option("--label-smoothing", default=0.0, show_default=True)
@click.option("--shuffle/--no-shuffle", default=True)
@click.option("--log-dir", type=click.Path(), default="logs")
@click.argument("name", required=False)
def main(
    lr: float,
    epochs: int,
    activation: str,
    label_smoothing: float,
    shuffle: bool,
    log_dir: str,
    name: str | None,
) -> None:
    score = 1.0 - abs(lr - 0.003) - label_smoothing / 10 + epochs / 1000
    metrics = {"val_f1": score, "train_f1": score + 0.01}
    report(**metrics)


if __name__ == "__main__":
    main()
