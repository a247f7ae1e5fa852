"""The LLM off the critical path: wall time of N trials with a simulated LLM latency.

While a trial runs, the tuner has the agent prepare the next proposal (``prefetch``), so N
trials should take about N x max(LLM time, trial time) instead of N x (LLM + trial time).
This runs the same study with prefetching on and off and reports both times and their
ratio to the ideal ``N x max(...)`` and to the serial ``N x (LLM + trial)``.

Usage:
    python -m benchmarks.critical_path [--trials 20] [--llm-seconds 2] [--trial-seconds 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from agenthpo.executor import FunctionExecutor
from agenthpo.llm import RandomLLM
from agenthpo.task import task_from_dict
from agenthpo.tuner import Tuner

RESULTS = Path(__file__).parent / "results" / "critical_path.json"


def _run(n_trials: int, llm_s: float, trial_s: float, prefetch: bool) -> float:
    def objective(config: dict[str, Any], report: Any) -> float:
        time.sleep(trial_s)  # a training run that waits on its accelerator
        return float((config["x"] - 1.0) ** 2 + config["y"] ** 2)

    task = task_from_dict(
        {
            "name": "critical-path",
            "objective": {"metric": "value", "direction": "minimize"},
            "space": {
                "x": {"type": "float", "low": -5.0, "high": 5.0},
                "y": {"type": "float", "low": -5.0, "high": 5.0},
            },
            "n_trials": n_trials,
            "function": "benchmarks.critical_path:unused",
            "strategy": "agent",
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        tuner = Tuner(
            task,
            llm=RandomLLM(seed=0, latency_s=llm_s),
            storage=f"sqlite:///{tmp}/cp.db",
            executor=FunctionExecutor(objective, isolate=False),
            prefetch=prefetch,
            seed=0,
        )
        start = time.perf_counter()
        tuner.run()
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--llm-seconds", type=float, default=2.0)
    parser.add_argument("--trial-seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    n, llm_s, trial_s = args.trials, args.llm_seconds, args.trial_seconds
    with_prefetch = _run(n, llm_s, trial_s, prefetch=True)
    without = _run(n, llm_s, trial_s, prefetch=False)
    ideal = n * max(llm_s, trial_s)
    serial = n * (llm_s + trial_s)
    result = {
        "trials": n,
        "llm_seconds": llm_s,
        "trial_seconds": trial_s,
        "wall_s_prefetch": round(with_prefetch, 2),
        "wall_s_no_prefetch": round(without, 2),
        "ideal_s": ideal,
        "serial_s": serial,
        "prefetch_over_ideal": round(with_prefetch / ideal, 3),
        "no_prefetch_over_ideal": round(without / ideal, 3),
        "speedup": round(without / with_prefetch, 3),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
