"""The README's Python snippets run as written, with the LLM swapped for ``RandomLLM``.

The snippets under "## From Python" build their LLM with ``parse_llm_spec(...)``; the test
patches ``agenthpo.llm.parse_llm_spec`` to record the spec and return a deterministic
``RandomLLM``, then executes each snippet unchanged. The documentation's snippets (the Ray
Tune one among them) run in ``test_docs_snippets``, with the helpers defined here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import optuna
import pytest

from agenthpo import _keys
from agenthpo.llm import LLMClient, RandomLLM
from agenthpo.strategies import DEFAULT_STRATEGY

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def section(title: str) -> str:
    """The README text under ``## title``, up to the next second-level heading."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.DOTALL | re.MULTILINE)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def python_blocks(title: str) -> list[str]:
    return [m.group(1) for m in _BLOCK.finditer(section(title))]


def _is_ray(block: str) -> bool:
    return "from ray" in block or "import ray" in block


class SpecRecorder:
    """Stands in for ``parse_llm_spec``: remembers each spec, answers with RandomLLM."""

    def __init__(self) -> None:
        self.specs: list[str] = []
        self.clients: list[RandomLLM] = []

    def __call__(self, spec: str, **kwargs: Any) -> LLMClient:
        self.specs.append(spec)
        client = RandomLLM(seed=len(self.specs))
        self.clients.append(client)
        return client


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> SpecRecorder:
    import agenthpo.llm

    rec = SpecRecorder()
    monkeypatch.setattr(agenthpo.llm, "parse_llm_spec", rec)
    return rec


def asked_the_llm(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether a trial was the LLM's turn: it proposed it, or its random answers stayed near
    copies of earlier trials (within 5% of every range) and the backbone stepped in."""
    attrs = trial.user_attrs
    reason = str(attrs.get(_keys.FALLBACK_REASON, ""))
    return attrs.get(_keys.PROPOSED_BY) == "llm" or reason.startswith("duplicate")


def run_block(block: str) -> dict[str, Any]:
    # A module name that is not importable: Ray pickles the snippet's functions by value,
    # as it does for a script's __main__.
    namespace: dict[str, Any] = {"__name__": "readme_snippet"}
    exec(compile(block, str(README), "exec"), namespace)
    return namespace


def test_the_from_python_section_has_the_optuna_switch() -> None:
    blocks = [b for b in python_blocks("From Python") if not _is_ray(b)]
    assert blocks, "no Python snippet under '## From Python'"
    assert any("AgentSampler(" in b and "optuna.create_study(" in b for b in blocks)


def test_the_optuna_snippet_runs_with_the_agent(recorder: SpecRecorder) -> None:
    blocks = [b for b in python_blocks("From Python") if not _is_ray(b)]
    for block in blocks:
        namespace = run_block(block)
        study = namespace.get("study")
        if not isinstance(study, optuna.Study):
            continue
        trials = study.trials
        assert trials
        assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
        # The default strategy: the backbone's warm-up, then the LLM on its share of the
        # turns, each of its proposals judged by the backbone.
        assert study.user_attrs[_keys.STUDY_POLICY]["preset"] == DEFAULT_STRATEGY
        asked = [t.number for t in trials if asked_the_llm(t) or _keys.LLM_MODEL in t.user_attrs]
        assert asked
        assert min(asked) >= 5, asked
        assert all(trials[n].user_attrs[_keys.LLM_MODEL] == "random:random" for n in asked)
        assert len(asked) < len(trials) - 5  # the backbone keeps most turns
    assert recorder.specs, "no snippet built its LLM with parse_llm_spec"
    assert all(c.calls > 0 for c in recorder.clients)
