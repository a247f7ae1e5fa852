"""AgentHPO's benchmark harness: AgentHPO's strategies against classical samplers.

Run ``python -m benchmarks run --suite quick`` (under 15 minutes on 2 cores with the
embedded model) or ``--suite full``, then ``python -m benchmarks report`` to regenerate
``BENCHMARKS.md`` from the JSON files under ``benchmarks/results/``.

Modules:
    tasks       the task protocol, the registry and the suites
    tabular     suite 1: HPOBench-MLP, HPOLib (FCNet) and NAS-Bench-201 lookup tables
    bayesmark   suite 2: Bayesmark's scikit-learn grid, re-created for current scikit-learn
    real        suite 3: small real training runs (CNN, text, tabular, graph, time series)
    optimizers  strategy name -> Optuna sampler (or SMAC's ask-and-tell loop)
    runner      one run (task, strategy, seed) with its time split; a whole suite in parallel
    metrics     Bayesmark's normalized score, ranks, the Wilcoxon test, intervals over seeds
    reference   the frozen optimum and random-search median of every task
    overhead    sampler time per trial and prompt tokens against the trial number
    report      BENCHMARKS.md and its SVG plots
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PACKAGE_DIR", "REPO_ROOT", "RESULTS_DIR"]

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
RESULTS_DIR = PACKAGE_DIR / "results"
