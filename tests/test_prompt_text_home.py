"""Every string the Creator's LLM reads is defined in agenthpo.agent.prompts.

The space used to build its own prompt lines (``Space.describe``, the scale notes in its JSON
schema), the goal sentence lived on ``TaskContext`` and the creator wrote its own feedback
lines. These phrases are distinctive pieces of that text: each must be defined in the prompts
module and nowhere else in the package, so the text cannot drift back out unnoticed.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "agenthpo"
PROMPTS = {PACKAGE / "agent" / "prompts.py", *(PACKAGE / "agent" / "prompts").glob("*.py")}

# (phrase, exact): an exact phrase must equal a whole string constant; otherwise it may be part
# of one (an f-string's literal parts count). "log scale" is exact because the space's own error
# messages say "must be positive on a log scale", which is not prompt text.
PHRASES = [
    ("log scale", True),
    ("; null otherwise", False),
    ("Search space:", False),
    ("on the Pareto front (no other trial", False),
    ("a valid value would be", False),
    ("already tried or is running", False),
    ("; answer with one JSON object", False),
    ("Your answer cannot be used", False),
    ("Running now (do not propose these again)", False),
    ("Best so far: trial", False),
    ("worse than the best before it", False),
    ("beats it on every objective", False),
    ("data from the training runs, not", False),
    ("Seed noise: trial", False),
    ("the optimizer running this study, proposes", False),
    ("Its search distribution after generation", False),
    ("is a near copy of trial", False),
    ("Repeats are refused: a configuration", False),
]


@functools.cache
def _strings(path: Path) -> list[str]:
    """The string constants of a module, but for docstrings (an example may show prompt text
    that the prompts module writes)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    out: list[str] = []
    for node in ast.walk(tree):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and id(node) not in docstrings:
            out.append(node.value)
    return out


def _definers(phrase: str, exact: bool) -> set[Path]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for text in _strings(path):
            if (text == phrase) if exact else (phrase in text):
                found.add(path)
                break
    return found


@pytest.mark.parametrize(("phrase", "exact"), PHRASES)
def test_prompt_text_is_defined_only_in_the_prompts_module(phrase: str, exact: bool) -> None:
    definers = _definers(phrase, exact)
    assert definers, f"{phrase!r} is no longer in the prompts: update PHRASES"
    outside = sorted(str(p.relative_to(PACKAGE.parent)) for p in definers - PROMPTS)
    assert not outside, f"{phrase!r} is prompt text; move it to agenthpo/agent/prompts: {outside}"


def test_the_space_package_builds_no_prompt_text() -> None:
    from agenthpo.space import Space

    assert not hasattr(Space, "describe")
    space = Space.from_dict({"n": {"type": "int", "low": 16, "high": 256, "step": 16}})
    assert "description" not in space.json_schema()["properties"]["n"]
