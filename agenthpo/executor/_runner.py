"""Runs one Python objective in a child process, for ``FunctionExecutor(isolate=True)``.

Usage: ``python -m agenthpo.executor._runner [--search-path DIR]... [--metric NAME]
module:function``

It reads the trial's configuration from the file named by ``AGENTHPO_CONFIG_FILE``, calls
``function(config, report)`` with a ``report`` that prints tagged lines on stdout, and
writes a returned number (as the metric ``NAME``, default ``value``) or mapping to the file
named by ``AGENTHPO_METRICS_FILE``. If the function raises, the traceback goes to stderr and
the exit status is 1.

Example:
    >>> from agenthpo.executor._runner import main
    >>> main(["not a target"])  # doctest: +SKIP
    2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from agenthpo.errors import ExecutorError
from agenthpo.executor._base import PROBLEMS_KEY, _metrics_from_return
from agenthpo.executor._function import _call_objective, _load_target
from agenthpo.reporter import METRICS_ENV, get_config, report

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the objective named on the command line; returns the exit status.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).

    Returns:
        0 on success, 1 if the objective raised, 2 if it cannot be run at all.
    """
    parser = argparse.ArgumentParser(prog="python -m agenthpo.executor._runner")
    parser.add_argument("--search-path", action="append", default=[])
    parser.add_argument("--metric", default="value", help="the name of a returned number")
    parser.add_argument("target", help="module:function")
    args = parser.parse_args(argv)
    sys.path[:0] = [path for path in args.search_path if path not in sys.path]
    return _run_objective(
        args.target,
        lambda fn, config: _call_objective(fn, config, report),
        metric=args.metric,
    )


def _run_objective(
    target: str,
    call: Callable[[Callable[..., Any], dict[str, Any]], Any],
    *,
    metric: str = "value",
) -> int:
    """Loads ``target`` (``module:function``), calls it through ``call(fn, config)`` with the
    trial's configuration and writes what it returns as the trial's final metrics (a
    returned number under the name ``metric``: the objective's value).

    Shared with :mod:`agenthpo.scaffold.call`, which calls the function differently.

    Returns:
        0 on success, 1 if importing the module or calling the function raised, 2 if it
        cannot be run at all (no configuration, no such function); the error goes to stderr.
    """
    try:
        config = get_config()
        fn = _load_target(target)
    except ExecutorError as exc:
        sys.stderr.write(f"ExecutorError: {exc}\n")
        return 2
    except Exception:
        traceback.print_exc()  # importing the module failed
        return 1
    problems: list[str] = []
    try:
        metrics = _metrics_from_return(call(fn, config), problems, metric=metric)
    except Exception:
        traceback.print_exc()
        return 1
    path = os.environ.get(METRICS_ENV)
    if metrics is not None and path:
        out: dict[str, Any] = dict(metrics)
        if problems:
            out[PROBLEMS_KEY] = problems[:3]  # the parent says what happened
        with open(path, "w", encoding="utf-8") as file:
            json.dump(out, file, allow_nan=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
