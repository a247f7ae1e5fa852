"""Placeholders: the only way the agent's summary may state a number.

The LLM writes prose with placeholders such as ``{best_value}``, ``{trial:12.value}`` or
``{importance:lr}``; :class:`Filler` replaces each with the value read from storage. Digits the
LLM wrote itself are removed (and listed as problems), and a placeholder that cites a trial
or parameter the study does not have is never filled with anything but a mark.

Example:
    >>> import optuna
    >>> from agenthpo.reporting._data import collect_data
    >>> from agenthpo.reporting._importance import Importance
    >>> study = optuna.create_study(direction="maximize")
    >>> study.add_trial(optuna.trial.create_trial(
    ...     params={"lr": 0.01},
    ...     distributions={"lr": optuna.distributions.FloatDistribution(1e-4, 1, log=True)},
    ...     value=0.93,
    ... ))
    >>> filler = Filler(collect_data(study), Importance())
    >>> filled = filler.fill("Best {best_value} at {trial:0}, not 0.99 in {trial:7}.", "demo")
    >>> filled.plain()
    'Best 0.93 at trial 0, not [number removed] in [no such trial].'
    >>> [p.kind for p in filled.problems]
    ['literal_number', 'unknown_trial']
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from agenthpo.reporting._data import ReportData, TrialRow
from agenthpo.reporting._format import fmt_cost, fmt_int, fmt_param, fmt_share, fmt_value
from agenthpo.reporting._importance import Importance

__all__ = [
    "PLACEHOLDER_HELP",
    "Filled",
    "Filler",
    "Problem",
    "Segment",
    "find_literal_numbers",
    "param_ref",
]

SegmentKind = Literal["text", "value", "trial", "removed", "invalid"]
ProblemKind = Literal[
    "literal_number", "unknown_trial", "unknown_placeholder", "unknown_param", "unusable"
]

PLACEHOLDER_HELP: dict[str, str] = {
    "{best_value}": "the best value of the metric",
    "{best_trial}": "the best trial (renders as 'trial N')",
    "{best:PARAM}": "PARAM's value in the best configuration",
    "{trial:N}": "cites trial N (renders as 'trial N')",
    "{trial:N.value}": "the metric value of trial N",
    "{trial:N.PARAM}": "PARAM's value in trial N",
    "{importance:PARAM}": "PARAM's measured importance share",
    "{top_range:PARAM}": "the range (or choices) of PARAM among the best quarter of trials",
    "{first_value}": "the value of the first completed trial",
    "{default_value}": "the value of the task's default configuration (the baseline)",
    "{n_trials}": "the number of trials",
    "{n_complete}": "completed trials",
    "{n_failed}": "failed trials",
    "{n_pruned}": "pruned trials",
    "{n_interrupted}": "trials stopped before they finished (not counted, not failures)",
    "{n_fallbacks}": (
        "trials where the LLM's proposal was unusable or screened out and the backbone stepped in"
    ),
    "{llm_calls}": "LLM calls made while tuning",
    "{llm_tokens}": "LLM tokens used while tuning",
    "{llm_cost}": "LLM cost in dollars",
    "{noise_std}": "the standard deviation of the best trial over re-runs with other seeds",
    "{noise_mean}": "the mean of the best trial over re-runs with other seeds",
    "{noise_n}": "how many seeds the best trial was re-run with",
    "{pareto_size}": "how many trials are on the Pareto front (multi-objective studies)",
}

_PLACEHOLDER = re.compile(r"\{+\s*([A-Za-z_]+)\s*(?::\s*([^{}]*?))?\s*\}+")
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+(?:[.,]\d+)*|\.\d+)(?:[eE][-+]?\d+)?(?:\s?%)?")
_WORD = re.compile(r"[\w.\-]*")


_INDEX_REF = re.compile(r"#(\d+)")


def param_ref(names: Sequence[str], name: str) -> str:
    """How a placeholder names parameter ``name``: itself, or ``#k`` (its place in
    ``names``) when it holds a brace, which a placeholder cannot (``{importance:a{b}}``).

    Example:
        >>> param_ref(["lr", "a{b}"], "lr"), param_ref(["lr", "a{b}"], "a{b}")
        ('lr', '#1')
    """
    if "{" not in name and "}" not in name:
        return name
    return f"#{list(names).index(name)}"


def param_text(names: Sequence[str], name: str) -> str:
    """Parameter ``name`` as the summary's prose writes it: itself, or the placeholder
    ``{param:#k}`` when it holds a brace (prose braces read as placeholders).

    Example:
        >>> param_text(["lr", "a{b}"], "a{b}")
        '{param:#1}'
    """
    ref = param_ref(names, name)
    return name if ref == name else f"{{param:{ref}}}"


def best_quarter(ranked: list[TrialRow]) -> list[TrialRow]:
    """The best quarter of ``ranked`` (best first), and at least its best three."""
    return ranked[: max(3, math.ceil(len(ranked) / 4))]


@dataclass(frozen=True)
class Segment:
    """A piece of filled text: LLM prose, a value from storage, or a mark."""

    kind: SegmentKind
    text: str
    source: str = ""
    """The placeholder a value came from, or the literal that was removed."""
    trial: int | None = None
    """The trial a ``trial`` segment cites (for a link to its row)."""


@dataclass(frozen=True)
class Problem:
    """Something the checks caught in the LLM's text."""

    kind: ProblemKind
    where: str
    detail: str


@dataclass
class Filled:
    """Text with its placeholders filled, and what the checks found."""

    segments: list[Segment] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)

    def plain(self) -> str:
        """The text as shown, without markup."""
        return "".join(s.text for s in self.segments)


def find_literal_numbers(text: str, allowed_words: frozenset[str] = frozenset()) -> list[str]:
    """Number literals in ``text`` (digits in identifiers such as ``l2`` or ``fp16`` excepted).

    Example:
        >>> find_literal_numbers("lr 3e-4 beat 0.9, 12% of runs; l2 and fp16 are names")
        ['3e-4', '0.9', '12%']
    """
    return [m.group(0) for m in _literals(text, allowed_words)]


def _literals(text: str, allowed_words: frozenset[str]) -> list[re.Match[str]]:
    out = []
    for match in _NUMBER.finditer(text):
        start = match.start()
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_"):
            start -= 1
        word = _WORD.match(text, start)
        if word is not None and word.group(0).strip(".-") in allowed_words:
            continue
        out.append(match)
    return out


class Filler:
    """Fills placeholders from a study's data and checks the text around them.

    Args:
        data: The stored study.
        importance: The measured importance.
    """

    def __init__(self, data: ReportData, importance: Importance) -> None:
        self.data = data
        self.importance = importance
        words = set(data.param_names) | set(data.metric_names)
        for spec in data.space.values():
            choices = spec.get("choices")
            if isinstance(choices, list):
                words |= {str(c) for c in choices if not _is_number(c)}
        self._allowed = frozenset(words)

    # ------------------------------------------------------------------ values

    def _trial_ref(self, row: TrialRow, source: str) -> Segment:
        return Segment("trial", f"trial {row.number}", source=source, trial=row.number)

    def _best_value(self) -> str | None:
        best = self.data.best
        return fmt_value(best.value) if best is not None else None

    def _noise(self, pick: Callable[[float, float, int], str]) -> str | None:
        best = self.data.best
        if best is None or best.noise is None:
            return None
        n = best.noise
        return pick(n.mean, n.std, n.n)

    def _simple(self) -> dict[str, Callable[[], str | None]]:
        d = self.data
        counts = d.counts()
        default = next((t for t in d.trials if t.proposed_by == "default_config"), None)
        first = d.completed[0] if d.completed else None
        return {
            "best_value": self._best_value,
            "n_trials": lambda: fmt_int(len(d.trials)),
            "n_complete": lambda: fmt_int(counts["complete"]),
            "n_failed": lambda: fmt_int(counts["fail"]),
            "n_pruned": lambda: fmt_int(counts["pruned"]),
            "n_interrupted": lambda: fmt_int(counts["interrupted"]),
            "n_fallbacks": lambda: fmt_int(d.llm.fallbacks),
            "llm_calls": lambda: fmt_int(d.llm.calls),
            "llm_tokens": lambda: fmt_int(d.llm.total_tokens),
            "llm_cost": lambda: fmt_cost(d.llm.cost_usd),
            "noise_std": lambda: self._noise(lambda m, s, n: fmt_value(s)),
            "noise_mean": lambda: self._noise(lambda m, s, n: fmt_value(m)),
            "noise_n": lambda: self._noise(lambda m, s, n: fmt_int(n)),
            "first_value": lambda: fmt_value(first.value) if first else None,
            "default_value": lambda: (
                fmt_value(default.value) if default and default.value is not None else None
            ),
            "pareto_size": lambda: fmt_int(len(d.pareto)) if d.multi_objective else None,
        }

    def top_range(self, param: str) -> str | None:
        """PARAM's range (or choices, most common first) among the best quarter of trials."""
        ranked = [t for t in self.data.ranked() if param in t.params]
        if not ranked:
            return None
        values = [t.params[param] for t in best_quarter(ranked)]
        if all(_is_number(v) for v in values):
            low, high = min(values), max(values)
            return fmt_param(low) if low == high else f"{fmt_param(low)} to {fmt_param(high)}"
        counts = Counter(fmt_param(v) for v in values)
        return ", ".join(v for v, _ in counts.most_common())

    def _resolve(self, name: str, arg: str | None, source: str, where: str) -> Segment | Problem:
        d = self.data
        name = name.lower()
        if arg is None:
            if name == "best_trial":
                if d.best is None:
                    return Segment("invalid", "[no completed trial]", source)
                return self._trial_ref(d.best, source)
            simple = self._simple().get(name)
            if simple is None:
                return Problem("unknown_placeholder", where, f"{source} is not a placeholder")
            value = simple()
            if value is None:
                return Segment("invalid", "[not available]", source)
            return Segment("value", value, source)
        if name == "trial":
            return self._resolve_trial(arg, source, where)
        if name == "param":
            index = _INDEX_REF.fullmatch(arg.strip())
            if index is None or int(index.group(1)) >= len(d.param_names):
                return Problem("unknown_param", where, f"{source}: no such parameter")
            return Segment("text", d.param_names[int(index.group(1))], source)
        if name in ("best", "importance", "top_range"):
            param = arg.strip()
            index = _INDEX_REF.fullmatch(param)
            if param not in d.param_names and index and int(index.group(1)) < len(d.param_names):
                param = d.param_names[int(index.group(1))]
            if param not in d.param_names:
                return Problem(
                    "unknown_param", where, f"{source}: the study has no parameter {param!r}"
                )
            if name == "best":
                if d.best is None or param not in d.best.params:
                    return Segment("invalid", "[not available]", source)
                return Segment("value", fmt_param(d.best.params[param]), source)
            if name == "importance":
                if param in self.importance.single_valued:
                    return Segment("value", "not measurable (one value tried)", source)
                share = self.importance.share(param)
                return Segment(
                    "value", fmt_share(share) if share is not None else "not measured", source
                )
            ranged = self.top_range(param)
            return Segment("value", ranged or "[not available]", source)
        return Problem("unknown_placeholder", where, f"{source} is not a placeholder")

    def _resolve_trial(self, arg: str, source: str, where: str) -> Segment | Problem:
        ref, _, attr = arg.partition(".")
        try:
            number = int(ref.strip().lstrip("#"))
        except ValueError:
            return Problem("unknown_trial", where, f"{source}: {ref!r} is not a trial number")
        row = self.data.trial(number)
        if row is None:
            return Problem(
                "unknown_trial",
                where,
                f"{source} cites trial {number}, which the study does not have",
            )
        attr = attr.strip()
        if not attr:
            return self._trial_ref(row, source)
        if attr == "value":
            if row.value is None:
                return Segment("value", f"no value ({row.state})", source, trial=row.number)
            return Segment("value", fmt_value(row.value), source, trial=row.number)
        if attr in row.params:
            return Segment("value", fmt_param(row.params[attr]), source, trial=row.number)
        return Problem(
            "unknown_param", where, f"{source}: trial {number} has no parameter {attr!r}"
        )

    # ------------------------------------------------------------------ filling

    def _text(self, text: str, where: str, out: Filled, check: bool) -> None:
        pos = 0
        for match in _literals(text, self._allowed) if check else []:
            if match.start() > pos:
                out.segments.append(Segment("text", text[pos : match.start()]))
            literal = match.group(0)
            out.segments.append(Segment("removed", "[number removed]", source=literal))
            out.problems.append(
                Problem(
                    "literal_number",
                    where,
                    f"the LLM wrote the number {literal!r} without a placeholder; removed",
                )
            )
            pos = match.end()
        if pos < len(text):
            out.segments.append(Segment("text", text[pos:]))

    def fill(self, text: str, where: str, *, check_literals: bool = True) -> Filled:
        """Replaces placeholders with stored values; removes and reports literal numbers.

        Args:
            text: The LLM's text.
            where: Which part of the summary (for the problems' messages).
            check_literals: Remove numbers written outside placeholders (off only for text
                that AgentHPO wrote itself from the data).

        Returns:
            The filled segments, the problems found and the trials cited.
        """
        out = Filled()
        pos = 0
        for match in _PLACEHOLDER.finditer(text):
            self._text(text[pos : match.start()], where, out, check_literals)
            pos = match.end()
            name, arg = match.group(1), match.group(2)
            source = "{" + name + (f":{arg}" if arg is not None else "") + "}"
            resolved = self._resolve(name, arg, source, where)
            if isinstance(resolved, Problem):
                out.problems.append(resolved)
                mark = {
                    "unknown_trial": "[no such trial]",
                    "unknown_param": "[no such parameter]",
                }.get(resolved.kind, "[unknown placeholder]")
                out.segments.append(Segment("invalid", mark, source))
                continue
            out.segments.append(resolved)
            if resolved.trial is not None and resolved.trial not in out.cited:
                out.cited.append(resolved.trial)
        self._text(text[pos:], where, out, check_literals)
        return out


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
