"""Reading the metric names a script reports: ``report(...)`` keywords, dicts it dumps as
JSON, and what a function returns.

Example:
    >>> import ast, pathlib
    >>> from agenthpo.scaffold._facts import _Module
    >>> tree = ast.parse("def fit(lr=0.1):\\n    report(step=0, loss=1.0)\\n    return {'acc': 1}")
    >>> module = _Module(tree, pathlib.Path("t.py"))
    >>> _metrics(module, module.functions["fit"])
    ['loss', 'acc']
"""

from __future__ import annotations

import ast

from agenthpo.scaffold._facts import _Module
from agenthpo.scaffold._static import _dotted, _FunctionNode, _last, _literal, _string


def _metrics(module: _Module, function: _FunctionNode | None) -> list[str]:
    """The metric names reported in ``function`` (or anywhere in the module), in order."""
    names: list[str] = []
    dicts = _dict_keys(module)
    calls = sorted(module.calls(function), key=lambda c: (c.lineno, c.col_offset))
    for call in calls:
        callee = _dotted(call.func)
        if _last(callee) == "report" and not callee.startswith("trial."):
            for k in call.keywords:
                if k.arg is not None and k.arg != "step":
                    names.append(k.arg)
                elif k.arg is None and isinstance(k.value, ast.Name):
                    names.extend(dicts.get(k.value.id, []))
                elif k.arg is None and isinstance(k.value, ast.Dict):
                    names.extend(_dict_literal_keys(k.value))
            if call.args and isinstance(call.args[0], ast.Dict):
                names.extend(_dict_literal_keys(call.args[0]))
        elif callee in ("json.dump", "json.dumps", "dump") and call.args:
            first = call.args[0]
            if isinstance(first, ast.Dict):
                names.extend(_dict_literal_keys(first))
            elif isinstance(first, ast.Name):
                names.extend(dicts.get(first.id, []))
    if function is not None:
        returns_number = False
        for sub in ast.walk(function):
            if isinstance(sub, ast.Return) and sub.value is not None:
                if isinstance(sub.value, ast.Dict):
                    names.extend(_dict_literal_keys(sub.value))
                elif isinstance(sub.value, ast.Name) and sub.value.id in dicts:
                    names.extend(dicts[sub.value.id])
                elif not (isinstance(sub.value, ast.Constant) and sub.value.value is None):
                    returns_number = True
        if returns_number:
            names.append("value")
    return list(dict.fromkeys(n for n in names if n.isidentifier()))


def _dict_keys(module: _Module) -> dict[str, list[str]]:
    """Keys of dict literals (and ``d["k"] = ...``) assigned to each name."""
    keys: dict[str, list[str]] = {}
    for node in ast.walk(module.tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and isinstance(node.value, ast.Dict):
                    keys.setdefault(target.id, []).extend(_dict_literal_keys(node.value))
                elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    names = keys.setdefault(target.value.id, [])
                    if _string(target.slice) and isinstance(target.slice, ast.Constant):
                        names.append(_string(target.slice))
                        continue
                    # final[f"{split}_auc"] = ... inside `for split in ("val", "test")`
                    for env in module.environments(target):
                        ok, key = _literal(target.slice, env)
                        if ok and isinstance(key, str):
                            names.append(key)
    return keys


def _dict_literal_keys(node: ast.Dict) -> list[str]:
    return [_string(k) for k in node.keys if k is not None and _string(k)]
