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
import json
import os
import sys
import traceback
from collections.abc import Sequence

from agenthpo.errors import ExecutorError
from agenthpo.executor._base import _metrics_from_return
from agenthpo.executor._function import _call_objective, _load_target
from agenthpo.reporter import METRICS_ENV, get_config, report

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
    try:
        config = get_config()
        fn = _load_target(args.target)
    except ExecutorError as exc:
        sys.stderr.write(f"ExecutorError: {exc}\n")
        return 2
    except Exception:
        traceback.print_exc()  # importing the module failed
        return 1
    try:
        returned = _call_objective(fn, config, report) if args.config else fn(**config)
        metrics = _metrics_from_return(returned)
    except Exception:
        traceback.print_exc()
        return 1
    path = os.environ.get(METRICS_ENV)
    if metrics is not None and path:
        with open(path, "w", encoding="utf-8") as file:
            json.dump(metrics, file, allow_nan=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
