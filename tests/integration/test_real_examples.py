"""The five real examples end to end: ``agenthpo run examples/X/task.yaml`` through the CLI.

Each run is two trials (the task's default configuration, then one proposal) with the
schema-following ``random`` LLM, so the test checks the examples' command-line path (argv,
``--name value`` options, tagged report lines, the learning curve, hidden metrics), not a
model. Every trial starts a Python process that imports torch or scikit-learn: about 5 to
15 s a trial on a busy 2-core machine, so the whole module is ``slow``.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from agenthpo import _keys
from agenthpo.task import load_task

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["digits_cnn", "gcn_cora", "reviews_tfidf", "credit_hgb", "sunspots_lags"]
WITH_CURVE = {"digits_cnn", "gcn_cora", "credit_hgb", "sunspots_lags"}


def _cli() -> list[str]:
    exe = shutil.which("agenthpo")
    return [exe] if exe else [sys.executable, "-c", "from agenthpo.cli import main; main()"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_runs_through_the_cli(example: str, tmp_path: Path) -> None:
    path = ROOT / "examples" / example / "task.yaml"
    task = load_task(path)
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    env = {**os.environ, "AGENTHPO_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "200"}
    argv = [*_cli(), "run", str(path), "--n-trials", "2", "--storage", storage, "--seed", "0"]
    run = subprocess.run(
        [*argv, "--llm", "random"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    study = optuna.load_study(study_name=task.name, storage=storage)
    assert len(study.trials) == 2
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE, trial.user_attrs.get(_keys.ERROR)
        assert trial.value is not None
        assert math.isfinite(trial.value)
        metrics = trial.user_attrs[_keys.METRICS]
        for hidden in task.hidden_metrics:
            assert math.isfinite(metrics[hidden])
        if example in WITH_CURVE:
            assert trial.intermediate_values, "no learning curve reached the tuner"
    # The first trial is the task's default configuration.
    assert study.trials[0].params == task.default_config
    # Nothing was written into the repository (data, caches, studies).
    assert not list((ROOT / "examples" / example).glob("*.db"))
