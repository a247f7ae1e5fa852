"""Scores and statistics: Bayesmark's normalized score, ranks, the Wilcoxon test, intervals.

The normalized score of a run after ``k`` trials is Bayesmark's

    ``clip((best_so_far_k - opt) / (median_random - opt), -1, 1)``

0 is the optimum, 1 is the median of random-search evaluations (or worse), below 0 beats the
frozen optimum. It does not depend on the direction. Scores are averaged over seeds, then over
tasks; the headline is ``100 * (1 - score)`` (100 = the optimum every time, 0 = a typical
random configuration). Comparisons of two strategies (differences, the Wilcoxon test)
average each task over the seeds both ran, since runs with one seed share their random draws
(:func:`matched_task_means`); mean ranks use each strategy's own seeds, like its headline.

Example:
    >>> normalized_score(0.5, opt=0.0, median_random=1.0)
    0.5
    >>> normalized_score(3.0, opt=0.0, median_random=1.0)
    1.0
    >>> headline([0.2, 0.4])
    70.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "HeadlineDifference",
    "MatchedMeans",
    "ScoreTable",
    "WilcoxonResult",
    "headline",
    "headline_difference",
    "matched_task_means",
    "mean_ranks",
    "normalized_score",
    "score_at",
    "score_trajectory",
    "seed_interval",
    "t_interval",
    "task_means",
    "wilcoxon_vs",
]

# strategy -> task -> seed -> normalized score after each trial
ScoreTable = Mapping[str, Mapping[str, Mapping[int, Sequence[float]]]]


def normalized_score(best: float | None, *, opt: float, median_random: float) -> float:
    """Bayesmark's normalized score of a best-so-far value (``None``: no result yet -> 1)."""
    if best is None or not math.isfinite(best):
        return 1.0
    span = median_random - opt
    if span == 0:
        return 0.0 if best == opt else 1.0
    return float(min(1.0, max(-1.0, (best - opt) / span)))


def score_trajectory(
    best: Sequence[float | None], *, opt: float, median_random: float
) -> list[float]:
    """The normalized score after each trial of a best-so-far trajectory."""
    return [normalized_score(b, opt=opt, median_random=median_random) for b in best]


def score_at(trajectory: Sequence[float], budget: int) -> float | None:
    """The score after ``budget`` trials, or ``None`` if the run was shorter."""
    if budget < 1 or len(trajectory) < budget:
        return None
    return float(trajectory[budget - 1])


def headline(scores: Sequence[float]) -> float:
    """``100 * (1 - mean score)``."""
    return 100.0 * (1.0 - float(np.mean(scores)))


def _by_seed(table: ScoreTable, strategy: str, task: str, budget: int) -> dict[int, float]:
    """Seed -> score after ``budget`` trials of one strategy's runs on one task (runs
    shorter than ``budget`` are left out)."""
    runs = table.get(strategy, {}).get(task, {})
    return {seed: v for seed, traj in runs.items() if (v := score_at(traj, budget)) is not None}


def task_means(
    table: ScoreTable, strategy: str, budget: int, tasks: Sequence[str]
) -> dict[str, float]:
    """Per task, the mean over seeds of the score after ``budget`` trials (tasks without a
    run of that length are left out)."""
    out: dict[str, float] = {}
    for task in tasks:
        scores = _by_seed(table, strategy, task, budget)
        if scores:
            out[task] = float(np.mean(list(scores.values())))
    return out


@dataclass(frozen=True)
class MatchedMeans:
    """Per-task mean scores of several strategies, each over the seeds they all ran.

    Attributes:
        means: Strategy -> task -> mean score after the budget. Only the tasks every strategy
            ran at that budget are present.
        unpaired: The tasks (of those present) on which the strategies share no seed: there
            each strategy's mean is over its own seeds.
    """

    means: dict[str, dict[str, float]]
    unpaired: list[str]

    @property
    def tasks(self) -> list[str]:
        """The tasks every strategy ran at the budget (in the order asked for)."""
        return list(next(iter(self.means.values()), {}))


def matched_task_means(
    table: ScoreTable, strategies: Sequence[str], budget: int, tasks: Sequence[str]
) -> MatchedMeans:
    """Per task, each strategy's mean score after ``budget`` trials over the seeds every one
    of ``strategies`` ran to that budget.

    Runs with the same seed share their random draws across strategies, so comparing them
    seed by seed removes the noise of the draws: a strategy that ran seed 0 only is compared
    with the others' seed-0 runs, not with their mean over more seeds. A task on which the
    strategies share no seed falls back to each one's mean over its own seeds and is listed
    in ``unpaired``; a task that some strategy did not run to ``budget`` is left out.

    Example:
        >>> table = {
        ...     "x": {"t1": {0: [0.4]}, "t2": {1: [0.2]}},
        ...     "tpe": {"t1": {0: [0.4], 1: [0.0]}, "t2": {0: [0.6]}},
        ... }
        >>> m = matched_task_means(table, ["x", "tpe"], 1, ["t1", "t2"])
        >>> m.means["x"], m.means["tpe"]  # t1 on seed 0 only; t2 shares no seed
        ({'t1': 0.4, 't2': 0.2}, {'t1': 0.4, 't2': 0.6})
        >>> m.unpaired
        ['t2']
    """
    means: dict[str, dict[str, float]] = {s: {} for s in strategies}
    unpaired: list[str] = []
    for task in tasks:
        scores = [_by_seed(table, s, task, budget) for s in strategies]
        if not scores or not all(scores):
            continue
        common = set.intersection(*(set(d) for d in scores))
        if not common:
            unpaired.append(task)
        for s, d in zip(strategies, scores, strict=True):
            means[s][task] = float(np.mean([d[seed] for seed in sorted(common or d)]))
    return MatchedMeans(means, unpaired)


@dataclass(frozen=True)
class HeadlineDifference:
    """A seed-matched difference of headlines (see :func:`headline_difference`).

    Attributes:
        points: ``headline(strategy) - headline(baseline)`` over the seeds both ran per task
            (positive: the strategy is better).
        unpaired: How many tasks share no seed, compared on each one's own seeds instead.
    """

    points: float
    unpaired: int


def headline_difference(
    table: ScoreTable, strategy: str, baseline: str, budget: int, tasks: Sequence[str]
) -> HeadlineDifference | None:
    """The headline of ``strategy`` minus that of ``baseline`` after ``budget`` trials, per
    task on the seeds both ran (:func:`matched_task_means`); ``None`` unless both ran every
    task to ``budget``.

    Example:
        >>> table = {"x": {"t": {0: [0.4]}}, "tpe": {"t": {0: [0.4], 1: [0.0]}}}
        >>> headline_difference(table, "x", "tpe", 1, ["t"])  # not -20: seed 0 against seed 0
        HeadlineDifference(points=0.0, unpaired=0)
    """
    m = matched_task_means(table, [strategy, baseline], budget, tasks)
    if not tasks or len(m.tasks) < len(tasks):
        return None
    mine, theirs = (headline(list(m.means[s].values())) for s in (strategy, baseline))
    return HeadlineDifference(mine - theirs, len(m.unpaired))


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval (``nan`` bounds with fewer than 2 values).

    Example:
        >>> m, lo, hi = t_interval([1.0, 2.0, 3.0])
        >>> m, round(lo, 3), round(hi, 3)
        (2.0, -0.484, 4.484)
    """
    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean()) if arr.size else math.nan
    if arr.size < 2:
        return mean, math.nan, math.nan
    from scipy import stats

    sem = float(arr.std(ddof=1)) / math.sqrt(arr.size)
    half = float(stats.t.ppf(0.5 + confidence / 2.0, arr.size - 1)) * sem
    return mean, mean - half, mean + half


def seed_interval(
    table: ScoreTable, strategy: str, budget: int, tasks: Sequence[str]
) -> tuple[float, float, int]:
    """The 95% interval over seeds of the headline: per seed the headline over ``tasks``,
    then a t-interval across the seeds that ran every task. Returns ``(low, high, seeds)``."""
    per_task = table.get(strategy, {})
    common: set[int] | None = None
    for task in tasks:
        seeds = {s for s, traj in per_task.get(task, {}).items() if len(traj) >= budget}
        common = seeds if common is None else common & seeds
    if not common:
        return math.nan, math.nan, 0
    per_seed = [
        headline([score_at(per_task[t][s], budget) or 0.0 for t in tasks]) for s in sorted(common)
    ]
    _, lo, hi = t_interval(per_seed)
    return lo, hi, len(common)


def mean_ranks(
    table: ScoreTable, strategies: Sequence[str], budget: int, tasks: Sequence[str]
) -> dict[str, float]:
    """Mean rank across tasks (1 = best; ties share the average rank) of each strategy's
    mean score on a task, over its own seeds: the rank summarizes the same numbers as the
    strategy's headline. (Ranking on the seeds every row ran would drop every second seed
    as soon as one row has a single seed; the differences to TPE are the seed-matched
    comparison, :func:`headline_difference`.) Tasks that some strategy did not run are
    skipped.
    """
    from scipy.stats import rankdata

    means = {s: task_means(table, s, budget, tasks) for s in strategies}
    ranks: dict[str, list[float]] = {s: [] for s in strategies}
    for task in tasks:
        if not all(task in means[s] for s in strategies):
            continue
        row = rankdata([means[s][task] for s in strategies], method="average")
        for s, r in zip(strategies, row, strict=True):
            ranks[s].append(float(r))
    return {s: float(np.mean(r)) if r else math.nan for s, r in ranks.items()}


@dataclass(frozen=True)
class WilcoxonResult:
    """A paired two-sided Wilcoxon signed-rank test over tasks.

    Attributes:
        n: Tasks compared.
        wins: Tasks where the strategy's mean score is lower (better) than the baseline's.
        ties: Tasks with equal scores (dropped by the test).
        losses: Tasks where it is higher (worse).
        statistic: The test statistic (``nan`` when every pair is tied).
        pvalue: Two-sided p-value (1.0 when every pair is tied).
        mean_diff: Mean over tasks of (strategy - baseline) scores; negative is better.
        unpaired: Tasks where the two share no seed, compared on each one's own seeds.
    """

    n: int
    wins: int
    ties: int
    losses: int
    statistic: float
    pvalue: float
    mean_diff: float
    unpaired: int = 0


def wilcoxon_vs(
    table: ScoreTable, strategy: str, baseline: str, budget: int, tasks: Sequence[str]
) -> WilcoxonResult | None:
    """Paired Wilcoxon signed-rank test of ``strategy`` against ``baseline`` over tasks, on
    each task's mean scores over the seeds both ran (:func:`matched_task_means`); ``None``
    when no task has both."""
    from scipy.stats import wilcoxon

    m = matched_task_means(table, [strategy, baseline], budget, tasks)
    a, b, common = m.means[strategy], m.means[baseline], m.tasks
    if not common:
        return None
    diffs = np.array([a[t] - b[t] for t in common])
    wins = int((diffs < -1e-12).sum())
    losses = int((diffs > 1e-12).sum())
    ties = len(common) - wins - losses
    if wins + losses == 0:
        stat, p = math.nan, 1.0
    else:
        res = wilcoxon(np.where(np.abs(diffs) <= 1e-12, 0.0, diffs), zero_method="wilcox")
        stat, p = float(res.statistic), float(res.pvalue)
    return WilcoxonResult(
        len(common), wins, ties, losses, stat, p, float(diffs.mean()), len(m.unpaired)
    )


def wilcoxon_runs(
    table: ScoreTable, strategy: str, baseline: str, budget: int, tasks: Sequence[str]
) -> WilcoxonResult | None:
    """Paired two-sided Wilcoxon signed-rank test over runs: each pair is one task and one
    seed that both strategies ran (a suite of 5 tasks and 5 seeds gives 25 pairs, where the
    test over task means has 5 and cannot reach p < 0.05). ``None`` without a pair.

    Example:
        >>> table = {"a": {"t": {0: [0.1], 1: [0.2]}}, "b": {"t": {0: [0.3], 1: [0.4]}}}
        >>> r = wilcoxon_runs(table, "a", "b", 1, ["t"])
        >>> r.n, r.wins, r.losses
        (2, 2, 0)
    """
    from scipy.stats import wilcoxon

    diffs: list[float] = []
    for task in tasks:
        mine, theirs = (_by_seed(table, s, task, budget) for s in (strategy, baseline))
        diffs += [mine[seed] - theirs[seed] for seed in sorted(set(mine) & set(theirs))]
    if not diffs:
        return None
    arr = np.asarray(diffs)
    wins = int((arr < -1e-12).sum())
    losses = int((arr > 1e-12).sum())
    if wins + losses == 0:
        stat, p = math.nan, 1.0
    else:
        res = wilcoxon(np.where(np.abs(arr) <= 1e-12, 0.0, arr), zero_method="wilcox")
        stat, p = float(res.statistic), float(res.pvalue)
    return WilcoxonResult(
        len(arr), wins, len(arr) - wins - losses, losses, stat, p, float(arr.mean())
    )
