"""The CLI and the package start without the heavy libraries: every ``agenthpo`` command
would otherwise pay for them before its first line (scikit-learn, which Optuna's importance
evaluators import, is loaded only when importance is measured)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sklearn", "torch", "transformers", "plotly", "pandas", "optuna_dashboard", "openai")


@pytest.mark.parametrize("module", ["agenthpo", "agenthpo.cli", "agenthpo.reporting"])
def test_importing_loads_no_heavy_library(module: str) -> None:
    code = f"import sys, {module}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "", f"importing {module} loaded {out.stdout.strip()}"


def test_importance_still_loads_its_evaluators_when_measuring() -> None:
    """The lazy import is only deferred: measuring importance works and uses fANOVA."""
    code = (
        "import optuna, sys\n"
        "optuna.logging.set_verbosity(optuna.logging.ERROR)\n"
        "from agenthpo.reporting import measure_importance\n"
        "s = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))\n"
        "s.optimize(lambda t: t.suggest_float('x', 0, 1) ** 2"
        " + 0.01 * t.suggest_float('y', 0, 1), n_trials=20)\n"
        "r = measure_importance(s)\n"
        "print(r.evaluator, r.ranking()[0], 'sklearn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["fANOVA", "x", "True"]


def test_the_library_leaves_optunas_verbosity_to_its_user(tmp_path: Path) -> None:
    """Importing any module (the tuner set Optuna's verbosity to WARNING on import, silencing
    a user's own studies' INFO lines) and running a Tuner keep the user's verbosity; the
    Tuner's run writes none of Optuna's INFO lines (its own first line names the study)."""
    (tmp_path / "obj.py").write_text(
        "def objective(config, report):\n    return {'loss': (config['x'] - 2) ** 2}\n"
    )
    code = (
        "import optuna, sys\n"
        "sys.path.insert(0, '.')\n"
        "import agenthpo, agenthpo.tuner, agenthpo.cli, agenthpo.reporting, agenthpo.mcp\n"
        "print(optuna.logging.get_verbosity())\n"
        "from agenthpo import Tuner\n"
        "from agenthpo.task import task_from_dict\n"
        "task = task_from_dict({'name': 'v', 'n_trials': 3, 'function': 'obj:objective',"
        " 'objective': {'metric': 'loss', 'direction': 'minimize'},"
        " 'space': {'x': {'type': 'float', 'low': -5, 'high': 5}}})\n"
        "Tuner(task, storage='sqlite:///v.db', strategy='tpe').run()\n"
        "print(optuna.logging.get_verbosity())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.stdout.split() == [str(optuna_info()), str(optuna_info())]
    assert "[I " not in out.stderr, out.stderr


def optuna_info() -> int:
    import optuna

    return optuna.logging.INFO
