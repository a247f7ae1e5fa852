"""The command line: ``agenthpo run | worker | ask | tell | best | report | show | dashboard |
init | mcp``.

Thin: each command parses its options, calls the API (:mod:`agenthpo.tuner`,
:mod:`agenthpo.studies`, :mod:`agenthpo.report_files`, ...) and prints with rich. A user's
mistake (a broken task file, a bad ``--llm`` spec, an unreachable endpoint) prints one
message per problem, without a traceback, and exits with status 2. A run whose trials all
failed exits with status 1 and one line saying why, so that a script can tell it from a run
that worked.

One module per command or group (:mod:`~agenthpo.cli.run`, :mod:`~agenthpo.cli.asktell`,
:mod:`~agenthpo.cli.best`, ...), all sharing :mod:`agenthpo.cli._common`;
:mod:`agenthpo.cli._app` only builds the app and registers them, and this module loads it
when the command starts. No command module imports another.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agenthpo.cli._app import app as app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``agenthpo`` command.

    The commands load in the first second or so; a Ctrl-C then exits with status 130 and
    one line, as one during a run does, instead of a traceback through the imports.
    """
    try:
        from agenthpo.cli._app import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    run()


def __getattr__(name: str) -> Any:
    """``app``, the typer app, loaded on first use (as :func:`main` loads it)."""
    if name == "app":
        from agenthpo.cli._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
