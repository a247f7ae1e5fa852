"""The command line is a package of thin commands without import cycles (issue 20, item 5).

cli_show, cli_report, cli_dashboard and cli_init once imported ``_guard`` and ``_open_study``
back from cli.py, which imported them to register their commands: each worked only when
cli.py was imported first. Now every module imports on its own, the modules' imports form
no cycle, and no command module reaches into a sibling's private names.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "agenthpo" / "cli"
PACKAGE = "agenthpo.cli"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(CLI.glob("*.py")):
        name = PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"
        found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """Each ``agenthpo.cli`` module ``path`` imports, with the names taken from it."""
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name in modules]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in modules:  # `from agenthpo.cli import show`: the submodule
                    out.append((sub, []))
                elif node.module in modules:
                    out.append((node.module, [alias.name]))
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {target for target, _ in _imports(path, modules) if target != name}
        for name, path in modules.items()
    }


def test_the_cli_is_a_package_with_a_module_per_command() -> None:
    names = set(_modules())
    for command in ("run", "asktell", "best", "show", "report", "dashboard", "init", "mcp"):
        assert f"{PACKAGE}.{command}" in names
    assert f"{PACKAGE}._common" in names
    assert not (ROOT / "agenthpo" / "cli.py").exists()
    assert not list((ROOT / "agenthpo").glob("cli_*.py"))


def test_the_cli_import_graph_is_acyclic() -> None:
    graph = _graph()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for target in sorted(graph.get(name, ())):
            visit(target, [*path, name])
        done.add(name)

    for name in graph:
        visit(name, [])
    # only the app (and the package, which loads it) imports the commands; a command
    # imports at most _common
    for name, targets in graph.items():
        if name not in (PACKAGE, f"{PACKAGE}._app"):
            assert targets <= {f"{PACKAGE}._common"}, (name, targets)


def test_no_module_takes_a_private_name_from_another() -> None:
    modules = _modules()
    for name, path in modules.items():
        for target, taken in _imports(path, modules):
            private = [n for n in taken if n.startswith("_")]
            assert not private, f"{name} imports {private} from {target}"


# Run in a fresh interpreter, once as usual and once with the package's __init__ left out
# (an empty package stands in), so a module that needs a name only __init__ or a sibling
# would have set up fails here.
_ALONE = """
import importlib, sys, types
import agenthpo
if {bare}:
    pkg = types.ModuleType("agenthpo.cli")
    pkg.__path__ = [{path!r}]
    sys.modules["agenthpo.cli"] = pkg
importlib.import_module({module!r})
"""


_CASES = [
    pytest.param(module, bare, id=f"{module}-{'module-only' if bare else 'package'}")
    for module in sorted(_modules())
    for bare in (False, True)
    if not (bare and module == PACKAGE)  # the package itself is its __init__
]


@pytest.mark.parametrize(("module", "bare"), _CASES)
def test_each_cli_module_imports_alone(module: str, bare: bool) -> None:
    code = _ALONE.format(bare=bare, path=str(CLI), module=module)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_entry_point_is_the_package_main() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert 'agenthpo = "agenthpo.cli:main"' in text
    from agenthpo.cli import app, main

    assert callable(main)
    assert app.info.name == "agenthpo"
