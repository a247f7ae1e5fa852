"""Turns stored trials into the compact history the Creator reads.

The view is bounded: the best few trials, the most recent ones, one example of each kind of
failure, and a per-parameter summary of everything tried, so the prompt does not grow with
the number of trials. Nothing is left to inference: the direction of the metric, the best
trial so far (its number, value and configuration) and, for every trial shown, whether it
improved on the best trial before it are stated in words.

This module chooses what the history shows (:class:`HistoryDigest`); the words are written
by :func:`agenthpo.agent.prompts.history_text`, with the rest of the prompt text.

Example:
    >>> views = [TrialView(number=0, config={"lr": 0.1}, state="complete", value=0.9),
    ...          TrialView(number=1, config={"lr": 0.3}, state="complete", value=0.8)]
    >>> print(render_history(views, metric="acc", direction="maximize"))
    History, oldest first (higher acc is better):
    #0 acc=0.9 (first result) {"lr": 0.1}
    #1 acc=0.8 (worse than the best before it, #0 acc=0.9) {"lr": 0.3}
    Summary: 2 trials (2 complete). Best so far: trial #0 with acc=0.9 (higher is better), config {"lr": 0.1}.
"""  # noqa: E501

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys
from agenthpo.agent.failures import FAILURE_CAUSES, FailureRegion, causes_of, failure_regions
from agenthpo.agent.prompts import history_text, is_plain_name
from agenthpo.space import Space

__all__ = [
    "HistoryDigest",
    "ParameterSummary",
    "Standing",
    "TrialView",
    "best_view",
    "digest_history",
    "pareto_ranks",
    "render_history",
    "standings",
    "taken_configs",
    "trial_views",
]

State = Literal["complete", "failed", "pruned", "running"]

_STATE_NAMES: dict[TrialState, State] = {
    TrialState.COMPLETE: "complete",
    TrialState.FAIL: "failed",
    TrialState.PRUNED: "pruned",
    TrialState.RUNNING: "running",
    TrialState.WAITING: "running",
}


@dataclass(frozen=True)
class TrialView:
    """What the Creator may see of one trial (hidden metrics are already removed)."""

    number: int
    config: Mapping[str, Any]
    state: State
    value: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None
    analysis: str | None = None
    proposed_by: str | None = None
    values: tuple[float, ...] = ()
    """Every objective's value, for a multi-objective study (``value`` is the first)."""


def trial_views(
    trials: Iterable[FrozenTrial],
    *,
    hidden_metrics: Iterable[str] = (),
    metric: str | Sequence[str] = "value",
) -> list[TrialView]:
    """Views of the trials, in trial order, without hidden metrics, and without the failed
    trials that did not spend the budget (interrupted, surplus: not runs of their
    configuration).

    ``metric`` names the objective, or every objective of a multi-objective study (their
    values are the trial's ``values``, not repeated among its other metrics).
    """
    hidden = set(hidden_metrics)
    objectives = {metric} if isinstance(metric, str) else set(metric)
    views = []
    for t in trials:
        state = _STATE_NAMES.get(t.state)
        if state is None:
            continue
        config = dict(t.params) or _queued_config(t)
        if t.state == TrialState.FAIL and t.user_attrs.get(_keys.NOT_COUNTED):
            # Interrupted, cut by the time limit, surplus, or failed by AgentHPO itself: not a
            # run of its configuration (an interrupted one runs again), so no failure of it.
            continue
        stored = t.user_attrs.get(_keys.METRICS)
        metrics: dict[str, float] = {}
        if isinstance(stored, Mapping):
            for key, val in stored.items():
                if key in hidden or key in objectives or not isinstance(val, (int, float)):
                    continue
                metrics[str(key)] = float(val)
        value = t.values[0] if t.values else None
        values = tuple(float(v) for v in t.values) if t.values and len(t.values) > 1 else ()
        if value is None and state == "pruned" and t.intermediate_values:
            value = t.intermediate_values[max(t.intermediate_values)]
        error = t.user_attrs.get(_keys.ERROR)
        analysis = t.user_attrs.get(_keys.ANALYSIS)
        proposed = t.user_attrs.get(_keys.PROPOSED_BY)
        views.append(
            TrialView(
                number=t.number,
                config=config,
                state=state,
                value=value,
                metrics=metrics,
                error=error if isinstance(error, str) else None,
                analysis=analysis if isinstance(analysis, str) else None,
                proposed_by=proposed if isinstance(proposed, str) else None,
                values=values,
            )
        )
    return views


def _queued_config(trial: FrozenTrial) -> dict[str, Any]:
    """A queued trial's configuration (Optuna's fixed params) until it starts; else empty."""
    fixed = trial.system_attrs.get("fixed_params")
    if trial.state == TrialState.WAITING and isinstance(fixed, dict):
        return dict(fixed)
    return {}


def taken_configs(trials: Iterable[FrozenTrial]) -> list[tuple[int, Mapping[str, Any]]]:
    """Every trial's configuration, run, running, claimed or queued: what a new proposal
    must not repeat. A failed trial that did not run to its end is left out (its queued
    rerun stands for it, as it does in :func:`trial_views`).

    Example:
        >>> import optuna
        >>> study = optuna.create_study()
        >>> study.enqueue_trial({"x": 0.5})
        >>> taken_configs(study.trials)
        [(0, {'x': 0.5})]
    """
    others: list[tuple[int, Mapping[str, Any]]] = []
    for t in trials:
        if t.state == TrialState.FAIL and t.user_attrs.get(_keys.NOT_COUNTED):
            continue
        claimed = t.system_attrs.get(_keys.SYS_CLAIM) or t.params or _queued_config(t)
        if isinstance(claimed, dict) and claimed:
            others.append((t.number, claimed))
    return others


@dataclass(frozen=True)
class Standing:
    """How a completed trial compares with the completed trials numbered before it.

    ``kind`` is ``first`` (no earlier result), ``new_best`` (better than the best before it,
    ``reference``), ``tie`` (equal to it) or ``worse``; with several objectives,
    ``front`` (no earlier trial dominates it) or ``dominated`` (``reference`` does).
    """

    kind: Literal["first", "new_best", "tie", "worse", "front", "dominated"]
    reference: TrialView | None = None


@dataclass(frozen=True)
class ParameterSummary:
    """Every value one parameter took, and where the best quarter of trials lies.

    A categorical parameter has ``counts`` (each choice as JSON, with how often it was
    tried) and ``best_mode``; a numeric one has ``n``, ``low``, ``high`` and the best
    quarter's ``best_low`` and ``best_high``.
    """

    name: str
    categorical: bool
    counts: tuple[tuple[str, int], ...] = ()
    best_mode: str | None = None
    n: int = 0
    low: float = 0.0
    high: float = 0.0
    best_low: float | None = None
    best_high: float | None = None


@dataclass(frozen=True)
class HistoryDigest:
    """What the history shows, chosen from the trials (the words are
    :func:`~agenthpo.agent.prompts.history_text`'s).

    With few trials ``trials`` holds every finished one, oldest first; beyond that
    ``best``, ``recent``, ``failures`` and ``parameters`` bound the view (``trials`` is
    empty). ``top`` is the best trial (``None`` before any result) and ``front`` the Pareto
    front (several objectives only).
    """

    metrics: tuple[str, ...]
    directions: tuple[str, ...]
    counts: Mapping[str, int]
    n_finished: int
    top: TrialView | None
    front: tuple[TrialView, ...]
    trials: tuple[TrialView, ...]
    best: tuple[TrialView, ...]
    recent: tuple[TrialView, ...]
    failures: tuple[TrialView, ...]
    parameters: tuple[ParameterSummary, ...]
    running: tuple[TrialView, ...]
    standings: Mapping[int, Standing]
    hidden: frozenset[str]
    n_front_shown: int
    quotes_run_text: bool
    """Whether any trial carries text from its run (an error, an analysis, an odd metric
    name), which the history quotes and the LLM must read as data."""
    regions: tuple[FailureRegion, ...] = ()
    """Where the runs that diverged, timed out or crashed lie and no run that worked does
    (:func:`~agenthpo.agent.failures.failure_regions`; needs the space)."""
    readings: tuple[tuple[str, tuple[int, ...]], ...] = ()
    """The completed runs' other readings (overfitting, still improving, ...) with their
    trials, for a bounded history whose trial lines show only some of them."""

    @property
    def bounded(self) -> bool:
        """Whether only part of the trials is shown (the best, the recent, the failures)."""
        return not self.trials and self.n_finished > 0

    @property
    def multi_objective(self) -> bool:
        """Whether the study has several objectives."""
        return len(self.metrics) > 1


def _failure_kind(error: str | None) -> str:
    if not error:
        return "unknown"
    head = error.split(":", 1)[0].strip()
    return head if head.isidentifier() else " ".join(error.split()[:3])


def _parameter_summary(
    views: Sequence[TrialView], space: Space, ranked: Sequence[TrialView]
) -> list[ParameterSummary]:
    """Per parameter: the values tried and where the best quarter of ``ranked`` lies."""
    out = []
    for name in space.names:
        values = [v.config[name] for v in views if name in v.config]
        if not values:
            continue
        param = space[name]
        scored = [v.config[name] for v in ranked if name in v.config]
        top = scored[: max(1, len(scored) // 4)] if scored else []
        if param.type == "categorical":
            seen: dict[str, int] = {}
            for val in values:
                seen[json.dumps(val)] = seen.get(json.dumps(val), 0) + 1
            best: dict[str, int] = {}
            for val in top:
                best[json.dumps(val)] = best.get(json.dumps(val), 0) + 1
            out.append(
                ParameterSummary(
                    name=name,
                    categorical=True,
                    counts=tuple(seen.items()),
                    best_mode=max(best, key=lambda k: best[k]) if best else None,
                )
            )
        else:
            nums = [float(x) for x in values]
            best_nums = [float(x) for x in top]
            out.append(
                ParameterSummary(
                    name=name,
                    categorical=False,
                    n=len(nums),
                    low=min(nums),
                    high=max(nums),
                    best_low=min(best_nums) if best_nums else None,
                    best_high=max(best_nums) if best_nums else None,
                )
            )
    return out


def pareto_ranks(points: Sequence[Sequence[float]], directions: Sequence[str]) -> list[int]:
    """The non-dominated front of each point: 0 for the Pareto front, 1 for the next, ...

    Example:
        >>> pareto_ranks([[0.9, 10.0], [0.8, 5.0], [0.7, 20.0]], ["maximize", "minimize"])
        [0, 0, 1]
    """
    if not points:
        return []
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    loss = np.asarray(points, dtype=float) * signs  # every objective minimized
    # dominated_by[i, j]: j is no worse than i everywhere and better somewhere.
    no_worse = (loss[None, :, :] <= loss[:, None, :]).all(axis=2)
    better = (loss[None, :, :] < loss[:, None, :]).any(axis=2)
    dominated_by = no_worse & better
    ranks = np.full(len(loss), -1)
    left = np.ones(len(loss), dtype=bool)
    rank = 0
    while left.any():
        front = left & ~(dominated_by & left[None, :]).any(axis=1)
        ranks[front] = rank
        left &= ~front
        rank += 1
    return [int(r) for r in ranks]


def _usable(view: TrialView) -> bool:
    """A completed trial with a value (no NaN) to rank."""
    return (
        view.state == "complete"
        and view.value is not None
        and not math.isnan(view.value)
        and not any(math.isnan(x) for x in view.values)
    )


def _ranked(
    complete: Sequence[TrialView], metrics: Sequence[str], directions: Sequence[str]
) -> tuple[list[TrialView], list[int]]:
    """``complete`` best first: by value, or by Pareto front and then the first objective;
    with each one's front (all 0 for a single objective)."""
    sign = -1.0 if directions[0] == "maximize" else 1.0
    if len(metrics) == 1:
        ordered = sorted(complete, key=lambda v: (sign * float(v.value or 0.0), v.number))
        return ordered, [0] * len(ordered)
    usable = [v for v in complete if len(v.values) == len(metrics)]
    ranks = pareto_ranks([v.values for v in usable], directions)
    order = sorted(
        range(len(usable)),
        key=lambda i: (ranks[i], sign * float(usable[i].values[0]), usable[i].number),
    )
    return [usable[i] for i in order], [ranks[i] for i in order]


def best_view(views: Sequence[TrialView], direction: str) -> TrialView | None:
    """The best completed trial of a single objective (the earliest of equals), or ``None``.

    Example:
        >>> views = [TrialView(0, {}, "complete", value=0.5), TrialView(1, {}, "failed"),
        ...          TrialView(2, {}, "complete", value=0.7)]
        >>> best_view(views, "minimize").number
        0
    """
    ranked, _ = _ranked([v for v in views if _usable(v)], ["value"], [direction])
    return ranked[0] if ranked else None


def _dominates(a: Sequence[float], b: Sequence[float], signs: Sequence[float]) -> bool:
    """Whether ``a`` is no worse than ``b`` on every objective and better on one."""
    pairs = [(s * x, s * y) for s, x, y in zip(signs, a, b, strict=True)]
    return all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)


def standings(views: Sequence[TrialView], directions: Sequence[str]) -> dict[int, Standing]:
    """How each completed trial compares with those numbered before it (see
    :class:`Standing`), by trial number.

    Example:
        >>> views = [TrialView(0, {}, "complete", value=0.5),
        ...          TrialView(1, {}, "complete", value=0.4),
        ...          TrialView(2, {}, "complete", value=0.6)]
        >>> [(n, s.kind) for n, s in standings(views, ["maximize"]).items()]
        [(0, 'first'), (1, 'worse'), (2, 'new_best')]
    """
    signs = [-1.0 if d == "maximize" else 1.0 for d in directions]
    out: dict[int, Standing] = {}
    earlier: list[TrialView] = []
    best: TrialView | None = None
    for view in sorted((v for v in views if _usable(v)), key=lambda v: v.number):
        if len(directions) > 1:
            if len(view.values) != len(directions):
                continue
            rival = next((e for e in earlier if _dominates(e.values, view.values, signs)), None)
            kind: Any = "first" if not earlier else ("dominated" if rival else "front")
            out[view.number] = Standing(kind, rival)
            earlier.append(view)
            continue
        value = signs[0] * float(view.value or 0.0)
        if best is None:
            out[view.number] = Standing("first")
        else:
            before = signs[0] * float(best.value or 0.0)
            kind = "new_best" if value < before else "tie" if value == before else "worse"
            out[view.number] = Standing(kind, best)
        if best is None or value < signs[0] * float(best.value or 0.0):
            best = view
    return out


def digest_history(
    views: Sequence[TrialView],
    *,
    metric: str | Sequence[str],
    direction: Literal["maximize", "minimize"] | Sequence[str],
    space: Space | None = None,
    n_best: int = 5,
    n_recent: int = 5,
    n_failure_examples: int = 3,
    summary_after: int = 12,
    hidden_metrics: Iterable[str] = (),
) -> HistoryDigest:
    """What the history shows (see :func:`render_history` for the arguments).

    Example:
        >>> views = [TrialView(0, {"lr": 0.1}, "complete", value=0.3),
        ...          TrialView(1, {"lr": 0.2}, "complete", value=0.2),
        ...          TrialView(2, {"lr": 0.4}, "failed", error="ValueError: nan")]
        >>> digest = digest_history(views, metric="loss", direction="minimize")
        >>> digest.top.number, digest.standings[1].kind, digest.counts["failed"]
        (1, 'new_best', 1)
    """
    metrics = [metric] if isinstance(metric, str) else list(metric)
    directions = [direction] if isinstance(direction, str) else list(direction)
    if len(directions) != len(metrics):
        raise ValueError(f"{len(metrics)} metrics but {len(directions)} directions")
    finished = [v for v in views if v.state != "running"]
    complete = [v for v in finished if _usable(v)]
    ranked, fronts = _ranked(complete, metrics, directions)
    counts = {s: sum(1 for v in finished if v.state == s) for s in ("complete", "failed", "pruned")}
    front = tuple(v for v, r in zip(ranked, fronts, strict=True) if r == 0)
    top = ranked[0] if ranked else None
    everything: tuple[TrialView, ...] = ()
    best: tuple[TrialView, ...] = ()
    recent: tuple[TrialView, ...] = ()
    failures: tuple[TrialView, ...] = ()
    parameters: tuple[ParameterSummary, ...] = ()
    if len(finished) <= n_best + n_recent:
        everything = tuple(finished)
    else:
        best = tuple(ranked[:n_best])
        shown = {v.number for v in best}
        recent = tuple(v for v in finished[-n_recent:] if v.number not in shown)
        shown |= {v.number for v in recent}
        examples: dict[str, TrialView] = {}
        for v in finished:
            if v.state == "failed" and v.number not in shown:
                examples.setdefault(_failure_kind(v.error), v)
        failures = tuple(list(examples.values())[-n_failure_examples:])
        if space is not None and len(finished) >= summary_after:
            parameters = tuple(_parameter_summary(finished, space, ranked))
    running = tuple(v for v in views if v.state == "running")[-8:]
    regions = tuple(failure_regions(finished, space)) if space is not None else ()
    readings: dict[str, list[int]] = {}
    if not everything:
        for v in complete:
            for cause in causes_of(v):
                if cause not in FAILURE_CAUSES:
                    readings.setdefault(cause, []).append(v.number)
    quotes = any(
        v.error or v.analysis or any(not is_plain_name(k) for k in v.metrics) for v in views
    )
    return HistoryDigest(
        metrics=tuple(metrics),
        directions=tuple(directions),
        counts=counts,
        n_finished=len(finished),
        top=top,
        front=front,
        trials=everything,
        best=best,
        recent=recent,
        failures=failures,
        parameters=parameters,
        running=running,
        standings=standings(finished, directions),
        hidden=frozenset(hidden_metrics),
        n_front_shown=2 * n_best,
        quotes_run_text=quotes,
        regions=regions,
        readings=tuple((c, tuple(n)) for c, n in readings.items()),
    )


def render_history(
    views: Sequence[TrialView],
    *,
    metric: str | Sequence[str],
    direction: Literal["maximize", "minimize"] | Sequence[str],
    space: Space | None = None,
    n_best: int = 5,
    n_recent: int = 5,
    n_failure_examples: int = 3,
    summary_after: int = 12,
    hidden_metrics: Iterable[str] = (),
) -> str:
    """A bounded text view of the history (empty without trials).

    Shows every trial while there are few, oldest first; beyond that the ``n_best`` best,
    the ``n_recent`` most recent, one failure of each kind (at most ``n_failure_examples``),
    and, with ``space``, a per-parameter summary of all trials. It states the metric's
    direction, each completed trial's standing against the best trial before it, the best
    trial so far with its configuration, and the running trials (so parallel proposals
    differ). What stays the same from one trial to the next comes first.

    With several objectives (``metric`` and ``direction`` as lists), each trial shows every
    objective and whether an earlier trial dominates it, the summary names the Pareto front,
    and "best" means the front first.
    """
    if not views:
        return ""
    digest = digest_history(
        views,
        metric=metric,
        direction=direction,
        space=space,
        n_best=n_best,
        n_recent=n_recent,
        n_failure_examples=n_failure_examples,
        summary_after=summary_after,
        hidden_metrics=hidden_metrics,
    )
    return history_text(digest)
