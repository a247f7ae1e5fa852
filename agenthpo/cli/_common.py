"""What every ``agenthpo`` command shares: the consoles, the error guard, option types and
the formatting of values, configs and the noise-robust selection.

Every command module imports from here and from the API, never from a sibling command.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text

from agenthpo._text import one_line
from agenthpo.errors import AgentHPOError, NoResultError
from agenthpo.reporting._data import Selection
from agenthpo.task import MAX_SEED

__all__ = [
    "FLAG",
    "LLMOption",
    "SeedOption",
    "Stopped",
    "StorageOption",
    "StudyOption",
    "config_text",
    "console",
    "err_console",
    "fmt_value",
    "guard",
    "literal",
    "print_error",
    "selection_lines",
    "setup_logging",
    "stop_on_signals",
]

# markup=False, emoji=False: text from a task, an LLM or a training script ("[/]" in an
# error, a tag in a rationale, the ":x:" of "ollama:x: cannot reach") is printed as written,
# never read as Rich markup or emoji codes; styles are given as Text.


class _Console(Console):
    """Rich's console, but a reader that goes away (``agenthpo run ... | head -1``) costs
    only the rest of the output: Rich's default ended the process with status 1 in the
    middle of a run, between two trials. The output now goes to the null device, and the
    command finishes its work (the results are in storage either way)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        stream = sys.stderr if self.stderr else sys.stdout
        try:
            fileno = stream.fileno()
        except (AttributeError, OSError, ValueError):
            return  # not a real file (a test's capture): quiet is enough
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fileno)  # later writes, Python's own flush at exit too, go nowhere
        finally:
            os.close(devnull)


console = _Console(markup=False, emoji=False)
err_console = _Console(stderr=True, markup=False, emoji=False)

T = TypeVar("T")

LLMOption = Annotated[
    str | None,
    typer.Option(
        "--llm",
        help="LLM spec: local, local:PATH, llamacpp[:PATH], openai:MODEL, anthropic:MODEL,"
        " ollama:MODEL, openai-compatible:URL#MODEL, openrouter:MODEL, deepseek:MODEL,"
        " random[:SEED]. Default: the task's llm (where there is a task), else AGENTHPO_LLM,"
        " else OPENAI_API_KEY, else ANTHROPIC_API_KEY, else a local Ollama, else the embedded"
        " model.",
    ),
]
StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="Optuna storage URL (default: the task's storage, else a SQLite file beside the"
        " task).",
    ),
]
SeedOption = Annotated[
    int | None,
    typer.Option("--seed", min=0, max=MAX_SEED, help="Random seed (0 to 2**32 - 1)."),
]
StudyOption = Annotated[
    str | None, typer.Option("--study", help="Study name (default: the task's name).")
]

FLAG = ""
"""The ``metavar`` of an on/off option. Without it typer's help lists a flag as ``--verbose
<bool>``, as if it took a value; an empty metavar lists it as ``--verbose``."""


def print_error(line: str) -> None:
    """Prints ``error: <line>`` on stderr, literally and on one line whatever the width."""
    err_console.print(Text("error: ", style="bold red") + Text(line), soft_wrap=True)


class Stopped(KeyboardInterrupt):
    """Raised in the main thread when the process is told to stop (SIGTERM, SIGHUP).

    A ``KeyboardInterrupt``, so a stop takes Ctrl-C's path through the tuner: the running
    trial's processes are killed and the trial is stored as interrupted (outside the budget)
    and queued to run again, instead of dying with the process and staying RUNNING until
    the next run's grace period declares its runner lost.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def _exit_stopped(exc: Stopped) -> NoReturn:
    """One line naming the signal, then the shell's status for it (128 + its number)."""
    with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
        err_console.print(f"{exc}; every finished trial is stored")
    raise typer.Exit(128 + exc.signum) from None


def _is_stop(exc: BaseException | None) -> bool:
    """Whether ``exc`` is a :class:`Stopped`, or a group (anyio's) holding one."""
    inner = getattr(exc, "exceptions", None)  # an exception group (Python 3.10: backport)
    if isinstance(inner, tuple):
        return any(_is_stop(e) for e in inner)
    return isinstance(exc, Stopped)


class _QuietStop(logging.Filter):
    """Drops asyncio's report of a stop it met in a task being shut down ("unhandled
    exception during asyncio.run() shutdown", with a traceback): the stop is handled, and
    its one line says so."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _is_stop(record.exc_info[1]))


_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""What kill, timeout, docker stop, cluster schedulers and a closed terminal send."""


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """For the block, SIGTERM and SIGHUP stop the command as Ctrl-C does (:class:`Stopped`),
    and it exits with 128 + the signal's number (143, 129) and one line naming it.

    A second signal meets the handler that was there before (by default: the process ends
    at once). A signal that was ignored (``nohup``) or handled outside Python stays so; the
    previous handlers come back after the block, since tests run commands in-process.
    Outside the main thread, where Python sets no handler, nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        sig: handler
        for sig in _STOP_SIGNALS
        if (handler := signal.getsignal(sig)) is not None and handler != signal.SIG_IGN
    }

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def stop(signum: int, frame: FrameType | None) -> None:
        restore()  # a second signal is not held up by the clean-up of the first
        raise Stopped(signum)

    quiet = _QuietStop()
    asyncio_logger = logging.getLogger("asyncio")  # the MCP server's loop
    asyncio_logger.addFilter(quiet)
    for sig in previous:
        signal.signal(sig, stop)
    try:
        yield
    except Stopped as exc:  # outside guard: the summary, the report
        _exit_stopped(exc)
    finally:
        restore()
        asyncio_logger.removeFilter(quiet)


def guard(fn: Callable[[], T]) -> T:
    """Runs ``fn``; a user's error prints without a traceback and exits 2 (1 when a study
    has no result yet: :class:`~agenthpo.errors.NoResultError`); Ctrl-C exits
    130, and a stop under :func:`stop_on_signals` 128 + the signal's number."""
    try:
        return fn()
    except AgentHPOError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print_error(line)  # one problem per line
        raise typer.Exit(1 if isinstance(exc, NoResultError) else 2) from None
    except Stopped as exc:
        _exit_stopped(exc)
    except KeyboardInterrupt:
        err_console.print("interrupted; every finished trial is stored")
        raise typer.Exit(130) from None


class _LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """One record, one line, as written: into a pipe or a CI log a message stays whole for
    grep, where Rich's handler wrapped it at 80 columns and padded it."""


def setup_logging(verbose: bool) -> None:
    """The ``agenthpo`` logger on stderr, INFO with ``--verbose``: through Rich on a
    terminal, one plain line per record elsewhere."""
    logger = logging.getLogger("agenthpo")
    if not any(isinstance(h, (RichHandler, _LineHandler)) for h in logger.handlers):
        handler: logging.Handler
        if err_console.is_terminal:
            handler = RichHandler(console=err_console, show_path=False, show_time=False)
        else:
            handler = _LineHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(levelname)-8s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


def literal(text: object, style: str = "", limit: int | None = None) -> Text:
    """Outside text as one printable line, shown as written (never parsed as markup)."""
    return Text(one_line(text, limit), style=style)


def config_text(config: Any) -> str:
    """Every ``name=value`` pair of a config, floats to four significant digits."""
    parts = []
    for key, value in dict(config).items():
        text = format(value, ".4g") if isinstance(value, float) else str(value)
        parts.append(f"{key}={text}")
    return " ".join(parts)


def fmt_value(value: float | None) -> str:
    """A metric's value to five significant digits; ``—`` for none."""
    return "—" if value is None else format(value, ".5g")


def on_folds(selection: Selection | None) -> bool:
    """Whether the selection re-evaluated on held-out folds (``noise.fold_param``), not
    seeds: its reason says so (:meth:`agenthpo.Tuner.select`)."""
    return selection is not None and "held-out folds" in selection.reason


def own_run(selection: Selection | None) -> str:
    """What the recommended trial's own value was measured on, when there is a selection."""
    if selection is None:
        return ""
    return " on the search's validation" if on_folds(selection) else " on its own run (seed 0)"


def selection_lines(selection: Selection | None, metric: str, note: str | None = None) -> list[str]:
    """The noise-robust selection in a few lines: the verdict, the recommended and default
    configurations' means ± sd over seeds (or held-out folds), why; or why there is none
    (``note``)."""
    if selection is None:
        return [f"Noise-robust selection: none: {note}."] if note else []
    unit = "held-out folds" if on_folds(selection) else "seeds"

    def stats(number: int) -> str:
        band = selection.candidates.get(number)
        if band is None:
            return "not re-evaluated"
        return f"{metric} {fmt_value(band.mean)} ± {fmt_value(band.std)} over {band.n} {unit}"

    lines = [f"Noise-robust selection: {selection.verdict()}."]
    lines += [f"  {role}: trial {number}, {stats(number)}" for role, number, _ in selection.rows()]
    lines.append(f"  why: {selection.reason}.")
    if selection.note:
        lines.append(f"  not as planned: {selection.note}.")
    return lines
