"""``agenthpo report``: write a study's report (HTML and Markdown) from its storage.

Registered in :mod:`agenthpo.cli` as ``app.command("report")(report_command)``.

Example:
    .. code-block:: console

        $ agenthpo report examples/digits_mlp/task.yaml
        Report of digits-mlp in sqlite:///.../task.agenthpo.db (12 trials):
        examples/digits_mlp/task-report/report.html
        $ agenthpo report --storage sqlite:///studies.db --study quad -o out --no-llm
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from agenthpo._text import one_line
from agenthpo.errors import AgentHPOError
from agenthpo.llm import LLMClient, resolve_llm
from agenthpo.reporting import EVALUATORS, ReportPaths, build_report
from agenthpo.task import load_task

__all__ = [
    "default_report_dir",
    "report_command",
    "report_dir_for",
    "storage_tag",
    "storage_url",
    "write_run_report",
]

_logger = logging.getLogger("agenthpo")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "study"


def storage_tag(url: str) -> str:
    """A short, stable name for a storage: its file's stem (or its scheme) and a hash of the
    whole URL, so two files of one name in two folders get two tags.

    Example:
        >>> storage_tag("sqlite:////data/runs/other.db")
        'other-d85313'
    """
    scheme, _, rest = url.partition(":")
    path = rest.lstrip("/") if scheme in ("sqlite", "journal") else ""
    base = Path(path).stem if path else scheme
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:6]
    return f"{_slug(base)}-{digest}"


def default_report_dir(
    task_file: Path | None,
    study_name: str,
    *,
    storage: str | None = None,
    task_name: str | None = None,
) -> Path:
    """Where a study's report goes by default: named after the study and its storage.

    Beside a task file, its own study (``task_name``) in its own storage (``storage``
    ``None``) reports into ``<task stem>-report``; any other study or storage into
    ``<task stem>-report-<study>-<storage tag>``, so two studies never overwrite each
    other's report. Without a task file: ``./<study>-<storage tag>-report``.

    Args:
        task_file: The task file, if the study came from one.
        study_name: The study's name.
        storage: The study's storage URL when it is not the task file's own.
        task_name: The task's name (its own study's name), if known.

    Example:
        >>> default_report_dir(Path("examples/digits_mlp/task.yaml"), "digits-mlp").as_posix()
        'examples/digits_mlp/task-report'
        >>> default_report_dir(Path("t/task.yaml"), "quad", storage="sqlite:////x/other.db").as_posix()
        't/task-report-quad-other-22c8fe'
        >>> default_report_dir(None, "quad", storage="sqlite:////x/other.db").as_posix()
        'quad-other-22c8fe-report'
    """
    study = _slug(study_name)
    if task_file is not None:
        own = f"{task_file.stem}-report"
        if storage is None and (task_name is None or study_name == task_name):
            return task_file.parent / own
        tag = storage_tag(storage) if storage is not None else "own-storage"
        return task_file.parent / f"{own}-{study}-{tag}"
    tag = storage_tag(storage) if storage is not None else "storage"
    return Path(f"{study}-{tag}-report")


def report_dir_for(task_file: Path | None, study_name: str, storage: str | None) -> Path:
    """:func:`default_report_dir` for a study opened from ``task_file`` and ``--storage``
    (``storage`` the task's own default counts as its own)."""
    if task_file is None:
        return default_report_dir(None, study_name, storage=storage)
    task = load_task(task_file)
    if storage is not None and storage == task.default_storage():
        storage = None
    return default_report_dir(task_file, study_name, storage=storage, task_name=task.name)


def storage_url(task_file: Path | None, storage: str | None) -> str:
    """The storage a command refers to: ``--storage``, else the task's own."""
    if storage is not None:
        return storage
    if task_file is None:
        raise AgentHPOError("give a task file or --storage URL")
    return load_task(task_file).default_storage()


def _references(path: Path | None) -> dict[str, list[float]] | None:
    if path is None:
        return None
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AgentHPOError(f"--reference {path}: cannot read the file ({exc})") from None
    except ValueError as exc:
        raise AgentHPOError(f"--reference {path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(isinstance(x, (int, float)) for x in v) for v in data.values()
    ):
        raise AgentHPOError(
            f"--reference {path}: write a JSON object of best-so-far curves,"
            ' e.g. {"random search": [0.81, 0.85, 0.85, 0.9]}'
        )
    return {str(k): [float(x) for x in v] for k, v in data.items()}


def _summary_llm(
    task_file: Path | None, llm: str | None, no_llm: bool
) -> tuple[LLMClient | None, str | None]:
    if no_llm:
        if llm is not None:
            raise AgentHPOError("give --llm or --no-llm, not both")
        return None, None
    if llm is None and task_file is not None:
        task = load_task(task_file)
        spec = task.llm.spec if task.llm is not None else None
        return resolve_llm(spec, settings=task.llm_settings())
    return resolve_llm(llm)


def write_run_report(
    task_file: Path, *, storage: str | None = None, llm: LLMClient | None = None
) -> ReportPaths | None:
    """Writes the report of a task's study into its default directory, for ``agenthpo run``.

    Never raises: a report that cannot be written is logged and ``None`` returned, so a
    finished run is never reported as failed because of its report.

    Args:
        task_file: The task file that was run.
        storage: The ``--storage`` the run used, if any.
        llm: The model for the summary; ``None`` writes the data-only summary (fast, free).
    """
    try:
        study = _open_study(task_file, storage, None)
        out_dir = report_dir_for(task_file, study.study_name, storage)
        return build_report(study, out_dir=out_dir, llm=llm)
    except Exception as exc:  # the run's results are stored whatever happens here
        _logger.warning("could not write the report: %s", exc)
        return None


def report_command(
    task_file: Annotated[Path | None, typer.Argument(help="The task YAML file.")] = None,
    storage: StorageOption = None,
    study: StudyOption = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Directory for report.html and report.md (default: <task stem>-report beside"
            " the task file for its own study and storage, <task stem>-report-<study>-<storage>"
            " for another, ./<study>-<storage>-report without a task file).",
        ),
    ] = None,
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm",
            help="LLM that writes the summary's prose (its numbers are always filled in from"
            " storage). Default: the task's llm, else the one `agenthpo run` would pick.",
        ),
    ] = None,
    no_llm: Annotated[
        bool,
        typer.Option(
            "--no-llm",
            metavar="",  # a flag: no "<bool>" in --help (see agenthpo.cli.FLAG)
            help="Write a data-only summary, with no LLM call.",
        ),
    ] = False,
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            help="JSON file of reference best-so-far curves for the history plot, e.g."
            ' {"random search": [0.81, 0.85, ...]}.',
        ),
    ] = None,
    importance: Annotated[
        str,
        typer.Option("--importance", help=f"Importance evaluator: {', '.join(EVALUATORS)}."),
    ] = "fanova",
) -> None:
    """Write a study's report: a self-contained HTML page with plots, and Markdown."""

    def go() -> tuple[ReportPaths, str]:
        if importance not in EVALUATORS:
            raise AgentHPOError(
                f"--importance {importance!r}: choose one of {', '.join(EVALUATORS)}"
            )
        references = _references(reference)
        s = _open_study(task_file, storage, study)
        client, note = _summary_llm(task_file, llm, no_llm)
        if note:
            console.print(Text(note))
        target = out_dir or report_dir_for(task_file, s.study_name, storage)
        built = build_report(
            s, out_dir=target, llm=client, references=references, evaluator=importance
        )
        return built, storage_url(task_file, storage)

    paths, url = _guard(go)
    report = paths.report
    summary = report.summary
    console.print(
        Text("Report of ")
        + Text(one_line(report.data.study_name), style="bold")
        + Text(f" in {url} ({len(report.data.trials)} trials): {paths.html}"),
        soft_wrap=True,
    )
    console.print(Text(f"Markdown: {paths.markdown}"), soft_wrap=True)
    if summary.source == "llm":
        checks = (
            f"{len(summary.problems)} problems caught in the LLM's summary"
            if summary.problems
            else "the LLM's summary passed every check"
        )
        flagged = len(summary.flagged)
        console.print(
            Text(
                f"Summary by {summary.author}: {checks}; {flagged}"
                f" disagreement{'s' if flagged != 1 else ''} with the measured importance."
            ),
            soft_wrap=True,
        )
    else:
        console.print(Text(f"Summary: {summary.note}."), soft_wrap=True)  # may quote an error


# Imported last: agenthpo.cli imports this module to register the command, and by the time
# it does, the helpers below are defined there (the annotations above are resolved lazily).
from agenthpo.cli import (  # noqa: E402
    StorageOption,
    StudyOption,
    _guard,
    _open_study,
    console,
)
