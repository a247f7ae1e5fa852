"""The agent's summary: what mattered, what did not, what to try next.

The LLM reads a compact digest of the stored study and answers JSON (a schema constrains it):
prose whose numbers are placeholders, plus its list of important parameters. The prose is
checked and filled from storage (:mod:`agenthpo.reporting._placeholders`), and the list is set
beside the measured importance, with disagreement flagged. An unusable answer (no JSON, next
to no prose, a template echoed back, placeholders left unfilled) is sent back once with what
was wrong; with no LLM, or when the retry is unusable too, a deterministic summary is written
from the data alone, and its note says why.

Example:
    >>> import json, optuna
    >>> from agenthpo.llm import ScriptedLLM
    >>> from agenthpo.reporting._data import collect_data
    >>> from agenthpo.reporting._importance import Importance
    >>> study = optuna.create_study()
    >>> study.add_trial(optuna.trial.create_trial(
    ...     params={"x": 1.0}, distributions={"x": optuna.distributions.FloatDistribution(0, 2)},
    ...     value=0.5))
    >>> llm = ScriptedLLM([json.dumps({"important_params": ["x"],
    ...     "what_mattered": "Only x was tuned; it gave {best_value} in {trial:0}.",
    ...     "what_did_not": "",
    ...     "next_steps": ["Try 3 more trials."]})])
    >>> summary = write_summary(collect_data(study), Importance(), llm=llm)
    >>> summary.sections[0].paragraphs[0].plain()
    'Only x was tuned; it gave 0.5 in trial 0.'
    >>> [p.kind for p in summary.problems]
    ['literal_number']
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agenthpo._text import one_line
from agenthpo.llm import LLMClient, Message, extract_json
from agenthpo.reporting._data import ReportData, TrialRow
from agenthpo.reporting._format import fmt_share
from agenthpo.reporting._importance import Importance
from agenthpo.reporting._placeholders import (
    PLACEHOLDER_HELP,
    Filled,
    Filler,
    Problem,
    best_quarter,
    param_ref,
    param_text,
)

__all__ = [
    "AgentSummary",
    "ComparisonRow",
    "SummarySection",
    "compare_importance",
    "data_summary",
    "digest",
    "summary_messages",
    "summary_schema",
    "write_summary",
]

_logger = logging.getLogger("agenthpo")

MAX_TEXT = 1500
MAX_STEPS = 5
MAX_TOKENS = 900
MIN_WORDS = 5
"""Fewer words of prose in ``what_mattered`` (placeholders aside) and the answer is unusable."""
MIN_TRIALS_FOR_TREND = 5
"""Fewer trials and the summary says nothing about when the best was found."""
MIN_TRIALS_FOR_NARROWING = 12
"""Fewer completed trials and the best quarter (three trials at least) is too few to advise
narrowing a range to it."""
NARROW_SHARE = 2 / 3
"""The summary advises narrowing a range to the best quarter's only when that spans at most
this share of the range (on the parameter's scale, logarithmic for a log parameter): leaving
out less is no material narrowing, and one outlier among the best decides it."""
_WORDS = re.compile(r"[^\W\d_]{2,}")

SYSTEM_PROMPT = """\
You write the summary of a hyperparameter-tuning study for the person who ran it: what \
mattered, what did not, and what to try next. You read a digest of the stored results.
Rules, checked by a program:
- Never write a digit outside a placeholder. Every number, value or count must be a \
placeholder from the list given; the program fills it from the stored data. Numbers you \
write yourself (including ones copied from the digest) are deleted.
- Cite trials only as {trial:N} (or {trial:N.value}, {trial:N.PARAM}), with N a trial \
number from the digest. A cited trial that does not exist is flagged.
- important_params: the parameters that mattered most, most important first, judged from \
the results (the measured importance in the digest is one piece of evidence).
- Be specific and brief: two to four sentences per part; up to four next steps.
Answer with one JSON object:
{"important_params": [...], "what_mattered": "...", "what_did_not": "...", \
"next_steps": ["...", ...]}"""

ComparisonStatus = Literal[
    "agree", "agree_unimportant", "llm_only", "measured_only", "not_measurable", "not_measured"
]


@dataclass(frozen=True)
class ComparisonRow:
    """One parameter: the LLM's rank beside the measured importance."""

    param: str
    llm_rank: int | None
    """1-based position in the LLM's list; ``None`` when not listed (or no LLM)."""
    share: float | None
    measured_rank: int | None
    status: ComparisonStatus
    flagged: bool
    note: str


@dataclass(frozen=True)
class SummarySection:
    """One part of the summary: a title and its filled paragraphs (or bullets)."""

    key: str
    title: str
    paragraphs: list[Filled]
    bullets: bool = False


@dataclass
class AgentSummary:
    """The summary shown in the report, with the checks that were run on it."""

    source: Literal["llm", "data"]
    author: str
    sections: list[SummarySection]
    important_params: list[str]
    comparison: list[ComparisonRow]
    problems: list[Problem] = field(default_factory=list)
    note: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    raw: str = ""
    """The LLM's answer as received (for audit); empty for a data summary."""

    @property
    def cited_trials(self) -> list[int]:
        """Every (existing) trial the summary cites."""
        out: list[int] = []
        for section in self.sections:
            for para in section.paragraphs:
                out.extend(n for n in para.cited if n not in out)
        return out

    @property
    def flagged(self) -> list[ComparisonRow]:
        """The parameters where the LLM and the measurement disagree."""
        return [r for r in self.comparison if r.flagged]


# ---------------------------------------------------------------------------- digest


def _round(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return x
    return float(format(x, ".4g"))


def _config(params: dict[str, Any]) -> dict[str, Any]:
    return {k: _round(v) if isinstance(v, float) else v for k, v in params.items()}


def _trial_view(t: TrialRow) -> dict[str, Any]:
    view: dict[str, Any] = {"trial": t.number, "state": t.state, "value": _round(t.value)}
    view["config"] = _config(t.params)
    if t.proposed_by:
        view["proposed_by"] = t.proposed_by
    if t.analysis:
        view["analysis"] = one_line(t.analysis, 300)
    if t.error:
        view["error"] = one_line(t.error, 300)
    if t.noise is not None:
        view["noise"] = {"mean": _round(t.noise.mean), "std": _round(t.noise.std), "n": t.noise.n}
    return view


def digest(
    data: ReportData, importance: Importance, filler: Filler | None = None
) -> dict[str, Any]:
    """A compact view of the study for the LLM (hidden metrics are never in it).

    Its size is bounded: the best eight trials, the last five, and up to five failures.
    """
    filler = filler or Filler(data, importance)
    task = data.task
    counts = data.counts()
    ranked = data.ranked()
    top = ranked[:8]
    shown = {t.number for t in top}
    recent = [t for t in data.trials[-5:] if t.number not in shown]
    failures = [t for t in data.trials if t.state == "fail"][:5]
    out: dict[str, Any] = {
        "task": {
            "name": task.get("name", data.study_name),
            "description": task.get("description", ""),
            "dataset": task.get("dataset", ""),
            "model": task.get("model", ""),
            "goal": f"{data.direction} {data.metric}",
        },
        "space": data.space,
        "trials": {k: v for k, v in counts.items() if v},
        "best_trials": [_trial_view(t) for t in top],
        "recent_trials": [_trial_view(t) for t in recent],
        "failures": [_trial_view(t) for t in failures],
        "measured_importance": {
            "evaluator": importance.evaluator,
            "shares": {k: _round(v) for k, v in importance.values.items()},
            "tried_at_one_value_only": list(importance.single_valued),
            "note": importance.note,
        },
        "best_quarter_ranges": {
            p: r for p in data.param_names if (r := filler.top_range(p)) is not None
        },
        "proposers": {
            name: {"trials": s.n, "completed": s.n_complete, "best_value": _round(s.best_value)}
            for name, s in data.proposers.items()
        },
    }
    if data.multi_objective:
        out["objectives"] = [f"{d} {m}" for d, m in data.objectives()]
        out["pareto_trials"] = [t.number for t in data.pareto]
    return out


def summary_schema(params: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of the LLM's answer."""
    item: dict[str, Any] = {"type": "string"}
    if params:
        item["enum"] = list(params)
    return {
        "type": "object",
        "properties": {
            "important_params": {"type": "array", "items": item},
            "what_mattered": {"type": "string"},
            "what_did_not": {"type": "string"},
            "next_steps": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["important_params", "what_mattered", "what_did_not", "next_steps"],
        "additionalProperties": False,
    }


def summary_messages(data: ReportData, importance: Importance) -> list[Message]:
    """The messages that ask the LLM for the summary."""
    placeholders = "\n".join(f"{k}: {v}" for k, v in PLACEHOLDER_HELP.items())
    user = (
        "Digest of the study (JSON):\n"
        + json.dumps(digest(data, importance), default=str, separators=(",", ":"))
        + "\n\nPlaceholders (PARAM is a parameter name, N a trial number):\n"
        + placeholders
        + f"\n\nParameters: {', '.join(data.param_names)}."
        + "\nWrite the summary now, as the JSON object described; no digits outside"
        " placeholders."
    )
    return [Message("system", SYSTEM_PROMPT), Message("user", user)]


# ---------------------------------------------------------------------------- comparison


def compare_importance(
    data: ReportData, importance: Importance, llm_params: Sequence[str] | None
) -> list[ComparisonRow]:
    """Sets the LLM's list of important parameters beside the measured importance.

    A parameter is flagged when the LLM lists it but its measured share is below
    :meth:`Importance.threshold`, or when it is measured important and the LLM leaves it
    out. Parameters tried at one value only, or not measured, are never flagged.
    """
    ranking = importance.ranking()
    important = set(importance.important())
    cut = importance.threshold()
    listed = list(llm_params) if llm_params is not None else []
    rows: list[ComparisonRow] = []
    for param in data.param_names:
        llm_rank = listed.index(param) + 1 if param in listed else None
        share = importance.share(param)
        rank = ranking.index(param) + 1 if param in ranking else None
        status: ComparisonStatus
        if param in importance.single_valued:
            status, flagged, note = "not_measurable", False, "tried at one value only"
        elif share is None:
            status, flagged, note = "not_measured", False, importance.note or "not measured"
        elif llm_params is None:
            measured = param in important
            status = "measured_only" if measured else "agree_unimportant"
            flagged, note = False, ""
        elif llm_rank is not None and param in important:
            status, flagged, note = "agree", False, "both call it important"
        elif llm_rank is not None:
            status, flagged = "llm_only", True
            note = (
                f"the LLM calls it important, but its measured share {fmt_share(share)} is"
                f" below {fmt_share(cut)}"
            )
        elif param in important:
            status, flagged = "measured_only", True
            note = f"measured important ({fmt_share(share)}), but the LLM did not list it"
        else:
            status, flagged, note = "agree_unimportant", False, "both leave it out"
        rows.append(ComparisonRow(param, llm_rank, share, rank, status, flagged, note))
    rows.sort(
        key=lambda r: (
            r.measured_rank if r.measured_rank is not None else 10_000,
            r.llm_rank if r.llm_rank is not None else 10_000,
        )
    )
    return rows


# ---------------------------------------------------------------------------- LLM answer


def _extract_json(text: str) -> Any:
    try:
        return extract_json(text)
    except ValueError:
        raise ValueError("the answer holds no JSON object") from None


def _clip(text: Any) -> str:
    return one_line(str(text), MAX_TEXT) if text is not None else ""


def _parse(text: str) -> dict[str, Any]:
    data = _extract_json(text)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    mattered = data.get("what_mattered")
    if not isinstance(mattered, str) or not mattered.strip():
        raise ValueError("the answer has no what_mattered text")
    steps = data.get("next_steps", [])
    if isinstance(steps, str):
        steps = [steps]
    params = data.get("important_params", [])
    if isinstance(params, str):
        params = [params]
    if not isinstance(steps, list) or not isinstance(params, list):
        raise ValueError("next_steps and important_params must be lists")
    return {
        "important_params": [str(p).strip() for p in params if str(p).strip()],
        "what_mattered": _clip(mattered),
        "what_did_not": _clip(data.get("what_did_not", "")),
        "next_steps": [_clip(s) for s in steps if str(s).strip()][:MAX_STEPS],
    }


class _Unusable(ValueError):
    """An answer that cannot be used, with the text received (sent back on the retry)."""

    def __init__(self, reason: str, raw: str, tokens: tuple[int, int]) -> None:
        super().__init__(reason)
        self.raw = raw
        self.tokens = tokens


_BRACES = re.compile(r"\{[^{}]{0,60}\}?|\}")


def _unfilled(sections: Sequence[SummarySection]) -> list[str]:
    """Brace text left in the prose after filling: placeholders the filler could not read
    (``{best value}``, ``{{n trials}}``), which the reader would see verbatim."""
    found: list[str] = []
    for section in sections:
        for para in section.paragraphs:
            for seg in para.segments:
                if seg.kind == "text":
                    found.extend(m.group(0) for m in _BRACES.finditer(seg.text))
    return list(dict.fromkeys(found))


def _llm_summary(
    data: ReportData,
    importance: Importance,
    llm: LLMClient,
    seed: int | None,
    messages: Sequence[Message],
) -> AgentSummary:
    filler = Filler(data, importance)
    response = llm.complete(
        messages,
        schema=summary_schema(data.param_names),
        max_tokens=MAX_TOKENS,
        temperature=0.2,
        seed=seed,
    )
    tokens = (response.usage.prompt_tokens, response.usage.completion_tokens)
    try:
        summary = _checked_summary(data, importance, llm, filler, response.text, tokens)
    except ValueError as exc:
        raise _Unusable(str(exc), response.text, tokens) from None
    return dataclasses.replace(summary, latency_s=response.latency_s)


def _checked_summary(
    data: ReportData,
    importance: Importance,
    llm: LLMClient,
    filler: Filler,
    text: str,
    tokens: tuple[int, int],
) -> AgentSummary:
    answer = _parse(text)
    problems: list[Problem] = []
    sections: list[SummarySection] = []
    for key, title, texts, bullets in (
        ("what_mattered", "What mattered", [answer["what_mattered"]], False),
        ("what_did_not", "What did not", [answer["what_did_not"]], False),
        ("next_steps", "What to try next", answer["next_steps"], True),
    ):
        paragraphs = [filler.fill(text, title.lower()) for text in texts if text]
        for para in paragraphs:
            problems.extend(para.problems)
        sections.append(SummarySection(key, title, paragraphs, bullets))
    prose = " ".join(
        seg.text for para in sections[0].paragraphs for seg in para.segments if seg.kind == "text"
    )
    if len(_WORDS.findall(prose)) < MIN_WORDS:
        raise ValueError(
            f"its what_mattered says next to nothing, placeholders aside"
            f" ({answer['what_mattered']!r})"
        )
    unfilled = _unfilled(sections)
    if unfilled:
        raise ValueError(
            f"it left {len(unfilled)} unfilled placeholder{'s' if len(unfilled) != 1 else ''}"
            f" ({', '.join(unfilled[:4])})"
        )
    known = set(data.param_names)
    listed: list[str] = []
    for param in answer["important_params"]:
        if param not in known:
            problems.append(
                Problem(
                    "unknown_param",
                    "important parameters",
                    f"the LLM lists {param!r}, which is not a parameter of this study",
                )
            )
        elif param not in listed:
            listed.append(param)
    return AgentSummary(
        source="llm",
        author=llm.name,
        sections=sections,
        important_params=listed,
        comparison=compare_importance(data, importance, listed),
        problems=problems,
        note=f"written by {llm.name} from a digest of the stored data",
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
        raw=text,
    )


# ---------------------------------------------------------------------------- data summary


def _edge(data: ReportData, param: str, value: Any) -> str | None:
    spec = data.space.get(param, {})
    low: Any = spec.get("low")
    high: Any = spec.get("high")
    if not (_is_num(value) and _is_num(low) and _is_num(high)) or low == high:
        return None
    if spec.get("log") and low > 0 and value > 0:
        pos = (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    else:
        pos = (value - low) / (high - low)
    if pos <= 0.02:
        return "lower"
    if pos >= 0.98:
        return "upper"
    return None


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _names(params: Sequence[str]) -> str:
    if len(params) <= 1:
        return "".join(params)
    return ", ".join(params[:-1]) + " and " + params[-1]


_EXCEPTION_NAME = re.compile(
    r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Fault|Failure|Warning)):"
)


def _error_kind(error: str) -> str:
    """What errors are grouped by: the exception's name (``ValueError``), else the message.

    Only an exception's name is a kind: the text before a message's first colon can be a
    program (``python: can't open file ...``) or a path, which says nothing on its own.
    """
    match = _EXCEPTION_NAME.match(error)
    return match.group(1) if match else error


def _common_error(failed: Sequence[TrialRow]) -> str:
    """The most common kind of error among failed trials, as one of its whole messages."""
    kinds = Counter(_error_kind(t.error) for t in failed)
    kind, count = kinds.most_common(1)[0]
    example = next(t.error for t in reversed(failed) if _error_kind(t.error) == kind)
    text = example or "no error recorded"
    return text if count == len(failed) else f"{text} ({count} of {len(failed)} failures)"


def _mattered(data: ReportData, importance: Importance) -> str:
    parts: list[str] = []
    best = data.best
    if best is not None:
        by = f", proposed by {best.proposed_by}" if best.proposed_by else ""
        parts.append(f"The best {data.metric} is {{best_value}} ({{best_trial}}{by}).")
        default = next((t for t in data.trials if t.proposed_by == "default_config"), None)
        if default is not None and default.value is not None and default.number != best.number:
            parts.append(
                f"The task's default configuration ({{trial:{default.number}}}) reached"
                " {default_value}."
            )
        if best.noise is not None:
            parts.append(
                "Re-run with {noise_n} seeds, the best configuration averages {noise_mean}"
                " with a standard deviation of {noise_std}."
            )
    elif data.multi_objective and data.pareto:
        trials = "trial" if len(data.pareto) == 1 else "trials"
        parts.append(f"The Pareto front holds {{pareto_size}} {trials}.")
    else:
        parts.append("No trial has completed yet, so nothing can be said about what mattered.")
    if importance.measured:
        important = importance.important()[:3]
        names = data.param_names
        shares = ", ".join(
            f"{param_text(names, p)} {{importance:{param_ref(names, p)}}}" for p in important
        )
        parts.append(
            f"Measured by {importance.evaluator}, the parameters that explain most of the"
            f" variation in {data.metric} are {shares}."
        )
        for param in important:
            ranged = f"{{top_range:{param_ref(names, param)}}}"
            by = f" by {data.metric}" if data.multi_objective else ""
            parts.append(
                f"The best quarter of trials{by} used {param_text(names, param)} = {ranged}."
            )
    elif importance.note:
        parts.append(f"Parameter importance was not measured: {importance.note}.")
    return " ".join(parts)


def _did_not(data: ReportData, importance: Importance) -> str:
    parts: list[str] = []
    if importance.measured:
        important = set(importance.important())
        weak = [p for p in importance.ranking() if p not in important]
        if weak:
            names = data.param_names
            shares = ", ".join(
                f"{param_text(names, p)} {{importance:{param_ref(names, p)}}}" for p in weak
            )
            parts.append(
                f"{_names([param_text(names, p) for p in weak])} made little difference"
                f" within the ranges tried ({shares};"
                f" below {fmt_share(importance.threshold())}, half an even share)."
            )
    if importance.single_valued:
        parts.append(
            f"{_names([param_text(data.param_names, p) for p in importance.single_valued])}"
            " was only ever tried at one value, so its"
            " effect is unknown."
        )
    failed = [t for t in data.trials if t.state == "fail"]
    if failed:
        common = _common_error(failed).replace("{", "(").replace("}", ")")
        cites = ", ".join(f"{{trial:{t.number}}}" for t in failed[:3])
        verb = "trials failed" if len(failed) > 1 else "trial failed"
        parts.append(f"{{n_failed}} {verb} ({cites}); the most common error: {common}.")
    stopped = [t for t in data.trials if t.state == "interrupted"]
    if stopped:
        cites = ", ".join(f"{{trial:{t.number}}}" for t in stopped[:3])
        why = stopped[-1].error.replace("{", "(").replace("}", ")") or "no reason recorded"
        verb = "trials were" if len(stopped) > 1 else "trial was"
        last = "; the last" if len(stopped) > 1 else ""
        parts.append(
            f"{{n_interrupted}} {verb} interrupted before finishing and not counted"
            f" ({cites}{last}: {why}); that is no failure of the configuration."
        )
    if data.counts()["pruned"]:
        pruned = data.counts()["pruned"]
        parts.append(f"{{n_pruned}} {'trials were' if pruned > 1 else 'trial was'} pruned early.")
    llm = data.proposers.get("llm")
    rival: tuple[str, int, float] | None = None
    for name, stats in data.proposers.items():
        if name == "llm" or stats.best_value is None or stats.best_trial is None:
            continue
        if rival is None or data.better(stats.best_value, rival[2]):
            rival = (name, stats.best_trial, stats.best_value)
    if llm is not None and llm.best_value is not None and llm.best_trial is not None and rival:
        name, number, value = rival
        if not data.better(llm.best_value, value):
            parts.append(
                f"The LLM's proposals did not beat the {name} trials: its best was"
                f" {{trial:{llm.best_trial}.value}} ({{trial:{llm.best_trial}}}) against"
                f" {{trial:{number}.value}} ({{trial:{number}}})."
            )
    if not parts:
        parts.append("Nothing stands out as unimportant yet.")
    return " ".join(parts)


def _narrows(data: ReportData, param: str) -> bool:
    """Whether the best quarter of trials (of at least :data:`MIN_TRIALS_FOR_NARROWING`)
    used a numeric ``param`` in a materially narrower range: at most :data:`NARROW_SHARE` of
    the declared range (of the range all the trials used, where none is declared)."""
    ranked = [t for t in data.ranked() if _is_num(t.params.get(param))]
    if len(ranked) < MIN_TRIALS_FOR_NARROWING:
        return False
    every = [t.params[param] for t in ranked]
    top = [t.params[param] for t in best_quarter(ranked)]
    spec = data.space.get(param, {})
    low: Any = spec.get("low")
    high: Any = spec.get("high")
    if not (_is_num(low) and _is_num(high) and low < high):
        low, high = min(every), max(every)
    log = bool(spec.get("log")) and low > 0 and min(top) > 0

    def at(value: float) -> float:
        return math.log(value) if log else float(value)

    whole = at(high) - at(low)
    return whole > 0 and at(max(top)) - at(min(top)) <= NARROW_SHARE * whole


def _next_steps(data: ReportData, importance: Importance) -> list[str]:
    steps: list[str] = []
    best = data.best
    if best is not None:
        for param in data.param_names:
            value = best.params.get(param)
            edge = _edge(data, param, value)
            if edge is not None:
                steps.append(
                    f"{param_text(data.param_names, param)}"
                    f" = {{best:{param_ref(data.param_names, param)}}} in the best trial is at"
                    f" the {edge} end of its"
                    f" range: extend the range past it."
                )
    if data.multi_objective and data.pareto:
        others = ", ".join(data.metric_names[1:])
        caveat = (
            f"importance and ranges here are measured for {data.metric} alone and ignore {others}."
        )
        if len(data.pareto) == 1:
            only = data.pareto[0].number
            steps.append(f"A single trial, {{trial:{only}}}, is Pareto-optimal; {caveat}")
        else:
            steps.append(
                f"Choose a trade-off among the {{pareto_size}} Pareto-optimal trials; {caveat}"
            )
    elif importance.measured:
        for param in importance.important()[:2]:
            spec = data.space.get(param, {})
            if spec.get("type") in ("int", "float") and _narrows(data, param):
                steps.append(
                    f"Narrow {param_text(data.param_names, param)} to"
                    f" {{top_range:{param_ref(data.param_names, param)}}}, where the best"
                    " trials lie, and"
                    " spend the next trials there."
                )
    if best is not None and data.completed and len(data.trials) >= MIN_TRIALS_FOR_TREND:
        ranked_numbers = [t.number for t in data.trials]
        position = ranked_numbers.index(best.number) + 1
        since = len(data.trials) - position
        if position > 0.75 * len(data.trials):
            steps.append(
                "The best was found late ({best_trial} of {n_trials}): more trials are likely to"
                " improve on it."
            )
        elif since >= 5:
            steps.append(
                f"The last {since} trials did not improve on {{best_trial}}; if more trials do"
                " not either, widen the ranges or change the model."
            )
    if best is not None and best.noise is None and len(data.completed) > 1:
        # a lone completed trial leads nothing that could be noise
        steps.append(
            "Re-run the best configuration with other seeds to see how much of its lead is noise."
        )
    if best is not None and best.noise is not None:
        steps.append(
            "Treat differences smaller than {noise_std} (the best configuration's spread over"
            " seeds) as noise, not gains."
        )
    if any(t.state == "fail" for t in data.trials):
        steps.append("Read the failed trials' errors below and fix their cause or the range.")
    if not steps:
        steps.append("Run more trials: there is too little data for advice.")
    return steps[:MAX_STEPS]


def data_summary(data: ReportData, importance: Importance, *, note: str = "") -> AgentSummary:
    """The deterministic summary written from the data alone (no LLM).

    Args:
        data: The stored study.
        importance: The measured importance.
        note: Why no LLM wrote the summary (shown with it).
    """
    filler = Filler(data, importance)

    def fill(text: str, where: str) -> Filled:
        return filler.fill(text, where, check_literals=False)

    sections = [
        SummarySection("what_mattered", "What mattered", [fill(_mattered(data, importance), "")]),
        SummarySection("what_did_not", "What did not", [fill(_did_not(data, importance), "")]),
        SummarySection(
            "next_steps",
            "What to try next",
            [fill(step, "") for step in _next_steps(data, importance)],
            bullets=True,
        ),
    ]
    problems = [p for s in sections for para in s.paragraphs for p in para.problems]
    return AgentSummary(
        source="data",
        author="AgentHPO (data only)",
        sections=sections,
        important_params=importance.important(),
        comparison=compare_importance(data, importance, None),
        problems=problems,
        note=note or "written from the stored data alone, without an LLM",
    )


def write_summary(
    data: ReportData,
    importance: Importance,
    *,
    llm: LLMClient | None = None,
    seed: int | None = 0,
) -> AgentSummary:
    """The summary: by the LLM when one is given and answers usably, else from the data.

    Args:
        data: The stored study.
        importance: The measured importance.
        llm: The model that writes the prose; ``None`` writes a data-only summary.
        seed: Passed to the LLM where supported.

    Returns:
        The checked, filled summary. An unusable answer is sent back once with what was
        wrong (and the note of a usable retry says so); on a provider failure or a second
        unusable answer it is the data-only summary, whose ``note`` says what went wrong.
    """
    if llm is None:
        return data_summary(data, importance)
    messages = summary_messages(data, importance)
    try:
        return _llm_summary(data, importance, llm, seed, messages)
    except _Unusable as exc:
        first = one_line(str(exc), 300)
        bad = exc
    except Exception as exc:  # any provider failure falls back to the data, never aborts
        return _fallback(data, importance, llm, one_line(str(exc), 300) or type(exc).__name__)
    _logger.info("the LLM summary was unusable (%s); asking once more", first)
    retry = [
        *messages,
        Message("assistant", bad.raw),
        Message(
            "user",
            f"That answer is unusable: {first}. Write the summary again as the JSON object"
            " described: real sentences of prose, every number as one of the placeholders"
            " listed (exactly as written there, e.g. {best_value}), no other braces.",
        ),
    ]
    try:
        summary = _llm_summary(data, importance, llm, seed, retry)
    except Exception as exc:
        second = one_line(str(exc), 300) or type(exc).__name__
        return _fallback(data, importance, llm, f"first answer: {first}; retry: {second}")
    return dataclasses.replace(
        summary,
        note=f"{summary.note}; retried once, as its first answer was unusable ({first})",
        prompt_tokens=summary.prompt_tokens + bad.tokens[0],
        completion_tokens=summary.completion_tokens + bad.tokens[1],
    )


def _fallback(
    data: ReportData, importance: Importance, llm: LLMClient, reason: str
) -> AgentSummary:
    _logger.warning("the LLM summary failed (%s); writing a data-only summary", reason)
    return data_summary(
        data,
        importance,
        note=f"{llm.name} could not write the summary ({reason}); this one is written from"
        " the stored data alone",
    )
