"""The real training examples (``examples/*``) and suite 3 of the benchmark (``benchmarks/real``).

Every example's ``train`` function runs on a tiny budget and returns finite metrics; each
``task.yaml`` loads and matches its script; every benchmark task evaluates one configuration
in-process. The libraries are required, not optional: they are in the ``dev`` extra, and the
Cora files are in ``../shared/data/planetoid`` on the project's machines and in CI.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from agenthpo.reporter import active_reporter
from agenthpo.task import load_task
from benchmarks.real import EXAMPLES, EXAMPLES_DIR, RealObjective, load_example
from benchmarks.tasks import get_task, suite_tasks

# A tiny configuration of each example (inside its task's space) and whether it has epochs.
TINY: dict[str, tuple[dict[str, Any], bool]] = {
    "digits_cnn": ({"channels": 4, "epochs": 5, "batch_size": 128}, True),
    "gcn_cora": ({"hidden": 8, "epochs": 20}, True),
    "reviews_tfidf": ({"max_features": 1000, "min_df": 5}, False),
    "credit_hgb": ({"max_iter": 20, "max_leaf_nodes": 8}, True),
    "sunspots_lags": ({"max_iter": 20, "n_lags": 5}, True),
}
FOLDERS = [e.folder for e in EXAMPLES]


def _run(folder: str, config: dict[str, Any], seed: int = 0) -> tuple[dict[str, float], list[Any]]:
    module = load_example(folder)
    reports: list[tuple[int | None, dict[str, float]]] = []
    with active_reporter(lambda step, metrics: reports.append((step, metrics))):
        final = module.train(config, seed=seed)
    return final, reports


def test_every_family_has_an_example() -> None:
    assert set(FOLDERS) == set(TINY)
    assert {e.family for e in EXAMPLES} == {"image", "text", "tabular", "graph", "time series"}


@pytest.mark.parametrize("folder", FOLDERS)
def test_train_reports_a_finite_objective_and_a_curve(folder: str) -> None:
    config, has_epochs = TINY[folder]
    task = load_task(EXAMPLES_DIR / folder / "task.yaml")
    final, reports = _run(folder, config)
    metric = task.objective.metric
    assert math.isfinite(final[metric])
    for hidden in task.hidden_metrics:
        assert math.isfinite(final[hidden]), hidden
    # The last report carries the final metrics (step None), as the executor expects.
    assert reports[-1] == (None, final)
    steps = [step for step, _ in reports if step is not None]
    if has_epochs:
        assert steps, "no learning curve reported"
        assert steps == list(range(1, len(steps) + 1))
    else:
        assert not steps


def test_tiny_runs_learn_something() -> None:
    """Far from chance even on the tiny budgets (so a broken pipeline cannot pass)."""
    assert _run("digits_cnn", {"channels": 8, "epochs": 5})[0]["val_accuracy"] > 0.6
    assert _run("gcn_cora", {"epochs": 30})[0]["val_accuracy"] > 0.5
    assert _run("reviews_tfidf", TINY["reviews_tfidf"][0])[0]["val_accuracy"] > 0.7
    assert _run("credit_hgb", TINY["credit_hgb"][0])[0]["val_auc"] > 0.75
    # The climatological mean forecast has an RMSE of about 40 on 1929-1968.
    assert _run("sunspots_lags", TINY["sunspots_lags"][0])[0]["val_rmse"] < 35.0


@pytest.mark.parametrize("folder", ["digits_cnn", "gcn_cora"])
def test_torch_training_is_deterministic_for_a_seed(folder: str) -> None:
    config = TINY[folder][0]
    first = _run(folder, config, seed=3)[0]
    again = _run(folder, config, seed=3)[0]
    other = _run(folder, config, seed=4)[0]
    keys = [k for k in first if k != "train_time_s"]
    assert {k: first[k] for k in keys} == {k: again[k] for k in keys}
    assert first["val_loss"] != other["val_loss"]


@pytest.mark.parametrize("folder", FOLDERS)
def test_train_rejects_an_unknown_hyperparameter(folder: str) -> None:
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        load_example(folder).train({"lr_typo": 0.1})


@pytest.mark.parametrize("folder", FOLDERS)
def test_task_file_matches_the_script(folder: str) -> None:
    task = load_task(EXAMPLES_DIR / folder / "task.yaml")
    module = load_example(folder)
    assert set(task.space) == set(module.DEFAULTS)
    assert task.default_config is not None
    assert set(task.default_config) == set(module.DEFAULTS)
    assert task.command == ["python", "train.py"]
    assert task.objective.metric not in task.hidden_metrics
    # Every option of the space is an option of the script's command line.
    config, *_ = module.parse_args([f"--{k}={v}" for k, v in task.default_config.items()])
    assert config == task.default_config


def test_sunspots_scores_held_out_folds_the_search_never_sees() -> None:
    # Deterministic: its selection re-evaluates on held-out windows, not on seeds.
    task = load_task(EXAMPLES_DIR / "sunspots_lags" / "task.yaml")
    noise = task.noise_setup()
    assert noise is not None
    assert noise.fold_param == "fold"
    module = load_example("sunspots_lags")
    assert [module.window(k) for k in range(5)] == [
        (1889, 8),
        (1869, 2),
        (1849, 2),
        (1829, 2),
        (1809, 2),
    ]
    assert noise.repeats == module.HELD_OUT_FOLDS
    # The windows tile 1809-1968, before the test period, without overlap.
    first, folds = module.window(0)
    assert first + folds * module.FOLD_YEARS == module.TEST_START
    tiny = TINY["sunspots_lags"][0]
    search = _run("sunspots_lags", tiny)[0]
    held_out = _run("sunspots_lags", {**tiny, "fold": 2})[0]
    assert held_out["val_rmse"] != search["val_rmse"]
    assert held_out["test_rmse"] == search["test_rmse"]
    assert module.parse_args(["--fold", "3"])[2] == 3


def test_text_example_parses_booleans_from_the_command_line() -> None:
    config, seed = load_example("reviews_tfidf").parse_args(["--sublinear_tf", "true", "--seed=2"])
    assert config["sublinear_tf"] is True
    assert seed == 2
    with pytest.raises(SystemExit):
        load_example("reviews_tfidf").parse_args(["--sublinear_tf", "maybe"])


def test_gcn_links_the_local_planetoid_files_outside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gcn = load_example("gcn_cora")
    source = gcn.local_planetoid_dir()
    assert source is not None, "the Cora files are expected in ../shared/data/planetoid"
    # An explicit directory wins; a directory without the files is ignored.
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in gcn.RAW_FILES:
        (mirror / name).symlink_to(source / name)
    monkeypatch.setenv("AGENTHPO_PLANETOID_DIR", str(mirror))
    assert gcn.local_planetoid_dir() == mirror
    monkeypatch.setenv("AGENTHPO_PLANETOID_DIR", str(tmp_path / "empty"))
    assert gcn.local_planetoid_dir() == source
    monkeypatch.setenv("AGENTHPO_CACHE_DIR", str(tmp_path / "cache"))
    root = gcn.dataset_root()
    raw = root / "Cora" / "raw"
    assert root.is_relative_to(tmp_path / "cache")
    assert sorted(p.name for p in raw.iterdir()) == sorted(gcn.RAW_FILES)
    assert all((raw / n).resolve() == (source / n).resolve() for n in gcn.RAW_FILES)
    repo = Path(__file__).resolve().parents[1]
    assert not any(repo.glob("examples/gcn_cora/**/ind.cora.*"))


def test_real_suite_has_the_five_tasks() -> None:
    names = suite_tasks("real")
    assert sorted(names) == sorted(e.name for e in EXAMPLES)
    assert set(names) <= set(suite_tasks("full"))
    for name in names:
        task = get_task(name)
        assert task.suite == "real"
        assert task.context.dataset
        assert task.context.model
        assert task.context.description
        spec = load_task(EXAMPLES_DIR / get_example_folder(name) / "task.yaml")
        assert task.context.metric == spec.objective.metric
        assert task.direction == spec.objective.direction
        assert any(getattr(p, "log", False) for _, p in task.space.items())


def get_example_folder(name: str) -> str:
    return next(e.folder for e in EXAMPLES if e.name == name)


@pytest.mark.parametrize("name", [e.name for e in EXAMPLES])
def test_benchmark_task_evaluates_one_configuration(name: str) -> None:
    task = get_task(name)
    folder = get_example_folder(name)
    spec = load_task(EXAMPLES_DIR / folder / "task.yaml")
    assert spec.default_config is not None
    config = {**spec.default_config, **TINY[folder][0]}
    assert not task.space.validate(config)
    objective = task.build(0)
    assert isinstance(objective, RealObjective)
    result = objective(config)
    assert math.isfinite(result.value)
    assert result.value == result.true_value
    # The same configuration gives the same value (the tasks are deterministic).
    assert objective(config).value == result.value
    if TINY[folder][1]:
        assert objective.curve


def test_benchmark_objective_fails_on_a_non_finite_metric(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_example("credit_hgb")
    monkeypatch.setattr(module, "train", lambda config, seed: {"val_auc": math.nan})
    with pytest.raises(ValueError, match="val_auc is nan"):
        get_task("real-hgb-credit").build(0)({})


def test_examples_do_not_ship_data_files() -> None:
    for folder in FOLDERS:
        names = {p.name for p in (EXAMPLES_DIR / folder).iterdir()}
        assert {"train.py", "task.yaml", "README.md"} <= names
        assert not {n for n in names if n.endswith((".pt", ".pkl", ".csv", ".npz"))}
