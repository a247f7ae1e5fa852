"""The benchmark CLI: ``python -m benchmarks COMMAND`` (run, fresh-seeds, report, overhead,
llm-speed, calibrate, list).

Example:
    ``python -m benchmarks run --suite quick`` then ``python -m benchmarks report``.
"""

from __future__ import annotations

import os

# Before numpy, scikit-learn or llama.cpp load: one BLAS/OpenMP thread per process (the
# harness runs one process per core), one decoding thread for the embedded model.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("AGENTHPO_LLAMA_THREADS", "1")

import argparse  # noqa: E402
import datetime as _dt  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table  # noqa: E402

from benchmarks import REPO_ROOT, RESULTS_DIR  # noqa: E402

console = Console()


def _stamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:40] or "none"


def _git() -> str | None:
    """The commit the code ran at, with ``+dirty`` when agenthpo/ or benchmarks/ had edits."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "agenthpo", "benchmarks/*.py")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def _cpu_seconds() -> float:
    """CPU time of this process and its finished workers: what the run cost, whatever else
    shared the machine (its wall time depends on that)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime, 1)


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _versions() -> dict[str, str]:
    """The versions behind the objectives: a task's values can move with them."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for dist in (
        "scikit-learn",
        "numpy",
        "scipy",
        "torch",
        "transformers",
        "llguidance",
        "llama-cpp-python",
    ):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return out


def _host() -> dict[str, Any]:
    import optuna

    return {
        "loadavg_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        # The CPU too: liblinear's solutions (skl-linear-breast and -wine) differ in the
        # third digit between two machines with the same packages.
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "optuna": optuna.__version__,
        "versions": _versions(),
        "git": _git(),
        "arithmetic_fingerprint": arithmetic_fingerprint(),
    }


def arithmetic_fingerprint() -> str | None:
    """8 hex digits of what this machine's arithmetic makes of a fixed seeded search: the
    values of 2 random configurations of skl-svm-wine (scikit-learn's arithmetic) and the
    backbone's proposals in a fixed 8-trial study (GP's). With the same packages, commit and
    seed, two machines of this project gave scikit-learn values differing in their last digit
    and then different GP proposals, so runs compared seed for seed can match trial for trial
    only where this matches. ``None`` without PyTorch."""
    import hashlib
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return None
    import optuna

    from agenthpo.backbone import Backbone
    from benchmarks.runner import RunSpec, run_one

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=Backbone(seed=0))
    study.optimize(
        lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2 + t.suggest_float("y", 1e-3, 1, log=True),
        n_trials=8,
    )
    sklearn_values = run_one(RunSpec("skl-svm-wine", "random", 0, 2))["values"]
    text = repr(([sorted(t.params.items()) for t in study.trials], sklearn_values))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _current(run: dict[str, Any]) -> bool:
    """Whether a stored run is what this code would run now (not an older variant that the
    report labels apart: ``[random-uniform]``, ``[local, fixed share]``; not a run on an
    older version of the default backbone)."""
    from benchmarks.report import label, old_backbone

    if old_backbone(run):
        return False
    now = {
        **run,
        "llm_sampling": "space" if run.get("llm") == "random" else run.get("llm_sampling"),
        "share": "adaptive" if run["strategy"] in ("hybrid-tpe", "centaur") else None,
    }
    return label(run) == label(now)


def cmd_list(args: argparse.Namespace) -> int:
    """Prints the suites, tasks and strategies."""
    from benchmarks.optimizers import ALL_STRATEGIES, DEFAULT_STRATEGIES, available
    from benchmarks.tasks import SUITES, all_tasks, suite_tasks

    for suite in SUITES:
        console.print(f"[bold]{suite}[/bold]: {len(suite_tasks(suite))} tasks")
    table = Table("task", "suite", "params", "direction", "notes")
    for name, task in all_tasks().items():
        table.add_row(name, task.suite, str(len(task.space)), task.direction, task.notes)
    console.print(table)
    for s in ALL_STRATEGIES:
        why = available(s)
        tag = "default" if s in DEFAULT_STRATEGIES else "on request"
        console.print(f"{s}: {tag}" + (f" [red](unavailable: {why})[/red]" if why else ""))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Runs a suite and stores its results."""
    from benchmarks.controls import CONTROLS
    from benchmarks.optimizers import (
        DEFAULT_STRATEGIES,
        available,
        uses_llm,
        with_default_backbone,
    )
    from benchmarks.reference import load_reference
    from benchmarks.report import fingerprint_of
    from benchmarks.runner import RunSpec, load_results, run_plan, save_results, stored_key
    from benchmarks.tasks import QUICK_TRIALS, get_task, select_tasks

    strategies: list[str] = list(args.strategies or DEFAULT_STRATEGIES)
    for s in list(strategies):
        why = available(s)
        if why:
            console.print(f"[yellow]skipping {s}: {why}[/yellow]")
            strategies.remove(s)
    if not strategies:
        console.print("[red]no strategy to run[/red]")
        return 2
    try:
        tasks = select_tasks(args.suite, args.tasks or ())
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        return 2
    if args.exclude:
        import fnmatch

        tasks = [t for t in tasks if not any(fnmatch.fnmatchcase(t, p) for p in args.exclude)]
    if args.from_default:
        if "smac" in strategies:
            console.print("[yellow]skipping smac: it cannot start from a default[/yellow]")
            strategies.remove("smac")
        without = [t for t in tasks if get_task(t).default is None]
        if without:
            console.print(
                f"[yellow]skipping {len(without)} task(s) without a default configuration"
                f" ({', '.join(without[:5])}{'...' if len(without) > 5 else ''})[/yellow]"
            )
            tasks = [t for t in tasks if t not in without]
    seeds = args.seeds if args.seeds is not None else (1 if args.suite == "quick" else 3)
    if args.trials is None:
        args.trials = QUICK_TRIALS if args.suite == "quick" else 50
    llm = args.llm
    if any(uses_llm(s) for s in strategies) and llm not in CONTROLS:
        from agenthpo.errors import AgentHPOError
        from agenthpo.llm import parse_llm_spec

        try:
            parse_llm_spec(llm)
        except AgentHPOError as exc:
            console.print(f"[red]--llm {llm}: {exc}[/red]")
            return 2
    specs = [
        RunSpec(
            t,
            s,
            seed,
            args.trials,
            llm if uses_llm(s) else None,
            seeding=args.seeding,
            workers=args.workers,
            from_default=args.from_default,
        )
        for t in tasks
        for s in strategies
        for seed in range(args.seed_offset, args.seed_offset + seeds)
    ]
    results_dir = Path(args.results_dir)
    host = _host()
    if args.skip_done:
        stored = load_results(results_dir.glob("*.json"))
        if args.rerun:  # a rerun repeats what is stored from other machines: skip only ours
            here = host["arithmetic_fingerprint"]
            if here is None:
                console.print(
                    "[yellow]this machine has no arithmetic_fingerprint (it needs PyTorch):"
                    " --rerun repeats every run[/yellow]"
                )
            stored = [f for f in stored if here is not None and fingerprint_of(f) == here]
        done = {
            stored_key(r)
            for f in stored
            for r in with_default_backbone(list(f["runs"]))
            if not r.get("error") and "n_trials" in r and _current(r)
        }
        before = len(specs)
        specs = [s for s in specs if s.key() not in done]
        console.print(f"skipping {before - len(specs)} runs already stored")
    refs = load_reference()
    missing = sorted({s.task for s in specs} - set(refs))
    if missing:
        console.print(
            f"[yellow]no reference values for {len(missing)} task(s) ({', '.join(missing[:5])}"
            f"{'...' if len(missing) > 5 else ''}): they will not be scored until"
            " `python -m benchmarks calibrate` is run[/yellow]"
        )
    jobs = args.jobs or os.cpu_count() or 1
    stamp = _stamp()
    label = llm if any(uses_llm(s) for s in strategies) else "classical"
    out = Path(args.out) if args.out else results_dir / f"{args.suite}-{_slug(label)}-{stamp}.json"
    if out.exists():
        # The run writes a file of its own runs; continuing into an earlier file would
        # replace the runs stored there.
        console.print(
            f"[red]{out} exists: give another --out (with --skip-done the runs stored in"
            f" {results_dir} are skipped, so a continuation goes into a new file)[/red]"
        )
        return 2
    meta: dict[str, Any] = {
        "kind": "suite",
        "suite": args.suite,
        "llm": llm if any(uses_llm(s) for s in strategies) else None,
        "strategies": strategies,
        "tasks": tasks,
        "seeds": seeds,
        "seed_offset": args.seed_offset,
        "seeding": args.seeding,
        "trials": args.trials,
        "workers": args.workers,
        "from_default": args.from_default,
        "jobs": jobs,
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m benchmarks " + " ".join(sys.argv[1:]),
        "host": host,
    }
    if args.rerun:
        meta["rerun"] = True
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    console.print(
        f"{len(specs)} runs: {len(tasks)} tasks x {len(strategies)} strategies x {seeds} seed(s),"
        f" {args.trials} trials, LLM {meta['llm'] or 'none'}, {jobs} process(es) -> {out}"
    )
    failures = 0
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        trials_bar = progress.add_task("trials", total=sum(s.n_trials for s in specs))
        runs_bar = progress.add_task("runs", total=len(specs))

        def on_trial(_index: int) -> None:
            progress.advance(trials_bar)

        def on_run(spec: RunSpec, rec: dict[str, Any]) -> None:
            nonlocal failures
            if args.rerun:
                rec["rerun"] = True
            records.append(rec)
            if rec.get("error"):
                failures += 1
                progress.console.print(
                    f"[red]{spec.task} {spec.strategy} seed {spec.seed}: {rec['error']}[/red]"
                )
            progress.advance(runs_bar)
            progress.update(runs_bar, description=f"runs (last: {spec.task} {spec.strategy})")
            meta["wall_time_s"] = None
            save_results(out, meta, records)

        run_plan(
            specs, jobs=jobs, on_trial=on_trial, on_run=on_run, cheapest_first=args.cheapest_first
        )
    meta["wall_time_s"] = round(time.perf_counter() - started, 1)
    meta["cpu_time_s"] = _cpu_seconds()
    meta["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    meta["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    save_results(out, meta, records)
    console.print(
        f"done in {meta['wall_time_s'] / 60:.1f} min ({failures} failed runs); results: {out}"
    )
    _print_summary(records, [get_task(t).name for t in tasks])
    console.print("regenerate the report with: python -m benchmarks report")
    return 1 if failures else 0


def _print_summary(records: Sequence[dict[str, Any]], tasks: Sequence[str]) -> None:
    from benchmarks.metrics import headline, score_at, score_trajectory
    from benchmarks.reference import load_reference
    from benchmarks.report import BUDGETS, label

    refs = load_reference()
    scores: dict[str, dict[int, list[float]]] = {}
    lengths = {len(r["best"]) for r in records if not r.get("error")}
    budgets = sorted({b for b in BUDGETS if b <= max(lengths, default=0)} | lengths)
    for r in records:
        if r.get("error") or r["task"] not in refs:
            continue
        ref = refs[r["task"]]
        traj = score_trajectory(r["best"], opt=ref.opt, median_random=ref.median_random)
        for b in budgets:
            v = score_at(traj, b)
            if v is not None:
                scores.setdefault(label(r), {}).setdefault(b, []).append(v)
    if not scores:
        return
    table = Table("strategy", *[f"@{b}" for b in budgets], title="100 * (1 - score), this run")
    for s, per in scores.items():
        table.add_row(s, *[f"{headline(per[b]):.1f}" if b in per else "-" for b in budgets])
    console.print(table)


def cmd_report(args: argparse.Namespace) -> int:
    """Regenerates BENCHMARKS.md and the plots."""
    from benchmarks.report import write_report

    path = write_report(
        results_dir=Path(args.results_dir),
        out=Path(args.out),
        plots_dir=Path(args.plots_dir) if args.plots_dir else None,
    )
    console.print(f"wrote {path}")
    return 0


def cmd_fresh_seeds(args: argparse.Namespace) -> int:
    """Re-trains each stored real-suite run's selected configuration, and each task's human
    reference, on fresh seeds, and stores every metric."""
    from benchmarks.fresh import (
        HUMAN,
        evaluate,
        fresh_record,
        latest_fresh,
        record_key,
        selections,
    )
    from benchmarks.real import get_example, tasks, train_once
    from benchmarks.runner import load_results, save_results

    results_dir = Path(args.results_dir)
    files = load_results(sorted(results_dir.glob("*.json")))
    versions = {t.name: t.version for t in tasks()}
    available = set(versions)
    chosen = sorted(available)
    if args.tasks:
        import fnmatch

        chosen = [t for t in chosen if any(fnmatch.fnmatchcase(t, p) for p in args.tasks)]
    sels = [
        s
        for s in selections(files, n_trials=args.trials, versions=versions)
        if s.task in chosen and (not args.methods or s.method in args.methods)
    ]
    seeds = list(args.seeds)
    done = {record_key(r) for r in latest_fresh(files)}
    # (task, method, config, selection): the human reference first on every task.
    todo: list[tuple[str, str, dict[str, Any], Any]] = []
    for task in chosen:
        human = get_example(task).human
        todo.append((task, HUMAN, human.as_dict(), None))
        todo += [(s.task, s.method, dict(s.config), s) for s in sels if s.task == task]
    meta: dict[str, Any] = {
        "kind": "fresh",
        "suite": "real",
        "tasks": chosen,
        "fresh_seeds": seeds,
        "trials": args.trials,
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m benchmarks " + " ".join(sys.argv[1:]),
        "host": _host(),
    }
    out = Path(args.out) if args.out else results_dir / f"fresh-real-{_stamp()}.json"
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    skipped = 0
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task("configurations", total=len(todo))
        for task, method, config, sel in todo:
            example = get_example(task)
            source = example.human.source if sel is None else None
            probe = fresh_record(
                task=task,
                method=method,
                config=config,
                seeds=seeds,
                metrics=[],
                selection=sel,
                task_version=versions[task],
            )
            if record_key(probe) in done and not args.force:
                skipped += 1
                progress.advance(bar)
                continue

            def train(config: Any, seed: int, example: Any = example) -> dict[str, float]:
                return train_once(example, config, seed=seed)

            try:
                metrics = evaluate(train, config, seeds)
            except Exception as exc:
                progress.console.print(f"[red]{task} {method}: {type(exc).__name__}: {exc}[/red]")
                rec = {**probe, "error": f"{type(exc).__name__}: {exc}"}
            else:
                rec = fresh_record(
                    task=task,
                    method=method,
                    config=config,
                    seeds=seeds,
                    metrics=metrics,
                    selection=sel,
                    source=source,
                    task_version=versions[task],
                )
            records.append(rec)
            meta["wall_time_s"] = round(time.perf_counter() - started, 1)
            save_results(out, meta, records)
            progress.advance(bar)
            progress.update(bar, description=f"configurations (last: {task} {method})")
    if not records:
        console.print(f"nothing to evaluate ({skipped} already stored)")
        return 0
    meta["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    meta["cpu_time_s"] = _cpu_seconds()
    save_results(out, meta, records)
    console.print(
        f"{len(records)} configurations on seeds {seeds} ({skipped} already stored); results:"
        f" {out}\nregenerate the report with: python -m benchmarks report"
    )
    return 1 if any(r.get("error") for r in records) else 0


def cmd_llm_speed(args: argparse.Namespace) -> int:
    """Seconds per proposal of an in-process llama.cpp model, with and without reuse."""
    from benchmarks.llm_speed import VARIANTS, speed_rows
    from benchmarks.runner import save_results

    path = args.model
    if not Path(path).is_file():
        console.print(f"[red]no GGUF file at {path}[/red] (e.g. ../shared/tools/bench-llm)")
        return 2
    started = time.perf_counter()
    rows = speed_rows(
        path,
        n_trials=args.trials,
        threads=args.threads,
        variants=args.variants or list(VARIANTS),
        tick=lambda v: console.print(f"{v} done"),
    )
    meta = {
        "kind": "llm-speed",
        "suite": "llm-speed",
        "llm": f"llamacpp:{Path(path).name}",
        "trials": args.trials,
        "threads": args.threads,
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(time.perf_counter() - started, 1),
        "command": "python -m benchmarks " + " ".join(sys.argv[1:]),
        "host": _host(),
    }
    out = Path(args.results_dir) / f"llm-speed-{_stamp()}.json"
    save_results(out, meta, [])
    import json

    data = json.loads(out.read_text())
    data["speed"] = rows
    out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    table = Table("variant", "proposals", "median s", "mean s", "prompt tok", "x cold", "same")
    for r in rows:
        table.add_row(
            r["variant"],
            str(r["proposals"]),
            f"{r['median_s']:.1f}" if r["median_s"] is not None else "-",
            f"{r['mean_s']:.1f}" if r["mean_s"] is not None else "-",
            f"{r['median_prompt_tokens']:.0f}" if r["median_prompt_tokens"] else "-",
            f"{r['ratio_to_cold']:.2f}" if r["ratio_to_cold"] else "-",
            str(r["same_answers_as_cold"]),
        )
    console.print(table)
    console.print(f"-> {out}")
    return 0


def cmd_overhead(args: argparse.Namespace) -> int:
    """Runs the overhead and scale benchmarks."""
    from benchmarks.overhead import OVERHEAD_STRATEGIES, prompt_growth, sampler_overhead
    from benchmarks.runner import save_results

    strategies = args.strategies or list(OVERHEAD_STRATEGIES)
    started = time.perf_counter()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task("trials", total=args.trials * len(strategies) + args.token_trials)
        rows = sampler_overhead(
            n_trials=args.trials, strategies=strategies, tick=lambda: progress.advance(bar)
        )
        growth = (
            prompt_growth(n_trials=args.token_trials, tick=lambda: progress.advance(bar))
            if args.token_trials > 0
            else None
        )
    meta = {
        "kind": "overhead",
        "suite": "overhead",
        "llm": "random",
        "strategies": strategies,
        "tasks": ["synthetic-mixed"],
        "seeds": 1,
        "trials": args.trials,
        "jobs": 1,
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(time.perf_counter() - started, 1),
        "command": "python -m benchmarks " + " ".join(sys.argv[1:]),
        "host": _host(),
    }
    out = Path(args.results_dir) / f"overhead-{_stamp()}.json"
    save_results(out, meta, [])
    import json

    data = json.loads(out.read_text())
    data["sampler"] = rows
    if growth is not None:
        data["prompt"] = growth
    out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    table = Table("strategy", "ms/trial 1-100", "ms/trial last 100")
    for r in rows:
        table.add_row(r["strategy"], f"{r['ms_first_100']:.1f}", f"{r['ms_last_100']:.1f}")
    console.print(table)
    if growth is not None:
        console.print(
            f"agent prompt tokens: {growth['tokens_at']}; ratio {args.token_trials}/50 ="
            f" {growth['ratio_last_to_50']}"
        )
    console.print(f"results: {out}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Computes and freezes the reference values of tasks that have none."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from benchmarks.reference import (
        Reference,
        best_known,
        calibrate_task,
        load_reference,
        save_reference,
    )
    from benchmarks.runner import load_results
    from benchmarks.tasks import all_tasks, get_task, select_tasks

    refs = load_reference()
    files = load_results(Path(args.results_dir).glob("*.json"))
    registry = all_tasks()
    # Runs of an older version of a task searched another objective: their values say
    # nothing of the current one's optimum.
    runs = [
        r
        for f in files
        for r in f["runs"]
        if r.get("task") not in registry
        or int(r.get("task_version", 1)) == registry[r["task"]].version
    ]
    tasks = select_tasks(args.suite, args.tasks or ())
    if args.update_opt:
        changed = 0
        for name in tasks:
            ref = refs.get(name)
            task = get_task(name)
            if ref is None or ref.source == "table":
                continue
            best = best_known(runs, name, task.direction)
            better = best is not None and (
                best < ref.opt if task.direction == "minimize" else best > ref.opt
            )
            if better:
                assert best is not None
                refs[name] = Reference(best, ref.median_random, "results", ref.n_random)
                changed += 1
                console.print(f"{name}: opt {ref.opt:.6g} -> {best:.6g}")
        save_reference(refs)
        console.print(f"updated opt of {changed} task(s)")
        return 0
    todo = [t for t in tasks if args.force or t not in refs]
    console.print(f"calibrating {len(todo)} task(s)")
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task("tasks", total=len(todo))
        with ProcessPoolExecutor(max_workers=args.jobs or os.cpu_count() or 1) as pool:
            futures = {
                pool.submit(
                    calibrate_task,
                    name,
                    random_evals=args.random_evals,
                    tpe_trials=args.tpe_trials,
                    known_values=[
                        v
                        for r in runs
                        if r.get("task") == name and not r.get("error")
                        for v in r.get("true_values", [])
                        if v is not None
                    ],
                ): name
                for name in sorted(todo, key=lambda n: -get_task(n).eval_cost_s)
            }
            for fut in as_completed(futures):
                name = futures[fut]
                try:
                    refs[name] = fut.result()
                except Exception as exc:
                    progress.console.print(f"[red]{name}: {exc}[/red]")
                else:
                    save_reference(refs)
                progress.advance(bar)
                progress.update(bar, description=f"tasks (last: {name})")
    save_reference(refs)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    from benchmarks.fresh import FRESH_SEEDS
    from benchmarks.optimizers import ALL_STRATEGIES
    from benchmarks.tasks import QUICK_TRIALS, SUITES

    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a suite and store its results as JSON")
    run.add_argument("--suite", choices=SUITES, default="quick")
    run.add_argument(
        "--llm",
        default="local",
        help="any AgentHPO LLM spec (local, openai:MODEL, ...), or a synthetic control:"
        " 'random' (no ideas) or 'corners' (extreme settings: a confidently wrong model)",
    )
    run.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="seeds per (task, strategy); default 1 for quick, 3 otherwise",
    )
    run.add_argument("--seed-offset", type=int, default=0, help="first seed")
    run.add_argument(
        "--seeding",
        choices=("run", "task"),
        default="run",
        help="'run' (default, as the stored results ran): the samplers get the run's seed,"
        " the same on every task, so tasks with one space share their draws; 'task': a seed"
        " derived from the task and the run's seed, so tasks are independent (strategies on"
        " one task still share draws). A later file's run replaces a stored one of the same"
        " task, strategy and seed in the report",
    )
    run.add_argument(
        "--trials",
        type=int,
        default=None,
        help=f"trials per run; default {QUICK_TRIALS} for the quick suite, 50 otherwise",
    )
    run.add_argument(
        "--strategies",
        nargs="+",
        choices=ALL_STRATEGIES,
        metavar="STRATEGY",
        help=f"default: all but gp and smac; choose from {', '.join(ALL_STRATEGIES)}",
    )
    run.add_argument("--tasks", nargs="+", metavar="PATTERN", help="shell patterns of tasks")
    run.add_argument("--exclude", nargs="+", metavar="PATTERN", help="tasks to leave out")
    run.add_argument("--jobs", type=int, default=None, help="processes (default: cores)")
    run.add_argument(
        "--workers",
        type=int,
        default=1,
        help="parallel workers per study, simulated in synchronous rounds (each asks while"
        " the round's other trials run); its runs are rows of their own ('[4 workers]')",
    )
    run.add_argument(
        "--from-default",
        action="store_true",
        help="run each task's default configuration first (as the tuner runs a task file's"
        " default_config), then the strategy; its runs are rows of their own"
        " ('[from default]'); tasks without a default are left out",
    )
    run.add_argument(
        "--skip-done",
        action="store_true",
        help="skip runs already stored under the results directory",
    )
    run.add_argument(
        "--cheapest-first",
        action="store_true",
        help="run the cheapest runs first (default: longest first); each run is stored as it"
        " ends, so a plan stopped early keeps as many tasks as the time allowed",
    )
    run.add_argument(
        "--rerun",
        action="store_true",
        help="repeat runs already stored from other machines (e.g. the backbone alone) on this"
        " one, so that rows run here are compared with a baseline of the same arithmetic;"
        " the tables keep the stored runs; with --skip-done only runs stored from a machine"
        " with this one's arithmetic_fingerprint are skipped",
    )
    run.add_argument("--results-dir", default=str(RESULTS_DIR))
    run.add_argument("--out", default=None, help="results file (default: a new one)")
    run.set_defaults(func=cmd_run)

    rep = sub.add_parser("report", help="regenerate BENCHMARKS.md and its plots")
    rep.add_argument("--results-dir", default=str(RESULTS_DIR))
    rep.add_argument("--out", default=str(REPO_ROOT / "BENCHMARKS.md"))
    rep.add_argument("--plots-dir", default=None)
    rep.set_defaults(func=cmd_report)

    fresh = sub.add_parser(
        "fresh-seeds",
        help="re-train each stored real-suite run's selected configuration and each task's"
        " human reference on fresh seeds (held-out test metrics)",
    )
    fresh.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=list(FRESH_SEEDS),
        help="training seeds no search used (searches train with seed 0); default"
        f" {' '.join(map(str, FRESH_SEEDS))}",
    )
    fresh.add_argument("--trials", type=int, default=25, help="only runs with this budget")
    fresh.add_argument("--tasks", nargs="+", metavar="PATTERN", help="shell patterns of tasks")
    fresh.add_argument(
        "--methods",
        nargs="+",
        metavar="LABEL",
        help="only runs with these report labels ('tpe', 'hybrid-tpe-screen [local]');"
        " the human reference is always evaluated",
    )
    fresh.add_argument(
        "--force", action="store_true", help="re-evaluate configurations already stored"
    )
    fresh.add_argument("--results-dir", default=str(RESULTS_DIR))
    fresh.add_argument("--out", default=None, help="results file (default: a new one)")
    fresh.set_defaults(func=cmd_fresh_seeds)

    ovh = sub.add_parser("overhead", help="sampler time per trial and prompt tokens vs trials")
    ovh.add_argument("--trials", type=int, default=1000)
    ovh.add_argument(
        "--token-trials", type=int, default=500, help="0: no prompt-growth measurement"
    )
    ovh.add_argument("--strategies", nargs="+", choices=ALL_STRATEGIES, metavar="STRATEGY")
    ovh.add_argument("--results-dir", default=str(RESULTS_DIR))
    ovh.set_defaults(func=cmd_overhead)

    spd = sub.add_parser(
        "llm-speed", help="seconds per proposal of a llama.cpp model, with and without reuse"
    )
    spd.add_argument("model", help="a GGUF file, e.g. the output of ../shared/tools/bench-llm")
    spd.add_argument("--trials", type=int, default=8)
    spd.add_argument("--threads", type=int, default=1)
    from benchmarks.llm_speed import VARIANTS

    spd.add_argument("--variants", nargs="+", choices=list(VARIANTS))
    spd.add_argument("--results-dir", default=str(RESULTS_DIR))
    spd.set_defaults(func=cmd_llm_speed)

    cal = sub.add_parser("calibrate", help="freeze opt and median_random of new tasks")
    cal.add_argument("--suite", choices=SUITES, default="full")
    cal.add_argument("--tasks", nargs="+", metavar="PATTERN")
    cal.add_argument("--random-evals", type=int, default=200)
    cal.add_argument("--tpe-trials", type=int, default=100)
    cal.add_argument("--force", action="store_true", help="recompute tasks already in the file")
    cal.add_argument(
        "--update-opt",
        action="store_true",
        help="lower opt of non-table tasks to the best value any stored run found",
    )
    cal.add_argument("--jobs", type=int, default=None)
    cal.add_argument("--results-dir", default=str(RESULTS_DIR))
    cal.set_defaults(func=cmd_calibrate)

    lst = sub.add_parser("list", help="list suites, tasks and strategies")
    lst.set_defaults(func=cmd_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
