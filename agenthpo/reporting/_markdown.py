"""The Markdown version of the report: the same facts as the HTML page, as tables.

Plots are not embedded; the Markdown points to ``report.html`` for them.

Example:
    >>> md_cell("a | b\\nc")
    'a \\\\| b c'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
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
)
from agenthpo.reporting._placeholders import Filled
from agenthpo.reporting._revisions import revision_lines

if TYPE_CHECKING:
    from agenthpo.reporting._build import Report

__all__ = ["md_cell", "render_markdown"]


def md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(value).split()).replace("|", "\\|")


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
        return [f"**Noise-robust selection:** {data.selection_note}.", ""]
    out = [f"**Noise-robust selection:** {sel.verdict()}.", ""]
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
    out += ["", f"Why: {sel.reason}."]
    if sel.note:
        out.append(f"Not as planned: {sel.note}.")
    out += [
        f"({data.reevaluations} runs of the budget went to re-evaluation on further seeds.)",
        "",
    ]
    return out


def _or_dash(value: Any) -> Any:
    return DASH if value is None else value


def _filled(filled: Filled) -> str:
    out = []
    for s in filled.segments:
        if s.kind == "value":
            out.append(f"**{s.text}**")
        elif s.kind in ("removed", "invalid"):
            out.append(f"_{s.text}_")
        else:
            out.append(s.text)
    return "".join(out)


def _facts(title: str, facts: Any) -> list[str]:
    if not facts:
        return []
    if isinstance(facts, Mapping):
        items = [f"- {k}: {v if isinstance(v, str) else json.dumps(v)}" for k, v in facts.items()]
        return [f"**{title}**", "", *items, ""]
    return [f"**{title}**: {facts}", ""]


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
        rows.append([f"`{name}`", spec.get("type", ""), values, spec.get("description", "")])
    return _table(["parameter", "type", "range / choices", "note"], rows)


def render_markdown(report: Report) -> str:
    """The whole report as Markdown."""
    data = report.data
    s = report.summary
    counts = data.counts()
    goal = ", ".join(f"{d} `{m}`" for d, m in data.objectives())
    states = ", ".join(f"{v} {'failed' if k == 'fail' else k}" for k, v in counts.items() if v)
    out = [
        f"# {data.study_name}: AgentHPO study report",
        "",
        f"Goal: {goal}. {len(data.trials)} trials ({states or 'none'}). Generated"
        f" {report.generated}. Plots: `report.html` beside this file.",
        "",
        "## Task",
        "",
    ]
    if data.task.get("description"):
        out += [str(data.task["description"]), ""]
    if data.hidden_metrics:
        out += ["Hidden from the agent: " + ", ".join(f"`{h}`" for h in data.hidden_metrics), ""]
    out += _facts("Dataset", data.task.get("dataset"))
    out += _facts("Model", data.task.get("model"))
    if data.space:
        out += ["**Search space**", "", *_space(data.space), ""]
    if data.revisions:
        out += [*revision_lines(data.revisions), ""]

    out += ["## Recommended configuration" if data.selection else "## Best result", ""]
    if data.multi_objective:
        out += [f"{len(data.pareto)} Pareto-optimal trials:", ""]
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
        by = f", proposed by {b.proposed_by}" if b.proposed_by else ""
        out += [f"**{data.metric} = {fmt_value(b.value)}** (trial {b.number}{by})", ""]
        out += _selection(data)
        if b.noise is not None and data.selection is None:
            out += [
                f"Noise band: re-run with {b.noise.n} seeds, {fmt_value(b.noise.mean)} ±"
                f" {fmt_value(b.noise.std)} (mean ± standard deviation).",
                "",
            ]
        out += _table(
            ["parameter", "value"], [[f"`{k}`", fmt_param(v)] for k, v in b.params.items()]
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
            out += [f"Why it was proposed: {b.rationale}", ""]

    source = f"written by {s.author}" if s.source == "llm" else "data-only"
    out += ["## The agent's summary", "", f"_{source}: {s.note}._", ""]
    for section in s.sections:
        if not section.paragraphs:
            continue
        out += [f"### {section.title}", ""]
        if section.bullets:
            out += [f"- {_filled(p)}" for p in section.paragraphs]
        else:
            out += [_filled(p) for p in section.paragraphs]
        out.append("")
    out += ["### Checks", ""]
    if s.source == "llm":
        cited = ", ".join(str(n) for n in s.cited_trials) or "none"
        out.append(f"- Trials cited (all exist): {cited}")
    out += [f"- {p.kind.replace('_', ' ')}: {p.detail}" for p in s.problems]
    if not s.problems:
        out.append("- No number outside a placeholder, no unknown trial or parameter.")
    out.append("")
    imp = report.importance
    out += [f"### Important parameters (measured by {imp.evaluator or 'n/a'})", ""]
    if s.source == "llm":
        out += _table(
            ["parameter", "LLM rank", "measured share", "measured rank", "flag", "note"],
            [
                [
                    f"`{r.param}`",
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
                    f"`{r.param}`",
                    fmt_share(r.share) if r.share is not None else DASH,
                    _or_dash(r.measured_rank),
                    "important" if r.status == "measured_only" else r.note,
                ]
                for r in s.comparison
            ],
        )
    out.append("")
    if imp.note:
        out += [f"Importance: {imp.note}.", ""]

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
    out += [*c.lines(data.metric, best_value), ""]
    if u.fallback_reasons:
        out += [*_table(["fallback reason", "trials"], list(u.fallback_reasons.items())), ""]

    if report.figures or report.notes:
        out += ["## Plots", ""]
        out += [f"- {f.title} (in report.html): {f.caption}" for f in report.figures]
        out += [f"- Left out: {n}" for n in report.notes]
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
    out += _table(
        ["trial", "state", data.metric, "config", "proposed by", "rationale", "analysis / error"],
        rows,
    )
    out.append("")
    return "\n".join(out)
