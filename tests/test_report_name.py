"""``agenthpo.report`` stays the training scripts' function whatever else is imported.

Importing a submodule binds it as an attribute of its package, so a subpackage named
``agenthpo/report/`` would replace ``agenthpo.report`` (the function every training script
calls) with a module as soon as anything imported it. The report subpackage is
``agenthpo.reporting``; these tests keep it so.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import agenthpo
from agenthpo.reporter import report as report_function


def _submodules() -> list[str]:
    # From the files, not pkgutil: a folder without __init__.py (a namespace package, such as
    # agenthpo/agent/) is invisible to pkgutil.walk_packages.
    root = Path(agenthpo.__file__).parent
    names = set()
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(names)


def test_the_report_subpackage_does_not_shadow_the_function() -> None:
    # A fresh interpreter: nothing else has imported anything yet.
    code = (
        "import agenthpo, agenthpo.reporting, agenthpo.reporter\n"
        "assert agenthpo.report is agenthpo.reporter.report, agenthpo.report\n"
        "assert callable(agenthpo.report)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_submodule_is_named_report() -> None:
    modules = _submodules()
    assert {"agenthpo.reporting", "agenthpo.agent.prompts"} <= set(modules)
    assert "agenthpo.report" not in modules


def test_importing_every_submodule_leaves_report_the_function() -> None:
    skipped = []
    for name in _submodules():
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # an optional extra that is not installed
            if exc.name and exc.name.split(".")[0] == "agenthpo":
                raise
            skipped.append(name)
    assert agenthpo.report is report_function
    assert callable(agenthpo.report)
    if skipped:
        pytest.skip(f"not importable without their extras: {', '.join(skipped)}")
