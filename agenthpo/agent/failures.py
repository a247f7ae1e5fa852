"""Reading the runs: what the Executor found, and where runs failed.

The Executor's analysis of each trial (:func:`agenthpo.agent.analyst.analyze`) names a cause:
the run diverged, timed out or crashed, or its curve showed overfitting, a budget too short,
an undertrained model. This module turns those readings into what the next proposal must
react to:

- :func:`causes_of`: the causes in one trial's reading;
- :func:`failure_regions`: for each way runs failed (diverged, timed out, crashed), the
  parameter bounds that every failed run met and no run that worked did (``lr`` at least
  0.6, ``batch_size`` at most 32, ``norm`` equal to ``batch``): the region of the space those
  failures share, stated from the stored numbers, never guessed;
- :meth:`FailureRegion.contains`: whether a proposal lies in such a region, so the Creator
  can send it back with the evidence before a run is spent on it.

A region is the conjunction of every bound that separates the failures from the runs that
worked, so a proposal is held back only when it lies beyond the runs that worked on each of
those parameters at once: after one failure that is a narrow region around it, and it widens
only as failures that share it accumulate. Failures mixed among working runs on every
parameter give no region (their cause is elsewhere: the history still shows each one).

Example:
    >>> from agenthpo.agent.history import TrialView
    >>> from agenthpo.space import Space
    >>> space = Space.from_dict({"lr": {"type": "float", "low": 1e-4, "high": 10, "log": True},
    ...                          "width": {"type": "int", "low": 8, "high": 512}})
    >>> views = [TrialView(0, {"lr": 0.01, "width": 64}, "complete", value=0.9),
    ...          TrialView(1, {"lr": 0.3, "width": 256}, "complete", value=0.93),
    ...          TrialView(2, {"lr": 2.0, "width": 128}, "failed",
    ...                    analysis="diverged: loss became nan at step 3")]
    >>> region, = failure_regions(views, space)
    >>> region.cause, region.trials, [(b.name, b.side, b.value) for b in region.bounds]
    ('diverged', (2,), [('lr', 'at least', 2.0)])
    >>> region.contains({"lr": 5.0, "width": 32}), region.contains({"lr": 0.5, "width": 32})
    (True, False)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agenthpo.space import CategoricalParam, IntParam, Space

if TYPE_CHECKING:  # the history module builds its digest with this one
    from agenthpo.agent.history import TrialView

__all__ = [
    "CAUSES",
    "FAILURE_CAUSES",
    "STEP_TOWARD_FAILED",
    "Bound",
    "FailureRegion",
    "causes_of",
    "failure_regions",
    "region_of",
    "step_out",
]

FAILURE_CAUSES: tuple[str, ...] = ("diverged", "timed out", "crashed")
"""The causes of a run that ended without a usable result."""

CAUSES: tuple[str, ...] = (
    *FAILURE_CAUSES,
    "overfitting",
    "still improving",
    "undertrained",
    "noisy",
    "plateaued early",
)
"""Every cause the Executor's reading can name, in the words its notes begin with."""

# The Executor's notes begin with these words (agenthpo.agent.analyst.analyze); "failed:" is
# a run that raised after reporting a curve, read as a crash here.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("diverged", "diverged"),
    ("timed out", "timed out"),
    ("crashed", "crashed"),
    ("failed", "crashed"),
    ("overfitting", "overfitting"),
    ("still improving", "still improving"),
    ("undertrained", "undertrained"),
    ("noisy", "noisy"),
    ("plateaued early", "plateaued early"),
)


def causes_of(view: TrialView) -> tuple[str, ...]:
    """The causes the Executor's reading of a trial names, in its order (see :data:`CAUSES`).

    A failed trial without a reading that names a failure is a crash.

    Example:
        >>> from agenthpo.agent.history import TrialView
        >>> causes_of(TrialView(3, {}, "complete", value=0.8,
        ...           analysis="still improving at the last step (9): ...; overfitting: ..."))
        ('still improving', 'overfitting')
        >>> causes_of(TrialView(4, {}, "failed", error="RuntimeError: out of memory"))
        ('crashed',)
    """
    found: list[str] = []
    for note in (view.analysis or "").split("; "):
        text = note.strip().lower()
        for prefix, cause in _PREFIXES:
            if text.startswith(prefix) and cause not in found:
                found.append(cause)
    if view.state == "failed" and not any(c in FAILURE_CAUSES for c in found):
        found.insert(0, "crashed")
    return tuple(found)


def _failure(view: TrialView) -> str | None:
    """The failure cause of a finished trial, or ``None`` if it gave a usable result."""
    return next((c for c in causes_of(view) if c in FAILURE_CAUSES), None)


@dataclass(frozen=True)
class Bound:
    """One side of a failure region: every failed run had ``name`` ``side`` ``value``.

    Attributes:
        name: The parameter.
        side: ``"at least"`` or ``"at most"`` (numbers), ``"equal"`` (a categorical choice).
        value: The failed runs' value nearest the runs that worked (the choice, for
            ``"equal"``).
        worked: The nearest value among the runs that worked (for ``"equal"``: the choice
            the runs that worked took most often).
    """

    name: str
    side: Literal["at least", "at most", "equal"]
    value: Any
    worked: Any = None

    def holds(self, config: Mapping[str, Any]) -> bool:
        """Whether ``config`` meets this bound (a missing parameter does not).

        Example:
            >>> Bound("lr", "at least", 0.6, worked=0.3).holds({"lr": 0.7})
            True
        """
        if self.name not in config:
            return False
        value = config[self.name]
        if self.side == "equal":
            return bool(value == self.value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return bool(value >= self.value if self.side == "at least" else value <= self.value)


@dataclass(frozen=True)
class FailureRegion:
    """Where the runs that failed one way lie and no run that worked does.

    Attributes:
        cause: ``"diverged"``, ``"timed out"`` or ``"crashed"``.
        trials: The failed trials' numbers, oldest first.
        bounds: The bounds every one of them met and no run that worked did; the region
            is where all hold.
    """

    cause: str
    trials: tuple[int, ...]
    bounds: tuple[Bound, ...]

    def contains(self, config: Mapping[str, Any]) -> bool:
        """Whether ``config`` lies in the region (meets every bound)."""
        return bool(self.bounds) and all(b.holds(config) for b in self.bounds)


def _bounds(
    space: Space, failed: Sequence[Mapping[str, Any]], worked: Sequence[Mapping[str, Any]]
) -> list[Bound]:
    out: list[Bound] = []
    for name in space.names:
        bad = [c[name] for c in failed if name in c]
        good = [c[name] for c in worked if name in c]
        if len(bad) < len(failed) or not good:
            continue  # a parameter some failures lack (conditional) cannot bound them all
        if isinstance(space[name], CategoricalParam):
            first = bad[0]
            if all(v == first for v in bad) and all(v != first for v in good):
                counts = {json.dumps(v): v for v in good}
                common = max(counts, key=lambda k: sum(json.dumps(v) == k for v in good))
                out.append(Bound(name, "equal", first, counts[common]))
            continue
        try:
            bad_f, good_f = [float(v) for v in bad], [float(v) for v in good]
        except (TypeError, ValueError):
            continue
        if min(bad_f) > max(good_f):
            i = bad_f.index(min(bad_f))
            out.append(Bound(name, "at least", bad[i], good[good_f.index(max(good_f))]))
        elif max(bad_f) < min(good_f):
            i = bad_f.index(max(bad_f))
            out.append(Bound(name, "at most", bad[i], good[good_f.index(min(good_f))]))
    return out


def failure_regions(views: Sequence[TrialView], space: Space) -> list[FailureRegion]:
    """One region per failure cause whose runs share one, in :data:`FAILURE_CAUSES` order.

    The runs that worked are the finished trials with a result and no failure cause
    (complete, or pruned for being behind). A cause with no such run to compare with, or
    whose failures no parameter separates from them, gives no region.
    """
    finished = [v for v in views if v.state != "running"]
    worked = [v.config for v in finished if v.value is not None and _failure(v) is None]
    regions = []
    for cause in FAILURE_CAUSES:
        failed = [v for v in finished if _failure(v) == cause]
        if not failed or not worked:
            continue
        bounds = _bounds(space, [v.config for v in failed], worked)
        if bounds:
            regions.append(FailureRegion(cause, tuple(v.number for v in failed), tuple(bounds)))
    return regions


def region_of(config: Mapping[str, Any], regions: Sequence[FailureRegion]) -> FailureRegion | None:
    """The first region ``config`` lies in, or ``None``.

    Example:
        >>> region = FailureRegion("timed out", (5,), (Bound("width", "at least", 2048, 512),))
        >>> region_of({"width": 4096}, [region]).cause
        'timed out'
    """
    return next((r for r in regions if r.contains(config)), None)


STEP_TOWARD_FAILED = 0.25
"""How far a move out of a failure region goes from the nearest value that worked toward the
failed runs' edge, on the parameter's scale: mostly on the side that worked (a failed trial
costs a whole run), still into the stretch no run has tried, so that repeated failures there
narrow it."""


def _toward(param: Any, worked: float, failed: float) -> float:
    """:data:`STEP_TOWARD_FAILED` of the way from ``worked`` to ``failed`` (log or linear)."""
    if getattr(param, "log", False) and worked > 0 and failed > 0:
        return math.exp(math.log(worked) + STEP_TOWARD_FAILED * math.log(failed / worked))
    return worked + STEP_TOWARD_FAILED * (failed - worked)


def step_out(
    config: Mapping[str, Any], region: FailureRegion, space: Space
) -> tuple[dict[str, Any], Bound] | None:
    """``config`` moved out of ``region`` by the smallest change of one parameter.

    A numeric parameter moves :data:`STEP_TOWARD_FAILED` of the way, on its scale, from the
    nearest value that worked toward the failed runs' edge: out of the region, mostly on the
    side that worked, and into the stretch no run has tried, so that repeated failures there
    close in on the boundary (the largest learning rate that does not diverge). A
    categorical parameter changes to the
    choice the runs that worked took most often, and only when no number can move. Returns
    the new configuration and the bound it no longer meets; ``None`` if no move is valid.

    Example:
        >>> space = Space.from_dict({"lr": {"type": "float", "low": 1e-4, "high": 10,
        ...                                 "log": True}, "norm": ["none", "batch"]})
        >>> region = FailureRegion("diverged", (3,), (Bound("lr", "at least", 1.6, 0.1),
        ...                                            Bound("norm", "equal", "none", "batch")))
        >>> moved, bound = step_out({"lr": 2.0, "norm": "none"}, region, space)
        >>> round(moved["lr"], 3), moved["norm"], bound.name
        (0.2, 'none', 'lr')
    """
    options: list[tuple[float, dict[str, Any], Bound]] = []
    for bound in region.bounds:
        if bound.name not in config or bound.worked is None:
            continue
        param = space[bound.name]
        moved = dict(config)
        if bound.side == "equal":
            moved[bound.name] = bound.worked
            cost = 2.0  # after any numeric move
        else:
            middle = _toward(param, float(bound.worked), float(bound.value))
            if isinstance(param, IntParam):
                middle = math.floor(middle) if bound.side == "at least" else math.ceil(middle)
            moved[bound.name] = middle
            moved = space.repair(moved)[0]
            if bound.holds(moved):  # a coarse grid snapped it back: take the value that worked
                moved = {**config, bound.name: bound.worked}
            cost = abs(
                space.to_unit(moved)[space.names.index(bound.name)]
                - space.to_unit(config)[space.names.index(bound.name)]
            )
        if space.validate(moved) or bound.holds(moved):
            continue
        options.append((cost, moved, bound))
    if not options:
        return None
    _, moved, bound = min(options, key=lambda o: o[0])
    return moved, bound
