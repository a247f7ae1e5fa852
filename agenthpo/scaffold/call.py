"""Runs a function with keyword parameters as a trial: the runner of drafted function tasks.

``agenthpo init train.py:fit`` drafts ``command: [python, -m, agenthpo.scaffold.call,
train:fit]``. Each trial then calls ``fit(**config)`` with the configuration (read from the
file named by ``AGENTHPO_CONFIG_FILE``, so the values keep their types; the ``--name value``
arguments appended to the command are ignored). A returned number is reported as the metric
``value``, a returned mapping as final metrics. With ``--config`` the function is called as
``fn(config, report)`` instead (or ``fn(config)``), as ``function:`` tasks are.

Usage: ``python -m agenthpo.scaffold.call [--search-path DIR] [--config] module:function``

Example:
    >>> from agenthpo.scaffold.call import main
    >>> main(["not a target"])  # not run by AgentHPO: no config file
    2
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from agenthpo.executor._function import _call_objective
from agenthpo.executor._runner import _run_objective
from agenthpo.reporter import report

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Calls the function named on the command line with the trial's config.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``); unknown ``--name value`` pairs
            (the config, which the command executor appends) are ignored.

    Returns:
        0 on success, 1 if the function raised, 2 if it cannot be run at all.
    """
    parser = argparse.ArgumentParser(prog="python -m agenthpo.scaffold.call")
    parser.add_argument("--search-path", action="append", default=[])
    parser.add_argument("--config", action="store_true", help="call fn(config, report)")
    parser.add_argument("target", help="module:function")
    args, _ = parser.parse_known_args(argv)
    sys.path[:0] = [p for p in [*args.search_path, os.getcwd()] if p not in sys.path]

    def call(fn: Callable[..., Any], config: dict[str, Any]) -> Any:
        return _call_objective(fn, config, report) if args.config else fn(**config)

    return _run_objective(args.target, call)


if __name__ == "__main__":
    sys.exit(main())
