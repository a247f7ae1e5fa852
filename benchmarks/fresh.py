"""Fresh seeds: each strategy's selected configuration against the human reference.

A search run trains every trial with seed 0 and keeps the best configuration by validation;
that value is optimistic (the search chose it among noisy values). This step re-trains each
stored run's selected configuration on seeds the search never used (:data:`FRESH_SEEDS`) and
records every metric the example returns (the held-out test metric among them), and does the
same, with the same seeds, for the task's human reference (:class:`benchmarks.real.HumanReference`).

**The comparison** (:func:`fresh_rows`). A method's value on a task is its selected
configurations' test metric: the table shows the mean ± sd over every (search run, fresh seed)
training. Against the human reference it is a Welch t-test (unequal variances) of the
per-run means (one value per search run: that selection's mean over the fresh seeds) against
the human reference's per-seed values: both estimate an expected test score, so the test asks
whether the method's selections score, on average, what a human's configuration scores.
When neither side varies (a task whose training ignores the seed, and selections that all
score the same), the difference is exact: ``p`` is 0 when the means differ, 1 when they agree.

Example:
    >>> rows = fresh_rows(
    ...     [
    ...         {"method": HUMAN, "seed": None, "fresh_seeds": [1, 2],
    ...          "metrics": [{"acc": 0.80}, {"acc": 0.82}]},
    ...         {"method": "tpe", "seed": 0, "fresh_seeds": [1, 2],
    ...          "metrics": [{"acc": 0.84}, {"acc": 0.86}]},
    ...     ],
    ...     metric="acc", direction="maximize",
    ... )
    >>> [(r.method, round(r.mean, 3)) for r in rows]
    [('human reference', 0.81), ('tpe', 0.85)]
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "ALPHA",
    "FRESH_SEEDS",
    "HUMAN",
    "FreshRow",
    "Selection",
    "evaluate",
    "fresh_record",
    "fresh_rows",
    "latest_fresh",
    "record_key",
    "selections",
]

FRESH_SEEDS: tuple[int, ...] = (101, 102, 103, 104, 105)
"""Training seeds no search run uses (searches train with seed 0)."""
HUMAN = "human reference"
"""The method name of the human reference's records."""
ALPHA = 0.05
"""The significance level of the comparison with the human reference."""

TrainFn = Callable[[Mapping[str, Any], int], Mapping[str, float]]


@dataclass(frozen=True)
class Selection:
    """A stored search run's selected configuration (the best by the value it optimized).

    Attributes:
        task: The task.
        method: The run's label in the report (``tpe``, ``hybrid-tpe-screen [local]``).
        strategy: The run's strategy.
        llm: The run's LLM spec (``None`` for classical samplers).
        seed: The search run's seed.
        rng_seed: The seed its draws came from (the report's key).
        n_trials: The search budget.
        config: The selected configuration.
        search_value: Its value during the search (validation, seed 0).
        source: The results file the run came from.
        task_version: The task's version the run searched (:attr:`Task.version`).
        improvement: On a task with held-out folds, whether the held-out selection kept
            the search's best (``True``) or recommended the default (``False``); ``None``
            on the others, where ``config`` is the search's best.
    """

    task: str
    method: str
    strategy: str
    llm: str | None
    seed: int
    rng_seed: int
    n_trials: int
    config: Mapping[str, Any]
    search_value: float | None
    source: str | None
    task_version: int = 1
    improvement: bool | None = None


def selections(
    files: Iterable[Mapping[str, Any]],
    *,
    suite: str = "real",
    n_trials: int | None = None,
    versions: Mapping[str, int] | None = None,
) -> list[Selection]:
    """The selected configurations of a suite's stored runs that kept their parameters.

    A later file's run replaces an earlier one with the same task, label, draws and budget
    (as in the report); runs stored before configurations were kept are skipped. A run
    with a held-out selection contributes the configuration it recommends.

    Args:
        files: Results files (:func:`benchmarks.runner.load_results`), oldest first.
        suite: The suite whose runs to take.
        n_trials: Only runs with this budget (``None``: any).
        versions: The tasks' current versions: runs of another version are skipped
            (``None``: every run; a task not named is at version 1).
    """
    from benchmarks.report import label  # the report imports this module

    merged: dict[tuple[Any, ...], Selection] = {}
    for data in files:
        if data.get("meta", {}).get("kind", "suite") != "suite":
            continue
        for run in data.get("runs", []):
            if run.get("error") or run.get("suite") != suite or not run.get("best_params"):
                continue
            if n_trials is not None and run.get("n_trials") != n_trials:
                continue
            version = int(run.get("task_version", 1))
            if versions is not None and version != versions.get(str(run["task"]), 1):
                continue
            best = run.get("best_trial")
            values = run.get("values") or []
            chosen = run.get("selection")
            sel = Selection(
                task=str(run["task"]),
                method=label(run),
                strategy=str(run["strategy"]),
                llm=run.get("llm"),
                seed=int(run["seed"]),
                rng_seed=int(run.get("rng_seed", run["seed"])),
                n_trials=int(run["n_trials"]),
                config=dict(chosen["config"] if chosen else run["best_params"]),
                search_value=values[best] if isinstance(best, int) and best < len(values) else None,
                source=data.get("path"),
                task_version=version,
                improvement=bool(chosen["improvement"]) if chosen else None,
            )
            merged[(sel.task, sel.method, sel.rng_seed, sel.n_trials)] = sel
    return sorted(merged.values(), key=lambda s: (s.task, s.method, s.rng_seed))


def evaluate(
    train: TrainFn, config: Mapping[str, Any], seeds: Sequence[int]
) -> list[dict[str, float]]:
    """Trains ``config`` once per seed; returns each run's final metrics, in seed order."""
    return [{str(k): float(v) for k, v in train(config, seed).items()} for seed in seeds]


def fresh_record(
    *,
    task: str,
    method: str,
    config: Mapping[str, Any],
    seeds: Sequence[int],
    metrics: Sequence[Mapping[str, float]],
    selection: Selection | None = None,
    source: str | None = None,
    task_version: int | None = None,
) -> dict[str, Any]:
    """A JSON-able record of one configuration's fresh-seed evaluation.

    Args:
        task: The task.
        method: The method's label (:data:`HUMAN` for the human reference).
        config: The configuration evaluated.
        seeds: The fresh seeds.
        metrics: The final metrics per seed.
        selection: The search run it came from (``None`` for the human reference).
        source: Where the configuration comes from (the human reference's source).
        task_version: The task's version (default: the selection's, else 1).
    """
    if task_version is None:
        task_version = selection.task_version if selection else 1
    return {
        "task": task,
        "method": method,
        "strategy": selection.strategy if selection else "human",
        "llm": selection.llm if selection else None,
        "seed": selection.seed if selection else None,
        "rng_seed": selection.rng_seed if selection else None,
        "n_trials": selection.n_trials if selection else None,
        "search_value": selection.search_value if selection else None,
        "source": selection.source if selection else source,
        "config": dict(config),
        "task_version": task_version,
        "improvement": selection.improvement if selection else None,
        "fresh_seeds": list(seeds),
        "metrics": [dict(m) for m in metrics],
    }


def record_key(record: Mapping[str, Any]) -> tuple[Any, ...]:
    """A record's identity: a later record with the same key replaces an earlier one."""
    return (
        record["task"],
        int(record.get("task_version", 1)),
        record["method"],
        record.get("rng_seed"),
        record.get("n_trials"),
        tuple(record["fresh_seeds"]),
        json.dumps(record["config"], sort_keys=True),
    )


def latest_fresh(files: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The fresh-seed records of the given files (oldest first), later ones replacing earlier
    ones with the same :func:`record_key`."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for data in files:
        if data.get("meta", {}).get("kind") != "fresh":
            continue
        for rec in data.get("runs", []):
            if not rec.get("error"):
                merged[record_key(rec)] = {**rec, "_file": data.get("path")}
    return list(merged.values())


@dataclass(frozen=True)
class FreshRow:
    """One method's fresh-seed result on one task.

    Attributes:
        method: The method (:data:`HUMAN` for the human reference).
        runs: Search runs whose selections were evaluated (1 for the human reference).
        n: Trainings averaged (runs x fresh seeds).
        mean: The mean test metric over those trainings.
        sd: Their sample standard deviation (0 for a single training).
        run_sd: The sample sd of the per-run means (the spread between search runs),
            ``None`` with fewer than two runs.
        diff: ``mean`` minus the human reference's mean (``None`` on its own row).
        p: Welch's two-sided p-value against the human reference (``None`` on its own row
            or with fewer than two values on either side).
        worse: Significantly worse than the human reference (``p < ALPHA`` in the wrong
            direction).
        better: Significantly better.
    """

    method: str
    runs: int
    n: int
    mean: float
    sd: float
    run_sd: float | None
    diff: float | None = None
    p: float | None = None
    worse: bool = False
    better: bool = False


def _sd(values: Sequence[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def welch_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Welch's two-sided p-value for equal means; exact (0 or 1) when neither side varies.

    Example:
        >>> welch_p([1.0, 1.0], [1.0, 1.0]), welch_p([1.0, 1.0], [2.0, 2.0])
        (1.0, 0.0)
    """
    if len(a) < 2 or len(b) < 2:
        return None
    if _sd(a) == 0.0 and _sd(b) == 0.0:
        return 1.0 if math.isclose(statistics.fmean(a), statistics.fmean(b)) else 0.0
    import warnings

    from scipy.stats import ttest_ind

    with warnings.catch_warnings():
        # scipy warns of precision loss when one side's values are nearly identical (a
        # seed-independent training); the test is still what is asked for.
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(ttest_ind(a, b, equal_var=False).pvalue)
    return p if math.isfinite(p) else None


def fresh_rows(
    records: Iterable[Mapping[str, Any]],
    *,
    metric: str,
    direction: str,
    alpha: float = ALPHA,
) -> list[FreshRow]:
    """One row per method on one task, the human reference first, then by method name.

    Only records evaluated on the human reference's seeds count (all records' seeds when
    there is no human record), so every row shares its seeds.

    Args:
        records: The task's fresh-seed records (:func:`fresh_record`).
        metric: The metric to compare (e.g. ``test_accuracy``).
        direction: ``"maximize"`` or ``"minimize"``: which way is better.
        alpha: The significance level.
    """
    records = [r for r in records if all(metric in m for m in r["metrics"])]
    human = [r for r in records if r["method"] == HUMAN]
    if human:
        seeds = human[-1]["fresh_seeds"]
        records = [r for r in records if r["fresh_seeds"] == seeds]
        human = [r for r in records if r["method"] == HUMAN][-1:]
    by_method: dict[str, list[list[float]]] = {}
    for r in records:
        if r["method"] == HUMAN and human and r is not human[0]:
            continue
        by_method.setdefault(r["method"], []).append([float(m[metric]) for m in r["metrics"]])
    human_values = by_method[HUMAN][0] if HUMAN in by_method else None
    rows: list[FreshRow] = []
    for method in sorted(by_method, key=lambda m: (m != HUMAN, m)):
        per_run = by_method[method]
        flat = [v for run in per_run for v in run]
        run_means = [statistics.fmean(run) for run in per_run]
        mean = statistics.fmean(flat)
        row = FreshRow(
            method=method,
            runs=len(per_run),
            n=len(flat),
            mean=mean,
            sd=_sd(flat),
            run_sd=_sd(run_means) if len(run_means) > 1 else None,
        )
        if human_values is not None and method != HUMAN:
            # The per-run means against the human's per-seed values (see the module doc).
            diff = mean - statistics.fmean(human_values)
            p = welch_p(run_means, human_values)
            gain = diff if direction == "maximize" else -diff
            sig = p is not None and p < alpha
            row = replace(row, diff=diff, p=p, worse=sig and gain < 0, better=sig and gain > 0)
        rows.append(row)
    return rows
