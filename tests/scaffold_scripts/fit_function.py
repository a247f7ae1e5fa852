"""Plain Python functions to tune (a fixture for `agenthpo init FILE:FUNCTION`)."""

from __future__ import annotations

from typing import Literal


def fit(
    lr: float = 0.05,
    n_layers: int = 2,
    norm: Literal["batch", "layer"] = "batch",
    use_bias: bool = True,
    *,
    max_iter: int = 100,
    verbose: bool = False,
) -> float:
    """Fits a toy model and returns its validation loss."""
    bias = 0.0 if use_bias else 0.1
    return (lr - 0.02) ** 2 + abs(n_layers - 3) / 10 + bias + max_iter / 1e5


def objective(config, report):  # type: ignore[no-untyped-def]
    """An agenthpo objective that reads a config mapping."""
    x = float(config["x"])
    width = config.get("width", 32)
    kind = config["kind"]
    report(step=0, loss=x * x)
    return {"val_mae": (x - 1) ** 2 + width / 1000 + (kind == "b")}


def helper():  # type: ignore[no-untyped-def]
    return 1
