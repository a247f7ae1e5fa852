"""The CLI and the package start without the heavy libraries: every ``agenthpo`` command
would otherwise pay for them before its first line (scikit-learn, which Optuna's importance
evaluators import, is loaded only when importance is measured)."""

from __future__ import annotations

import subprocess
import sys

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
