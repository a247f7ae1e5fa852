"""A recommended configuration against the task's space as it is now.

The study keeps the configurations as they were run. When the task file has changed since
(a parameter removed, renamed or added, a range narrowed, a choice dropped), the
recommendation no longer fits what the script now takes: ``agenthpo best`` (whose stdout
users pipe into training) and the run's closing lines say so in one line, and the Python
API in :attr:`agenthpo.tuner.RunSummary.space_note`.

Example:
    >>> space = Space.from_dict({"x": {"type": "float", "low": 0.4, "high": 0.5}})
    >>> space_drift(3, {"x": 0.45}, space) is None
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import optuna

from agenthpo._jsonsafe import dumps
from agenthpo.agent.revision import accepted_changes
from agenthpo.errors import SpaceError
from agenthpo.space import CategoricalParam, FloatParam, IntParam, Space

__all__ = ["front_drift", "searched_space", "space_drift"]


def searched_space(space: Space, study: optuna.Study) -> Space | None:
    """The task's ``space`` with the study's accepted range revisions applied, if any.

    A revision (:mod:`agenthpo.agent.revision`) may have moved a range during the run, so a
    trial outside the task file's range can still be within the space the study searched:
    that is no change of the task. A revision that no longer applies is skipped silently,
    unlike :func:`agenthpo.agent.revision.space_in_force`, which logs a warning: the note
    below is the one line it adds.
    """
    revised = space
    for change in accepted_changes(study.user_attrs):
        if change.new is None or change.param not in revised:
            continue
        try:
            revised = revised.with_range(change.param, *change.new)
        except SpaceError:
            continue
    return None if revised is space else revised


def _shown(value: Any) -> str:
    return format(value, ".6g") if isinstance(value, float) else dumps(value)


def _allowed(param: FloatParam | IntParam | CategoricalParam) -> str:
    """What the space now allows for ``param``: ``a float from 0.4 to 0.5``."""
    if isinstance(param, CategoricalParam):
        return "one of " + ", ".join(_shown(c) for c in param.choices)
    kind = "an integer" if isinstance(param, IntParam) else "a float"
    step = f" in steps of {_shown(param.step)}" if param.step is not None else ""
    return f"{kind} from {_shown(param.low)} to {_shown(param.high)}{step}"


def _mismatches(
    params: Mapping[str, Any], space: Space, searched: Space | None = None
) -> list[str]:
    """How a stored configuration differs from ``space``, one phrase per parameter.

    A value that ``searched`` (the space with the run's range revisions) allows is not a
    difference: revisions change only ranges, never which parameters there are.
    """
    allowed = set() if searched is None else {n for n in params if n in searched}
    if searched is not None:
        allowed -= {v.name for v in searched.validate(params)}
    phrases: list[str] = []
    for v in space.validate(params):
        if v.name in allowed:
            continue
        if v.kind == "unknown":
            phrases.append(f"with {v.name}, which the space no longer has")
        elif v.kind == "missing":
            phrases.append(f"without {v.name}, which the space now has")
        elif v.kind == "inactive":
            phrases.append(
                f"with {v.name}, which the space now uses {space.condition_text(v.name)}"
            )
        else:
            phrases.append(
                f"with {v.name} = {_shown(params[v.name])}, which the space no longer allows"
                f" (now {_allowed(space[v.name])})"
            )
    return phrases


def space_drift(
    number: int, params: Mapping[str, Any], space: Space, searched: Space | None = None
) -> str | None:
    """One line when trial ``number``'s configuration no longer fits ``space``, else ``None``.

    ``searched`` is the space the run's range revisions made, if any (see :func:`searched_space`);
    a value within it is no change.

    Example:
        >>> space = Space.from_dict({"x": {"type": "float", "low": 0.4, "high": 0.5}})
        >>> print(space_drift(2, {"x": 0.278, "c": "b"}, space))
        note: trial 2 was run with x = 0.278, which the space no longer allows (now a float from 0.4 to 0.5); with c, which the space no longer has. The task's space changed after it ran: check the configuration before you use it.
        >>> space_drift(3, {"x": 0.45}, space) is None
        True
    """  # noqa: E501
    phrases = _mismatches(params, space, searched)
    if not phrases:
        return None
    return (
        f"note: trial {number} was run {'; '.join(phrases)}. The task's space changed after"
        " it ran: check the configuration before you use it."
    )


def front_drift(
    front: Sequence[Mapping[str, Any]], space: Space, searched: Space | None
) -> str | None:
    """One line for the Pareto front's configurations that no longer fit ``space``."""
    off = [(r["trial"], _mismatches(r["config"], space, searched)) for r in front]
    off = [(n, phrases) for n, phrases in off if phrases]
    if not off:
        return None
    each = "; ".join(f"trial {n} was run {' and '.join(phrases)}" for n, phrases in off[:3])
    more = f"; and {len(off) - 3} more" if len(off) > 3 else ""
    return (
        f"note: {len(off)} of the {len(front)} configurations on the Pareto front no longer fit"
        f" the task's space: {each}{more}. Check a configuration before you use it."
    )
