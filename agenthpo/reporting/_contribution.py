"""What the LLM added to a study: its proposals against the backbone's, from storage alone.

Every trial says who proposed it (``proposed_by``); :func:`contribution` groups the trials by
source (the LLM, the backbone, configurations given to the study, an MCP client) and
measures, in the same study:

- the mean rank percentile among the finished trials (100% is the best trial; complete
  trials rank by value, failed and pruned ones share the bottom rank; none without a
  completed trial); interrupted trials do not count anywhere (their rerun stands for their
  proposal);
- the share of trials that beat the running median, the median of the results of the
  trials numbered before them;
- who found the best trial, and who found the first trial within 1% of it;

and counts the LLM's near copies and the rationales that contradict the stored numbers.

Example:
    >>> import optuna
    >>> study = optuna.create_study(direction="maximize")
    >>> for value, by in [(0.90, "backbone"), (0.93, "llm"), (0.91, "backbone"), (0.95, "llm")]:
    ...     study.add_trial(optuna.trial.create_trial(value=value,
    ...                                               user_attrs={"proposed_by": by}))
    >>> from agenthpo.reporting import collect_data
    >>> c = collect_data(study).contribution
    >>> [(s.source, s.n, round(s.mean_rank), s.beat_median) for s in c.sources]
    [('LLM', 2, 83, 2), ('backbone', 2, 17, 0)]
    >>> c.best_source, c.first_near_best
    ('LLM', 3)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agenthpo.reporting._format import DASH, fmt_value

if TYPE_CHECKING:
    from agenthpo.reporting._data import TrialRow

__all__ = ["NEAR_BEST", "Contribution", "SourceStats", "contribution", "source_of"]

NEAR_BEST = 0.01
"""How close to the final best a trial must come to count as having found it (a share of
the best value)."""

LLM = "LLM"
DESIGN = "LLM design"  # the LLM's initial design (LLMPolicy.initial_design)
BACKBONE = "backbone"
GIVEN = "given"
OTHER = "other"


def source_of(proposed_by: str, *, given: bool = False, design: bool = False) -> str:
    """Which source a trial counts for: ``LLM``, ``LLM design`` (the LLM's initial design,
    ``design``), ``backbone``, ``given`` (the default configuration, warm starts, enqueued
    configurations), a ``client:NAME``, or ``other``.

    Example:
        >>> source_of("llm"), source_of("warm_start"), source_of("", given=True)
        ('LLM', 'given', 'given')
        >>> source_of("llm", design=True)
        'LLM design'
    """
    if proposed_by == "llm":
        return DESIGN if design else LLM
    if proposed_by == "backbone":
        return BACKBONE
    if proposed_by in ("default_config", "warm_start", "enqueued") or (given and not proposed_by):
        return GIVEN
    if proposed_by.startswith("client:"):
        return proposed_by
    return OTHER


@dataclass(frozen=True)
class SourceStats:
    """How one source's trials did in the study.

    Attributes:
        source: ``LLM``, ``backbone``, ``given``, a ``client:NAME`` or ``other``.
        n: Its trials, in any state but interrupted.
        n_finished: Those that finished (complete, pruned or failed).
        mean_rank: Their mean rank percentile among all finished trials (100 = the best);
            ``None`` without a finished trial, or when no trial of the study completed.
        beat_median: Trials that beat the running median at their time.
        judged: Finished trials that had a running median to beat (an earlier result).
        best_value: Its best result, ``None`` without one.
        best_trial: The trial of ``best_value``.
    """

    source: str
    n: int
    n_finished: int
    mean_rank: float | None
    beat_median: int
    judged: int
    best_value: float | None
    best_trial: int | None


@dataclass(frozen=True)
class Contribution:
    """What the LLM added to the study (:func:`contribution`).

    Attributes:
        sources: Per source, the LLM and the backbone first.
        note: Why nothing is measured (no LLM trial, several objectives), else empty.
        best_trial: The trial with the best result (by value, whatever was selected).
        best_source: Its source.
        first_near_best: The first trial within :data:`NEAR_BEST` of the best result.
        first_near_source: Its source.
        near_copies: Trials where an LLM answer repeated or nearly repeated a trial.
        flagged: ``(trial, what its rationale claims against the stored numbers)``.
    """

    sources: tuple[SourceStats, ...] = ()
    note: str = ""
    best_trial: int | None = None
    best_source: str | None = None
    first_near_best: int | None = None
    first_near_source: str | None = None
    near_copies: int = 0
    flagged: tuple[tuple[int, str], ...] = ()

    def header(self, metric: str) -> list[str]:
        """The table's column names (see :meth:`rows`)."""
        return [
            "proposed by",
            "trials",
            "finished",
            "mean rank",
            "beat running median",
            f"best {metric}",
            "best trial",
        ]

    def rows(self) -> list[list[str]]:
        """One row of text per source: its trials, finished trials, mean rank percentile
        (100% is the best trial), how many beat the running median of the results before
        them, its best result and trial."""
        return [
            [
                s.source,
                str(s.n),
                str(s.n_finished),
                DASH if s.mean_rank is None else f"{s.mean_rank:.0f}%",
                f"{s.beat_median} of {s.judged}" if s.judged else DASH,
                fmt_value(s.best_value),
                DASH if s.best_trial is None else str(s.best_trial),
            ]
            for s in self.sources
        ]

    def lines(self, metric: str, best_value: float | None = None) -> list[str]:
        """The findings below the table, in sentences (``best_value`` for the first)."""
        if self.note:
            return [self.note]
        out = []
        if self.best_trial is not None:
            value = f", {metric}={fmt_value(best_value)}" if best_value is not None else ""
            line = f"Best found by {_who(self.best_source)} (trial {self.best_trial}{value})"
            if self.first_near_best is not None and self.first_near_best != self.best_trial:
                line += (
                    f"; first within {NEAR_BEST:.0%} of it: trial {self.first_near_best}"
                    f" ({_who(self.first_near_source)})"
                )
            out.append(line + ".")
        checks = []
        if self.near_copies:
            checks.append(f"LLM answers that (nearly) repeated a trial: {self.near_copies}")
        if self.flagged:
            numbers = ", ".join(str(n) for n, _ in self.flagged[:8])
            more = " ..." if len(self.flagged) > 8 else ""
            checks.append(
                f"rationales that contradict the stored numbers: {len(self.flagged)}"
                f" (trial {numbers}{more})"
            )
        if checks:
            text = "; ".join(checks)
            out.append(text[0].upper() + text[1:] + ".")
        return out


def _who(source: str | None) -> str:
    if source == LLM:
        return "the LLM"
    if source == DESIGN:
        return "the LLM's initial design"
    if source == BACKBONE:
        return "the backbone"
    if source == GIVEN:
        return "a given configuration"
    return source or "unknown"


def _better(a: float, b: float, maximize: bool) -> bool:
    return a > b if maximize else a < b


def _percentiles(finished: Sequence[TrialRow], maximize: bool) -> dict[int, float]:
    """Each finished trial's rank percentile (100 = the best; ties share their mean rank;
    trials without a result share the bottom rank)."""
    sign = -1.0 if maximize else 1.0

    def key(t: TrialRow) -> float:
        return sign * t.value if t.value is not None else math.inf

    ordered = sorted(finished, key=key)
    n = len(ordered)
    out: dict[int, float] = {}
    i = 0
    while i < n:
        j = i
        while j + 1 < n and key(ordered[j + 1]) == key(ordered[i]):
            j += 1
        rank = (i + j) / 2  # 0 is the best
        for t in ordered[i : j + 1]:
            out[t.number] = 100.0 if n == 1 else 100.0 * (n - 1 - rank) / (n - 1)
        i = j + 1
    return out


def _no_llm_trial(rows: Sequence[TrialRow]) -> str:
    """Why no trial ran an LLM proposal: none asked, or every answer given to the backbone
    (screened out, a repeat, invalid), counted by reason.

    Example:
        >>> from agenthpo.reporting._data import TrialRow
        >>> _no_llm_trial([TrialRow(0, "complete", (1.0,), {}, fallback_reason="screened: x")])
        'No trial of this study ran an LLM proposal: the LLM was asked on 1 trial, and the backbone proposed instead (screened 1).'
    """  # noqa: E501
    reasons: dict[str, int] = {}
    for r in rows:
        if r.llm_calls or (r.fallback_reason and not r.fallback_reason.startswith("budget")):
            why = r.fallback_reason.split(":", 1)[0] or "unknown"
            reasons[why] = reasons.get(why, 0) + 1
    if not reasons:
        return "No trial of this study was proposed by an LLM."
    asked = sum(reasons.values())
    counts = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
    return (
        f"No trial of this study ran an LLM proposal: the LLM was asked on"
        f" {asked} trial{'s' if asked != 1 else ''}, and the backbone proposed instead"
        f" ({counts})."
    )


def contribution(
    trials: Sequence[TrialRow], *, maximize: bool, n_objectives: int = 1
) -> Contribution:
    """What the LLM added, from the trials of one study (see the module's description)."""
    rows = sorted(trials, key=lambda r: r.number)
    source = {
        r.number: source_of(r.proposed_by, given=r.given, design=r.initial_design) for r in rows
    }
    near = sum(r.near_copy is not None for r in rows)
    flagged = tuple((r.number, r.rationale_check) for r in rows if r.rationale_check)
    if LLM not in source.values() and DESIGN not in source.values():
        return Contribution(note=_no_llm_trial(rows))
    if n_objectives > 1:
        return Contribution(
            note="What the LLM added is measured on a single objective; this study has"
            f" {n_objectives}.",
            near_copies=near,
            flagged=flagged,
        )
    # A finished run counts, even one a recovery that lost the race to the runner's own
    # result marked "not counted"; an interrupted trial (a failed one outside the budget) did
    # not run to its end.
    finished = [
        r
        for r in rows
        if r.state in ("complete", "pruned", "fail")
        and (r.state != "complete" or (r.value is not None and math.isfinite(r.value)))
    ]
    done = [r for r in finished if r.state == "complete" and r.value is not None]
    ranks = _percentiles(finished, maximize)
    beat: dict[int, bool] = {}
    earlier: list[float] = []
    for r in finished:
        if earlier:
            median = statistics.median(earlier)
            beat[r.number] = r.value is not None and _better(r.value, median, maximize)
        if r.state == "complete" and r.value is not None:
            earlier.append(r.value)
    order = [LLM, DESIGN, BACKBONE, GIVEN]
    names = order + sorted(set(source.values()) - set(order))
    sources = []
    for name in names:
        own = [r for r in rows if source[r.number] == name and r.state != "interrupted"]
        if not own:
            continue
        own_finished = [r for r in own if r.number in ranks]
        own_done = [r for r in done if source[r.number] == name]
        best = None
        if own_done:
            best = min(own_done, key=lambda r: -(r.value or 0.0) if maximize else r.value or 0.0)
        judged = [r for r in own if r.number in beat]
        sources.append(
            SourceStats(
                source=name,
                n=len(own),
                n_finished=len(own_finished),
                mean_rank=statistics.fmean(ranks[r.number] for r in own_finished)
                if own_finished and done
                else None,
                beat_median=sum(beat[r.number] for r in judged),
                judged=len(judged),
                best_value=best.value if best else None,
                best_trial=best.number if best else None,
            )
        )
    top = None
    if done:
        top = min(done, key=lambda r: -(r.value or 0.0) if maximize else r.value or 0.0)
    first = None
    if top is not None and top.value is not None:
        slack = NEAR_BEST * abs(top.value)
        first = next(r for r in done if r.value is not None and abs(r.value - top.value) <= slack)
    return Contribution(
        sources=tuple(sources),
        best_trial=top.number if top else None,
        best_source=source[top.number] if top else None,
        first_near_best=first.number if first else None,
        first_near_source=source[first.number] if first else None,
        near_copies=near,
        flagged=flagged,
    )
