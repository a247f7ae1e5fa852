"""Builds the study report: read the storage, measure, summarize, draw, write.

Example:
    >>> import optuna, tempfile
    >>> from agenthpo.reporting import build_report
    >>> optuna.logging.set_verbosity(optuna.logging.ERROR)
    >>> study = optuna.create_study(study_name="demo")
    >>> study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2, n_trials=8)
    >>> paths = build_report(study, out_dir=tempfile.mkdtemp())
    >>> paths.html.name, paths.markdown.name
    ('report.html', 'report.md')
    >>> paths.report.summary.source
    'data'
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from agenthpo.errors import AgentHPOError
from agenthpo.llm import LLMClient
from agenthpo.reporting._data import ReportData, collect_data
from agenthpo.reporting._figures import Figure, build_figures
from agenthpo.reporting._html import render_html
from agenthpo.reporting._importance import Importance, measure_importance
from agenthpo.reporting._markdown import render_markdown
from agenthpo.reporting._summary import AgentSummary, write_summary

__all__ = ["Report", "ReportPaths", "build_report", "make_report", "plotly_js"]

_logger = logging.getLogger("agenthpo")


@dataclass
class Report:
    """Everything the report shows, in memory (what :func:`build_report` writes out)."""

    data: ReportData
    importance: Importance
    summary: AgentSummary
    figures: list[Figure]
    notes: list[str] = field(default_factory=list)
    generated: str = ""
    version: str = ""

    def figure(self, key: str) -> Figure | None:
        """The figure with this key (``history``, ``importance``, ``slice``, ``contour``,
        ``curves``, ``pareto``), or ``None``."""
        return next((f for f in self.figures if f.key == key), None)

    def facts(self) -> dict[str, Any]:
        """The report's headline numbers as JSON-able data (embedded in the HTML page)."""
        d = self.data
        best = d.best
        return {
            "study": d.study_name,
            "metric": list(d.metric_names),
            "directions": list(d.directions),
            "n_trials": len(d.trials),
            "states": d.counts(),
            "best_trial": best.number if best else None,
            "best_value": best.value if best else None,
            "pareto_trials": [t.number for t in d.pareto],
            "importance": self.importance.values,
            "llm_calls": d.llm.calls,
            "llm_tokens": d.llm.total_tokens,
            "figures": [f.key for f in self.figures],
            "summary_source": self.summary.source,
        }


@dataclass(frozen=True)
class ReportPaths:
    """Where a report was written, and what it holds."""

    directory: Path
    html: Path
    markdown: Path
    report: Report


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """The plotly.js bundle shipped with the ``plotly`` package (read once)."""
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    text = get_plotlyjs()
    if not isinstance(text, str) or "</script" in text.lower():
        raise AgentHPOError("the installed plotly package ships an unusable plotly.js")
    return text


def make_report(
    study: optuna.Study,
    *,
    llm: LLMClient | None = None,
    references: Mapping[str, Sequence[float]] | None = None,
    evaluator: str = "fanova",
    seed: int = 0,
) -> Report:
    """Reads and analyses a study: everything :func:`build_report` writes, in memory.

    Args:
        study: The stored study.
        llm: The model that writes the summary's prose; ``None`` for a data-only summary.
        references: Reference best-so-far curves for the history plot,
            ``{"random search (median of 10 seeds)": [...]}``.
        evaluator: The importance evaluator: ``fanova``, ``ped-anova`` or
            ``mean-decrease-impurity``.
        seed: Seeds the importance evaluator and the LLM.
    """
    from agenthpo._version import __version__

    data = collect_data(study, references=references)
    importance = measure_importance(study, evaluator=evaluator, seed=seed)
    summary = write_summary(data, importance, llm=llm, seed=seed)
    llm_params = summary.important_params if summary.source == "llm" else None
    figures, notes = build_figures(study, data, importance, llm_params=llm_params)
    generated = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return Report(
        data=data,
        importance=importance,
        summary=summary,
        figures=figures,
        notes=notes,
        generated=generated,
        version=__version__,
    )


def build_report(
    study: optuna.Study,
    *,
    out_dir: str | Path,
    llm: LLMClient | None = None,
    references: Mapping[str, Sequence[float]] | None = None,
    evaluator: str = "fanova",
    seed: int = 0,
) -> ReportPaths:
    """Writes ``report.html`` (self-contained) and ``report.md`` for a stored study.

    Args:
        study: The study, loaded from its storage; the report reads nothing else.
        out_dir: The directory to write into (created if missing).
        llm: The model that writes the summary's prose from a digest of the data. ``None``
            (or an LLM failure) gives a deterministic data-only summary, marked as such.
        references: Reference best-so-far curves (e.g. random search) for the history plot.
        evaluator: The importance evaluator (``fanova`` by default).
        seed: Seeds the importance evaluator and the LLM.

    Returns:
        The paths written and the in-memory :class:`Report`.

    Raises:
        AgentHPOError: When the directory cannot be written.
    """
    report = make_report(study, llm=llm, references=references, evaluator=evaluator, seed=seed)
    directory = Path(out_dir)
    html_path = directory / "report.html"
    md_path = directory / "report.md"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        html_path.write_text(render_html(report, plotly_js()), encoding="utf-8")
        md_path.write_text(render_markdown(report), encoding="utf-8")
    except OSError as exc:
        raise AgentHPOError(f"cannot write the report into {directory}: {exc}") from exc
    _logger.info("report written to %s", html_path)
    return ReportPaths(directory=directory, html=html_path, markdown=md_path, report=report)
