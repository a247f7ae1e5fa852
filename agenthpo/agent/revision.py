"""Revisions of the search space: what the LLM may change, how each change is checked, how
it is stored, and the space in force after them.

At a revision (``LLMPolicy.revise_space_every``) the LLM proposes new ``[low, high]`` ranges
for numeric parameters, each with a rationale and the trials that show why
(:mod:`agenthpo.agent.reviser` asks). Its answer is data: every change is checked here and
accepted or rejected with the reason, never executed.

A change is checked side by side: a bound moved inwards *narrows*, one moved outwards
*widens* (a change may do both, a *shift*).

* the parameter exists and is numeric (Optuna cannot change a categorical's choices within
  a study); the bounds are finite numbers, ``low < high``, whole numbers for an int, positive
  on a log scale (at least 1 for an int); bounds off a step grid are moved outwards onto it;
* a narrowed range keeps the values of the :data:`KEEP_TOP` best trials and at least
  :data:`MIN_KEPT` of the range's width (in the parameter's scale: log10 for a log scale);
* a bound is widened only when one of the :data:`KEEP_TOP` best trials lies within
  :data:`NEAR_BOUND` of the range's width of it, by at most one range width (at most one
  decade on a log scale), never beyond the parameter's hard ``limits`` and never across
  zero (a range at or above 0 stays there unless its limits say otherwise);
* the trials it cites have completed.

The space in force is the task's with every accepted change applied in order
(:func:`space_in_force`); it is read from the study, so a resumed study and every worker
continue on it.

Example:
    >>> from agenthpo.space import Space
    >>> space = Space.from_dict({"lr": {"type": "float", "low": 1e-5, "high": 0.1, "log": True}})
    >>> ranked = [(7, {"lr": 0.08}), (3, {"lr": 0.05}), (9, {"lr": 0.09}), (1, {"lr": 0.01})]
    >>> change = check_change(
    ...     {"param": "lr", "low": 1e-4, "high": 1.0, "evidence": [7, 9], "rationale": "edge"},
    ...     space, ranked, at_trial=12)
    >>> change.status, change.kind, change.new
    ('accepted', 'shift', (0.0001, 1.0))
    >>> space_in_force(space, {"agenthpo_space_revision_1": {"changes": [change.to_attr()]}})["lr"]
    FloatParam(type='float', low=0.0001, high=1.0, log=True, step=None, description=None, limits=None, condition=None)
"""  # noqa: E501

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from agenthpo import _keys
from agenthpo._text import one_line
from agenthpo.errors import SpaceError
from agenthpo.space import CategoricalParam, FloatParam, IntParam, Space

__all__ = [
    "KEEP_TOP",
    "MIN_KEPT",
    "MIN_TRIALS",
    "NEAR_BOUND",
    "RangeChange",
    "RangeFacts",
    "accepted_changes",
    "check_change",
    "check_changes",
    "range_facts",
    "space_in_force",
    "stored_rounds",
]

_logger = logging.getLogger("agenthpo")

KEEP_TOP = 3
"""A narrowed range keeps the values of this many best trials."""
MIN_KEPT = 0.1
"""A narrowed range keeps at least this share of the range's width (in its scale)."""
NEAR_BOUND = 0.1
"""A best trial this close to a bound (a share of the range's width) supports widening it."""
MIN_TRIALS = 5
"""No revision before this many trials have completed."""
MAX_DECADES = 1.0
"""The most a log-scaled bound moves outwards in one revision, in decades."""
_RATIONALE_MAX = 240

Ranked = Sequence[tuple[int, Mapping[str, Any]]]
"""``(trial number, config)`` of the completed trials, best first."""


@dataclass(frozen=True)
class RangeChange:
    """One proposed change of a numeric range, checked: the diff a revision stores.

    Attributes:
        at_trial: The trial at which the revision was made (it runs on the revised space).
        param: The parameter.
        old: Its ``(low, high)`` before.
        new: Its ``(low, high)`` after (as proposed when rejected; ``None`` if unreadable).
        rationale: The LLM's reason, one line.
        evidence: The trials the LLM cited.
        status: ``accepted`` or ``rejected``.
        reason: Why it was rejected, or what was adjusted (bounds moved onto a step grid).
        kind: ``narrow``, ``widen`` or ``shift`` (both), empty when unreadable.
    """

    at_trial: int
    param: str
    old: tuple[float, float] | None
    new: tuple[float, float] | None
    rationale: str = ""
    evidence: tuple[int, ...] = ()
    status: Literal["accepted", "rejected"] = "rejected"
    reason: str = ""
    kind: str = ""

    @property
    def accepted(self) -> bool:
        """Whether the change is part of the space in force."""
        return self.status == "accepted"

    def to_attr(self) -> dict[str, Any]:
        """The change as stored in the study (:data:`agenthpo._keys.STUDY_SPACE_REVISION`)."""
        return {
            "at_trial": self.at_trial,
            "param": self.param,
            "old": _pair(self.old),
            "new": _pair(self.new),
            "rationale": self.rationale,
            "evidence": list(self.evidence),
            "status": self.status,
            "reason": self.reason,
            "kind": self.kind,
        }

    @classmethod
    def from_attr(cls, raw: Any) -> RangeChange | None:
        """The change :meth:`to_attr` stored, or ``None`` when malformed."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("param"), str):
            return None
        status = raw.get("status")
        evidence = raw.get("evidence")
        return cls(
            at_trial=int(raw.get("at_trial") or 0),
            param=raw["param"],
            old=_unpair(raw.get("old")),
            new=_unpair(raw.get("new")),
            rationale=str(raw.get("rationale") or ""),
            evidence=tuple(e for e in evidence if isinstance(e, int))
            if isinstance(evidence, list)
            else (),
            status="accepted" if status == "accepted" else "rejected",
            reason=str(raw.get("reason") or ""),
            kind=str(raw.get("kind") or ""),
        )

    def describe(self) -> str:
        """One line: ``lr 1e-05..0.1 -> 0.001..0.1 (narrow)``, with the reason if rejected.

        Example:
            >>> RangeChange(3, "lr", (1e-5, 0.1), (1e-3, 0.1), status="accepted",
            ...             kind="narrow").describe()
            'lr 1e-05..0.1 -> 0.001..0.1 (narrow)'
        """
        text = f"{self.param} {_span(self.old)} -> {_span(self.new)}"
        if self.kind:
            text += f" ({self.kind})"
        if not self.accepted:
            text += f" rejected: {self.reason}"
        elif self.reason:
            text += f"; {self.reason}"
        return text


def _pair(value: tuple[float, float] | None) -> dict[str, float] | None:
    return None if value is None else {"low": value[0], "high": value[1]}


def _unpair(raw: Any) -> tuple[float, float] | None:
    if not isinstance(raw, Mapping):
        return None
    low, high = raw.get("low"), raw.get("high")
    numbers = (int, float)
    if isinstance(low, numbers) and isinstance(high, numbers):
        return (low, high)
    return None


def _fmt(value: float) -> str:
    return format(value, ".4g") if isinstance(value, float) else str(value)


def _span(value: tuple[float, float] | None) -> str:
    return "?" if value is None else f"{_fmt(value[0])}..{_fmt(value[1])}"


# -- the stored revisions ----------------------------------------------------------------------
def stored_rounds(user_attrs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The study's revisions (its ``agenthpo_space_revision_K`` attributes), in order of K.

    Example:
        >>> stored_rounds({"agenthpo_space_revision_2": {"round": 2},
        ...                "agenthpo_space_revision_1": {"round": 1}, "other": 1})
        [{'round': 1}, {'round': 2}]
    """
    found: list[tuple[int, dict[str, Any]]] = []
    for key, value in user_attrs.items():
        if not key.startswith(_keys.STUDY_SPACE_REVISION) or not isinstance(value, dict):
            continue
        suffix = key[len(_keys.STUDY_SPACE_REVISION) :]
        if suffix.isdigit():
            found.append((int(suffix), value))
    return [value for _, value in sorted(found, key=lambda kv: kv[0])]


def accepted_changes(user_attrs: Mapping[str, Any]) -> list[RangeChange]:
    """Every accepted change of the study's revisions, in order."""
    out: list[RangeChange] = []
    for record in stored_rounds(user_attrs):
        changes = record.get("changes")
        for raw in changes if isinstance(changes, list) else ():
            change = RangeChange.from_attr(raw)
            if change is not None and change.accepted and change.new is not None:
                out.append(change)
    return out


def space_in_force(space: Space, user_attrs: Mapping[str, Any]) -> Space:
    """``space`` with every accepted change stored in ``user_attrs`` (a study's) applied in
    order: the space new trials are drawn from. A stored change that no longer applies (the
    task's space changed since: the parameter is gone or the range is invalid for it) is
    skipped with a warning in the log."""
    for change in accepted_changes(user_attrs):
        assert change.new is not None
        if change.param not in space:
            _logger.warning("space revision of %s skipped: not a parameter now", change.param)
            continue
        try:
            space = space.with_range(change.param, *change.new)
        except SpaceError as exc:
            _logger.warning("space revision of %s skipped: %s", change.param, exc)
    return space


# -- what the trials show ----------------------------------------------------------------------
def _scale(param: FloatParam | IntParam, value: float) -> float:
    return math.log10(value) if param.log else float(value)


def _unscale(param: FloatParam | IntParam, value: float) -> float:
    return 10.0**value if param.log else value


@dataclass(frozen=True)
class RangeFacts:
    """Where the best trials lie in one numeric range, and how far it may be widened.

    Attributes:
        name: The parameter.
        low: Its lower bound now.
        high: Its upper bound now.
        top: ``(trial number, value)`` of the :data:`KEEP_TOP` best trials that set it.
        near_low: Whether one of them lies within :data:`NEAR_BOUND` of the lower bound.
        near_high: The same for the upper bound.
        least: The lowest ``low`` a widening may reach.
        most: The highest ``high`` a widening may reach.
    """

    name: str
    low: float
    high: float
    top: tuple[tuple[int, float], ...] = field(default_factory=tuple)
    near_low: bool = False
    near_high: bool = False
    least: float = 0.0
    most: float = 0.0


def _top(name: str, ranked: Ranked) -> list[tuple[int, float]]:
    out: list[tuple[int, float]] = []
    for number, config in ranked:
        value = config.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append((number, value))
        if len(out) == KEEP_TOP:
            break
    return out


def _reach(param: FloatParam | IntParam) -> tuple[float, float]:
    """The lowest ``low`` and highest ``high`` one revision may widen ``param`` to."""
    width = _scale(param, param.high) - _scale(param, param.low)
    step = min(width, MAX_DECADES) if param.log else width
    least = _unscale(param, _scale(param, param.low) - step)
    most = _unscale(param, _scale(param, param.high) + step)
    if param.limits is None and param.low >= 0:
        least = max(least, 0.0)
    if param.limits is None and param.high <= 0:
        most = min(most, 0.0)
    if isinstance(param, IntParam):
        least, most = math.ceil(least - 1e-9), math.floor(most + 1e-9)
        if param.log:
            least = max(least, 1)
    if param.limits is not None:
        least, most = max(least, param.limits[0]), min(most, param.limits[1])
    return least, most


def range_facts(space: Space, ranked: Ranked) -> list[RangeFacts]:
    """For each numeric parameter: where the best trials lie and how far it may widen.

    Example:
        >>> space = Space.from_dict({"x": {"type": "float", "low": 0.0, "high": 10.0}})
        >>> facts = range_facts(space, [(4, {"x": 9.5}), (2, {"x": 6.0})])[0]
        >>> facts.near_high, facts.near_low, facts.least, facts.most
        (True, False, 0.0, 20.0)
    """
    out: list[RangeFacts] = []
    for name, param in space.items():
        if isinstance(param, CategoricalParam):
            continue
        top = _top(name, ranked)
        width = _scale(param, param.high) - _scale(param, param.low)
        lows = [_scale(param, v) - _scale(param, param.low) for _, v in top]
        highs = [_scale(param, param.high) - _scale(param, v) for _, v in top]
        least, most = _reach(param)
        out.append(
            RangeFacts(
                name=name,
                low=param.low,
                high=param.high,
                top=tuple(top),
                near_low=any(d <= NEAR_BOUND * width for d in lows),
                near_high=any(d <= NEAR_BOUND * width for d in highs),
                least=least,
                most=most,
            )
        )
    return out


# -- checking a change -------------------------------------------------------------------------
def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return value
    return None


def _evidence(raw: Any) -> tuple[int, ...]:
    """Trial numbers from ``[7, "#9", "12"]``."""
    if not isinstance(raw, list):
        raw = [raw] if raw is not None else []
    out: list[int] = []
    for item in raw[:16]:
        if isinstance(item, bool):
            continue
        if isinstance(item, int):
            out.append(item)
        elif isinstance(item, float) and item.is_integer():
            out.append(int(item))
        elif isinstance(item, str) and item.strip().lstrip("#").isdigit():
            out.append(int(item.strip().lstrip("#")))
    return tuple(dict.fromkeys(out))


def _on_grid(param: FloatParam | IntParam, low: float, high: float) -> tuple[float, float]:
    """``low`` and ``high`` moved outwards onto the parameter's step grid (anchored at its
    low), so that the trials' values stay on the grid."""
    step = param.step
    if step is None or (isinstance(param, IntParam) and step == 1):
        return low, high
    d_step, origin = Decimal(str(step)), Decimal(str(param.low))
    d_low = origin + ((Decimal(str(low)) - origin) // d_step) * d_step
    if d_low > Decimal(str(low)):
        d_low -= d_step
    spans = (Decimal(str(high)) - d_low) / d_step
    whole = int(spans) if spans == int(spans) else int(spans) + 1
    d_high = d_low + whole * d_step
    if isinstance(param, IntParam):
        return int(d_low), int(d_high)
    return float(d_low), float(d_high)


def check_change(
    proposed: Mapping[str, Any],
    space: Space,
    ranked: Ranked,
    *,
    at_trial: int,
    completed: Sequence[int] | None = None,
) -> RangeChange:
    """Checks one proposed change (``{"param", "low", "high", "rationale", "evidence"}``)
    against the space in force and the completed trials (``ranked``, best first), by the
    rules of this module's docstring.

    Args:
        proposed: The change as the LLM gave it (anything: it is data).
        space: The space in force.
        ranked: ``(trial number, config)`` of the completed trials, best first.
        at_trial: The trial the revision is made at.
        completed: The numbers of the completed trials the evidence may cite (default: those
            of ``ranked``).

    Returns:
        The change, accepted or rejected with the reason.
    """
    name = proposed.get("param")
    rationale = one_line(str(proposed.get("rationale") or ""), _RATIONALE_MAX)
    evidence = _evidence(proposed.get("evidence"))
    low, high = _number(proposed.get("low")), _number(proposed.get("high"))
    new = (low, high) if low is not None and high is not None else None
    base: dict[str, Any] = {"at_trial": at_trial, "rationale": rationale, "evidence": evidence}

    def reject(reason: str, old: tuple[float, float] | None = None, kind: str = "") -> RangeChange:
        return RangeChange(
            param=str(name)[:64],
            old=old,
            new=new,
            status="rejected",
            reason=reason,
            kind=kind,
            **base,
        )

    if not isinstance(name, str) or name not in space:
        return reject("not a parameter of the space")
    param = space[name]
    if isinstance(param, CategoricalParam):
        return reject("categorical: an Optuna study cannot change a parameter's choices")
    old = (param.low, param.high)
    if low is None or high is None:
        return reject("low and high must be finite numbers", old)
    if isinstance(param, IntParam):
        if not (float(low).is_integer() and float(high).is_integer()):
            return reject("an int parameter's bounds must be whole numbers", old)
        low, high = int(low), int(high)
    if not low < high:
        return reject(f"low must be below high (got {_fmt(low)}..{_fmt(high)})", old)
    if param.log and (low <= 0 or (isinstance(param, IntParam) and low < 1)):
        return reject("a log-scaled range must stay positive (at least 1 for an int)", old)
    notes: list[str] = []
    snapped = _on_grid(param, low, high)
    if snapped != (low, high):
        notes.append(f"moved onto the step grid from {_fmt(low)}..{_fmt(high)}")
        low, high = snapped
    new = (low, high)
    if new == old:
        return reject("the range is unchanged", old)
    widens = low < param.low or high > param.high
    narrows = low > param.low or high < param.high
    kind = "shift" if widens and narrows else ("widen" if widens else "narrow")
    known = set(completed) if completed is not None else {n for n, _ in ranked}
    if not evidence:
        return reject("no trials cited as evidence", old, kind)
    unknown = [n for n in evidence if n not in known]
    if unknown:
        return reject(f"cites trial #{unknown[0]}, which has not completed", old, kind)
    top = _top(name, ranked)
    if not top:
        return reject("no completed trial sets this parameter", old, kind)
    if narrows:
        dropped = [(n, v) for n, v in top if not low <= v <= high]
        if dropped:
            n, v = dropped[0]
            return reject(
                f"drops trial #{n}'s value {_fmt(v)}, one of the {len(top)} best", old, kind
            )
        width = _scale(param, param.high) - _scale(param, param.low)
        if _scale(param, high) - _scale(param, low) < MIN_KEPT * width - 1e-12:
            return reject(
                f"keeps less than {MIN_KEPT:.0%} of the range's width"
                + (" on its log scale" if param.log else ""),
                old,
                kind,
            )
    if widens:
        facts = range_facts(Space({name: param}), [(n, {name: v}) for n, v in top])[0]
        best = ", ".join(f"#{n} {_fmt(v)}" for n, v in top)
        for side, moved, near, limit, bound in (
            ("lower", low < param.low, facts.near_low, facts.least, param.low),
            ("upper", high > param.high, facts.near_high, facts.most, param.high),
        ):
            if not moved:
                continue
            if not near:
                return reject(
                    f"widening the {side} bound {_fmt(bound)} needs one of the {len(top)} best"
                    f" trials within {NEAR_BOUND:.0%} of the range of it ({best})",
                    old,
                    kind,
                )
            beyond = low < limit if side == "lower" else high > limit
            if beyond:
                why = _limit_reason(param)
                return reject(
                    f"widens the {side} bound past {_fmt(limit)} ({why})",
                    old,
                    kind,
                )
    return RangeChange(
        param=name,
        old=old,
        new=new,
        status="accepted",
        reason="; ".join(notes),
        kind=kind,
        **base,
    )


def _limit_reason(param: FloatParam | IntParam) -> str:
    parts = ["one decade" if param.log else "one range width"]
    if param.limits is not None:
        parts.append(f"the hard limits {_fmt(param.limits[0])}..{_fmt(param.limits[1])}")
    elif not param.log:
        parts.append("not across zero")
    return "at most " + parts[0] + (", " + ", ".join(parts[1:]) if parts[1:] else "")


def check_changes(
    proposed: Sequence[Any],
    space: Space,
    ranked: Ranked,
    *,
    at_trial: int,
    completed: Sequence[int] | None = None,
) -> tuple[list[RangeChange], Space]:
    """Checks every proposed change in order (:func:`check_change`); a parameter changed
    twice keeps its first change. Returns the changes and the space with the accepted ones
    applied."""
    out: list[RangeChange] = []
    seen: set[str] = set()
    for item in proposed:
        if not isinstance(item, Mapping):
            out.append(RangeChange(at_trial, "?", None, None, reason="not an object"))
            continue
        change = check_change(item, space, ranked, at_trial=at_trial, completed=completed)
        if change.param in seen:
            change = RangeChange(
                at_trial,
                change.param,
                change.old,
                change.new,
                change.rationale,
                change.evidence,
                "rejected",
                "changed twice in one revision",
                change.kind,
            )
        elif change.accepted:
            assert change.new is not None
            space = space.with_range(change.param, *change.new)
        seen.add(change.param)
        out.append(change)
    return out, space
