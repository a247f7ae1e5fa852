"""Runs: one (task, strategy, seed) at a time, or a whole plan in parallel processes.

Every run is a plain ``optuna.create_study(direction=..., sampler=...)`` on in-memory storage
and ``study.optimize(objective, n_trials=...)`` (SMAC runs its own ask-and-tell loop). The
objective suggests every parameter of the task's space, so AgentHPO's samplers see the same
space the objective uses.

**Time split** per trial, from timestamps taken in the objective:
    * evaluation: the objective's own call;
    * LLM: the ``llm_latency_s`` the sampler stores on the trial;
    * optimizer: everything else since the previous evaluation ended (Optuna's ``tell``,
      ``ask``, the sampler's proposal and ``suggest_*``), minus the LLM time.

Example:
    >>> from benchmarks.runner import RunSpec, run_one
    >>> result = run_one(RunSpec("nb201-cifar10", "random", seed=0, n_trials=3))
    >>> len(result["best"])
    3
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import math
import os
import queue
import tempfile
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import optuna

from agenthpo import _keys
from agenthpo.agent.analyst import analyze
from agenthpo.agent.failures import FAILURE_CAUSES, causes_of
from agenthpo.agent.history import TrialView
from agenthpo.executor import TrialResult
from agenthpo.llm import LLMClient, RandomLLM
from agenthpo.tuner import paired_gain
from benchmarks.controls import CONTROLS, CornerLLM
from benchmarks.optimizers import (
    BACKBONE_VERSION,
    llm_label,
    make_llm,
    on_default_backbone,
    optuna_sampler,
    uses_llm,
)
from benchmarks.tasks import Evaluation, HeldOut, Objective, Task, get_task, suggest

__all__ = [
    "RunSpec",
    "expected_cost",
    "held_out_selection",
    "load_results",
    "run_one",
    "run_plan",
    "save_results",
]

_logger = logging.getLogger("benchmarks")

RESULTS_VERSION = 1
# How a run's random number generators are seeded (see RunSpec.rng_seed).
Seeding = Literal["run", "task"]

# The strategies whose LLM share adapts to how its proposals do.
ADAPTIVE = ("hybrid-tpe", "centaur", "hybrid-tpe-late", "hybrid-tpe-screen")

# A rough cost of one embedded-model proposal on 2 cores, for scheduling only.
_LLM_CALL_S = 5.0
# The share of trials each LLM strategy gives the LLM (for scheduling only).
_LLM_SHARE = {
    "agent": 1.0,
    "hybrid-tpe": 0.3,
    "centaur": 0.25,
    "hybrid-tpe-late": 0.2,
    "hybrid-tpe-screen": 0.2,
}


@dataclass(frozen=True)
class RunSpec:
    """One run: a task, a strategy, a seed, a budget and (for LLM strategies) an LLM spec."""

    task: str
    strategy: str
    seed: int
    n_trials: int
    llm: str | None = None
    seeding: Seeding = "run"
    workers: int = 1
    from_default: bool = False
    """Run the task's default configuration first (enqueued as the tuner enqueues a task
    file's ``default_config``), then the strategy: the row ``[from default]``."""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1 (got {self.workers})")
        if self.workers > 1 and self.strategy == "smac":
            raise ValueError("the SMAC baseline runs one worker only")
        if self.from_default and self.strategy == "smac":
            raise ValueError("the SMAC baseline cannot start from a default configuration")

    def key(self) -> tuple[str, str, int, int, str | None, str, int, bool]:
        """The run's identity in results files."""
        return (
            self.task,
            self.strategy,
            self.seed,
            self.n_trials,
            llm_label(self.strategy, self.llm),
            self.seeding,
            self.workers,
            self.from_default,
        )

    @property
    def rng_seed(self) -> int:
        """The seed the run's samplers, proposers and noisy objective get.

        ``seeding="run"`` gives them the run's seed itself, the same on every task, so tasks
        with the same space share their draws; ``"task"`` derives a seed from the task's
        name and the run's seed, so every task gets its own draws while strategies on one
        task still share theirs (the pairing that makes differences to TPE less noisy).

        Example:
            >>> RunSpec("a", "tpe", 0, 10).rng_seed
            0
            >>> RunSpec("a", "tpe", 0, 10, seeding="task").rng_seed != RunSpec(
            ...     "b", "tpe", 0, 10, seeding="task").rng_seed
            True
        """
        if self.seeding == "run":
            return self.seed
        return zlib.crc32(f"{self.task}/{self.seed}".encode()) & 0x7FFFFFFF


def stored_key(run: Mapping[str, Any]) -> tuple[str, str, int, int, str | None, str, int, bool]:
    """A stored run's identity, as :meth:`RunSpec.key` gives it (older runs: per-run seeding,
    one worker, no default first)."""
    return (
        run["task"],
        run["strategy"],
        run["seed"],
        run["n_trials"],
        run.get("llm"),
        run.get("seeding", "run"),
        int(run.get("workers", 1)),
        bool(run.get("from_default", False)),
    )


def expected_cost(spec: RunSpec) -> float:
    """A rough duration in seconds, to start the longest runs first."""
    task = get_task(spec.task)
    cost = spec.n_trials * task.eval_cost_s
    if uses_llm(spec.strategy) and spec.llm not in (None, *CONTROLS):
        cost += spec.n_trials * _LLM_SHARE.get(spec.strategy, 0.3) * _LLM_CALL_S
    if spec.strategy in ("gp", "smac"):
        cost += spec.n_trials * 0.5
    return cost


class _Recorder:
    """Wraps a task's objective for Optuna and records values and timings per trial."""

    def __init__(self, task: Task, objective: Objective) -> None:
        self.task = task
        self.objective = objective
        self.values: list[float | None] = []
        self.true_values: list[float | None] = []
        self.params: list[dict[str, Any]] = []
        self.overhead_s: list[float] = []
        self.eval_s: list[float] = []
        self.errors: list[str] = []
        self.last_end = time.perf_counter()

    def start(self) -> None:
        self.last_end = time.perf_counter()

    def evaluate(self, config: Mapping[str, Any], t_suggested: float) -> Evaluation | None:
        """Runs the objective, records the trial; ``None`` if it raised."""
        result: Evaluation | None = None
        self.params.append(_jsonable(config))
        try:
            result = self.objective(config)
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
        t_end = time.perf_counter()
        self.overhead_s.append(t_suggested - self.last_end)
        self.eval_s.append(t_end - t_suggested)
        self.last_end = t_end
        self.values.append(None if result is None else result.value)
        self.true_values.append(None if result is None else result.true_value)
        return result

    def __call__(self, trial: optuna.Trial) -> float:
        config = suggest(trial, self.task.space)
        result = self.evaluate(config, time.perf_counter())
        if result is None:
            self.read_failure(trial)
            raise RuntimeError(self.errors[-1])
        return result.value

    def read_failure(self, trial: optuna.Trial) -> None:
        """Stores on a failed trial its error and the Executor's reading of it, as the tuner
        does, so that an LLM strategy sees why the run failed (a learning curve the
        objective kept, e.g. a real task's, is read too)."""
        error = self.errors[-1]
        curve = [{"step": float(s), **m} for s, m in getattr(self.objective, "curve", [])]
        result = TrialResult(status="failed", curve=curve, error=error)
        metric = self.task.context.metric or "value"
        # a curve that went NaN reads as a divergence; any other failure as its error says
        nan = any(not math.isfinite(v) for point in curve for v in point.values())
        reading = analyze(
            result, metric=metric, direction=self.task.direction, error=None if nan else error
        )
        trial.set_user_attr(_keys.ERROR, error[:200])
        trial.set_user_attr(_keys.ANALYSIS, reading)


def _cause(attrs: Mapping[str, Any]) -> str | None:
    """The cause a failed trial's stored reading names (``None``: the trial did not fail)."""
    if not attrs.get(_keys.ERROR):
        return None
    view = TrialView(0, {}, "failed", analysis=str(attrs.get(_keys.ANALYSIS, "")))
    return next(c for c in causes_of(view) if c in FAILURE_CAUSES)


def _jsonable(config: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration as JSON keeps it: numpy scalars become Python numbers."""
    out: dict[str, Any] = {}
    for name, value in config.items():
        item = getattr(value, "item", None)
        out[name] = item() if callable(item) else value
    return out


def best_index(values: Sequence[float | None], direction: str) -> int | None:
    """The first trial with the best finite value (``None`` if no trial finished).

    Example:
        >>> best_index([0.3, None, 0.1, 0.1], "minimize")
        2
    """
    best: int | None = None
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            continue
        b = values[best] if best is not None else None
        if b is None or (v < b if direction == "minimize" else v > b):
            best = i
    return best


def _best_so_far(values: Sequence[float | None], direction: str) -> list[float | None]:
    best: float | None = None
    out: list[float | None] = []
    for v in values:
        if (
            v is not None
            and math.isfinite(v)
            and (best is None or (v < best if direction == "minimize" else v > best))
        ):
            best = v
        out.append(best)
    return out


def _run_optuna(
    spec: RunSpec, task: Task, rec: _Recorder, tick: Callable[[], None]
) -> list[dict[str, Any]]:
    llm: LLMClient | None = None
    if uses_llm(spec.strategy):
        if spec.llm in (None, "random"):
            # The control proposes as random search does: through the task's space, so log
            # scales and step grids are respected (the JSON schema cannot express them).
            llm = RandomLLM(seed=spec.rng_seed, space=task.space)
        elif spec.llm == "corners":
            llm = CornerLLM(seed=spec.rng_seed, space=task.space)
        else:
            llm = make_llm(spec.llm, spec.rng_seed)
    sampler = optuna_sampler(spec.strategy, task=task, seed=spec.rng_seed, llm=llm)
    study = optuna.create_study(direction=task.direction, sampler=sampler)
    if spec.from_default:
        if task.default is None:
            raise ValueError(f"{task.name} has no default configuration to start from")
        about = {
            _keys.PROPOSED_BY: "default_config",
            _keys.RATIONALE: "the task's default configuration, run first as a baseline",
        }
        study.enqueue_trial(dict(task.default), user_attrs=about)
    rec.start()
    if spec.workers > 1:
        _run_batches(study, spec, rec, tick)
        return [dict(t.user_attrs) for t in study.get_trials(deepcopy=False)]
    study.optimize(
        rec,
        n_trials=spec.n_trials,
        catch=(Exception,),
        callbacks=[lambda _study, _trial: tick()],
        gc_after_trial=False,
    )
    rec.overhead_s[-1] += time.perf_counter() - rec.last_end  # the last trial's tell
    return [dict(t.user_attrs) for t in study.get_trials(deepcopy=False)]


def _run_batches(
    study: optuna.Study, spec: RunSpec, rec: _Recorder, tick: Callable[[], None]
) -> None:
    """``spec.workers`` parallel workers, simulated in synchronous rounds: each round asks
    one trial per worker (each proposal made while the round's earlier trials are still
    running, as a worker's would be), then evaluates and tells them in order.

    Deterministic for a seed, unlike threads, so runs of different strategies stay paired.
    Each trial's optimizer time is its own ask and suggestions (plus its tell).
    """
    done = 0
    while done < spec.n_trials:
        size = min(spec.workers, spec.n_trials - done)
        round_: list[tuple[optuna.Trial, dict[str, Any], float]] = []
        for _ in range(size):
            t0 = time.perf_counter()
            trial = study.ask()
            config = suggest(trial, rec.task.space)
            round_.append((trial, config, time.perf_counter() - t0))
        for trial, config, asked_s in round_:
            rec.last_end = time.perf_counter() - asked_s  # the overhead is this trial's ask
            result = rec.evaluate(config, time.perf_counter())
            t0 = time.perf_counter()
            if result is None:
                rec.read_failure(trial)
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, result.value)
            rec.overhead_s[-1] += time.perf_counter() - t0
            tick()
        done += size
    rec.last_end = time.perf_counter()


def _config_space(task: Task, seed: int) -> Any:
    from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer

    from agenthpo.space import CategoricalParam, FloatParam, IntParam

    cs = ConfigurationSpace(seed=seed)
    for name, p in task.space.items():
        if isinstance(p, FloatParam):
            cs.add(Float(name, (p.low, p.high), log=p.log))
        elif isinstance(p, IntParam):
            cs.add(Integer(name, (p.low, p.high), log=p.log))
        else:
            assert isinstance(p, CategoricalParam)
            cs.add(Categorical(name, [str(c) for c in p.choices]))
    return cs


def _from_smac(task: Task, values: Mapping[str, Any]) -> dict[str, Any]:
    from agenthpo.space import CategoricalParam, FloatParam, IntParam

    config: dict[str, Any] = {}
    for name, p in task.space.items():
        v = values[name]
        if isinstance(p, FloatParam):
            x = float(v)
            if p.step is not None:
                x = p.low + round((x - p.low) / p.step) * p.step
            config[name] = min(max(x, p.low), p.high)
        elif isinstance(p, IntParam):
            k = round((round(float(v)) - p.low) / p.step)
            config[name] = min(max(p.low + k * p.step, p.low), p.high)
        else:
            assert isinstance(p, CategoricalParam)
            config[name] = {str(c): c for c in p.choices}[str(v)]
    return config


def _run_smac(
    spec: RunSpec, task: Task, rec: _Recorder, tick: Callable[[], None]
) -> list[dict[str, Any]]:
    from smac import HyperparameterOptimizationFacade as Facade
    from smac import Scenario
    from smac.runhistory.dataclasses import TrialValue

    logging.getLogger("smac").setLevel(logging.ERROR)
    sign = 1.0 if task.direction == "minimize" else -1.0
    with tempfile.TemporaryDirectory(prefix="agenthpo-smac-") as tmp:
        scenario = Scenario(
            _config_space(task, spec.rng_seed),
            deterministic=True,
            n_trials=spec.n_trials,
            seed=spec.rng_seed,
            output_directory=Path(tmp) / "smac",
        )
        facade = Facade(
            scenario,
            lambda config, seed=0: 0.0,
            overwrite=True,
            logging_level=40,
        )
        rec.start()
        for _ in range(spec.n_trials):
            info = facade.ask()
            config = _from_smac(task, dict(info.config))
            result = rec.evaluate(config, time.perf_counter())
            cost = sign * result.value if result is not None else float("inf")
            facade.tell(info, TrialValue(cost=cost))
            tick()
        rec.overhead_s[-1] += time.perf_counter() - rec.last_end
    return [{} for _ in range(spec.n_trials)]


def held_out_selection(
    held_out: HeldOut, best: Mapping[str, Any], direction: str
) -> dict[str, Any]:
    """AgentHPO's held-out selection after a search (see :class:`benchmarks.tasks.HeldOut`):
    the best configuration and the default scored on every held-out fold, and the one to
    recommend: the best only when it beats the default beyond the noise band.

    Returns:
        ``{"config", "improvement", "gain", "margin", "best_folds", "default_folds",
        "evals", "seconds"}``: the recommended configuration, whether it is the best one
        (an improvement), the paired gain and its band, the values per fold, and what the
        re-evaluation cost (it is not part of the search's trajectory).
    """
    started = time.perf_counter()
    folds = range(1, held_out.folds + 1)
    default = dict(held_out.default)
    best_values = {k: held_out.evaluate(best, k) for k in folds}
    same = {k: best.get(k) for k in default} == default and set(best) <= set(default)
    default_values = best_values if same else {k: held_out.evaluate(default, k) for k in folds}
    verdict = paired_gain(best_values, default_values, direction=direction, band=held_out.band)
    gain, margin, improvement = verdict if verdict is not None else (0.0, 0.0, False)
    improvement = improvement and not same
    return {
        "config": dict(best) if improvement else default,
        "improvement": improvement,
        "gain": gain,
        "margin": margin,
        "best_folds": list(best_values.values()),
        "default_folds": list(default_values.values()),
        "evals": len(best_values) + (0 if same else len(default_values)),
        "seconds": round(time.perf_counter() - started, 3),
    }


def run_one(
    spec: RunSpec, tick: Callable[[], None] | None = None, *, task: Task | None = None
) -> dict[str, Any]:
    """Runs one (task, strategy, seed) and returns its JSON-able record.

    Args:
        spec: What to run.
        tick: Called after every trial (progress).
        task: The task itself, for one outside the registry (its name must be ``spec.task``).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    task = task if task is not None else get_task(spec.task)
    objective = task.build(spec.rng_seed)
    rec = _Recorder(task, objective)
    started = time.perf_counter()
    run = _run_smac if spec.strategy == "smac" else _run_optuna
    attrs = run(spec, task, rec, tick or (lambda: None))
    total = time.perf_counter() - started

    n = len(rec.eval_s)
    attrs = (attrs + [{}] * n)[:n]
    llm_s = [float(a.get(_keys.LLM_LATENCY_S, 0.0) or 0.0) for a in attrs]
    opt_s = [max(0.0, o - m) for o, m in zip(rec.overhead_s, llm_s, strict=True)]
    proposed = [str(a.get(_keys.PROPOSED_BY, "")) for a in attrs]
    fallbacks = Counter(
        str(a[_keys.FALLBACK_REASON]).split(":", 1)[0]
        for a in attrs
        if a.get(_keys.FALLBACK_REASON)
    )
    llm_model = next((a[_keys.LLM_MODEL] for a in attrs if a.get(_keys.LLM_MODEL)), None)
    llm_calls = sum(int(a.get(_keys.LLM_CALLS, 0) or 0) for a in attrs)
    if fallbacks.get("llm_error") and not llm_calls:
        # An LLM that never answered (a model that did not load, a dead endpoint) turns the
        # run into its backbone alone: stored, it would pass for the LLM strategy's result.
        first = next(
            str(a[_keys.FALLBACK_REASON])
            for a in attrs
            if str(a.get(_keys.FALLBACK_REASON, "")).startswith("llm_error")
        )
        raise RuntimeError(f"the LLM never answered in {n} trials; the first error: {first[:300]}")
    # How RandomLLM drew numbers: "space" (log scales and steps, as random search does) since
    # the control was made fair; older results drew uniformly between the schema's bounds.
    control = uses_llm(spec.strategy) and spec.llm in (None, "random")
    sampling = "space" if control else None
    best = best_index(rec.values, task.direction)
    selection: dict[str, Any] | None = None
    if task.held_out is not None and best is not None:
        selection = held_out_selection(task.held_out, rec.params[best], task.direction)
    revisions = [
        a[_keys.SPACE_REVISION] for a in attrs if isinstance(a.get(_keys.SPACE_REVISION), dict)
    ]
    record: dict[str, Any] = {
        "task": spec.task,
        "task_version": task.version,
        "suite": task.suite,
        "strategy": spec.strategy,
        "seed": spec.seed,
        "seeding": spec.seeding,
        "rng_seed": spec.rng_seed,
        "n_trials": spec.n_trials,
        "workers": spec.workers,
        "from_default": spec.from_default,
        # runs on the default backbone: which version of its options (the report leaves out
        # runs of an older one)
        "backbone_version": BACKBONE_VERSION if on_default_backbone(spec.strategy) else None,
        "llm": llm_label(spec.strategy, spec.llm),
        "llm_model": llm_model,
        "llm_sampling": sampling,
        # hybrid-tpe and centaur adapt the LLM's share to how its proposals do (trust);
        # results stored before that ran a fixed share and are labelled so.
        "share": "adaptive" if spec.strategy in ADAPTIVE else None,
        "direction": task.direction,
        "values": rec.values,
        "true_values": rec.true_values,
        "best": _best_so_far(rec.true_values, task.direction),
        # Each trial's configuration and the selected one (best by the value the optimizer
        # saw, first of ties), so a selection can be re-evaluated later (fresh seeds).
        "params": rec.params,
        "best_trial": best,
        "best_params": None if best is None else rec.params[best],
        # A task with held-out folds: what AgentHPO's selection recommends after the search
        # (the default unless the best beats it there beyond the noise band); fresh seeds
        # evaluate this configuration.
        "selection": selection,
        "time": {
            "total_s": round(total, 4),
            "optimizer_s": round(sum(opt_s), 4),
            "llm_s": round(sum(llm_s), 4),
            "eval_s": round(sum(rec.eval_s), 4),
        },
        "per_trial": {
            "optimizer_s": [round(x, 5) for x in opt_s],
            "llm_s": [round(x, 4) for x in llm_s],
            "eval_s": [round(x, 5) for x in rec.eval_s],
        },
        "llm_calls": llm_calls,
        "prompt_tokens": sum(int(a.get(_keys.LLM_PROMPT_TOKENS, 0) or 0) for a in attrs),
        "completion_tokens": sum(int(a.get(_keys.LLM_COMPLETION_TOKENS, 0) or 0) for a in attrs),
        "prompt_tokens_per_trial": [int(a.get(_keys.LLM_PROMPT_TOKENS, 0) or 0) for a in attrs],
        "llm_calls_per_trial": [int(a.get(_keys.LLM_CALLS, 0) or 0) for a in attrs],
        "proposed_by": proposed if uses_llm(spec.strategy) else [],
        "llm_proposals": sum(p == "llm" for p in proposed),
        "fallbacks": dict(fallbacks),
        "failed_trials": len(rec.errors),
        "first_error": rec.errors[0][:300] if rec.errors else None,
        # Why each failed trial failed (the Executor's reading, first words: "diverged",
        # "timed out", "crashed"), None for the rest; and the LLM answers sent back for
        # lying where earlier runs had failed (LLMPolicy.avoid_failures).
        "failure_causes": [_cause(a) for a in attrs],
        "failure_region_answers": sum(bool(a.get(_keys.LLM_FAILURE_REGION)) for a in attrs),
        # LLMPolicy.revise_space_every: the rounds asked and the range changes accepted
        "space_revisions": len(revisions),
        "ranges_revised": sum(int(r.get("accepted", 0) or 0) for r in revisions),
        "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return record


# ------------------------------------------------------------------------------ parallel plan


def _worker(spec: RunSpec, index: int, ticks: Any) -> dict[str, Any]:
    """Process-pool entry point: one run, reporting each trial on the ``ticks`` queue."""
    try:
        return run_one(spec, tick=lambda: ticks.put(index))
    except Exception as exc:
        _logger.exception("run %s failed", spec)
        return {
            **_spec_fields(spec),
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc()[-2000:],
        }


def _spec_fields(spec: RunSpec) -> dict[str, Any]:
    fields = asdict(spec)
    fields["llm"] = llm_label(spec.strategy, spec.llm)
    return fields


def _worker_init() -> None:
    # Keep BLAS/OpenMP to one thread per worker: the workers already use every core, and
    # llama.cpp slows down badly when threads compete.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("AGENTHPO_LLAMA_THREADS", "1")
    logging.getLogger("agenthpo").setLevel(logging.WARNING)


def run_plan(
    specs: Sequence[RunSpec],
    *,
    jobs: int = 1,
    on_trial: Callable[[int], None] | None = None,
    on_run: Callable[[RunSpec, dict[str, Any]], None] | None = None,
    cheapest_first: bool = False,
) -> list[dict[str, Any]]:
    """Runs every spec, longest first, in ``jobs`` processes (``1``: in this process).

    Args:
        specs: The runs.
        jobs: Worker processes.
        on_trial: Called with the run's index after each trial.
        on_run: Called with each finished run's spec and record (also failed runs, whose
            record has an ``error``).
        cheapest_first: Run the cheapest first instead (for a plan that may be stopped
            before the end: as many tasks as the time allows, each stored when it ends).

    Returns:
        The records, in the order of ``specs``.
    """
    sign = 1.0 if cheapest_first else -1.0
    order = sorted(range(len(specs)), key=lambda i: sign * expected_cost(specs[i]))
    records: dict[int, dict[str, Any]] = {}
    if jobs <= 1:
        for i in order:
            spec = specs[i]
            tick: Callable[[], None] | None = None
            if on_trial is not None:

                def tick(i: int = i, report: Callable[[int], None] = on_trial) -> None:
                    report(i)

            try:
                rec = run_one(spec, tick=tick)
            except Exception as exc:
                _logger.exception("run %s failed", spec)
                rec = {**_spec_fields(spec), "error": f"{type(exc).__name__}: {exc}"}
            records[i] = rec
            if on_run:
                on_run(spec, rec)
        return [records[i] for i in range(len(specs))]

    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        ticks = manager.Queue()
        with ProcessPoolExecutor(
            max_workers=jobs, mp_context=ctx, initializer=_worker_init
        ) as pool:
            futures: dict[Future[dict[str, Any]], int] = {
                pool.submit(_worker, specs[i], i, ticks): i for i in order
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(ticks, on_trial)
                for fut in done:
                    i = futures[fut]
                    try:
                        rec = fut.result()
                    except Exception as exc:  # the worker process died
                        rec = {**_spec_fields(specs[i]), "error": f"{type(exc).__name__}: {exc}"}
                    records[i] = rec
                    if on_run:
                        on_run(specs[i], rec)
            _drain(ticks, on_trial)
    return [records[i] for i in range(len(specs))]


def _drain(ticks: Any, on_trial: Callable[[int], None] | None) -> None:
    while True:
        try:
            index = ticks.get_nowait()
        except (queue.Empty, EOFError, OSError):
            return
        if on_trial:
            on_trial(index)


# ---------------------------------------------------------------------------------- files


def save_results(path: Path, meta: Mapping[str, Any], runs: Iterable[Mapping[str, Any]]) -> None:
    """Writes a results file atomically (a temporary file renamed over the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"version": RESULTS_VERSION, "meta": dict(meta), "runs": list(runs)}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    tmp.replace(path)


def load_results(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """The results files' contents, oldest first (by their ``meta.started``)."""
    files: list[dict[str, Any]] = []
    for path in paths:
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(Path(path).read_text())
            if isinstance(data, dict) and "runs" in data:
                data["path"] = str(path)
                files.append(data)
    files.sort(key=lambda d: str(d.get("meta", {}).get("started", "")))
    return files
