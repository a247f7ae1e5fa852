"""Strategies: who proposes each trial, the LLM, a classical optimizer, or both.

=============  ===============================================================================
``agent``      every trial from the LLM (the AgentHPO paper's method); the backbone steps in
               only when an answer is unusable (invalid after a repair round, a duplicate, an
               LLM error)
``hybrid-tpe`` the LLM proposes the first ``llm_startup_trials`` trials (default 3), then a
               share ``llm_share`` (default 0.25) of the rest, spread evenly; the backbone
               (:class:`~agenthpo.backbone.Backbone`: GP on a fixed set of parameters, TPE
               for conditional spaces and several objectives) proposes the others and
               learns from every trial; the LLM's history marks which trials the backbone
               proposed and how they went. The share adapts (``adaptive_share``): once three
               of the LLM's proposals were judged, while they beat the running median less
               often than the backbone's, it keeps only part of its turns
               (:mod:`agenthpo.agent.trust`), down to a tenth. With the embedded model
               (:func:`~agenthpo.llm.is_embedded`) the LLM's turns start after the
               backbone's 10 start-up trials instead (``llm_warmup_trials=10``, no start-up
               turns), and its proposals run only where the backbone's own acquisition (GP's
               expected improvement, TPE's density ratio) rates them at least as high as the
               backbone's proposal (``screen_llm``, :mod:`agenthpo.agent.screen`). The name
               is older than the backbone: ``make_sampler(..., backbone="tpe")`` gives the
               TPE-backed original
``centaur``    CMA-ES runs every trial; after a 10-trial warm-up, on a share ``llm_share``
               (default 0.3) of trials the LLM sees CMA-ES's proposal, its mean and step
               size and the top configurations, and may keep or override the proposal;
               CMA-ES learns from every result (categorical parameters are sampled at
               random by CMA-ES, and chosen by the LLM on its turns); adaptive share as
               for ``hybrid-tpe``
``backbone``   the backbone alone (:class:`agenthpo.backbone.Backbone`: GP where it fits, TPE
               or CMA-ES where it does not), no LLM
``auto``       OptunaHub AutoSampler's published rule (:func:`agenthpo.backbone.auto_sampler`),
               no LLM: a baseline
``tpe``        Optuna's TPE sampler (its defaults), no LLM
``random``     Optuna's random sampler, no LLM
``cmaes``      Optuna's CMA-ES sampler, no LLM
``gp``         Optuna's Gaussian-process sampler, no LLM (needs torch: ``agenthpo[local]``)
=============  ===============================================================================

Example:
    >>> from agenthpo.strategies import make_sampler
    >>> type(make_sampler("tpe", seed=0)).__name__
    'TPESampler'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args

from optuna.samplers import BaseSampler, CmaEsSampler, RandomSampler, TPESampler

from agenthpo._seeding import seeded_per_trial
from agenthpo.agent.prompts import TaskContext
from agenthpo.backbone import Backbone, auto_sampler
from agenthpo.errors import AgentHPOError
from agenthpo.llm import LLMClient
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space
from agenthpo.task import StrategyName

__all__ = ["CLASSICAL", "DEFAULT_STRATEGY", "STRATEGIES", "make_sampler", "uses_llm"]

STRATEGIES: tuple[str, ...] = get_args(StrategyName)
CLASSICAL: tuple[str, ...] = ("backbone", "auto", "tpe", "random", "cmaes", "gp")
DEFAULT_STRATEGY = "hybrid-tpe"

# ``hybrid-tpe``'s schedule: (warm-up trials, start-up turns) for a capable model and for the
# embedded one. TPE's first 10 trials are random draws; the embedded SmolLM2-135M's first ideas
# were a little worse than random draws, and its three start-up turns took the place of three
# of TPE's draws: 5.4 points behind TPE after 10 trials on 40 scikit-learn tasks (2 seeds).
# Starting its turns after TPE's draws made the first 10 trials TPE's own (BENCHMARKS.md).
_HYBRID_SCHEDULE = (0, 3)
_WEAK_MODEL_SCHEDULE = (10, 0)


def uses_llm(strategy: str) -> bool:
    """Whether a strategy asks an LLM at all."""
    return strategy not in CLASSICAL


def _check(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise AgentHPOError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")


def classical_sampler(strategy: str, *, seed: int | None = None) -> BaseSampler:
    """The plain Optuna sampler of a classical strategy."""
    _check(strategy)
    # Seeded: reseeded before each trial from (seed, trial number), so that workers and
    # restarts sharing the seed draw distinct streams (see agenthpo._seeding).
    if strategy == "backbone":
        return Backbone(seed=seed)
    if strategy == "auto":
        return auto_sampler(seed=seed)
    if strategy == "tpe":
        return seeded_per_trial(TPESampler, seed)
    if strategy == "random":
        return seeded_per_trial(RandomSampler, seed)
    if strategy == "cmaes":
        return seeded_per_trial(CmaEsSampler, seed, warn_independent_sampling=False)
    if strategy == "gp":
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            raise AgentHPOError("the gp strategy needs PyTorch: pip install 'agenthpo[local]'")
        from optuna.samplers import GPSampler

        return seeded_per_trial(GPSampler, seed)
    raise AgentHPOError(f"{strategy!r} is not a classical strategy")


def make_sampler(
    strategy: str = DEFAULT_STRATEGY,
    *,
    llm: LLMClient | None = None,
    space: Space | None = None,
    context: TaskContext | None = None,
    seed: int | None = None,
    hidden_metrics: Iterable[str] = (),
    llm_share: float | None = None,
    llm_startup_trials: int | None = None,
    llm_warmup_trials: int | None = None,
    backbone: str = "backbone",
    **options: Any,
) -> BaseSampler:
    """The sampler for a strategy; ``options`` go to :class:`AgentSampler`.

    ``backbone`` is the classical sampler under ``agent`` and ``hybrid-tpe``:
    ``"backbone"`` (:class:`agenthpo.backbone.Backbone`, the default) or ``"tpe"`` (plain TPE,
    the backbone before it; the benchmarks' older rows keep it).

    ``llm_share``, ``llm_startup_trials`` and ``llm_warmup_trials`` left at ``None`` take the
    strategy's defaults (the module's table); for ``hybrid-tpe`` the two schedule numbers
    default to those of the model, known once the LLM is (:class:`AgentSampler`'s
    ``embedded_schedule``).

    Raises:
        AgentHPOError: Unknown strategy, or one whose dependencies are missing.
    """
    _check(strategy)
    if strategy in CLASSICAL:
        return classical_sampler(strategy, seed=seed)
    if backbone not in ("backbone", "tpe"):
        raise AgentHPOError(f"backbone must be 'backbone' or 'tpe', not {backbone!r}")
    under: BaseSampler = Backbone(seed=seed) if backbone == "backbone" else TPESampler(seed=seed)
    common: dict[str, Any] = {
        "llm": llm,
        "space": space,
        "context": context,
        "seed": seed,
        "hidden_metrics": hidden_metrics,
        **options,
    }
    if strategy == "agent":
        return AgentSampler(
            backbone=under,
            llm_share=1.0 if llm_share is None else llm_share,
            llm_warmup_trials=llm_warmup_trials,
            llm_startup_trials=llm_startup_trials,
            **common,
        )
    if strategy == "hybrid-tpe":
        return AgentSampler(
            backbone=under,
            llm_warmup_trials=llm_warmup_trials,
            llm_startup_trials=llm_startup_trials,
            default_schedule=_HYBRID_SCHEDULE,
            embedded_schedule=_WEAK_MODEL_SCHEDULE,
            llm_share=0.25 if llm_share is None else llm_share,
            adaptive_share=common.pop("adaptive_share", True),
            screen_llm=common.pop("screen_llm", None),
            **common,
        )
    # centaur
    return AgentSampler(
        backbone=CmaEsSampler(seed=seed, warn_independent_sampling=False),
        llm_warmup_trials=llm_warmup_trials,
        llm_startup_trials=llm_startup_trials,
        default_schedule=(10, 0),
        llm_share=0.3 if llm_share is None else llm_share,
        adaptive_share=common.pop("adaptive_share", True),
        show_backbone=True,
        **common,
    )
