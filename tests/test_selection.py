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


# ------------------------------------- held-out folds for deterministic tasks (issue 18)


# Deterministic: the seed changes nothing. Fold 0 is the validation the search scores; it
# rewards x > 0.8 by a quirk of its data that folds 1-4 do not share. On the held-out folds
# the loss is (x - 0.5)**2 plus a small fold effect (so their spread is not zero).
def _overfit(calls: list[dict[str, Any]]) -> Any:
    def objective(config: dict[str, Any]) -> dict[str, float]:
        x, fold = float(config["x"]), int(config.get("fold", 0))
        calls.append({k: v for k, v in config.items() if k != "x"})
        quirk = -0.3 if fold == 0 and x > 0.8 else 0.0
        return {"loss": (x - 0.5) ** 2 + quirk + 0.01 * fold * x}

    return objective


def _run_held_out(
    tmp_path: Path, default: float, candidate: float
) -> tuple[RunSummary, optuna.Study, list[dict[str, Any]]]:
    from agenthpo.executor import FunctionExecutor
    from agenthpo.task import task_from_dict

    task = task_from_dict(
        {
            "name": "overfit",
            "objective": {"metric": "loss", "direction": "minimize"},
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
            "n_trials": 10,
            "function": "overfit:objective",
            "strategy": "random",
            "default_config": {"x": default},
            "warm_start": [{"x": candidate}],
            "noise": {"fold_param": "fold", "repeats": 4, "top": 1, "every": 1, "max_share": 0.8},
        },
        base_dir=tmp_path,
    )
    calls: list[dict[str, Any]] = []
    executor = FunctionExecutor(_overfit(calls), isolate=False)
    storage = f"sqlite:///{tmp_path / 'h.db'}"
    summary = Tuner(task, storage=storage, seed=0, executor=executor).run()
    return summary, optuna.load_study(study_name="overfit", storage=storage), calls


def test_held_out_folds_expose_a_validation_fit_and_keep_the_default(tmp_path: Path) -> None:
    summary, study, calls = _run_held_out(tmp_path, default=0.5, candidate=0.95)
    trials = study.trials
    assert trials[0].params == {"x": 0.5}
    assert trials[1].params == {"x": 0.95}
    # The candidate won the search's validation by its quirk ...
    assert summary.selection is not None, summary.reevaluation_note
    assert summary.selection["best_single_run"] == 1
    # ... but on the 4 held-out folds it loses to the default, which is recommended.
    assert summary.selection["improvement"] is False
    assert summary.best_config == {"x": 0.5}
    assert "was not confirmed on the held-out folds" in summary.selection["reason"]
    assert summary.selection["folds"] == [1, 2, 3, 4]
    assert "seeds" not in summary.selection
    entry = study.user_attrs[_keys.STUDY_NOISE]["1"]
    # The entry holds the held-out folds alone: the search's fitted value does not count.
    assert entry["folds"] == [1, 2, 3, 4]
    assert entry["n"] == 4
    assert entry["values"][0] == pytest.approx(0.45**2 + 0.01 * 0.95)
    # Trials ran on fold 0; the fold (never a seed) reached the re-runs, and only at the
    # end: no incumbent was re-run during the search although `every` is 1.
    assert [c.get("fold") for c in calls[: len(trials)]] == [0] * len(trials)
    assert sorted(c["fold"] for c in calls[len(trials) :]) == [1, 1, 2, 2, 3, 3, 4, 4]
    assert all("seed" not in c for c in calls)
    assert summary.n_total + summary.n_reevaluations == 10
    assert reevaluation_runs(study) == 8
    # The faces say folds, not seeds.
    from agenthpo.cli._common import selection_lines
    from agenthpo.reporting._data import parse_selection

    lines = selection_lines(parse_selection(summary.selection), "loss")
    assert "recommended: trial 0, loss" in lines[1]
    assert lines[1].endswith("over 4 held-out folds")


def test_held_out_folds_confirm_a_real_gain(tmp_path: Path) -> None:
    # The default (x 0.05) is far from the optimum; the candidate x 0.5 beats it on every
    # held-out fold: the paired differences vary little, so the gain is beyond the band.
    summary, _, _ = _run_held_out(tmp_path, default=0.05, candidate=0.5)
    assert summary.selection is not None
    assert summary.selection["improvement"] is True
    assert summary.best_config is not None
    assert summary.best_config["x"] == pytest.approx(0.5)
    assert "beyond the noise band" in summary.selection["reason"]
    assert summary.selection["reason"].startswith("on the held-out folds, trial 1")


def test_a_candidate_with_one_usable_fold_is_skipped_for_that_reason(tmp_path: Path) -> None:
    """With held-out folds the trial's own value does not count, so one fold that ran and
    one that failed leave a single value: the note says so, not "every re-run failed"."""
    from agenthpo.executor import FunctionExecutor
    from agenthpo.task import task_from_dict

    def objective(config: dict[str, Any]) -> dict[str, float]:
        if config["fold"] >= 2:
            raise RuntimeError("fold 2 has no data")
        return {"loss": (config["x"] - 0.5) ** 2}

    task = task_from_dict(
        {
            "name": "folds",
            "objective": {"metric": "loss", "direction": "minimize"},
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
            "n_trials": 6,
            "function": "folds:objective",
            "strategy": "random",
            "noise": {"fold_param": "fold", "repeats": 2, "top": 1, "max_share": 0.5},
        },
        base_dir=tmp_path,
    )
    executor = FunctionExecutor(objective, isolate=False)
    storage = f"sqlite:///{tmp_path / 'f.db'}"
    summary = Tuner(task, storage=storage, seed=0, executor=executor).run()
    assert summary.reevaluation_note is not None
    assert "fewer than 2 held-out folds gave a value" in summary.reevaluation_note
    assert "every re-run failed" not in summary.reevaluation_note


def test_selection_waits_for_asked_trials_that_may_be_the_best(tmp_path: Path) -> None:
    """A run that stops because asked trials hold the rest of the budget must not spend the
    re-runs' share before their results are in: the asked trial may be the best."""
    from agenthpo.executor import FunctionExecutor
    from agenthpo.task import task_from_dict

    def objective(config: dict[str, Any]) -> dict[str, float]:
        return {"loss": (config["x"] - 0.5) ** 2 + 0.01 * config.get("seed", 0)}

    task = task_from_dict(
        {
            "name": "asked",
            "objective": {"metric": "loss", "direction": "minimize"},
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
            "n_trials": 6,
            "function": "asked:objective",
            "strategy": "random",
            "noise": {"repeats": 2, "top": 1, "max_share": 0.5},
        },
        base_dir=tmp_path,
    )
    storage = f"sqlite:///{tmp_path / 'a.db'}"
    executor = FunctionExecutor(objective, isolate=False)
    asked = Tuner(task, storage=storage, seed=0, executor=executor).ask()
    first = Tuner(task, storage=storage, seed=0, executor=executor).run()
    assert first.awaiting_tell == (asked.number,)
    assert first.n_reevaluations == 0
    assert first.reevaluation_note is not None
    assert "waits for the asked trials" in first.reevaluation_note
    Tuner(task, storage=storage).tell(asked.number, value=0.0)  # the best of all
    second = Tuner(task, storage=storage, seed=0, executor=executor).run()
    assert second.selection is not None, second.reevaluation_note
    assert second.selection["best_single_run"] == asked.number


def test_paired_gain_needs_two_shared_folds() -> None:
    from agenthpo.tuner import paired_gain

    assert paired_gain({1: 1.0}, {1: 2.0}, direction="minimize", band=2.0) is None
    gain, margin, better = paired_gain(
        {1: 0.9, 2: 0.8}, {1: 0.7, 2: 0.7}, direction="maximize", band=2.0
    ) or (0.0, 0.0, False)
    assert gain == pytest.approx(0.15)
    assert margin == pytest.approx(0.1)
    assert better


def test_fold_param_is_checked_and_leaves_seed_tasks_alone(tmp_path: Path) -> None:
    from agenthpo.errors import TaskError
    from agenthpo.task import NoiseSection

    base = {
        "name": "t",
        "objective": {"metric": "loss", "direction": "minimize"},
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "n_trials": 10,
    }
    from agenthpo.task import task_from_dict

    with pytest.raises(TaskError, match=r"noise\.fold_param"):
        task_from_dict({**base, "function": "m:f", "noise": {"fold_param": "x"}})
    with pytest.raises(TaskError, match=r"none for \{fold\}, so the re-runs' folds"):
        task_from_dict(
            {**base, "command": ["python", "t.py", "--x={x}"], "noise": {"fold_param": "fold"}}
        )
    with pytest.raises(TaskError, match=r"add noise: \{fold_param: fold\}"):
        task_from_dict({**base, "command": ["python", "t.py", "--fold={fold}"]})
    ok = task_from_dict(
        {
            **base,
            "command": ["python", "t.py", "--x={x}", "--fold={fold}"],
            "noise": {"fold_param": "fold"},
        }
    )
    setup = ok.noise_setup()
    assert setup is not None
    assert setup.param == "fold"
    # A fold is never guessed: without the section a seedless command has no selection.
    assert task_from_dict({**base, "command": ["python", "t.py"]}).noise_setup() is None
    assert NoiseSection().param == "seed"
    assert not NoiseSection().held_out
