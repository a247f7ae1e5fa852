"""What a script's module declares, as the front-end readers need it.

Its constants, enums, module-level functions and imports, each node's parent, and the
names an ``add_argument`` call (or any node) sees, including one binding per item of an
enclosing ``for`` loop over data.

Example:
    >>> import ast, pathlib
    >>> tree = ast.parse("import argparse\\nLR = 0.1\\ndef fit(): ...")
    >>> facts = _Module(tree, pathlib.Path("t.py"))
    >>> facts.constants, sorted(facts.functions), facts.imports
    ({'LR': 0.1}, ['fit'], {'argparse'})
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agenthpo.scaffold._static import (
    _MAX_ITEMS,
    _assignments,
    _bind,
    _dotted,
    _last,
    _literal,
    _parent_map,
)


class _Module:
    """The facts of one module's tree that the readers look up."""

    def __init__(self, tree: ast.Module, path: Path) -> None:
        self.tree = tree
        self.path = path
        self.constants = _assignments(tree.body, {})
        self.enums = self._enums()
        self.constants.update(self._enum_members())
        self.functions = {
            node.name: node
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        self.imports = self._imports()
        self.parents = _parent_map(tree)

    def _enums(self) -> dict[str, tuple[Any, ...]]:
        enums: dict[str, tuple[Any, ...]] = {}
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef) and any(
                _last(_dotted(b)).endswith("Enum") for b in node.bases
            ):
                values = []
                for item in node.body:
                    if isinstance(item, ast.Assign):
                        ok, value = _literal(item.value, {})
                        if ok:
                            values.append(value)
                if values:
                    enums[node.name] = tuple(values)
        return enums

    def _enum_members(self) -> dict[str, Any]:
        """``{"Color.red": "red"}`` for the members of the module's enums."""
        members: dict[str, Any] = {}
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef) and node.name in self.enums:
                for item in node.body:
                    if isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name):
                        ok, value = _literal(item.value, {})
                        if ok:
                            members[f"{node.name}.{item.targets[0].id}"] = value
        return members

    def _imports(self) -> set[str]:
        found: set[str] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module.split(".")[0])
        return found

    def calls(self, root: ast.AST | None = None) -> Iterator[ast.Call]:
        """The calls below ``root`` (default: the whole module)."""
        for node in ast.walk(root or self.tree):
            if isinstance(node, ast.Call):
                yield node

    def environments(self, node: ast.AST) -> list[dict[str, Any]]:
        """The names a node sees: the module's constants, its function's assignments, and
        one binding per item of an enclosing ``for`` loop over data
        (``for name, default in DEFAULTS.items(): parser.add_argument(f"--{name}", ...)``)."""
        chain: list[ast.AST] = []
        current: ast.AST | None = node
        while current is not None:
            chain.append(current)
            current = self.parents.get(current)
        env: dict[str, Any] = dict(self.constants)
        function = next(
            (n for n in chain if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None
        )
        if function is not None:
            env = _assignments(function.body, env, before=chain)
        loop = next((n for n in chain if isinstance(n, ast.For)), None)
        if loop is None:
            return [env]
        ok, items = _literal(loop.iter, env)
        if not ok or not isinstance(items, (list, tuple)) or len(items) > _MAX_ITEMS:
            return [env]
        envs = []
        for item in items:
            bound = _bind(loop.target, item)
            if bound is None:
                return [env]
            envs.append(_assignments(loop.body, {**env, **bound}, before=chain))
        return envs
