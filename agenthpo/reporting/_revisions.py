"""The revisions of a study's search space, as the report and ``agenthpo show`` list them.

Read from the study's ``agenthpo_space_revision_K`` attributes (written by
:mod:`agenthpo.agent.reviser`; this layer reads them as plain data).

Example:
    >>> rows = read_revisions({"agenthpo_space_revision_1": {"round": 1, "at_trial": 20,
    ...     "state": "done", "changes": [{"param": "lr", "old": {"low": 1e-5, "high": 0.1},
    ...     "new": {"low": 1e-4, "high": 0.1}, "status": "accepted", "kind": "narrow",
    ...     "rationale": "below 1e-4 every run was poor", "evidence": [3, 8]}]}})
    >>> revision_lines(rows)[1]
    '- revision 1 at trial 20: lr 1e-05 … 0.1 -> 0.0001 … 0.1 (narrow), accepted: below 1e-4 every run was poor (trials 3, 8)'
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agenthpo import _keys
from agenthpo.reporting._format import fmt_param

__all__ = ["RevisionRow", "read_revisions", "revision_lines"]


@dataclass(frozen=True)
class RevisionRow:
    """One proposed change of a range (or a revision that changed nothing, ``param`` empty)."""

    round: int
    at_trial: int | None
    param: str = ""
    old: tuple[Any, Any] | None = None
    new: tuple[Any, Any] | None = None
    kind: str = ""
    status: str = ""
    reason: str = ""
    rationale: str = ""
    evidence: tuple[int, ...] = ()
    note: str = ""
    """For a revision without changes: why (the LLM's failure, or that it proposed none)."""

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    def span(self, which: str) -> str:
        """``old`` or ``new`` as ``low … high``."""
        pair = self.old if which == "old" else self.new
        return "?" if pair is None else f"{fmt_param(pair[0])} … {fmt_param(pair[1])}"


def _pair(raw: Any) -> tuple[Any, Any] | None:
    if isinstance(raw, Mapping) and "low" in raw and "high" in raw:
        return raw["low"], raw["high"]
    return None


def read_revisions(user_attrs: Mapping[str, Any]) -> tuple[RevisionRow, ...]:
    """Every revision's changes, in order (a revision without changes as one row)."""
    rounds: list[tuple[int, Mapping[str, Any]]] = []
    for key, value in user_attrs.items():
        suffix = key[len(_keys.STUDY_SPACE_REVISION) :]
        prefixed = key.startswith(_keys.STUDY_SPACE_REVISION) and suffix.isdigit()
        if prefixed and isinstance(value, Mapping):
            rounds.append((int(suffix), value))
    rows: list[RevisionRow] = []
    for k, record in sorted(rounds, key=lambda kv: kv[0]):
        at = record.get("at_trial")
        at_trial = at if isinstance(at, int) else None
        changes = [c for c in record.get("changes") or () if isinstance(c, Mapping)]
        if not changes:
            state = record.get("state")
            note = (
                f"no change: {record.get('failed')}"
                if state == "failed"
                else "still asking the LLM"
                if state == "asking"
                else "the LLM proposed no change"
            )
            rows.append(RevisionRow(round=k, at_trial=at_trial, note=note))
            continue
        for c in changes:
            evidence = c.get("evidence")
            rows.append(
                RevisionRow(
                    round=k,
                    at_trial=at_trial,
                    param=str(c.get("param") or "?"),
                    old=_pair(c.get("old")),
                    new=_pair(c.get("new")),
                    kind=str(c.get("kind") or ""),
                    status=str(c.get("status") or "rejected"),
                    reason=str(c.get("reason") or ""),
                    rationale=str(c.get("rationale") or ""),
                    evidence=tuple(e for e in evidence if isinstance(e, int))
                    if isinstance(evidence, list)
                    else (),
                )
            )
    return tuple(rows)


def revision_lines(rows: tuple[RevisionRow, ...]) -> list[str]:
    """The revisions as plain lines (a title first; nothing when there are none)."""
    if not rows:
        return []
    accepted = sum(1 for r in rows if r.accepted)
    plural = "s" if accepted != 1 else ""
    lines = [f"Search space revisions ({accepted} accepted change{plural}):"]
    for r in rows:
        head = f"- revision {r.round}" + (
            f" at trial {r.at_trial}" if r.at_trial is not None else ""
        )
        if not r.param:
            lines.append(f"{head}: {r.note}")
            continue
        kind = f" ({r.kind})" if r.kind else ""
        verdict = "accepted" if r.accepted else f"rejected ({r.reason})"
        if r.accepted and r.reason:
            verdict += f" ({r.reason})"
        why = f": {r.rationale}" if r.rationale else ""
        cited = ", ".join(str(n) for n in r.evidence)
        evidence = f" (trials {cited})" if cited else ""
        lines.append(
            f"{head}: {r.param} {r.span('old')} -> {r.span('new')}{kind}, {verdict}{why}{evidence}"
        )
    return lines
