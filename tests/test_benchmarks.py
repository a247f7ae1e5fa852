"""Fast tests of the benchmark harness (``benchmarks/``): metrics, task builders, a tiny run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import optuna
import pytest
import scipy  # noqa: F401  (the bench extra; make test installs it)

from benchmarks.metrics import (
    HeadlineDifference,
    headline,
    headline_difference,
    matched_task_means,
    mean_ranks,
    normalized_score,
    score_at,
    score_trajectory,
    seed_interval,
    t_interval,
    task_means,
    wilcoxon_vs,
)
from benchmarks.tasks import Evaluation, all_tasks, get_task, suggest

optuna.logging.set_verbosity(optuna.logging.WARNING)


# ------------------------------------------------------------------------------- metrics


def test_normalized_score_is_bayesmarks_formula() -> None:
    assert normalized_score(0.25, opt=0.0, median_random=1.0) == 0.25
    # maximization: the same formula, the signs cancel
    assert normalized_score(0.9, opt=1.0, median_random=0.8) == pytest.approx(0.5)
    assert normalized_score(1.0, opt=1.0, median_random=0.8) == 0.0


def test_normalized_score_clips_and_handles_missing_values() -> None:
    assert normalized_score(5.0, opt=0.0, median_random=1.0) == 1.0
    assert normalized_score(-5.0, opt=0.0, median_random=1.0) == -1.0
    assert normalized_score(None, opt=0.0, median_random=1.0) == 1.0
    assert normalized_score(math.nan, opt=0.0, median_random=1.0) == 1.0
    assert normalized_score(2.0, opt=2.0, median_random=2.0) == 0.0


def test_score_trajectory_and_budget() -> None:
    traj = score_trajectory([None, 0.5, 0.25], opt=0.0, median_random=1.0)
    assert traj == [1.0, 0.5, 0.25]
    assert score_at(traj, 2) == 0.5
    assert score_at(traj, 4) is None
    assert headline([0.0, 0.5]) == 75.0


TABLE = {
    "a": {"t1": {0: [0.1], 1: [0.3]}, "t2": {0: [0.5], 1: [0.5]}, "t3": {0: [0.0], 1: [0.0]}},
    "b": {"t1": {0: [0.4], 1: [0.4]}, "t2": {0: [0.6], 1: [0.8]}, "t3": {0: [0.0], 1: [0.0]}},
}


def test_task_means_and_ranks_with_ties() -> None:
    assert task_means(TABLE, "a", 1, ["t1", "t2", "t3"]) == pytest.approx(
        {"t1": 0.2, "t2": 0.5, "t3": 0.0}
    )
    ranks = mean_ranks(TABLE, ["a", "b"], 1, ["t1", "t2", "t3"])
    # a wins t1 and t2 (rank 1), ties t3 (1.5 each)
    assert ranks["a"] == pytest.approx((1 + 1 + 1.5) / 3)
    assert ranks["b"] == pytest.approx((2 + 2 + 1.5) / 3)


def test_wilcoxon_matches_scipy_on_known_data() -> None:
    from scipy.stats import wilcoxon

    a = [0.1, 0.2, 0.3, 0.4, 0.5, 0.35]
    b = [0.2, 0.25, 0.5, 0.3, 0.9, 0.35]
    tasks = [f"t{i}" for i in range(len(a))]
    table = {
        "x": {t: {0: [v]} for t, v in zip(tasks, a, strict=True)},
        "tpe": {t: {0: [v]} for t, v in zip(tasks, b, strict=True)},
    }
    res = wilcoxon_vs(table, "x", "tpe", 1, tasks)
    assert res is not None
    assert (res.wins, res.ties, res.losses) == (4, 1, 1)
    expected = wilcoxon([x - y for x, y in zip(a, b, strict=True) if x != y], zero_method="wilcox")
    assert res.pvalue == pytest.approx(expected.pvalue)
    assert res.mean_diff == pytest.approx(sum(a) / 6 - sum(b) / 6)


def test_wilcoxon_all_ties_gives_p_one() -> None:
    table = {"x": {"t": {0: [0.5]}}, "tpe": {"t": {0: [0.5]}}}
    res = wilcoxon_vs(table, "x", "tpe", 1, ["t"])
    assert res is not None
    assert res.pvalue == 1.0
    assert res.ties == 1


# "x" ran seed 0 only and drew exactly what TPE drew on seed 0; TPE's seed 1 did better.
SEED0 = {
    "x": {t: {0: [0.5, v]} for t, v in (("t1", 0.4), ("t2", 0.3), ("t3", 0.2))},
    "tpe": {
        t: {0: [0.5, v], 1: [0.5, v - 0.2]} for t, v in (("t1", 0.4), ("t2", 0.3), ("t3", 0.2))
    },
}


def test_a_one_seed_run_equal_to_tpes_seed_0_is_a_tie_not_a_loss() -> None:
    tasks = ["t1", "t2", "t3"]
    # unpaired, "x" would look 10 points worse: TPE's mean includes its better seed 1
    unpaired = headline(list(task_means(SEED0, "x", 2, tasks).values())) - headline(
        list(task_means(SEED0, "tpe", 2, tasks).values())
    )
    assert unpaired == pytest.approx(-10.0)
    diff = headline_difference(SEED0, "x", "tpe", 2, tasks)
    assert diff == HeadlineDifference(points=0.0, unpaired=0)
    res = wilcoxon_vs(SEED0, "x", "tpe", 2, tasks)
    assert res is not None
    assert (res.n, res.wins, res.ties, res.losses) == (3, 0, 3, 0)
    assert (res.pvalue, res.mean_diff, res.unpaired) == (1.0, 0.0, 0)
    # a run shorter than the budget is no comparison
    assert headline_difference(SEED0, "x", "tpe", 3, tasks) is None


def test_a_task_without_a_shared_seed_falls_back_to_unpaired_and_says_so() -> None:
    table = {
        "x": {"t1": {0: [0.4]}, "t2": {1: [0.1]}},
        "tpe": {"t1": {0: [0.4], 1: [0.0]}, "t2": {0: [0.5], 2: [0.3]}},
    }
    m = matched_task_means(table, ["x", "tpe"], 1, ["t1", "t2"])
    assert m.tasks == ["t1", "t2"]
    assert m.unpaired == ["t2"]
    assert m.means["x"] == pytest.approx({"t1": 0.4, "t2": 0.1})
    # t1 on the shared seed 0; t2 on each one's own seeds (TPE: mean of seeds 0 and 2)
    assert m.means["tpe"] == pytest.approx({"t1": 0.4, "t2": 0.4})
    diff = headline_difference(table, "x", "tpe", 1, ["t1", "t2"])
    assert diff is not None
    assert diff.unpaired == 1
    assert diff.points == pytest.approx(100 * 0.3 / 2)  # t2's 0.3 better, averaged over 2
    res = wilcoxon_vs(table, "x", "tpe", 1, ["t1", "t2"])
    assert res is not None
    assert (res.wins, res.ties, res.losses, res.unpaired) == (1, 1, 0, 1)
    # a task one strategy did not run is left out, not counted as unpaired
    m = matched_task_means(table, ["x", "tpe"], 1, ["t1", "t3"])
    assert (m.tasks, m.unpaired) == (["t1"], [])


def test_mean_ranks_rank_each_strategy_on_its_own_seeds() -> None:
    table = {
        # "a" ran two seeds; its mean (0.3) beats b's 0.4, though on seed 0 alone it loses
        "a": {"t1": {0: [0.5], 1: [0.1]}, "t2": {0: [0.2], 1: [0.2]}},
        "b": {"t1": {0: [0.4]}, "t2": {1: [0.3]}},
        "c": {"t1": {0: [0.6], 1: [0.0]}, "t2": {0: [0.9], 1: [0.1]}},
    }
    ranks = mean_ranks(table, ["a", "b", "c"], 1, ["t1", "t2"])
    # t1: c 0.3 = a 0.3 < b 0.4; t2: a 0.2 < b 0.3 < c 0.5
    assert ranks == pytest.approx({"a": 1.25, "b": 2.5, "c": 2.25})
    # one row with a single seed does not drop the others' second seed (as ranking on the
    # seeds every row ran would: t1 on seed 0 alone ranks b first)
    assert mean_ranks(table, ["a", "b"], 1, ["t1"]) == {"a": 1.0, "b": 2.0}


def test_intervals_over_seeds() -> None:
    mean, lo, hi = t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert lo == pytest.approx(2.0 - 4.302653 / math.sqrt(3), rel=1e-5)
    assert math.isnan(t_interval([1.0])[1])
    lo, hi, n = seed_interval(TABLE, "a", 1, ["t1", "t2", "t3"])
    assert n == 2
    per_seed = [headline([0.1, 0.5, 0.0]), headline([0.3, 0.5, 0.0])]
    assert lo < min(per_seed) < max(per_seed) < hi


# ---------------------------------------------------------------------------- task builders


def _random_configs(task_name: str, n: int) -> list[dict[str, object]]:
    task = get_task(task_name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    configs = []
    for _ in range(n):
        trial = study.ask()
        configs.append(suggest(trial, task.space))
        study.tell(trial, 0.0)
    return configs


def _corners(task_name: str) -> list[dict[str, object]]:
    from agenthpo.space import CategoricalParam

    space = get_task(task_name).space
    low = {
        n: (p.choices[0] if isinstance(p, CategoricalParam) else p.low) for n, p in space.items()
    }
    high = {
        n: (p.choices[-1] if isinstance(p, CategoricalParam) else p.high) for n, p in space.items()
    }
    return [low, high]


def test_every_task_has_a_valid_space_and_context() -> None:
    tasks = all_tasks()
    assert tasks, "no task registered"
    for name, task in tasks.items():
        assert task.name == name
        assert task.direction in ("minimize", "maximize")
        assert task.context.direction == task.direction
        assert task.space.to_optuna()  # converts
        for config in _corners(name):
            assert task.space.validate(config) == [], name


@pytest.mark.parametrize("name", ["hpobench-kc1", "nb201-cifar10"])
def test_tabular_objective_accepts_the_space(name: str) -> None:
    task = get_task(name)
    objective = task.build(0)
    for config in _random_configs(name, 5) + _corners(name):
        result = objective(config)
        assert isinstance(result, Evaluation)
        assert math.isfinite(result.value)
        assert math.isfinite(result.true_value)
    assert task.table_optimum is not None


def test_tabular_grid_rounds_to_the_nearest_table_value() -> None:
    from benchmarks.tabular import GridParam

    g = GridParam("lr", (1e-3, 1e-2, 1e-1), "log")
    assert g.index(2e-3) == 0
    assert g.index(4e-3) == 1  # nearer to 1e-2 on a log scale
    assert g.index(1.0) == 2
    assert GridParam("act", ("relu", "tanh"), "exact").index("tanh") == 1
    assert GridParam("dropout", (0.0, 0.3, 0.6), "linear").index(0.2) == 1
    assert GridParam("depth", (1, 2, 3), "exact").index(3) == 2


@pytest.mark.parametrize("name", ["skl-dt-iris", "skl-knn-diabetes"])
def test_sklearn_objective_accepts_the_space(name: str) -> None:
    objective = get_task(name).build(0)
    result = objective(_random_configs(name, 1)[0])
    assert math.isfinite(result.value)
    assert result.value == result.true_value


@pytest.mark.parametrize("dataset", ["iris", "diabetes"])
def test_sklearn_estimators_accept_every_space(dataset: str) -> None:
    """Every model's estimator takes random and extreme configurations of its space (fitted
    on a small slice, to stay fast; the full 5-fold objective is tested above)."""
    import warnings

    from benchmarks.bayesmark import DATASETS, MODELS, _data, decode

    x, y = _data(dataset)
    classification = DATASETS[dataset][1]
    for model, mdef in MODELS.items():
        name = f"skl-{model}-{dataset}"
        specs = mdef.clf_space if classification else mdef.reg_space
        factory = mdef.clf if classification else mdef.reg
        for config in _random_configs(name, 2) + _corners(name):
            estimator = factory(decode(config, specs))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if model == "mlp-sgd":
                    estimator.set_params(max_iter=5)
                estimator.fit(x[:90], y[:90])  # scikit-learn validates parameters here


def test_sklearn_logit_parameters_decode_inside_their_range() -> None:
    from benchmarks.bayesmark import MODELS, decode

    specs = MODELS["dt"].clf_space
    space = get_task("skl-dt-breast").space
    for config in _corners("skl-dt-breast"):
        params = decode(config, specs)
        assert 0.01 <= params["min_samples_leaf"] <= 0.49
        assert 0.01 <= params["max_features"] <= 0.99
    assert "logit_max_features" in space


# -------------------------------------------------------------------------------- end to end


def test_tiny_run_writes_results_and_a_report(tmp_path: Path) -> None:
    from benchmarks.__main__ import main

    results = tmp_path / "results"
    code = main(
        [
            "run",
            "--suite",
            "sklearn",
            "--tasks",
            "skl-dt-iris",
            "skl-knn-wine",
            "--trials",
            "5",
            "--seeds",
            "1",
            "--llm",
            "random",
            "--strategies",
            "random",
            "tpe",
            "hybrid-tpe",
            "agent",
            "--jobs",
            "1",
            "--results-dir",
            str(results),
        ]
    )
    assert code == 0
    files = list(results.glob("sklearn-random-*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data["meta"]["llm"] == "random"
    assert data["meta"]["wall_time_s"] >= 0  # rounded to 0.1 s: a tiny run may show 0.0
    runs = data["runs"]
    assert len(runs) == 2 * 4
    for run in runs:
        assert "error" not in run
        assert len(run["best"]) == len(run["values"]) == 5
        assert set(run["time"]) == {"total_s", "optimizer_s", "llm_s", "eval_s"}
        assert run["time"]["total_s"] >= run["time"]["eval_s"]
        if run["strategy"] == "agent":
            assert run["llm"] == "random"
            assert run["llm_sampling"] == "space"  # the control draws through the space
            assert run["llm_calls"] >= 5
            assert run["prompt_tokens"] > 0
            assert run["llm_proposals"] + sum(run["fallbacks"].values()) == 5
        else:
            best = run["best"]
            assert all(b is not None for b in best)

    out = tmp_path / "BENCHMARKS.md"
    assert main(["report", "--results-dir", str(results), "--out", str(out)]) == 0
    text = out.read_text()
    assert "## Full suite" in text
    assert "`agent [random]`" in text
    assert "LLM off the critical path" in text
    plot = results / "plots" / "full-sklearn.svg"
    assert plot.read_text().startswith("<svg")
    assert "results/plots/full-sklearn.svg" in text


# ------------------------------------------------------------------------------------ report


def _fake_run(task: str, strategy: str, best: list[float], *, llm: str | None = None) -> dict:
    from benchmarks.optimizers import BACKBONE_VERSION, on_default_backbone
    from benchmarks.tasks import get_task

    n = len(best)
    return {
        "task": task,
        "suite": get_task(task).suite,
        "strategy": strategy,
        # as the runner stores it: runs on the default backbone name its version
        "backbone_version": BACKBONE_VERSION if on_default_backbone(strategy) else None,
        "seed": 0,
        "n_trials": n,
        "llm": llm,
        "llm_sampling": "space" if llm == "random" else None,
        "share": "adaptive" if strategy in ("hybrid-tpe", "centaur") else None,
        "best": best,
        "time": {"total_s": 1.0, "optimizer_s": 0.1, "llm_s": 0.5, "eval_s": 0.4},
        "llm_calls": n if llm else 0,
        "prompt_tokens": 100 * n if llm else 0,
        "completion_tokens": 10 * n if llm else 0,
        "llm_proposals": n // 2 if llm else 0,
        "fallbacks": {},
    }


def _write_results(path: Path, suite: str, runs: list[dict]) -> None:
    meta = {"kind": "suite", "suite": suite, "started": "2026-01-01T00:00:00+00:00"}
    path.write_text(json.dumps({"version": 1, "meta": meta, "runs": runs}))


def test_runs_from_before_the_adaptive_share_are_labelled_apart() -> None:
    from benchmarks.report import label

    new = _fake_run("skl-dt-iris", "hybrid-tpe", [0.5], llm="local")
    old = {**new, "share": None}
    assert label(new) == "hybrid-tpe [local]"
    assert label(old) == "hybrid-tpe [local, fixed share]"
    assert label({**old, "strategy": "agent"}) == "agent [local]"  # the agent never adapted
    assert label(_fake_run("skl-dt-iris", "tpe", [0.5])) == "tpe"


def test_merging_keeps_an_older_variant_beside_the_new_run() -> None:
    from benchmarks.report import _merge, label

    new = _fake_run("skl-dt-iris", "hybrid-tpe", [0.5], llm="local")
    old = {**new, "share": None, "best": [0.9]}
    again = {**new, "best": [0.4]}
    runs = _merge([{"runs": [old]}, {"runs": [new]}, {"runs": [again]}])
    by_label = {label(r): r["best"] for r in runs}
    assert by_label == {"hybrid-tpe [local, fixed share]": [0.9], "hybrid-tpe [local]": [0.4]}


def test_skip_done_reruns_older_variants_only() -> None:
    from benchmarks.__main__ import _current

    new = _fake_run("skl-dt-iris", "hybrid-tpe", [0.5], llm="local")
    assert _current(new)
    assert not _current({**new, "share": None})  # a fixed-share run is not what runs now
    assert _current(_fake_run("skl-dt-iris", "agent", [0.5], llm="random"))
    assert not _current(
        {**_fake_run("skl-dt-iris", "agent", [0.5], llm="random"), "llm_sampling": None}
    )
    assert _current(_fake_run("skl-dt-iris", "tpe", [0.5]))


def test_a_run_never_writes_over_an_earlier_results_file(tmp_path: Path) -> None:
    """Continuing a plan into the file that holds its first part would replace those runs:
    the run refuses and changes nothing."""
    from benchmarks.__main__ import main

    earlier = tmp_path / "earlier.json"
    _write_results(earlier, "sklearn", [_fake_run("skl-dt-iris", "tpe", [0.5])])
    before = earlier.read_text()
    argv = ["run", "--suite", "sklearn", "--tasks", "skl-dt-iris", "--strategies", "random"]
    argv += ["--seeds", "1", "--trials", "3", "--results-dir", str(tmp_path)]
    assert main([*argv, "--out", str(earlier)]) == 2
    assert earlier.read_text() == before
    assert main([*argv, "--out", str(tmp_path / "later.json")]) == 0
    assert len(json.loads((tmp_path / "later.json").read_text())["runs"]) == 1


def test_report_never_averages_a_partial_row_as_the_whole_suite(tmp_path: Path) -> None:
    from benchmarks.reference import load_reference
    from benchmarks.report import write_report

    refs = load_reference()
    tasks = ["skl-dt-iris", "skl-knn-wine", "skl-svm-wine"]
    good = {t: refs[t].opt for t in tasks}
    bad = {t: refs[t].median_random for t in tasks}
    runs = []
    for t in tasks:
        runs += [_fake_run(t, "tpe", [bad[t], good[t]]), _fake_run(t, "random", [bad[t]] * 2)]
    # hybrid-tpe [local] ran one task of three, and found its optimum there
    runs.append(_fake_run("skl-dt-iris", "hybrid-tpe", [good["skl-dt-iris"]] * 2, llm="local"))
    _write_results(tmp_path / "sklearn-a.json", "sklearn", runs)
    (tmp_path / "critical_path.json").write_text(
        json.dumps(
            {
                "trials": 20,
                "llm_seconds": 2.0,
                "trial_seconds": 2.0,
                "wall_s_prefetch": 44.0,
                "wall_s_no_prefetch": 80.0,
                "ideal_s": 40.0,
                "serial_s": 80.0,
            }
        )
    )
    out = tmp_path / "BENCHMARKS.md"
    text = write_report(results_dir=tmp_path, out=out).read_text()
    main = text[text.index("### Suite 2") : text.index("#### Suite 2")]
    assert "`hybrid-tpe [local]` (1 of 3)" in main  # named as left out, with its coverage
    scores = main[main.index("Headline") : main.index("Per task")]
    assert "| `hybrid-tpe [local]` |" not in scores  # and not a row of the 3-task table
    assert "| `tpe` | 3 of 3 | 1 |" in scores
    subset = text[text.index("#### Suite 2") :]
    assert "the 1 of 3 tasks that `hybrid-tpe [local]` ran" in subset
    assert "| `hybrid-tpe [local]` | 1 of 3 | 1 |" in subset
    assert "| `tpe` | 1 of 3 | 1 |" in subset
    assert "full / sklearn (1 of 3 tasks) | `hybrid-tpe [local]`" in text  # the loss table
    # the critical path section is rendered from its JSON, with the ratios
    assert "| prefetch on (the default) | 44.0 s | 1.10x | 0.55x |" in text
    assert "**1.82x** faster" in text
    assert "Placeholder" not in text


def test_report_names_the_old_uniform_random_control_apart() -> None:
    from benchmarks.report import label

    assert label({"strategy": "agent", "llm": "random", "llm_sampling": "space"}) == (
        "agent [random]"
    )
    assert label({"strategy": "agent", "llm": "random"}) == "agent [random-uniform]"
    assert label({"strategy": "agent", "llm": "local"}) == "agent [local]"


def test_report_leaves_the_superseded_uniform_control_out_of_the_tables(tmp_path: Path) -> None:
    from benchmarks.report import collect

    runs = [
        _fake_run("skl-dt-iris", "tpe", [0.5] * 3),
        _fake_run("skl-dt-iris", "agent", [0.5] * 3, llm="random"),
        {**_fake_run("skl-dt-iris", "agent", [0.5] * 3, llm="random"), "llm_sampling": None},
        {  # the uniform control with the fixed share: "hybrid-tpe [random-uniform, fixed share]"
            **_fake_run("skl-dt-iris", "hybrid-tpe", [0.5] * 3, llm="random"),
            "llm_sampling": None,
            "share": None,
        },
    ]
    _write_results(tmp_path / "sklearn-a.json", "sklearn", runs)
    (group,) = collect(tmp_path).groups
    assert group.strategies == ["tpe", "agent [random]"]


def test_report_pools_only_families_run_with_the_same_budget(tmp_path: Path) -> None:
    from benchmarks.reference import load_reference
    from benchmarks.report import collect

    refs = load_reference()
    runs = []
    for task, n in (("skl-dt-iris", 3), ("skl-knn-wine", 3), ("nb201-cifar10", 5)):
        for strategy in ("tpe", "random"):
            runs.append(_fake_run(task, strategy, [refs[task].median_random] * n))
    _write_results(tmp_path / "full-a.json", "full", runs)
    families = [g.family for g in collect(tmp_path).groups]
    assert families == ["tabular", "sklearn"]  # no "all": a 3-trial and a 5-trial family
    for run in runs:  # the same budget everywhere: pooled
        run["best"] = [run["best"][0]] * 5
    _write_results(tmp_path / "full-a.json", "full", runs)
    groups = collect(tmp_path).groups
    assert [g.family for g in groups] == ["all", "tabular", "sklearn"]
    assert groups[0].families == ["tabular", "sklearn"]
    assert len(groups[0].tasks) == 3


def test_the_corners_control_and_the_fixed_share_variant() -> None:
    from benchmarks.controls import CornerLLM
    from benchmarks.optimizers import DEFAULT_STRATEGIES, optuna_sampler
    from benchmarks.runner import RunSpec, run_one
    from benchmarks.tasks import get_task

    task = get_task("hpobench-kc1")
    llm = CornerLLM(seed=0, space=task.space)
    bounds = task.space.to_optuna()
    for _ in range(20):
        corner = llm.corner()
        for name, dist in bounds.items():
            if hasattr(dist, "low"):
                assert corner[name] in (dist.low, dist.high)
    fixed = optuna_sampler("hybrid-tpe-fixed", task=task, seed=0, llm=llm)
    adaptive = optuna_sampler("hybrid-tpe", task=task, seed=0, llm=llm)
    assert (fixed.policy().adaptive, adaptive.policy().adaptive) == (False, True)  # type: ignore[attr-defined]
    assert "hybrid-tpe-fixed" not in DEFAULT_STRATEGIES  # on request only

    rec = run_one(RunSpec("hpobench-kc1", "hybrid-tpe", 0, 30, "corners"), lambda: None)
    assert rec["llm"] == "corners"
    assert rec["share"] == "adaptive"
    # A confidently wrong proposer loses its turns: fewer than the fixed schedule's 3 + 7.
    assert 3 <= rec["llm_proposals"] < 10


def test_report_compares_the_fixed_and_adaptive_share_against_tpe(tmp_path: Path) -> None:
    from benchmarks.reference import load_reference
    from benchmarks.report import write_report

    refs = load_reference()
    tasks = ["skl-dt-iris", "skl-knn-wine"]
    runs = []
    for t in tasks:
        good, bad = refs[t].opt, refs[t].median_random
        runs += [
            _fake_run(t, "tpe", [bad] * 5 + [good] * 5),  # headline 100 from trial 6
            _fake_run(t, "hybrid-tpe-fixed", [bad] * 10, llm="corners"),  # never better: 0
            _fake_run(t, "hybrid-tpe", [bad] * 7 + [good] * 3, llm="corners"),  # 100 at 10
        ]
    # an older fixed-share run of the embedded model on one task has no adaptive partner
    runs.append({**_fake_run("skl-dt-iris", "hybrid-tpe", [bad] * 10, llm="local"), "share": None})
    _write_results(tmp_path / "sklearn-a.json", "sklearn", runs)
    text = write_report(results_dir=tmp_path, out=tmp_path / "B.md").read_text()
    section = text[text.index("### What the adaptive share buys") :]
    section = section[: section.index("\n## ")]
    assert "| full / sklearn | `corners` | 2 | 1/1/1 | 0.0 (-100.0) → 100.0 (+0.0) |" in section
    assert "`local`" not in section
    # a "never worse" verdict says what it rests on
    assert (
        "Never worse than TPE where it ran: `hybrid-tpe [corners]` (full / sklearn: 2 tasks,"
        " 2 runs)." in text
    )


def test_at_a_glance_shows_only_the_embedded_model_and_says_what_is_missing(
    tmp_path: Path,
) -> None:
    from benchmarks.reference import load_reference
    from benchmarks.report import write_report

    refs = load_reference()
    tasks = ["skl-dt-iris", "skl-knn-wine"]
    runs = []
    for t in tasks:
        good, bad = refs[t].opt, refs[t].median_random
        runs += [
            _fake_run(t, "tpe", [bad] * 5 + [good] * 5),
            _fake_run(t, "hybrid-tpe", [bad] * 10, llm="local"),  # a loss at 10: 0 vs 100
            _fake_run(t, "hybrid-tpe-late", [bad] * 5 + [good] * 5, llm="local"),  # TPE itself
            _fake_run(t, "agent", [good] * 10, llm="random"),  # a control: not at a glance
        ]
    _write_results(tmp_path / "sklearn-a.json", "sklearn", runs)
    text = write_report(results_dir=tmp_path, out=tmp_path / "B.md").read_text()
    glance = text[text.index("## At a glance") : text.index("## Summary")]
    # the default strategy as the embedded model runs it comes first
    late = "| full / sklearn | `hybrid-tpe-late [local]` | 1 | 100.0 (+0.0) |"
    assert late in glance
    assert glance.index(late) < glance.index("`hybrid-tpe [local]` | 1 |")
    assert "`hybrid-tpe-late [local]`: never worse than TPE here" in glance
    assert "| full / sklearn | `hybrid-tpe [local]` | 1 | 0.0 (**-100.0**) |" in glance
    assert "[random]" not in glance
    assert "`hybrid-tpe [local]`: worse than TPE in 1 of 1 cells" in glance
    assert "Not measured: `hybrid-tpe [local]` has no full-suite run on tabular, real." in glance
    assert "centaur" not in glance  # a strategy with no run is not invented


def test_report_compares_with_tpe_on_the_seeds_both_ran(tmp_path: Path) -> None:
    from benchmarks.reference import load_reference
    from benchmarks.report import UNPAIRED, write_report

    refs = load_reference()
    runs = []
    for t in ("skl-dt-iris", "skl-knn-wine"):
        good, bad = refs[t].opt, refs[t].median_random
        mid = (good + bad) / 2  # score 0.5: headline 50
        runs += [
            _fake_run(t, "tpe", [bad] * 5 + [mid] * 5),
            {**_fake_run(t, "tpe", [good] * 10), "seed": 1},  # TPE's better seed: mean 75
            # the late hybrid is TPE itself on seed 0: level with it, not 25 points behind
            _fake_run(t, "hybrid-tpe-late", [bad] * 5 + [mid] * 5, llm="local"),
            {**_fake_run(t, "agent", [good] * 10, llm="local"), "seed": 2},  # no seed shared
        ]
    _write_results(tmp_path / "sklearn-a.json", "sklearn", runs)
    text = write_report(results_dir=tmp_path, out=tmp_path / "B.md").read_text()
    losses = text[text.index("### Where AgentHPO loses") : text.index("### Never worse")]
    assert "over the (task, seed) pairs both ran" in losses
    # its own headline stays its mean over its seeds; the difference is seed-matched
    assert "| full / sklearn | `hybrid-tpe-late [local]` | 1 | 50.0 (+0.0) | TPE |" in losses
    # no seed in common with TPE: compared on each one's own seeds, and marked as such
    assert "| full / sklearn | `agent [local]` | 1 | 100.0 (+25.0)† | TPE |" in losses
    assert UNPAIRED in losses
    assert "`hybrid-tpe-late [local]`: never worse than TPE here, 0 of 1 cells" in text
    scores = text[text.index("### Suite 2") : text.index("Per task")]
    assert "| `hybrid-tpe-late [local]` | 2 of 2 | 1 | 50.0 |" in scores
    assert "| 0/2/0 | 1 |" in scores  # Wilcoxon: two ties
    assert "| 2/0/0 (2 unpaired) |" in scores


def test_report_says_when_a_run_beat_the_frozen_opt(tmp_path: Path) -> None:
    from benchmarks.reference import load_reference
    from benchmarks.report import build_report, collect, stale_opt

    refs = load_reference()
    opt = refs["skl-dt-iris"].opt
    median = refs["skl-dt-iris"].median_random
    runs = [
        {**_fake_run("skl-dt-iris", "tpe", [median, opt]), "true_values": [median, opt]},
        {**_fake_run("skl-dt-iris", "random", [median, median]), "true_values": [median] * 2},
    ]
    _write_results(tmp_path / "sklearn-a.json", "sklearn", runs)
    sections = collect(tmp_path)
    assert stale_opt(sections) == {}  # reaching opt is not beating it
    assert "is stale" not in build_report(sections, base=tmp_path, plots_dir=tmp_path)

    better = opt - 0.01  # the task is minimized (a loss)
    runs[1] = {**runs[1], "best": [median, better], "true_values": [median, better]}
    _write_results(tmp_path / "sklearn-a.json", "sklearn", runs)
    sections = collect(tmp_path)
    assert stale_opt(sections) == {"skl-dt-iris": (opt, better)}
    text = build_report(sections, base=tmp_path, plots_dir=tmp_path)
    assert "**`opt` is stale for 1 task**" in text
    assert "calibrate --update-opt" in text

    # A table's optimum is exact: a noisy seed beyond it is not a stale reference.
    beyond = refs["nb201-cifar10"].opt + 1  # accuracy: maximized
    _write_results(
        tmp_path / "sklearn-a.json",
        "tabular",
        [{**_fake_run("nb201-cifar10", "tpe", [beyond]), "true_values": [beyond]}],
    )
    sections = collect(tmp_path)
    assert [r["task"] for g in sections.groups for r in g.runs] == ["nb201-cifar10"]
    assert stale_opt(sections) == {}


def test_per_task_seeding_gives_tasks_with_one_space_their_own_draws() -> None:
    from benchmarks.runner import RunSpec, run_one, stored_key

    def draws(task: str, seeding: str, strategy: str = "random") -> list[float]:
        spec = RunSpec(task, strategy, 0, 6, seeding=seeding)  # type: ignore[arg-type]
        return run_one(spec)["values"]

    # The HPOBench-MLP datasets share one space: seeded per run, random search evaluates the
    # same configurations on both (so the values move together); seeded per task, it does not.
    a, b = "hpobench-kc1", "hpobench-car"
    same_run = run_one(RunSpec(a, "random", 0, 6))
    assert same_run["seeding"] == "run"
    assert same_run["rng_seed"] == 0
    per_task = run_one(RunSpec(a, "random", 0, 6, seeding="task"))
    assert per_task["seeding"] == "task"
    assert per_task["rng_seed"] != 0
    assert per_task["values"] != same_run["values"]
    assert (
        RunSpec(a, "tpe", 0, 6, seeding="task").rng_seed
        != RunSpec(b, "tpe", 0, 6, seeding="task").rng_seed
    )
    # the derived seed is a function of (task, seed) alone: a rerun draws the same
    assert draws(a, "task", "tpe") == draws(a, "task", "tpe")
    # and --skip-done tells the two schemes apart, older runs counting as per run
    old = {k: v for k, v in same_run.items() if k != "seeding"}
    assert stored_key(old) == RunSpec(a, "random", 0, 6).key()
    assert stored_key(per_task) == RunSpec(a, "random", 0, 6, seeding="task").key()
    assert stored_key(per_task) != stored_key(old)


def test_report_counts_the_runs_seeded_per_task() -> None:
    from benchmarks.report import _limitations

    old = _fake_run("skl-dt-iris", "tpe", [0.5])
    new = {**_fake_run("skl-dt-wine", "tpe", [0.5]), "seeding": "task"}
    text = "\n".join(_limitations([{"runs": [old]}]))
    assert "none of the stored runs used it yet" in text
    assert "1 of the 2 stored runs used it." in "\n".join(_limitations([{"runs": [old, new]}]))


def test_the_late_hybrid_equals_tpe_until_its_start_up_ends() -> None:
    from benchmarks.optimizers import DEFAULT_STRATEGIES
    from benchmarks.runner import RunSpec, run_one

    tpe = run_one(RunSpec("hpobench-kc1", "tpe", 0, 16))
    late = run_one(RunSpec("hpobench-kc1", "hybrid-tpe-late", 0, 16, "random"))
    # TPE's 10 random start-up draws come first, unchanged; the LLM's first turn is after them
    assert late["values"][:10] == tpe["values"][:10]
    assert "llm" not in late["proposed_by"][:10]
    assert "llm" in late["proposed_by"][10:]
    assert late["share"] == "adaptive"
    # hybrid-tpe's default with the embedded model runs in every suite
    assert "hybrid-tpe-late" in DEFAULT_STRATEGIES


def test_the_hybrid_row_keeps_its_start_up_turns_whatever_the_model() -> None:
    from agenthpo.llm import RandomLLM
    from agenthpo.sampler import AgentSampler
    from benchmarks.optimizers import optuna_sampler

    class Embedded(RandomLLM):
        embedded = True  # what hybrid-tpe's own default would start late for

    task = get_task("hpobench-kc1")
    llm = Embedded(seed=0)
    rows = {
        s: optuna_sampler(s, task=task, seed=0, llm=llm)
        for s in (
            "hybrid-tpe",
            "hybrid-tpe-fixed",
            "hybrid-tpe-late",
            "hybrid-tpe-screen",
            "hybrid-margin",
            "hybrid-margin-w5",
        )
    }
    schedules = {}
    for s, sampler in rows.items():
        assert isinstance(sampler, AgentSampler)
        margin = sampler.policy().screen_margin
        schedules[s] = (*sampler.warmup_and_startup(), sampler.screens(), margin)
    # the rows stored before TPE screened the embedded model's proposals stay unscreened
    assert schedules == {
        "hybrid-tpe": (0, 3, False, 0.0),
        "hybrid-tpe-fixed": (0, 3, False, 0.0),
        "hybrid-tpe-late": (10, 0, False, 0.0),
        "hybrid-tpe-screen": (10, 0, True, 0.0),
        "hybrid-margin": (0, 3, True, 1.0),
        # no start-up turns: the LLM's first turn comes once the backbone's GP can judge it
        "hybrid-margin-w5": (5, 0, True, 1.0),
    }


def test_the_w5_row_measures_the_default_schedule_of_a_capable_model() -> None:
    from agenthpo.llm import RandomLLM
    from agenthpo.policy import CAPABLE, preset
    from agenthpo.sampler import AgentSampler
    from benchmarks.optimizers import optuna_sampler

    sampler = optuna_sampler(
        "hybrid-margin-w5", task=get_task("hpobench-kc1"), seed=0, llm=RandomLLM(seed=0)
    )
    assert isinstance(sampler, AgentSampler)
    # the row's stored runs are the product default's for any model but the embedded one
    assert sampler.policy() == preset("hybrid-tpe").for_model(CAPABLE)
    assert sampler.policy() == preset("hybrid-judged").for_model(CAPABLE)


def test_each_mechanism_row_is_the_default_schedule_plus_its_mechanism() -> None:
    from agenthpo.llm import RandomLLM
    from agenthpo.policy import CAPABLE, preset
    from agenthpo.sampler import AgentSampler
    from benchmarks.optimizers import optuna_sampler

    default = preset("hybrid-judged").for_model(CAPABLE)
    task = get_task("hpobench-kc1")

    def policy(row: str) -> Any:
        sampler = optuna_sampler(row, task=task, seed=0, llm=RandomLLM(seed=0))
        assert isinstance(sampler, AgentSampler)
        return sampler.policy()

    assert policy("hybrid-judge") == default.replace(candidates=3)
    assert policy("hybrid-revise") == default.replace(revise_space_every=10)
    assert policy("hybrid-design") == default.replace(warmup=0, initial_design=5)
    hybrid = preset("hybrid").for_model(CAPABLE)
    assert policy("hybrid-design-v1") == hybrid.replace(startup=0, initial_design=5)
    # the TPE row keeps the definition its stored runs were measured with
    assert policy("hybrid-tpe-judge") == preset("hybrid").for_model(CAPABLE).replace(candidates=3)


def test_the_screened_hybrid_is_tpe_wherever_it_screens_every_proposal() -> None:
    from benchmarks.optimizers import DEFAULT_STRATEGIES
    from benchmarks.runner import RunSpec, run_one

    tpe = run_one(RunSpec("hpobench-kc1", "tpe", 0, 30))
    screened = run_one(RunSpec("hpobench-kc1", "hybrid-tpe-screen", 0, 30, "random"))
    assert "hybrid-tpe-screen" in DEFAULT_STRATEGIES
    assert screened["share"] == "adaptive"
    assert screened["values"][:10] == tpe["values"][:10]
    fallbacks = screened["fallbacks"]
    assert fallbacks.get("screened", 0) >= 1, fallbacks
    # Up to the first proposal TPE kept, the run is TPE's own, screened-out turns included.
    first = screened["proposed_by"].index("llm") if "llm" in screened["proposed_by"] else 30
    assert first > 10
    assert screened["values"][:first] == tpe["values"][:first]


def test_a_run_whose_llm_never_answered_is_not_stored_as_a_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import benchmarks.runner as runner
    from agenthpo.errors import LLMError
    from agenthpo.llm import ScriptedLLM

    # A model that did not load (or a dead endpoint) leaves every turn to TPE: such a run is
    # TPE under another name, so it must fail rather than be scored as the LLM strategy.
    dead = ScriptedLLM([LLMError("model file not found")])
    monkeypatch.setattr(runner, "make_llm", lambda spec, seed: dead)
    with pytest.raises(RuntimeError, match=r"never answered.*model file not found"):
        runner.run_one(runner.RunSpec("hpobench-kc1", "hybrid-tpe", 0, 5, "some-model"))
    # one that answers some of the time is measured as it is
    flaky = ScriptedLLM([LLMError("timeout"), '{"config": {}, "rationale": "x"}'], cycle=True)
    monkeypatch.setattr(runner, "make_llm", lambda spec, seed: flaky)
    rec = runner.run_one(runner.RunSpec("hpobench-kc1", "agent", 0, 4, "some-model"))
    assert rec["llm_calls"] > 0
    assert rec["fallbacks"].get("llm_error", 0) > 0


def test_results_record_the_versions_and_cpu_behind_the_objectives() -> None:
    from importlib.metadata import version

    from benchmarks.__main__ import _host

    host = _host()
    assert host["versions"]["scikit-learn"] == version("scikit-learn")
    assert host["versions"]["numpy"] == version("numpy")
    assert "cpu" in host


def test_the_quick_suites_time_comes_from_a_whole_run_not_a_top_up() -> None:
    from benchmarks.report import _quick_timing
    from benchmarks.tasks import QUICK

    def meta(**extra: object) -> dict[str, object]:
        base = {
            "suite": "quick",
            "tasks": list(QUICK),
            "seeds": 1,
            "seed_offset": 0,
            "strategies": ["random", "tpe", "cmaes", "hybrid-tpe", "agent"],
            "jobs": 2,
            "wall_time_s": 400.0,
            "command": "python -m benchmarks run --suite quick",
        }
        return {"meta": {**base, **extra}, "runs": []}

    whole = meta()
    top_ups = [
        meta(strategies=["hybrid-tpe-late"], wall_time_s=1000.0, command="late"),
        meta(seeds=4, seed_offset=1, wall_time_s=900.0, command="more seeds"),
        meta(tasks=list(QUICK)[:1], wall_time_s=60.0, command="one task"),
        meta(trials=5, wall_time_s=60.0, command="fewer trials"),
        meta(llm="random", wall_time_s=60.0, command="the control"),
    ]
    text = "".join(_quick_timing([whole, *top_ups]))
    assert "took **6.7 min** (within the 15-minute aim)" in text
    assert "`python -m benchmarks run --suite quick`" in text
    assert _quick_timing(top_ups) == []


def test_runs_are_matched_on_the_draws_they_share_not_on_the_seed_number() -> None:
    from benchmarks.report import _merge, draws

    per_run = _fake_run("skl-dt-iris", "tpe", [0.5])
    per_task = {**per_run, "seeding": "task", "rng_seed": 123456}
    assert (draws(per_run), draws(per_task)) == (0, 123456)
    # both kept: the task-seeded run is another seed, not a newer copy of the same run
    merged = _merge([{"runs": [per_run]}, {"runs": [per_task]}])
    assert sorted(draws(r) for r in merged) == [0, 123456]


# ----------------------------------------------------------- fresh seeds, human reference


def _tiny_task() -> Any:
    from agenthpo.agent.prompts import TaskContext
    from agenthpo.space import Space
    from benchmarks.tasks import Task

    space = Space.from_dict(
        {"x": {"type": "float", "low": 0, "high": 1}, "k": {"type": "int", "low": 1, "high": 3}}
    )

    def build(seed: int) -> Any:
        return lambda config: Evaluation((config["x"] - 0.3) ** 2, (config["x"] - 0.3) ** 2)

    context = TaskContext(name="tiny", description="", metric="loss", direction="minimize")
    return Task("tiny", "real", space, "minimize", context, build)


def test_runs_store_each_trials_configuration_and_the_selected_one() -> None:
    from benchmarks.runner import RunSpec, run_one

    rec = run_one(RunSpec("tiny", "random", 0, 6), task=_tiny_task())
    assert len(rec["params"]) == 6
    assert set(rec["params"][0]) == {"x", "k"}
    best = rec["best_trial"]
    assert rec["values"][best] == min(rec["values"])
    assert rec["best_params"] == rec["params"][best]
    assert (rec["best_params"]["x"] - 0.3) ** 2 == rec["values"][best]
    json.dumps(rec)  # JSON-able as stored


def test_fresh_seed_evaluation_trains_the_selection_on_the_stated_seeds() -> None:
    from benchmarks.fresh import FRESH_SEEDS, evaluate, fresh_record, selections
    from benchmarks.runner import RunSpec, run_one

    run = run_one(RunSpec("tiny", "random", 0, 5), task=_tiny_task())
    old = {**run, "seed": 1, "rng_seed": 1}
    del old["best_params"]  # stored before configurations were kept: skipped
    files = [{"meta": {"kind": "suite"}, "runs": [run, old], "path": "a.json"}]
    (sel,) = selections(files, n_trials=5)
    assert sel.config == run["best_params"]
    assert sel.method == "random"
    assert sel.seed == 0
    assert sel.search_value == min(run["values"])
    assert selections(files, n_trials=25) == []

    seen: list[tuple[dict[str, Any], int]] = []

    def train(config: Any, seed: int) -> dict[str, float]:
        seen.append((dict(config), seed))
        return {"test_loss": seed / 1000, "val_loss": 0.5}

    metrics = evaluate(train, sel.config, FRESH_SEEDS)
    assert [s for _, s in seen] == list(FRESH_SEEDS)
    assert 0 not in FRESH_SEEDS
    assert all(c == sel.config for c, _ in seen)
    rec = fresh_record(
        task="tiny",
        method=sel.method,
        config=sel.config,
        seeds=FRESH_SEEDS,
        metrics=metrics,
        selection=sel,
    )
    assert rec["fresh_seeds"] == list(FRESH_SEEDS)
    assert [m["test_loss"] for m in rec["metrics"]] == [s / 1000 for s in FRESH_SEEDS]
    assert rec["seed"] == 0
    assert rec["n_trials"] == 5


def _fresh(method: str, seed: int | None, values: list[float], seeds: list[int]) -> dict[str, Any]:
    from benchmarks.fresh import fresh_record

    return {
        **fresh_record(
            task="real-hgb-credit",
            method=method,
            config={"c": seed},
            seeds=seeds,
            metrics=[{"test_auc": v, "val_auc": v - 0.05} for v in values],
        ),
        "seed": seed,
        "rng_seed": seed,
        "search_value": 0.9 if seed is not None else None,
    }


def test_fresh_rows_give_mean_sd_and_welch_against_the_human_reference() -> None:
    import statistics

    from scipy.stats import ttest_ind

    from benchmarks.fresh import HUMAN, fresh_rows

    seeds = [101, 102, 103]
    human = [0.80, 0.81, 0.82]
    tpe = [[0.84, 0.85, 0.86], [0.83, 0.84, 0.85], [0.85, 0.86, 0.87]]
    worse = [[0.70, 0.71, 0.72], [0.71, 0.72, 0.73], [0.69, 0.70, 0.71]]
    records = [_fresh(HUMAN, None, human, seeds)]
    records += [_fresh("tpe", i, v, seeds) for i, v in enumerate(tpe)]
    records += [_fresh("bad", i, v, seeds) for i, v in enumerate(worse)]
    records.append(_fresh("tpe", 9, [0.0, 0.0], [1, 2]))  # other seeds: left out
    rows = {r.method: r for r in fresh_rows(records, metric="test_auc", direction="maximize")}
    assert list(rows) == [HUMAN, "bad", "tpe"]
    flat = [v for run in tpe for v in run]
    assert rows["tpe"].runs == 3
    assert rows["tpe"].n == 9
    assert rows["tpe"].mean == pytest.approx(statistics.fmean(flat))
    assert rows["tpe"].sd == pytest.approx(statistics.stdev(flat))
    run_means = [statistics.fmean(r) for r in tpe]
    assert rows["tpe"].run_sd == pytest.approx(statistics.stdev(run_means))
    assert rows["tpe"].diff == pytest.approx(statistics.fmean(flat) - 0.81)
    p = ttest_ind(run_means, human, equal_var=False).pvalue
    assert rows["tpe"].p == pytest.approx(p)
    assert rows["tpe"].better
    assert not rows["tpe"].worse
    assert rows["bad"].worse
    assert not rows["bad"].better
    assert rows[HUMAN].mean == pytest.approx(0.81)
    assert rows[HUMAN].sd == pytest.approx(0.01)
    assert rows[HUMAN].diff is None
    assert rows[HUMAN].p is None
    # lower is better: the same numbers swap the verdicts
    low = {r.method: r for r in fresh_rows(records, metric="test_auc", direction="minimize")}
    assert low["tpe"].worse
    assert low["bad"].better
    # a seed-independent training: no variance on either side, the difference is exact
    flat_h = [_fresh(HUMAN, None, [0.8] * 3, seeds)]
    same = fresh_rows(
        flat_h + [_fresh("tpe", i, [0.8] * 3, seeds) for i in range(2)],
        metric="test_auc",
        direction="maximize",
    )
    assert same[1].p == 1.0
    assert not same[1].worse
    lower = fresh_rows(
        flat_h + [_fresh("tpe", i, [0.7] * 3, seeds) for i in range(2)],
        metric="test_auc",
        direction="maximize",
    )
    assert lower[1].p == 0.0
    assert lower[1].worse


def test_report_puts_each_method_next_to_the_human_reference(tmp_path: Path) -> None:
    from benchmarks.fresh import HUMAN
    from benchmarks.report import write_report
    from benchmarks.runner import save_results

    seeds = [101, 102, 103]
    runs = [_fresh(HUMAN, None, [0.80, 0.81, 0.82], seeds)]
    runs += [_fresh("tpe", i, [0.84, 0.85, 0.86], seeds) for i in range(3)]
    runs += [_fresh("hybrid-screen [local]", i, [0.80 + i / 100] * 3, seeds) for i in range(3)]
    runs += [_fresh("cmaes", i, [0.81, 0.81, 0.81], seeds) for i in range(2)]
    # a second task: each method stays one column
    runs += [{**r, "task": "real-gcn-cora", "metrics": [{"test_accuracy": 0.8}] * 3} for r in runs]
    save_results(tmp_path / "fresh-a.json", {"kind": "fresh", "fresh_seeds": seeds}, runs)
    text = write_report(results_dir=tmp_path, out=tmp_path / "B.md").read_text()
    part = text[text.index("## Against the human reference") :]
    head = (
        "| task | test metric | human reference | `hybrid-screen [local]` (default) | `tpe` |"
        " `cmaes` |\n"
    )
    assert head in part
    # 0.84..0.86 on every run: mean 0.85, sd over the 9 trainings 0.0087; the runs agree,
    # so Welch is a one-sample test against the human seeds (t 6.9, 2 df): p 0.020
    assert (
        "| real-hgb-credit | `test_auc` (higher is better) | 0.8100 ± 0.0100 |"
        " 0.8100 ± 0.0087 | 0.8500 ± 0.0087 ▲ | 0.8100 ± 0.0000 |"
    ) in part
    assert "is never significantly below the human reference" in part
    assert "l2_regularization 0.0" not in part
    assert "l2_regularization 0," in part
    detail = part[part.index("### real-hgb-credit") :]
    assert (
        "| `tpe` | 3 x 3 | 0.8500 ± 0.0087 | 0.0000 | +0.0400 (0.020) ▲ | 0.8000 | 0.9000 |"
        in detail
    )


def test_every_real_task_has_a_human_reference_over_its_whole_space() -> None:
    from agenthpo.task import load_task
    from benchmarks.real import EXAMPLES

    for ex in EXAMPLES:
        spec = load_task(ex.task_file)
        config = ex.human.as_dict()
        assert set(config) == set(spec.space), ex.name
        assert ex.human.source
        assert ex.test_metric.startswith("test_")
        default = dict(spec.default_config or {})
        if not ex.human.differs:  # "the task file's default_config", as the report says
            assert config == default, ex.name
        else:
            assert config != default, ex.name


def test_parallel_workers_run_in_rounds_and_are_rows_of_their_own() -> None:
    from benchmarks.report import label
    from benchmarks.runner import RunSpec, run_one, stored_key

    one = run_one(RunSpec("hpobench-kc1", "tpe", 0, 12))
    four = run_one(RunSpec("hpobench-kc1", "tpe", 0, 12, workers=4))
    again = run_one(RunSpec("hpobench-kc1", "tpe", 0, 12, workers=4))
    assert four["workers"] == 4
    assert one["workers"] == 1
    assert len(four["params"]) == 12
    assert four["failed_trials"] == 0
    assert four["params"] == again["params"]  # rounds, not threads: reproducible
    # each round's proposals are made while the round's others run: no two are the same
    for r in range(3):
        rnd = [tuple(sorted(p.items())) for p in four["params"][4 * r : 4 * r + 4]]
        assert len(set(rnd)) == 4
    assert four["params"] != one["params"]  # the pending trials changed what TPE proposed
    assert stored_key(four) == RunSpec("hpobench-kc1", "tpe", 0, 12, workers=4).key()
    assert stored_key(four) != stored_key(one)
    old = {k: v for k, v in one.items() if k != "workers"}  # stored before workers existed
    assert stored_key(old) == RunSpec("hpobench-kc1", "tpe", 0, 12).key()
    assert label(four) == "tpe [4 workers]"
    assert label(one) == "tpe"
    assert label({**four, "strategy": "hybrid", "llm": "local"}) == "hybrid [local, 4 workers]"
    with pytest.raises(ValueError, match="one worker"):
        RunSpec("hpobench-kc1", "smac", 0, 12, workers=4)


def test_report_compares_the_parallel_backbone_and_never_calls_it_the_best_classical(
    tmp_path: Path,
) -> None:
    from benchmarks.reference import load_reference
    from benchmarks.report import write_report

    refs = load_reference()
    runs = []
    for t in ("skl-dt-iris", "skl-knn-wine"):
        good, bad = refs[t].opt, refs[t].median_random
        mid = (good + bad) / 2
        for seed in range(3):
            runs += [
                {**_fake_run(t, "backbone", [bad, mid]), "seed": seed},
                {**_fake_run(t, "tpe", [bad, bad]), "seed": seed},
                {**_fake_run(t, "backbone", [bad, mid]), "seed": seed, "workers": 4},
                {**_fake_run(t, "tpe", [bad, good]), "seed": seed, "workers": 4},
            ]
    _write_results(tmp_path / "sklearn-a.json", "sklearn", runs)
    text = write_report(results_dir=tmp_path, out=tmp_path / "B.md").read_text()
    start = text.index("## The backbone against")
    section = text[start : text.index("\n## ", start + 1)]
    # the 4-worker TPE row scores 100 but is not the suite's best (one-worker) classical
    assert "`tpe [4 workers]`:" not in section
    assert "| full / sklearn | 2 | 3 | 50.0 | +50.0 (p " in section
    # the parallel table: against itself with one worker (level) and TPE with 4 (behind)
    assert "| full / sklearn | `backbone [4 workers]` | 2 | 3 | 50.0 | +0.0 (p 1) | **-50.0" in (
        section
    )


def test_report_puts_a_model_worth_having_beside_its_controls(tmp_path: Path) -> None:
    from benchmarks.reference import load_reference
    from benchmarks.report import label, write_report

    refs = load_reference()
    model = "llamacpp:/cache/qwen-1.5b.gguf"
    runs = []
    for t in ("skl-dt-iris", "skl-knn-wine"):
        good, bad = refs[t].opt, refs[t].median_random
        mid = (good + bad) / 2
        for seed in range(3):
            runs += [
                {**_fake_run(t, "backbone", [bad, mid]), "seed": seed},
                {**_fake_run(t, "tpe", [bad, bad]), "seed": seed},
                {**_fake_run(t, "hybrid", [mid, good], llm=model), "seed": seed},
                {**_fake_run(t, "hybrid-margin", [bad, bad], llm=model), "seed": seed},
                {**_fake_run(t, "hybrid", [bad, mid], llm="random"), "seed": seed},
                {**_fake_run(t, "hybrid-margin", [mid, good], llm="corners"), "seed": seed},
                {**_fake_run(t, "hybrid", [bad, bad], llm="local"), "seed": seed},
                {**_fake_run(t, "backbone", [mid, mid]), "seed": seed, "from_default": True},
            ]
    assert label(runs[2]) == "hybrid [llamacpp:qwen-1.5b]"  # named by its file, not its path
    _write_results(tmp_path / "sklearn-a.json", "sklearn", runs)
    text = write_report(results_dir=tmp_path, out=tmp_path / "B.md").read_text()
    start = text.index("## What a model worth having adds")
    section = text[start : text.index("\n## ", start + 1)]
    lines = [line for line in section.splitlines() if line.startswith("| full / sklearn")]
    # the model, then its RandomLLM control, then the backbone from the default; never the
    # embedded model's row (not a model worth having) and no corners row (none ran); the
    # control two strategies share comes once
    assert [line.split(" | ")[1] for line in lines] == [
        "`hybrid [llamacpp:qwen-1.5b]`",
        "`hybrid [random]`",
        "`backbone [from default]`",
        "`hybrid-margin [llamacpp:qwen-1.5b]`",
        "`hybrid-margin [corners]`",
    ]
    assert "@2: 100.0 (+50.0 (p 0.031))" in lines[0]
    assert "@2: 50.0 (+0.0 (p 1))" in lines[1]
    assert "@2: 50.0 (+0.0 (p 1))" in lines[2]
    assert "**-50.0 (p 0.031)**" in lines[3]
    # the verdict names each model row that is significantly ahead or behind, and where
    assert (
        "Significantly ahead of the backbone alone (p < 0.05): `hybrid [llamacpp:qwen-1.5b]`"
        " (full / sklearn @2). Significantly behind: `hybrid-margin [llamacpp:qwen-1.5b]`"
        " (full / sklearn @2)."
    ) in section
    # a control's significant cell is named apart, beside how many tests chance would pass
    assert (
        "Controls significantly ahead: `hybrid-margin [corners]` (full / sklearn @2)."
        " Significantly behind: none. This section makes 5 tests at p < 0.05, model rows and"
        " controls together; chance alone passes about 0.2 of them"
    ) in section


def test_a_model_row_shows_only_the_budgets_its_runs_reached(tmp_path: Path) -> None:
    from benchmarks.reference import load_reference
    from benchmarks.report import write_report

    refs = load_reference()
    model = "llamacpp:/cache/qwen-1.5b.gguf"
    runs = []
    for t in ("skl-dt-iris", "skl-knn-wine"):
        bad, mid = refs[t].median_random, (refs[t].opt + refs[t].median_random) / 2
        for seed in range(3):
            # the backbone ran 12 trials, the model's strategy 10: @10 compares, @12 cannot
            runs += [
                {**_fake_run(t, "backbone", [bad] * 11 + [mid]), "seed": seed},
                {**_fake_run(t, "hybrid", [bad] * 10, llm=model), "seed": seed},
            ]
    _write_results(tmp_path / "sklearn-a.json", "sklearn", runs)
    text = write_report(results_dir=tmp_path, out=tmp_path / "B.md").read_text()
    start = text.index("## What a model worth having adds")
    section = text[start : text.index("\n## ", start + 1)]
    (line,) = [x for x in section.splitlines() if x.startswith("| full / sklearn")]
    assert "@10: 0.0 (+0.0 (p 1))" in line
    assert "@12" not in line
    # The summary lists scores at the suite's top budget (12): the model's 10-trial row has
    # none there, and is counted rather than listed as "n/a".
    summary = text[text.index("## Summary") :]
    (entry,) = [x for x in summary.splitlines() if x.startswith("- **full / sklearn**")]
    assert "`backbone` " in entry
    assert "n/a" not in entry
    assert "1 more strategy has no score at 12 trials (shorter runs)" in entry


def _machine_file(path: Path, runs: list[dict], machine: str, started: str, **meta: Any) -> None:
    host = {"arithmetic_fingerprint": machine}
    head = {"kind": "suite", "suite": "sklearn", "started": started, "host": host, **meta}
    path.write_text(json.dumps({"version": 1, "meta": head, "runs": runs}))


def _backbone_on_iris(results_dir: Path, trials: int) -> list[str]:
    """``python -m benchmarks run`` arguments: the backbone alone on skl-knn-iris, one seed,
    skipping the runs stored under ``results_dir``."""
    return [
        "run",
        "--suite",
        "sklearn",
        "--tasks",
        "skl-knn-iris",
        "--strategies",
        "backbone",
        "--seeds",
        "1",
        "--trials",
        str(trials),
        "--skip-done",
        "--results-dir",
        str(results_dir),
    ]


def test_model_rows_pair_with_the_backbone_run_on_their_own_machine(tmp_path: Path) -> None:
    from benchmarks.reference import load_reference
    from benchmarks.report import collect, write_report

    refs = load_reference()
    model = "llamacpp:/cache/qwen-1.5b.gguf"
    tasks = ("skl-dt-iris", "skl-knn-wine")
    stored, here, rerun = [], [], []
    for t in tasks:
        good, bad = refs[t].opt, refs[t].median_random
        mid = (good + bad) / 2
        for seed in range(3):
            # the backbone as stored from machine A was lucky; on machine B it is not
            stored.append({**_fake_run(t, "backbone", [bad, good]), "seed": seed})
            rerun.append({**_fake_run(t, "backbone", [bad, bad]), "seed": seed, "rerun": True})
            here.append({**_fake_run(t, "hybrid", [bad, mid], llm=model), "seed": seed})
            if seed == 0:  # a row whose other seeds ran where no backbone rerun is stored
                here.append({**_fake_run(t, "agent", [bad, mid], llm=model), "seed": seed})
    _machine_file(tmp_path / "a.json", stored, "aaaa0000", "2026-01-01T00:00:00+00:00")
    _machine_file(tmp_path / "b.json", here, "bbbb1111", "2026-01-02T00:00:00+00:00")
    meta = {"rerun": True, "strategies": ["backbone"]}
    _machine_file(tmp_path / "c.json", rerun, "bbbb1111", "2026-01-03T00:00:00+00:00", **meta)
    others = [
        {**_fake_run(t, "agent", [bad, mid], llm=model), "seed": seed}
        for t in tasks
        for bad, mid in [(refs[t].median_random, (refs[t].opt + refs[t].median_random) / 2)]
        for seed in (1, 2)
    ]
    _machine_file(tmp_path / "d.json", others, "cccc2222", "2026-01-04T00:00:00+00:00")
    # seed 1 of the agent repeated where the backbone reran: that rerun pairs in its place
    again = [
        {**_fake_run(t, "agent", [refs[t].median_random, refs[t].opt], llm=model), "seed": 1}
        for t in tasks
    ]
    again = [{**r, "rerun": True} for r in again]
    _machine_file(tmp_path / "e.json", again, "bbbb1111", "2026-01-05T00:00:00+00:00", **meta)
    (group,) = [g for g in collect(tmp_path).groups if g.family == "sklearn"]
    # the rerun does not replace the stored run in the tables
    assert group.table["backbone"]["skl-dt-iris"][0][-1] == 0.0
    text = write_report(results_dir=tmp_path, out=tmp_path / "B.md").read_text()
    start = text.index("## What a model worth having adds")
    section = text[start : text.index("\n## ", start + 1)]
    lines = {
        line.split(" | ")[1]: line
        for line in section.splitlines()
        if line.startswith("| full / sklearn")
    }
    hybrid = lines["`hybrid [llamacpp:qwen-1.5b]`"]
    # seed for seed against the lucky stored run: behind; on its own machine: ahead
    assert "@2: 50.0 (**-50.0 (p 0.031)**; same machine, 6 of 6 runs: +50.0 (p 0.031))" in (hybrid)
    agent = lines["`agent [llamacpp:qwen-1.5b]`"]
    assert "same machine, 4 of 6 runs: +75.0 (p 0.125)" in agent
    assert "@2: 50.0 (**-50.0" in agent  # the table keeps the agent's stored runs
    # the verdict pairs on the same machine only for a row whose every run is paired there
    assert (
        "Significantly ahead of the backbone alone (p < 0.05): `hybrid [llamacpp:qwen-1.5b]`"
        in (section)
    )
    assert "Significantly behind: `agent [llamacpp:qwen-1.5b]` (full / sklearn @2)" in section
    # the files table says which file is a rerun
    assert "| backbone (rerun) |" in text


def test_a_rerun_skips_only_the_runs_stored_from_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks import __main__ as cli
    from benchmarks.__main__ import arithmetic_fingerprint, main
    from benchmarks.runner import RunSpec, run_one, save_results

    ran = run_one(RunSpec("skl-knn-iris", "backbone", 0, 6))
    save_results(tmp_path / "other.json", {"suite": "sklearn", "host": {}}, [ran])
    argv = [*_backbone_on_iris(tmp_path, 6), "--rerun"]
    # stored from a machine of unknown arithmetic: the rerun repeats it here
    assert main([*argv, "--out", str(tmp_path / "here.json")]) == 0
    here = json.loads((tmp_path / "here.json").read_text())
    assert here["meta"]["rerun"] is True
    assert here["meta"]["host"]["arithmetic_fingerprint"] == arithmetic_fingerprint()
    assert [r["rerun"] for r in here["runs"]] == [True]
    # now stored from this machine: a second rerun has nothing to do
    assert main([*argv, "--out", str(tmp_path / "again.json")]) == 0
    again = tmp_path / "again.json"
    assert not again.exists() or json.loads(again.read_text())["runs"] == []
    # a machine without a fingerprint cannot tell whose runs are its own: it repeats them,
    # never taking the fingerprint-less file for one of its own
    monkeypatch.setattr(cli, "arithmetic_fingerprint", lambda: None)
    assert main([*argv, "--out", str(tmp_path / "blind.json")]) == 0
    assert len(json.loads((tmp_path / "blind.json").read_text())["runs"]) == 1


# ------------------------------------------- task versions and held-out selection (issue 18)


def test_held_out_selection_keeps_the_default_unless_the_best_beats_it() -> None:
    from benchmarks.runner import held_out_selection
    from benchmarks.tasks import HeldOut

    # The loss on held-out fold k: x's distance to 0.5, plus a small fold effect.
    def evaluate(config: Any, fold: int) -> float:
        return abs(float(config["x"]) - 0.5) + 0.01 * fold

    held_out = HeldOut(folds=4, band=2.0, default={"x": 0.5}, evaluate=evaluate)
    kept = held_out_selection(held_out, {"x": 0.9}, "minimize")
    assert kept["config"] == {"x": 0.5}
    assert kept["improvement"] is False
    assert kept["evals"] == 8
    worse_default = HeldOut(folds=4, band=2.0, default={"x": 0.0}, evaluate=evaluate)
    better = held_out_selection(worse_default, {"x": 0.45}, "minimize")
    assert better["config"] == {"x": 0.45}
    assert better["improvement"] is True
    assert better["gain"] == pytest.approx(0.45)
    same = held_out_selection(held_out, {"x": 0.5}, "minimize")
    assert same["improvement"] is False
    assert same["evals"] == 4


def test_runs_of_an_older_task_version_are_left_out(tmp_path: Path) -> None:
    from benchmarks.fresh import selections
    from benchmarks.report import _stale_versions, collect
    from benchmarks.runner import save_results

    task = "real-ts-sunspots"
    assert get_task(task).version == 2
    run = {
        "task": task,
        "suite": "real",
        "strategy": "tpe",
        "seed": 0,
        "n_trials": 2,
        "llm": None,
        "values": [20.0, 19.0],
        "true_values": [20.0, 19.0],
        "best": [20.0, 19.0],
        "params": [{"x": 1}, {"x": 2}],
        "best_trial": 1,
        "best_params": {"x": 2},
    }
    new = {**run, "strategy": "cmaes", "task_version": 2, "selection": None}
    meta = {"kind": "suite", "suite": "real", "started": "2026-01-01"}
    save_results(tmp_path / "real.json", meta, [run, new])
    sections = collect(tmp_path)
    assert sections.stale == {task: {"tpe": 1}}
    kept = [r for g in sections.groups for r in g.runs]
    assert {r["strategy"] for r in kept} == {"cmaes"}
    (line,) = _stale_versions(sections)
    assert "`real-ts-sunspots` is at version 2" in line
    assert "Re-run on version 2: `cmaes`" in line
    assert "Not re-run" in line
    assert "`tpe` (1)" in line
    files = [json.loads((tmp_path / "real.json").read_text())]
    chosen = selections(files, versions={task: 2})
    assert [s.method for s in chosen] == ["cmaes"]
    assert chosen[0].task_version == 2
    # A run with a held-out selection contributes the configuration it recommends.
    files[0]["runs"][1]["selection"] = {"config": {"x": 0}, "improvement": False}
    assert selections(files, versions={task: 2})[0].config == {"x": 0}


def test_the_fragile_section_counts_failures_by_cause_and_answers_sent_back() -> None:
    from benchmarks.reference import Reference
    from benchmarks.report import fragile_md

    def run(strategy: str, llm: str | None, causes: list[str | None], sent: int) -> dict:
        return {
            "task": "fragile-mlp-digits",
            "suite": "fragile",
            "strategy": strategy,
            "llm": llm,
            "llm_sampling": "space" if llm else None,
            "seed": 0,
            "rng_seed": 0,
            "n_trials": 10,
            "direction": "maximize",
            "best": [0.9] * 5 + [0.98] * 5,
            "failed_trials": sum(c is not None for c in causes),
            "failure_causes": causes,
            "failure_region_answers": sent,
        }

    tpe = run("tpe", None, ["timed out", "timed out", "diverged", None, None], 0)
    hybrid = run("hybrid", "random", ["crashed", None, None, None, None], 3)
    backbone = {**run("backbone", None, [None] * 5, 0), "best": [0.9] * 9 + [0.94]}
    other_seed = {**backbone, "seed": 1, "rng_seed": 1, "best": [0.9] * 10}
    ref = {"fragile-mlp-digits": Reference(opt=0.98, median_random=0.9, source="x", n_random=30)}
    runs = [tpe, hybrid, backbone, other_seed]
    text = "\n".join(fragile_md([{"path": "a.json", "runs": runs}], ref))
    assert "| `backbone` | 2 | 25.0 |  | 0.0 | 0.0 | 0.0 | 0.0 |  |" in text
    # compared with the backbone's run of the same seed (50.0), not with its mean
    assert "| `tpe` | 1 | 100.0 (+50.0) |  | 3.0 | 1.0 | 2.0 | 0.0 |  |" in text
    assert "| `hybrid [random]` | 1 | 100.0 (+50.0) |  | 1.0 | 0.0 | 0.0 | 1.0 | 3.0 |" in text
    assert fragile_md([{"path": "a.json", "runs": []}], ref) == []


def test_from_default_runs_the_tasks_default_first_and_are_rows_of_their_own() -> None:
    from benchmarks.bayesmark import default_config
    from benchmarks.report import label
    from benchmarks.runner import RunSpec, run_one, stored_key
    from benchmarks.tasks import all_tasks

    plain = run_one(RunSpec("skl-knn-iris", "tpe", 0, 4))
    first = run_one(RunSpec("skl-knn-iris", "tpe", 0, 4, from_default=True))
    assert first["params"][0] == {"n_neighbors": 5, "p": 2}  # scikit-learn's own defaults
    assert plain["params"][0] != first["params"][0]
    assert first["from_default"] is True
    assert label(first) == "tpe [from default]"
    hybrid = {**first, "strategy": "hybrid", "llm": "random", "llm_sampling": "space"}
    assert label(hybrid) == "hybrid [random, from default]"
    assert stored_key(first) == RunSpec("skl-knn-iris", "tpe", 0, 4, from_default=True).key()
    old = {k: v for k, v in plain.items() if k != "from_default"}  # stored before the flag
    assert stored_key(old) == RunSpec("skl-knn-iris", "tpe", 0, 4).key()
    # every scikit-learn and real task's default lies inside its space; tabular has none
    for task in all_tasks().values():
        if task.suite in ("sklearn", "real"):
            assert task.default is not None, task.name
            assert not task.space.validate(task.default), task.name
        elif task.suite == "tabular":
            assert task.default is None
    assert default_config("dt", "wine")["max_depth"] == 15  # "unlimited": the deepest allowed
    with pytest.raises(ValueError, match="default"):
        run_one(RunSpec("hpobench-kc1", "tpe", 0, 3, from_default=True))
    with pytest.raises(ValueError, match="default"):
        RunSpec("skl-knn-iris", "smac", 0, 3, from_default=True)


def test_runs_on_an_older_default_backbone_are_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import __main__ as cli
    from benchmarks import report
    from benchmarks.optimizers import BACKBONE_VERSION, OPTION_ROWS, on_default_backbone
    from benchmarks.runner import RunSpec, run_one

    run = run_one(RunSpec("skl-knn-iris", "backbone", 0, 3))
    assert run["backbone_version"] == BACKBONE_VERSION
    assert run_one(RunSpec("skl-knn-iris", "tpe", 0, 3))["backbone_version"] is None
    assert on_default_backbone("hybrid-screen")
    assert not on_default_backbone("hybrid-tpe")  # its rows run on plain TPE
    assert all(not on_default_backbone(row) for row in OPTION_ROWS)  # explicit options
    versions = {"skl-knn-iris": 1}
    assert report._current(run, versions)
    assert cli._current(run)
    monkeypatch.setattr(report, "BACKBONE_VERSION", BACKBONE_VERSION + 1)
    assert not report._current(run, versions)  # the default moved on: left out
    assert not cli._current(run)  # and --skip-done runs it again
    assert report._current({**run, "strategy": "backbone-v1"}, versions)


def test_the_row_a_version_made_default_stands_for_the_backbone(tmp_path: Path) -> None:
    from agenthpo.backbone import BackboneOptions
    from benchmarks import report
    from benchmarks.optimizers import BACKBONE_VERSION, OPTION_ROWS, VERSION_ROWS
    from benchmarks.runner import RunSpec, run_one, save_results

    row = VERSION_ROWS[BACKBONE_VERSION]
    # the row sets exactly what the default is now, so their runs are the same trials
    assert BackboneOptions(**OPTION_ROWS[row]) == BackboneOptions()
    ran = run_one(RunSpec("skl-knn-iris", row, 0, 7))
    default = run_one(RunSpec("skl-knn-iris", "backbone", 0, 7))
    assert ran["params"] == default["params"]
    # stored once under the row, it is counted as the backbone's too, in the report ...
    save_results(tmp_path / "row.json", {"suite": "sklearn"}, [ran])
    (group,) = [g for g in report.collect(tmp_path).groups if g.family == "sklearn"]
    assert group.table["backbone"]["skl-knn-iris"] == group.table[row]["skl-knn-iris"]
    # ... and by --skip-done, which does not run it again
    from benchmarks.__main__ import main

    assert main([*_backbone_on_iris(tmp_path, 7), "--out", str(tmp_path / "new.json")]) == 0
    new = tmp_path / "new.json"
    assert not new.exists() or json.loads(new.read_text())["runs"] == []


def test_gp_threads_measures_both_thread_counts_under_both_loads() -> None:
    from benchmarks import gp_threads

    data = gp_threads.run(trials=7, repeats=1)
    cases = data["cases"]
    assert {(c["load"], c["threads"]) for c in cases} == {
        (load, n) for load in ("quiet", "one busy core") for n in (1, data["cores"])
    }
    assert all(c["gp_proposals"] == 2 and c["median_s"] > 0 for c in cases)  # 7 - 5 start-up
    text = "\n".join(gp_threads.markdown(data))
    assert "| quiet | 1 (the default) |" in text
    assert "| one busy core | 1 (the default) |" in text
    assert "1.00x" in text
    assert gp_threads.markdown(None) == ["Not run yet: `python -m benchmarks.gp_threads`.\n"]


def test_the_arithmetic_fingerprint_is_the_machines_and_stable() -> None:
    from benchmarks.__main__ import arithmetic_fingerprint

    first = arithmetic_fingerprint()
    assert first is not None
    assert len(first) == 8
    int(first, 16)  # hex digits
    assert arithmetic_fingerprint() == first  # the same machine and code: the same values


def test_a_run_records_the_space_revisions_it_asked_for() -> None:
    from benchmarks.runner import RunSpec, run_one

    # hybrid-revise asks once 10 trials completed after the 5 of the warm-up
    revised = run_one(RunSpec("skl-svm-wine", "hybrid-revise", 0, 16, llm="corners"))
    assert revised["space_revisions"] == 1
    assert revised["ranges_revised"] >= 0
    plain = run_one(RunSpec("skl-svm-wine", "hybrid-margin-w5", 0, 16, llm="corners"))
    assert plain["space_revisions"] == 0
