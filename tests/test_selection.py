"""Noise-robust selection refuses a seed fluke, on real example tasks (issue 18, item 1).

Each test runs an example's own training script (its command, ``--seed N`` appended) on the
default configuration and on one *fluke*: a configuration found, once, to beat the default on
seed 0 while its mean over seeds 0-2 does not beat the default's beyond the noise band. The
runs are deterministic for a seed, so the fluke is real and reproducible. The budget holds
the two trials and their re-evaluations (2 seeds each) and nothing else.

The fast test (``cancer_sgd``, a task added for this: its default is already good) also checks
what the faces show: ``agenthpo best`` (config, json, text), ``agenthpo show`` and the report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pytest
from typer.testing import CliRunner

from agenthpo import _keys
from agenthpo.cli import app
from agenthpo.reporting import build_report
from agenthpo.task import load_task, task_with
from agenthpo.tuner import RunSummary, Tuner, reevaluation_runs

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _refuse_the_fluke(
    folder: str, fluke: dict[str, Any], storage: str
) -> tuple[RunSummary, optuna.Study]:
    task = load_task(EXAMPLES / folder / "task.yaml")
    assert task.noise_setup() is not None  # the example re-evaluates by default
    assert task.default_config is not None
    config = {**task.default_config, **fluke}
    task = task_with(
        task,
        n_trials=6,
        strategy="random",
        warm_start=[config],
        noise={"repeats": 2, "top": 3, "max_share": 0.67},
    )
    summary = Tuner(task, storage=storage, seed=0).run()
    study = optuna.load_study(study_name=task.name, storage=storage)
    default, candidate = study.trials
    assert default.user_attrs[_keys.PROPOSED_BY] == "default_config"
    assert candidate.params == config
    # The fluke is real: on seed 0 the candidate beat the default ...
    assert study.best_trial.number == candidate.number
    assert summary.selection is not None, summary.reevaluation_note
    assert summary.selection["best_single_run"] == candidate.number
    # ... but re-run on seeds 1 and 2 it is no better beyond the noise: the default wins.
    assert summary.selection["improvement"] is False
    assert summary.selection["recommended_trial"] == default.number
    assert summary.best_trial == default.number
    assert summary.best_config == task.default_config
    assert "default configuration is recommended" in summary.selection["reason"]
    assert (
        f"trial {candidate.number}'s single-run win was a seed fluke"
        in (summary.selection["reason"])
    )
    assert {k: v["n"] for k, v in summary.selection["candidates"].items()} == {"0": 3, "1": 3}
    # Within the budget: 2 trials and 4 re-runs make the 6, and nothing was skipped.
    assert summary.n_total + summary.n_reevaluations == 6 == len(study.trials) + 4
    assert reevaluation_runs(study) == 4
    assert summary.reevaluation_note is None
    return summary, study


def test_cancer_sgd_refuses_a_fluke_and_every_face_says_so(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'sgd.db'}"
    summary, study = _refuse_the_fluke("cancer_sgd", {"alpha": 1e-3}, storage)
    default = summary.selection["candidates"]["0"] if summary.selection else {}
    assert default["std"] > 0  # the seeds reached the script
    runner = CliRunner()
    where = ["--storage", storage, "--study", "cancer-sgd"]

    plain = runner.invoke(app, ["best", *where])
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.stdout) == summary.best_config
    assert "the default configuration (trial 0) is recommended" in plain.stderr

    record = runner.invoke(app, ["best", *where, "--format", "json"])
    data = json.loads(record.stdout)
    assert data["trial"] == 0
    assert data["config"] == summary.best_config
    assert data["selection"]["improvement"] is False
    assert data["selection"]["best_single_run"] == 1
    assert data["selection"]["verdict"].startswith("the default configuration (trial 0)")

    text = runner.invoke(app, ["best", *where, "--format", "text"]).stdout
    assert "Recommended: trial 0, val_accuracy 0.96491 on its own run (seed 0)" in text
    assert "recommended: trial 0, val_accuracy 0.96784 ± 0.0050645 over 3 seeds" in text
    assert "best single run: trial 1, val_accuracy 0.96784 ± 0.010129 over 3 seeds" in text
    assert "why: the default configuration (trial 0) has the best mean over seeds" in text

    shown = runner.invoke(app, ["show", *where, "--format", "plain"]).stdout
    assert "Noise-robust selection: the default configuration (trial 0) is recommended" in shown

    paths = build_report(study, out_dir=tmp_path / "report")
    assert paths.report.data.best is not None
    assert paths.report.data.best.number == 0
    md = paths.markdown.read_text()
    assert "## Recommended configuration" in md
    assert "**Noise-robust selection:** the default configuration (trial 0) is recommended" in md
    assert "| best single run | 1 |" in md
    assert "4 runs of the budget went to re-evaluation" in md
    html = paths.html.read_text()
    assert "default recommended" in html
    assert "so the default configuration is recommended" in html


@pytest.mark.slow
def test_digits_mlp_refuses_a_fluke(tmp_path: Path) -> None:
    # batch 220 wins seed 0 by two digits of 359 (0.9666 against 0.9610); over seeds 0-2 it
    # averages 0.9684 against the default's 0.9666: a gain of 0.002 inside a band of 0.007.
    _refuse_the_fluke("digits_mlp", {"batch_size": 220}, f"sqlite:///{tmp_path / 'd.db'}")


@pytest.mark.slow
def test_gcn_cora_refuses_a_fluke(tmp_path: Path) -> None:
    # dropout 0.48 wins seed 0 on validation loss (0.805 against 0.811); over seeds 0-2 it
    # averages 0.815 against the default's 0.818: a gain of 0.003 inside a band of 0.014.
    # The Cora files are read from ../shared/data/planetoid beside the repository.
    _refuse_the_fluke("gcn_cora", {"dropout": 0.48}, f"sqlite:///{tmp_path / 'g.db'}")
