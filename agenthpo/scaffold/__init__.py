"""``agenthpo init``: a draft task file from a training script, for the user to review.

The script is read statically (its argparse, click or typer options, or a function's
signature); it is never imported or run. An LLM proposes the ranges with a one-line reason
each; every range is checked, heuristics fill in where the LLM fails, and the draft's
comments say which values were read and which were guessed.

Example:
    >>> from agenthpo.scaffold import draft_task, render_draft
    >>> draft = draft_task("examples/digits_mlp/train.py", llm=None)  # doctest: +SKIP
    >>> print(render_draft(draft))  # doctest: +SKIP
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
from agenthpo.scaffold._write import range_text, render_draft, source_text, write_draft

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
