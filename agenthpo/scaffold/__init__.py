"""``agenthpo init``: a draft task file from a training script, for the user to review.

The script is read statically (its argparse, click or typer options, or a function's
signature); it is never imported or run. An LLM proposes the ranges with a one-line reason
each; every range is checked, heuristics fill in where the LLM fails, and the draft's
comments say which values were read and which were guessed.

Example:
    >>> import pathlib, tempfile
    >>> from agenthpo.scaffold import draft_task, write_draft
    >>> script = pathlib.Path(tempfile.mkdtemp()) / "train.py"
    >>> _ = script.write_text("def fit(lr: float = 0.01, epochs: int = 10): ...")
    >>> draft = draft_task(f"{script}:fit", llm=None)  # llm=None: heuristic ranges only
    >>> draft.params[0].spec, draft.params[0].source
    ({'type': 'float', 'low': 0.001, 'high': 0.1, 'log': True}, 'heuristic')
    >>> write_draft(draft).name
    'task.yaml'
"""

from __future__ import annotations

from agenthpo.scaffold._draft import Draft, ObjectiveGuess, direction_of, draft_task, pick_objective
from agenthpo.scaffold._ranges import (
    ParamDraft,
    RangeResult,
    Skipped,
    heuristic_range,
    propose_ranges,
    skip_reason,
)
from agenthpo.scaffold._read import Option, ScriptInfo, read_source, read_target
from agenthpo.scaffold._write import (
    llm_unavailable,
    range_text,
    render_draft,
    source_text,
    write_draft,
)

__all__ = [
    "Draft",
    "ObjectiveGuess",
    "Option",
    "ParamDraft",
    "RangeResult",
    "ScriptInfo",
    "Skipped",
    "direction_of",
    "draft_task",
    "heuristic_range",
    "llm_unavailable",
    "pick_objective",
    "propose_ranges",
    "range_text",
    "read_source",
    "read_target",
    "render_draft",
    "skip_reason",
    "source_text",
    "write_draft",
]
