"""The Markdown version of the report: the same facts as the HTML page, as tables.

Plots are not embedded; the Markdown points to ``report.html`` for them. Every piece of
stored or LLM-written text goes through :func:`md_text` (or :func:`md_cell`, :func:`md_code`),
which escapes ``&``, ``<`` and ``>``: a Markdown viewer that renders HTML shows it as text,
never as markup (the same as ``report.html`` does). Such text may still write Markdown links,
but only to ``http``, ``https`` and ``mailto`` addresses or relative ones; a link or link
definition to any other scheme (``javascript:``, ``data:``) is shown as plain text
(:func:`defuse_links`), since not every Markdown viewer refuses to follow it.

Example:
    >>> md_cell("a | b\\nc")
    'a \\\\| b c'
    >>> md_cell("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from agenthpo.reporting._data import ReportData
from agenthpo.reporting._format import (
    DASH,
    fmt_config,
    fmt_cost,
    fmt_int,
    fmt_param,
    fmt_share,
    fmt_value,
    plural,
)
from agenthpo.reporting._placeholders import Filled
from agenthpo.reporting._revisions import revision_lines

if TYPE_CHECKING:
    from agenthpo.reporting._build import Report

__all__ = ["Md", "defuse_links", "md_cell", "md_code", "md_text", "render_markdown"]


class Md(str):
    """Text that is already Markdown (our own markup around escaped text): not escaped again."""

    __slots__ = ()


SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
"""The URL schemes a link in outside text may keep; other schemes lose their link."""

_LINK_TARGET = re.compile(r"\]([(:])(?=([\s\S]{0,64}))")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
_URL_IGNORED = re.compile(r"[\x00-\x20]")


def _keep(match: re.Match[str]) -> str:
    opener, after = match.group(1), match.group(2)
    # Browsers drop control characters and spaces from an address, and Markdown drops the
    # backslash of an escaped ``\:``, so neither may hide a scheme.
    probe = _URL_IGNORED.sub("", after).replace("\\", "").lower()
    probe = probe.removeprefix("&lt;").removeprefix("<")
    scheme = _SCHEME.match(probe)
    if scheme is None or scheme.group(1) in SAFE_SCHEMES:
        return match.group(0)
    return f"]\\{opener}"


def defuse_links(text: str) -> str:
    """``text`` with every Markdown link, image or link definition whose target has a scheme
    other than :data:`SAFE_SCHEMES` turned into plain text (``](`` and ``]:`` become ``]\\(``
    and ``]\\:``, which a viewer shows as ``](`` and ``]:``); other links stay links.

    Example:
        >>> defuse_links("[x](javascript:alert(1)) and [docs](https://optuna.org)")
        '[x]\\\\(javascript:alert(1)) and [docs](https://optuna.org)'
        >>> defuse_links("[r]: JAVA SCRIPT:alert(1)")
        '[r]\\\\: JAVA SCRIPT:alert(1)'
    """
    return _LINK_TARGET.sub(_keep, text)


def _outside(text: str) -> str:
    """Outside text (stored, from the task file or an LLM) as Markdown that shows it: HTML
    escaped and links to unsafe schemes defused; line breaks kept."""
    return defuse_links(escape(text, quote=False))


def md_text(value: Any) -> str:
    """Stored or LLM text on one line, with ``&``, ``<`` and ``>`` escaped (a Markdown viewer
    that renders HTML shows them as characters; numbers and plain words are unchanged) and
    links to unsafe schemes defused (:func:`defuse_links`).

    Example:
        >>> md_text("a <b>\\n & c")
        'a &lt;b&gt; &amp; c'
    """
    if isinstance(value, Md):
        return str(value)
    return _outside(" ".join(str(value).split()))


def md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell: :func:`md_text`, with ``|`` escaped too."""
    if isinstance(value, Md):
        return str(value)
    return md_text(value).replace("|", "\\|")


def md_code(value: Any) -> Md:
    """A name (a parameter, a metric) as inline code, or as escaped text when it holds
    characters that a code span would show as entities or that would end it.

    Example:
        >>> md_code("lr"), md_code("<b>")
        ('`lr`', '&lt;b&gt;')
    """
    text = " ".join(str(value).split())
    if any(c in text for c in "<>&`|") or not text:
        return Md(md_cell(text))
    return Md(f"`{text}`")


def _table(head: list[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    lines = ["| " + " | ".join(md_cell(h) for h in head) + " |"]
    lines.append("|" + "|".join(" --- " for _ in head) + "|")
    lines.extend("| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows)
    return lines


def _selection(data: ReportData) -> list[str]:
    """The noise-robust selection: the verdict, each configuration's mean ± sd over
    seeds, and why; or why there is none."""
    sel = data.selection
    if sel is None:
        if not data.selection_note:
            return []
        return [f"**Noise-robust selection:** {md_text(data.selection_note)}.", ""]
    out = [f"**Noise-robust selection:** {md_text(sel.verdict())}.", ""]
    rows = []
    for role, number, band in sel.rows():
        trial = data.trial(number)
        rows.append(
            [
                role,
                number,
                f"{fmt_value(band.mean)} ± {fmt_value(band.std)}" if band else DASH,
                band.n if band else DASH,
                fmt_value(trial.value) if trial else DASH,
            ]
        )
    out += _table(
        ["", "trial", f"{data.metric} mean ± sd over seeds", "seeds", "its single run"], rows
    )
    out += ["", f"Why: {md_text(sel.reason)}."]
    if sel.note:
        out.append(f"Not as planned: {md_text(sel.note)}.")
    out += [
        f"({plural(data.reevaluations, 'run')} of the budget went to re-evaluation on further"
        " seeds.)",
        "",
    ]
    return out


def _or_dash(value: Any) -> Any:
    return DASH if value is None else value


def _filled(filled: Filled) -> str:
    out = []
    for s in filled.segments:
        text = escape(s.text, quote=False)
        if s.kind == "value":
            out.append(f"**{text}**")
        elif s.kind in ("removed", "invalid"):
            out.append(f"_{text}_")
        else:
            out.append(text)
    return defuse_links(" ".join("".join(out).split()))


def _facts(title: str, facts: Any) -> list[str]:
    if not facts:
        return []
    if isinstance(facts, Mapping):
        items = [
            f"- {md_text(k)}: {md_text(v if isinstance(v, str) else json.dumps(v))}"
            for k, v in facts.items()
        ]
        return [f"**{title}**", "", *items, ""]
    return [f"**{title}**: {md_text(facts)}", ""]


def _space(space: Mapping[str, Mapping[str, Any]]) -> list[str]:
    rows = []
    for name, spec in space.items():
        if "choices" in spec:
            values = ", ".join(fmt_param(c) for c in spec["choices"])
        elif "low" in spec and "high" in spec:
            values = f"{fmt_param(spec['low'])} … {fmt_param(spec['high'])}"
            if spec.get("log"):
                values += " (log)"
        else:
            values = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "type")
        rows.append([md_code(name), spec.get("type", ""), values, spec.get("description", "")])
    return _table(["parameter", "type", "range / choices", "note"], rows)


def render_markdown(report: Report) -> str:
    """The whole report as Markdown."""
    data = report.data
    s = report.summary
    goal = ", ".join(f"{d} {md_code(m)}" for d, m in data.objectives())
    out = [
        f"# {md_text(data.study_name)}: AgentHPO study report",
        "",
        f"Goal: {goal}. {plural(len(data.trials), 'trial')} ({data.state_text()}). Generated"
        f" {report.generated}. Plots: `report.html` beside this file.",
        "",
        "## Task",
        "",
    ]
    if data.task.get("description"):
        description = _outside(str(data.task["description"]).strip())
        out += [description, ""]
    if data.hidden_metrics:
        hidden = ", ".join(md_code(h) for h in data.hidden_metrics)
        out += [f"Hidden from the agent: {hidden}", ""]
    out += _facts("Dataset", data.task.get("dataset"))
    out += _facts("Model", data.task.get("model"))
    if data.space:
        out += ["**Search space**", "", *_space(data.space), ""]
    if data.revisions:
        out += [*(md_text(line) for line in revision_lines(data.revisions)), ""]
    if not data.task:
        out += [
            "The study stores no task background (it was not run by AgentHPO's tuner).",
            "",
        ]

    out += ["## Recommended configuration" if data.selection else "## Best result", ""]
    if data.multi_objective:
        out += [f"{plural(len(data.pareto), 'Pareto-optimal trial')}:", ""]
        out += _table(
            ["trial", *data.metric_names, "config"],
            [
                [t.number, *[fmt_value(v) for v in t.values or ()], fmt_config(t.params)]
                for t in data.pareto
            ],
        )
        out.append("")
    elif data.best is None:
        out += ["No trial has completed yet.", ""]
    else:
        b = data.best
        by = f", proposed by {md_text(b.proposed_by)}" if b.proposed_by else ""
        out += [f"**{md_text(data.metric)} = {fmt_value(b.value)}** (trial {b.number}{by})", ""]
        out += _selection(data)
        if b.noise is not None and data.selection is None:
            out += [
                f"Noise band: re-run with {b.noise.n} seeds, {fmt_value(b.noise.mean)} ±"
                f" {fmt_value(b.noise.std)} (mean ± standard deviation).",
                "",
            ]
        out += _table(
            ["parameter", "value"], [[md_code(k), fmt_param(v)] for k, v in b.params.items()]
        )
        out.append("")
        others = [
            [k + (" (hidden from the agent)" if k in data.hidden_metrics else ""), fmt_value(v)]
            for k, v in b.metrics.items()
            if k != data.metric
        ]
        if others:
            out += [*_table(["other metric", "value"], others), ""]
        if b.rationale:
            out += [f"Why it was proposed: {md_text(b.rationale)}", ""]

    # An LLM summary's note already says who wrote it ("written by MODEL from ...").
    note = md_text(s.note)
    out += [
        "## The agent's summary",
        "",
        f"_{note}._" if s.source == "llm" else f"_data-only: {note}._",
        "",
    ]
    for section in s.sections:
        if not section.paragraphs:
            continue
        out += [f"### {md_text(section.title)}", ""]
        if section.bullets:
            out += [f"- {_filled(p)}" for p in section.paragraphs]
        else:
            out += [_filled(p) for p in section.paragraphs]
        out.append("")
    out += ["### Checks", ""]
    if s.source == "llm":
        cited = ", ".join(str(n) for n in s.cited_trials) or "none"
        out.append(f"- Trials cited (all exist): {cited}")
    out += [f"- {p.kind.replace('_', ' ')}: {md_text(p.detail)}" for p in s.problems]
    if not s.problems:
        out.append("- No number outside a placeholder, no unknown trial or parameter.")
    out.append("")
    imp = report.importance
    out += [f"### Important parameters (measured by {md_text(imp.evaluator or 'n/a')})", ""]
    if s.source == "llm":
        out += _table(
            ["parameter", "LLM rank", "measured share", "measured rank", "flag", "note"],
            [
                [
                    md_code(r.param),
                    _or_dash(r.llm_rank),
                    fmt_share(r.share) if r.share is not None else DASH,
                    _or_dash(r.measured_rank),
                    "DISAGREE" if r.flagged else "",
                    r.note,
                ]
                for r in s.comparison
            ],
        )
    else:
        out += _table(
            ["parameter", "measured share", "measured rank", ""],
            [
                [
                    md_code(r.param),
                    fmt_share(r.share) if r.share is not None else DASH,
                    _or_dash(r.measured_rank),
                    "important" if r.status == "measured_only" else r.note,
                ]
                for r in s.comparison
            ],
        )
    out.append("")
    if imp.note:
        out += [f"Importance: {md_text(imp.note)}.", ""]

    u = data.llm
    out += ["## LLM usage", ""]
    out += _table(
        ["calls", "prompt tokens", "completion tokens", "cost", "LLM time", "fallbacks"],
        [
            [
                fmt_int(u.calls),
                fmt_int(u.prompt_tokens),
                fmt_int(u.completion_tokens),
                fmt_cost(u.cost_usd),
                f"{u.latency_s:.1f} s",
                fmt_int(u.fallbacks),
            ]
        ],
    )
    out.append("")
    c = data.contribution
    out += ["### What the LLM added", ""]
    if c.sources:
        out += [*_table(c.header(data.metric), c.rows()), ""]
        out += [
            "Mean rank: the mean percentile of a source's trials among all finished ones (100%"
            " is the best; failed and pruned trials rank last). Running median: the median"
            " result of the trials before each one.",
            "",
        ]
    best_value = None
    if c.best_trial is not None:
        row = data.trial(c.best_trial)
        best_value = row.value if row is not None else None
    out += [*(md_text(line) for line in c.lines(data.metric, best_value)), ""]
    if u.fallback_reasons:
        out += [*_table(["fallback reason", "trials"], list(u.fallback_reasons.items())), ""]

    if report.figures or report.notes:
        out += ["## Plots", ""]
        out += [
            f"- {md_text(f.title)} (in report.html): {md_text(f.caption)}" for f in report.figures
        ]
        out += [f"- Left out: {md_text(n)}" for n in report.notes]
        out.append("")

    out += ["## Trials", ""]
    rows = []
    for t in data.trials:
        if t.values:
            value = " / ".join(fmt_value(v) for v in t.values)
            if t.noise is not None:
                value += f" (seeds {fmt_value(t.noise.mean)} ± {fmt_value(t.noise.std)})"
        else:
            value = DASH
        analysis = t.analysis_beyond_error
        notes = "; ".join(
            x
            for x in (
                analysis,
                f"error: {t.error}" if t.error else "",
                f"rationale check: {t.rationale_check}" if t.rationale_check else "",
                f"an LLM answer nearly repeated trial {t.near_copy}"
                if t.near_copy is not None
                else "",
                f"an LLM answer lay where {t.failure_region}" if t.failure_region else "",
            )
            if x
        )
        rows.append(
            [t.number, t.state, value, fmt_config(t.params), t.proposed_by, t.rationale, notes]
        )
    values = " / ".join(data.metric_names)
    out += _table(
        ["trial", "state", values, "config", "proposed by", "rationale", "analysis / error"],
        rows,
    )
    out.append("")
    return "\n".join(out)
