"""The self-contained HTML page: plotly.js inlined once, every figure's data inline.

The page needs no network and works opened from ``file://``. It records script errors and
how many plots it drew in ``window.agenthpoReport`` (``{errors, drawn, expected, done}``), so a
headless browser can check it.

Example:
    >>> html_escape_json({"a": "</script>"})
    '{"a": "\\\\u003c/script\\\\u003e"}'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from agenthpo._jsonsafe import without_nonfinite
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

if TYPE_CHECKING:
    from agenthpo.reporting._build import Report
    from agenthpo.reporting._data import ReportData, TrialRow

__all__ = ["html_escape_json", "render_html"]

CSS = """
:root { --fg:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#f8fafc; --card:#fff;
  --accent:#7c3aed; --ok:#059669; --warn:#b45309; --bad:#dc2626; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,
  sans-serif; color:var(--fg); background:var(--bg); }
header { background:#111827; color:#f9fafb; padding:22px 32px 16px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:650; }
header .sub { color:#d1d5db; margin:0; }
header nav { margin-top:12px; display:flex; flex-wrap:wrap; gap:6px 14px; font-size:13px; }
header nav a { color:#c4b5fd; text-decoration:none; }
main { max-width:1180px; margin:0 auto; padding:20px 24px 40px; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px;
  padding:18px 22px; margin:0 0 18px; }
section h2 { margin:0 0 10px; font-size:18px; }
h3 { font-size:15px; margin:14px 0 6px; }
.grid { display:grid; grid-template-columns: 1fr 1fr; gap:18px; }
@media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
.grid > section { margin:0; }
.big { font-size:34px; font-weight:700; letter-spacing:-0.5px; }
.muted { color:var(--muted); }
.small { font-size:13px; }
table { border-collapse:collapse; width:100%; font-size:13.5px; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line);
  vertical-align:top; }
th { background:#f3f4f6; font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.scroll { overflow:auto; max-height:720px; border:1px solid var(--line); border-radius:6px; }
.scroll table th { position:sticky; top:0; z-index:1; }
code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
  font-size:12.5px; }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px;
  font-weight:600; background:#ede9fe; color:#5b21b6; }
.badge.data { background:#e0f2fe; color:#075985; }
.badge.warn { background:#fef3c7; color:#92400e; }
.badge.bad { background:#fee2e2; color:#991b1b; }
.badge.ok { background:#d1fae5; color:#065f46; }
.state-complete { color:var(--ok); } .state-fail { color:var(--bad); }
.state-pruned { color:var(--warn); } .state-running { color:var(--muted); }
.state-interrupted { color:var(--muted); }
tr.best td { background:#f5f3ff; }
tr.flag td { background:#fff7ed; }
.value { background:#eef2ff; border-radius:4px; padding:0 3px; font-weight:600; }
a.trial { color:var(--accent); font-weight:600; text-decoration:none; }
.removed { background:#fee2e2; color:#991b1b; border-radius:4px; padding:0 3px; }
.invalid { background:#fef3c7; color:#92400e; border-radius:4px; padding:0 3px; }
.summary p { margin:6px 0 10px; }
.summary ul { margin:4px 0 10px; padding-left:22px; }
.checks li { margin:2px 0; }
.figure { min-height:200px; width:100%; }
table.trials td:nth-child(2) { white-space:nowrap; }
table.trials td.mono { min-width:230px; word-break:break-word; }
table.trials td:nth-child(6), table.trials td:nth-child(7) { min-width:180px; }
.caption { color:var(--muted); font-size:13px; margin:4px 0 0; }
.kv td:first-child { color:var(--muted); width:38%; }
.err { color:var(--bad); }
footer { color:var(--muted); font-size:12.5px; text-align:center; padding:10px; }
"""

BOOT_JS = """
window.agenthpoReport = {errors: [], drawn: 0, expected: 0, done: false};
window.addEventListener('error', function (e) {
  window.agenthpoReport.errors.push(String(e.message || e.type));
});
window.addEventListener('unhandledrejection', function (e) {
  window.agenthpoReport.errors.push('unhandled rejection: ' + String(e.reason));
});
"""

DRAW_JS = """
(function () {
  var state = window.agenthpoReport;
  var nodes = document.querySelectorAll('script.agenthpo-figure');
  state.expected = nodes.length;
  if (typeof Plotly === 'undefined') {
    state.errors.push('plotly.js did not load');
    state.done = true;
    return;
  }
  var pending = [];
  nodes.forEach(function (node) {
    var target = document.getElementById(node.getAttribute('data-target'));
    try {
      var spec = JSON.parse(node.textContent);
      var config = {responsive: true, displaylogo: false};
      pending.push(Plotly.newPlot(target, spec.data, spec.layout, config).then(function () {
        state.drawn += 1;
      }, function (err) { state.errors.push('plot ' + target.id + ': ' + String(err)); }));
    } catch (err) {
      state.errors.push('plot ' + node.getAttribute('data-target') + ': ' + String(err));
    }
  });
  Promise.all(pending).then(function () {
    state.done = true;
    document.body.setAttribute('data-plots-drawn', String(state.drawn));
  });
})();
"""


def html_escape_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (non-finite numbers become null)."""
    text = json.dumps(without_nonfinite(value, as_text=False), allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _table(
    head: Iterable[str],
    rows: Iterable[Iterable[str]],
    cls: str = "",
    row_classes: Iterable[str] | None = None,
) -> str:
    """An HTML table; a head starting with ``#`` is a right-aligned number column."""
    head = list(head)
    heads = "".join(
        f'<th class="num">{h[1:]}</th>' if h.startswith("#") else f"<th>{h}</th>" for h in head
    )
    thead = f"<thead><tr>{heads}</tr></thead>" if any(head) else ""
    classes = list(row_classes) if row_classes is not None else []
    body = []
    for i, row in enumerate(rows):
        cells = "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row)
        row_cls = classes[i] if i < len(classes) else ""
        body.append(f'<tr class="{row_cls}">{cells}</tr>' if row_cls else f"<tr>{cells}</tr>")
    cls_attr = f' class="{cls}"' if cls else ""
    return f"<table{cls_attr}>{thead}<tbody>{''.join(body)}</tbody></table>"


def _num(text: str) -> str:
    return f'<td class="num">{text}</td>'


def _trial_link(number: int) -> str:
    return f'<a class="trial" href="#trial-{number}">trial {number}</a>'


def _filled(filled: Filled) -> str:
    out = []
    for s in filled.segments:
        if s.kind == "text":
            out.append(_e(s.text))
        elif s.kind == "trial" and s.trial is not None:
            out.append(_trial_link(s.trial))
        elif s.kind == "value":
            title = _e(f"from storage: {s.source}")
            out.append(f'<span class="value" title="{title}">{_e(s.text)}</span>')
        elif s.kind == "removed":
            title = _e(f"the LLM wrote {s.source!r} without a placeholder; removed")
            out.append(f'<span class="removed" title="{title}">{_e(s.text)}</span>')
        else:
            title = _e(f"{s.source}: not filled")
            out.append(f'<span class="invalid" title="{title}">{_e(s.text)}</span>')
    return "".join(out)


def _facts(facts: Any) -> str:
    if isinstance(facts, Mapping):
        if not facts:
            return ""
        rows = [[_e(k), _e(v if isinstance(v, str) else json.dumps(v))] for k, v in facts.items()]
        return _table(["", ""], rows, "kv")
    return f"<p>{_e(facts)}</p>" if facts else ""


def _space_rows(space: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for name, spec in space.items():
        kind = str(spec.get("type", ""))
        if "choices" in spec:
            values = ", ".join(fmt_param(c) for c in spec["choices"])
        elif "low" in spec and "high" in spec:
            values = f"{fmt_param(spec['low'])} … {fmt_param(spec['high'])}"
            if spec.get("log"):
                values += " (log)"
            step = spec.get("step")
            if step not in (None, 1) or (step is not None and kind == "float"):
                values += f", step {fmt_param(step)}"
        else:
            values = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "type")
        rows.append(
            [f"<code>{_e(name)}</code>", _e(kind), _e(values), _e(spec.get("description", ""))]
        )
    return rows


def _task(report: Report) -> str:
    data = report.data
    task = data.task
    parts = ['<section id="task"><h2>Task</h2>']
    if task.get("description"):
        parts.append(f"<p>{_e(task['description'])}</p>")
    goal = ", ".join(f"{d} <code>{_e(m)}</code>" for d, m in data.objectives())
    parts.append(f'<p class="small"><b>Goal:</b> {goal}')
    if data.hidden_metrics:
        hidden = ", ".join(f"<code>{_e(h)}</code>" for h in data.hidden_metrics)
        parts.append(f" · <b>hidden from the agent:</b> {hidden}")
    parts.append("</p>")
    for key, title in (("dataset", "Dataset"), ("model", "Model")):
        facts = _facts(task.get(key))
        if facts:
            parts.append(f"<h3>{title}</h3>{facts}")
    if data.space:
        parts.append("<h3>Search space</h3>")
        parts.append(
            _table(["parameter", "type", "range / choices", "note"], _space_rows(data.space))
        )
        if any(r.accepted for r in data.revisions):
            parts.append(
                '<p class="small">The LLM revised these ranges while the study ran:'
                ' see <a href="#revisions">Search space revisions</a>.</p>'
            )
    if not task:
        parts.append(
            '<p class="muted">The study stores no task background (it was not run by'
            " AgentHPO's tuner).</p>"
        )
    parts.append("</section>")
    return "".join(parts)


def _value_with_noise(t: TrialRow) -> str:
    text = fmt_value(t.value)
    if t.noise is not None:
        band = f"seeds: {fmt_value(t.noise.mean)} ± {fmt_value(t.noise.std)}, n={t.noise.n}"
        text += f' <span class="muted">({band})</span>'
    return text


def _selection(data: ReportData) -> str:
    """The noise-robust selection: the verdict, each configuration's mean ± sd over
    seeds, and why; or why there is none."""
    sel = data.selection
    if sel is None:
        if not data.selection_note:
            return ""
        return f'<p><span class="badge warn">no selection</span> {_e(data.selection_note)}.</p>'
    badge = (
        '<span class="badge ok">improvement</span>'
        if sel.improvement
        else '<span class="badge warn">default recommended</span>'
        if sel.improvement is False
        else '<span class="badge">by mean</span>'
    )
    rows = []
    for role, number, band in sel.rows():
        trial = data.trial(number)
        rows.append(
            [
                _e(role),
                _trial_link(number),
                _num(f"{fmt_value(band.mean)} ± {fmt_value(band.std)}" if band else DASH),
                _num(str(band.n) if band else DASH),
                _num(fmt_value(trial.value) if trial else DASH),
            ]
        )
    parts = [
        f"<p>{badge} <b>Noise-robust selection:</b> {_e(sel.verdict())}.</p>",
        _table(
            ["", "trial", f"#{_e(data.metric)} mean ± sd over seeds", "#seeds", "#single run"],
            rows,
        ),
        f'<p class="small"><b>Why:</b> {_e(sel.reason)}.</p>',
    ]
    if sel.note:
        parts.append(f'<p class="small"><b>Not as planned:</b> {_e(sel.note)}.</p>')
    parts.append(
        f'<p class="small muted">{plural(data.reevaluations, "run")} of the budget went to'
        " re-evaluation on further seeds.</p>"
    )
    return "".join(parts)


def _best(report: Report) -> str:
    data = report.data
    title = "Recommended configuration" if data.selection else "Best result"
    parts = [f'<section id="best"><h2>{title}</h2>']
    best = data.best
    if data.multi_objective:
        if not data.pareto:
            parts.append('<p class="muted">No trial has completed yet.</p></section>')
            return "".join(parts)
        front = plural(len(data.pareto), "trial is", "trials are")
        parts.append(f"<p>{front} Pareto-optimal.</p>")
        rows = [
            [_trial_link(t.number)]
            + [_num(fmt_value(v)) for v in (t.values or ())]
            + [f'<span class="mono">{_e(fmt_config(t.params))}</span>']
            for t in data.pareto
        ]
        parts.append(_table(["trial", *[f"#{_e(m)}" for m in data.metric_names], "config"], rows))
        parts.append("</section>")
        return "".join(parts)
    if best is None:
        parts.append('<p class="muted">No trial has completed yet.</p></section>')
        return "".join(parts)
    parts.append(
        f'<div class="big">{fmt_value(best.value)}</div>'
        f'<p class="muted">{_e(data.metric)} ({_e(data.direction)}), {_trial_link(best.number)}'
        + (f", proposed by <b>{_e(best.proposed_by)}</b>" if best.proposed_by else "")
        + "</p>"
    )
    parts.append(_selection(data))
    if best.noise is not None and data.selection is None:
        n = best.noise
        parts.append(
            f'<p><span class="badge warn">noise band</span> re-run with {n.n} seeds:'
            f" <b>{fmt_value(n.mean)} ± {fmt_value(n.std)}</b> (mean ± standard deviation)</p>"
        )
    rows = [
        [f"<code>{_e(k)}</code>", f'<span class="mono">{_e(fmt_param(v))}</span>']
        for k, v in best.params.items()
    ]
    parts.append(_table(["parameter", "value"], rows, "kv"))
    others = [(k, v) for k, v in best.metrics.items() if k != data.metric]
    if others:
        cells = []
        for k, v in others:
            tag = (
                ' <span class="badge warn">hidden from the agent</span>'
                if k in data.hidden_metrics
                else ""
            )
            cells.append([f"<code>{_e(k)}</code>{tag}", _num(fmt_value(v))])
        parts.append("<h3>Its other metrics</h3>" + _table(["metric", "#value"], cells, "kv"))
    if best.rationale:
        parts.append(f'<p class="small"><b>Why it was proposed:</b> {_e(best.rationale)}</p>')
    if best.analysis:
        parts.append(f'<p class="small"><b>Analysis:</b> {_e(best.analysis)}</p>')
    parts.append("</section>")
    return "".join(parts)


_STATUS = {
    "agree": ('<span class="badge ok">agree</span>', False),
    "agree_unimportant": ('<span class="badge ok">agree</span>', False),
    "llm_only": ('<span class="badge bad">disagree</span>', True),
    "measured_only": ('<span class="badge bad">disagree</span>', True),
    "not_measurable": ('<span class="badge">not measurable</span>', False),
    "not_measured": ('<span class="badge">not measured</span>', False),
}


def _summary(report: Report) -> str:
    s = report.summary
    badge = (
        f'<span class="badge">by {_e(s.author)}</span>'
        if s.source == "llm"
        else '<span class="badge data">data-only summary</span>'
    )
    parts = [f'<section id="summary" class="summary"><h2>The agent\'s summary {badge}</h2>']
    parts.append(
        f'<p class="small muted">{_e(s.note)}.'
        " Highlighted values are filled in from storage; hover to see their source.</p>"
    )
    for section in s.sections:
        if not section.paragraphs:
            continue
        parts.append(f"<h3>{_e(section.title)}</h3>")
        if section.bullets:
            parts.append(
                "<ul>" + "".join(f"<li>{_filled(p)}</li>" for p in section.paragraphs) + "</ul>"
            )
        else:
            parts.extend(f"<p>{_filled(p)}</p>" for p in section.paragraphs)
    parts.append('<h3>Checks</h3><ul class="checks small">')
    if s.source == "llm":
        cited = ", ".join(_trial_link(n) for n in s.cited_trials) or "none"
        parts.append(f"<li>Trials cited (all exist in the study): {cited}</li>")
    if s.problems:
        for p in s.problems:
            parts.append(
                f'<li><span class="badge bad">{_e(p.kind.replace("_", " "))}</span>'
                f" {_e(p.detail)}</li>"
            )
    elif s.source == "llm":
        parts.append(
            '<li><span class="badge ok">passed</span> no number outside a placeholder,'
            " no unknown trial or parameter</li>"
        )
    else:
        parts.append("<li>Written by AgentHPO from the stored data: nothing to check.</li>")
    parts.append("</ul>")
    imp = report.importance
    parts.append(
        "<h3>Important parameters: the "
        + ("LLM's list beside the measurement" if s.source == "llm" else "measurement")
        + "</h3>"
    )
    llm_mode = s.source == "llm"
    rows = []
    for r in s.comparison:
        share = _num(fmt_share(r.share) if r.share is not None else DASH)
        rank = _num(str(r.measured_rank) if r.measured_rank is not None else DASH)
        if llm_mode:
            llm_rank = _num(str(r.llm_rank) if r.llm_rank is not None else DASH)
            note = f'<span class="small">{_e(r.note)}</span>'
            rows.append(
                [f"<code>{_e(r.param)}</code>", llm_rank, share, rank, _STATUS[r.status][0], note]
            )
        else:
            badge = {
                "measured_only": '<span class="badge ok">important</span>',
                "not_measurable": _STATUS["not_measurable"][0],
                "not_measured": _STATUS["not_measured"][0],
            }.get(r.status, "")
            rows.append([f"<code>{_e(r.param)}</code>", share, rank, badge])
    measured = f"#measured share ({_e(imp.evaluator or 'n/a')})"
    head = (
        ["parameter", "#LLM rank", measured, "#rank", "", "note"]
        if llm_mode
        else ["parameter", measured, "#rank", ""]
    )
    table = _table(head, rows, row_classes=["flag" if r.flagged else "" for r in s.comparison])
    parts.append(table)
    if s.flagged:
        parts.append(
            f'<p class="small"><span class="badge bad">{len(s.flagged)} disagreement'
            f"{'s' if len(s.flagged) != 1 else ''}</span> between the LLM and the measured"
            f" importance (important: a share of at least {fmt_share(imp.threshold())},"
            " half an even share).</p>"
        )
    if s.source == "llm":
        parts.append(
            f'<p class="small muted">This summary cost {fmt_int(s.prompt_tokens)} prompt +'
            f" {fmt_int(s.completion_tokens)} completion tokens.</p>"
        )
    parts.append("</section>")
    return "".join(parts)


def _figure(index: int, figure_key: str, title: str, caption: str) -> str:
    return (
        f'<section id="{figure_key}"><h2>{_e(title)}</h2>'
        f'<div class="figure" id="fig-{index}"></div>'
        f'<p class="caption">{_e(caption)}</p></section>'
    )


def _llm(report: Report) -> str:
    data = report.data
    u = data.llm
    parts = ['<section id="llm"><h2>LLM usage and who proposed what</h2>']
    if not u.calls and not u.models:
        parts.append('<p class="muted">No LLM was asked while tuning this study.</p>')
    rows = [
        ["models", _e(", ".join(u.models) or "none")],
        ["calls", _num(fmt_int(u.calls))],
        ["trials that asked the LLM", _num(fmt_int(u.trials_asked))],
        ["prompt tokens", _num(fmt_int(u.prompt_tokens))],
        ["completion tokens", _num(fmt_int(u.completion_tokens))],
        ["total tokens", _num(fmt_int(u.total_tokens))],
        ["cost", _num(fmt_cost(u.cost_usd))],
        ["LLM time", _num(f"{u.latency_s:.1f} s")],
        ["fallbacks to the backbone", _num(fmt_int(u.fallbacks))],
    ]
    usage = _table(["while tuning", ""], rows, "kv") if u.calls or u.models else ""
    grid = ['<div class="grid"><div>' + usage + "</div><div>"]
    grid.append(_contribution(report))
    if u.fallback_reasons:
        frows = [[_e(k), _num(fmt_int(v))] for k, v in u.fallback_reasons.items()]
        grid.append("<h3>Why the backbone stepped in</h3>" + _table(["reason", "#trials"], frows))
    grid.append("</div></div>")
    parts.extend(grid)
    parts.append("</section>")
    return "".join(parts)


def _contribution(report: Report) -> str:
    """What the LLM added: per source, ranks, wins over the running median, the best."""
    data = report.data
    c = data.contribution
    parts = ["<h3>What the LLM added</h3>"]
    if c.sources:
        head = [_e(h) for h in c.header(data.metric)]
        head[1:5] = [f"#{h}" for h in head[1:5]]
        head[5] = f"#{head[5]}"
        rows = []
        for stats, cells in zip(c.sources, c.rows(), strict=True):
            best = _trial_link(stats.best_trial) if stats.best_trial is not None else DASH
            rows.append([_e(cells[0]), *(_num(_e(x)) for x in cells[1:6]), best])
        parts.append(_table(head, rows))
        parts.append(
            '<p class="small muted">Mean rank: the mean percentile of a source\'s trials among'
            " all finished ones (100% is the best; failed and pruned trials rank last)."
            " Running median: the median result of the trials before each one.</p>"
        )
    best_value = None
    if c.best_trial is not None:
        row = data.trial(c.best_trial)
        best_value = row.value if row is not None else None
    parts.extend(f'<p class="small">{_e(line)}</p>' for line in c.lines(data.metric, best_value))
    return "".join(parts)


def _trial_rows(report: Report) -> list[str]:
    data = report.data
    best = data.best.number if data.best else None
    pareto = {t.number for t in data.pareto}
    out = []
    for t in data.trials:
        values = (
            " / ".join(fmt_value(v) for v in t.values)
            if t.values and data.multi_objective
            else _value_with_noise(t)
            if t.values
            else DASH
        )
        others = "<br>".join(
            _e(f"{k}={fmt_value(v)}" + (" (hidden)" if k in data.hidden_metrics else ""))
            for k, v in t.metrics.items()
            if k != data.metric
        )
        notes = []
        if t.analysis_beyond_error:
            notes.append(_e(t.analysis_beyond_error))
        if t.error:
            notes.append(f'<span class="err">error: {_e(t.error)}</span>')
        if t.fallback_reason:
            notes.append(f'<span class="muted">fallback: {_e(t.fallback_reason)}</span>')
        if t.rationale_check:
            notes.append(f'<span class="err">rationale check: {_e(t.rationale_check)}</span>')
        if t.near_copy is not None:
            notes.append(
                f'<span class="muted">an LLM answer nearly repeated trial {t.near_copy}</span>'
            )
        if t.failure_region:
            notes.append(
                f'<span class="muted">an LLM answer lay where {_e(t.failure_region)}</span>'
            )
        cls = ' class="best"' if t.number == best or t.number in pareto else ""
        out.append(
            f'<tr id="trial-{t.number}"{cls}>'
            f'<td class="num">{t.number}</td>'
            f'<td class="state-{_e(t.state)}">{_e(t.state)}</td>'
            f'<td class="num">{values}</td>'
            f'<td class="mono">{_e(fmt_config(t.params))}</td>'
            f"<td>{_e(t.proposed_by)}</td>"
            f"<td>{_e(t.rationale)}</td>"
            f"<td>{'<br>'.join(notes)}</td>"
            f'<td class="small">{others}</td>'
            f'<td class="num">{"" if t.duration_s is None else f"{t.duration_s:.1f} s"}</td>'
            "</tr>"
        )
    return out


def _trials(report: Report) -> str:
    head = "".join(
        f'<th class="num">{h[1:]}</th>' if h.startswith("#") else f"<th>{h}</th>"
        for h in [
            "#trial",
            "state",
            f"#{_e(' / '.join(report.data.metric_names))}",
            "config",
            "proposed by",
            "rationale",
            "analysis / error",
            "other metrics",
            "#time",
        ]
    )
    return (
        f'<section id="trials"><h2>Trials ({len(report.data.trials)})</h2>'
        '<div class="scroll"><table class="trials"><thead><tr>'
        + head
        + "</tr></thead><tbody>"
        + "".join(_trial_rows(report))
        + "</tbody></table></div></section>"
    )


def _revisions(report: Report) -> str:
    """The revisions of the search space: each proposed change, its verdict and evidence."""
    rows_ = report.data.revisions
    if not rows_:
        return ""
    rows = []
    classes = []
    for r in rows_:
        at = _trial_link(r.at_trial) if r.at_trial is not None else ""
        if not r.param:
            rows.append([_num(str(r.round)), at, "", "", "", _e(r.note), "", ""])
            classes.append("muted")
            continue
        verdict = "accepted" if r.accepted else f"rejected: {r.reason}"
        if r.accepted and r.reason:
            verdict += f" ({r.reason})"
        evidence = ", ".join(_trial_link(n) for n in r.evidence)
        rows.append(
            [
                _num(str(r.round)),
                at,
                f"<code>{_e(r.param)}</code>",
                _e(r.span("old")),
                _e(r.span("new")) + (f" ({_e(r.kind)})" if r.kind else ""),
                _e(verdict),
                _e(r.rationale),
                evidence,
            ]
        )
        classes.append("" if r.accepted else "muted")
    table = _table(
        ["#revision", "at", "parameter", "before", "after", "verdict", "rationale", "evidence"],
        rows,
        row_classes=classes,
    )
    return (
        '<section id="revisions"><h2>Search space revisions</h2><p class="small">The LLM'
        " proposed these changes of the ranges from the trials so far; each was checked (a"
        " narrowed range keeps the best trials' values, a widening needs best trials near"
        " that bound and goes at most one range width, or one decade on a log scale, beyond"
        " it) and the accepted ones are the space later trials were drawn from.</p>"
        f"{table}</section>"
    )


def render_html(report: Report, plotly_js: str) -> str:
    """The whole page.

    Args:
        report: What to show.
        plotly_js: The plotly.js bundle to inline.
    """
    data = report.data
    state_text = data.state_text()
    goal = " · ".join(f"{d} {m}" for d, m in data.objectives())
    nav_items = [("task", "Task"), ("best", "Best"), ("summary", "Summary")]
    nav_items += [(f.key, f.title) for f in report.figures]
    if data.revisions:
        nav_items.append(("revisions", "Space revisions"))
    nav_items += [("llm", "LLM usage"), ("trials", "Trials")]
    nav = "".join(f'<a href="#{k}">{_e(t)}</a>' for k, t in nav_items)
    body = [
        f"<header><h1>{_e(data.study_name)}</h1>"
        f'<p class="sub">AgentHPO study report · {_e(goal)} · {plural(len(data.trials), "trial")}'
        f" ({_e(state_text)}) · generated {_e(report.generated)}</p>"
        f"<nav>{nav}</nav></header><main>",
        '<div class="grid" style="margin-bottom:18px">' + _task(report) + _best(report) + "</div>",
        _summary(report),
    ]
    islands = []
    for i, figure in enumerate(report.figures):
        body.append(_figure(i, figure.key, figure.title, figure.caption))
        islands.append(
            f'<script type="application/json" class="agenthpo-figure" data-target="fig-{i}">'
            f"{html_escape_json(figure.spec)}</script>"
        )
    if report.notes:
        body.append(
            '<section id="notes"><h2>Left out</h2><ul class="small">'
            + "".join(f"<li>{_e(n)}</li>" for n in report.notes)
            + "</ul></section>"
        )
    body.append(_revisions(report))
    body.append(_llm(report))
    body.append(_trials(report))
    body.append(
        f"</main><footer>AgentHPO {_e(report.version)} · built from the study's storage"
        " alone · plots by plotly.js, inlined</footer>"
    )
    facts = html_escape_json(report.facts())
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(data.study_name)}: AgentHPO report</title>"
        f"<style>{CSS}</style><script>{BOOT_JS}</script></head><body>"
        + "".join(body)
        + f'<script type="application/json" id="agenthpo-facts">{facts}</script>'
        + "".join(islands)
        + f"<script>{plotly_js}</script><script>{DRAW_JS}</script></body></html>\n"
    )
