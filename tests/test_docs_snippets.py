"""The documentation's Python examples run as written, with the LLM swapped for ``RandomLLM``.

Every ```python block in ``docs/*.md`` is compiled. A block runs unless an HTML comment on the
line before it marks it: ``<!-- snippet: fragment (why) -->`` (part of a program, e.g. a
training script's loop: compiled only) or ``<!-- snippet: slow -->`` (runs with ``-m slow``).
Blocks that use Ray run on a local two-CPU Ray, as an integration test. As in
``test_readme_snippets``, ``agenthpo.llm.parse_llm_spec`` is replaced by a recorder that hands
out ``RandomLLM`` clients, so no snippet needs a model, a key or a network.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import optuna
import pytest

from agenthpo import _keys
from tests.test_readme_snippets import SpecRecorder, _is_ray, asked_the_llm, recorder  # noqa: F401

DOCS = Path(__file__).resolve().parents[1] / "docs"
_BLOCK = re.compile(
    r"(?:^<!-- snippet: (?P<mark>[a-z]+)[^\n]*-->\n)?^```python\n(?P<code>.*?)^```",
    re.DOTALL | re.MULTILINE,
)


class Snippet:
    def __init__(self, path: Path, line: int, code: str, mark: str | None) -> None:
        self.path, self.line, self.code, self.mark = path, line, code, mark

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.line}"


def snippets() -> list[Snippet]:
    found = []
    for path in sorted(DOCS.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        for m in _BLOCK.finditer(text):
            line = text.count("\n", 0, m.start("code")) + 1
            found.append(Snippet(path, line, m.group("code"), m.group("mark")))
    return found


def _params(*, ray: bool) -> list[Any]:
    params = []
    for s in snippets():
        if s.mark == "fragment" or _is_ray(s.code) != ray:
            continue
        marks = [pytest.mark.slow] if s.mark == "slow" else []
        params.append(pytest.param(s, id=s.id, marks=marks))
    return params


def run(snippet: Snippet) -> dict[str, Any]:
    # A module name that is not importable: Ray pickles the snippet's functions by value.
    namespace: dict[str, Any] = {"__name__": "docs_snippet"}
    exec(compile(snippet.code, f"{snippet.path}:{snippet.line}", "exec"), namespace)
    return namespace


def test_the_docs_have_runnable_snippets() -> None:
    found = snippets()
    assert any(s.mark is None and not _is_ray(s.code) for s in found)
    assert {s.mark for s in found} <= {None, "fragment", "slow"}, "an unknown snippet mark"


@pytest.mark.parametrize("snippet", [pytest.param(s, id=s.id) for s in snippets()])
def test_every_snippet_compiles(snippet: Snippet) -> None:
    compile(snippet.code, f"{snippet.path}:{snippet.line}", "exec")


@pytest.mark.parametrize("snippet", _params(ray=False))
def test_the_snippet_runs_with_the_agent(snippet: Snippet, recorder: SpecRecorder) -> None:  # noqa: F811
    namespace = run(snippet)
    studies = [v for v in namespace.values() if isinstance(v, optuna.Study)]
    for study in studies:
        trials = study.trials
        assert trials
        assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
        if recorder.specs:  # the LLM was asked (its proposal ran, or the screen judged it)
            asked = [t.user_attrs.get(_keys.LLM_CALLS, 0) for t in trials]
            assert any(asked), [t.user_attrs.get(_keys.PROPOSED_BY) for t in trials]
    assert all(c.calls > 0 for c in recorder.clients)


@pytest.mark.integration
@pytest.mark.parametrize("snippet", _params(ray=True))
def test_the_ray_tune_snippet_runs_with_the_agent(
    snippet: Snippet,
    recorder: SpecRecorder,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ray

    monkeypatch.chdir(tmp_path)
    # The snippet's results go to Tune's default, ~/ray_results; keep them in the test's
    # directory. (Not by changing HOME: Ray 2.59+ keeps its cluster token in ~/.ray, and a
    # second ray.init in this process would start its GCS without it.)
    results_dir = tmp_path / "ray_results"
    monkeypatch.setattr("ray.train.constants.DEFAULT_STORAGE_PATH", str(results_dir))
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        namespace = run(snippet)
    finally:
        ray.shutdown()
    (client,) = recorder.clients
    results = namespace["tuner"].get_results()
    assert not results.errors
    # OptunaSearch's own study (Ray keeps the searcher object it was given).
    trials = namespace["search"]._ot_study.trials
    assert len(trials) == len(results) > 2
    # The default strategy: the backbone's warm-up (Tune's first two trials start before
    # any finishes, so the sampler has no space yet), then the LLM on its share of turns.
    asked = [t.number for t in trials if asked_the_llm(t) or _keys.LLM_MODEL in t.user_attrs]
    assert asked
    assert min(asked) >= 5, asked
    assert client.calls >= len(asked)
    assert all(str(r.path).startswith(str(results_dir)) for r in results)
