"""A function with a seed parameter (a fixture for `agenthpo init`)."""

from __future__ import annotations


def fit(lr: float = 0.01, layers: int = 2, seed: int = 0) -> float:
    return abs(lr - 0.02) + layers / 100 + seed / 1000
