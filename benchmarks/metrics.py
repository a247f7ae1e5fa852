"""Scores and statistics: Bayesmark's normalized score, ranks, the Wilcoxon test, intervals.

The normalized score of a run after ``k`` trials is Bayesmark's

    ``clip((best_so_far_k - opt) / (median_random - opt), -1, 1)``

0 is the optimum, 1 is the median of random-search evaluations (or worse), below 0 beats the
frozen optimum. It does not depend on the direction. Scores are averaged over seeds, then over
tasks; the headline is ``100 * (1 - score)`` (100 = the optimum every time, 0 = a typical
random configuration).

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
    "ScoreTable",
    "WilcoxonResult",
    "headline",
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


def task_means(
    table: ScoreTable, strategy: str, budget: int, tasks: Sequence[str]
) -> dict[str, float]:
    """Per task, the mean over seeds of the score after ``budget`` trials (tasks without a
    run of that length are left out)."""
    out: dict[str, float] = {}
    for task in tasks:
        seeds = table.get(strategy, {}).get(task, {})
        vals = [v for traj in seeds.values() if (v := score_at(traj, budget)) is not None]
        if vals:
            out[task] = float(np.mean(vals))
    return out


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
    seed-mean score. Tasks that some strategy did not run are skipped."""
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
    """

    n: int
    wins: int
    ties: int
    losses: int
    statistic: float
    pvalue: float
    mean_diff: float


def wilcoxon_vs(
    table: ScoreTable, strategy: str, baseline: str, budget: int, tasks: Sequence[str]
) -> WilcoxonResult | None:
    """Paired Wilcoxon signed-rank test of ``strategy`` against ``baseline`` over tasks (on
    the seed-mean scores); ``None`` when no task has both."""
    from scipy.stats import wilcoxon

    a = task_means(table, strategy, budget, tasks)
    b = task_means(table, baseline, budget, tasks)
    common = [t for t in tasks if t in a and t in b]
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
    return WilcoxonResult(len(common), wins, ties, losses, stat, p, float(diffs.mean()))
