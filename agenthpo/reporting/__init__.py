"""The study report: a self-contained HTML page and a Markdown file, from storage alone.

:func:`build_report` reads a stored study (trials, their ``user_attrs``, the task background
the tuner stored on the study), measures parameter importance with Optuna's evaluators,
draws the plots, and has the LLM write a summary whose every number is filled in from the
data (:mod:`agenthpo.reporting._placeholders`); without an LLM the summary is written from the
data alone.

Example:
    >>> import optuna, tempfile
    >>> from agenthpo.reporting import build_report
    >>> optuna.logging.set_verbosity(optuna.logging.ERROR)
    >>> study = optuna.create_study(study_name="demo", direction="maximize")
    >>> study.optimize(lambda t: -abs(t.suggest_float("lr", 1e-4, 1e-1, log=True) - 0.01),
    ...                n_trials=10)
    >>> paths = build_report(study, out_dir=tempfile.mkdtemp())
    >>> paths.html.exists() and paths.markdown.exists()
    True
    >>> paths.report.data.best.number == study.best_trial.number
    True
"""

from __future__ import annotations

from agenthpo.reporting._build import Report, ReportPaths, build_report, make_report, plotly_js
from agenthpo.reporting._contribution import Contribution, SourceStats, contribution
from agenthpo.reporting._data import (
    NOISE,
    STUDY_REFERENCE,
    LLMUsage,
    NoiseBand,
    ProposerStats,
    ReportData,
    Selection,
    TrialRow,
    collect_data,
    read_selection,
)
from agenthpo.reporting._figures import Figure, build_figures
from agenthpo.reporting._importance import EVALUATORS, Importance, measure_importance
from agenthpo.reporting._placeholders import (
    PLACEHOLDER_HELP,
    Filled,
    Filler,
    Problem,
    Segment,
    find_literal_numbers,
)
from agenthpo.reporting._revisions import RevisionRow, read_revisions, revision_lines
from agenthpo.reporting._summary import (
    AgentSummary,
    ComparisonRow,
    SummarySection,
    compare_importance,
    data_summary,
    digest,
    summary_messages,
    summary_schema,
    write_summary,
)

__all__ = [
    "EVALUATORS",
    "NOISE",
    "PLACEHOLDER_HELP",
    "STUDY_REFERENCE",
    "AgentSummary",
    "ComparisonRow",
    "Contribution",
    "Figure",
    "Filled",
    "Filler",
    "Importance",
    "LLMUsage",
    "NoiseBand",
    "Problem",
    "ProposerStats",
    "Report",
    "ReportData",
    "ReportPaths",
    "RevisionRow",
    "Segment",
    "Selection",
    "SourceStats",
    "SummarySection",
    "TrialRow",
    "build_figures",
    "build_report",
    "collect_data",
    "compare_importance",
    "contribution",
    "data_summary",
    "digest",
    "find_literal_numbers",
    "make_report",
    "measure_importance",
    "plotly_js",
    "read_revisions",
    "read_selection",
    "revision_lines",
    "summary_messages",
    "summary_schema",
    "write_summary",
]
