"""The package's import graph follows the layers of docs/architecture.md (issue 20).

Every ``import`` of an ``agenthpo`` module, wherever it stands (module level, inside a
function, under ``TYPE_CHECKING``), is an edge from the importing part to the imported part.
A part is a top-level module (``agenthpo.tuner``) or a sub-package (``agenthpo.agent``). No edge
may point to a higher layer, and the parts' graph has no cycle, so each layer can be read,
tested and replaced with only the layers under it in mind.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "agenthpo"

# Top to bottom. A part imports only parts of its own layer or of layers below it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("faces", ("agenthpo", "agenthpo.cli", "agenthpo.mcp")),
    ("faces' helpers", ("agenthpo.report_files", "agenthpo.scaffold")),
    (
        "the loop",
        (
            "agenthpo.tuner",
            "agenthpo.selection",
            "agenthpo.drift",
            "agenthpo.studies",
            "agenthpo.study",
        ),
    ),
    (
        "the strategy",
        (
            "agenthpo.strategies",
            "agenthpo.sampler",
            "agenthpo.agent",
            "agenthpo.backbone",
            "agenthpo.pruners",
        ),
    ),
    (
        "the task, its space and its policy",
        ("agenthpo.task", "agenthpo._context", "agenthpo.policy", "agenthpo.space"),
    ),
    ("running trials and reading studies", ("agenthpo.executor", "agenthpo.reporting")),
    ("LLMs", ("agenthpo.llm",)),
    (
        "the bottom: storage, Optuna's tools, shared values",
        (
            "agenthpo.storage",
            "agenthpo.dashboard",
            "agenthpo.reporter",
            "agenthpo.errors",
            "agenthpo._keys",
            "agenthpo._text",
            "agenthpo._say",
            "agenthpo._jsonsafe",
            "agenthpo._yaml",
            "agenthpo._seeding",
            "agenthpo._lifecycle",
            "agenthpo._version",
            "agenthpo._optuna",
        ),
    ),
)
LAYER_OF = {part: i for i, (_, parts) in enumerate(LAYERS) for part in parts}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str:
    """The module ``name`` is or lives in (``agenthpo.space.Space`` -> ``agenthpo.space``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def part_of(module: str) -> str:
    """The part a module belongs to: its sub-package, or itself at the top."""
    bits = module.split(".")
    return ".".join(bits[:2])


def _imports(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported agenthpo module) for every import in ``path``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "agenthpo":
                    yield node.lineno, _resolve(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "agenthpo":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield node.lineno, sub if sub in MODULES else _resolve(target)


def _edges() -> list[tuple[str, int, str, str]]:
    """(file, line, importing part, imported part) for every import across parts."""
    out = []
    for module, path in MODULES.items():
        for line, target in _imports(module, path):
            src, dst = part_of(module), part_of(target)
            if src != dst:
                out.append((str(path.relative_to(ROOT)), line, src, dst))
    return out


def test_every_part_has_a_layer() -> None:
    parts = {part_of(m) for m in MODULES}
    missing = sorted(parts - set(LAYER_OF))
    assert not missing, f"give these parts a layer in LAYERS and docs/architecture.md: {missing}"
    gone = sorted(set(LAYER_OF) - parts)
    assert not gone, f"LAYERS names parts that do not exist: {gone}"


def test_no_import_goes_upward() -> None:
    upward = [
        f"{file}:{line}: {src} ({LAYERS[LAYER_OF[src]][0]}) imports {dst}"
        f" ({LAYERS[LAYER_OF[dst]][0]})"
        for file, line, src, dst in _edges()
        if LAYER_OF[dst] < LAYER_OF[src]
    ]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_parts_import_graph_has_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for _, _, src, dst in _edges():
        graph.setdefault(src, set()).add(dst)
    found = _cycle(graph)
    assert found is None, "import cycle: " + " -> ".join(found or [])


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None


def test_an_upward_import_would_be_found(tmp_path: Path) -> None:
    # The scanner sees relative and function-level imports, not only top-level absolute ones.
    source = "def f():\n    from ..tuner import Tuner\n"
    tree = ast.parse(source)
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert node.level == 2
    assert node.module == "tuner"
    fake = PACKAGE / "space" / "_probe_upward.py"
    MODULES["agenthpo.space._probe_upward"] = fake
    try:
        path = tmp_path / "_probe_upward.py"
        path.write_text(source, encoding="utf-8")
        found = list(_imports("agenthpo.space._probe_upward", path))
    finally:
        del MODULES["agenthpo.space._probe_upward"]
    assert found == [(2, "agenthpo.tuner")]
    assert LAYER_OF[part_of("agenthpo.tuner")] < LAYER_OF[part_of("agenthpo.space._x")]


@pytest.mark.parametrize("name", [n for _, parts in LAYERS for n in parts])
def test_the_architecture_page_names_every_part(name: str) -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    short = name.removeprefix("agenthpo.") if name != "agenthpo" else "agenthpo/__init__.py"
    assert re.search(rf"`{re.escape(short)}[/`.]", page) or f"`{short}`" in page, name
