"""Fit a toy tree whose depth option defaults to None (a fixture for `agenthpo init`)."""

from __future__ import annotations

import argparse

from agenthpo import report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learning_rate", type=float, default=0.1)
    parser.add_argument("--max_depth", type=int, default=None, help="None: grow until pure")
    args = parser.parse_args()
    depth = 8 if args.max_depth is None else args.max_depth
    report(
        val_loss=(args.learning_rate - 0.05) ** 2 + abs(depth - 4) / 10,
        script_default_depth=float(args.max_depth is None),
    )


if __name__ == "__main__":
    main()
