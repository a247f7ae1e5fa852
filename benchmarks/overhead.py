"""Overhead and scale: the sampler's own time per trial, and prompt size against trial number.

Both use a free synthetic objective on a mixed 6-parameter space and an LLM stand-in
(:class:`agenthpo.llm.RandomLLM`, which answers instantly with a schema-following random
configuration and counts about 4 characters a token), so what is measured is AgentHPO's own
machinery (history rendering, prompt building, parsing, validation, duplicate checks, the
backbone), not the model.

* **Sampler time per trial** (LLM time excluded): mean over trials 1-100 and 901-1000 of a
  1000-trial study, for each strategy, against TPE's.
* **Prompt tokens against trial number** for the ``agent`` strategy up to 500 trials (the
  history is bounded: the agent issue requires the prompt at trial 500 to be at most 1.5x the
  prompt at trial 50).

Example:
    >>> task = synthetic_task()
    >>> task.space.names
    ['lr', 'weight_decay', 'momentum', 'dropout', 'units', 'activation']
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from agenthpo.agent.prompts import TaskContext
from agenthpo.space import Space
from benchmarks.optimizers import DEFAULT_STRATEGIES
from benchmarks.runner import RunSpec, run_one
from benchmarks.tasks import Evaluation, Objective, Task

__all__ = ["OVERHEAD_STRATEGIES", "prompt_growth", "sampler_overhead", "synthetic_task"]

_logger = logging.getLogger("benchmarks")

OVERHEAD_STRATEGIES = DEFAULT_STRATEGIES
TOKEN_MARKS = (1, 10, 50, 100, 200, 300, 400, 500)


SYNTHETIC_SPACE: dict[str, Any] = {
    "lr": {"type": "float", "low": 1e-5, "high": 1.0, "log": True},
    "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-1, "log": True},
    "momentum": {"type": "float", "low": 0.0, "high": 0.99},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    "units": {"type": "int", "low": 16, "high": 1024, "log": True},
    "activation": ["relu", "tanh", "gelu"],
}
"""The synthetic task's mixed space, as a task file's ``space:`` section."""


def synthetic_loss(config: Mapping[str, Any]) -> float:
    """A smooth loss over :data:`SYNTHETIC_SPACE` (free to evaluate)."""
    act = {"relu": 0.0, "tanh": 0.05, "gelu": 0.02}[config["activation"]]
    loss = (
        (math.log10(config["lr"]) + 2.5) ** 2 * 0.1
        + (math.log10(config["weight_decay"]) + 4.0) ** 2 * 0.02
        + (config["momentum"] - 0.9) ** 2
        + (config["dropout"] - 0.2) ** 2
        + (math.log2(config["units"]) - 7.0) ** 2 * 0.01
        + act
    )
    return loss


def _synthetic(config: Mapping[str, Any]) -> Evaluation:
    loss = synthetic_loss(config)
    return Evaluation(value=loss, true_value=loss)


def synthetic_task() -> Task:
    """A free objective on a mixed space (log floats, a linear float, an int, a categorical)."""
    space = Space.from_dict(SYNTHETIC_SPACE)

    def build(seed: int) -> Objective:
        del seed
        return _synthetic

    return Task(
        name="synthetic-mixed",
        suite="synthetic",
        space=space,
        direction="minimize",
        context=TaskContext(
            name="synthetic-mixed",
            description="A synthetic smooth loss over a typical neural-network space.",
            metric="loss",
            direction="minimize",
        ),
        build=build,
    )


def _window_ms(values: Sequence[float], lo: int, hi: int) -> float | None:
    part = values[lo - 1 : hi]
    return float(np.mean(part)) * 1000.0 if len(part) == hi - lo + 1 else None


def sampler_overhead(
    *,
    n_trials: int = 1000,
    strategies: Sequence[str] = OVERHEAD_STRATEGIES,
    seed: int = 0,
    tick: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Per strategy: the optimizer's mean ms per trial over trials 1-100 and the last 100."""
    task = synthetic_task()
    rows: list[dict[str, Any]] = []
    for strategy in strategies:
        rec = run_one(RunSpec(task.name, strategy, seed, n_trials, "random"), tick, task=task)
        per = rec["per_trial"]["optimizer_s"]
        rows.append(
            {
                "strategy": strategy,
                "n_trials": n_trials,
                "ms_first_100": _window_ms(per, 1, min(100, n_trials)),
                "ms_last_100": _window_ms(per, max(1, n_trials - 99), n_trials),
                "optimizer_s": rec["time"]["optimizer_s"],
                "llm_calls": rec["llm_calls"],
                "per_trial_ms": [round(x * 1000.0, 3) for x in per],
            }
        )
        _logger.info("overhead: %s done", strategy)
    return rows


def prompt_growth(
    *,
    n_trials: int = 500,
    strategy: str = "agent",
    seed: int = 0,
    tick: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Prompt tokens per LLM call against the trial number, and the 500/50 ratio."""
    task = synthetic_task()
    rec = run_one(RunSpec(task.name, strategy, seed, n_trials, "random"), tick, task=task)
    prompt = rec["prompt_tokens_per_trial"]
    proposed = rec["proposed_by"]
    # Per call: a repair round sends a second, longer prompt, and the trial's attribute holds
    # the sum over its calls.
    calls = [max(1, c) for c in rec["llm_calls_per_trial"]]
    per_call = [p / c if p else None for p, c in zip(prompt, calls, strict=True)]
    wanted = sorted({*TOKEN_MARKS, n_trials})
    marks = {m: per_call[m - 1] for m in wanted if m <= len(per_call)}
    ratio = None
    at_50, at_last = marks.get(50), marks.get(n_trials)
    if at_50 and at_last:
        ratio = at_last / at_50
    return {
        "strategy": strategy,
        "n_trials": n_trials,
        "tokens_at": {str(k): v for k, v in marks.items()},
        "ratio_last_to_50": ratio,
        "per_trial": per_call,
        "llm_share": sum(p == "llm" for p in proposed) / max(1, len(proposed)),
    }
