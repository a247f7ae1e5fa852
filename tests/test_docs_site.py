"""The documentation site's own code: the MkDocs hooks and the griffe extension.

``make docs`` builds the whole site with ``--strict``; these check the pieces that turn the
project's sources into pages, quickly and without MkDocs.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
import typer.main

from agenthpo.cli import app

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_reference_lists_every_command_and_option() -> None:
    pytest.importorskip("mkdocs")
    hooks = _load("docs_hooks")
    text = hooks.cli_reference()
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert f"## `agenthpo {name}`" in text
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}`" in text, (name, opt)
    assert "&lt;task stem&gt;-report" in text  # help text is not read as HTML tags
    assert hooks.CLI_MARKER in (ROOT / "docs" / "cli.md").read_text()


def test_every_docs_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    listed = set(re.findall(r":\s+(\S+\.md)\s*$", config, re.M))
    assert pages <= listed, pages - listed
    assert "benchmarks.md" in listed  # BENCHMARKS.md, added by the hooks at build time


def test_docstrings_become_markdown() -> None:
    pytest.importorskip("griffe")
    ext = _load("griffe_examples")
    text = (
        "Strategies.\n\n"
        "=======  ==========\n"
        "``a``    first, then\n"
        "         more\n"
        "``b``    second | third\n"
        "=======  ==========\n\n"
        "See :func:`~agenthpo.llm.is_embedded` and :mod:`agenthpo.agent.trust`.\n\n"
        "Example:\n    >>> 1 + 1\n    2\n"
    )
    out = ext._tables(ext._ROLE.sub(ext._reference, ext._SECTION.sub(r"\1Examples:", text)))
    assert "| ``a`` | first, then more |" in out
    assert "| ``b`` | second &#124; third |" in out
    assert '<autoref identifier="agenthpo.llm.is_embedded" optional><code>is_embedded' in out
    assert '<autoref identifier="agenthpo.agent.trust" optional>' in out
    assert "\nExamples:\n    >>> 1 + 1" in out


def _yaml_blocks() -> list[tuple[str, object]]:
    import yaml

    blocks = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^```yaml\n(.*?)^```", text, re.S | re.M):
            blocks.append((path.name, yaml.safe_load(m.group(1))))
    return blocks


def test_the_docs_task_file_examples_use_real_fields() -> None:
    from agenthpo.task import LLMSection, NoiseSection, PolicySection, Task

    blocks = _yaml_blocks()
    assert blocks
    nested = {"llm": LLMSection, "noise": NoiseSection, "policy": PolicySection}
    for page, data in blocks:
        assert isinstance(data, dict), page
        assert set(data) <= set(Task.model_fields), (page, set(data) - set(Task.model_fields))
        for key, section in nested.items():
            if isinstance(data.get(key), dict):
                fields = set(section.model_fields)
                assert set(data[key]) <= fields, (page, key, set(data[key]) - fields)


def test_the_strategies_page_names_every_strategy() -> None:
    from agenthpo.strategies import STRATEGIES

    text = (ROOT / "docs" / "strategies.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z][a-z-]*)`", text))
    assert set(STRATEGIES) <= named, set(STRATEGIES) - named


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_relative_link_in_the_docs_resolves_as_a_file() -> None:
    # GitHub shows the pages as files: a link only the built site resolves is dead there.
    dead = []
    for page in (ROOT / "docs").rglob("*.md"):
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            path = target.split("#", 1)[0]
            if not path or "://" in path or path.startswith("mailto:"):
                continue
            if not (page.parent / path).exists():
                dead.append((page.name, target))
    assert not dead


def test_the_hook_points_benchmarks_links_at_the_sites_page() -> None:
    pytest.importorskip("mkdocs")
    hooks = _load("docs_hooks")
    text = "See [B](../BENCHMARKS.md) and [C](../BENCHMARKS.md#the-backbone)."
    out = hooks.on_page_markdown(text, page=None, config=None, files=None)
    assert out == "See [B](benchmarks.md) and [C](benchmarks.md#the-backbone)."
