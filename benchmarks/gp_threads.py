"""GP's threads: the backbone's time per GP proposal on one PyTorch thread against one per core,
with the machine quiet and with one core kept busy (what a training subprocess or a second
worker does to a study's sampler).

Each case runs the same seeded study of the backbone on a synthetic 5-parameter objective
(:class:`agenthpo.backbone.BackboneOptions` ``gp_threads`` set to 1 or to the core count) and
records the seconds of each of GP's model-based proposals. A busy core is a process spinning
in a loop for the whole case. Figures are ratios to the one-thread case under the same load,
measured in the same run.

Usage:
    python -m benchmarks.gp_threads [--trials 60] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import statistics
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "gp_threads.json"


def _spin(stop: Any) -> None:
    while not stop.is_set():
        pass


def _objective(trial: Any) -> float:
    xs = [trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(5)]
    return float(sum((x - 1.0) ** 2 + 3.0 * math.sin(2.0 * x) for x in xs))


def _case(threads: int, trials: int) -> dict[str, Any]:
    import optuna

    from agenthpo.backbone import Backbone, BackboneOptions

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = Backbone(seed=0, options=BackboneOptions(gp_threads=threads))
    study = optuna.create_study(sampler=sampler)
    start = time.perf_counter()
    study.optimize(_objective, n_trials=trials)
    wall = time.perf_counter() - start
    seconds = list(sampler._gp_seconds)
    return {
        "threads": threads,
        "gp_proposals": len(seconds),
        "median_s": round(statistics.median(seconds), 4),
        "sum_s": round(sum(seconds), 2),
        "wall_s": round(wall, 2),
        "best": study.best_value,
        "retired": sampler.retired_because(),
    }


def run(trials: int, repeats: int) -> dict[str, Any]:
    """Every (load, threads) case ``repeats`` times, interleaved so drift hits both alike."""
    cores = os.cpu_count() or 1
    out: dict[str, Any] = {
        "trials": trials,
        "repeats": repeats,
        "cores": cores,
        "load_at_start": round(os.getloadavg()[0], 2),
        "cases": [],
    }
    for load in ("quiet", "one busy core"):
        stop = mp.Event()
        spinner = mp.Process(target=_spin, args=(stop,), daemon=True) if load != "quiet" else None
        if spinner is not None:
            spinner.start()
        try:
            for rep in range(repeats):
                for threads in (1, cores):
                    case = _case(threads, trials)
                    case.update(load=load, repeat=rep)
                    out["cases"].append(case)
                    print(json.dumps(case))
        finally:
            if spinner is not None:
                stop.set()
                spinner.join(5)
    return out


def markdown(data: Mapping[str, Any] | None) -> list[str]:
    """The BENCHMARKS.md section for a stored run."""
    if not data:
        return ["Not run yet: `python -m benchmarks.gp_threads`.\n"]
    cases = list(data["cases"])
    cores = int(data["cores"])
    md = [
        f"Seconds per GP proposal of the backbone (`BackboneOptions.gp_threads`) on a"
        f" {data['cores']}-core machine, one seeded study of {data['trials']} trials on a"
        f" synthetic 5-parameter objective per case, {data['repeats']} interleaved repeats"
        f" (`python -m benchmarks.gp_threads`); a busy core is a process spinning in a loop."
        f" Load average at the start: {data['load_at_start']}.",
        "",
        "| load | torch threads | median s per proposal | GP seconds per study | x one thread |",
        "|---|---|---|---|---|",
    ]
    summary: list[str] = []
    for load in dict.fromkeys(c["load"] for c in cases):
        by: dict[int, list[dict[str, Any]]] = {}
        for c in cases:
            if c["load"] == load:
                by.setdefault(int(c["threads"]), []).append(c)
        one = statistics.median(c["sum_s"] for c in by.get(1, []) or [{"sum_s": math.nan}])
        for threads, cs in sorted(by.items()):
            med = statistics.median(c["median_s"] for c in cs)
            total = statistics.median(c["sum_s"] for c in cs)
            label = f"{threads} (the default)" if threads == 1 else f"{threads} (torch's own)"
            md.append(f"| {load} | {label} | {med:.3f} | {total:.1f} | {total / one:.2f}x |")
            if threads == cores and threads != 1:
                summary.append(f"{load}: **{total / one:.2f}x**")
    same = len({c["best"] for c in cases}) == 1
    md += [
        "",
        f"Torch's own thread count against one thread, GP seconds per study: {', '.join(summary)}."
        + (
            " Every case found the same best value (the thread count does not change the search)."
            if same
            else " The cases' best values differ: the thread count changed the arithmetic enough"
            " to change proposals."
        )
        + "\n",
    ]
    return md


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    data = run(args.trials, args.repeats)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    print("\n".join(markdown(data)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
