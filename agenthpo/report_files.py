"""Where a study's report goes, and the report a run writes at its end.

The ``agenthpo report`` and ``agenthpo run`` commands call these; the report itself is
built by :func:`agenthpo.reporting.build_report` from the stored study alone.

Example:
    >>> default_report_dir(Path("examples/digits_mlp/task.yaml"), "digits-mlp").as_posix()
    'examples/digits_mlp/task-report'
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from agenthpo.errors import AgentHPOError
from agenthpo.llm import LLMClient, is_embedded, resolve_llm
from agenthpo.reporting import ReportPaths, build_report
from agenthpo.studies import open_study
from agenthpo.task import load_task

__all__ = [
    "default_report_dir",
    "read_references",
    "report_dir_for",
    "storage_tag",
    "study_slug",
    "summary_llm",
    "write_run_report",
]

_logger = logging.getLogger("agenthpo")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "study"


MAX_STUDY_SLUG = 120
"""Characters of a study's name kept in a folder name (file names have a length limit)."""


def study_slug(study_name: str) -> str:
    """A study's name as it appears in a report folder's name: the name itself when it is
    safe in a file name, else a slug of it and a short hash of the whole name, so that two
    names never share a folder (``a b`` and ``a/b``; ``日本`` and ``中文``).

    Example:
        >>> study_slug("digits-mlp")
        'digits-mlp'
        >>> study_slug("a b"), study_slug("a/b")
        ('a_b-c8687a', 'a_b-c14cdd')
        >>> study_slug("日本")
        'study-cf2abf'
    """
    slug = _slug(study_name)
    if slug == study_name and len(slug) <= MAX_STUDY_SLUG:
        return slug
    digest = hashlib.sha256(study_name.encode("utf-8")).hexdigest()[:6]
    return f"{slug[:MAX_STUDY_SLUG].rstrip('._-') or 'study'}-{digest}"


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
    other's report. Without a task file: ``./<study>-<storage tag>-report``. ``<study>`` is
    the study's name, or a slug and a hash of it when the name is not safe in a file name
    (:func:`study_slug`).

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
        >>> default_report_dir(None, "a b", storage="sqlite:////x/other.db").as_posix()
        'a_b-c8687a-other-22c8fe-report'
    """
    study = study_slug(study_name)
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
    (``storage`` the task's own default counts as its own).

    Example:
        >>> report_dir_for(None, "quad", "sqlite:////x/other.db").as_posix()
        'quad-other-22c8fe-report'

    Raises:
        AgentHPOError: The task file is broken.
    """
    if task_file is None:
        return default_report_dir(None, study_name, storage=storage)
    task = load_task(task_file)
    if storage is not None and storage == task.default_storage():
        storage = None
    return default_report_dir(task_file, study_name, storage=storage, task_name=task.name)


def read_references(path: Path | None) -> dict[str, list[float]] | None:
    """Reference best-so-far curves for the report's history plot, from a JSON file
    (``agenthpo report --reference``); ``None`` without a file.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "ref.json"
        >>> _ = path.write_text('{"random search": [0.81, 0.85]}')
        >>> read_references(path)
        {'random search': [0.81, 0.85]}

    Raises:
        AgentHPOError: The file cannot be read, or is not an object of number lists.
    """
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


def summary_llm(
    task_file: Path | None, llm: str | None, no_llm: bool
) -> tuple[LLMClient | None, str | None]:
    """The LLM that writes a report's summary, and a line that says which (``agenthpo
    report``): none with ``no_llm``, else ``llm``, else the task's, else the one a run picks.

    Example:
        >>> summary_llm(None, None, no_llm=True)
        (None, None)
        >>> summary_llm(None, "random:0", no_llm=False)[0].name
        'random:random'

    Raises:
        AgentHPOError: Both ``llm`` and ``no_llm``, a bad spec or a broken task file.
    """
    if no_llm:
        if llm is not None:
            raise AgentHPOError("give --llm or --no-llm, not both")
        return None, None
    if llm is None and task_file is not None:
        task = load_task(task_file)
        spec = task.llm.spec if task.llm is not None else None
        client, note = resolve_llm(spec, settings=task.llm_settings())
    else:
        spec = llm
        client, note = resolve_llm(llm)
    if spec is None and not os.environ.get("AGENTHPO_LLM") and is_embedded(client):
        # Picked by default, not asked for: the embedded model took minutes to write a
        # summary that failed its checks (no JSON object), so the data-only summary instead.
        return None, (
            "Summary from the stored data alone: the embedded model is too small to write"
            " one (give --llm MODEL for a model's prose)"
        )
    return client, note


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
        study = open_study(task_file, storage=storage)
        out_dir = report_dir_for(task_file, study.study_name, storage)
        return build_report(study, out_dir=out_dir, llm=llm)
    except Exception as exc:  # the run's results are stored whatever happens here
        _logger.warning("could not write the report: %s", exc)
        return None
