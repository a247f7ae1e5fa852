"""LLM speed: seconds per proposal of an in-process llama.cpp model, with and without reuse.

A short ``agent`` study (the LLM proposes every trial; repair rounds are proposals too) on a
free synthetic objective, three times with the same model, seed and task:

* ``cold``: every prompt is evaluated from its first token (the context is reset before
  each call);
* ``last-prompt``: llama.cpp keeps the previous prompt's tokens and re-evaluates from the
  first token that differs (the runtime's own behaviour, no state cache);
* ``state-cache``: :class:`agenthpo.llm.LocalLlamaClient`'s cache, which also keeps the
  evaluated states of earlier prompts in memory, so a proposal after another kind of call
  (an analysis of a command task's run) reuses the last proposal's stable beginning;
* ``lazy-grammar``: ``state-cache`` whose JSON grammar checks only the token drawn and
  masks the whole vocabulary only when it refuses one (:mod:`agenthpo.llm._lazy_grammar`);
  the variants above use llama-cpp-python's own sampler, which masks it for every token;
* ``spare-threads``: the client's defaults: the state cache, the lazy grammar, and before
  each call the threads the machine can spare then
  (:func:`agenthpo.llm._local.spare_threads`) instead of the fixed ``--threads`` of the
  other variants.

Each row reports the median and mean seconds per proposal, the prompt and answer tokens, and
the ratio to ``cold`` measured in the same run (the machines are noisy; compare ratios).
Whether the answers are the same text as ``cold``'s is reported too: reused states were
computed in other batches, so their logits differ in the last bits and a sampled token may
differ; the answers are still drawn from the same model.

Example:
    >>> sorted(VARIANTS)
    ['cold', 'last-prompt', 'lazy-grammar', 'spare-threads', 'state-cache']
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agenthpo.llm import LLMResponse, LocalLlamaClient, Message
from agenthpo.task import task_from_dict
from agenthpo.tuner import Tuner
from benchmarks.overhead import SYNTHETIC_SPACE, synthetic_loss

__all__ = ["VARIANTS", "objective", "speed_rows"]

_logger = logging.getLogger("benchmarks")

VARIANTS: dict[str, int] = {
    "cold": 0,
    "last-prompt": 0,
    "state-cache": 512,
    "lazy-grammar": 512,
    "spare-threads": 512,
}
"""Each variant's state cache in MiB (``cold`` also resets the context before each call)."""
ADAPTIVE: frozenset[str] = frozenset({"spare-threads"})
"""The variants whose threads the client chooses per call (the others: ``--threads``)."""
LAZY: frozenset[str] = frozenset({"lazy-grammar", "spare-threads"})
"""The variants whose grammar is checked lazily (the client's default)."""


def objective(config: Mapping[str, Any]) -> dict[str, float]:
    """The overhead benchmark's synthetic loss, as a task function's metrics."""
    return {"val_loss": synthetic_loss(config)}


TASK: dict[str, Any] = {
    "name": "llm-speed",
    "description": "A small MLP trained with SGD on a tabular classification data set.",
    "objective": {"metric": "val_loss", "direction": "minimize"},
    "function": "benchmarks.llm_speed:objective",
    "strategy": "agent",
    "space": SYNTHETIC_SPACE,
}


@dataclass
class _Timed:
    """Wraps a client: times each call and keeps what it said."""

    inner: LocalLlamaClient
    cold: bool
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> LLMResponse:
        if self.cold:
            self.inner._load().reset()
        start = time.perf_counter()
        out = self.inner.complete(
            messages, schema=schema, max_tokens=max_tokens, temperature=temperature, seed=seed
        )
        props = (schema or {}).get("properties", {})
        self.calls.append(
            {
                "kind": "proposal" if "config" in props else "other",
                "seconds": time.perf_counter() - start,
                "prompt_tokens": out.usage.prompt_tokens,
                "completion_tokens": out.usage.completion_tokens,
                "threads": out.extra.get("threads"),
                "text": out.text,
            }
        )
        return out


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def speed_rows(
    model_path: str | Path,
    *,
    n_trials: int = 8,
    seed: int = 0,
    threads: int = 1,
    variants: Sequence[str] = tuple(VARIANTS),
    tick: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per variant: seconds per proposal and tokens, and the ratio to ``cold``."""
    rows: list[dict[str, Any]] = []
    texts: dict[str, list[str]] = {}
    for variant in variants:
        # The benchmarks' CLI fixes AGENTHPO_LLAMA_THREADS at 1 (parallel runs); the
        # adaptive variant measures the client's own choice, so it is built without it.
        fixed = os.environ.pop("AGENTHPO_LLAMA_THREADS", None) if variant in ADAPTIVE else None
        try:
            client = LocalLlamaClient(
                model_path=model_path,
                n_threads=None if variant in ADAPTIVE else threads,
                prefix_cache_mb=VARIANTS[variant],
                lazy_grammar=variant in LAZY,
            )
        finally:
            if fixed is not None:
                os.environ["AGENTHPO_LLAMA_THREADS"] = fixed
        client.check()  # the load is not a proposal's time
        timed = _Timed(client, cold=variant == "cold")
        with tempfile.TemporaryDirectory() as tmp:
            task = task_from_dict(dict(TASK, n_trials=n_trials), base_dir=Path.cwd())
            Tuner(
                task,
                llm=timed,  # type: ignore[arg-type]
                seed=seed,
                storage=f"sqlite:///{tmp}/speed.db",
                prefetch=False,
            ).run()
        client.close()
        proposals = [c for c in timed.calls if c["kind"] == "proposal"]
        seconds = [c["seconds"] for c in proposals]
        texts[variant] = [c["text"] for c in timed.calls]
        rows.append(
            {
                "variant": variant,
                "state_cache_mb": VARIANTS[variant],
                "lazy_grammar": variant in LAZY,
                "proposals": len(proposals),
                "other_calls": len(timed.calls) - len(proposals),
                "median_s": _median(seconds),
                "mean_s": float(statistics.fmean(seconds)) if seconds else None,
                "median_prompt_tokens": _median([c["prompt_tokens"] for c in proposals]),
                "median_answer_tokens": _median([c["completion_tokens"] for c in proposals]),
                "seconds": [round(s, 3) for s in seconds],
                "threads": sorted({c["threads"] for c in proposals if c["threads"]}),
            }
        )
        if tick:
            tick(variant)
    base = next((r["median_s"] for r in rows if r["variant"] == "cold"), None)
    for row in rows:
        row["ratio_to_cold"] = row["median_s"] / base if base and row["median_s"] else None
        row["same_answers_as_cold"] = (
            texts[row["variant"]] == texts["cold"] if "cold" in texts else None
        )
    return rows
