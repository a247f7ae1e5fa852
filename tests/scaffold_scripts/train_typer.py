"""Train a toy regressor with a typer command (a fixture for `agenthpo init`)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from agenthpo import report

app = typer.Typer()


class Booster(str, Enum):
    gbtree = "gbtree"
    dart = "dart"


@app.command()
def train(
    data_path: Path,
    max_depth: Annotated[int, typer.Option(help="tree depth")] = 6,
    eta: float = 0.3,
    subsample: Annotated[float, typer.Option("--subsample", help="row fraction")] = 1.0,
    booster: Booster = Booster.gbtree,
    n_estimators: int = typer.Option(100, help="boosting rounds"),
    early_stop: bool = False,
    out: Path = Path("model.json"),
) -> None:
    rmse = abs(eta - 0.1) + abs(max_depth - 4) / 10 + subsample / 100 + n_estimators / 1e4
    report(valid_rmse=rmse)


if __name__ == "__main__":
    app()
