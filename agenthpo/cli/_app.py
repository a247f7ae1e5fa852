"""The ``agenthpo`` app: the commands registered in the order ``--help`` lists them, and the
entry point that runs it (:mod:`agenthpo.cli` loads this module when the command starts)."""

from __future__ import annotations

from typing import Annotated, Any

import optuna
import typer
from typer.core import TyperCommand, TyperGroup

from agenthpo._version import __version__
from agenthpo.cli._common import FLAG, console, print_error
from agenthpo.cli.asktell import ask_command, tell_command
from agenthpo.cli.best import best_command
from agenthpo.cli.dashboard import dashboard_command
from agenthpo.cli.init import init_command
from agenthpo.cli.mcp import mcp_command
from agenthpo.cli.report import report_command
from agenthpo.cli.run import run_command, worker_command
from agenthpo.cli.show import show_command

__all__ = ["app", "main"]


def _as_flag(option: Any) -> Any:
    """``--help`` listed as a flag (typer's help otherwise shows ``--help <bool>``)."""
    if option is not None:
        option.metavar = ""
    return option


class _Group(TyperGroup):
    def get_help_option(self, ctx: Any) -> Any:
        return _as_flag(super().get_help_option(ctx))


class _Command(TyperCommand):
    def get_help_option(self, ctx: Any) -> Any:
        return _as_flag(super().get_help_option(ctx))


app = typer.Typer(
    name="agenthpo",
    cls=_Group,
    help="An LLM agent that tunes hyperparameters the way an expert would.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"agenthpo {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, metavar=FLAG, help="Show the version."
        ),
    ] = False,
) -> None:
    """AgentHPO: an LLM agent that tunes hyperparameters, on Optuna."""
    # The command owns its process: Optuna's per-trial INFO lines would interleave with the
    # live table (the library leaves Optuna's verbosity to its user).
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _one_line_error(exc: Any) -> None:
    """A mistake in the options (an unknown option, a value out of range) as one ``error:``
    line naming the command's ``--help``, as a mistake in a task file is; typer would draw
    a usage block and a boxed panel. Typer then exits 2."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        return  # `agenthpo` alone: the help was printed
    ctx = getattr(exc, "ctx", None)
    where = f" (see {ctx.command_path if ctx is not None else 'agenthpo'} --help)"
    # pydantic's "Value error, " prefix on a refused choice says nothing to a user
    print_error(f"{exc.format_message().replace(': Value error, ', ': ')}{where}")


def main() -> None:
    """Entry point of the ``agenthpo`` command."""
    from typer import rich_utils

    # typer formats a Click usage error with this hook; the command owns its process
    rich_utils.rich_format_error = _one_line_error  # type: ignore[assignment]
    app()


# In this order in --help and in the docs' CLI reference.
for _name, _command in (
    ("run", run_command),
    ("worker", worker_command),
    ("ask", ask_command),
    ("tell", tell_command),
    ("best", best_command),
    ("report", report_command),
    ("show", show_command),
    ("dashboard", dashboard_command),
    ("init", init_command),
    ("mcp", mcp_command),
):
    app.command(_name, cls=_Command)(_command)  # every command lists --help as a flag too
